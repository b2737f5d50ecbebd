/**
 * Secure download end to end: AliMediaDownloader with `secure: true` through the Node wx runtime and our wx adapter,
 * over real loopback sockets, against the dev stack. The key comes from the AppServer (POST /api/vod/download-key,
 * derived per user and video); what lands on disk is checked against the committed renditions.
 */
import { createDecipheriv, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AliMediaDownloader, AppClient, createWxAdapter, DownloaderErrorCode, SECURE_HEADER_SIZE } from 'mp-media-sdk';
import type { DownloaderError, PlatformAdapter } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { MEDIA_DIR, SAMPLE_VIDEO_IDS } from '../../server/cloud/aliyun-vod/play';
import { until } from '../harness/until';
import { mp4Info } from '../harness/mp4-inspect';

jest.setTimeout(120000);

const CLIP = SAMPLE_VIDEO_IDS.clip;
const LD = readFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4'));
const SD = readFileSync(path.join(MEDIA_DIR, 'clip-6s', '270p.mp4'));
const KB = 1024;

let stack: DevStack;
const runtimes: WxRuntime[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
});
afterEach(async () => {
  await admin('DELETE', '/_admin/faults');
  while (runtimes.length) await (runtimes.pop() as WxRuntime).close();
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});
afterAll(async () => {
  await stack.close();
});

async function admin<T = any>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.cloud!.cdn!}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

function runtime(opts: Parameters<typeof createWxRuntime>[0] = {}): WxRuntime {
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `osec${randomBytes(6).toString('hex')}`, ...opts });
  runtimes.push(rt);
  return rt;
}

function appAdapter(rt: WxRuntime): PlatformAdapter {
  return { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
}

function setup(rt: WxRuntime, opts: { chunkSize?: number; parallel?: number } = {}) {
  const adapter = appAdapter(rt);
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  const d = new AliMediaDownloader({ adapter, chunkSize: opts.chunkSize ?? 16 * KB, parallel: opts.parallel ?? 3, retryDelayMs: 10, secure: true });
  const saveDir = `${rt.wx.env.USER_DATA_PATH}/downloads`;
  d.setSaveDirectory(saveDir);
  return { adapter, app, d, saveDir };
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

/** The user's key as the AppServer hands it out. */
async function keyOf(app: AppClient, vid = CLIP): Promise<Buffer> {
  const r = await app.call<{ key: string; keyId: string; algorithm: string }>('POST', '/api/vod/download-key', { videoId: vid });
  expect(r).toMatchObject({ videoId: vid, keyId: 'v1', algorithm: 'AES-128-CTR' });
  return Buffer.from(r.key, 'base64');
}

/** Independent decryption with Node's own AES-128-CTR (counter block = nonce ‖ stream 0 ‖ block 0). */
function nodeDecrypt(file: Buffer, key: Buffer): Buffer {
  const header = JSON.parse(file.subarray(12, 12 + file.readUInt32BE(8)).toString('ascii'));
  const iv = Buffer.concat([Buffer.from(header.nonce, 'hex'), Buffer.alloc(8)]);
  const d = createDecipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([d.update(file.subarray(SECURE_HEADER_SIZE)), d.final()]);
}

/** True when any 64-byte window of `plain` (sampled every 4 KiB) appears in `onDisk`. */
function leaksPlaintext(onDisk: Buffer, plain: Buffer): boolean {
  for (let o = 0; o + 64 <= plain.length; o += 4 * KB) if (onDisk.includes(plain.subarray(o, o + 64))) return true;
  return false;
}

describe('secure download (encrypted at rest, per-user key from the AppServer)', () => {
  it('an MP4 track lands encrypted (.mp4.enc, no plaintext window on disk) and decrypts byte-exact through getPlayablePath; closeSecure removes the copy', async () => {
    const rt = runtime();
    const { app, d, saveDir, adapter } = setup(rt);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    const t = info.tracks.find((x) => x.vodDefinition === 'LD' && x.vodFormat === 'mp4')!;
    d.selectTrack(t.trackIndex);
    const file = await d.start();
    expect(file).toBe(`${saveDir}/${CLIP}_mp4_${t.trackIndex}.mp4.enc`);
    const onDisk = fileBytes(rt, file);
    expect(onDisk.length).toBe(LD.length + SECURE_HEADER_SIZE);
    expect(onDisk.subarray(0, 8).toString('ascii')).toBe('MPMKSEC1');
    expect(leaksPlaintext(onDisk, LD)).toBe(false);
    expect(onDisk.includes(Buffer.from('ftyp'))).toBe(false);
    // an independent AES-CTR (Node's) with the user's key gives the original back
    expect(nodeDecrypt(onDisk, await keyOf(app)).equals(LD)).toBe(true);
    // the album refuses the encrypted file (not an MP4)
    await expect(adapter.saveVideoToPhotosAlbum!(file)).rejects.toBeDefined();

    const playable = await d.getPlayablePath();
    expect(playable).toMatch(new RegExp(`^${rt.wx.env.USER_DATA_PATH}/mp-media-kit-secure-play/${CLIP}_[0-9a-z]+\\.mp4$`));
    expect(fileBytes(rt, playable).equals(LD)).toBe(true);
    await AliMediaDownloader.closeSecure(playable, adapter);
    expect(await adapter.fs.exists(playable)).toBe(false);
    // closeSecure never deletes the download itself
    await AliMediaDownloader.closeSecure(file, adapter);
    expect(await adapter.fs.exists(file)).toBe(true);
  });

  it('another user\'s key fails: the file copied into another user\'s sandbox → DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH; keys are per user, stable across calls', async () => {
    const rtA = runtime();
    const a = setup(rtA);
    const info = await a.d.prepare({ vid: CLIP, appClient: a.app });
    a.d.selectTrack(info.tracks.find((x) => x.vodDefinition === 'LD' && x.vodFormat === 'mp4')!.trackIndex);
    const file = await a.d.start();

    const rtB = runtime();
    const b = setup(rtB);
    const keyA = await keyOf(a.app);
    const keyB = await keyOf(b.app);
    expect(keyA.length).toBe(16);
    expect(keyB.equals(keyA)).toBe(false);
    expect((await keyOf(a.app)).equals(keyA)).toBe(true); // derived, not random: the same on every call / instance
    const copied = `${rtB.wx.env.USER_DATA_PATH}/stolen.mp4.enc`;
    copyFileSync(rtA.files.realPath(file), rtB.files.realPath(copied));
    const e = await errorOf(AliMediaDownloader.openSecure(copied, { key: b.app, adapter: b.adapter }));
    expect(e.code).toBe('DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH');
    expect(e.errorCode).toBe(DownloaderErrorCode.DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH);
    expect(e.errorCode).toBe(805371912);
    expect(readdirSync(rtB.files.realPath(rtB.wx.env.USER_DATA_PATH)).filter((n) => n.startsWith('mp-media-kit-secure-play')).flatMap((n) => readdirSync(rtB.files.realPath(`${rtB.wx.env.USER_DATA_PATH}/${n}`)))).toEqual([]);
    // a plain file is not a secure download
    const plain = `${rtB.wx.env.USER_DATA_PATH}/plain.mp4`;
    copyFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4'), rtB.files.realPath(plain));
    expect((await errorOf(AliMediaDownloader.openSecure(plain, { key: b.app, adapter: b.adapter }))).code).toBe('DOWNLOAD_ERROR_ENCRYPT_ERROR');
    expect((await errorOf(AliMediaDownloader.openSecure(`${rtB.wx.env.USER_DATA_PATH}/none.enc`, { key: b.app, adapter: b.adapter }))).code).toBe('DOWNLOAD_ERROR_FILE_NOT_EXIST');
  });

  it('download-key: a video neither yours nor public → 403 VideoForbidden (start fails before any media byte); a malformed videoId → 400', async () => {
    const rt = runtime();
    const { app, d } = setup(rt);
    const forbidden = await errorOf(app.call('POST', '/api/vod/download-key', { videoId: 'a0000000000000000000000000000000' }));
    expect(forbidden).toMatchObject({ code: 'VideoForbidden' });
    const bad = await errorOf(app.call('POST', '/api/vod/download-key', { videoId: '../etc' }));
    expect(bad.details).toMatchObject({ statusCode: 400 });
    // a key source that refuses: the item fails with the native code and nothing was fetched from the CDN
    const info = await d.prepare({ vid: CLIP, appClient: app });
    d.setSecureMode(true, async () => {
      throw Object.assign(new Error('no key for you'), { code: 'VideoForbidden', details: { statusCode: 403 } });
    });
    d.selectTrack(info.tracks[0].trackIndex);
    const e = await errorOf(d.start());
    expect(e.code).toBe('ERROR_SERVER_POP_FORBIDDEN');
    expect(rt.requests.filter((r) => r.url.startsWith(stack.cloud!.cdn!))).toEqual([]);
  });

  it('kill → restoreUnfinished → start: the resumed secure file still decrypts byte-exact (same nonce, CTR at the committed byte)', async () => {
    const sandboxDir = path.join(os.tmpdir(), `dl-sec-kill-${randomBytes(4).toString('hex')}`);
    dirs.push(sandboxDir);
    const openid = `osec${randomBytes(6).toString('hex')}`;
    const rt1 = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid, sandboxDir });
    const chunk = 16 * KB;
    const parallel = 3;
    const one = setup(rt1, { chunkSize: chunk, parallel });
    const info = await one.d.prepare({ vid: CLIP, appClient: one.app });
    one.d.selectTrack(info.tracks.find((x) => x.vodDefinition === 'SD' && x.vodFormat === 'mp4')!.trackIndex);
    const half = Math.floor(SD.length / 2 / chunk) * chunk;
    await admin('POST', '/_admin/faults', { type: 'hold', minStart: half, times: null, path: `/${CLIP}/` });
    one.d.start().catch(() => undefined);
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 1, 'requests held at ~50 %');
    await until(() => one.d.progress.written >= half, 'first half committed');
    const committedAtKill = one.d.progress.written;
    const part = `${one.saveDir}/${CLIP}_mp4_1.mp4.enc.part`;
    const partAtKill = fileBytes(rt1, part);
    expect(partAtKill.length).toBeGreaterThanOrEqual(committedAtKill + SECURE_HEADER_SIZE);
    expect(leaksPlaintext(partAtKill, SD.subarray(0, committedAtKill))).toBe(false);
    // a decrypted playback copy left by the kill (as openSecure makes them) goes at the next launch
    const leftover = `${rt1.wx.env.USER_DATA_PATH}/mp-media-kit-secure-play`;
    mkdirSync(rt1.files.realPath(leftover), { recursive: true });
    copyFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4'), rt1.files.realPath(`${leftover}/${CLIP}_old.mp4`));
    await rt1.kill();
    await admin('DELETE', '/_admin/faults');
    await rt1.close();

    const rt2 = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid, sandboxDir });
    runtimes.push(rt2);
    const adapter = appAdapter(rt2);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    const restored = await AliMediaDownloader.restoreUnfinished({ adapter, chunkSize: chunk, parallel, source: (c) => ({ vid: c.vid, appClient: app }) });
    expect(readdirSync(rt2.files.realPath(leftover))).toEqual([]);
    expect(restored).toHaveLength(1);
    const d = restored[0];
    expect(d.secure).toBe(true);
    expect(d.checkpoint).toMatchObject({ secure: true });
    expect(d.progress.written).toBe(committedAtKill);
    const file = await d.start();
    expect(file).toBe(`${one.saveDir}/${CLIP}_mp4_1.mp4.enc`);
    const onDisk = fileBytes(rt2, file);
    // the bytes written before the kill were kept (same header, same ciphertext), not re-downloaded
    expect(onDisk.subarray(0, SECURE_HEADER_SIZE + committedAtKill).equals(partAtKill.subarray(0, SECURE_HEADER_SIZE + committedAtKill))).toBe(true);
    expect(rt2.requests.filter((r) => r.url.startsWith(stack.cloud!.cdn!)).reduce((n, r) => n + (r.bytesReceived || 0), 0)).toBe(SD.length - committedAtKill);
    expect(nodeDecrypt(onDisk, await keyOf(app)).equals(SD)).toBe(true);
    const playable = await d.getPlayablePath();
    expect(fileBytes(rt2, playable).equals(SD)).toBe(true);
    await AliMediaDownloader.closeSecure(playable, adapter);
  });

  it('the encrypted HLS track → a secure MP4: segments on disk are encrypted too, and the decrypted copy matches the source sample counts (mp4box)', async () => {
    const rt = runtime();
    const { app, d, saveDir, adapter } = setup(rt);
    const info = await d.prepare({ vid: CLIP, appClient: app });
    const t = info.tracks.find((x) => x.vodFormat === 'm3u8')!;
    d.selectTrack(t.trackIndex);
    // hold the last segment: the finished ones are on disk, encrypted
    await admin('POST', '/_admin/faults', { type: 'hold', path: '-2.ts', times: 1 });
    const run = d.start();
    await until(async () => (await admin('GET', '/_admin/holds')).held >= 1, 'last segment held');
    const segDir = rt.files.realPath(saveDir);
    await until(() => readdirSync(segDir).filter((n) => /\.seg\d+$/.test(n)).length >= 2, 'two segments on disk');
    for (const name of readdirSync(segDir).filter((n) => /\.seg\d+$/.test(n))) {
      const seg = readFileSync(path.join(segDir, name));
      expect(seg[0]).not.toBe(0x47); // a clear TS starts every 188-byte packet with the sync byte 0x47
      expect(seg[188]).not.toBe(0x47);
    }
    // progress is in bytes of the track's Size (not segments), below 100 % while a segment is missing
    await until(() => d.progress.written > 0, 'bytes counted');
    expect(d.progress.total).toBe(t.vodFileSize);
    expect(d.progress.written).toBeLessThan(t.vodFileSize);
    // exactly the two finished segments as served (AES-128-CBC with PKCS#7: the next multiple of 16)
    const served = (i: number) => (Math.floor(readFileSync(path.join(MEDIA_DIR, 'clip-6s', '270p', `seg${i}.ts`)).length / 16) + 1) * 16;
    await until(() => d.progress.written === served(0) + served(1), 'segments 0 and 1 counted');
    await admin('DELETE', '/_admin/faults');
    const file = await run;
    expect(d.progress).toEqual({ written: t.vodFileSize, total: t.vodFileSize });
    expect(file).toBe(`${saveDir}/${CLIP}_m3u8_${t.trackIndex}.mp4.enc`);
    expect(readdirSync(segDir)).toEqual([`${CLIP}_m3u8_${t.trackIndex}.mp4.enc`]);
    const onDisk = fileBytes(rt, file);
    expect(onDisk.includes(Buffer.from('ftyp'))).toBe(false);
    const playable = await d.getPlayablePath();
    const ours = mp4Info(fileBytes(rt, playable));
    const ref = mp4Info(SD);
    expect(ours.isFragmented).toBe(false);
    for (const type of ['video', 'audio']) expect(ours.tracks.find((x) => x.type === type)!.nb_samples).toBe(ref.tracks.find((x) => x.type === type)!.nb_samples);
    await adapter.saveVideoToPhotosAlbum!(playable); // the decrypted copy is a real MP4
    await AliMediaDownloader.closeSecure(playable, adapter);
  });
});
