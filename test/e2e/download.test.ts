/**
 * AliMediaDownloader end to end: the real SDK through the Node wx runtime and our wx adapter, over real loopback
 * sockets, against the dev stack (AppServer /api/vod/play-* + local VOD with real signature checks + the local play
 * domain with type-A auth_key). Files are compared byte for byte with the committed renditions.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AliMediaDownloader, AppClient, createWxAdapter, DownloaderErrorCode, VODUpload } from 'mp-media-sdk';
import type { DownloaderError, ErrorModel, MediaInfo, PlatformAdapter, VidAuth, VidSts, VODUploadAuthResult, VODUploadInfo } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { MEDIA_DIR, SAMPLE_VIDEO_IDS } from '../../server/cloud/aliyun-vod/play';
import { until } from '../harness/until';
import { createGate } from '../harness/gate';
import { mp4Info } from '../harness/mp4-inspect';

jest.setTimeout(120000);

const CLIP = SAMPLE_VIDEO_IDS.clip;
const LD = readFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4'));
const SD = readFileSync(path.join(MEDIA_DIR, 'clip-6s', '270p.mp4'));
const KB = 1024;

let stack: DevStack;
const runtimes: WxRuntime[] = [];

beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
});
afterEach(async () => {
  await admin('DELETE', '/_admin/faults');
  while (runtimes.length) await (runtimes.pop() as WxRuntime).close();
});
afterAll(async () => {
  await stack.close();
});

async function admin<T = any>(method: string, p: string, body?: unknown, base = stack.cloud!.cdn!): Promise<T> {
  const res = await fetch(`${base}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}


function runtime(opts: Parameters<typeof createWxRuntime>[0] = {}): WxRuntime {
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `odl${randomBytes(6).toString('hex')}`, ...opts });
  runtimes.push(rt);
  return rt;
}

function appAdapter(rt: WxRuntime): PlatformAdapter {
  return { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
}

interface Rec {
  events: string[];
  downloading: number[];
  processing: number[];
  errors: ErrorModel[];
}

function setup(rt: WxRuntime, opts: { chunkSize?: number; parallel?: number; storageQuota?: number } = {}) {
  const adapter = appAdapter(rt);
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  const d = new AliMediaDownloader({ adapter, chunkSize: opts.chunkSize ?? 16 * KB, parallel: opts.parallel ?? 3, retryDelayMs: 10, storageQuota: opts.storageQuota });
  const rec = record(d);
  return { adapter, app, d, rec, saveDir: `${rt.wx.env.USER_DATA_PATH}/downloads` };
}

function record(d: AliMediaDownloader): Rec {
  const rec: Rec = { events: [], downloading: [], processing: [], errors: [] };
  d.setDelegate({
    onPrepared: (dl, info) => {
      expect(dl).toBe(d);
      rec.events.push(`prepared:${info.tracks.length}`);
    },
    onError: (_dl, e) => {
      rec.events.push(`error:${e.name}`);
      rec.errors.push(e);
    },
    onDownloadingProgress: (_dl, p) => rec.downloading.push(p),
    onProcessingProgress: (_dl, p) => rec.processing.push(p),
    onCompletion: () => rec.events.push('completion'),
  });
  return rec;
}

function trackIndex(info: MediaInfo, def: string, fmt: string): number {
  const t = info.tracks.find((x) => x.vodDefinition === def && x.vodFormat === fmt);
  if (!t) throw new Error(`no ${def} ${fmt} track`);
  return t.trackIndex;
}

async function stsSource(app: AppClient, vid = CLIP): Promise<VidSts> {
  const r = await app.call<{ Region: string; SecurityTokenInfo: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string } }>('POST', '/api/vod/play-sts', {});
  const k = r.SecurityTokenInfo;
  return { vid, region: r.Region, accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret, securityToken: k.SecurityToken, endpoint: stack.cloud!.vod };
}

async function authSource(app: AppClient, vid = CLIP): Promise<VidAuth> {
  const r = await app.call<{ PlayAuth: string }>('POST', '/api/vod/play-auth', { videoId: vid });
  return { vid, playAuth: r.PlayAuth, endpoint: stack.cloud!.vod };
}

async function errorOf(p: Promise<unknown>): Promise<DownloaderError> {
  try {
    await p;
  } catch (e) {
    return e as DownloaderError;
  }
  throw new Error('expected a rejection');
}

const fileBytes = (rt: WxRuntime, wxPath: string) => readFileSync(rt.files.realPath(wxPath));
const cdnRequests = (rt: WxRuntime) => rt.requests.filter((r) => r.url.startsWith(stack.cloud!.cdn!));

describe('prepare', () => {
  it('VidSts, VidAuth and the AppServer source prepare the same tracks (LD/SD mp4 supported, HLS listed)', async () => {
    const rt = runtime();
    const { app, d, rec } = setup(rt);
    const fromApp = await d.prepare({ vid: CLIP, appClient: app });
    const viaSts = await new AliMediaDownloader({ adapter: appAdapter(rt) }).prepareWithVid(await stsSource(app));
    const viaAuth = await new AliMediaDownloader({ adapter: appAdapter(rt) }).prepareWithPlayAuth(await authSource(app));
    const shape = (i: MediaInfo) => i.tracks.map((t) => ({ i: t.trackIndex, d: t.vodDefinition, f: t.vodFormat, s: t.vodFileSize, j: t.jobId, ok: t.supported, e: t.encryptType }));
    expect(shape(viaSts)).toEqual(shape(fromApp));
    expect(shape(viaAuth)).toEqual(shape(fromApp));
    expect(shape(fromApp).map((t) => `${t.d}/${t.f}`)).toEqual(['LD/mp4', 'SD/mp4', 'SD/m3u8']);
    expect(fromApp.tracks[0]).toMatchObject({ vodFileSize: LD.length, width: 320, height: 180, encrypt: false, supported: true, index: 0 });
    expect(fromApp).toMatchObject({ vid: CLIP, duration: 6, title: expect.stringContaining('示例短片') });
    await until(() => rec.events.includes('prepared:3'), 'onPrepared');
    expect(d.state).toBe('prepared');
  });

  it('VidAuth with the PlayAuth in its obfuscated form (marker 493vpa at 20, ZZ, shifted) prepares the same tracks', async () => {
    const rt = runtime();
    const { app } = setup(rt);
    const auth = await authSource(app);
    let shifted = '';
    for (const ch of auth.playAuth) shifted += String.fromCharCode(Math.floor(ch.charCodeAt(0) / 20) === 2 ? ch.charCodeAt(0) : ch.charCodeAt(0) + 1);
    const obfuscated = `${shifted.slice(0, 20)}493vpa${shifted.slice(20)}ZZ`;
    const plainInfo = await new AliMediaDownloader({ adapter: appAdapter(rt) }).prepareWithPlayAuth(auth);
    const obInfo = await new AliMediaDownloader({ adapter: appAdapter(rt) }).prepareWithPlayAuth({ ...(await authSource(app)), playAuth: obfuscated });
    expect(obInfo.tracks.map((t) => `${t.vodDefinition}/${t.vodFormat}/${t.vodFileSize}`)).toEqual(plainInfo.tracks.map((t) => `${t.vodDefinition}/${t.vodFormat}/${t.vodFileSize}`));
  });

  it('server errors carry native codes: IllegalStatus (Transcoding), private encryption only, VideoForbidden for another user\'s video, malformed PlayAuth', async () => {
    const rt = runtime();
    const { app, d, rec } = setup(rt);
    const e1 = await errorOf(d.prepare({ vid: SAMPLE_VIDEO_IDS.transcoding, appClient: app }));
    expect(e1.errorCode).toBe(DownloaderErrorCode.ERROR_SERVER_VOD_FORBIDDEN_ILLEGALSTATUS);
    expect(e1.errorCode).toBe(536936961);
    const e2 = await errorOf(d.prepare({ vid: SAMPLE_VIDEO_IDS.privateOnly, appClient: app }));
    expect(e2.code).toBe('ERROR_SERVER_VOD_FORBIDDEN_ALIYUNVODENCRYPTION');
    const e3 = await errorOf(d.prepare({ vid: 'ffffffffffffffffffffffffffffffff', appClient: app }));
    expect(e3.code).toBe('ERROR_SERVER_POP_FORBIDDEN');
    const e4 = await errorOf(d.prepareWithPlayAuth({ vid: CLIP, playAuth: 'not-a-playauth' }));
    expect(e4.code).toBe('DOWNLOAD_ERROR_AUTH_SOURCE_WRONG');
    await until(() => rec.errors.length === 4, 'one onError per prepare');
    expect(rec.errors.map((e) => e.code)).toEqual([e1.errorCode, e2.errorCode, e3.errorCode, e4.errorCode]);
  });
});

describe('MP4 download', () => {
  it('downloads the LD MP4 byte-exact in Range chunks (3 in flight), with progress, processing, completion; saves to the album', async () => {
    const rt = runtime();
    const { app, d, rec, saveDir } = setup(rt);
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'LD', 'mp4'));
    const file = await d.start();
    expect(file).toBe(`${saveDir}/${CLIP}_mp4_0.mp4`);
    expect(d.getFilePath()).toBe(file);
    expect(fileBytes(rt, file).equals(LD)).toBe(true);
    expect(existsSync(rt.files.realPath(`${file}.part`))).toBe(false);
    const ranges = cdnRequests(rt).map((r) => r.header && (r.header.Range || r.header.range));
    expect(ranges.length).toBe(Math.ceil(LD.length / (16 * KB)));
    expect(ranges[0]).toBe(`bytes=0-${16 * KB - 1}`);
    await until(() => rec.events.includes('completion'), 'onCompletion');
    expect(rec.downloading[rec.downloading.length - 1]).toBe(100);
    for (let i = 1; i < rec.downloading.length; i++) expect(rec.downloading[i]).toBeGreaterThan(rec.downloading[i - 1]);
    expect(rec.processing).toEqual([0, 100]);
    expect(rec.errors).toEqual([]);
    expect(d.state).toBe('completed');
    expect(d.checkpoint).toBeUndefined();
    await appAdapter(rt).saveVideoToPhotosAlbum!(file);
    expect(readFileSync(rt.media.album[0]).equals(LD)).toBe(true);
  });

  it('token expiry between prepare and start: expired STS → POP_TOKEN_EXPIRED; updateWithVid(fresh STS) → start works', async () => {
    const rt = runtime();
    const { app, d, rec, saveDir } = setup(rt);
    d.setSaveDirectory(saveDir);
    const sts = await stsSource(app);
    const info = await d.prepare(sts);
    d.selectTrack(trackIndex(info, 'SD', 'mp4'));
    // the PlayURLs are revoked and the STS credentials expire before start()
    await admin('POST', '/_admin/expire-urls', { videoId: CLIP });
    await admin('POST', '/_admin/credentials/expire', { accessKeyId: sts.accessKeyId }, stack.cloud!.vod);
    const e = await errorOf(d.start());
    expect(e.code).toBe('ERROR_SERVER_POP_TOKEN_EXPIRED');
    expect(e.errorCode).toBe(536936717);
    d.updateWithVid(await stsSource(app));
    const file = await d.start();
    expect(fileBytes(rt, file).equals(SD)).toBe(true);
    await until(() => rec.events.includes('completion'), 'completion');
    expect(rec.events.filter((x) => x.startsWith('error:'))).toEqual(['error:ERROR_SERVER_POP_TOKEN_EXPIRED']);
  });

  it('a 403 mid-file (URLs revoked after 40 KiB) gets fresh play info and continues from the committed byte', async () => {
    const rt = runtime();
    const { app, d, saveDir } = setup(rt, { parallel: 1 });
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'SD', 'mp4'));
    await admin('POST', '/_admin/faults', { type: 'expireAfter', bytes: 40 * KB, path: `/${CLIP}/` });
    const file = await d.start();
    expect(fileBytes(rt, file).equals(SD)).toBe(true);
    const statuses = cdnRequests(rt).map((r) => r.status);
    expect(statuses).toContain(403);
    const i403 = statuses.indexOf(403);
    // the retried range is the one that got 403, and nothing before it is fetched again
    const ranges = cdnRequests(rt).map((r) => (r.header && (r.header.Range || r.header.range)) as string);
    expect(ranges[i403 + 1]).toBe(ranges[i403]);
    expect(new Set(ranges).size).toBe(Math.ceil(SD.length / (16 * KB)));
  });

  it('one revocation refuses all 3 chunks in flight (403 ×3): one play-info refresh, the other two wait for it, the file completes byte-exact', async () => {
    const rt = runtime();
    const { app, d, rec, saveDir } = setup(rt, { parallel: 3 });
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'LD', 'mp4'));
    const cdn = new RegExp(`^${stack.cloud!.cdn!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
    const first = createGate('chunks 0-2');
    const second = createGate('chunks 3-5');
    const refresh = createGate('play-info refresh');
    rt.faults.add({ match: { url: cdn }, times: 3, action: { type: 'hold', gate: first } });
    rt.faults.add({ match: { url: cdn }, times: 3, action: { type: 'hold', gate: second } });
    rt.faults.add({ match: { url: /\/api\/vod\/play-info/ }, times: 1, action: { type: 'hold', gate: refresh } });
    const run = d.start();
    await first.waiting(3);
    first.open();
    // the next three chunk requests wait before connecting; their URL is revoked meanwhile: three real 403s at once
    await second.waiting(3);
    await admin('POST', '/_admin/expire-urls');
    second.open();
    // the refresh the first 403 starts is held until all three 403s have been answered
    await refresh.waiting(1);
    await until(() => cdnRequests(rt).filter((r) => r.status === 403).length === 3, 'three 403s');
    refresh.open();
    const file = await run;
    expect(fileBytes(rt, file).equals(LD)).toBe(true);
    expect(rt.requests.filter((r) => r.url.includes('/api/vod/play-info')).length).toBe(2); // prepare + ONE refresh
    expect(rec.errors).toEqual([]);
  });

  it('a connection dropped mid-chunk is retried for that chunk only; a changed ETag restarts from 0', async () => {
    const rt = runtime();
    const { app, d, saveDir } = setup(rt, { parallel: 1 });
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'LD', 'mp4'));
    await admin('POST', '/_admin/faults', { type: 'dropAfter', bytes: 1000, path: `/${CLIP}/` });
    await admin('POST', '/_admin/faults', { type: 'hold', minStart: 48 * KB, path: `/${CLIP}/` });
    const run = d.start();
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 1, 'the chunk at 48 KiB held');
    await admin('POST', '/_admin/faults', { type: 'changeEtag', path: `/${CLIP}/` });
    await admin('POST', '/_admin/faults/release');
    const file = await run;
    expect(fileBytes(rt, file).equals(LD)).toBe(true);
    const reqs = cdnRequests(rt);
    expect(reqs.filter((r) => r.error).length).toBe(1);
    const ranges = reqs.map((r) => (r.header && (r.header.Range || r.header.range)) as string);
    // dropped chunk retried once; after the ETag change the download starts over at byte 0
    expect(ranges[0]).toBe(ranges[1]);
    expect(ranges.filter((x) => x === `bytes=0-${16 * KB - 1}`).length).toBe(3);
  });
});

describe('HLS (AES-128) → MP4', () => {
  it('the encrypted SD HLS track becomes one progressive MP4 whose sample counts and duration match the source (mp4box)', async () => {
    const rt = runtime();
    const { app, d, rec, saveDir } = setup(rt);
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    const t = info.tracks[trackIndex(info, 'SD', 'm3u8')];
    expect(t).toMatchObject({ encrypt: true, encryptType: 'HLSEncryption', supported: true });
    d.selectTrack(t.trackIndex);
    const file = await d.start();
    expect(file).toBe(`${saveDir}/${CLIP}_m3u8_2.mp4`);
    const ours = mp4Info(fileBytes(rt, file));
    const ref = mp4Info(SD);
    expect(ours.isFragmented).toBe(false);
    for (const type of ['video', 'audio']) {
      expect(ours.tracks.find((x) => x.type === type)!.nb_samples).toBe(ref.tracks.find((x) => x.type === type)!.nb_samples);
    }
    expect(Math.abs(ours.duration / ours.timescale - ref.duration / ref.timescale)).toBeLessThan(0.1);
    await until(() => rec.events.includes('completion'), 'completion');
    expect(rec.processing[0]).toBe(0);
    expect(rec.processing[rec.processing.length - 1]).toBe(100);
    // the key was fetched once, the segments are gone, and the album takes the result
    expect(cdnRequests(rt).filter((r) => r.url.includes('/decrypt')).length).toBe(1);
    expect(rt.wx.getFileSystemManager().readdirSync(saveDir)).toEqual([`${CLIP}_m3u8_2.mp4`]);
    await appAdapter(rt).saveVideoToPhotosAlbum!(file);
  });

  it('VidSts without an MtsHlsUriToken → GET_AES_KEY_FAIL; with a token from /api/vod/hls-token → done', async () => {
    const rt = runtime();
    const { app, d, saveDir } = setup(rt);
    d.setSaveDirectory(saveDir);
    const sts = await stsSource(app);
    const info = await d.prepare(sts);
    d.selectTrack(trackIndex(info, 'SD', 'm3u8'));
    expect((await errorOf(d.start())).code).toBe('DOWNLOAD_ERROR_GET_AES_KEY_FAIL');
    const { MtsHlsUriToken } = await app.call<{ MtsHlsUriToken: string }>('POST', '/api/vod/hls-token', { videoId: CLIP });
    d.updateWithVid({ ...(await stsSource(app)), playConfig: { MtsHlsUriToken } });
    const file = await d.start();
    expect(mp4Info(fileBytes(rt, file)).tracks.find((x) => x.type === 'video')!.nb_samples).toBe(150);
  });

  it('saveVideoToPhotosAlbum refuses a non-MP4 file (WeChat: invalid file type)', async () => {
    const rt = runtime();
    const p = `${rt.wx.env.USER_DATA_PATH}/x.ts`;
    rt.wx.getFileSystemManager().writeFileSync(p, 'not a video');
    await expect(appAdapter(rt).saveVideoToPhotosAlbum!(p)).rejects.toMatchObject({ message: expect.stringContaining('invalid file type') });
  });
});

describe('network budget', () => {
  it('uploads (VODUpload, parallel 5) and downloads (2 items × 6) together never hand WeChat more than 10 tasks', async () => {
    const rt = runtime();
    // count what the SDK hands to wx (not what the runtime lets run): +1 on call, −1 on complete
    let active = 0;
    let max = 0;
    const kinds = { up: 0, down: 0 };
    let both = false;
    for (const api of ['request', 'uploadFile', 'downloadFile']) {
      const orig = rt.wx[api];
      rt.wx[api] = (o: any) => {
        const kind = String(o.url).startsWith(stack.cloud!.cdn!) ? 'down' : o.method === 'PUT' || api === 'uploadFile' ? 'up' : undefined;
        active++;
        if (kind) kinds[kind]++;
        if (kinds.up > 0 && kinds.down > 0) both = true;
        max = Math.max(max, active);
        const done = o.complete;
        o.complete = (r: unknown) => {
          active--;
          if (kind) kinds[kind]--;
          if (done) done(r);
        };
        return orig(o);
      };
    }
    const adapter = appAdapter(rt);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    // the downloads take their 6 slots first and are held at the CDN
    await admin('POST', '/_admin/faults', { type: 'hold', times: null, path: `/${CLIP}/` });
    const runs: Array<Promise<string>> = [];
    for (const def of ['LD', 'SD']) {
      // held requests must outlive the upload however slow the machine is: WeChat's longest timeout, not the 15 s default
      const d = new AliMediaDownloader({ adapter, chunkSize: 16 * KB, parallel: 6, timeoutMs: 60000 });
      d.setSaveDirectory(`${rt.wx.env.USER_DATA_PATH}/downloads`);
      const info = await d.prepare({ vid: CLIP, appClient: app });
      d.selectTrack(trackIndex(info, def, 'mp4'));
      runs.push(d.start());
    }
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 6, 'six download requests held');
    let ended!: () => void;
    const end = new Promise<void>((r) => (ended = r));
    const failures: string[] = [];
    const up = new VODUpload({
      userId: 'e2e',
      adapter: appAdapter(rt), // its own adapter object: the budget is shared per wx, not per adapter
      partSize: 100 * KB,
      parallel: 5,
      getUploadAuth: (i: VODUploadInfo) => app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', i.videoId ? { videoId: i.videoId } : { title: 'budget', fileName: i.file.name, fileSize: i.fileSize }),
      onUploadFailed: (_i, code) => failures.push(code),
      onUploadEnd: () => ended(),
    });
    up.addFile({ url: rt.files.writeTempSized('budget.mp4', 1200 * KB) });
    up.startUpload();
    await until(() => both && kinds.up >= 4, 'uploads running beside the held downloads');
    await end;
    expect(failures).toEqual([]);
    await admin('DELETE', '/_admin/faults');
    const files = await Promise.all(runs);
    expect(fileBytes(rt, files[0]).equals(LD)).toBe(true);
    expect(fileBytes(rt, files[1]).equals(SD)).toBe(true);
    // exactly the cap: 6 held downloads + 4 of the uploader's 5 parts; the 5th part waited in the SDK, not in WeChat
    expect(max).toBe(10);
  });
});

describe('resume, storage, background, wrong state', () => {
  it('kill → restoreUnfinished → start finishes byte-exact; re-downloaded bytes ≤ parallel × chunk', async () => {
    const sandboxDir = path.join(require('node:os').tmpdir(), `dl-kill-${randomBytes(4).toString('hex')}`);
    const openid = `odl${randomBytes(6).toString('hex')}`;
    const rt1 = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid, sandboxDir });
    const chunk = 16 * KB;
    const parallel = 3;
    const one = setup(rt1, { chunkSize: chunk, parallel });
    one.d.setSaveDirectory(one.saveDir);
    const info = await one.d.prepare({ vid: CLIP, appClient: one.app });
    const idx = trackIndex(info, 'SD', 'mp4');
    one.d.selectTrack(idx);
    // hold every request from the middle on: the app is killed with those in flight
    await admin('POST', '/_admin/faults', { type: 'hold', minStart: Math.floor(SD.length / 2 / chunk) * chunk, times: null, path: `/${CLIP}/` });
    one.d.start().catch(() => undefined);
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 1, 'requests held at ~50 %');
    await until(() => (one.d.progress.written >= Math.floor(SD.length / 2 / chunk) * chunk), 'first half committed');
    const committedAtKill = one.d.progress.written;
    await rt1.kill();
    await admin('DELETE', '/_admin/faults');
    const run1Bytes = rt1.requests.reduce((n, r) => n + (r.bytesReceived || 0), 0);
    await rt1.close();

    const rt2 = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid, sandboxDir });
    runtimes.push(rt2);
    const adapter = appAdapter(rt2);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    const restored = await AliMediaDownloader.restoreUnfinished({ adapter, chunkSize: chunk, parallel, source: (c) => ({ vid: c.vid, appClient: app }) });
    expect(restored).toHaveLength(1);
    const d = restored[0];
    expect(d.state).toBe('stopped');
    expect(d.stopReason).toBe('restored');
    expect(d.selectedTrack).toMatchObject({ trackIndex: idx, vodDefinition: 'SD', vodFormat: 'mp4', vodFileSize: SD.length });
    expect(d.progress.written).toBe(committedAtKill);
    const file = await d.start();
    expect(fileBytes(rt2, file).equals(SD)).toBe(true);
    const run2Bytes = cdnRequests(rt2).reduce((n, r) => n + (r.bytesReceived || 0), 0);
    expect(run2Bytes).toBe(SD.length - committedAtKill);
    const wasted = run1Bytes + run2Bytes - SD.length;
    expect(wasted).toBeLessThanOrEqual(parallel * chunk);
    require('node:fs').rmSync(sandboxDir, { recursive: true, force: true });
  });

  it('no space: NO_SPACE before any byte when the track will not fit the 200 MB budget', async () => {
    const rt = runtime();
    const { app, d, rec, saveDir } = setup(rt, { storageQuota: 2 * 1024 * KB });
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'SD', 'mp4'));
    const e = await errorOf(d.start());
    expect(e.code).toBe('DOWNLOAD_ERROR_NO_SPACE');
    expect(e.errorCode).toBe(0x3001000d);
    expect(cdnRequests(rt)).toHaveLength(0);
    await until(() => rec.errors.length === 1, 'onError');
  });

  it('a quota failure while writing (WeChat errno 1300202) → NO_SPACE; the half-written file is not counted as done', async () => {
    const rt = runtime({ userDataQuota: 64 * KB });
    const { app, d, saveDir } = setup(rt);
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'LD', 'mp4'));
    const e = await errorOf(d.start());
    expect(e.code).toBe('DOWNLOAD_ERROR_NO_SPACE');
    expect(d.getFilePath()).toBe('');
    expect(existsSync(rt.files.realPath(`${saveDir}/${CLIP}_mp4_0.mp4`))).toBe(false);
    expect(d.checkpoint).toMatchObject({ state: 'error' });
    expect(d.checkpoint!.committed).toBeLessThan(LD.length);
  });

  it('interrupted (background) → stopped with reason background → continues on onAppShow and completes', async () => {
    const rt = runtime({ backgroundInterruptMs: 30 });
    const { app, d, rec, saveDir } = setup(rt, { parallel: 2 });
    d.setSaveDirectory(saveDir);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.selectTrack(trackIndex(info, 'SD', 'mp4'));
    await admin('POST', '/_admin/faults', { type: 'hold', minStart: 64 * KB, times: null, path: `/${CLIP}/` });
    const first = d.start();
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 1, 'a request held');
    rt.app.hide();
    const e = await errorOf(first);
    expect(e.code).toBe('ABORTED');
    expect(d.state).toBe('stopped');
    expect(d.stopReason).toBe('background');
    expect(rec.errors).toEqual([]);
    await admin('DELETE', '/_admin/faults');
    rt.app.show();
    await until(() => d.state === 'completed', 'completed after show');
    expect(fileBytes(rt, d.getFilePath()).equals(SD)).toBe(true);
    expect(rec.events.filter((x) => x === 'completion')).toHaveLength(1);
  });

  it('wrong-state calls: start without save dir, start before select, delete while downloading, selectTrack of an unknown index', async () => {
    const rt = runtime();
    const { app, d, saveDir } = setup(rt);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    expect((await errorOf(d.start())).code).toBe('DOWNLOAD_ERROR_NOT_SET_SAVE_DIR');
    d.setSaveDir(saveDir);
    expect((await errorOf(d.start())).code).toBe('DOWNLOAD_ERROR_NOT_SELECT_ITEM');
    expect(() => d.selectTrack(99)).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_INVALID_ITEM' }));
    d.selectTrack(trackIndex(info, 'SD', 'mp4'));
    await admin('POST', '/_admin/faults', { type: 'hold', minStart: 16 * KB, times: null, path: `/${CLIP}/` });
    const run = d.start();
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 1, 'a request held');
    expect((await errorOf(d.deleteFile())).code).toBe('DOWNLOAD_ERROR_CLEAN_WRONG_STATUS');
    d.stop();
    expect((await errorOf(run)).code).toBe('ABORTED');
    await admin('DELETE', '/_admin/faults');
    expect(d.checkpoint).toMatchObject({ state: 'stopped' });
    await d.deleteFile();
    expect(d.checkpoint).toBeUndefined();
    expect(existsSync(rt.files.realPath(`${saveDir}/${CLIP}_mp4_1.mp4.part`))).toBe(false);
  });
});
