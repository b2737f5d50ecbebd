/**
 * Two AppServer instances on one Redis (REDIS_URL) behind a round-robin proxy, the local cloud once, a real
 * redis-server (durable: an append-only file fsynced on every write, as the production recipe says). Over real
 * loopback sockets through the SDK on the Node wx runtime:
 *   - log in once, upload (VODUpload, UploadAuth mode), refresh, read and list the videos: every call succeeds
 *     whichever instance serves it, one login for all;
 *   - a Polyv token created on one instance is reused by the other (no second token call), also when both ask at once;
 *   - a Tencent VOD upload whose PUSH events go to one instance is seen from the other; the same event delivered to
 *     both at once is applied once; in PULL mode two pulling instances apply what either pulls;
 *   - IoT bindings provisioned on one are the other's;
 *   - Redis killed: the store-backed routes answer 503 StoreUnavailable on both, /api/health is 503, login still
 *     works (stateless tokens), nothing from the failed requests is recorded; Redis restarted: all works again with
 *     the state from before.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { AppClient, createWxAdapter, TencentVodUploader, VODUpload } from 'mp-media-sdk';
import { startCloud, RunningCloud } from '../../server/cloud';
import { buildAppServer } from '../../server/app';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { startRedis, TestRedis } from '../harness/redis';
import { startRoundRobin, RoundRobin } from '../harness/round-robin';
import { requireBinary } from '../harness/system-deps';
import { until } from '../harness/until';
import { appServerUploadAuth } from '../harness/vod-auth';

jest.setTimeout(180000);

const redisBin = requireBinary('redis-server', 'redis-server');
const d = redisBin ? describe : describe.skip;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let redis: TestRedis;
let cloud: RunningCloud;
let tmp: string;
const apps: FastifyInstance[] = [];
const urls: string[] = [];
let lb: RoundRobin;
const runtimes: WxRuntime[] = [];
const warnings: string[] = [];

async function instance(name: string, events: 'push' | 'pull' = 'push'): Promise<string> {
  const { app } = await buildAppServer({
    // No APP_TOKEN_SECRET: the instances share the development secret the first one claimed in Redis.
    env: { REDIS_URL: redis.url, TENCENT_VOD_EVENTS: events },
    cloud: cloud.urls,
    dataDir: path.join(tmp, name),
    now: () => Date.now(),
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  if (!redisBin) return;
  // The store logs Redis outages with console.warn: kept here and checked, not printed.
  jest.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void warnings.push(a.map(String).join(' ')));
  tmp = mkdtempSync(path.join(os.tmpdir(), 'two-instances-'));
  redis = await startRedis(redisBin, { durable: true });
  cloud = await startCloud({ dataDir: path.join(tmp, 'cloud'), quiet: true });
  urls.push(await instance('app-a'), await instance('app-b'));
  lb = await startRoundRobin(urls);
});

afterAll(async () => {
  while (runtimes.length) await runtimes.pop()!.close();
  if (lb) await lb.close();
  for (const a of apps) await a.close();
  if (cloud) await cloud.close();
  if (redis) await redis.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  jest.restoreAllMocks();
});

function runtime(): WxRuntime {
  const rt = createWxRuntime({ wechatUrl: cloud.urls.wechat, openid: `o2i${randomBytes(6).toString('hex')}`, hostMap: { 'vod2.qcloud.com': cloud.urls.tvod, 'vod2.dnsv1.com': cloud.urls.tvod } });
  runtimes.push(rt);
  return rt;
}

/** A session token straight from one instance's /api/login. */
async function login(base: string, openid: string): Promise<string> {
  const code = (await (await fetch(`${cloud.urls.wechat}/wx/dev/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }) })).json()).code;
  const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  const j = await r.json();
  if (r.status !== 200) throw new Error(`login on ${base}: ${r.status} ${JSON.stringify(j)}`);
  return j.token;
}

async function call(base: string, token: string | undefined, method: string, p: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

const tvodApi = () =>
  new vod.v20180717.Client({ credential: DEV_CREDENTIALS.tencent, region: '', profile: { httpProfile: { endpoint: cloud.urls.tvod.replace(/^http:\/\//, ''), protocol: 'http://' } } });

async function polyvTokenCalls(): Promise<number> {
  const reqs: Array<{ url: string }> = (await (await fetch(`${cloud.urls.polyv}/_admin/requests`)).json()).requests;
  return reqs.filter((r) => r.url.includes('/token/')).length;
}

async function polyvVids(): Promise<string[]> {
  const s: Array<{ vid: string; playable: boolean }> = (await (await fetch(`${cloud.urls.polyv}/_admin/samples`)).json()).samples;
  return s.filter((x) => x.playable).map((x) => x.vid);
}

/** Shared by the tests: what was made before Redis went down, checked again after it is back. */
const before: { token?: string; videoIds: string[]; polyv?: { vid: string; token: string; session: string }; tvodFileId?: string; devices?: string[] } = { videoIds: [] };

d('two AppServer instances on one Redis', () => {
  test('through a round-robin proxy: one login, a VODUpload of two files (create on one instance), refresh / read / list on both — ownership holds across instances, another user gets 404 on both', async () => {
    const rt = runtime();
    const adapter = createWxAdapter(rt.wx);
    const app = new AppClient({ baseUrl: lb.url, adapter });
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    const failures: unknown[] = [];
    const up = new VODUpload({
      userId: 'two-instances',
      adapter,
      partSize: 100 * 1024,
      getUploadAuth: appServerUploadAuth(app, (info) => `2i ${info.file.name}`),
      onUploadFailed: (_i, code, msg) => failures.push([code, msg]),
      onUploadEnd: () => end(),
    });
    up.addFile({ url: rt.files.writeTempSized('a.mp4', 50 * 1024, 1) });
    up.addFile({ url: rt.files.writeTempSized('b.mp4', 250 * 1024, 2) });
    up.startUpload();
    await ended;
    expect(failures).toEqual([]);
    const ids = up.listFiles().map((f) => f.videoId as string);
    expect(ids.every(Boolean)).toBe(true);
    before.videoIds = ids;

    // Each id refreshed twice in a row, then read twice in a row, through the proxy: strict alternation sends one of
    // each pair to each instance.
    for (const id of ids) for (let i = 0; i < 2; i++) expect((await app.call<Json>('POST', '/api/vod/upload-video', { videoId: id })).VideoId).toBe(id);
    for (const id of ids) for (let i = 0; i < 2; i++) expect(JSON.stringify(await app.call<Json>('GET', `/api/vod/videos/${id}`))).toContain('UploadSucc');
    for (let i = 0; i < 2; i++) {
      const lib = await app.call<{ videos: Array<{ videoId: string; mine: boolean }> }>('GET', '/api/vod/library');
      expect(lib.videos.filter((v) => v.mine).map((v) => v.videoId)).toEqual(ids);
    }
    const served = (p: RegExp) => new Set(lb.log.filter((e) => p.test(e.path)).map((e) => e.backend));
    expect(lb.log.filter((e) => e.path === '/api/login')).toHaveLength(1); // the token from one instance works on the other
    expect(served(/^\/api\/vod\/upload-video$/)).toEqual(new Set([0, 1]));
    expect(served(/^\/api\/vod\/videos\//)).toEqual(new Set([0, 1]));
    expect(served(/^\/api\/vod\/library$/)).toEqual(new Set([0, 1]));
    expect(lb.log.every((e) => e.status === 200)).toBe(true);

    // Ownership from either side: the creator may play on both; another user is refused on both.
    const owner = await login(urls[1], rt.openid);
    const other = await login(urls[0], `o2iother${randomBytes(4).toString('hex')}`);
    for (const base of urls) {
      expect((await call(base, owner, 'POST', '/api/vod/play-auth', { videoId: ids[0] })).status).not.toBe(403);
      expect((await call(base, other, 'POST', '/api/vod/upload-video', { videoId: ids[0] })).body.error.code).toBe('VideoNotFound');
      expect((await call(base, other, 'GET', `/api/vod/videos/${ids[1]}`)).body.error.code).toBe('VideoNotFound');
      expect((await call(base, other, 'POST', '/api/vod/play-info', { videoId: ids[1] })).body.error.code).toBe('VideoForbidden');
    }
    before.token = owner;
  });

  test('Polyv: the token made on one instance is reused by the other (no second token call); two first plays at once on both answer one token', async () => {
    const [vid, vid2] = await polyvVids();
    const t = await login(urls[0], `o2ipolyv${randomBytes(4).toString('hex')}`);
    const a = await call(urls[0], t, 'POST', '/api/polyv/play', { videoId: vid });
    expect(a.status).toBe(200);
    const calls = await polyvTokenCalls();
    const b = await call(urls[1], t, 'POST', '/api/polyv/play', { videoId: vid });
    expect(b.status).toBe(200);
    expect(b.body.token).toBe(a.body.token);
    expect(b.body.expiredTime).toBe(a.body.expiredTime);
    expect(await polyvTokenCalls()).toBe(calls);
    before.polyv = { vid, token: a.body.token, session: t };

    const t2 = await login(urls[1], `o2ipolyv${randomBytes(4).toString('hex')}`);
    const both = await Promise.all(urls.map((u) => call(u, t2, 'POST', '/api/polyv/play', { videoId: vid2 })));
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(both[1].body.token).toBe(both[0].body.token);
  });

  test('Tencent VOD: PUSH events go to instance A, the uploader and the video list use instance B; the same event sent to both at once applies once', async () => {
    await tvodApi().ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: `${urls[0]}/api/tencent-vod/events` });
    await fetch(`${cloud.urls.tvod}/_admin/settings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ procedureMode: 'manual' }) });
    const rt = runtime();
    const onB = new AppClient({ baseUrl: urls[1], adapter: createWxAdapter(rt.wx) });
    const file = rt.files.writeTempSized('t.mp4', 200000, 7);
    const res = await TencentVodUploader.start({
      adapter: createWxAdapter(rt.wx),
      mediaFile: { tempFilePath: file },
      mediaName: 'two instances',
      getSignature: () => onB.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature),
    }).done();
    const stateOnB = async () => (await onB.call<{ videos: Json[] }>('GET', '/api/tencent-vod/videos')).videos.find((v) => v.fileId === res.fileId)?.state;
    await until(async () => (await stateOnB()) === 'ready', 'B to see the video A received by PUSH');
    const pushes = async () => (await (await fetch(`${cloud.urls.tvod}/_admin/events`)).json()).pushes.filter((p: Json) => p.fileId === res.fileId);
    await until(async () => (await pushes()).some((p: Json) => p.status !== undefined), 'the PUSH answer to be logged by the cloud');
    expect((await pushes()).map((p: Json) => [p.eventType, p.status])).toEqual([['NewFileUpload', 200]]);
    before.tvodFileId = res.fileId;

    const ev = { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { TaskId: `t${randomBytes(4).toString('hex')}`, Status: 'PROCESSING', FileId: res.fileId } };
    const twice = await Promise.all(urls.map((u) => call(u, undefined, 'POST', '/api/tencent-vod/events', ev)));
    expect(twice.map((r) => r.status)).toEqual([200, 200]);
    expect(twice.map((r) => r.body.applied).sort()).toEqual([false, true]);
  });

  test('Tencent VOD in PULL mode: two more instances both pulling; whichever pulls an event applies it, and both list the video ready', async () => {
    await tvodApi().ModifyEventConfig({ Mode: 'PULL', NotificationUrl: '' });
    const pulling = [await instance('pull-a', 'pull'), await instance('pull-b', 'pull')];
    try {
      const rt = runtime();
      const onA = new AppClient({ baseUrl: pulling[0], adapter: createWxAdapter(rt.wx) });
      const onB = new AppClient({ baseUrl: pulling[1], adapter: createWxAdapter(rt.wx) });
      const res = await TencentVodUploader.start({
        adapter: createWxAdapter(rt.wx),
        mediaFile: { tempFilePath: rt.files.writeTempSized('p.mp4', 120000, 9) },
        mediaName: 'pulled',
        getSignature: () => onA.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature),
      }).done();
      for (const c of [onA, onB]) {
        await until(async () => (await c.call<{ videos: Json[] }>('GET', '/api/tencent-vod/videos')).videos.some((v) => v.fileId === res.fileId && v.state === 'ready'), 'both pulling instances to list the video ready');
      }
      // ConfirmEvents after the apply: the event leaves the cloud's queue (a failed apply would leave it for redelivery).
      await until(async () => !(await (await fetch(`${cloud.urls.tvod}/_admin/events`)).json()).queued.some((q: Json) => q.event?.FileUploadEvent?.FileId === res.fileId), 'the event to be confirmed');
    } finally {
      for (const app of apps.splice(2)) await app.close();
      await tvodApi().ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: `${urls[0]}/api/tencent-vod/events` });
    }
  });

  test('IoT: the devices provisioned for a user on one instance are the ones the other lists and reaches', async () => {
    const t = await login(urls[0], `o2iiot${randomBytes(4).toString('hex')}`);
    const a = await call(urls[0], t, 'POST', '/api/iot/devices/list', {});
    expect(a.body.code).toBe(0);
    const ids = a.body.data.list.map((x: Json) => x.deviceId);
    expect(ids.length).toBeGreaterThan(0);
    const b = await call(urls[1], t, 'POST', '/api/iot/devices/list', {});
    expect(b.body.data.list.map((x: Json) => x.deviceId)).toEqual(ids);
    const other = await login(urls[1], `o2iiot${randomBytes(4).toString('hex')}`);
    await call(urls[1], other, 'POST', '/api/iot/devices/list', {});
    const foreign = await call(urls[0], other, 'POST', '/api/iot/vas/cloudstorage/describe', { deviceId: ids[0] });
    expect(foreign.body.code).toBe(8003);
    before.devices = ids;
  });

  test('Redis killed mid-run: store-backed routes answer 503 StoreUnavailable on both instances, health is 503, login still works, nothing from the failed calls is recorded; Redis back: everything works with the state from before', async () => {
    expect(before.token && before.videoIds.length && before.polyv && before.tvodFileId && before.devices).toBeTruthy();
    const token = before.token!;
    const [vid2] = before.videoIds;
    const polyvAll = await polyvVids();
    const freshPolyv = polyvAll.find((v) => v !== before.polyv!.vid)!;
    await redis.kill();

    for (const base of urls) {
      const health = await call(base, undefined, 'GET', '/api/health');
      expect([health.status, health.body.error.code]).toEqual([503, 'StoreUnavailable']);
      const answers = {
        refresh: await call(base, token, 'POST', '/api/vod/upload-video', { videoId: vid2 }),
        create: await call(base, token, 'POST', '/api/vod/upload-video', { title: 'during outage', fileName: 'x.mp4' }),
        info: await call(base, token, 'GET', `/api/vod/videos/${vid2}`),
        library: await call(base, token, 'GET', '/api/vod/library'),
        playInfo: await call(base, token, 'POST', '/api/vod/play-info', { videoId: vid2 }),
        polyv: await call(base, token, 'POST', '/api/polyv/play', { videoId: freshPolyv }),
        tvodList: await call(base, token, 'GET', '/api/tencent-vod/videos'),
        tvodSignature: await call(base, token, 'POST', '/api/tencent-vod/signature', {}),
        tvodEvent: await call(base, undefined, 'POST', '/api/tencent-vod/events', { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { TaskId: 'outage', Status: 'FINISH', FileId: before.tvodFileId } }),
        iot: await call(base, token, 'POST', '/api/iot/devices/list', {}),
      };
      for (const [name, r] of Object.entries(answers)) {
        expect([name, r.status, r.body && r.body.error && r.body.error.code]).toEqual([name, 503, 'StoreUnavailable']);
        expect(r.body.error.message).toMatch(/store is unavailable/);
      }
      // Tokens are stateless: a new login needs no store.
      expect(typeof (await login(base, `o2ilogin${randomBytes(4).toString('hex')}`))).toBe('string');
    }
    await until(() => warnings.some((w) => /Redis at redis:\/\/127\.0\.0\.1:\d+.*503 StoreUnavailable/.test(w)), 'the outage to be logged');

    await redis.start();
    for (const base of urls) await until(async () => (await call(base, undefined, 'GET', '/api/health')).status === 200, `${base} healthy again`);

    for (const base of urls) {
      const lib = await call(base, token, 'GET', '/api/vod/library');
      expect(lib.body.videos.filter((v: Json) => v.mine).map((v: Json) => v.videoId)).toEqual(before.videoIds); // the outage's create left nothing
      expect((await call(base, token, 'POST', '/api/vod/upload-video', { videoId: vid2 })).body.VideoId).toBe(vid2);
      const t = await login(base, `o2iafter${randomBytes(4).toString('hex')}`);
      expect((await call(base, t, 'POST', '/api/polyv/play', { videoId: freshPolyv })).status).toBe(200);
    }
    // The Polyv token from before is still the one handed out, with no token call (the stored reuse survived the crash).
    const calls = await polyvTokenCalls();
    for (const base of urls) expect((await call(base, before.polyv!.session, 'POST', '/api/polyv/play', { videoId: before.polyv!.vid })).body.token).toBe(before.polyv!.token);
    expect(await polyvTokenCalls()).toBe(calls);
    // The Tencent VOD record: still ready, and the outage's event was not marked applied (its redelivery applies).
    const redelivered = await call(urls[1], undefined, 'POST', '/api/tencent-vod/events', { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { TaskId: 'outage', Status: 'FINISH', FileId: before.tvodFileId } });
    expect(redelivered.body).toEqual({ ok: true, applied: true });
    expect(warnings.some((w) => /is back/.test(w))).toBe(true);
  });
});
