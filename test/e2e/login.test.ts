/**
 * Login end to end, over real loopback sockets: the Node wx runtime's wx.login mints a code at the local cloud's
 * WeChat emulator → our wx adapter / AppClient POSTs it to the AppServer's /api/login → code2Session → a signed
 * session token → authenticated /api routes. Nothing of our own is mocked.
 */
import * as nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AppClient } from '../../sdk/src/app-client';
import { createWxAdapter } from '../../sdk/src/platform/wx';
import type { PlatformAdapter } from '../../sdk/src/platform/types';
import { startDevStack, DevStack } from '../../server';
import { buildAppServer } from '../../server/app';
import { signToken } from '../../server/app/token';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';

let stack: DevStack;
let dataDir: string;
let rt: WxRuntime;
let adapter: PlatformAdapter;

const SESSION_KEY = 'mp-media-kit:session';

beforeAll(async () => {
  dataDir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'e2e-login-'));
  stack = await startDevStack({ quiet: true, dataDir, env: {} });
});
afterAll(async () => {
  await stack.close();
  nodeFs.rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oE2eLoginUser0001' });
  adapter = createWxAdapter(rt.wx);
});
afterEach(async () => {
  stack.runningCloud!.setClockOffset(0);
  await rt.close();
});

/** The secret the dev AppServer generated in its data dir (what any instance behind a load balancer would share). */
const tokenSecret = () => nodeFs.readFileSync(path.join(dataDir, 'app', 'token-secret'), 'utf8').trim();

async function postLogin(data: unknown, header: Record<string, string> = {}) {
  return adapter.request<any>({ url: `${stack.appServerUrl}/api/login`, method: 'POST', data: data as string, header });
}
async function getMe(token?: string) {
  return adapter.request<any>({ url: `${stack.appServerUrl}/api/me`, header: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
}

describe('login over real HTTP', () => {
  test('wx.login → POST /api/login → token → GET /api/me returns the openid', async () => {
    const { code } = await adapter.login();
    const login = await postLogin({ code });
    expect(login.statusCode).toBe(200);
    expect(login.data).toMatchObject({ openid: 'oE2eLoginUser0001', expiresIn: 7200 });
    expect(login.data.token).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    const me = await getMe(login.data.token);
    expect(me.statusCode).toBe(200);
    expect(me.data).toEqual({ openid: 'oE2eLoginUser0001' });
    // it really went over the wire: the runtime logged both calls
    const log = rt.requests.map((r) => `${r.method} ${new URL(r.url).pathname} ${r.status}`);
    expect(log).toEqual(['POST /api/login 200', 'GET /api/me 200']);
  });

  test('AppClient: logs in on first use, keeps the session in wx storage, sends the Bearer token', async () => {
    const client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    const me = await client.call<{ openid: string }>('GET', '/api/me');
    expect(me.openid).toBe('oE2eLoginUser0001');
    const stored = rt.wx.getStorageSync(SESSION_KEY);
    expect(stored).toMatchObject({ openid: 'oE2eLoginUser0001' });
    expect(stored.expiresAt).toBeGreaterThan(Date.now() + 3600 * 1000);
    expect(rt.requests[rt.requests.length - 1].header).toMatchObject({ authorization: `Bearer ${stored.token}` });
  });

  test('a session kept in storage survives an app restart (new runtime on the same sandbox): no new login', async () => {
    const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'e2e-login-restart-'));
    try {
      const a = createWxRuntime({ sandboxDir: dir, wechatUrl: stack.cloud!.wechat });
      await new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(a.wx) }).call('GET', '/api/me');
      const openid = a.openid;
      await a.close();
      const b = createWxRuntime({ sandboxDir: dir, wechatUrl: stack.cloud!.wechat });
      try {
        const me = await new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(b.wx) }).call<{ openid: string }>('GET', '/api/me');
        expect(me.openid).toBe(openid);
        expect(b.requests.map((r) => new URL(r.url).pathname)).toEqual(['/api/me']);
      } finally {
        await b.close();
      }
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('setOpenid switches the WeChat user: a new login yields the other openid', async () => {
    rt.setOpenid('oSecondUser0002');
    const client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    expect((await client.call<{ openid: string }>('GET', '/api/me')).openid).toBe('oSecondUser0002');
  });

  test('tokens are stateless: a second AppServer instance with the same secret accepts them', async () => {
    const { code } = await adapter.login();
    const token = (await postLogin({ code })).data.token as string;
    let second: FastifyInstance | undefined;
    try {
      second = (await buildAppServer({ env: { APP_TOKEN_SECRET: tokenSecret() }, cloud: stack.cloud, dataDir: path.join(dataDir, 'second'), now: () => Date.now() })).app;
      await second.listen({ host: '127.0.0.1', port: 0 });
      const addr = second.server.address() as { port: number };
      const res = await adapter.request<any>({ url: `http://127.0.0.1:${addr.port}/api/me`, header: { Authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      expect(res.data.openid).toBe('oE2eLoginUser0001');
    } finally {
      if (second) await second.close();
    }
  });
});

describe('401 on /api routes without a valid token', () => {
  test('no Authorization header → 401 Unauthorized', async () => {
    const res = await getMe();
    expect(res.statusCode).toBe(401);
    expect(res.data.error.code).toBe('Unauthorized');
  });

  test('garbage token, tampered token, token signed with another secret → 401 InvalidToken', async () => {
    const { code } = await adapter.login();
    const good = (await postLogin({ code })).data.token as string;
    const [v, payload, sig] = good.split('.');
    const tampered = `${v}.${Buffer.from(JSON.stringify({ sub: 'oSomeoneElse000', iat: 0, exp: 4102444800 })).toString('base64url')}.${sig}`;
    const now = Math.floor(Date.now() / 1000);
    const foreign = signToken({ sub: 'oE2eLoginUser0001', iat: now, exp: now + 600 }, 'another-secret-another-secret-another-secret');
    for (const token of ['garbage', 'v1.abc.def', tampered, foreign, `${v}.${payload}`]) {
      const res = await getMe(token);
      expect({ token, status: res.statusCode, code: res.data.error.code }).toEqual({ token, status: 401, code: 'InvalidToken' });
    }
    expect((await getMe(good)).statusCode).toBe(200);
  });

  test('expired token (signed with the server\'s own secret) → 401 TokenExpired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = signToken({ sub: 'oE2eLoginUser0001', iat: now - 7200, exp: now - 1 }, tokenSecret());
    const res = await getMe(expired);
    expect(res.statusCode).toBe(401);
    expect(res.data.error).toMatchObject({ code: 'TokenExpired' });
    const fresh = signToken({ sub: 'oE2eLoginUser0001', iat: now, exp: now + 60 }, tokenSecret());
    expect((await getMe(fresh)).data).toEqual({ openid: 'oE2eLoginUser0001' });
  });

  test('/api/health needs no token', async () => {
    const res = await adapter.request<any>({ url: `${stack.appServerUrl}/api/health` });
    expect(res.statusCode).toBe(200);
    expect(res.data.ok).toBe(true);
  });
});

describe('login codes are single-use and expire', () => {
  test('a used code is rejected: 401 CodeUsed (WeChat errcode 40163)', async () => {
    const { code } = await adapter.login();
    expect((await postLogin({ code })).statusCode).toBe(200);
    const again = await postLogin({ code });
    expect(again.statusCode).toBe(401);
    expect(again.data.error).toMatchObject({ code: 'CodeUsed', details: { errcode: 40163 } });
  });

  test('an expired code (cloud clock moved 6 minutes on) is rejected: 401 InvalidCode (errcode 40029)', async () => {
    const { code } = await adapter.login();
    stack.runningCloud!.setClockOffset(6 * 60 * 1000);
    const res = await postLogin({ code });
    expect(res.statusCode).toBe(401);
    expect(res.data.error).toMatchObject({ code: 'InvalidCode', details: { errcode: 40029 } });
  });

  test('a code still inside its 5 minutes works (clock moved 4 minutes on)', async () => {
    const { code } = await adapter.login();
    stack.runningCloud!.setClockOffset(4 * 60 * 1000);
    expect((await postLogin({ code })).statusCode).toBe(200);
  });

  test('a code WeChat never issued is rejected: 401 InvalidCode', async () => {
    const res = await postLogin({ code: '0123456789abcdef0123456789abcdef' });
    expect(res.statusCode).toBe(401);
    expect(res.data.error.code).toBe('InvalidCode');
  });
});

describe('bad login input → 400 with clear codes', () => {
  test('bad JSON → 400 InvalidJson', async () => {
    const res = await postLogin('{"code": ', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.data.error.code).toBe('InvalidJson');
  });

  test('missing code, empty code, wrong type, unknown field → 400 InvalidParameter naming the problem', async () => {
    for (const body of [{}, { code: '' }, { code: 42 }, { code: 'abc', extra: 1 }]) {
      const res = await postLogin(body);
      expect({ body, status: res.statusCode, code: res.data.error.code }).toEqual({ body, status: 400, code: 'InvalidParameter' });
    }
    const missing = await postLogin({});
    expect(missing.data.error.message).toMatch(/code/);
  });

  test('empty body with a JSON content-type → 400 InvalidJson; a text/plain body → 415 UnsupportedMediaType (like a form)', async () => {
    const empty = await adapter.request<any>({ url: `${stack.appServerUrl}/api/login`, method: 'POST' });
    expect(empty.statusCode).toBe(400);
    expect(empty.data.error.code).toBe('InvalidJson');
    const text = await postLogin('code=abc', { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
    expect(text.data.error.code).toBe('UnsupportedMediaType');
    expect(text.data.error.message).toMatch(/application\/json/);
  });
});

describe('AppClient re-login and failures', () => {
  test('a stored token the server rejects → exactly one re-login, then the call succeeds and the new session is stored', async () => {
    const client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    rt.wx.setStorageSync(SESSION_KEY, { token: 'v1.stale.token', expiresAt: Date.now() + 3600 * 1000, openid: 'oE2eLoginUser0001' });
    const me = await client.call<{ openid: string }>('GET', '/api/me');
    expect(me.openid).toBe('oE2eLoginUser0001');
    expect(rt.requests.map((r) => `${new URL(r.url).pathname} ${r.status}`)).toEqual(['/api/me 401', '/api/login 200', '/api/me 200']);
    expect(rt.wx.getStorageSync(SESSION_KEY).token).not.toBe('v1.stale.token');
  });

  test('a 401 that persists after the re-login is reported (no endless loop)', async () => {
    const client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    await client.login();
    rt.faults.add({
      match: { url: '/api/me' },
      times: Infinity,
      action: { type: 'status', status: 401, body: '{"error":{"code":"InvalidToken","message":"nope"}}', headers: { 'Content-Type': 'application/json' } },
    });
    await expect(client.call('GET', '/api/me')).rejects.toMatchObject({ code: 'InvalidToken', details: { statusCode: 401 } });
    expect(rt.requests.filter((r) => r.url.endsWith('/api/me'))).toHaveLength(2);
    expect(rt.requests.filter((r) => r.url.endsWith('/api/login'))).toHaveLength(2);
  });

  test('wx.login failing (no WeChat service) → LOGIN_FAILED', async () => {
    const offline = createWxRuntime();
    try {
      const client = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(offline.wx) });
      await expect(client.login()).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
      expect(offline.requests).toHaveLength(0);
    } finally {
      await offline.close();
    }
  });

  test('the login response is lost (connection reset after the server used the code): the next login uses a fresh code and works', async () => {
    const client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    rt.faults.add({ match: { url: '/api/login' }, action: { type: 'reset', when: 'response' } });
    await expect(client.login()).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    const s = await client.login();
    expect(s.openid).toBe('oE2eLoginUser0001');
    const logins = rt.requests.filter((r) => r.url.endsWith('/api/login'));
    expect(logins.map((r) => r.status ?? 'no response')).toEqual(['no response', 200]);
    expect(logins[0].error).toMatch(/ERR_CONNECTION_RESET/);
  });

  test('a rejected code (expired by the time the AppServer checks it) → LOGIN_FAILED with the server\'s code', async () => {
    const expiring: PlatformAdapter = {
      ...adapter,
      login: async () => {
        const c = await adapter.login();
        stack.runningCloud!.setClockOffset(10 * 60 * 1000);
        return c;
      },
    };
    const client = new AppClient({ baseUrl: stack.appServerUrl, adapter: expiring });
    await expect(client.login()).rejects.toMatchObject({ code: 'LOGIN_FAILED', details: { statusCode: 401, serverCode: 'InvalidCode' } });
  });
});

describe('AppServer auth cannot be sidestepped', () => {
  let stack: Awaited<ReturnType<typeof import('../../server').startDevStack>>;
  beforeAll(async () => {
    stack = await (await import('../../server')).startDevStack({ quiet: true });
  });
  afterAll(() => stack.close());

  it.each([['/%61pi/me'], ['/api/%6De'], ['/%61pi/vod/config'], ['/%61pi/polyv/samples'], ['/api//me'], ['/API/me']])(
    'a percent-encoded or odd path (%s) answers 401 or 404, never the route without a session',
    async (p) => {
      const res = await fetch(`${stack.appServerUrl}${p}`);
      expect([401, 404]).toContain(res.status);
      const body = await res.json();
      expect(['Unauthorized', 'NotFound']).toContain(body.error.code);
    },
  );
});
