/**
 * AppServer POST /api/polyv/play against the local Polyv cloud over loopback: what it sends to Polyv (signed set,
 * iswxa, viewerId/viewerIp, never the secret), both account kinds, token reuse, and every bad input / Polyv error
 * mapped to a clear API error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startDevStack, DevStack } from '../../server';
import { startCloud, RunningCloud } from '../../server/cloud';
import { buildAppServer } from '../../server/app';
import { loadPolyvConfig } from '../../server/app/polyv/config';
import { polyvViewerId, tokenReuseMarginMs } from '../../server/app/routes/polyv';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

const dev = DEV_CREDENTIALS.polyv;
const SECRETS = [dev.secretKey, dev.appSecret];

type Json = any;

async function login(appUrl: string, wechatUrl: string, openid: string): Promise<string> {
  const code = await (await fetch(`${wechatUrl}/wx/dev/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }) })).json();
  const res = await (await fetch(`${appUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: code.code }) })).json();
  if (!res.token) throw new Error(`login failed: ${JSON.stringify(res)}`);
  return res.token;
}

async function play(appUrl: string, session: string | undefined, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${appUrl}/api/polyv/play`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(session ? { authorization: `Bearer ${session}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function cloudRequests(polyvUrl: string): Promise<Array<{ method: string; url: string; body?: string }>> {
  return (await (await fetch(`${polyvUrl}/_admin/requests`)).json()).requests;
}

async function cloudTokens(polyvUrl: string): Promise<Array<{ token: string; viewerId: string; viewerIp: string; issued: number; expiredTime: number }>> {
  return (await (await fetch(`${polyvUrl}/_admin/tokens`)).json()).tokens;
}

async function sampleVids(polyvUrl: string): Promise<{ playable: string[]; unpublished: string }> {
  const s: Array<{ vid: string; playable: boolean }> = (await (await fetch(`${polyvUrl}/_admin/samples`)).json()).samples;
  return { playable: s.filter((x) => x.playable).map((x) => x.vid), unpublished: s.find((x) => !x.playable)!.vid };
}

describe('AppServer /api/polyv/play with the default sub-account (create-child + v3 get-video-info)', () => {
  let stack: DevStack;
  let session: string;
  let vids: { playable: string[]; unpublished: string };
  beforeAll(async () => {
    stack = await startDevStack({ quiet: true, env: {} });
    session = await login(stack.appServerUrl, stack.cloud!.wechat, 'oPolyvUser_0001');
    vids = await sampleVids(stack.cloud!.polyv);
  });
  afterAll(() => stack.close());

  test('one call returns title, cover, duration, definitions [{label,url}], token, expiredTime, pid', async () => {
    const r = await play(stack.appServerUrl, session, { videoId: vids.playable[0] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ videoId: vids.playable[0], title: '本地样片 · 彩条 (流畅/高清)', duration: 6 });
    expect(r.body.cover).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/uimage\/.+\.jpg$/);
    expect(r.body.definitions).toEqual([
      { label: '流畅', url: expect.stringMatching(/_1\.m3u8$/) },
      { label: '高清', url: expect.stringMatching(/_2\.m3u8$/) },
    ]);
    expect(typeof r.body.token).toBe('string');
    expect(r.body.expiredTime - Date.now()).toBeGreaterThan(590000);
    expect(r.body.expiredTime - Date.now()).toBeLessThanOrEqual(600000);
    expect(r.body.pid).toMatch(/^\d{13}X\d{7}$/);
    expect(Math.abs(r.body.serverTime - Date.now())).toBeLessThan(60000);
  });

  test('what goes to Polyv: signed form with iswxa=1, ts, disposable=false, hashed viewerId, caller IP — never a secret', async () => {
    const reqs = await cloudRequests(stack.cloud!.polyv);
    const tokenReq = reqs.find((r) => r.url === '/service/v2/token/create-child')!;
    expect(tokenReq).toBeDefined();
    const form = Object.fromEntries(new URLSearchParams(tokenReq.body!));
    expect(Object.keys(form).sort()).toEqual(['appId', 'disposable', 'expires', 'iswxa', 'sign', 'ts', 'videoId', 'viewerId', 'viewerIp']);
    expect(form).toMatchObject({ appId: dev.appId, iswxa: '1', disposable: 'false', expires: '600', viewerIp: '127.0.0.1', viewerId: polyvViewerId('oPolyvUser_0001') });
    expect(form.viewerId).toMatch(/^[0-9a-z]{32}$/);
    expect(form.viewerId).not.toContain('oPolyvUser');
    expect(Math.abs(Number(form.ts) - Date.now())).toBeLessThan(60000);
    expect(reqs.some((r) => r.url.startsWith('/v3/video/get-video-info?'))).toBe(true);
    for (const r of reqs) for (const s of SECRETS) expect(`${r.url} ${r.body || ''}`).not.toContain(s);
  });

  test('viewerId is stable per openid and differs between users', () => {
    expect(polyvViewerId('oA')).toBe(polyvViewerId('oA'));
    expect(polyvViewerId('oA')).not.toBe(polyvViewerId('oB'));
  });

  test('reuse: a second play within the lifetime costs no token call and returns the same token; refresh:true asks Polyv, which extends it', async () => {
    const before = (await cloudRequests(stack.cloud!.polyv)).filter((r) => r.url.includes('/token/')).length;
    const a = await play(stack.appServerUrl, session, { videoId: vids.playable[0] });
    const b = await play(stack.appServerUrl, session, { videoId: vids.playable[0] });
    expect(b.body.token).toBe(a.body.token);
    expect(b.body.pid).not.toBe(a.body.pid); // a new play session each time
    expect((await cloudRequests(stack.cloud!.polyv)).filter((r) => r.url.includes('/token/')).length).toBe(before);
    const c = await play(stack.appServerUrl, session, { videoId: vids.playable[0], refresh: true });
    expect(c.status).toBe(200);
    expect(c.body.token).toBe(a.body.token);
    expect(c.body.expiredTime).toBeGreaterThanOrEqual(a.body.expiredTime);
    expect((await cloudRequests(stack.cloud!.polyv)).filter((r) => r.url.includes('/token/')).length).toBe(before + 1);
    const tok = (await cloudTokens(stack.cloud!.polyv)).find((t) => t.token === a.body.token)!;
    expect(tok.issued).toBe(2);
  });

  test('GET /api/polyv/samples lists the local cloud samples', async () => {
    const res = await fetch(`${stack.appServerUrl}/api/polyv/samples`, { headers: { authorization: `Bearer ${session}` } });
    const body = await res.json();
    expect(body.localCloud).toBe(true);
    expect(body.samples.map((s: { videoId: string }) => s.videoId)).toEqual(expect.arrayContaining([...vids.playable, vids.unpublished]));
    expect(body.samples.find((s: { videoId: string }) => s.videoId === vids.unpublished).playable).toBe(false);
  });

  test('bad inputs: not logged in → 401; no body / empty / blank videoId → 400; malformed vid → 400 InvalidVideoId; extra field → 400', async () => {
    const noAuth = await play(stack.appServerUrl, undefined, { videoId: vids.playable[0] });
    expect(noAuth.status).toBe(401);
    expect(noAuth.body.error.code).toBe('Unauthorized');
    const badAuth = await play(stack.appServerUrl, 'v1.garbage.sig', { videoId: vids.playable[0] });
    expect(badAuth.status).toBe(401);
    for (const body of [{}, { videoId: '' }, { videoId: '   ' }, { videoId: 42 }]) {
      const r = await play(stack.appServerUrl, session, body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('InvalidParameter');
      expect(r.body.error.message).toMatch(/videoId/);
    }
    const malformed = await play(stack.appServerUrl, session, { videoId: '../../etc/passwd' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('InvalidVideoId');
    const extra = await play(stack.appServerUrl, session, { videoId: vids.playable[0], viewerId: 'me' });
    expect(extra.status).toBe(400);
  });

  test('unknown videoId → 404 PolyvVideoNotFound; a video still encoding → 409 PolyvVideoNotReady', async () => {
    const unknown = await play(stack.appServerUrl, session, { videoId: 'localdev01ffffffffffffffffffffff_l' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('PolyvVideoNotFound');
    const encoding = await play(stack.appServerUrl, session, { videoId: vids.unpublished });
    expect(encoding.status).toBe(409);
    expect(encoding.body.error.code).toBe('PolyvVideoNotReady');
  });

  test('Polyv refusing the request time at the token API (message envelope) → 502 PolyvClockSkew', async () => {
    await play(stack.appServerUrl, session, { videoId: vids.playable[1] }); // caches the video info
    const other = await login(stack.appServerUrl, stack.cloud!.wechat, 'oPolyvUser_0002');
    stack.runningCloud!.setClockOffset(11 * 60000);
    try {
      const r = await play(stack.appServerUrl, other, { videoId: vids.playable[1] });
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe('PolyvClockSkew');
      expect(r.body.error.message).toMatch(/ts_expired/);
      expect(r.body.error.details).toMatchObject({ api: 'create-child', polyvCode: 403 });
    } finally {
      stack.runningCloud!.setClockOffset(0);
    }
  });
});

describe('AppServer with the main account (POLYV_ACCOUNT=main: v1/token + v2 get-video-msg)', () => {
  let stack: DevStack;
  beforeAll(async () => {
    stack = await startDevStack({ quiet: true, env: { POLYV_ACCOUNT: 'main' } });
  });
  afterAll(() => stack.close());

  test('plays through v1/token and get-video-msg (SHA1), same response shape', async () => {
    const session = await login(stack.appServerUrl, stack.cloud!.wechat, 'oMainUser_0001');
    const vids = await sampleVids(stack.cloud!.polyv);
    const r = await play(stack.appServerUrl, session, { videoId: vids.playable[2] });
    expect(r.status).toBe(200);
    expect(r.body.definitions.map((d: { label: string }) => d.label)).toEqual(['流畅', '高清', '超清']);
    expect(r.body.duration).toBe(6);
    const reqs = await cloudRequests(stack.cloud!.polyv);
    const t = reqs.find((x) => x.url === '/service/v1/token')!;
    expect(Object.fromEntries(new URLSearchParams(t.body!))).toMatchObject({ userId: dev.userId, iswxa: '1' });
    expect(reqs.some((x) => x.url.startsWith(`/v2/video/${dev.userId}/get-video-msg?`))).toBe(true);
    expect(reqs.some((x) => x.url.includes('create-child'))).toBe(false);
    const unknown = await play(stack.appServerUrl, session, { videoId: 'localdev01ffffffffffffffffffffff_l' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('PolyvVideoNotFound');
    expect(unknown.body.error.message).toMatch(/cannot find the video/);
  });
});

describe('AppServer: Polyv error responses and configuration', () => {
  let cloud: RunningCloud;
  let dataDir: string;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'polyv-app-'));
    cloud = await startCloud({ dataDir: path.join(dataDir, 'cloud'), quiet: true });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await cloud.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function appWith(env: NodeJS.ProcessEnv, now: () => number = () => Date.now()): Promise<string> {
    const { app } = await buildAppServer({ env, cloud: cloud.urls, dataDir: path.join(dataDir, `app${apps.length}`), now });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  const real = (extra: NodeJS.ProcessEnv) => ({ POLYV_API_BASE: cloud.urls.polyv, POLYV_TOKEN_BASE: cloud.urls.polyv, ...extra });

  test('wrong sub-account secret → 502 PolyvAuthFailed from error.desc "invalid signature"; the secret is not echoed', async () => {
    const url = await appWith(real({ POLYV_APP_ID: dev.appId, POLYV_APP_SECRET: 'wrong-secret-123' }));
    const s = await login(url, cloud.urls.wechat, 'oErr_000001');
    const vids = await sampleVids(cloud.urls.polyv);
    const r = await play(url, s, { videoId: vids.playable[0] });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('PolyvAuthFailed');
    expect(r.body.error.message).toMatch(/invalid signature/);
    expect(r.body.error.details).toMatchObject({ polyvErrorCode: 104, api: 'get-video-info' });
    expect(JSON.stringify(r.body)).not.toContain('wrong-secret-123');
  });

  test('unknown appId → 502 PolyvAuthFailed ("application not exist"); wrong main secret → PolyvAuthFailed ("the sign is not right.")', async () => {
    const vids = await sampleVids(cloud.urls.polyv);
    const a = await appWith(real({ POLYV_APP_ID: 'nosuchapp', POLYV_APP_SECRET: 'x' }));
    const ra = await play(a, await login(a, cloud.urls.wechat, 'oErr_000002'), { videoId: vids.playable[0] });
    expect(ra.status).toBe(502);
    expect(ra.body.error.code).toBe('PolyvAuthFailed');
    expect(ra.body.error.message).toMatch(/application not exist/);
    const m = await appWith(real({ POLYV_USER_ID: dev.userId, POLYV_SECRET_KEY: 'bad' }));
    const rm = await play(m, await login(m, cloud.urls.wechat, 'oErr_000003'), { videoId: vids.playable[0] });
    expect(rm.body.error).toMatchObject({ code: 'PolyvAuthFailed' });
    expect(rm.body.error.message).toMatch(/the sign is not right/);
  });

  test('Polyv unreachable → 502 PolyvUnavailable', async () => {
    const url = await appWith({ POLYV_API_BASE: 'http://127.0.0.1:9', POLYV_TOKEN_BASE: 'http://127.0.0.1:9', POLYV_APP_ID: 'a', POLYV_APP_SECRET: 'b' });
    const vids = await sampleVids(cloud.urls.polyv);
    const r = await play(url, await login(url, cloud.urls.wechat, 'oErr_000004'), { videoId: vids.playable[0] });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('PolyvUnavailable');
  });

  test('token reused until shortly before expiry, then renewed (Polyv extends it), then replaced after it expired', async () => {
    let offset = 0;
    const url = await appWith({ POLYV_TOKEN_EXPIRES: '120' }, () => Date.now() + offset);
    const shift = (ms: number) => {
      offset = ms;
      cloud.setClockOffset(ms);
    };
    try {
      const s = await login(url, cloud.urls.wechat, 'oReuse_00001');
      const vid = (await sampleVids(cloud.urls.polyv)).playable[0];
      const tokenCalls = async () => (await cloudRequests(cloud.urls.polyv)).filter((r) => r.url.includes('/token/')).length;
      expect(tokenReuseMarginMs(120000)).toBe(30000);
      const a = (await play(url, s, { videoId: vid })).body;
      const calls0 = await tokenCalls();
      shift(60000); // 60 s left: reused from the AppServer's cache
      const b = (await play(url, s, { videoId: vid })).body;
      expect(b.token).toBe(a.token);
      expect(await tokenCalls()).toBe(calls0);
      shift(100000); // 20 s left < 30 s margin: ask Polyv again → same token, extended
      const c = (await play(url, s, { videoId: vid })).body;
      expect(await tokenCalls()).toBe(calls0 + 1);
      expect(c.token).toBe(a.token);
      expect(c.expiredTime - a.expiredTime).toBeGreaterThanOrEqual(99000);
      shift(100000 + 121000); // expired at Polyv: a new token
      const d = (await play(url, s, { videoId: vid })).body;
      expect(d.token).not.toBe(a.token);
    } finally {
      shift(0);
    }
  });

  test('viewerIp: X-Forwarded-For is used only with TRUST_PROXY', async () => {
    const vid = (await sampleVids(cloud.urls.polyv)).playable[1];
    const trusted = await appWith({ TRUST_PROXY: 'true' });
    const untrusted = await appWith({});
    const t = await play(trusted, await login(trusted, cloud.urls.wechat, 'oProxy_00001'), { videoId: vid }, { 'x-forwarded-for': '203.0.113.7' });
    const u = await play(untrusted, await login(untrusted, cloud.urls.wechat, 'oProxy_00002'), { videoId: vid }, { 'x-forwarded-for': '203.0.113.8' });
    const tokens = await cloudTokens(cloud.urls.polyv);
    expect(tokens.find((x) => x.token === t.body.token)!.viewerIp).toBe('203.0.113.7');
    expect(tokens.find((x) => x.token === u.body.token)!.viewerIp).toBe('127.0.0.1');
  });

  test('configuration errors: half a credential pair, unknown POLYV_ACCOUNT, bad expiry; nothing configured without a local cloud → 503', async () => {
    expect(() => loadPolyvConfig({ env: { POLYV_APP_ID: 'x' } })).toThrow(/POLYV_APP_SECRET/);
    expect(() => loadPolyvConfig({ env: { POLYV_SECRET_KEY: 'x' } })).toThrow(/POLYV_USER_ID/);
    expect(() => loadPolyvConfig({ env: { POLYV_ACCOUNT: 'both' }, cloud: cloud.urls })).toThrow(/POLYV_ACCOUNT/);
    expect(() => loadPolyvConfig({ env: { POLYV_ACCOUNT: 'main', POLYV_APP_ID: 'a', POLYV_APP_SECRET: 'b' } })).toThrow(/POLYV_USER_ID/);
    expect(() => loadPolyvConfig({ env: { POLYV_TOKEN_EXPIRES: '90000' }, cloud: cloud.urls })).toThrow(/POLYV_TOKEN_EXPIRES/);
    await expect(buildAppServer({ env: { POLYV_APP_ID: 'only-half' }, cloud: cloud.urls, dataDir: path.join(dataDir, 'half'), now: Date.now })).rejects.toThrow(/POLYV_APP_SECRET/);
    expect(loadPolyvConfig({ env: {} })).toMatchObject({ ok: false });
    const real = loadPolyvConfig({ env: { POLYV_USER_ID: 'u', POLYV_SECRET_KEY: 's' }, cloud: cloud.urls });
    expect(real).toMatchObject({ ok: true, config: { account: 'main', apiBase: 'https://api.polyv.net', tokenBase: 'https://hls.videocc.net', localCloud: false } });
    // An AppServer whose cloud has no Polyv and no POLYV_* env: the route answers 503 (other features keep working).
    const { app } = await buildAppServer({ env: {}, cloud: { ...cloud.urls, polyv: '' }, dataDir: path.join(dataDir, 'nopolyv'), now: Date.now });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const noPolyv = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const r = await play(noPolyv, await login(noPolyv, cloud.urls.wechat, 'oNoPolyv_001'), { videoId: 'localdev01ffffffffffffffffffffff_l' });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('PolyvNotConfigured');
  });
});
