/**
 * server/app/token.ts: stateless session tokens `v1.<base64url claims>.<base64url HMAC-SHA256>`.
 */
import { createHmac } from 'node:crypto';
import { signToken, verifyToken } from '../../server/app/token';

const SECRET = 'unit-test-secret-unit-test-secret-0001';
const NOW = 1_800_000_000;
const claims = { sub: 'oUnitUser0001', iat: NOW, exp: NOW + 7200 };

const b64url = (s: string) => Buffer.from(s).toString('base64url');
/** Signs an arbitrary payload string the way signToken does, to build malformed-but-signed tokens. */
const signRaw = (payloadB64: string, secret = SECRET) => `v1.${payloadB64}.${createHmac('sha256', secret).update(`v1.${payloadB64}`).digest('base64url')}`;

describe('signToken / verifyToken', () => {
  test('round trip: the token has three base64url parts (no padding) and verifies to the same claims', () => {
    const t = signToken(claims, SECRET);
    expect(t).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString())).toEqual(claims);
    expect(verifyToken(t, SECRET, NOW)).toEqual({ ok: true, claims });
    expect(verifyToken(t, SECRET, NOW + 7199)).toEqual({ ok: true, claims });
  });

  test('the signature is HMAC-SHA256 over "v1.<payload>" with the secret', () => {
    const t = signToken(claims, SECRET);
    expect(t).toBe(signRaw(b64url(JSON.stringify(claims))));
  });

  test('expired: exp at or before now', () => {
    const t = signToken(claims, SECRET);
    expect(verifyToken(t, SECRET, NOW + 7200)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(t, SECRET, NOW + 10 ** 6)).toEqual({ ok: false, reason: 'expired' });
  });

  test('bad signature: another secret, a tampered payload, a truncated or altered signature', () => {
    const t = signToken(claims, SECRET);
    const [v, payload, sig] = t.split('.');
    expect(verifyToken(t, 'another-secret-another-secret-0002', NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    const forged = b64url(JSON.stringify({ ...claims, sub: 'oAttacker0001' }));
    expect(verifyToken(`${v}.${forged}.${sig}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(`${v}.${payload}.${sig.slice(0, 20)}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    const flipped = `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`; // the first char is fully significant
    expect(verifyToken(`${v}.${payload}.${flipped}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('malformed: wrong part count, wrong version, empty', () => {
    for (const t of ['', 'garbage', 'v1.onlytwo', 'a.b.c.d', `v2.${signToken(claims, SECRET).split('.').slice(1).join('.')}`]) {
      expect({ t, r: verifyToken(t, SECRET, NOW) }).toEqual({ t, r: { ok: false, reason: 'malformed' } });
    }
  });

  test('malformed even when correctly signed: a payload that is not JSON, or lacks sub / exp', () => {
    expect(verifyToken(signRaw(b64url('not json')), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyToken(signRaw(b64url(JSON.stringify({ exp: NOW + 60 }))), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyToken(signRaw(b64url(JSON.stringify({ sub: 'oX', exp: String(NOW + 60) }))), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });
});
