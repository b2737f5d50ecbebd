/**
 * The states `npm run screenshots` pictures: every page of miniprogram/app.json rendered by miniprogram-simulate
 * against a live dev stack (test/pages/helpers.ts: stack in a child process, the Node wx runtime as `wx`), driven
 * through taps and the page's handlers as the page tests do. Each state is written as JSON (the rendered tree from
 * `comp.toJSON()`, the run-time navigation title, and the images the page shows, fetched while the stack is up) to
 * $SCREENSHOTS_OUT; scripts/screenshots.ts turns them into HTML and PNGs.
 *
 * Not part of `npm test`: it runs only through test/screenshots/jest.config.js. States that depend on a request
 * in flight hold that request with a runtime fault (a 10-minute delay, aborted when the page unloads), so what is
 * pictured is a stable state, not a race.
 */
import fs from 'node:fs';
import path from 'node:path';
import { renderPage, startPageEnv, PageEnv, RenderedPage, MINIPROGRAM_ROOT } from '../pages/helpers';
import type { CapturedState, WxNode } from './wxml-html';

const OUT = process.env.SCREENSHOTS_OUT || '';
const HOLD = { type: 'delay' as const, ms: 10 * 60 * 1000 };

let env: PageEnv;
let seq = 0;
let navTitle: string | undefined;
let devices: Array<{ deviceId: string; name: string }> = [];
const open: RenderedPage[] = [];
const covered = new Set<string>();

beforeAll(async () => {
  if (!OUT) throw new Error('SCREENSHOTS_OUT is not set: run `npm run screenshots`');
  env = await startPageEnv({ openid: 'oScreenshots00001' });
  recordTitles();
  const r = await env.appClient.call<{ data: { list: Array<{ deviceId: string; name: string }> } }>('POST', '/api/iot/devices/list', {});
  devices = r.data.list;
});

/** Record run-time titles (the events page sets "<device> · 事件列表"); again after env.relaunch() installs a new wx. */
function recordTitles(): void {
  const g = globalThis as unknown as { wx: Record<string, unknown> };
  const inner = g.wx;
  g.wx = new Proxy(inner, {
    get(target, key: string) {
      if (key === 'setNavigationBarTitle') {
        return (o: { title: string; success?: (r: unknown) => void; complete?: (r: unknown) => void }) => {
          navTitle = o.title;
          const r = { errMsg: 'setNavigationBarTitle:ok' };
          if (o.success) o.success(r);
          if (o.complete) o.complete(r);
        };
      }
      return target[key];
    },
  });
}

afterEach(() => {
  env.runtime.faults.clear();
  while (open.length) open.pop()!.unload();
});

afterAll(() => env && env.close());

async function show(pagePath: string, query: Record<string, string> = {}): Promise<RenderedPage> {
  navTitle = undefined;
  const p = await renderPage(pagePath, query);
  open.push(p);
  return p;
}

function collectImageUrls(node: WxNode | string, out: Set<string>): void {
  if (typeof node === 'string') return;
  const tag = node.tagName.replace(/^wx-/, '');
  for (const a of node.attrs) {
    const v = typeof a.value === 'string' ? a.value : '';
    if (!/^(https?:\/\/|wxfile:\/\/)/.test(v)) continue;
    if (((tag === 'image' || tag === 'cover-image') && a.name === 'src') || (tag === 'video' && a.name === 'poster')) out.add(v);
  }
  node.children.forEach((c) => collectImageUrls(c, out));
}

/** A file of the app's sandbox (http://tmp/…, http://usr/… in DevTools; wxfile://… on a phone), if it is one. */
function sandboxDataUri(url: string): string | undefined {
  let file: string;
  try {
    file = env.runtime.files.realPath(url);
  } catch {
    return undefined;
  }
  if (!fs.existsSync(file)) return undefined;
  const ext = path.extname(url).toLowerCase();
  const type = ext === '.png' ? 'image/png' : ext === '.webp' ? 'image/webp' : 'image/jpeg';
  return `data:${type};base64,${fs.readFileSync(file).toString('base64')}`;
}

function fetchDataUri(url: string): Promise<string | undefined> {
  if (/^(http:\/\/(tmp|usr)\/|wxfile:\/\/)/.test(url)) return Promise.resolve(sandboxDataUri(url));
  return new Promise((resolve) =>
    env.runtime.wx.request({
      url,
      responseType: 'arraybuffer',
      success: (r: { statusCode: number; data: ArrayBuffer; header: Record<string, string> }) => {
        if (r.statusCode !== 200) return resolve(undefined);
        const type = Object.entries(r.header || {}).find(([k]) => k.toLowerCase() === 'content-type');
        resolve(`data:${type ? type[1].split(';')[0] : 'image/jpeg'};base64,${Buffer.from(r.data).toString('base64')}`);
      },
      fail: () => resolve(undefined),
    }),
  );
}

/** Writes one state. The tree is JSON-cloned: toJSON() objects carry a getter jest's serializer would trip on. */
async function shot(name: string, pagePath: string, p: RenderedPage, caption: string): Promise<void> {
  covered.add(pagePath);
  const tree = JSON.parse(JSON.stringify(p.comp.toJSON())) as WxNode;
  const urls = new Set<string>();
  collectImageUrls(tree, urls);
  const images: Record<string, string> = {};
  for (const u of urls) {
    const d = await fetchDataUri(u);
    if (d) images[u] = d;
  }
  const state: CapturedState = { seq: ++seq, name, pagePath, caption, title: navTitle, tree, images };
  fs.writeFileSync(path.join(OUT, `${name}.json`), JSON.stringify(state));
}

const held = (re: RegExp) => env.runtime.requests.filter((r) => r.fault === `delay:${HOLD.ms}` && re.test(r.url)).length;

/** A real picture for what the user picks: the sample clip's cover (a video's thumbTempFilePath, or an image). */
const COVER = fs.readFileSync(path.join(__dirname, '../../server/cloud/media/clip-6s/cover.jpg'));

describe('上传 upload', () => {
  const PAGE = 'pages/upload/index';

  test('empty', async () => {
    const p = await show(PAGE);
    expect(p.query('.empty')).toBeTruthy();
    await shot('upload-empty', PAGE, p, '上传：空队列（空状态带操作按钮）');
  });

  test('in progress: parts 1–3 of a 10 MB video done, the rest held; a second file waits', async () => {
    const p = await show(PAGE);
    // Parts are 1 MB, 5 in flight: let 3 finish, hold 4–10, so the item rests at 30 % with its speed and ETA.
    env.runtime.faults.add({ match: { method: 'PUT', url: /partNumber=([4-9]|10)(&|$)/ }, times: Infinity, action: HOLD });
    const a = env.runtime.files.writeTempSized('tmp_8f7e2a.mp4', 10 * 1024 * 1024, 41);
    const thumb = env.runtime.files.writeTemp('tmp_8f7e2a_thumb.jpg', COVER);
    const b = env.runtime.files.writeTempSized('tmp_3c9d01.mp4', 3 * 1024 * 1024 + 5, 42);
    await p.input('.title-input', '城市夜景航拍');
    env.runtime.media.enqueue([{ tempFilePath: a, fileType: 'video', duration: 12, thumbTempFilePath: thumb }]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 1);
    await p.input('.title-input', '家庭聚会');
    env.runtime.media.enqueue([{ tempFilePath: b, fileType: 'video', duration: 5 }]);
    await p.tap('.choose-video');
    await p.until(() => held(/partNumber=/) >= 2 && p.data().items.length === 2 && p.data().items[0].percent >= 30 && p.data().items[0].speed !== '', 30000);
    await shot('upload-progress', PAGE, p, '上传：进行中（标题、缩略图、30 %、速度与剩余时间），第二个文件排队（无缩略图时的占位）');
  });

  test('paused: the held upload stopped from its button', async () => {
    const p = await show(PAGE);
    env.runtime.faults.add({ match: { method: 'PUT', url: /partNumber=([3-9]|10)(&|$)/ }, times: Infinity, action: HOLD });
    const a = env.runtime.files.writeTempSized('tmp_a41b77.mp4', 8 * 1024 * 1024, 43);
    const thumb = env.runtime.files.writeTemp('tmp_a41b77_thumb.jpg', COVER);
    await p.input('.title-input', '周会录像');
    env.runtime.media.enqueue([{ tempFilePath: a, fileType: 'video', duration: 30, thumbTempFilePath: thumb }]);
    await p.tap('.choose-video');
    await p.until(() => held(/partNumber=/) >= 1 && p.data().items.length === 1 && p.data().items[0].percent >= 25, 30000);
    await p.tap('.item-0 .stop');
    await p.until(() => p.data().items[0].state === 'Stoped');
    await shot('upload-paused', PAGE, p, '上传：已暂停，可继续或取消上传');
  });

  test('done: a video and an image uploaded', async () => {
    const p = await show(PAGE);
    const v = env.runtime.files.writeTempSized('tmp_5be0c3.mp4', 2 * 1024 * 1024 + 3, 44);
    const thumb = env.runtime.files.writeTemp('tmp_5be0c3_thumb.jpg', COVER);
    await p.input('.title-input', '宝宝第一次走路');
    env.runtime.media.enqueue([{ tempFilePath: v, fileType: 'video', duration: 8, thumbTempFilePath: thumb }]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Success', 30000);
    const img = env.runtime.files.writeTemp('tmp_91d2aa.jpg', COVER);
    env.runtime.media.enqueue([{ tempFilePath: img, fileType: 'image' }]);
    await p.tap('.choose-image');
    await p.until(() => p.data().items.length === 2 && p.data().items[1].state === 'Success' && p.data().running === false, 30000);
    await shot('upload-done', PAGE, p, '上传：完成（视频与图片，已保存到点播；VideoId / ImageURL 在调试里）');
  });

  test('error: the network drops every part upload (retries spent)', async () => {
    const p = await show(PAGE);
    env.runtime.faults.add({ match: { method: 'PUT' }, times: Infinity, action: { type: 'reset' } });
    const v = env.runtime.files.writeTempSized('tmp_e07f45.mp4', 3 * 1024 * 1024 + 9, 45);
    env.runtime.media.enqueue([{ tempFilePath: v, fileType: 'video', duration: 8 }]);
    await p.tap('.choose-video');
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'Failure' && p.data().running === false, 60000);
    await shot('upload-error', PAGE, p, '上传：失败（网络断开，重试用尽），可重试或移除');
  });

  test('腾讯云: a video uploaded with its cover, playable once the event notification says so', async () => {
    const p = await show(PAGE);
    await p.tap('.provider-switch >>> .t-segmented-item-1');
    const cover = env.runtime.files.writeTemp('tmp_c0ver1.jpg', COVER);
    env.runtime.media.enqueue([{ tempFilePath: cover, fileType: 'image' }]);
    await p.tap('.t-cover');
    await p.until(() => p.data().tcover === cover);
    const v = env.runtime.files.writeTempSized('tmp_7d1e90.mp4', 2 * 1024 * 1024 + 9, 46);
    env.runtime.media.enqueue([{ tempFilePath: v, fileType: 'video', duration: 3 }]);
    await p.tap('.t-choose');
    await p.until(() => p.data().titems.length === 1 && p.data().titems[0].vodState === 'ready' && !!p.data().titems[0].playUrl, 60000);
    await shot('upload-tencent', PAGE, p, '上传（腾讯云）：已上传，事件通知后可播放');
  });
});

describe('下载 download', () => {
  const PAGE = 'pages/download/index';
  const clipIndex = (p: RenderedPage) => p.data().videos.findIndex((v: { title: string }) => v.title === '示例短片（6 秒）');
  const tapVideo = async (p: RenderedPage, i: number) => {
    p.queryAll('.video')[i].dispatchEvent('tap', { detail: {} });
    await p.until(() => true);
  };

  test('first screen: empty queue, the library with Chinese states', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().status === 'ready');
    await shot('download', PAGE, p, '下载：空队列，视频库（可下载的在前，上传中 / 转码中的置灰并标明）');
  });

  test('picking a definition (sizes shown)', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().status === 'ready');
    await tapVideo(p, clipIndex(p));
    await p.until(() => !!p.data().picking);
    await shot('download-pick', PAGE, p, '下载：选择清晰度（显示大小）');
  });

  test('in progress beside a finished one; the finished one plays offline on top', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().status === 'ready');
    await tapVideo(p, clipIndex(p));
    await p.until(() => !!p.data().picking);
    p.queryAll('.track')[0].dispatchEvent('tap', { detail: {} });
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'completed', 30000);
    // the HLS track: segment 0 after 300 ms, segment 1 after 900 ms (two progress events the downloader's 250 ms
    // throttle lets through), segment 2 held: the item rests at 66 %
    env.runtime.faults.add({ match: { url: /-stream-0\.ts/ }, times: Infinity, action: { type: 'delay', ms: 300 } });
    env.runtime.faults.add({ match: { url: /-stream-1\.ts/ }, times: Infinity, action: { type: 'delay', ms: 900 } });
    env.runtime.faults.add({ match: { url: /-stream-2\.ts/ }, times: Infinity, action: HOLD });
    await tapVideo(p, clipIndex(p));
    await p.until(() => !!p.data().picking);
    p.queryAll('.track')[2].dispatchEvent('tap', { detail: {} });
    await p.until(() => p.data().items.length === 2 && p.data().items[1].percent >= 66 && held(/-stream-2\.ts/) >= 1, 30000);
    await shot('download-progress', PAGE, p, '下载：一个下载中（进度、速度），一个已完成（播放 / 保存到相册 / 删除）');
    await p.tap('.item-0 .play');
    await p.until(() => !!p.data().playing);
    await shot('download-playing', PAGE, p, '下载：离线播放本地文件（播放器在顶部）');
    // leave nothing behind for the next state
    await p.instance.onPause({ currentTarget: { dataset: { id: p.data().items[1].id } } });
    env.runtime.faults.clear();
    for (const it of [...p.data().items]) await p.vm<{ manager: { remove(id: string): Promise<void> } }>().manager.remove(it.id);
  });

  test('after a kill: the unfinished download is back on launch, paused', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().status === 'ready');
    env.runtime.faults.add({ match: { url: /-stream-[12]\.ts/ }, times: Infinity, action: HOLD });
    await tapVideo(p, clipIndex(p));
    await p.until(() => !!p.data().picking);
    p.queryAll('.track')[2].dispatchEvent('tap', { detail: {} });
    await p.until(() => p.data().items.length === 1 && held(/-stream-[12]\.ts/) >= 2, 30000);
    const id = p.data().items[0].id;
    await p.until(() => {
      const c = env.runtime.wx.getStorageSync(`mp-media-kit:download:${id}`) as { committed?: number } | '';
      return !!c && (c.committed || 0) >= 1;
    });
    open.splice(open.indexOf(p), 1);
    p.unload();
    await env.relaunch();
    recordTitles();
    const q = await show(PAGE);
    await q.until(() => q.data().status === 'ready' && q.data().items.length === 1 && q.data().items[0].stopReason === 'restored');
    await shot('download-restored', PAGE, q, '下载：上次被关掉时没下完的任务，重新打开后回来（上次未完成，可继续）');
    await q.vm<{ manager: { remove(id: string): Promise<void> } }>().manager.remove(id);
  });
});

describe('播放 player', () => {
  const PAGE = 'pages/player/index';

  test('initial: the sample list', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().samples.length >= 4);
    await shot('player-initial', PAGE, p, '播放：初始，播放器占位 + 示例视频');
  });

  test('loading: the play credentials request held', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().samples.length >= 4);
    env.runtime.faults.add({ match: { url: /\/api\/polyv\/play/ }, times: Infinity, action: HOLD });
    await p.tap('.sample');
    await p.until(() => p.data().status === 'loading' && held(/\/api\/polyv\/play/) === 1);
    await shot('player-loading', PAGE, p, '播放：正在加载');
  });

  test('playing: a sample on top, 16:9, its cover as poster, 清晰度 buttons', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().samples.length >= 4);
    await p.tap('.sample');
    await p.until(() => p.data().status === 'ready');
    await p.dispatch('#polyv-video', 'play');
    await p.dispatch('#polyv-video', 'timeupdate', { currentTime: 2.5, duration: 6 });
    await shot('player-playing', PAGE, p, '播放：播放中（16:9 播放器在顶部，封面作海报，清晰度按钮）');
  });

  test('error: an unknown vid (no 重试: it cannot help)', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().samples.length >= 4);
    await p.input('.vid-input', 'localdev01ffffffffffffffffffffff_l');
    await p.tap('.play-btn');
    await p.until(() => p.data().status === 'error' && p.data().errorCode === 'PolyvVideoNotFound');
    await shot('player-error', PAGE, p, '播放：错误（找不到视频，不提供重试）');
  });

  test('error: a video still processing, with 重试', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().samples.length >= 4);
    const idx = p.data().samples.findIndex((s: { playable: boolean }) => !s.playable);
    p.queryAll('.sample')[idx].dispatchEvent('tap', { detail: {} });
    await p.until(() => p.data().status === 'error' && p.data().errorCode === 'PolyvVideoNotReady');
    await shot('player-retry', PAGE, p, '播放：视频处理中 + 重试');
  });
});

describe('设备 devices', () => {
  const PAGE = 'pages/devices/index';

  test('list', async () => {
    const p = await show(PAGE);
    await p.until(() => p.data().devices.length === devices.length && !p.data().loading);
    await shot('devices', PAGE, p, '设备：列表（在线状态、云存储，过期统一措辞）');
  });

  test('error: the device list cannot be loaded', async () => {
    env.runtime.faults.add({ match: { url: /\/api\/iot\/devices\/list/ }, times: Infinity, action: { type: 'fail', reason: 'timeout' } });
    const p = await show(PAGE);
    await p.until(() => Boolean(p.data().error) && !p.data().loading);
    await shot('devices-error', PAGE, p, '设备：加载失败 + 重试');
  });
});

describe('事件 events', () => {
  const PAGE = 'pages/events/index';

  test('list', async () => {
    const p = await show(PAGE, { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => !p.data().loading && p.data().groups.length > 0);
    await shot('events', PAGE, p, '事件：按天分组（未加载完的一天显示 N+），筛选、缩略图');
  });

  test('selecting: two events chosen for batch delete', async () => {
    const p = await show(PAGE, { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => !p.data().loading && p.data().groups.length > 0);
    await p.tap('.select-toggle');
    const events = p.queryAll('.event');
    events[0].dispatchEvent('tap');
    events[2].dispatchEvent('tap');
    await p.until(() => p.data().selectedCount === 2);
    await shot('events-selecting', PAGE, p, '事件：多选删除（复选框、全选）');
  });

  test('expired cloud storage: banner', async () => {
    const p = await show(PAGE, { deviceId: devices[3].deviceId, name: encodeURIComponent(devices[3].name), mode: 'alarm' });
    await p.until(() => !p.data().loading && p.data().banner.show);
    await shot('events-expired', PAGE, p, '告警：云存储已过期横幅');
  });

  test('filtered empty: only events with video on the expired device', async () => {
    const p = await show(PAGE, { deviceId: devices[3].deviceId, name: encodeURIComponent(devices[3].name), mode: 'alarm' });
    await p.until(() => !p.data().loading && p.data().banner.show);
    await p.tap('.chip-video');
    await p.until(() => p.data().empty === true && !p.data().loading);
    await shot('events-filtered-empty', PAGE, p, '告警：筛选“有视频”后为空，说明原因并可清除筛选');
  });
});

describe('事件详情 event-detail', () => {
  const PAGE = 'pages/event-detail/index';

  async function firstEvent(deviceId: string, withVideo: boolean) {
    const now = Math.floor(Date.now() / 1000);
    const r = await env.appClient.call<{ data: { list: Array<{ alarmId: string; startTime: number }> } }>('POST', '/api/iot/vas/event/list', {
      deviceId,
      startTime: now - 86400,
      endTime: now,
      pageSize: 5,
      ...(withVideo ? { filterTypeMask: [0x8000], validCloudStorage: true } : {}),
    });
    return r.data.list[0];
  }

  test('with its recording, opened from the list (上一条 / 下一条)', async () => {
    // Opened from the device's event list, as a user would: the list gives the detail its neighbours.
    const list = await show('pages/events/index', { deviceId: devices[1].deviceId, name: encodeURIComponent(devices[1].name) });
    await list.until(() => !list.data().loading && list.data().groups.length > 0);
    const rows = list.data().groups.flatMap((g: { items: Array<{ alarmId: string; startTime: number; hasVideo: boolean }> }) => g.items);
    const e = rows.find((r: { hasVideo: boolean }, i: number) => i > 0 && r.hasVideo) || (await firstEvent(devices[1].deviceId, true));
    const p = await show(PAGE, { deviceId: devices[1].deviceId, alarmId: e.alarmId, startTime: String(e.startTime) });
    await p.until(() => p.data().video === 'ready');
    await shot('event-detail', PAGE, p, '事件详情：录像以快照为封面，上一条 / 下一条，删除');
  });

  test('snapshot only (cloud storage expired)', async () => {
    const e = await firstEvent(devices[3].deviceId, false);
    const p = await show(PAGE, { deviceId: devices[3].deviceId, alarmId: e.alarmId, startTime: String(e.startTime) });
    await p.until(() => !p.data().loading && p.data().video !== 'loading');
    await shot('event-detail-snapshot', PAGE, p, '事件详情：云存储已过期，只有快照');
  });
});

describe('设备详情 device', () => {
  const PAGE = 'pages/device/index';

  test('properties, settings and actions', async () => {
    const p = await show(PAGE, { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => p.data().writable.length > 0 && !p.data().loading);
    await shot('device', PAGE, p, '设备详情：状态、设置、操作');
  });

  test('a rejected value: the error under its setting', async () => {
    const p = await show(PAGE, { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => p.data().writable.length > 0 && !p.data().loading);
    const i = p.data().writable.findIndex((w: { name: string }) => w.name === 'motionSensitivity');
    await p.instance.onSlider({ currentTarget: { dataset: { index: i } }, detail: { value: 7 } });
    await p.until(() => p.data().error.show);
    await shot('device-error', PAGE, p, '设备详情：设备拒绝设置值，错误显示在该设置下');
  });

  test('a destructive action asks first', async () => {
    const p = await show(PAGE, { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => p.data().writable.length > 0 && !p.data().loading);
    await p.tap('.action-formatSdCard');
    await p.until(() => p.data().confirm.show);
    // The dialog's enter transition moves on a tick later: picture it open, not at its first frame.
    await p.until(() => !/t-dialog-enter(?!-)/.test(JSON.stringify(p.comp.toJSON())));
    await shot('device-confirm', PAGE, p, '设备详情：格式化存储卡前的确认（警示色）');
  });
});

/** A page added to app.json without a scenario here still gets its first screen pictured (and is named). */
test('pages of app.json without a scenario: the state after onLoad/onShow', async () => {
  const app = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM_ROOT, 'app.json'), 'utf8')) as { pages: string[] };
  const missing = app.pages.filter((pg) => !covered.has(pg));
  for (const pg of missing) {
    const p = await show(pg);
    const name = pg.replace(/^pages\//, '').replace(/\/index$/, '').replace(/\//g, '-');
    await shot(name, pg, p, `${name}：打开后的首屏（未定义专门的场景）`);
    p.unload();
    open.splice(open.indexOf(p), 1);
  }
  if (missing.length) process.stderr.write(`screenshots: no scenario for ${missing.join(', ')}; pictured the first screen\n`);
});
