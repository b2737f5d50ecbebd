/**
 * The 下载 (download) tab in miniprogram-simulate against a live dev stack, through the Node wx runtime installed as
 * `wx`: library → pick a definition (size shown) → queue → progress → play offline from the local file → 保存到相册;
 * storage used / 200 MB; pause / resume / delete; items come back on the next launch.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';
import { MEDIA_DIR, SAMPLE_VIDEO_IDS } from '../../server/cloud/aliyun-vod/play';

let env: PageEnv;
let page: RenderedPage | undefined;

beforeAll(async () => {
  env = await startPageEnv();
});
afterAll(() => env.close());
afterEach(() => {
  if (page) page.unload();
  page = undefined;
});

/** Tap the n-th element matching selector (its own data-* attributes go with the event). */
async function tapNth(p: RenderedPage, selector: string, n: number): Promise<void> {
  const els = p.queryAll(selector);
  if (!els[n]) throw new Error(`no ${selector} #${n}`);
  els[n].dispatchEvent('tap', { detail: {} });
  await new Promise<void>((r) => setTimeout(r, 0));
}

const videoIndex = (p: RenderedPage, vid: string) => p.data().videos.findIndex((v: { videoId: string }) => v.videoId === vid);

const text = (p: RenderedPage, selector: string) => {
  const el = p.query(selector);
  return el ? String(el.dom.textContent).trim() : '';
};

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
    expect(tracks.map((t: { label: string }) => t.label)).toEqual(['标清 LD · MP4', '高清 SD · MP4', '高清 SD · M3U8 · 加密']);
    expect(tracks[0].sizeText).toBe(`${Math.round(readFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4')).length / 1024)} KB`);
    expect(p.queryAll('.track')).toHaveLength(3);
    await tapNth(p, '.track', 0);
    await p.until(() => p.data().items.length === 1 && p.data().items[0].state === 'completed');
    const item = p.data().items[0];
    expect(item).toMatchObject({ percent: 100, definition: 'LD', stateText: '已完成' });
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
    await tapNth(q, '.delete', 0);
    await q.until(() => q.data().items.length === 0);
  });

  test('the private-encryption-only sample cannot be picked; the message says why', async () => {
    page = await renderPage('pages/download/index');
    const p = page;
    await p.until(() => p.data().status === 'ready');
    await tapNth(p, '.video', videoIndex(p, SAMPLE_VIDEO_IDS.privateOnly));
    await p.until(() => p.data().notice.startsWith('无法下载'));
    expect(p.data().picking).toBeNull();
  });
});
