/**
 * The 上传 (upload) page in miniprogram-simulate against a live dev stack, through the Node wx runtime installed as
 * `wx`: choose a video (wx.chooseMedia) → queue → VideoId; STS mode switch with an image → ImageURL; stop / resume /
 * cancel / delete from the item buttons (the parts are held at a gate the test controls, so "still uploading" is a
 * fact, not a race); userId from GET /api/vod/config. Plus the view-model's progress throttle with a fake clock.
 */
import { readFileSync } from 'node:fs';
import { createInjectedAdapter, AppClient, PlatformAdapter } from 'mp-media-sdk';
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';
import { createGate } from '../harness/wx-runtime';
import { UploadViewModel, formatBytes, formatEta } from '../../miniprogram/viewmodels/upload';

let env: PageEnv;
let page: RenderedPage | undefined;

// a distinctive account id, so the test tells "from the AppServer" from any default
const ACCOUNT_ID = '1888000000004242';

beforeAll(async () => {
  env = await startPageEnv({ stackEnv: { ALIYUN_USER_ID: ACCOUNT_ID } });
});
afterAll(() => env.close());
afterEach(() => {
  env.runtime.faults.clear();
  env.runtime.media.clear();
  if (page) page.unload();
  page = undefined;
});

/** An attribute as rendered (miniprogram-simulate keeps <image src> on the node, not in the DOM attribute). */
const attr = (p: RenderedPage, selector: string, name: string): unknown => {
  const el = p.query(selector);
  if (!el) return undefined;
  const a = (el.toJSON().attrs as Array<{ name: string; value: unknown }>).find((x) => x.name === name);
  return a && a.value;
};

type Node = string | { children: Node[] };
const flat = (n: Node): string => (typeof n === 'string' ? n : n.children.map(flat).join(''));
/** The text shown, library components (virtual hosts, no DOM node of their own) included. */
const text = (p: RenderedPage, selector: string) => {
  const el = p.query(selector);
  if (!el) return '';
  return (el.dom ? String(el.dom.textContent) : flat(JSON.parse(JSON.stringify(el.toJSON())))).trim();
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
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success');
    const item = p.data().items[0];
    expect(item).toMatchObject({ fileName: 'page-video.mp4', kind: 'video', state: 'Success', stateText: '已完成', tagTheme: 'success', percent: 100, error: '' });
    // the row is named by its VOD title, the temp file name and the VideoId are in 调试 only
    expect(item.name).toMatch(/^视频 \d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(text(p, '.item-0 .name')).toBe(item.name);
    expect(item.result).toMatch(/^[0-9a-f]{32}$/);
    expect(text(p, '.item-0')).not.toContain(item.result);
    expect(text(p, '.item-0')).not.toContain('page-video');
    expect(text(p, '.debug-item-0 .result')).toContain(item.result);
    await p.until(() => p.data().running === false && p.data().message === '队列已完成');
    const video = await env.appClient.call<Record<string, unknown>>('GET', `/api/vod/videos/${item.result}`);
    expect(JSON.stringify(video)).toContain('UploadSucc');
    const record = await adminJson<{ bucket: string; key: string; Title: string; FileName: string }>(`${env.stack.cloud.vod}/_admin/videos/${item.result}`);
    // a meaningful title, never the temp file's name; FileName keeps the extension
    expect(record.Title).toBe(item.name);
    for (const bad of ['tmp', 'wxfile', 'http', 'page-video']) expect(record.Title).not.toContain(bad);
    expect(record.FileName).toMatch(/\.mp4$/);
    const stored = await ossObject(record.bucket, record.key);
    expect(stored.equals(readFileSync(env.runtime.files.realPath(path)))).toBe(true);
  });

  test('STS mode switch (in 调试): an image uploads through CreateUploadImage, the image is its own thumbnail, the ImageURL is in 调试', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    await p.tap('.mode-switch');
    expect(p.data().mode).toBe('sts');
    const path = env.runtime.files.writeTemp('page-pic.png', Buffer.alloc(4000, 7));
    env.runtime.media.enqueue([{ tempFilePath: path, fileType: 'image' }]);
    await p.tap('.choose-image');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success');
    expect(p.data().items[0]).toMatchObject({ kind: 'image', percent: 100, thumb: path });
    expect(attr(p, '.item-0 .thumb-img', 'src')).toBe(path);
    expect(p.data().items[0].result).toMatch(/^https?:\/\/.+\.png/);
    expect(text(p, '.debug-item-0 .result')).toBe(p.data().items[0].result);
    expect(env.runtime.requests.some((r) => /Action=CreateUploadImage/.test(r.url))).toBe(true);
  });

  test('VODUpload takes userId (and region) from GET /api/vod/config, nothing hard-coded', async () => {
    page = await renderPage('pages/upload/index');
    const config = await env.appClient.call<{ userId: string; region: string }>('GET', '/api/vod/config');
    expect(config.userId).toBe(ACCOUNT_ID);
    const vm = page.vm<UploadViewModel>();
    expect(vm.loaded).toBe(true); // onLoad awaited load()
    expect(vm.uploader.options.userId).toBe(ACCOUNT_ID);
    expect(vm.uploader.options.region).toBe(config.region);
    expect(readFileSync(require.resolve('../../miniprogram/viewmodels/upload.ts'), 'utf8')).not.toMatch(/userId:\s*['"]/);
  });

  test('bad input: an AppServer without an account id (empty userId) → a clear message and no picker; the next choose retries the config', async () => {
    const badConfig = { region: 'cn-shanghai', userId: '', localCloud: false, sts: false };
    const rule = env.runtime.faults.add({
      match: { url: /\/api\/vod\/config/ },
      times: 2, // onLoad's load() and the first choose's retry
      action: { type: 'status', status: 200, body: JSON.stringify(badConfig), headers: { 'Content-Type': 'application/json' } },
    });
    const firstRequest = env.runtime.requests.length;
    page = await renderPage('pages/upload/index');
    const p = page;
    expect(p.data().message).toMatch(/上传配置无效.*userId/);
    const video = env.runtime.files.writeTemp('retry.mp4', Buffer.alloc(2000, 3));
    env.runtime.media.enqueue([{ tempFilePath: video, fileType: 'video' }]);
    const pending = env.runtime.media.pending;
    await p.tap('.choose-video');
    expect(p.data().message).toBe('正在读取上传配置…'); // set synchronously by the tap: the old text cannot be mistaken for the new one
    await p.until(() => /上传配置无效/.test(p.data().message));
    expect(env.runtime.requests.slice(firstRequest).filter((r) => /\/api\/vod\/config/.test(r.url))).toHaveLength(2);
    expect(env.runtime.media.pending).toBe(pending); // the picker was not opened
    expect(p.data().items).toHaveLength(0);
    rule();
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success');
    expect(env.runtime.media.pending).toBe(pending - 1);
    expect(p.vm<UploadViewModel>().uploader.options.userId).toBe(ACCOUNT_ID);
  });

  test('暂停 / 继续 / 取消上传 (asks first; declining keeps it) / 移除 from the item buttons', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    // every part upload waits at a gate the test opens: the queue cannot finish while the buttons are pressed
    const parts = createGate('parts');
    env.runtime.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'hold', gate: parts } });
    const a = env.runtime.files.writeTempSized('page-a.mp4', 6 * 1024 * 1024, 31);
    const b = env.runtime.files.writeTempSized('page-b.mp4', 3 * 1024 * 1024, 32);
    env.runtime.media.enqueue([
      { tempFilePath: a, fileType: 'video', duration: 5 },
      { tempFilePath: b, fileType: 'video', duration: 3 },
    ]);
    await p.tap('.choose-video');
    await parts.waiting(1);
    parts.release(1); // exactly one part of page-a goes through
    await p.until(() => p.data().items.length === 2 && p.data().items[0].state === 'Uploading' && p.data().items[0].percent > 0);
    expect(parts.passedCount).toBe(1);
    expect(p.data().items[1].state).toBe('Ready');
    expect(p.query('.item-0 .stop')).toBeTruthy();
    await p.tap('.item-0 .stop');
    expect(p.data().items[0]).toMatchObject({ state: 'Stoped', stateText: '已暂停', canResume: true, canStop: false });
    const stoppedAt = p.data().items[0].percent;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(100);
    expect(p.query('.item-1 .delete')).toBeFalsy(); // a queued file is canceled, not removed
    env.ui.modalAnswer = 'cancel';
    const modals = env.ui.modals.length;
    await p.tap('.item-1 .cancel');
    expect(env.ui.modals.slice(modals)).toEqual([{ title: '取消上传？', content: expect.stringContaining(p.data().items[1].name) }]);
    expect(p.data().items[1].state).toBe('Ready');
    env.ui.modalAnswer = 'confirm';
    await p.tap('.item-1 .cancel');
    await p.until(() => p.data().items[1].state === 'Canceled');
    expect(p.data().items[1]).toMatchObject({ stateText: '已取消', canRemove: true, canResume: true, resumeText: '重新上传' });
    env.ui.modalAnswer = 'confirm';
    parts.open();
    await p.tap('.item-0 .resume');
    await p.until(() => p.data().items[0].state === 'Success');
    expect(p.data().items[0].percent).toBe(100);
    expect(p.data().items[1].state).toBe('Canceled');
    await p.tap('.item-1 .delete');
    expect(p.data().items).toHaveLength(1);
    expect(p.data().items[0].fileName).toBe('page-a.mp4');
    await p.tap('.item-0 .delete');
    expect(p.data().items).toHaveLength(0);
    expect(p.query('.empty')).toBeTruthy();
  });

  test('a typed title names the VOD video and the row (numbered for several files); a picked video\'s thumbTempFilePath is its thumbnail', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    await p.input('.title-input', '周末骑行');
    const a = env.runtime.files.writeTempSized('ride-a.mp4', 300 * 1024, 51);
    const b = env.runtime.files.writeTempSized('ride-b.mp4', 200 * 1024, 52);
    const thumb = env.runtime.files.writeTemp('ride-a.jpg', Buffer.alloc(900, 9));
    env.runtime.media.enqueue([
      { tempFilePath: a, fileType: 'video', duration: 2, thumbTempFilePath: thumb },
      { tempFilePath: b, fileType: 'video', duration: 2 },
    ]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 2 && p.data().items.every((i: { state: string }) => i.state === 'Success'));
    expect(p.data().items.map((i: { name: string }) => i.name)).toEqual(['周末骑行 1', '周末骑行 2']);
    expect(p.data().titleInput).toBe(''); // used once
    expect(attr(p, '.item-0 .thumb-img', 'src')).toBe(thumb);
    expect(p.query('.item-1 .thumb-img')).toBeFalsy();
    expect(p.query('.item-1 .thumb-ph-video')).toBeTruthy();
    const vid = p.data().items[0].result;
    const record = await adminJson<{ Title: string }>(`${env.stack.cloud.vod}/_admin/videos/${vid}`);
    expect(record.Title).toBe('周末骑行 1');
  });

  test('empty state: a TDesign empty state whose action opens the picker; no icon-font glyphs on the page', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    expect(text(p, '.empty')).toContain('还没有上传任务');
    expect(JSON.stringify(p.comp.toJSON())).not.toMatch(/t-icon-base/);
    const v = env.runtime.files.writeTempSized('from-empty.mp4', 100 * 1024, 53);
    env.runtime.media.enqueue([{ tempFilePath: v, fileType: 'video' }]);
    await p.tap('.empty-choose');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success');
    expect(p.query('.empty')).toBeFalsy();
    expect(JSON.stringify(p.comp.toJSON())).not.toMatch(/t-icon-base/);
  });

  test('a failed upload (OSS answers AccessDenied) says what happened in Chinese (重试 / 移除); the SDK\'s code is in 调试', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    const denied = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>You have no right to access this object.</Message></Error>';
    env.runtime.faults.add({ match: { method: 'PUT' }, times: Infinity, action: { type: 'status', status: 403, body: denied, headers: { 'Content-Type': 'application/xml' } } });
    const v = env.runtime.files.writeTempSized('fails.mp4', 3 * 1024 * 1024 + 1, 54);
    env.runtime.media.enqueue([{ tempFilePath: v, fileType: 'video' }]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Failure', 20000);
    const item = p.data().items[0];
    expect(item).toMatchObject({ error: '没有上传权限，请联系应用管理员', tagTheme: 'danger', resumeText: '重试', canRemove: true, canCancel: false });
    expect(text(p, '.item-0 .item-error')).toBe(item.error);
    expect(item.errorDetail).toMatch(/^AccessDenied: /);
    expect(text(p, '.item-0')).not.toContain(item.errorDetail);
    expect(text(p, '.debug-item-0 .error-detail')).toBe(item.errorDetail);
    expect(text(p, '.item-0 .resume')).toBe('重试');
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
    const appClient = { call: async () => ({ userId: '1234567890', region: 'cn-shanghai' }) } as unknown as AppClient;
    const vm = new UploadViewModel({ appClient, adapter, onChange: (p) => patches.push(p) });
    expect(await vm.load()).toBe(true);
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
    for (const p of progressPatches) expect(Object.keys(p).sort()).toEqual(['items[0].eta', 'items[0].metaText', 'items[0].percent', 'items[0].speed']);
    expect(progressPatches[progressPatches.length - 1]['items[0].percent']).toBe(Math.floor((100 / 101) * 100));
    expect(JSON.stringify(progressPatches[0]).length).toBeLessThan(180);
    expect(progressPatches[0]['items[0].metaText']).toMatch(/^\d+% · 10\.0 MB · 5\.0 MB\/s · 剩余 \d+秒$/);
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
