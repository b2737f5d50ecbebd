/**
 * The local Polyv cloud's videos: sample renditions read from the committed fixture (server/cloud/media/clip-6s),
 * served as AES-128 encrypted HLS exactly as a stock HLS player expects it (EXT-X-KEY METHOD=AES-128 with an explicit
 * IV, segments AES-128-CBC with PKCS#7 padding over the whole MPEG-TS segment).
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURE_DIR = path.resolve(__dirname, '../media/clip-6s');

export interface Rendition {
  name: string;
  width: number;
  height: number;
  /** bits per second (nominal, for the video-info APIs). */
  bitrate: number;
  segments: Array<{ duration: number; data: Buffer }>;
  duration: number;
  size: number;
}

/** Polyv definitions: 1 流畅 (SD), 2 高清 (HD), 3 超清 (FHD). */
export type DefinitionNo = 1 | 2 | 3;
export const DEFINITION_NAMES: Record<DefinitionNo, string> = { 1: 'SD', 2: 'HD', 3: 'FHD' };

export interface CloudVideo {
  vid: string;
  /** The 32-character part before the `_x` suffix. */
  vid32: string;
  /** The suffix character after `_`. */
  suffix: string;
  userId: string;
  title: string;
  description: string;
  /** Definition number → rendition. */
  definitions: Array<{ df: DefinitionNo; rendition: Rendition }>;
  duration: number;
  /** 60/61 published, 10 waiting for encoding, 20 encoding, -1 deleted (Polyv's video status codes). */
  status: number;
  hlsLevel: 'open' | 'web' | 'app' | 'wxa_app';
  createdAt: number;
}

function parsePlaylist(dir: string, bitrate: number, width: number, height: number, name: string): Rendition {
  const m3u8 = readFileSync(path.join(dir, 'index.m3u8'), 'utf8');
  const segments: Rendition['segments'] = [];
  let pendingDuration: number | undefined;
  for (const raw of m3u8.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) pendingDuration = parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      if (pendingDuration === undefined) throw new Error(`fixture playlist ${dir}: segment ${line} without #EXTINF`);
      segments.push({ duration: pendingDuration, data: readFileSync(path.join(dir, line)) });
      pendingDuration = undefined;
    }
  }
  if (!segments.length) throw new Error(`fixture playlist ${dir} has no segments`);
  return {
    name,
    width,
    height,
    bitrate,
    segments,
    duration: segments.reduce((s, x) => s + x.duration, 0),
    size: segments.reduce((s, x) => s + x.data.length, 0),
  };
}

let cachedRenditions: { low: Rendition; high: Rendition; cover: Buffer } | undefined;

/** The two fixture renditions (read once per process). */
export function loadFixture(): { low: Rendition; high: Rendition; cover: Buffer } {
  if (!cachedRenditions) {
    cachedRenditions = {
      low: parsePlaylist(path.join(FIXTURE_DIR, '180p'), 170000, 320, 180, '180p'),
      high: parsePlaylist(path.join(FIXTURE_DIR, '270p'), 300000, 480, 270, '270p'),
      cover: readFileSync(path.join(FIXTURE_DIR, 'cover.jpg')),
    };
  }
  return cachedRenditions;
}

/** A Polyv-shaped vid: the 10-character userId + 22 hex characters + `_` + the userId's first character. */
export function makeVid(userId: string, seed: string): string {
  const hex = createHash('md5').update(`${userId}:${seed}`).digest('hex');
  const vid32 = (userId + hex).slice(0, 32);
  return `${vid32}_${userId[0]}`;
}

export function splitVid(vid: string): { vid32: string; suffix: string } | undefined {
  const m = /^([0-9A-Za-z]{32})_([0-9A-Za-z])$/.exec(vid);
  return m ? { vid32: m[1], suffix: m[2] } : undefined;
}

/** The sample library seeded on start (stable vids, so bookmarks survive restarts). */
export function sampleVideos(userId: string, now: number): CloudVideo[] {
  const { low, high } = loadFixture();
  const mk = (seed: string, title: string, description: string, defs: CloudVideo['definitions'], extra: Partial<CloudVideo> = {}): CloudVideo => {
    const vid = makeVid(userId, seed);
    const { vid32, suffix } = splitVid(vid)!;
    return {
      vid,
      vid32,
      suffix,
      userId,
      title,
      description,
      definitions: defs,
      duration: Math.max(...defs.map((d) => d.rendition.duration)),
      status: 61,
      hlsLevel: 'wxa_app',
      createdAt: now,
      ...extra,
    };
  };
  return [
    mk('sample-1', '本地样片 · 彩条 (流畅/高清)', 'testsrc2 pattern with a 440 Hz tone, two definitions', [
      { df: 1, rendition: low },
      { df: 2, rendition: high },
    ]),
    mk('sample-2', '本地样片 · 单清晰度', 'the same clip, one definition only (高清)', [{ df: 2, rendition: high }]),
    mk('sample-3', '本地样片 · 三清晰度', 'three definitions (超清 reuses the 270p rendition)', [
      { df: 1, rendition: low },
      { df: 2, rendition: high },
      { df: 3, rendition: high },
    ]),
    mk('sample-4', '本地样片 · 编码中 (不可播放)', 'status 20: still encoding, not playable yet', [{ df: 1, rendition: low }], { status: 20 }),
  ];
}

/**
 * Per-cloud key material: one random seed kept in the provider's data dir; each (vid, definition) gets its own
 * AES-128 key and each segment its own IV, both derived from the seed.
 */
export class KeyVault {
  private readonly seed: Buffer;
  private readonly cache = new Map<string, Buffer>();

  constructor(dataDir: string) {
    const file = path.join(dataDir, 'hls-key-seed');
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    this.seed = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  }

  key(vid: string, df: number): Buffer {
    return createHmac('sha256', this.seed).update(`key:${vid}:${df}`).digest().subarray(0, 16);
  }

  iv(vid: string, df: number, seq: number): Buffer {
    return createHmac('sha256', this.seed).update(`iv:${vid}:${df}:${seq}`).digest().subarray(0, 16);
  }

  /** The encrypted segment (cached: the fixture is small). */
  segment(video: CloudVideo, df: number, seq: number): Buffer | undefined {
    const def = video.definitions.find((d) => d.df === df);
    const seg = def && def.rendition.segments[seq];
    if (!seg) return undefined;
    const k = `${video.vid}:${df}:${seq}`;
    let out = this.cache.get(k);
    if (!out) {
      const c = createCipheriv('aes-128-cbc', this.key(video.vid, df), this.iv(video.vid, df, seq));
      out = Buffer.concat([c.update(seg.data), c.final()]);
      this.cache.set(k, out);
    }
    return out;
  }
}
