/**
 * The SDK through the REAL Taro 4 runtime: @tarojs/plugin-platform-weapp + @tarojs/taro 4.2.1 (the test/taro-host
 * fixture) over the Node wx runtime (test/harness), against the dev stack over real loopback sockets. This is what
 * runs in a Taro weapp build: createTaroAdapter(Taro) → Taro.request (interceptor chain) / Taro.uploadFile /
 * Taro.login (promisified) / Taro.getFileSystemManager → wx.
 *
 * Every test also asserts that no promise rejection went unhandled: Taro rejects the Promise of each failed or aborted
 * call, and an adapter that ignores it leaves one per call (the control test shows the old behaviour). The listener
 * is the test file's own `process.on('unhandledRejection')` (test/taro-host/environment.js makes it see them).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AbortControllerLike,
  AppClient,
  createTaroAdapter,
  createWxAdapter,
  IVVAS,
  MediaKitError,
  PlatformAdapter,
  PolyvPlayer,
  VODUpload,
} from 'mp-media-sdk';
import type { VODUploadAuthResult, VODUploadInfo, VODUploadOptions } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { until } from '../harness/until';
import { loadRealTaro, LoadedTaro } from './taro';

jest.setTimeout(120000);

const KB = 1024;

let stack: DevStack;
let rt: WxRuntime;
let taro: LoadedTaro;
let Taro: any;
let adapter: PlatformAdapter;
let app: AppClient;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** One macrotask turn, twice: Node reports unhandled rejections after the microtasks of a turn drain. */
const settle = async () => {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
};


/** Every network task of the runtime has ended (so any rejection Taro makes for it has happened). */
const quiet = () => until(() => rt.inflight().active + rt.inflight().queued === 0, 'the runtime to have no task in flight');

async function expectNoUnhandled(): Promise<void> {
  await quiet();
  await settle();
  expect(unhandled.map((r) => (r && typeof r === 'object' && 'errMsg' in r ? (r as { errMsg: string }).errMsg : String(r)))).toEqual([]);
}

/** A loopback server that holds every request until the test releases it. */
interface HoldServer {
  url: string;
  seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders }>;
  release(status?: number, body?: string): void;
  close(): Promise<void>;
}
async function holdServer(): Promise<HoldServer> {
  const held: http.ServerResponse[] = [];
  const seen: HoldServer['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    req.resume();
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    release(status = 200, body = '{"ok":true}') {
      for (const res of held.splice(0)) if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: {} });
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oTaroHost00000001' });
  taro = loadRealTaro(rt.wx);
  Taro = taro.Taro;
  // the app's own timers: retry timers die with the runtime
  adapter = { ...createTaroAdapter(Taro), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
  app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
});

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});

afterEach(async () => {
  rt.faults.clear();
  Taro.cleanInterceptors();
  process.off('unhandledRejection', onUnhandled);
});

afterAll(async () => {
  if (rt) await rt.close();
  if (taro) taro.restore();
  if (stack) await stack.close();
});

describe('the real Taro runtime over the Node wx runtime', () => {
  test('Taro is the weapp build of @tarojs/taro 4.2.1 and its APIs reach wx (request through the interceptor chain, uploadFile promisified)', async () => {
    expect(Taro.getEnv()).toBe('WEAPP');
    expect(typeof Taro.addInterceptor).toBe('function');
    expect(Taro.request).not.toBe(rt.wx.request);
    expect(Taro.uploadFile).not.toBe(rt.wx.uploadFile);
    const res = await Taro.request({ url: `${stack.appServerUrl}/api/health`, dataType: 'text' });
    expect(typeof res.statusCode).toBe('number');
    expect(rt.requests.some((r) => r.url === `${stack.appServerUrl}/api/health`)).toBe(true);
    expect(createTaroAdapter(Taro).name).toBe('taro');
    await expectNoUnhandled();
  });
});

describe('VODUpload through createTaroAdapter(real Taro) → local cloud', () => {
  function uploader(opts: Partial<VODUploadOptions>) {
    const progress = new Map<string, number[]>();
    const failures: string[] = [];
    let end!: () => void;
    const done = new Promise<void>((r) => (end = r));
    const up = new VODUpload({
      userId: 'taro-host',
      adapter,
      getUploadAuth: (info: VODUploadInfo) =>
        app.call<VODUploadAuthResult>(
          'POST',
          '/api/vod/upload-video',
          info.videoId ? { videoId: info.videoId } : { title: `taro ${info.file.name}`, fileName: info.file.name, fileSize: info.fileSize },
        ),
      onUploadProgress: (info, _t, p) => progress.set(info.file.name, [...(progress.get(info.file.name) || []), p]),
      onUploadFailed: (info, code, message) => failures.push(`${info.file.name} ${code} ${message}`),
      onUploadEnd: () => end(),
      ...opts,
    });
    return { up, progress, failures, done };
  }

  async function ossObject(bucket: string, key: string): Promise<Buffer> {
    const res = await fetch(`${stack.cloud!.oss}/_admin/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`);
    if (!res.ok) throw new Error(`object ${bucket}/${key}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  test('UploadAuth mode: a small file (PostObject via Taro.uploadFile) and a multipart file (Taro.request PUT parts) arrive byte-identical, progress ends at 1', async () => {
    const partSize = 100 * KB;
    const { up, progress, failures, done } = uploader({ partSize, parallel: 2 });
    const small = rt.files.writeTempSized('taro-small.mp4', 40 * KB, 11);
    const multi = rt.files.writeTempSized('taro-multi.mp4', 5 * partSize + 123, 12);
    expect(up.addFile({ url: small })).toBe(true);
    expect(up.addFile({ url: multi })).toBe(true);
    const before = rt.requests.length;
    expect(up.startUpload()).toBe(true);
    await done;
    expect(failures).toEqual([]);
    const infos = up.listFiles();
    expect(infos.map((i) => i.state)).toEqual(['Success', 'Success']);
    for (const [i, p] of [small, multi].entries()) {
      const stored = await ossObject(infos[i].bucket as string, infos[i].object as string);
      expect(stored.equals(readFileSync(rt.files.realPath(p)))).toBe(true);
      const list = progress.get(infos[i].file.name) || [];
      expect(list[list.length - 1]).toBe(1);
      const video = await app.call<Record<string, unknown>>('GET', `/api/vod/videos/${infos[i].videoId}`);
      expect(JSON.stringify(video)).toContain('UploadSucc');
    }
    const mine = rt.requests.slice(before);
    expect(mine.filter((r) => r.api === 'uploadFile')).toHaveLength(1);
    expect(mine.filter((r) => r.api === 'request' && r.method === 'PUT' && /[?&]partNumber=/.test(r.url))).toHaveLength(6);
    // the login went Taro.login → wx.login → the WeChat emulator → /api/login
    expect(rt.requests.some((r) => r.url.endsWith('/api/login'))).toBe(true);
    await expectNoUnhandled();
  });

  test('stop while a part is in flight aborts it through Taro (no unhandled rejection), start resumes to a byte-identical object', async () => {
    const partSize = 100 * KB;
    const { up, failures } = uploader({ partSize, parallel: 1 });
    const p = rt.files.writeTempSized('taro-stop.mp4', 4 * partSize, 13);
    // part 2 is held by the runtime (not connected yet) until it is aborted: the stop always finds it in flight
    rt.faults.add({ match: { method: 'PUT', url: /[?&]partNumber=2(&|$)/ }, action: { type: 'delay', ms: 10 * 60 * 1000 } });
    up.addFile({ url: p });
    const parts = () => rt.requests.filter((r) => r.api === 'request' && r.method === 'PUT' && /[?&]partNumber=/.test(r.url) && r.url.includes(`/${up.listFiles()[0].object}?`));
    expect(up.startUpload()).toBe(true);
    await until(() => parts().some((r) => /partNumber=2(&|$)/.test(r.url) && r.endedAt === undefined), 'part 2 in flight');
    up.stopUpload();
    expect(up.listFiles()[0].state).toBe('Stoped');
    await quiet();
    expect(parts().filter((r) => /partNumber=2(&|$)/.test(r.url)).map((r) => r.error)).toEqual(['request:fail abort']);
    await expectNoUnhandled();

    rt.faults.clear();
    expect(up.startUpload()).toBe(true);
    await until(() => up.listFiles()[0].state === 'Success' || failures.length > 0, 'the resumed upload to finish');
    expect(failures).toEqual([]);
    const info = up.listFiles()[0];
    const stored = await ossObject(info.bucket as string, info.object as string);
    expect(stored.equals(readFileSync(rt.files.realPath(p)))).toBe(true);
    await expectNoUnhandled();
  });
});

describe('failed and aborted calls through real Taro: typed errors, no unhandled rejection', () => {
  test('failed request (connection reset) → NETWORK_ERROR', async () => {
    rt.faults.add({ match: { api: 'request' }, action: { type: 'reset' } });
    const e = await adapter.request({ url: `${stack.appServerUrl}/api/health` }).catch((x) => x);
    expect(e).toBeInstanceOf(MediaKitError);
    expect(e.code).toBe('NETWORK_ERROR');
    await expectNoUnhandled();
  });

  test('failed request (timeout: the server never answers) → TIMEOUT', async () => {
    const srv = await holdServer();
    try {
      const e = await adapter.request({ url: `${srv.url}/slow`, timeout: 100 }).catch((x) => x);
      expect(e).toBeInstanceOf(MediaKitError);
      expect(e.code).toBe('TIMEOUT');
      await expectNoUnhandled();
    } finally {
      await srv.close();
    }
  });

  test('failed uploadFile (connection reset → NETWORK_ERROR; a missing file → a typed error)', async () => {
    rt.faults.add({ match: { api: 'uploadFile' }, action: { type: 'reset' } });
    const file = rt.files.writeTemp('taro-fail.bin', 'abc');
    const e1 = await adapter.uploadFile({ url: `${stack.appServerUrl}/nowhere`, filePath: file, name: 'file' }).catch((x) => x);
    expect(e1).toBeInstanceOf(MediaKitError);
    expect(e1.code).toBe('NETWORK_ERROR');
    const e2 = await adapter.uploadFile({ url: `${stack.appServerUrl}/nowhere`, filePath: 'http://tmp/missing.bin', name: 'file' }).catch((x) => x);
    expect(e2).toBeInstanceOf(MediaKitError);
    await expectNoUnhandled();
  });

  test('aborted request (held by the server until after the abort) → ABORTED; the host task is aborted', async () => {
    const srv = await holdServer();
    try {
      const c = new AbortControllerLike();
      const pending = adapter.request({ url: `${srv.url}/held`, signal: c.signal }).catch((x) => x);
      await until(() => srv.seen.length === 1, 'the server to receive the request');
      c.abort();
      const e = await pending;
      expect(e.code).toBe('ABORTED');
      await quiet();
      expect(rt.requests.filter((r) => r.url === `${srv.url}/held`).map((r) => r.error)).toEqual(['request:fail abort']);
      await expectNoUnhandled();
    } finally {
      await srv.close();
    }
  });

  test('aborted uploadFile (held) → ABORTED', async () => {
    const srv = await holdServer();
    try {
      const c = new AbortControllerLike();
      const file = rt.files.writeTempSized('taro-abort.bin', 64 * KB, 3);
      const pending = adapter.uploadFile({ url: `${srv.url}/upload`, filePath: file, name: 'file', signal: c.signal }).catch((x) => x);
      await until(() => srv.seen.length === 1, 'the server to receive the upload');
      c.abort();
      expect((await pending).code).toBe('ABORTED');
      await expectNoUnhandled();
    } finally {
      await srv.close();
    }
  });

  test('aborted request when an interceptor drops the task (chain.proceed(p).then(...)) → ABORTED at once; the late answer is dropped', async () => {
    const srv = await holdServer();
    try {
      const passed: unknown[] = [];
      Taro.addInterceptor((chain: any) => chain.proceed(chain.requestParams).then((res: unknown) => (passed.push(res), res)));
      const c = new AbortControllerLike();
      let settled = 0;
      const pending = adapter
        .request({ url: `${srv.url}/intercepted`, signal: c.signal })
        .then((r) => (settled++, r), (x) => (settled++, x));
      await until(() => srv.seen.length === 1, 'the server to receive the request');
      c.abort();
      const e = await pending;
      expect(e).toBeInstanceOf(MediaKitError);
      expect(e.code).toBe('ABORTED');
      // the host request could not be aborted (the interceptor dropped abort): it completes later, and is ignored
      srv.release(200, '{"late":true}');
      await quiet();
      await until(() => passed.length === 1, 'the late answer to pass the interceptor');
      await settle();
      expect(settled).toBe(1);
      await expectNoUnhandled();
    } finally {
      await srv.close();
    }
  });

  test('an interceptor that rejects before any request → NETWORK_ERROR carrying its message; one that adds a header is applied to SDK requests', async () => {
    Taro.addInterceptor(() => Promise.reject(new Error('no session token')));
    const e = await adapter.request({ url: `${stack.appServerUrl}/api/health` }).catch((x) => x);
    expect(e).toBeInstanceOf(MediaKitError);
    expect(e.code).toBe('NETWORK_ERROR');
    expect(e.message).toContain('no session token');
    await expectNoUnhandled();

    Taro.cleanInterceptors();
    const srv = await holdServer();
    try {
      Taro.addInterceptor((chain: any) => chain.proceed({ ...chain.requestParams, header: { ...chain.requestParams.header, 'x-app-trace': 't-1' } }));
      const pending = adapter.request<{ ok: boolean }>({ url: `${srv.url}/traced` });
      await until(() => srv.seen.length === 1, 'the server to receive the request');
      expect(srv.seen[0].headers['x-app-trace']).toBe('t-1');
      srv.release();
      expect((await pending).data).toEqual({ ok: true });
      await expectNoUnhandled();
    } finally {
      await srv.close();
    }
  });

  test('control: the wx adapter used on Taro directly (what createTaroAdapter did before) leaves an unhandled rejection per failed call', async () => {
    const bare = createWxAdapter(Taro);
    rt.faults.add({ match: { api: 'request' }, action: { type: 'reset' } });
    const e = await bare.request({ url: `${stack.appServerUrl}/api/health` }).catch((x) => x);
    expect(e.code).toBe('NETWORK_ERROR');
    await quiet();
    await settle();
    expect(unhandled).toHaveLength(1);
    expect((unhandled[0] as { errMsg?: string }).errMsg).toMatch(/^request:fail/);
    unhandled.length = 0;
  });
});

describe('Polyv and IoT through createTaroAdapter(real Taro)', () => {
  test('Polyv: samples → PolyvPlayer.load → tokenised m3u8 that the local Polyv cloud serves (#EXTM3U)', async () => {
    const { samples } = await app.call<{ samples: Array<{ videoId: string; playable: boolean }> }>('GET', '/api/polyv/samples');
    const vid = samples.find((s) => s.playable)!.videoId;
    const player = new PolyvPlayer({ appClient: app, adapter });
    try {
      const source = await player.load(vid);
      expect(source.src).toMatch(/\.m3u8\?token=[^&]+&iswxa=1&pid=\d{13}X\d{7}$/);
      expect(player.timeLeftMs()).toBeGreaterThan(0);
      const m3u8 = await adapter.request<string>({ url: source.src, dataType: 'text' });
      expect(m3u8.statusCode).toBe(200);
      expect(String(m3u8.data)).toContain('#EXTM3U');
      const bad = await player.load('not-a-vid').catch((x) => x);
      expect(bad).toBeInstanceOf(MediaKitError);
    } finally {
      player.destroy();
    }
    await expectNoUnhandled();
  });

  test('IoT: IVVAS.getDeviceList and getServiceDetailInfo over the AppServer → local IoT cloud', async () => {
    const vas = new IVVAS({ appClient: app });
    const list = await vas.getDeviceList();
    expect(list.data!.list.length).toBeGreaterThan(0);
    const deviceId = list.data!.list[0].deviceId;
    expect(deviceId).toMatch(/\S/);
    const detail = await vas.getServiceDetailInfo(deviceId);
    expect(detail.data).toBeTruthy();
    await expectNoUnhandled();
  });
});
