/**
 * AppClient against a scripted adapter: login once, Bearer token, one re-login on 401, server error codes passed
 * through, bad options and bad responses rejected with clear codes.
 */
import { AppClient, createInjectedAdapter, MediaKitError, PlatformAdapter, RequestOptions, HttpResponse } from '../../sdk/src';

function memoryStorage() {
  const m = new Map<string, unknown>();
  return { get: (k: string) => m.get(k) as any, set: (k: string, v: unknown) => void m.set(k, v), remove: (k: string) => void m.delete(k), keys: () => [...m.keys()] };
}

function scripted(handler: (o: RequestOptions, n: number) => HttpResponse<unknown>) {
  let codes = 0;
  const seen: RequestOptions[] = [];
  let now = 1_000_000;
  const adapter: PlatformAdapter = createInjectedAdapter({
    request: (async (o: RequestOptions) => {
      seen.push(o);
      return handler(o, seen.length);
    }) as PlatformAdapter['request'],
    storage: memoryStorage(),
    login: async () => ({ code: `code${++codes}` }),
    now: () => now,
  });
  return { adapter, seen, advance: (ms: number) => (now += ms), logins: () => codes };
}

const ok = (data: unknown): HttpResponse<unknown> => ({ statusCode: 200, header: {}, data });

describe('AppClient', () => {
  it('logs in once, stores the session, and sends it as a Bearer token', async () => {
    const s = scripted((o) => (o.url.endsWith('/api/login') ? ok({ token: 't1', expiresIn: 7200, openid: 'o1' }) : ok({ openid: 'o1' })));
    const c = new AppClient({ baseUrl: 'http://app/', adapter: s.adapter });
    await Promise.all([c.call('GET', '/api/me'), c.call('GET', 'api/me')]);
    expect(s.logins()).toBe(1);
    expect(s.seen.filter((o) => o.url === 'http://app/api/me').map((o) => o.header!.authorization)).toEqual(['Bearer t1', 'Bearer t1']);
    expect(c.session).toMatchObject({ token: 't1', openid: 'o1' });
  });

  it('logs in again when the stored session is about to expire', async () => {
    let n = 0;
    const s = scripted((o) => (o.url.endsWith('/api/login') ? ok({ token: `t${++n}`, expiresIn: 120 }) : ok({})));
    const c = new AppClient({ baseUrl: 'http://app', adapter: s.adapter });
    await c.call('GET', '/api/me');
    s.advance(61_000);
    await c.call('GET', '/api/me');
    expect(s.logins()).toBe(2);
  });

  it('re-logs-in once on a 401 and retries; a second 401 is reported as the server error', async () => {
    let meCalls = 0;
    const s = scripted((o) => {
      if (o.url.endsWith('/api/login')) return ok({ token: 'tok', expiresIn: 7200 });
      meCalls++;
      return { statusCode: 401, header: {}, data: { error: { code: 'TokenExpired', message: 'expired' } } };
    });
    const c = new AppClient({ baseUrl: 'http://app', adapter: s.adapter });
    await expect(c.call('GET', '/api/me')).rejects.toMatchObject({ code: 'TokenExpired', details: { statusCode: 401 } });
    expect(meCalls).toBe(2);
    expect(s.logins()).toBe(2);
  });

  it('passes the server error code and message through', async () => {
    const s = scripted((o) => (o.url.endsWith('/api/login') ? ok({ token: 't', expiresIn: 7200 }) : { statusCode: 400, header: {}, data: { error: { code: 'InvalidParameter', message: 'videoId: required' } } }));
    const c = new AppClient({ baseUrl: 'http://app', adapter: s.adapter });
    await expect(c.call('POST', '/api/x', { a: 1 })).rejects.toMatchObject({ code: 'InvalidParameter', message: 'videoId: required' });
  });

  it.each([
    ['a login answered with an error', { statusCode: 401, header: {}, data: { error: { code: 'CodeUsed', message: 'used' } } }, /CodeUsed/],
    ['a login answered with HTML', { statusCode: 502, header: {}, data: '<html>bad gateway</html>' }, /HTTP 502/],
  ])('rejects %s with LOGIN_FAILED', async (_n, res, msg) => {
    const s = scripted(() => res as HttpResponse<unknown>);
    const c = new AppClient({ baseUrl: 'http://app', adapter: s.adapter });
    const e = await c.login().catch((x) => x);
    expect(e).toBeInstanceOf(MediaKitError);
    expect(e.code).toBe('LOGIN_FAILED');
    expect(e.message).toMatch(msg);
  });

  it('rejects a 2xx answer without JSON as BAD_RESPONSE, and a non-2xx without an error body as HTTP_<status>', async () => {
    let i = 0;
    const s = scripted((o) => (o.url.endsWith('/api/login') ? ok({ token: 't', expiresIn: 7200 }) : ++i === 1 ? ok('plain text') : { statusCode: 503, header: {}, data: 'down' }));
    const c = new AppClient({ baseUrl: 'http://app', adapter: s.adapter });
    await expect(c.call('GET', '/a')).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    await expect(c.call('GET', '/a')).rejects.toMatchObject({ code: 'HTTP_503' });
  });

  it.each([[''], ['ftp://x'], ['app.example.com']])('refuses baseUrl %p with INVALID_OPTION', (baseUrl) => {
    expect(() => new AppClient({ baseUrl, adapter: scripted(() => ok({})).adapter })).toThrow(/baseUrl/);
  });
});
