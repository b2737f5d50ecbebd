/**
 * The upload page's 腾讯云 tab in miniprogram-simulate against a live dev stack (child process), through the Node wx
 * runtime installed as `wx`: switch 阿里云 → 腾讯云, choose a video (wx.chooseMedia) → progress → FileId → the state
 * from the event notification (PULL worker in the AppServer) → a <video> that plays what was uploaded; pause / resume /
 * cancel from the item buttons.
 */
import { readFileSync } from 'node:fs';
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';

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

function fetchBytes(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    env.runtime.wx.request({ url, responseType: 'arraybuffer', success: (r: { statusCode: number; data: ArrayBuffer }) => (r.statusCode === 200 ? resolve(Buffer.from(r.data)) : reject(new Error(`HTTP ${r.statusCode}`))), fail: reject }),
  );
}

describe('upload page, 腾讯云 tab', () => {
  test('阿里云 / 腾讯云 switch; a video with a cover uploads: progress, FileId, 可播放 from the event notification, the <video> plays the uploaded bytes', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    expect(p.data().provider).toBe('aliyun');
    expect(p.query('.choose-video')).toBeTruthy();
    await p.tap('.provider-switch >>> .t-segmented-item-1');
    expect(p.data().provider).toBe('tencent');
    expect(p.query('.choose-video')).toBeFalsy();
    expect(p.query('.t-empty')).toBeTruthy();
    const cover = env.runtime.files.writeTempSized('t-cover.jpg', 3000, 5);
    env.runtime.media.enqueue([{ tempFilePath: cover, fileType: 'image' }]);
    await p.tap('.t-cover');
    await p.until(() => p.data().tcover === cover);
    const video = env.runtime.files.writeTempSized('t-video.mp4', 2 * 1024 * 1024 + 9, 6);
    env.runtime.media.enqueue([{ tempFilePath: video, fileType: 'video', duration: 3 }]);
    await p.tap('.t-choose');
    await p.until(() => p.data().titems.length === 1 && p.data().titems[0].state === 'uploaded', 30000);
    const item = p.data().titems[0];
    expect(item).toMatchObject({ percent: 100, stateText: '已上传', fileId: expect.stringMatching(/^\d+$/), error: '' });
    expect(String(p.query('.titem-0').dom.textContent)).not.toContain(item.fileId); // the FileId is in 调试
    await p.until(() => p.data().titems[0].vodState === 'ready' && !!p.data().titems[0].playUrl, 30000);
    expect(p.data().titems[0].vodStateText).toBe('可播放');
    const player = p.query('.titem-0 .t-player');
    expect(player).toBeTruthy();
    const src = p.data().titems[0].playUrl;
    expect((await fetchBytes(src)).equals(readFileSync(env.runtime.files.realPath(video)))).toBe(true);
    expect((await fetchBytes(p.data().titems[0].coverUrl)).equals(readFileSync(env.runtime.files.realPath(cover)))).toBe(true);
    const mine = await env.appClient.call<{ videos: Array<{ fileId: string; state: string }> }>('GET', '/api/tencent-vod/videos');
    expect(mine.videos.find((v) => v.fileId === item.fileId)).toMatchObject({ state: 'ready' });
    await p.tap('.provider-switch >>> .t-segmented-item-0');
    expect(p.query('.choose-video')).toBeTruthy();
  });

  test('pause / resume / cancel from the item buttons', async () => {
    page = await renderPage('pages/upload/index');
    const p = page;
    await p.tap('.provider-switch >>> .t-segmented-item-1');
    env.runtime.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'delay', ms: 150 } });
    const a = env.runtime.files.writeTempSized('t-a.mp4', 17 * 1024 * 1024, 7);
    env.runtime.media.enqueue([{ tempFilePath: a, fileType: 'video', duration: 5 }]);
    await p.tap('.t-choose');
    await p.until(() => p.data().titems.length === 1 && p.data().titems[0].percent > 0, 30000);
    await p.tap('.titem-0 .t-pause');
    expect(p.data().titems[0]).toMatchObject({ state: 'paused', stateText: '已暂停', canResume: true, canPause: false });
    const pausedAt = p.data().titems[0].percent;
    await p.tap('.titem-0 .t-resume');
    expect(p.data().titems[0].error).toBe('');
    expect(p.data().titems[0].state).toBe('uploading');
    await p.until(() => p.data().titems[0].state === 'uploaded', 60000);
    expect(p.data().titems[0].percent).toBe(100);
    expect(pausedAt).toBeLessThan(100);
    const b = env.runtime.files.writeTempSized('t-b.mp4', 9 * 1024 * 1024, 8);
    env.runtime.media.enqueue([{ tempFilePath: b, fileType: 'video', duration: 5 }]);
    await p.tap('.t-choose');
    await p.until(() => p.data().titems.length === 2);
    const modals = env.ui.modals.length;
    await p.tap('.titem-1 .t-cancel');
    expect(env.ui.modals.slice(modals)).toEqual([{ title: '取消上传？', content: expect.any(String) }]);
    await p.until(() => p.data().titems[1].state === 'canceled');
    expect(p.data().titems[1]).toMatchObject({ stateText: '已取消', error: '', canCancel: false });
  });
});
