/**
 * The 上传 (upload) page in miniprogram-simulate against a live dev stack, through the Node wx runtime installed as
 * `wx`: choose a video (wx.chooseMedia) → queue → VideoId; STS mode switch with an image → ImageURL; stop / resume /
 * cancel / delete from the item buttons. Plus the view-model's progress throttle with a fake clock.
 */
import { readFileSync } from 'node:fs';
import { createInjectedAdapter, AppClient, PlatformAdapter } from 'mp-media-sdk';
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';
import { UploadViewModel, formatBytes, formatEta } from '../../miniprogram/viewmodels/upload';

let env: PageEnv;
let page: RenderedPage | undefined;

beforeAll(async () => {
  env = await startPageEnv();
});
afterAll(() => env.close());
afterEach(() => {
  env.runtime.faults.clear();
  if (page) page.unload();
  page = undefined;
});

const text = (p: RenderedPage, selector: string) => {
  const el = p.query(selector);
  return el ? String(el.dom.textContent).trim() : '';
};

function adminJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) =>
    env.runtime.wx.request({
      url,
      success: (r: { statusCode: number; data: unknown }) => (r.statusCode === 200 ? resolve(r.data as T) : reject(new Error(`HTTP ${r.statusCode}`))),
      fail: reject,
    }),
  );
}

function ossObject(bucket: string, key: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    env.runtime.wx.request({
      url: `${env.stack.cloud.oss}/_admin/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`,
      responseType: 'arraybuffer',
      success: (r: { statusCode: number; data: ArrayBuffer }) => (r.statusCode === 200 ? resolve(Buffer.from(r.data)) : reject(new Error(`HTTP ${r.statusCode}`))),
      fail: reject,
    }),
  );
}

describe('upload page', () => {
  test('choose a video → it uploads in UploadAuth mode: state, 100 %, the VideoId shown; the object equals the file', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    expect(p.data().mode).toBe('auth');
    expect(p.query('.empty')).toBeTruthy();
    const path = env.runtime.files.writeTempSized('page-video.mp4', 1536 * 1024 + 7, 21);
    env.runtime.media.enqueue([{ tempFilePath: path, fileType: 'video', duration: 4.2 }]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success', 30000);
    const item = p.data().items[0];
    expect(item).toMatchObject({ name: 'page-video.mp4', kind: 'video', state: 'Success', stateText: '已完成', percent: 100, error: '' });
    expect(item.result).toMatch(/^[0-9a-f]{32}$/);
    expect(text(p, '.item-0 .result')).toContain(item.result);
    await p.until(() => p.data().running === false && p.data().message === '队列已完成');
    const video = await env.appClient.call<Record<string, unknown>>('GET', `/api/vod/videos/${item.result}`);
    expect(JSON.stringify(video)).toContain('UploadSucc');
    const record = await adminJson<{ bucket: string; key: string; Title: string; FileName: string }>(`${env.stack.cloud.vod}/_admin/videos/${item.result}`);
    // a meaningful title, never the temp file's name; FileName keeps the extension
    expect(record.Title).toMatch(/^视频 \d{4}-\d\d-\d\d \d\d:\d\d$/);
    for (const bad of ['tmp', 'wxfile', 'http', 'page-video']) expect(record.Title).not.toContain(bad);
    expect(record.FileName).toMatch(/\.mp4$/);
    const stored = await ossObject(record.bucket, record.key);
    expect(stored.equals(readFileSync(env.runtime.files.realPath(path)))).toBe(true);
  });

  test('STS mode switch: an image uploads through CreateUploadImage and shows its ImageURL', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    await p.dispatch('.mode-switch', 'change', { value: true });
    expect(p.data().mode).toBe('sts');
    const path = env.runtime.files.writeTemp('page-pic.png', Buffer.alloc(4000, 7));
    env.runtime.media.enqueue([{ tempFilePath: path, fileType: 'image' }]);
    await p.tap('.choose-image');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success', 30000);
    expect(p.data().items[0]).toMatchObject({ kind: 'image', percent: 100 });
    expect(p.data().items[0].result).toMatch(/^https?:\/\/.+\.png/);
    expect(env.runtime.requests.some((r) => /Action=CreateUploadImage/.test(r.url))).toBe(true);
  });

  test('stop / resume / cancel / delete from the item buttons', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    // slow parts so there is time to press the buttons
    env.runtime.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'delay', ms: 120 } });
    const a = env.runtime.files.writeTempSized('page-a.mp4', 6 * 1024 * 1024, 31);
    const b = env.runtime.files.writeTempSized('page-b.mp4', 3 * 1024 * 1024, 32);
    env.runtime.media.enqueue([
      { tempFilePath: a, fileType: 'video', duration: 5 },
      { tempFilePath: b, fileType: 'video', duration: 3 },
    ]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 2 && p.data().items[0].state === 'Uploading' && p.data().items[0].percent > 0, 30000);
    expect(p.query('.item-0 .stop')).toBeTruthy();
    await p.tap('.item-0 .stop');
    expect(p.data().items[0]).toMatchObject({ state: 'Stoped', stateText: '已暂停', canResume: true, canStop: false });
    const stoppedAt = p.data().items[0].percent;
    await p.tap('.item-1 .cancel');
    expect(p.data().items[1].state).toBe('Canceled');
    await p.tap('.item-0 .resume');
    await p.until(() => p.data().items[0].state === 'Success', 30000);
    expect(p.data().items[0].percent).toBe(100);
    expect(stoppedAt).toBeLessThan(100);
    expect(p.data().items[1].state).toBe('Canceled');
    await p.tap('.item-1 .delete');
    expect(p.data().items).toHaveLength(1);
    expect(p.data().items[0].name).toBe('page-a.mp4');
    await p.tap('.item-0 .delete');
    expect(p.data().items).toHaveLength(0);
    expect(p.query('.empty')).toBeTruthy();
  });
});

describe('upload view-model', () => {
  test('progress patches are path-based and throttled to at most 4 per second per file (fake clock), with a trailing update', async () => {
    let now = 1_000_000;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const adapter: PlatformAdapter = createInjectedAdapter({
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t;
      },
      clearTimeout: (h) => {
        const i = timers.indexOf(h as (typeof timers)[number]);
        if (i >= 0) timers.splice(i, 1);
      },
      fs: {
        userDataPath: 'wxfile://usr',
        stat: async () => ({ size: 10 * 1024 * 1024, lastModifiedTime: 1, isFile: true }),
      } as unknown as PlatformAdapter['fs'],
      storage: { get: () => undefined, set: () => undefined, remove: () => undefined, keys: () => [] },
      request: async () => {
        throw new Error('no network in this test');
      },
      warn: () => undefined,
    });
    const advance = (ms: number) => {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    };
    const patches: Array<Record<string, unknown>> = [];
    const vm = new UploadViewModel({ appClient: {} as AppClient, adapter, onChange: (p) => patches.push(p) });
    vm.uploader.startUpload = () => true; // the queue itself is not under test here
    vm.addFiles([{ tempFilePath: 'http://tmp/x.mp4', fileType: 'video', duration: 2 }]);
    const info = vm.uploader.listFiles()[0];
    info.state = 'Uploading';
    info.fileSize = 10 * 1024 * 1024;
    const progressCb = vm.uploader.options.onUploadProgress as (i: typeof info, t: number, p: number) => void;
    patches.length = 0;
    // 100 progress events over 2 seconds (every 20 ms)
    for (let k = 1; k <= 100; k++) {
      info.loaded = k / 101;
      info.speed = 5 * 1024 * 1024;
      info.eta = (100 - k) * 0.02;
      progressCb(info, info.fileSize, info.loaded);
      advance(20);
    }
    advance(1000);
    const progressPatches = patches.filter((p) => Object.keys(p).some((k) => k.startsWith('items[0].percent')));
    expect(progressPatches.length).toBeGreaterThanOrEqual(8);
    expect(progressPatches.length).toBeLessThanOrEqual(4 * 2 + 1); // ≤ 4/s over 2 s, plus the trailing one
    for (const p of progressPatches) expect(Object.keys(p).sort()).toEqual(['items[0].eta', 'items[0].percent', 'items[0].speed']);
    expect(progressPatches[progressPatches.length - 1]['items[0].percent']).toBe(Math.floor((100 / 101) * 100));
    expect(JSON.stringify(progressPatches[0]).length).toBeLessThan(120);
    vm.destroy();
  });

  test('formatting helpers', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MB');
    expect(formatEta(5.2)).toBe('6秒');
    expect(formatEta(125)).toBe('2分5秒');
    expect(formatEta(undefined)).toBe('');
  });
});
