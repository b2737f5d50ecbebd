/**
 * TencentVodUploader end to end: our SDK through the Node wx runtime and our wx adapter, over real loopback sockets,
 * against the dev stack (AppServer /api/tencent-vod/* + the local VOD / COS with real signature checks). Production
 * hosts (vod2.qcloud.com, vod2.dnsv1.com) are mapped to the local VOD by the runtime; objects are read back with
 * cos-nodejs-sdk-v5 and compared byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import COS = require('cos-nodejs-sdk-v5');
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { AppClient, createWxAdapter, TencentVodUploader, TencentVodError } from 'mp-media-sdk';
import type { PlatformAdapter, TencentVodProgress, TencentVodResult, TencentVodUploadOptions } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { LOCAL_VOD_BUCKET } from '../../server/cloud/tencent-vod';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { until } from '../harness/until';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';

jest.setTimeout(180000);
const MB = 1024 * 1024;
let stack: DevStack;
const runtimes: WxRuntime[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
});
afterEach(async () => {
  await admin('POST', '/_admin/settings', { credentialLifetimeSec: 7200, procedureMode: 'auto', procedureDelayMs: 1500 });
  while (runtimes.length) await (runtimes.pop() as WxRuntime).close();
});
afterAll(async () => {
  await stack.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function admin<T = any>(method: string, p: string, body?: unknown, base = stack.cloud!.tvod): Promise<T> {
  const res = await fetch(`${base}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

function runtime(opts: Parameters<typeof createWxRuntime>[0] = {}): WxRuntime {
  const rt = createWxRuntime({
    wechatUrl: stack.cloud!.wechat,
    openid: `otv${randomBytes(6).toString('hex')}`,
    hostMap: { 'vod2.qcloud.com': stack.cloud!.tvod, 'vod2.dnsv1.com': stack.cloud!.tvod },
    ...opts,
  });
  runtimes.push(rt);
  return rt;
}

function appAdapter(rt: WxRuntime, skewMs = 0): PlatformAdapter {
  const a = createWxAdapter(rt.wx);
  return { ...a, setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout, now: () => Date.now() + skewMs };
}

interface Run {
  up: TencentVodUploader;
  progress: TencentVodProgress[];
  errors: TencentVodError[];
  finishes: TencentVodResult[];
  signatures: number;
  app: AppClient;
  settled: Promise<TencentVodResult | TencentVodError>;
}

function upload(rt: WxRuntime, opts: Partial<TencentVodUploadOptions>, adapter = appAdapter(rt)): Run {
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  const run = { progress: [], errors: [], finishes: [], signatures: 0, app } as unknown as Run;
  run.up = TencentVodUploader.start({
    adapter,
    getSignature: () => {
      run.signatures++;
      return app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature);
    },
    mediaName: 'e2e clip',
    retryDelays: [50, 100, 200],
    ...opts,
    progress: (p) => {
      run.progress.push(p);
      opts.progress?.(p);
    },
    finish: (r) => run.finishes.push(r),
    error: (e) => run.errors.push(e),
  } as TencentVodUploadOptions);
  run.settled = run.up.done().then(
    (r) => r,
    (e) => e as TencentVodError,
  );
  return run;
}

const ownerCos = () => new COS({ SecretId: DEV_CREDENTIALS.tencent.secretId, SecretKey: DEV_CREDENTIALS.tencent.secretKey, Protocol: 'http:', Proxy: stack.cloud!.cos } as any);
const keyOf = (url: string) => decodeURIComponent(url.replace(/^.*?\/media\//, ''));
async function readBack(url: string): Promise<Buffer> {
  const data: any = await new Promise((resolve, reject) => ownerCos().getObject({ Bucket: LOCAL_VOD_BUCKET, Region: 'ap-guangzhou', Key: keyOf(url) } as any, (e: any, d: any) => (e ? reject(e) : resolve(d))));
  return data.Body as Buffer;
}
async function listParts(key: string, uploadId: string): Promise<number[]> {
  const data: any = await new Promise((resolve, reject) => ownerCos().multipartListPart({ Bucket: LOCAL_VOD_BUCKET, Region: 'ap-guangzhou', Key: key, UploadId: uploadId } as any, (e: any, d: any) => (e ? reject(e) : resolve(d))));
  return (data.Part || []).map((p: any) => Number(p.PartNumber));
}
const source = (rt: WxRuntime, p: string) => readFileSync(rt.files.realPath(p));


const cosLog = async () => (await admin<{ requests: any[] }>('GET', '/_admin/requests', undefined, stack.cloud!.cos)).requests;
const vodLog = async () => (await admin<{ requests: any[] }>('GET', '/_admin/requests')).requests;
const monotone = (ps: TencentVodProgress[]) => ps.every((p, i) => i === 0 || (p.percent >= ps[i - 1].percent && p.loaded >= ps[i - 1].loaded));

describe('TencentVodUploader against the local VOD + COS', () => {
  it('uploads 0 B, 1 B, 8 MiB-1, 8 MiB+1 and 30 MiB byte-exact (read back with cos-nodejs-sdk-v5); progress monotone, ends at 1; PULL tells the AppServer who uploaded', async () => {
    const rt = runtime();
    for (const size of [0, 1, 8 * MB - 1, 8 * MB + 1, 30 * MB]) {
      const video = rt.files.writeTempSized(`v${size}.mp4`, size, size + 1);
      const r = upload(rt, { mediaFile: { tempFilePath: video, size } });
      const res = (await r.settled) as TencentVodResult;
      expect(r.errors).toEqual([]);
      expect(res).toMatchObject({ fileId: expect.stringMatching(/^\d+$/), videoName: 'e2e clip', videoUrl: expect.any(String), verify_content: expect.any(String) });
      expect(r.finishes).toEqual([res]);
      expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
      expect(monotone(r.progress)).toBe(true);
      expect(r.progress[r.progress.length - 1]).toMatchObject({ percent: 1, loaded: size, total: size });
      expect(r.progress.slice(0, -1).every((p) => p.percent <= 0.99)).toBe(true);
      // Apply and Commit each fetched their own signature (one-time signatures)
      expect(r.signatures).toBe(2);
      // the AppServer learns of it through the PULL worker, mapped to this user by the SourceContext
      await until(async () => (await r.app.call<{ videos: any[] }>('GET', '/api/tencent-vod/videos')).videos.some((v) => v.fileId === res.fileId && v.state === 'ready'), `NewFileUpload of ${size} B`);
    }
    const apply = (await vodLog()).filter((l) => l.action === 'ApplyUploadUGC').slice(-1)[0];
    expect(apply.body).toMatchObject({ videoName: 'e2e clip', videoType: 'mp4', videoSize: 30 * MB });
  });

  it('with a cover: chooseImage result and chooseMedia item shapes, string sizes; progress counts the cover; without a cover no cover URL', async () => {
    const rt = runtime();
    const video = rt.files.writeTempSized('withcover.mp4', 2 * MB + 3, 7);
    const png = rt.files.writeTempSized('cover.png', 5000, 8);
    for (const coverFile of [{ tempFilePaths: [png], tempFiles: [{ path: png, size: 5000 }] }, { tempFilePath: png, size: '5000' as unknown as number, fileType: 'image' }]) {
      const r = upload(rt, { mediaFile: { tempFilePath: video, size: String(2 * MB + 3) as unknown as number }, coverFile, chunkSize: MB });
      const res = (await r.settled) as TencentVodResult;
      expect(r.errors).toEqual([]);
      expect(res.coverUrl).toMatch(/\.png$/);
      expect(Buffer.compare(await readBack(res.coverUrl!), source(rt, png))).toBe(0);
      expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
      expect(r.progress[r.progress.length - 1]).toMatchObject({ total: 2 * MB + 3 + 5000, loaded: 2 * MB + 3 + 5000, percent: 1 });
      expect(monotone(r.progress)).toBe(true);
    }
    const plain = upload(rt, { mediaFile: { tempFilePath: video } });
    expect(((await plain.settled) as TencentVodResult).coverUrl).toBeUndefined();
  });

  it('pause → restart continues where it stopped (no finished part re-sent, progress never goes back); cancel reports CANCELED once in every phase and aborts the multipart upload', async () => {
    const rt = runtime();
    const video = rt.files.writeTempSized('pause.mp4', 6 * MB, 3);
    let paused = false;
    const r = upload(rt, {
      mediaFile: { tempFilePath: video },
      chunkSize: MB,
      chunkParallelLimit: 2,
      progressInterval: 0,
      progress: (p) => {
        if (!paused && p.loaded >= 2 * MB) {
          paused = true;
          expect(r.up.pause()).toBe(true);
        }
      },
    });
    await until(() => r.up.state === 'paused' && rt.inflight().active === 0, 'the pause to settle');
    const logAtPause = (await cosLog()).filter((l) => l.op === 'UploadPart' && l.status === 200);
    const before = r.progress.length;
    expect(r.up.restart()).toBe(true);
    const res = (await r.settled) as TencentVodResult;
    expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
    const after = (await cosLog()).filter((l) => l.op === 'UploadPart' && l.status === 200 && l.key === keyOf(res.videoUrl!));
    const donePartsAtPause = new Set(logAtPause.filter((l) => l.key === keyOf(res.videoUrl!)).map((l) => l.partNumber));
    const resent = after.slice(logAtPause.filter((l) => l.key === keyOf(res.videoUrl!)).length).filter((l) => donePartsAtPause.has(l.partNumber));
    expect(resent).toEqual([]);
    expect(monotone(r.progress)).toBe(true);
    expect(r.progress.length).toBeGreaterThan(before);

    // cancel while getSignature is pending (sign), then while parts are in the air (cos)
    let release!: (s: string) => void;
    const held = upload(rt, { mediaFile: { tempFilePath: video }, getSignature: () => new Promise<string>((res2) => (release = res2)) });
    await until(() => !!release, 'getSignature to be called');
    expect(held.up.cancel()).toBe(true);
    expect(held.up.cancel()).toBe(false);
    const e1 = (await held.settled) as TencentVodError;
    expect(e1).toMatchObject({ code: 'CANCELED', stage: 'sign', retryable: false });
    release('late');
    await until(() => rt.inflight().active === 0, 'quiet');
    expect(held.errors).toHaveLength(1);
    expect(held.finishes).toEqual([]);

    rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'delay', ms: 400 } });
    const mid = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB });
    await until(() => rt.requests.some((q) => q.method === 'PUT' && /partNumber=/.test(q.url) && q.startedAt !== undefined && q.endedAt === undefined), 'a part in the air');
    mid.up.cancel();
    const e2 = (await mid.settled) as TencentVodError;
    expect(e2).toMatchObject({ code: 'CANCELED', stage: 'cos' });
    await until(async () => (await cosLog()).some((l) => l.op === 'AbortMultipartUpload' && l.status === 204), 'AbortMultipartUpload');
    expect(mid.errors).toHaveLength(1);
    expect(rt.wx.getStorageSync('mp-media-sdk:tencent-vod:sessions')).toBe('');
    rt.faults.clear();
  });

  it('kill at ~50 % → a restarted app (new temp path, same content) sends only the missing parts; re-sent ≤ parallel', async () => {
    const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'tvod-kill-'));
    dirs.push(sandboxDir);
    const openid = `otvkill${randomBytes(4).toString('hex')}`;
    const rt1 = runtime({ sandboxDir, openid });
    const data = randomBytes(8 * MB);
    const p1 = rt1.files.writeTemp('first.mp4', data);
    let killed = false;
    upload(rt1, {
      mediaFile: { tempFilePath: p1 },
      chunkSize: MB,
      chunkParallelLimit: 2,
      progressInterval: 0,
      progress: (p) => {
        if (!killed && p.loaded >= 4 * MB) {
          killed = true;
          rt1.kill();
        }
      },
    });
    await until(() => killed, 'the kill');
    const rt2 = runtime({ sandboxDir, openid });
    const saved = rt2.wx.getStorageSync('mp-media-sdk:tencent-vod:sessions');
    const entry: any = Object.values(saved)[0];
    expect(entry).toMatchObject({ v: 1, vodSessionKey: expect.any(String), videoUploadId: expect.any(String) });
    const session = (await admin<{ sessions: any[] }>('GET', '/_admin/sessions')).sessions.find((s) => s.key === entry.vodSessionKey);
    // every part request of the killed app has been handled by the server (completed, or failed with its cut body)
    const run1 = async () => (await cosLog()).filter((l) => l.op === 'UploadPart' && l.key === session.videoKey);
    await until(async () => (await run1()).every((l) => l.status !== 0), 'the killed requests to end server-side');
    const started1 = new Set((await run1()).map((l) => l.partNumber));
    const done = await listParts(session.videoKey, entry.videoUploadId);
    expect(done.length).toBeGreaterThanOrEqual(2);
    const logBefore = (await cosLog()).length;
    const p2 = rt2.files.writeTemp('second-pick.mp4', data);
    const r2 = upload(rt2, { mediaFile: { tempFilePath: p2 }, chunkSize: MB, chunkParallelLimit: 2 });
    const res = (await r2.settled) as TencentVodResult;
    expect(r2.errors).toEqual([]);
    expect(Buffer.compare(await readBack(res.videoUrl!), data)).toBe(0);
    const sent = (await cosLog()).slice(logBefore).filter((l) => l.op === 'UploadPart').map((l) => l.partNumber as number).sort((a, b) => a - b);
    const missing = [1, 2, 3, 4, 5, 6, 7, 8].filter((n) => !done.includes(n));
    expect(sent).toEqual(missing);
    const resent = sent.filter((n) => started1.has(n));
    expect(resent.length).toBeLessThanOrEqual(2);
    const apply = (await vodLog()).filter((l) => l.action === 'ApplyUploadUGC').slice(-1)[0];
    expect(Object.keys(apply.body).sort()).toEqual(['signature', 'vodSessionKey']);
    expect(rt2.wx.getStorageSync('mp-media-sdk:tencent-vod:sessions')).toBe('');
  });
});

describe('TencentVodUploader: credentials, stale sessions, clocks, faults, signatures', () => {
  it('credential expiry mid-upload: the COS credential (1 s) expires while a part waits; the SDK re-applies with the session key and finishes', async () => {
    await admin('POST', '/_admin/settings', { credentialLifetimeSec: 1 });
    const rt = runtime();
    const video = rt.files.writeTempSized('expiry.mp4', 3 * MB, 11);
    // each part leaves 2.5 s after it was signed: its credential has certainly expired by then
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: 1, action: { type: 'delay', ms: 2500 } });
    const vodBefore = (await vodLog()).length;
    const cosBefore = (await cosLog()).length;
    const r = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB, chunkParallelLimit: 1 });
    const res = (await r.settled) as TencentVodResult;
    expect(r.errors).toEqual([]);
    expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
    const applies = (await vodLog()).slice(vodBefore).filter((l) => l.action === 'ApplyUploadUGC');
    expect(applies.length).toBeGreaterThanOrEqual(2);
    for (const a of applies.slice(1)) expect(Object.keys(a.body).sort()).toEqual(['signature', 'vodSessionKey']);
    expect(rt.requests.filter((q) => q.fault).length).toBe(1);
    // COS really refused the stale credential once, and the retried part went through with the new one
    const refused = (await cosLog()).slice(cosBefore).filter((l) => l.status === 403);
    expect(refused.map((l) => [l.op, l.code])).toEqual([['UploadPart', 'AccessDenied']]);
  });

  it('a session older than a day: the resume Apply is refused once, the upload starts fresh (no error loop)', async () => {
    const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'tvod-stale-'));
    dirs.push(sandboxDir);
    const openid = `otvstale${randomBytes(4).toString('hex')}`;
    const rt1 = runtime({ sandboxDir, openid });
    const data = randomBytes(3 * MB);
    const p1 = rt1.files.writeTemp('stale.mp4', data);
    let killed = false;
    upload(rt1, { mediaFile: { tempFilePath: p1 }, chunkSize: MB, chunkParallelLimit: 1, progressInterval: 0, progress: (p) => {
      if (!killed && p.loaded >= MB) {
        killed = true;
        rt1.kill();
      }
    } });
    await until(() => killed, 'the kill');
    const rt2 = runtime({ sandboxDir, openid });
    const entry: any = Object.values(rt2.wx.getStorageSync('mp-media-sdk:tencent-vod:sessions'))[0];
    await admin('POST', '/_admin/sessions/age', { key: entry.vodSessionKey, ms: 25 * 3600 * 1000 });
    const vodBefore = (await vodLog()).length;
    const r = upload(rt2, { mediaFile: { tempFilePath: rt2.files.writeTemp('again.mp4', data) }, chunkSize: MB });
    const res = (await r.settled) as TencentVodResult;
    expect(r.errors).toEqual([]);
    expect(Buffer.compare(await readBack(res.videoUrl!), data)).toBe(0);
    const calls = (await vodLog()).slice(vodBefore).map((l) => [l.action, l.code, Object.keys(l.body).includes('vodSessionKey')]);
    expect(calls).toEqual([
      ['ApplyUploadUGC', 10001, true],
      ['ApplyUploadUGC', 0, false],
      ['CommitUploadUGC', 0, true],
    ]);
  });

  it('clock skew: a phone clock 3 days ahead or behind does not matter (KeyTime comes from the server)', async () => {
    for (const skew of [3 * 86400000, -3 * 86400000]) {
      const rt = runtime();
      const video = rt.files.writeTempSized('skew.mp4', 2 * MB + 1, 13);
      const r = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB }, appAdapter(rt, skew));
      const res = (await r.settled) as TencentVodResult;
      expect(r.errors).toEqual([]);
      expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
    }
  });

  it('network faults: Apply reset → backup host; a part reset and a 500 → retried; Commit 502 → retried; every fault fired once', async () => {
    const rt = runtime();
    const video = rt.files.writeTempSized('faults.mp4', 3 * MB, 17);
    rt.faults.add({ match: { url: /vod2\.qcloud\.com\/v3\/index\.php\?Action=ApplyUploadUGC/ }, times: 1, action: { type: 'reset' } });
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=2&/ }, times: 1, action: { type: 'reset' } });
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=3&/ }, times: 1, action: { type: 'status', status: 500, body: '<Error><Code>InternalError</Code></Error>', headers: { 'x-cos-request-id': 'fault' } } });
    rt.faults.add({ match: { url: /Action=CommitUploadUGC/ }, times: 1, action: { type: 'status', status: 502, body: 'bad gateway' } });
    const r = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB, chunkParallelLimit: 1 });
    const res = (await r.settled) as TencentVodResult;
    expect(r.errors).toEqual([]);
    expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
    expect(rt.requests.filter((q) => q.fault).length).toBe(4);
    expect(rt.requests.some((q) => /vod2\.dnsv1\.com\/v3\/index\.php\?Action=ApplyUploadUGC/.test(q.url) && q.status === 200)).toBe(true);
  });

  it('network down for good: NETWORK_ERROR at stage apply, retryable, after the backoff; nothing left behind', async () => {
    const rt = runtime();
    rt.faults.add({ match: { url: /index\.php/ }, times: Infinity, action: { type: 'reset' } });
    const r = upload(rt, { mediaFile: { tempFilePath: rt.files.writeTempSized('down.mp4', 1000, 1) } });
    const e = (await r.settled) as TencentVodError;
    expect(e).toMatchObject({ code: 'NETWORK_ERROR', stage: 'apply', retryable: true });
    expect(r.errors).toHaveLength(1);
    expect(rt.requests.filter((q) => /index\.php/.test(q.url)).length).toBe(4);
  });

  it('one-time signatures: a reused signature is refused; getSignature is asked again, then INVALID_SIGNATURE (stage apply, not retryable)', async () => {
    const rt = runtime();
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
    const once = (await app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {})).signature;
    const video = rt.files.writeTempSized('once.mp4', 1000, 2);
    const first = upload(rt, { mediaFile: { tempFilePath: video }, getSignature: (cb: (s: string) => void) => void cb(once) });
    expect(((await first.settled) as TencentVodResult).fileId).toMatch(/^\d+$/); // Apply + Commit of one session may share it
    let asked = 0;
    const second = upload(rt, { mediaFile: { tempFilePath: rt.files.writeTempSized('once2.mp4', 2000, 3) }, getSignature: () => (asked++, once) });
    const e = (await second.settled) as TencentVodError;
    expect(e).toMatchObject({ code: 'INVALID_SIGNATURE', stage: 'apply', retryable: false, details: { vodCode: 10004 } });
    expect(e.message).toMatch(/duplicate vod signature/);
    expect(asked).toBe(3);
  });

  it('getSignature that throws, rejects or gives nothing: SIGNATURE_FAILED at stage sign; bad options: INVALID_OPTION', async () => {
    const rt = runtime();
    const video = rt.files.writeTempSized('sig.mp4', 100, 4);
    for (const getSignature of [() => { throw new Error('boom'); }, () => Promise.reject(new Error('no')), () => Promise.resolve('')]) {
      const e = (await upload(rt, { mediaFile: { tempFilePath: video }, getSignature: getSignature as any }).settled) as TencentVodError;
      expect(e).toMatchObject({ code: 'SIGNATURE_FAILED', stage: 'sign' });
    }
    expect(await upload(rt, { mediaFile: {} as any }).settled).toMatchObject({ code: 'INVALID_OPTION' });
    expect(await upload(rt, { mediaFile: { tempFilePath: video }, mediaName: 'a/b' }).settled).toMatchObject({ code: 'INVALID_OPTION' });
    expect(await upload(rt, { mediaFile: { tempFilePath: 'http://tmp/missing.mp4' } }).settled).toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('background: WeChat interrupts the requests; the SDK waits for onAppShow (no retries burnt, no request while hidden) and finishes', async () => {
    const rt = runtime({ backgroundInterruptMs: 50 });
    const video = rt.files.writeTempSized('bg.mp4', 4 * MB, 19);
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: 2, action: { type: 'delay', ms: 3000 } });
    const r = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB, chunkParallelLimit: 2, chunkRetryTimes: 0 });
    await until(() => rt.requests.some((q) => /partNumber=/.test(q.url) && q.endedAt === undefined), 'a part in the air');
    rt.app.hide();
    await until(() => rt.requests.some((q) => /interrupted/.test(String(q.error))) && rt.inflight().active === 0, 'the interruption');
    const hiddenAt = rt.requests.length;
    // while hidden nothing is sent (the SDK waits for the foreground instead of retrying): an absence, so watch a
    // window (retries would show up within a few ms; a slower machine only makes this more lenient)
    const t0 = Date.now();
    await until(() => Date.now() - t0 >= 300 || rt.requests.length > hiddenAt, 'a quiet window');
    expect(rt.requests.length).toBe(hiddenAt);
    rt.app.show();
    const res = (await r.settled) as TencentVodResult;
    expect(r.errors).toEqual([]);
    expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
  });

  it('cover-only replacement of an existing file (fileId + coverFile)', async () => {
    const rt = runtime();
    const first = (await upload(rt, { mediaFile: { tempFilePath: rt.files.writeTempSized('base.mp4', 5000, 23) } }).settled) as TencentVodResult;
    const png = rt.files.writeTempSized('new-cover.png', 4000, 24);
    const r = upload(rt, { fileId: first.fileId, coverFile: { tempFilePath: png } });
    const res = (await r.settled) as TencentVodResult;
    expect(r.errors).toEqual([]);
    expect(res).toMatchObject({ fileId: first.fileId, coverUrl: expect.stringMatching(/\.png$/), videoUrl: undefined });
    expect(Buffer.compare(await readBack(res.coverUrl!), source(rt, png))).toBe(0);
    const api = new vod.v20180717.Client({ credential: DEV_CREDENTIALS.tencent, region: '', profile: { httpProfile: { endpoint: stack.cloud!.tvod.replace(/^http:\/\//, ''), protocol: 'http://' } } });
    const info = await api.DescribeMediaInfos({ FileIds: [first.fileId] });
    expect(info.MediaInfoSet![0].BasicInfo!.CoverUrl).toBe(res.coverUrl);
    expect(await upload(rt, { fileId: first.fileId }).settled).toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('a part whose CRC-64 from COS differs from ours is sent again (CRC64_MISMATCH retried), and reported once retries run out', async () => {
    const rt = runtime();
    const video = rt.files.writeTempSized('crc.mp4', 2 * MB + 5, 29);
    const lying = { type: 'status' as const, status: 200, body: '', headers: { ETag: '"00000000000000000000000000000000"', 'x-cos-hash-crc64ecma': '1', 'x-cos-request-id': 'fault' } };
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=2&/ }, times: 1, action: lying });
    const r = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB, chunkParallelLimit: 1 });
    const res = (await r.settled) as TencentVodResult;
    expect(r.errors).toEqual([]);
    expect(Buffer.compare(await readBack(res.videoUrl!), source(rt, video))).toBe(0);
    expect(rt.requests.filter((q) => /partNumber=2&/.test(q.url)).length).toBe(2);
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=1&/ }, times: Infinity, action: lying });
    const bad = upload(rt, { mediaFile: { tempFilePath: video }, chunkSize: MB, chunkParallelLimit: 1, chunkRetryTimes: 1 });
    expect(await bad.settled).toMatchObject({ code: 'CRC64_MISMATCH', stage: 'cos', retryable: true });
  });
});
