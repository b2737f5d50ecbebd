/**
 * Polyv error envelopes → AppServer errors (reference polyv-play-token.md §3): each documented failure gets its own
 * status and code; sub-account errors carry their text in error.desc.
 */
import { mapPolyvError, PolyvApiErrorCode } from '../../server/app/polyv/client';

describe('mapPolyvError', () => {
  it.each([
    ['sub-account 103 "user children expired" → 403 Forbidden (not an unknown account)', 403, { code: 403, status: 'error', error: { code: 103, desc: 'user children expired' } }, 403, PolyvApiErrorCode.Forbidden],
    ['"user children not found" → 502 AuthFailed (the account is wrong)', 400, { code: 400, status: 'error', error: { code: 101, desc: 'user children not found' } }, 502, PolyvApiErrorCode.AuthFailed],
    ['a bad sign → 502 AuthFailed', 400, { code: 400, status: 'error', message: 'invalid sign' }, 502, PolyvApiErrorCode.AuthFailed],
    ['a stale ts → 502 ClockSkew', 400, { code: 400, status: 'error', message: 'ts is expired' }, 502, PolyvApiErrorCode.ClockSkew],
    ['an unknown video → 404 VideoNotFound', 400, { code: 400, status: 'error', message: 'video_not_found' }, 404, PolyvApiErrorCode.VideoNotFound],
    ['a rate limit → 429', 429, { code: 429, status: 'error', message: 'qps exceeds' }, 429, PolyvApiErrorCode.RateLimited],
  ])('%s', (_name, httpStatus, body, status, code) => {
    const e = mapPolyvError('token', httpStatus, body);
    expect(e.statusCode).toBe(status);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/Polyv token/);
  });
});
