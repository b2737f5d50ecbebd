/**
 * The 播放 (player) page in miniprogram-simulate against a live dev stack, through the Node wx runtime installed as
 * `wx`: sample list, play with a tokenised m3u8 whose key really opens, definition switch keeping the position,
 * <video> error → one recovery → error state → retry, bad vids, and the token countdown.
 */
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';

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

function wxGet(url: string, arraybuffer = false): Promise<{ statusCode: number; data: unknown }> {
  return new Promise((resolve, reject) =>
    env.runtime.wx.request({ url, dataType: 'text', responseType: arraybuffer ? 'arraybuffer' : 'text', success: resolve, fail: reject }),
  );
}

const text = (p: RenderedPage, selector: string) => {
  const el = p.query(selector);
  return el ? String(el.dom.textContent).trim() : '';
};

describe('player page', () => {
  test('lists the local cloud samples; tapping one plays it on top with its cover as poster, a tokenised m3u8 whose key opens, and the countdown', async () => {
    page = await renderPage('pages/player/index');
    const p = page;
    await p.until(() => p.data().samples.length >= 4);
    expect(p.data().status).toBe('idle');
    expect(p.query('.stage .idle')).toBeTruthy();
    // Users see titles, not ids: vids live in the 调试 section only.
    const users = String(p.comp.dom.innerHTML).split('调试（开发者）')[0];
    for (const s of p.data().samples) expect(users).not.toContain(s.videoId);
    expect(p.queryAll('.sample')).toHaveLength(p.data().samples.length);
    await p.tap('.sample');
    await p.until(() => p.data().status === 'ready');
    const d = p.data();
    expect(d.title).toBe('本地样片 · 彩条 (流畅/高清)');
    expect(text(p, '.title')).toBe(d.title);
    expect(d.cover).toMatch(/\.jpg$/);
    expect(p.query('.stage #polyv-video')).toBeTruthy();
    // The cover is the video's poster (no separate cover image).
    expect(JSON.stringify(p.comp.toJSON())).toContain(JSON.stringify({ name: 'poster', value: d.cover }));
    expect(d.definitions).toEqual(['流畅', '高清']);
    expect(d.src).toMatch(/_1\.m3u8\?token=[^&]+&iswxa=1&pid=\d+X\d+$/);
    expect(p.query('#polyv-video')).toBeTruthy();
    expect(d.expiresText).toMatch(/^(09:\d\d|10:00)$/);
    expect(text(p, '.countdown')).toContain(d.expiresText);
    expect(d.expiring).toBe(false);
    // What <video> would do with that src: the m3u8, then its key, over the same network.
    const m3u8 = await wxGet(d.src);
    expect(m3u8.statusCode).toBe(200);
    const keyUri = /URI="([^"]+)"/.exec(String(m3u8.data))![1];
    const key = await wxGet(keyUri, true);
    expect(key.statusCode).toBe(200);
    expect((key.data as ArrayBuffer).byteLength).toBe(16);
  });

  test('the 清晰度 buttons switch to 高清 at the current position', async () => {
    page = await renderPage('pages/player/index', { vid: (await firstSample()).videoId });
    const p = page;
    await p.until(() => p.data().status === 'ready');
    await p.dispatch('#polyv-video', 'timeupdate', { currentTime: 3.4, duration: 6 });
    expect(p.queryAll('.definition')).toHaveLength(2);
    await p.tap('.definition-1');
    await p.until(() => p.data().definitionIndex === 1);
    expect(p.data().src).toMatch(/_2\.m3u8\?token=/);
    expect(p.data().initialTime).toBe(3.4);
    expect(text(p, '.definition.on')).toBe('高清');
  });

  test('<video> error: one recovery with a fresh token at the position, then the error state; 重试 plays again', async () => {
    page = await renderPage('pages/player/index', { vid: (await firstSample()).videoId });
    const p = page;
    await p.until(() => p.data().status === 'ready');
    await p.dispatch('#polyv-video', 'timeupdate', { currentTime: 2 });
    const playCalls = () => env.runtime.requests.filter((r) => r.url.endsWith('/api/polyv/play')).length;
    const before = playCalls();
    await p.dispatch('#polyv-video', 'error', { errMsg: 'MEDIA_ERR_DECODE' });
    await p.until(() => playCalls() === before + 1 && p.data().notice.includes('断点'));
    expect(p.data().status).toBe('ready');
    expect(p.data().initialTime).toBe(2);
    await p.dispatch('#polyv-video', 'error', { errMsg: 'MEDIA_ERR_DECODE' });
    await p.until(() => p.data().status === 'error');
    expect(p.data().errorCode).toBe('POLYV_PLAYBACK_FAILED');
    // Users read what happened; the host's errMsg is for developers, in 调试.
    expect(text(p, '.error-message')).toBe('视频暂时无法播放，请重试。');
    expect(text(p, '.error-detail')).toContain('MEDIA_ERR_DECODE');
    expect(p.query('.retry')).toBeTruthy();
    await p.tap('.retry');
    await p.until(() => p.data().status === 'ready');
    expect(p.data().initialTime).toBe(2);
  });

  test('two instances of one page module keep their own view-models', async () => {
    const res = await env.appClient.call<{ samples: Array<{ videoId: string; title: string; playable: boolean }> }>('GET', '/api/polyv/samples');
    const [a, b] = res.samples.filter((s) => s.playable);
    page = await renderPage('pages/player/index', { vid: a.videoId });
    const first = page;
    await first.until(() => first.data().status === 'ready');
    const second = await renderPage('pages/player/index', { vid: b.videoId }, { sameModuleAs: first });
    try {
      await second.until(() => second.data().status === 'ready');
      await first.tap('.definition-1');
      await first.until(() => first.data().definitionIndex === 1);
      expect(first.data().title).toBe(a.title);
      expect(second.data().title).toBe(b.title);
      expect(second.data().definitionIndex).toBe(0);
    } finally {
      second.unload();
    }
  });

  test('bad vids: empty → hint, unknown → "找不到" without 重试 (retrying cannot help), still processing → 重试', async () => {
    page = await renderPage('pages/player/index');
    const p = page;
    await p.input('.vid-input', '   ');
    await p.tap('.play-btn');
    await p.until(() => p.data().status === 'error');
    expect(p.data().errorCode).toBe('POLYV_EMPTY_VID');
    await p.input('.vid-input', 'localdev01ffffffffffffffffffffff_l');
    await p.tap('.play-btn');
    await p.until(() => p.data().errorCode === 'PolyvVideoNotFound');
    expect(p.data().errorMessage).toContain('找不到');
    expect(p.data().retryable).toBe(false);
    expect(p.query('.retry')).toBeFalsy();
    expect(text(p, '.error-message')).not.toContain('PolyvVideoNotFound');
    await p.until(() => p.data().samples.length >= 4);
    const idx = p.data().samples.findIndex((s: { playable: boolean }) => !s.playable);
    p.queryAll('.sample')[idx].dispatchEvent('tap', { detail: {} });
    await p.until(() => p.data().errorCode === 'PolyvVideoNotReady');
    expect(p.data().retryable).toBe(true);
    expect(p.query('.retry')).toBeTruthy();
  });
});

async function firstSample(): Promise<{ videoId: string }> {
  const res = await env.appClient.call<{ samples: Array<{ videoId: string }> }>('GET', '/api/polyv/samples');
  return res.samples[0];
}
