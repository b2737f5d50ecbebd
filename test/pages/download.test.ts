/**
 * The 下载 (download) tab in miniprogram-simulate against a live dev stack, through the Node wx runtime installed as
 * `wx`: library → pick a definition (size shown) → queue → progress → play offline from the local file → 保存到相册;
 * storage used / 200 MB; pause / resume / delete; items come back on the next launch.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';
import { createGate } from '../harness/wx-runtime';
import { MEDIA_DIR, SAMPLE_VIDEO_IDS } from '../../server/cloud/aliyun-vod/play';

let env: PageEnv;
let page: RenderedPage | undefined;

beforeAll(async () => {
  env = await startPageEnv();
});
afterAll(() => env.close());
afterEach(() => {
  env.runtime.faults.clear();
  env.ui.modalAnswer = 'confirm';
  if (page) page.unload();
  page = undefined;
});

/** Tap the n-th element matching selector (its own data-* attributes go with the event). */
async function tapNth(p: RenderedPage, selector: string, n: number): Promise<void> {
  const els = p.queryAll(selector);
  if (!els[n]) throw new Error(`no ${selector} #${n}`);
  // a TDesign button is a virtual host: the finger lands on its root element
  const el = els[n].dom ? els[n] : els[n].querySelector('.t-button');
  if (!el) throw new Error(`${selector} #${n} has no element to tap`);
  el.dispatchEvent('tap', { detail: {} });
  await new Promise<void>((r) => setTimeout(r, 0));
}

const videoIndex = (p: RenderedPage, vid: string) => p.data().videos.findIndex((v: { videoId: string }) => v.videoId === vid);

type Node = string | { children: Node[] };
const flat = (n: Node): string => (typeof n === 'string' ? n : n.children.map(flat).join(''));
/** The text shown, library components (virtual hosts, no DOM node of their own) included. */
const text = (p: RenderedPage, selector: string) => {
  const el = p.query(selector);
  if (!el) return '';
  return (el.dom ? String(el.dom.textContent) : flat(JSON.parse(JSON.stringify(el.toJSON())))).trim();
};

/** Taps the library row of a video. */
const pickVideo = (p: RenderedPage, vid: string) => tapNth(p, '.video', videoIndex(p, vid));

describe('download tab', () => {
  test('library → pick LD MP4 (size shown) → completes → plays the local file → saved to the album; storage shown; back after relaunch', async () => {
    page = await renderPage('pages/download/index');
    const p = page;
    await p.until(() => p.data().status === 'ready');
    const vids = p.data().videos.map((v: { videoId: string }) => v.videoId);
    expect(vids).toEqual(expect.arrayContaining([SAMPLE_VIDEO_IDS.clip, SAMPLE_VIDEO_IDS.transcoding, SAMPLE_VIDEO_IDS.privateOnly]));
    expect(text(p, '.storage-text')).toMatch(/\/ 200 MB$/);
    await tapNth(p, '.video', videoIndex(p, SAMPLE_VIDEO_IDS.clip));
    await p.until(() => !!p.data().picking);
    const tracks = p.data().picking.tracks;
    expect(tracks.map((t: { label: string }) => t.label)).toEqual(['标清 180P', '高清 270P', '高清 270P · M3U8 · 加密']);
    expect(tracks[0].sizeText).toBe(`${Math.round(readFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4')).length / 1024)} KB`);
    expect(p.queryAll('.track')).toHaveLength(3);
    await tapNth(p, '.track', 0);
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'completed');
    const item = p.data().items[0];
    expect(item).toMatchObject({ percent: 100, definition: 'LD', stateText: '已完成', tagTheme: 'success', definitionText: '标清', title: '示例短片（6 秒）' });
    expect(readFileSync(env.runtime.files.realPath(item.filePath)).equals(readFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4')))).toBe(true);
    await tapNth(p, '.play', 0);
    await p.until(() => !!p.data().playing);
    expect(p.data().playing.src).toBe(item.filePath);
    expect(p.query('#offline-video')).toBeTruthy();
    await tapNth(p, '.save', 0);
    await p.until(() => p.data().notice === '已保存到相册');
    expect(env.runtime.media.album).toHaveLength(1);
    await p.until(() => /^1\d\d KB \/ 200 MB$/.test(p.data().storageText));
    p.unload();
    // relaunch: the completed item is listed again
    page = await renderPage('pages/download/index');
    const q = page;
    await q.until(() => q.data().status === 'ready' && q.data().items.length === 1);
    expect(q.data().items[0]).toMatchObject({ id: item.id, state: 'completed', filePath: item.filePath });
    // 删除 asks first: declined, nothing happens; confirmed, the file goes
    env.ui.modalAnswer = 'cancel';
    const modals = env.ui.modals.length;
    await tapNth(q, '.delete', 0);
    await q.until(() => env.ui.modals.length === modals + 1 && q.data().confirmingId === '');
    expect(env.ui.modals[modals]).toEqual({ title: '删除下载？', content: expect.stringContaining('示例短片') });
    expect(q.data().items).toHaveLength(1);
    env.ui.modalAnswer = 'confirm';
    await tapNth(q, '.delete', 0);
    await q.until(() => q.data().items.length === 0);
    expect(await new Promise((r) => env.runtime.wx.getFileSystemManager().access({ path: item.filePath, success: () => r(true), fail: () => r(false) }))).toBe(false);
  });

  test('library: VOD statuses as Chinese tags; what can be downloaded comes first, a video still transcoding is disabled and says so', async () => {
    page = await renderPage('pages/download/index');
    const p = page;
    await p.until(() => p.data().status === 'ready');
    const videos = p.data().videos as Array<{ videoId: string; status: string; statusText: string; downloadable: boolean }>;
    for (const v of videos) expect(v.statusText).not.toMatch(/[A-Za-z]/);
    const firstDisabled = videos.findIndex((v) => !v.downloadable);
    if (firstDisabled >= 0) expect(videos.slice(firstDisabled).every((v) => !v.downloadable)).toBe(true);
    const t = videos.find((v) => v.videoId === SAMPLE_VIDEO_IDS.transcoding)!;
    expect(t).toMatchObject({ statusText: '转码中', downloadable: false });
    expect(videos.find((v) => v.videoId === SAMPLE_VIDEO_IDS.clip)).toMatchObject({ statusText: '可下载', downloadable: true });
    const requests = env.runtime.requests.length;
    await pickVideo(p, SAMPLE_VIDEO_IDS.transcoding);
    expect(p.data().picking).toBeNull();
    expect(p.data().notice).toBe('「转码中的示例」转码中，完成后才能下载');
    expect(env.runtime.requests.length).toBe(requests); // no play-info call for a disabled row
    expect(JSON.stringify(p.comp.toJSON())).not.toMatch(/t-icon-base|Uploading|UploadSucc|Transcoding|"Normal"/);
  });

  test('kill → relaunch: an HLS download killed half way comes back 上次未完成; 继续 fetches only the missing segments and finishes it', async () => {
    page = await renderPage('pages/download/index');
    const p = page;
    await p.until(() => p.data().status === 'ready');
    // segment 0 passes, 1 and 2 are held: the app is killed with them in flight
    const segs = createGate('segments');
    env.runtime.faults.add({ match: { url: /-stream-[12]\.ts/ }, times: Infinity, action: { type: 'hold', gate: segs } });
    await pickVideo(p, SAMPLE_VIDEO_IDS.clip);
    await p.until(() => !!p.data().picking);
    await tapNth(p, '.track', 2); // 高清 270P · M3U8 · 加密
    await segs.waiting(2);
    await p.until(() => p.data().items.length === 1);
    const before = p.data().items[0];
    // segment 0 is on disk once the item's checkpoint says so (the page's percent may lag by up to 250 ms: progress
    // is throttled to 4 updates a second, with a trailing update)
    const checkpoint = () => env.runtime.wx.getStorageSync(`mp-media-kit:download:${before.id}`) as { committed?: number } | '';
    await p.until(() => { const c = checkpoint(); return !!c && (c.committed || 0) >= 1; });
    expect(before.state).toBe('downloading');
    p.unload();
    page = undefined;
    await env.relaunch();
    page = await renderPage('pages/download/index');
    const q = page;
    await q.until(() => q.data().status === 'ready' && q.data().items.length === 1);
    const back = q.data().items[0];
    expect(back).toMatchObject({ id: before.id, state: 'stopped', stopReason: 'restored', stateText: '上次未完成', tagTheme: 'warning' });
    // its percent: the segment on disk (1 of 3), not 0
    expect(back.percent).toBeGreaterThan(0);
    expect(back.percent).toBeLessThan(100);
    expect(text(q, '.item-0 .resume')).toBe('继续');
    await tapNth(q, '.resume', 0);
    await q.until(() => q.data().items[0].state === 'completed', 60000);
    const file = q.data().items[0].filePath as string;
    expect(file).toMatch(/\.mp4$/);
    const bytes = readFileSync(env.runtime.files.realPath(file));
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    // the relaunched app (a new runtime: its own request log) fetched the two missing segments, not segment 0 again
    expect(env.runtime.requests.filter((r) => /-stream-[12]\.ts/.test(r.url)).length).toBe(2);
    expect(env.runtime.requests.filter((r) => /-stream-0\.ts/.test(r.url))).toHaveLength(0);
    await tapNth(q, '.delete', 0);
    await q.until(() => q.data().items.length === 0);
  });

  test('the private-encryption-only sample cannot be picked; the message says why', async () => {
    page = await renderPage('pages/download/index');
    const p = page;
    await p.until(() => p.data().status === 'ready');
    await tapNth(p, '.video', videoIndex(p, SAMPLE_VIDEO_IDS.privateOnly));
    await p.until(() => p.data().notice.startsWith('无法下载'));
    expect(p.data().notice).toBe('无法下载：该视频只有阿里云私有加密版本，小程序不能离线保存');
    expect(p.data().debug).not.toBe(''); // the SDK's own message, for 调试
    expect(p.data().picking).toBeNull();
  });
});
