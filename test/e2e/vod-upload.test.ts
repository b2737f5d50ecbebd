/**
 * VODUpload end to end: the real SDK through the Node wx runtime and our wx adapter (createWxAdapter(runtime.wx)),
 * over real loopback sockets, against the dev stack (AppServer /api/vod/* + local VOD / OSS / STS with real
 * signature checks). Objects are read back from the local OSS and compared byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OSS from 'ali-oss';
import { AppClient, createWxAdapter, VODUpload } from 'mp-media-sdk';
import type { PlatformAdapter, VODUploadAuthResult, VODUploadInfo, VODUploadOptions } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { createGate, createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import type { FaultRule, RequestLogEntry } from '../harness/wx-runtime';
import { CHECKPOINT_STORAGE_KEY } from '../../sdk/src/vod-upload/checkpoint';
import { until } from '../harness/until';
import { crc64 } from '../../sdk/src/aliyun/crc64';

jest.setTimeout(120000);

const KB = 1024;
const MB = 1024 * 1024;

let stack: DevStack;
const runtimes: WxRuntime[] = [];

beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
});

afterEach(async () => {
  await adminFaultsClear();
  while (runtimes.length) await (runtimes.pop() as WxRuntime).close();
});

afterAll(async () => {
  await stack.close();
});

function runtime(opts: Parameters<typeof createWxRuntime>[0] = {}): WxRuntime {
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `ovod${randomBytes(6).toString('hex')}`, ...opts });
  runtimes.push(rt);
  return rt;
}

async function admin<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function adminFaultsClear() {
  if (stack) await admin(stack.cloud!.oss, 'DELETE', '/_admin/faults');
}

async function ossObject(bucket: string, key: string): Promise<Buffer> {
  const res = await fetch(`${stack.cloud!.oss}/_admin/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`);
  if (!res.ok) throw new Error(`object ${bucket}/${key}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

function source(rt: WxRuntime, wxPath: string): Buffer {
  return readFileSync(rt.files.realPath(wxPath));
}

interface Run {
  events: Array<[string, ...unknown[]]>;
  progress: Map<string, number[]>;
  done: Promise<void>;
  failures(): Array<[string, string, string]>;
}

/** Our wx adapter over the runtime, with the app's own timers (rt.timers): after rt.kill() no SDK timer fires. */
function appAdapter(rt: WxRuntime): PlatformAdapter {
  return { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
}

/** A VODUpload whose events are recorded; `done` resolves at onUploadEnd. */
function uploader(rt: WxRuntime, opts: Partial<VODUploadOptions>): { up: VODUpload; run: Run; app: AppClient } {
  const adapter = appAdapter(rt);
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  let end!: () => void;
  const run: Run = {
    events: [],
    progress: new Map(),
    done: new Promise<void>((r) => (end = r)),
    failures: () => run.events.filter((e) => e[0] === 'onUploadFailed').map((e) => [e[1], e[2], e[3]] as [string, string, string]),
  };
  const wrap =
    (name: keyof VODUploadOptions, extra?: (...a: any[]) => void) =>
    (...a: any[]) => {
      run.events.push([name, (a[0] as VODUploadInfo | undefined)?.file?.name, ...a.slice(1).map((x) => (typeof x === 'object' ? (x as { code?: string })?.code : x))]);
      if (extra) extra(...a);
    };
  const up = new VODUpload({
    userId: 'e2e',
    adapter,
    ...opts,
    onUploadstarted: wrap('onUploadstarted', opts.onUploadstarted),
    onUploadSucceed: wrap('onUploadSucceed', opts.onUploadSucceed),
    onUploadFailed: wrap('onUploadFailed', opts.onUploadFailed),
    onUploadTokenExpired: wrap('onUploadTokenExpired', opts.onUploadTokenExpired),
    onUploadCanceled: wrap('onUploadCanceled', opts.onUploadCanceled),
    onUploadProgress: (info, total, p) => {
      const list = run.progress.get(info.file.name) || [];
      list.push(p);
      run.progress.set(info.file.name, list);
      if (opts.onUploadProgress) opts.onUploadProgress(info, total, p);
    },
    onUploadEnd: () => {
      run.events.push(['onUploadEnd']);
      end();
    },
  });
  return { up, run, app };
}

/** getUploadAuth in UploadAuth mode through our AppServer (refresh when the file already has a VideoId). */
function authFromAppServer(app: () => AppClient) {
  return (info: VODUploadInfo) => {
    if (info.isImage) return app().call<VODUploadAuthResult>('POST', '/api/vod/upload-image', { imageType: 'default', imageExt: info.file.name.split('.').pop(), title: info.file.name });
    if (info.videoId) return app().call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { videoId: info.videoId });
    return app().call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { title: `e2e ${info.file.name}`, fileName: info.file.name, fileSize: info.fileSize });
  };
}

/** UploadPart requests of a file (matched by the VOD-assigned object key once the file has its address). */
function partRequests(rt: WxRuntime, info: VODUploadInfo | undefined) {
  const key = info && info.object;
  if (!key) return [];
  return rt.requests.filter((r) => r.api === 'request' && r.method === 'PUT' && r.url.includes(`/${key}?`) && /[?&]partNumber=/.test(r.url));
}

function initiates(rt: WxRuntime, info: VODUploadInfo | undefined) {
  return rt.requests.filter((r) => info && r.url.includes(`/${info.object}?uploads`));
}


/**
 * "It stays stopped" as a fact, not a quiet period: once the runtime is idle (no task in flight or queued, no app
 * timer, no delivery pending; the SDK's adapter uses the runtime's timers), nothing can start without an outside
 * event. Waits for idle, lets a macrotask turn pass, and checks that it is still idle and no task was added.
 */
async function expectStaysIdle(rt: WxRuntime, what: string): Promise<void> {
  await until(() => rt.idle(), what);
  const tasks = rt.requests.length;
  await new Promise<void>((r) => setImmediate(r));
  expect(rt.idle()).toBe(true);
  expect(rt.requests.length).toBe(tasks);
}

function partNumberOf(url: string): number {
  return Number(/[?&]partNumber=(\d+)/.exec(url)?.[1]);
}

function expectProgressSane(list: number[] | undefined) {
  expect(list && list.length).toBeTruthy();
  const l = list as number[];
  for (let i = 1; i < l.length; i++) expect(l[i]).toBeGreaterThanOrEqual(l[i - 1]);
  for (const p of l) expect(p >= 0 && p <= 1).toBe(true);
  expect(l[l.length - 1]).toBe(1);
  expect(l.filter((p) => p === 1)).toHaveLength(1);
}

describe('VODUpload end to end (wx runtime → local cloud)', () => {
  test('UploadAuth mode, one queue of 0 B, 1 B, 99 KB, exactly partSize, partSize+1 and a multi-part file: every object byte-identical, VOD status UploadSucc', async () => {
    const rt = runtime();
    const partSize = 256 * KB;
    const sizes: Array<[string, number]> = [
      ['zero.mp4', 0],
      ['one.mp4', 1],
      ['k99.mp4', 99 * KB],
      ['exact.mp4', partSize],
      ['plus1.mp4', partSize + 1],
      ['multi.mp4', 3 * MB + 12345],
    ];
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, { partSize, parallel: 3, getUploadAuth: authFromAppServer(() => app) });
    app = a;
    const paths = sizes.map(([name, size], i) => rt.files.writeTempSized(name, size, i + 1));
    for (const p of paths) expect(up.addFile({ url: p }, null, null, null, JSON.stringify({ Vod: { Title: 'sized', UserData: { n: 1 } } }))).toBe(true);
    expect(up.startUpload()).toBe(true);
    await run.done;
    expect(run.failures()).toEqual([]);
    const infos = up.listFiles();
    expect(infos.map((i) => i.state)).toEqual(sizes.map(() => 'Success'));
    for (let i = 0; i < infos.length; i++) {
      const info = infos[i];
      expect(info.videoId).toBeTruthy();
      expect(info.fileSize).toBe(sizes[i][1]);
      const stored = await ossObject(info.bucket as string, info.object as string);
      expect(stored.equals(source(rt, paths[i]))).toBe(true);
      expectProgressSane(run.progress.get(info.file.name));
      const video = await app.call<Record<string, any>>('GET', `/api/vod/videos/${info.videoId}`);
      expect(JSON.stringify(video)).toContain('UploadSucc');
      // paramData carried UserData → x-oss-notification (base64 paramData) reached OSS and VOD recorded it
      const record = await admin<{ notification?: string }>(stack.cloud!.vod, 'GET', `/_admin/videos/${info.videoId}`);
      expect(Buffer.from(String(record.notification), 'base64').toString()).toBe(JSON.stringify({ Vod: { Title: 'sized', UserData: { n: 1 } } }));
    }
    // transport: PostObject through uploadFile for ≤ partSize, multipart through request PUT for the rest
    const posts = rt.requests.filter((r) => r.api === 'uploadFile');
    expect(posts).toHaveLength(4);
    // small files: the CRC-64 comes from the PostObject response headers (UploadTask.onHeadersReceived), no HEAD
    expect(rt.requests.filter((r) => r.method === 'HEAD')).toEqual([]);
    for (let i = 0; i < 4; i++) expect(infos[i].crc64).toBe(crc64(source(rt, paths[i])));
    expect(partRequests(rt, infos[4])).toHaveLength(2);
    expect(partRequests(rt, infos[5])).toHaveLength(Math.ceil((3 * MB + 12345) / partSize));
    expect(rt.wx.getStorageSync(CHECKPOINT_STORAGE_KEY)).toBeFalsy(); // checkpoints removed after success
  });

  test('STS mode, 30 MiB video with signature V4: the SDK calls VOD CreateUploadVideo itself (Title from paramData), object byte-identical (read back with ali-oss)', async () => {
    const rt = runtime();
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, {
      signatureVersion: 'v4',
      vodEndpoint: stack.cloud!.vod,
      getUploadAuth: async () => app.call('POST', '/api/vod/sts', {}),
    });
    app = a;
    const p = rt.files.writeTempSized('big30.mp4', 30 * MB, 30);
    up.addFile({ url: p, duration: 12.5 }, null, null, null, JSON.stringify({ Vod: { Title: '三十兆', CateId: 1, Tags: 'e2e,big' } }));
    up.startUpload();
    await run.done;
    expect(run.failures()).toEqual([]);
    const info = up.listFiles()[0];
    expect(info.state).toBe('Success');
    const media = await admin<{ videos: Array<Record<string, unknown>> }>(stack.cloud!.vod, 'GET', '/_admin/media');
    const video = media.videos.find((v) => v.VideoId === info.videoId) as Record<string, unknown>;
    expect(video).toMatchObject({ Title: '三十兆', FileName: 'big30.mp4', Status: 'UploadSucc' });
    // read back with the account key: the upload STS credentials' policy allows only the VOD upload actions (the
    // local OSS enforces it as Aliyun does: AccessDenied "Access denied by authorizer's policy.")
    const client = new OSS({
      accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId,
      accessKeySecret: DEV_CREDENTIALS.aliyun.accessKeySecret,
      endpoint: stack.cloud!.oss,
      bucket: info.bucket,
      region: 'oss-cn-shanghai',
    } as OSS.Options);
    const got = await client.get(info.object as string);
    expect(Buffer.compare(got.content as Buffer, source(rt, p))).toBe(0);
    expect(partRequests(rt, info)).toHaveLength(30);
    expectProgressSane(run.progress.get('big30.mp4'));
  });

  test('a real-style endpoint (https://oss-cn-shanghai.aliyuncs.com, via addFile override) is addressed virtual-hosted, V1 and V4, with the signature over /bucket/key', async () => {
    const rt = runtime({ hostMap: { '*.aliyuncs.com': stack.cloud!.oss } });
    for (const signatureVersion of ['v1', 'v4'] as const) {
      let app!: AppClient;
      const { up, run, app: a } = uploader(rt, { partSize: 100 * KB, signatureVersion, getUploadAuth: authFromAppServer(() => app) });
      app = a;
      const small = rt.files.writeTempSized(`vh-small-${signatureVersion}.mp4`, 20 * KB, 40);
      const big = rt.files.writeTempSized(`vh-big-${signatureVersion}.mp4`, 350 * KB, 41);
      up.addFile({ url: small }, 'https://oss-cn-shanghai.aliyuncs.com');
      up.addFile({ url: big }, 'https://oss-cn-shanghai.aliyuncs.com');
      up.startUpload();
      await run.done;
      expect(run.failures()).toEqual([]);
      for (const [info, p] of up.listFiles().map((i, k) => [i, [small, big][k]] as const)) {
        expect(info.endpoint).toBe('https://oss-cn-shanghai.aliyuncs.com');
        expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, p))).toBe(true);
        const hosts = rt.requests.filter((r) => r.url.includes(`/${info.object}`) || (r.api === 'uploadFile' && r.url.includes(info.bucket as string)));
        expect(hosts.length).toBeGreaterThan(0);
        for (const r of hosts) expect(r.url.startsWith(`https://${info.bucket}.oss-cn-shanghai.aliyuncs.com/`)).toBe(true);
      }
    }
  });

  test('images: UploadAuth mode (/api/vod/upload-image) and STS mode (CreateUploadImage) keep ImageId / ImageURL', async () => {
    const rt = runtime();
    let app!: AppClient;
    const a1 = uploader(rt, { getUploadAuth: authFromAppServer(() => app) });
    app = a1.app;
    const png = rt.files.writeTemp('pic.png', randomBytes(5000));
    a1.up.addFile({ url: png });
    a1.up.startUpload();
    await a1.run.done;
    expect(a1.run.failures()).toEqual([]);
    const i1 = a1.up.listFiles()[0];
    expect(i1).toMatchObject({ state: 'Success', isImage: true });
    expect(i1.imageId).toBeTruthy();
    expect(i1.imageURL).toMatch(/^https?:\/\//);
    expect((await ossObject(i1.bucket as string, i1.object as string)).equals(source(rt, png))).toBe(true);

    const a2 = uploader(rt, { vodEndpoint: stack.cloud!.vod });
    const jpg = rt.files.writeTemp('photo.jpg', randomBytes(3000));
    a2.up.addFile({ url: jpg }, null, null, null, '{"Vod":{"Title":"a photo"}}');
    const sts = await a2.app.call<{ SecurityTokenInfo: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string } }>('POST', '/api/vod/sts', {});
    a2.up.options.onUploadstarted = (info) => a2.up.setSTSToken(info, sts.SecurityTokenInfo.AccessKeyId, sts.SecurityTokenInfo.AccessKeySecret, sts.SecurityTokenInfo.SecurityToken);
    a2.up.startUpload();
    await a2.run.done;
    expect(a2.run.failures()).toEqual([]);
    const i2 = a2.up.listFiles()[0];
    expect(i2.imageId).toBeTruthy();
    expect(i2.imageURL).toMatch(/^https?:\/\//);
    expect((await ossObject(i2.bucket as string, i2.object as string)).equals(source(rt, jpg))).toBe(true);
  });

  test('token expiry mid-upload (official callback style): onUploadTokenExpired fires once, resumeUploadWithAuth continues the same UploadId, finished parts are not re-sent', async () => {
    const rt = runtime();
    const partSize = 100 * KB;
    const size = 24 * partSize + 77;
    let app!: AppClient;
    let expiring: Promise<unknown> | undefined;
    let armed = true;
    const okParts = () => partRequests(rt, up.listFiles()[0]).filter((r) => r.status === 200).length;
    const { up, run, app: a } = uploader(rt, {
      partSize,
      parallel: 3,
      onUploadstarted: (info) => {
        void app
          .call<{ UploadAuth: string; UploadAddress: string; VideoId: string }>('POST', '/api/vod/upload-video', { title: 'expiry', fileName: 'expiry.mp4' })
          .then((r) => up.setUploadAuthAndAddress(info, r.UploadAuth, r.UploadAddress, r.VideoId));
      },
      onUploadProgress: (info) => {
        if (armed && okParts() >= 4) {
          armed = false;
          // parts that reach the gate from now on wait until the expiry has landed: the rest of the upload cannot
          // finish before it, however fast the machine
          parts.close();
          expiring = admin(stack.cloud!.oss, 'POST', '/_admin/credentials/expire', { mediaId: info.videoId }).finally(() => parts.open());
        }
      },
      onUploadTokenExpired: (info) => {
        void app.call<{ UploadAuth: string }>('POST', '/api/vod/upload-video', { videoId: info.videoId }).then((r) => up.resumeUploadWithAuth(r.UploadAuth));
      },
    });
    app = a;
    const parts = createGate('parts');
    parts.open();
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'hold', gate: parts } });
    const p = rt.files.writeTempSized('expiry.mp4', size, 9);
    up.addFile({ url: p });
    up.startUpload();
    await run.done;
    await expiring;
    expect(run.failures()).toEqual([]);
    expect(run.events.filter((e) => e[0] === 'onUploadTokenExpired')).toHaveLength(1);
    const info = up.listFiles()[0];
    expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, p))).toBe(true);
    const puts = partRequests(rt, info);
    const rejected = puts.filter((r) => r.status === 403);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    // each part succeeded exactly once; only parts rejected by the expiry were sent again
    const perPart = new Map<number, number>();
    for (const r of puts.filter((x) => x.status === 200)) perPart.set(partNumberOf(r.url), (perPart.get(partNumberOf(r.url)) || 0) + 1);
    expect([...perPart.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect([...perPart.values()].every((n) => n === 1)).toBe(true);
    // the others are the parts that were in flight: rejected by the expiry or paused (aborted) by the SDK
    const others = puts.filter((r) => r.status !== 200);
    for (const r of others) expect(r.status === 403 || /abort/.test(String(r.error))).toBe(true);
    expect(others.length).toBeLessThanOrEqual(3);
    expect(initiates(rt, info)).toHaveLength(1);
  });

  test('STS mode token expiry with getUploadAuth: renewed automatically (RefreshUploadVideo with the same VideoId), finished parts kept', async () => {
    const rt = runtime();
    const partSize = 100 * KB;
    let app!: AppClient;
    let stsCalls = 0;
    let armed = true;
    let expiring: Promise<unknown> | undefined;
    const { up, run, app: a } = uploader(rt, {
      partSize,
      parallel: 2,
      vodEndpoint: stack.cloud!.vod,
      getUploadAuth: async () => {
        stsCalls++;
        return app.call<VODUploadAuthResult>('POST', '/api/vod/sts', {});
      },
      onUploadProgress: (info) => {
        if (armed && partRequests(rt, info).filter((r) => r.status === 200).length >= 3) {
          armed = false;
          parts.close(); // later parts wait for the expiry to land (see the test above)
          expiring = admin(stack.cloud!.oss, 'POST', '/_admin/credentials/expire', { mediaId: info.videoId }).finally(() => parts.open());
        }
      },
    });
    app = a;
    const parts = createGate('parts');
    parts.open();
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'hold', gate: parts } });
    const p = rt.files.writeTempSized('sts-expiry.mp4', 12 * partSize, 12);
    up.addFile({ url: p });
    up.startUpload();
    await run.done;
    await expiring;
    expect(run.failures()).toEqual([]);
    expect(run.events.filter((e) => e[0] === 'onUploadTokenExpired')).toHaveLength(1);
    expect(stsCalls).toBe(2);
    const vodActions = rt.requests.filter((r) => r.url.startsWith(stack.cloud!.vod)).map((r) => /Action=(\w+)/.exec(r.url)?.[1]);
    expect(vodActions).toEqual(['CreateUploadVideo', 'RefreshUploadVideo']);
    const info = up.listFiles()[0];
    const ok = partRequests(rt, info).filter((r) => r.status === 200).map((r) => partNumberOf(r.url));
    expect(ok.sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(initiates(rt, info)).toHaveLength(1);
    expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, p))).toBe(true);
  });

  test('background: requests interrupted while the app is hidden wait for onAppShow and continue (no retry used up)', async () => {
    const rt = runtime({ backgroundInterruptMs: 30 });
    const partSize = 100 * KB;
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, { partSize, parallel: 2, retryCount: 0, getUploadAuth: authFromAppServer(() => app) });
    app = a;
    // two parts go through, the others wait at the gate: they are in flight when the app hides
    const parts = createGate('parts');
    rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'hold', gate: parts } });
    const p = rt.files.writeTempSized('background.mp4', 8 * partSize, 13);
    up.addFile({ url: p });
    up.startUpload();
    parts.release(2);
    await until(() => partRequests(rt, up.listFiles()[0]).filter((r) => r.status === 200).length >= 2, '2 confirmed parts');
    await parts.waiting(1);
    rt.app.hide();
    // after the grace period every task in flight has been interrupted and nothing runs
    await until(() => rt.requests.some((r) => /interrupted/.test(String(r.error))) && rt.inflight().active + rt.inflight().queued === 0);
    // waiting for onAppShow, not retrying in a loop: idle (no task, no retry timer) and no network task started while hidden
    await expectStaysIdle(rt, 'the uploader to wait for onAppShow');
    expect(up.listFiles()[0].state).toBe('Uploading');
    parts.open();
    rt.app.show();
    await run.done;
    expect(run.failures()).toEqual([]);
    const info = up.listFiles()[0];
    expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, p))).toBe(true);
  });

  test('stop / start and cancel: stop aborts in-flight parts and start continues keeping finished parts; cancel sends AbortMultipartUpload', async () => {
    const rt = runtime();
    const partSize = 100 * KB;
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, {
      partSize,
      parallel: 2,
      getUploadAuth: authFromAppServer(() => app),
      onUploadstarted: (info) => {
        // cancelme.mp4: two of its parts may go, the others wait at the gate until the test cancels it
        if (info.file.name === 'cancelme.mp4') {
          parts.close();
          parts.release(2);
        }
      },
    });
    app = a;
    const parts = createGate('parts');
    rt.faults.add({ match: { method: 'PUT', url: /\?partNumber=/ }, times: Infinity, action: { type: 'hold', gate: parts } });
    const p = rt.files.writeTempSized('stopme.mp4', 12 * partSize, 4);
    const c = rt.files.writeTempSized('cancelme.mp4', 12 * partSize, 5);
    up.addFile({ url: p });
    up.addFile({ url: c });
    const okParts = (i: number) => partRequests(rt, up.listFiles()[i]).filter((r) => r.status === 200).length;
    {
      up.startUpload();
      // stop with 3 parts confirmed and the next ones in the air (held at the gate)
      parts.release(3);
      await until(() => okParts(0) >= 3, 'stopme.mp4 with 3 parts done');
      await parts.waiting(1);
      expect(partRequests(rt, up.listFiles()[0]).some((r) => r.endedAt === undefined)).toBe(true);
      const inFlightAtStop = new Map(rt.requests.map((r) => [r.id, r.endedAt === undefined]));
      up.stopUpload();
      expect(up.listFiles()[0].state).toBe('Stoped');
      // the tasks in flight at stop time end (aborted by the stop) ...
      await until(() => rt.inflight().active + rt.inflight().queued === 0, 'the in-flight parts to end');
      const aborted = rt.requests.filter((r) => inFlightAtStop.get(r.id));
      expect(aborted.length).toBeGreaterThan(0);
      for (const r of aborted) expect(r.error).toBe('request:fail abort');
      // ... and nothing new starts: the app is idle (no task, no timer) and stays so
      await expectStaysIdle(rt, 'the stopped uploader to be idle');
      expect(rt.requests.filter((r) => !inFlightAtStop.has(r.id)).map((r) => `${r.method} ${r.url}`)).toEqual([]); // really stopped
      const doneBeforeStop = new Set(partRequests(rt, up.listFiles()[0]).filter((r) => r.status === 200).map((r) => partNumberOf(r.url)));

      // start again: stopme.mp4 goes through; cancel cancelme.mp4 while its parts are held
      parts.open();
      expect(up.startUpload()).toBe(true);
      await until(() => okParts(1) >= 2, 'cancelme.mp4 with 2 parts done');
      await parts.waiting(1);
      up.cancelFile(1);
      await run.done;
      const [stopped, canceled] = up.listFiles();
      expect(stopped.state).toBe('Success');
      expect(canceled.state).toBe('Canceled');
      expect((await ossObject(stopped.bucket as string, stopped.object as string)).equals(source(rt, p))).toBe(true);
      for (const n of doneBeforeStop) expect(partRequests(rt, stopped).filter((r) => partNumberOf(r.url) === n && r.status === 200)).toHaveLength(1);
      expect(initiates(rt, stopped)).toHaveLength(1);
      // the stopped file asked for auth again with its VideoId (refresh, not a new video)
      expect(run.events.filter((e) => e[0] === 'onUploadstarted' && e[1] === 'stopme.mp4')).toHaveLength(2);
      expect(run.events.some((e) => e[0] === 'onUploadCanceled' && e[1] === 'cancelme.mp4')).toBe(true);
      // AbortMultipartUpload is sent after onUploadCanceled: wait for its answer
      const abortsOf = () => rt.requests.filter((r) => r.method === 'DELETE' && r.url.includes(`/${canceled.object}?uploadId=`));
      await until(() => abortsOf().some((r) => r.endedAt !== undefined), 'the AbortMultipartUpload answer');
      expect(abortsOf()).toEqual([expect.objectContaining({ status: 204 })]);
      const uploads = await admin<{ uploads: Array<{ key: string }> }>(stack.cloud!.oss, 'GET', '/_admin/uploads');
      expect(uploads.uploads.filter((u) => u.key === canceled.object)).toEqual([]);
    }
  });

  test('resume after restart: a NEW runtime and a NEW VODUpload on the same sandbox storage send exactly the parts the server lacks (ListParts after the kill); the re-sent in-flight parts are at most `parallel`', async () => {
    const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'vod-restart-'));
    const partSize = 100 * KB;
    const parallel = 3;
    const total = 21;
    const rt1 = runtime({ sandboxDir, openid: 'ovodrestart' });
    let app1!: AppClient;
    const s1 = uploader(rt1, { partSize, parallel, getUploadAuth: authFromAppServer(() => app1) });
    app1 = s1.app;
    // parts 9+ are held (in flight, not on the server) so the kill lands with `parallel` parts in the air
    rt1.faults.add({ match: { method: 'PUT', url: /partNumber=(9|\d\d)&/ }, times: Infinity, action: { type: 'delay', ms: 60000 } });
    const p = rt1.files.writeTempSized('restart.mp4', (total - 1) * partSize + 5, 8);
    const original = source(rt1, p);
    s1.up.addFile({ url: p });
    s1.up.startUpload();
    const held = () => partRequests(rt1, s1.up.listFiles()[0]).filter((r) => r.fault && r.endedAt === undefined);
    await until(() => held().length >= parallel, `${parallel} held parts`);
    const uploadId = s1.up.listFiles()[0].uploadId as string;
    const attempted1 = new Set(partRequests(rt1, s1.up.listFiles()[0]).map((r) => partNumberOf(r.url)));
    await rt1.kill(); // the app is killed mid-upload: nothing reaches the first VODUpload any more
    const [events1, requests1] = [s1.run.events.length, rt1.requests.length];
    expect(s1.run.events.some((e) => e[0] === 'onUploadSucceed')).toBe(false);

    // server truth after the kill: the parts OSS holds for this UploadId
    const { uploads } = await admin<{ uploads: Array<{ uploadId: string; parts: Array<{ partNumber: number }> }> }>(stack.cloud!.oss, 'GET', '/_admin/uploads');
    const onServer = (uploads.find((u) => u.uploadId === uploadId) as { parts: Array<{ partNumber: number }> }).parts.map((x) => x.partNumber);
    expect(onServer.length).toBeGreaterThan(0);
    const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !onServer.includes(n));
    const inFlightAtKill = [...attempted1].filter((n) => !onServer.includes(n));
    expect(inFlightAtKill.length).toBe(parallel);

    const rt2 = runtime({ sandboxDir, openid: 'ovodrestart' });
    let app2!: AppClient;
    const s2 = uploader(rt2, { partSize, parallel, getUploadAuth: authFromAppServer(() => app2) });
    app2 = s2.app;
    expect(rt2.wx.getStorageSync(CHECKPOINT_STORAGE_KEY)).toBeTruthy();
    s2.up.addFile({ url: p });
    s2.up.startUpload();
    await s2.run.done;
    expect(s2.run.failures()).toEqual([]);
    const info = s2.up.listFiles()[0];
    expect(info.videoId).toBe(s1.up.listFiles()[0].videoId); // refreshed, not a new video
    expect(info.uploadId).toBe(uploadId);
    expect((await ossObject(info.bucket as string, info.object as string)).equals(original)).toBe(true);
    expect(rt2.requests.filter((r) => r.url.includes('?uploads'))).toHaveLength(0); // same UploadId
    expect(rt2.requests.filter((r) => r.method === 'GET' && /uploadId=/.test(r.url))).toHaveLength(1); // ListParts
    // the second run's UploadPart requests are exactly the missing part numbers, each once
    const sent2 = partRequests(rt2, info).map((r) => partNumberOf(r.url)).sort((x, y) => x - y);
    expect(sent2).toEqual(missing);
    // of those, the ones the first run had already attempted (the in-flight ones) are at most `parallel`
    const resent = sent2.filter((n) => attempted1.has(n));
    expect(resent.sort((x, y) => x - y)).toEqual(inFlightAtKill.sort((x, y) => x - y));
    expect(resent.length).toBeLessThanOrEqual(parallel);
    // the killed app stayed dead: no event for the first uploader, no task (e.g. a retry) on the first runtime
    expect([s1.run.events.length, rt1.requests.length]).toEqual([events1, requests1]);
    await rt2.close();
    rmSync(sandboxDir, { recursive: true, force: true });
  });

  test('resume after restart from a NEW temp path with a NEW mtime (a phone re-pick): the content fingerprint finds the checkpoint, same UploadId, byte-identical; a different file of the same size does NOT resume', async () => {
    const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'vod-repick-'));
    const partSize = 100 * KB;
    const rt1 = runtime({ sandboxDir, openid: 'ovodrepick' });
    let app1!: AppClient;
    const s1 = uploader(rt1, { partSize, parallel: 2, getUploadAuth: authFromAppServer(() => app1) });
    app1 = s1.app;
    // parts 6+ are held before connecting, so the kill finds exactly parts 1-5 on the server
    rt1.faults.add({ match: { method: 'PUT', url: /partNumber=([6-9]|\d\d)&/ }, times: Infinity, action: { type: 'delay', ms: 60000 } });
    const p1 = rt1.files.writeTempSized('tmp_pick1.mp4', 12 * partSize + 333, 31);
    const original = source(rt1, p1);
    s1.up.addFile({ url: p1 });
    s1.up.startUpload();
    await until(() => partRequests(rt1, s1.up.listFiles()[0]).filter((r) => r.status === 200).length >= 5, '5 confirmed parts');
    const first = s1.up.listFiles()[0];
    const { uploadId, videoId } = first;
    expect(uploadId).toBeTruthy();
    await rt1.kill(); // the app is killed mid-upload: nothing reaches the first VODUpload any more
    const [events1, requests1] = [s1.run.events.length, rt1.requests.length];

    const rt2 = runtime({ sandboxDir, openid: 'ovodrepick' });
    // the user picks the same video again: WeChat copies it to a new temp path with a new mtime
    const copy = rt2.files.writeTemp('tmp_pick2.mp4', original);
    const later = new Date(Date.now() + 3600 * 1000);
    utimesSync(rt2.files.realPath(copy), later, later);
    expect(copy).not.toBe(p1);
    expect(Math.floor(statSync(rt2.files.realPath(copy)).mtimeMs / 1000)).not.toBe(Math.floor(statSync(rt2.files.realPath(p1)).mtimeMs / 1000));
    // a different file of the same size (only its last byte differs)
    const otherBytes = Buffer.from(original);
    otherBytes[otherBytes.length - 1] ^= 0xff;
    const other = rt2.files.writeTemp('tmp_pick3.mp4', otherBytes);
    let app2!: AppClient;
    const s2 = uploader(rt2, { partSize, parallel: 2, getUploadAuth: authFromAppServer(() => app2) });
    app2 = s2.app;
    s2.up.addFile({ url: other });
    s2.up.addFile({ url: copy });
    s2.up.startUpload();
    await s2.run.done;
    expect(s2.run.failures()).toEqual([]);
    const [o, c] = s2.up.listFiles();
    // the copy resumed: same video, same UploadId, no InitiateMultipartUpload, only the missing parts sent
    expect(c.videoId).toBe(videoId);
    expect(c.uploadId).toBe(uploadId);
    expect(initiates(rt2, c)).toHaveLength(0);
    expect(partRequests(rt2, c).map((r) => partNumberOf(r.url)).sort((x, y) => x - y)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    expect((await ossObject(c.bucket as string, c.object as string)).equals(original)).toBe(true);
    // the different file started over: a new video and a new multipart upload
    expect(o.videoId).not.toBe(videoId);
    expect(o.uploadId).not.toBe(uploadId);
    expect(initiates(rt2, o)).toHaveLength(1);
    expect((await ossObject(o.bucket as string, o.object as string)).equals(otherBytes)).toBe(true);
    expect([s1.run.events.length, rt1.requests.length]).toEqual([events1, requests1]);
    await rt2.close();
    rmSync(sandboxDir, { recursive: true, force: true });
  });

  test('faults: TCP resets, injected 500s and slow parts are retried; the object is byte-exact; every injected fault fired as many times as asked', async () => {
    const rt = runtime();
    const partSize = 100 * KB;
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, { partSize, parallel: 3, retryDuration: 0.05, getUploadAuth: authFromAppServer(() => app) });
    app = a;
    // runtime (client-side) rules, with what the request log must show for each: `fault` as applied, and its effect
    const rules: Array<{ rule: FaultRule; fault: string; effect: (r: RequestLogEntry) => boolean }> = [
      { rule: { match: { method: 'PUT', url: /partNumber=2&/ }, times: 2, action: { type: 'reset' } }, fault: 'reset', effect: (r) => /ERR_CONNECTION_RESET/.test(String(r.error)) },
      { rule: { match: { method: 'PUT', url: /partNumber=5&/ }, times: 1, action: { type: 'cutAfter', bytes: 5000 } }, fault: 'cutAfter:5000', effect: (r) => /ERR_CONNECTION_RESET/.test(String(r.error)) },
      { rule: { match: { method: 'PUT', url: /partNumber=7&/ }, times: 1, action: { type: 'reset', when: 'response' } }, fault: 'reset:response', effect: (r) => /ERR_CONNECTION_RESET/.test(String(r.error)) },
      { rule: { match: { method: 'PUT', url: /partNumber=(3|4)&/ }, times: 2, action: { type: 'delay', ms: 200 } }, fault: 'delay:200', effect: (r) => r.status === 200 },
      { rule: { match: { api: 'uploadFile' }, times: 1, action: { type: 'status', status: 502, body: '<html>Bad Gateway</html>' } }, fault: 'status:502', effect: (r) => r.status === 502 },
    ];
    for (const r of rules) rt.faults.add(r.rule);
    // OSS (server-side) rules
    const ossRules = [
      { op: 'UploadPart', partNumber: 6, times: 2, action: { type: 'status', status: 500 } },
      { op: 'CompleteMultipartUpload', times: 1, action: { type: 'status', status: 503, code: 'ServiceUnavailable' } },
      { op: 'InitiateMultipartUpload', times: 1, action: { type: 'reset' } },
    ];
    const ossIds: string[] = [];
    for (const r of ossRules) ossIds.push((await admin<{ fault: { id: string } }>(stack.cloud!.oss, 'POST', '/_admin/faults', r)).fault.id);
    const p = rt.files.writeTempSized('faulty.mp4', 10 * partSize + 999, 6);
    const small = rt.files.writeTempSized('faulty-small.mp4', 50 * KB, 7);
    up.addFile({ url: p });
    up.addFile({ url: small });
    up.startUpload();
    await run.done;
    expect(run.failures()).toEqual([]);
    for (const [info, path] of up.listFiles().map((i, k) => [i, [p, small][k]] as const)) {
      expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, path))).toBe(true);
    }
    const big = up.listFiles()[0];
    expect(partRequests(rt, big).filter((r) => partNumberOf(r.url) === 2).length).toBe(3);
    expect(partRequests(rt, big).filter((r) => partNumberOf(r.url) === 6 && r.status === 500).length).toBe(2);
    // every runtime rule fired exactly `times` times, on the tasks it was meant for, with its effect
    for (const { rule, fault, effect } of rules) {
      const m = rule.match || {};
      const hits = rt.requests.filter(
        (r) => r.fault !== undefined && (!m.api || r.api === m.api) && (!m.method || r.method === m.method) && (!(m.url instanceof RegExp) || m.url.test(r.url)),
      );
      expect({ fault, hits: hits.map((r) => r.fault) }).toEqual({ fault, hits: Array(rule.times).fill(fault) });
      for (const r of hits) expect({ fault, effect: effect(r) }).toEqual({ fault, effect: true });
    }
    expect(rt.requests.filter((r) => r.fault !== undefined)).toHaveLength(rules.reduce((n, r) => n + (r.rule.times as number), 0));
    // every OSS rule was consumed (read back through the admin API)
    const { faults } = await admin<{ faults: Array<{ id: string; op?: string; hits: number; times: number }> }>(stack.cloud!.oss, 'GET', '/_admin/faults');
    const mine = ossIds.map((id) => faults.find((f) => f.id === id));
    expect(mine.map((f) => f && [f.op, f.hits])).toEqual(ossRules.map((r) => [r.op, r.times]));
  });

  test('a "fail abort" WeChat reports on its own (not our stop / cancel) is retried like a network error: once → the file finishes; every time → NetworkError; onUploadEnd fires (no stall)', async () => {
    const rt = runtime();
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, { partSize: 100 * KB, parallel: 2, retryCount: 2, retryDuration: 0.01, getUploadAuth: authFromAppServer(() => app) });
    app = a;
    rt.faults.add({ match: { method: 'PUT', url: /\?partNumber=2&/ }, times: 1, action: { type: 'fail', reason: 'abort' } });
    rt.faults.add({ match: { api: 'uploadFile' }, times: Infinity, action: { type: 'fail', reason: 'abort' } });
    const big = rt.files.writeTempSized('hostabort.mp4', 350 * KB, 21);
    up.addFile({ url: big });
    up.addFile({ url: rt.files.writeTempSized('hostabort-small.mp4', 20 * KB, 22) });
    up.startUpload();
    await run.done;
    expect(up.listFiles().map((i) => i.state)).toEqual(['Success', 'Failure']);
    expect(run.failures().map((f) => [f[0], f[1]])).toEqual([['hostabort-small.mp4', 'NetworkError']]);
    expect(run.events[run.events.length - 1]).toEqual(['onUploadEnd']);
    const info = up.listFiles()[0];
    const part2 = partRequests(rt, info).filter((r) => partNumberOf(r.url) === 2);
    expect(part2.map((r) => r.error || r.status)).toEqual(['request:fail abort', 200]);
    expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, big))).toBe(true);
    expect(rt.requests.filter((r) => r.api === 'uploadFile')).toHaveLength(3); // 1 + retryCount
  }, 20000);

  test('a host outside the 合法域名 list ("url not in domain list") fails the file at once with DomainNotAllowed and a whitelist hint — no retries; the next file uploads', async () => {
    const rt = runtime();
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, { partSize: 100 * KB, retryCount: 3, retryDuration: 0.05, getUploadAuth: authFromAppServer(() => app) });
    app = a;
    rt.faults.add({ match: { api: 'uploadFile' }, times: 1, action: { type: 'fail', reason: 'url not in domain list' } });
    rt.faults.add({ match: { url: /\?uploads/ }, times: 1, action: { type: 'fail', reason: 'url not in domain list' } });
    up.addFile({ url: rt.files.writeTempSized('nodomain-small.mp4', 10 * KB, 1) });
    up.addFile({ url: rt.files.writeTempSized('nodomain-big.mp4', 250 * KB, 2) });
    const ok = rt.files.writeTempSized('domain-ok.mp4', 10 * KB, 3);
    up.addFile({ url: ok });
    up.startUpload();
    await run.done;
    const failures = run.failures();
    expect(failures.map((f) => [f[0], f[1]])).toEqual([
      ['nodomain-small.mp4', 'DomainNotAllowed'],
      ['nodomain-big.mp4', 'DomainNotAllowed'],
    ]);
    for (const f of failures) expect(f[2]).toMatch(/合法域名.*不校验合法域名/);
    expect(rt.requests.filter((r) => r.error && /domain list/.test(r.error))).toHaveLength(2);
    const [, big, good] = up.listFiles();
    expect(rt.requests.filter((r) => r.api === 'uploadFile')).toHaveLength(2); // the refused one (not retried) + domain-ok
    expect(initiates(rt, big)).toHaveLength(1); // not retried
    expect(good.state).toBe('Success');
    expect(run.events[run.events.length - 1]).toEqual(['onUploadEnd']);
  });

  test('failures are reported with a specific code and onUploadEnd still fires: retries exhausted (NetworkError), OSS 403 (AccessDenied)', async () => {
    const rt = runtime();
    let app!: AppClient;
    const { up, run, app: a } = uploader(rt, { partSize: 100 * KB, retryCount: 1, retryDuration: 0, getUploadAuth: authFromAppServer(() => app) });
    app = a;
    rt.faults.add({ match: { method: 'PUT', url: /\?partNumber=1&/ }, times: Infinity, action: { type: 'reset' } });
    await admin(stack.cloud!.oss, 'POST', '/_admin/faults', { op: 'PostObject', times: 1, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'You have no right to access this object.' } });
    up.addFile({ url: rt.files.writeTempSized('neterr.mp4', 300 * KB, 1) });
    up.addFile({ url: rt.files.writeTempSized('denied.mp4', 10 * KB, 2) });
    up.startUpload();
    await run.done;
    expect(run.failures().map((f) => [f[0], f[1]])).toEqual([
      ['neterr.mp4', 'NetworkError'],
      ['denied.mp4', 'AccessDenied'],
    ]);
    expect(run.events[run.events.length - 1]).toEqual(['onUploadEnd']);
    expect(partRequests(rt, up.listFiles()[0]).filter((r) => partNumberOf(r.url) === 1)).toHaveLength(2);
  });

  test('clock skew: the cloud clock is 20 min ahead → RequestTimeTooSkewed is corrected from the server time', async () => {
    const rt = runtime();
    let app!: AppClient;
    let cred: Record<string, string> | undefined;
    const { up, run, app: a } = uploader(rt, { partSize: 100 * KB, retryCount: 0, getUploadAuth: async () => cred as unknown as VODUploadAuthResult });
    app = a;
    const p = rt.files.writeTempSized('skew.mp4', 250 * KB, 3);
    up.addFile({ url: p });
    // credentials first (the AppServer's own RPC calls would be skewed too), then shift the cloud clock
    cred = await app.call<Record<string, string>>('POST', '/api/vod/upload-video', { title: 'skew', fileName: 'skew.mp4' });
    stack.runningCloud!.setClockOffset(20 * 60 * 1000);
    try {
      up.startUpload();
      await run.done;
    } finally {
      stack.runningCloud!.setClockOffset(0);
    }
    expect(run.failures()).toEqual([]);
    const skewed = rt.requests.filter((r) => r.status === 403);
    expect(skewed).toHaveLength(1);
    const info = up.listFiles()[0];
    expect((await ossObject(info.bucket as string, info.object as string)).equals(source(rt, p))).toBe(true);
  });

  test('bad inputs through the real adapter: empty userId, malformed UploadAuth / UploadAddress, missing file, set* outside onUploadstarted, invalid index, duplicate add, start twice — each with a clear code', async () => {
    const rt = runtime();
    const adapter = createWxAdapter(rt.wx);
    expect(() => new VODUpload({ userId: '', adapter })).toThrow(expect.objectContaining({ code: 'InvalidUserId' }));
    let app!: AppClient;
    let step = 0;
    const { up, run, app: a } = uploader(rt, {
      onUploadstarted: (info) => {
        step++;
        if (info.file.name === 'badauth.mp4') up.setUploadAuthAndAddress(info, 'eyJub3QiOiJhdXRoIn0=', 'eyJFbmRwb2ludCI6Imh0dHA6Ly8xMjcuMC4wLjE6MSIsIkJ1Y2tldCI6Im91dGluLXgiLCJGaWxlTmFtZSI6ImsifQ==');
        if (info.file.name === 'badaddr.mp4') {
          void app.call<{ UploadAuth: string }>('POST', '/api/vod/upload-video', { title: 't', fileName: 'badaddr.mp4' }).then((r) => up.setUploadAuthAndAddress(info, r.UploadAuth, 'bm90IGpzb24='));
        }
      },
    });
    app = a;
    const f1 = rt.files.writeTemp('badauth.mp4', 'x');
    const f2 = rt.files.writeTemp('badaddr.mp4', 'y');
    expect(up.addFile({ url: f1 })).toBe(true);
    expect(up.addFile({ url: f1 })).toBe(false);
    expect(up.lastError?.code).toBe('FileDuplication');
    expect(up.addFile({ url: f2 })).toBe(true);
    expect(up.addFile({ url: 'http://tmp/does-not-exist.mp4' })).toBe(true);
    expect(up.setUploadAuthAndAddress(up.listFiles()[0], 'x', 'y')).toBe(false);
    expect(up.lastError?.code).toBe('InvalidState');
    expect(up.cancelFile(7)).toBe(false);
    expect(up.lastError?.code).toBe('InvalidIndex');
    expect(up.startUpload()).toBe(true);
    expect(up.startUpload()).toBe(false);
    expect(up.lastError?.code).toBe('UploadAlreadyStarted');
    await run.done;
    expect(run.failures().map((f) => [f[0], f[1]])).toEqual([
      ['badauth.mp4', 'InvalidUploadAuth'],
      ['badaddr.mp4', 'InvalidUploadAddress'],
      ['does-not-exist.mp4', 'FileNotFound'],
    ]);
    expect(step).toBe(2);
  });
});
