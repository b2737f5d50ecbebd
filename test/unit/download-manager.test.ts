/**
 * DownloadManager over an injected adapter with a fake clock and gated requests (no timing in the test): queue
 * with maxConcurrent, states, progress patches at most 4 per second per item as path-based patches, and the final
 * state patch always delivered.
 */
import { AliMediaDownloader, createInjectedAdapter, DownloadManager, PlatformAdapter } from 'mp-media-sdk';
import type { DownloadItem, HttpResponse, RequestOptions } from 'mp-media-sdk';

const SIZE = 40 * 1024;
const CHUNK = 4 * 1024;

function fakeAdapter() {
  let now = 1_000_000;
  const timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let seq = 0;
  const files = new Map<string, Uint8Array>();
  const store = new Map<string, unknown>();
  const held: Array<() => void> = [];
  const body = new Uint8Array(SIZE).map((_, i) => (i * 7) & 0xff);
  const playInfo = (vid: string) => ({
    RequestId: 'r',
    VideoBase: { VideoId: vid, Title: `video ${vid}`, Duration: '6.0', CoverURL: '' },
    PlayInfoList: { PlayInfo: [{ Definition: 'LD', Format: 'mp4', Size: SIZE, PlayURL: `https://cdn.test/${vid}.mp4`, JobId: `job-${vid}`, Width: 320, Height: 180, Encrypt: 0 }] },
  });
  const adapter: PlatformAdapter = createInjectedAdapter({
    name: 'fake',
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn, id: ++seq };
      timers.push(t);
      return t.id;
    },
    clearTimeout: (h) => {
      const i = timers.findIndex((t) => t.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
    warn: () => undefined,
    request: (<T>(o: RequestOptions): Promise<HttpResponse<T>> => {
      const vid = /\/([^/]+)\.mp4/.exec(o.url)?.[1] || /VideoId=([^&]+)/.exec(o.url)?.[1] || 'x';
      if (o.url.includes('Action=GetPlayInfo')) return Promise.resolve({ statusCode: 200, header: {}, data: playInfo(vid) as unknown as T });
      const m = /bytes=(\d+)-(\d+)/.exec((o.header || {}).Range || '')!;
      const a = Number(m[1]);
      const b = Number(m[2]);
      return new Promise((resolve) =>
        held.push(() => resolve({ statusCode: 206, header: { 'Content-Range': `bytes ${a}-${b}/${SIZE}`, ETag: '"E"' }, data: body.slice(a, b + 1).buffer as unknown as T })),
      );
    }) as PlatformAdapter['request'],
    storage: { get: <T>(k: string) => store.get(k) as T | undefined, set: (k, v) => void store.set(k, JSON.parse(JSON.stringify(v))), remove: (k) => void store.delete(k), keys: () => [...store.keys()] },
    fs: {
      userDataPath: 'wxfile://usr',
      stat: async (p) => {
        const f = files.get(p);
        if (!f) throw Object.assign(new Error('no such file'), { code: 'FILE_NOT_FOUND' });
        return { size: f.length, lastModifiedTime: 0, isFile: true };
      },
      readRange: async (p, pos, len) => files.get(p)!.slice(pos, pos + len).buffer,
      readText: async () => '',
      writeFile: async (p, d) => void files.set(p, new Uint8Array(typeof d === 'string' ? new TextEncoder().encode(d) : d)),
      unlink: async (p) => void files.delete(p),
      exists: async (p) => files.has(p) || p.endsWith('/downloads'),
      mkdir: async () => undefined,
      saveFile: async (p) => p,
      appendFile: async (p, d) => {
        const old = files.get(p)!;
        const n = new Uint8Array(old.length + d.byteLength);
        n.set(old);
        n.set(new Uint8Array(d), old.length);
        files.set(p, n);
      },
      truncate: async (p, len) => void files.set(p, files.get(p)!.slice(0, len)),
      rename: async (a, b) => {
        files.set(b, files.get(a)!);
        files.delete(a);
      },
      usage: async () => [...files.values()].reduce((n, f) => n + f.length, 0),
    },
  });
  return {
    adapter,
    files,
    body,
    held,
    /** Advance the fake clock, running due timers in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((x, y) => x.at - y.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
  };
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};
async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error(`timed out: ${what}`);
}

describe('DownloadManager', () => {
  it('maxConcurrent 2: two items download, the third waits; it starts when one completes', async () => {
    const f = fakeAdapter();
    const patches: Array<Record<string, unknown>> = [];
    const m = new DownloadManager({ adapter: f.adapter, saveDir: 'wxfile://usr/downloads', maxConcurrent: 2, chunkSize: CHUNK, parallel: 1, source: (vid) => ({ vid, region: 'cn-shanghai', accessKeyId: 'STS.a', accessKeySecret: 's', securityToken: 't', endpoint: 'https://vod.test' }), onChange: (p) => patches.push(p) });
    for (const vid of ['a', 'b', 'c']) {
      const info = await m.tracks(vid);
      m.add(info, info.tracks[0]);
    }
    await until(() => f.held.length === 2, 'two items request');
    expect(m.items.map((i: DownloadItem) => i.state)).toEqual(['downloading', 'downloading', 'wait']);
    // finish a
    while (m.items[0].state !== 'completed') {
      if (f.held.length) f.held.shift()!();
      await flush();
      await new Promise((r) => setImmediate(r));
    }
    await until(() => m.items[2].state === 'downloading', 'c starts after a completes');
    expect(Buffer.from(f.files.get(m.items[0].filePath!)!).equals(Buffer.from(f.body))).toBe(true);
    m.destroy();
  });

  it('progress patches: path-based, at most 4 per second per item (fake clock), the completion always delivered', async () => {
    const f = fakeAdapter();
    const patches: Array<{ t: number; p: Record<string, unknown> }> = [];
    const m = new DownloadManager({ adapter: f.adapter, saveDir: 'wxfile://usr/downloads', chunkSize: CHUNK / 4, parallel: 1, source: (vid) => ({ vid, region: 'cn-shanghai', accessKeyId: 'STS.a', accessKeySecret: 's', securityToken: 't', endpoint: 'https://vod.test' }), onChange: (p) => patches.push({ t: f.adapter.now(), p }) });
    const info = await m.tracks('a');
    m.add(info, info.tracks[0]);
    const start = f.adapter.now();
    // 160 chunks, one every 20 ms of fake time → 3.2 s
    while (m.items[0].state !== 'completed') {
      await until(() => f.held.length > 0 || m.items[0].state === 'completed', 'next chunk');
      if (!f.held.length) break;
      f.advance(20);
      f.held.shift()!();
      await flush();
    }
    f.advance(1000);
    const elapsed = f.adapter.now() - start;
    // throttled progress patches (state changes such as the completion go out at once and are not counted here)
    const progress = patches.filter((x) => 'items[0].percent' in x.p && !('items[0].state' in x.p));
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1);
    for (let i = 1; i < progress.length; i++) expect(progress[i].t - progress[i - 1].t).toBeGreaterThanOrEqual(250);
    for (const x of patches) for (const k of Object.keys(x.p)) expect(k === 'items' || /^items\[\d+\]\.\w+$/.test(k)).toBe(true);
    expect(patches.some((x) => x.p['items[0].state'] === 'completed')).toBe(true);
    expect(m.items[0].percent).toBe(100);
    m.destroy();
  });

  it('downloader progress: a percent throttled within 250 ms goes out when the 250 ms are over (trailing update), never after a stop', async () => {
    const f = fakeAdapter();
    const d = new AliMediaDownloader({ adapter: f.adapter, chunkSize: CHUNK, parallel: 1 });
    d.setSaveDirectory('wxfile://usr/downloads');
    const seen: Array<{ t: number; pct: number }> = [];
    d.setDelegate({ onDownloadingProgress: (_d: unknown, pct: number) => seen.push({ t: f.adapter.now(), pct }) });
    const info = await d.prepare({ vid: 'p', region: 'cn-shanghai', accessKeyId: 'STS.a', accessKeySecret: 's', securityToken: 't', endpoint: 'https://vod.test' } as never);
    d.selectTrack(info.tracks[0].trackIndex);
    const done = d.start();
    await until(() => f.held.length === 1, 'first chunk requested');
    // two chunks land 10 ms apart: 0 → 10 % goes out, 20 % is throttled
    f.advance(300);
    f.held.shift()!();
    await until(() => f.held.length === 1, 'second chunk requested');
    f.advance(10);
    f.held.shift()!();
    await until(() => f.held.length === 1, 'third chunk requested');
    expect(seen.map((x) => x.pct)).toEqual([0, 10]);
    // nothing else arrives; the trailing update brings 20 % once the 250 ms since 10 % are over (callbacks run in a microtask)
    f.advance(239);
    await flush();
    expect(seen.map((x) => x.pct)).toEqual([0, 10]);
    f.advance(1);
    await flush();
    expect(seen.map((x) => x.pct)).toEqual([0, 10, 20]);
    expect(seen[2].t - seen[1].t).toBe(250);
    // a throttled percent pending at stop() is dropped
    f.advance(10);
    f.held.shift()!();
    await until(() => f.held.length === 1, 'fourth chunk requested');
    d.stop();
    while (f.held.length) f.held.shift()!(); // the fake request ignores aborts: let it answer
    f.advance(1000);
    await flush();
    expect(seen.map((x) => x.pct)).toEqual([0, 10, 20]);
    void done.catch(() => undefined);
    d.destroy();
  });
});
