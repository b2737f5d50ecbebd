/**
 * Cloud recordings as HLS. A device's recording is a timeline of 2-second MPEG-TS segments on a fixed grid
 * (epoch seconds divisible by 2). Each segment's bytes come from the committed sample clip
 * (server/cloud/media/clip-6s/180p, three 2 s H.264/AAC segments) with its PTS/DTS/PCR rewritten to the segment's
 * wall-clock time, so consecutive segments form one continuous stream (a real timeshift, not a loop with
 * timestamp jumps). Timestamps restart at each UTC midnight (33-bit PTS covers 26 h); the m3u8 marks that, and
 * every gap in the recording, with #EXT-X-DISCONTINUITY.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const SEGMENT_SECONDS = 2;
const TS_PACKET = 188;
const PTS_WRAP = 2 ** 33;
const CLOCK = 90000;
/** Where a day's timestamps start (as the sample clip itself starts at 1.4 s). */
const PTS_BASE = 126000;

export const SAMPLE_CLIP_DIR = path.resolve(__dirname, '../media/clip-6s/180p');

export interface SampleClip {
  segments: Buffer[];
  /** The smallest PTS of segment 0 (the clip's time origin). */
  origin: number;
}

function readPts(b: Buffer, q: number): number {
  return ((b[q] >> 1) & 7) * 2 ** 30 + ((b[q + 1] << 22) | ((b[q + 2] >> 1) << 15) | (b[q + 3] << 7) | (b[q + 4] >> 1));
}

function writePts(b: Buffer, q: number, v: number): void {
  const prefix = b[q] & 0xf0;
  const hi = Math.floor(v / 2 ** 30) & 7;
  const lo = v % 2 ** 30;
  b[q] = prefix | (hi << 1) | 1;
  b[q + 1] = (lo >> 22) & 0xff;
  b[q + 2] = (((lo >> 15) & 0x7f) << 1) | 1;
  b[q + 3] = (lo >> 7) & 0xff;
  b[q + 4] = ((lo & 0x7f) << 1) | 1;
}

/** Calls fn for every PES header with a PTS (and DTS) and every PCR in a TS buffer. */
function walkTimestamps(b: Buffer, fn: (kind: 'pts' | 'dts' | 'pcr', offset: number, streamId: number) => void): void {
  if (b.length % TS_PACKET !== 0) throw new Error(`MPEG-TS length ${b.length} is not a multiple of 188`);
  for (let i = 0; i < b.length; i += TS_PACKET) {
    if (b[i] !== 0x47) throw new Error(`MPEG-TS sync byte missing at ${i}`);
    const pusi = (b[i + 1] & 0x40) !== 0;
    const pid = ((b[i + 1] & 0x1f) << 8) | b[i + 2];
    const afc = (b[i + 3] >> 4) & 3;
    let p = i + 4;
    if (afc & 2) {
      const len = b[p];
      if (len > 0 && b[p + 1] & 0x10) fn('pcr', p + 2, 0);
      p += 1 + len;
    }
    if (!(afc & 1) || !pusi || pid === 0 || p + 14 > i + TS_PACKET) continue;
    if (b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1) continue; // PSI section, not a PES
    const flags = b[p + 7] >> 6;
    if (flags & 2) fn('pts', p + 9, b[p + 3]);
    if (flags === 3) fn('dts', p + 14, b[p + 3]);
  }
}

function readPcrBase(b: Buffer, q: number): number {
  return b[q] * 2 ** 25 + ((b[q + 1] << 17) | (b[q + 2] << 9) | (b[q + 3] << 1) | (b[q + 4] >> 7));
}

function writePcrBase(b: Buffer, q: number, v: number): void {
  const hi = Math.floor(v / 2 ** 25);
  const lo = v % 2 ** 25;
  b[q] = hi & 0xff;
  b[q + 1] = (lo >> 17) & 0xff;
  b[q + 2] = (lo >> 9) & 0xff;
  b[q + 3] = (lo >> 1) & 0xff;
  b[q + 4] = ((lo & 1) << 7) | (b[q + 4] & 0x7f);
}

export function loadSampleClip(dir = SAMPLE_CLIP_DIR): SampleClip {
  const segments = [0, 1, 2].map((i) => readFileSync(path.join(dir, `seg${i}.ts`)));
  let origin = Infinity;
  walkTimestamps(segments[0], (kind, q) => {
    if (kind === 'pts') origin = Math.min(origin, readPts(segments[0], q));
  });
  if (!isFinite(origin)) throw new Error('The sample clip has no PTS');
  return { segments, origin };
}

/** The TS bytes of the recording segment that starts at epoch second t (t divisible by SEGMENT_SECONDS). */
export function renderSegment(clip: SampleClip, t: number): Buffer {
  const k = Math.floor(t / SEGMENT_SECONDS) % clip.segments.length;
  const out = Buffer.from(clip.segments[k]);
  const naturalStart = clip.origin + k * SEGMENT_SECONDS * CLOCK;
  const target = PTS_BASE + (t % 86400) * CLOCK;
  const shift = (v: number) => (((v - naturalStart + target) % PTS_WRAP) + PTS_WRAP) % PTS_WRAP;
  walkTimestamps(out, (kind, q) => {
    if (kind === 'pcr') writePcrBase(out, q, shift(readPcrBase(out, q)));
    else writePts(out, q, shift(readPts(out, q)));
  });
  return out;
}

/** First video PTS (as seconds of the UTC day it encodes) of a rendered segment: tests check continuity with it. */
export function firstPtsSeconds(ts: Buffer): number {
  let first = Infinity;
  walkTimestamps(ts, (kind, q, streamId) => {
    if (kind === 'pts' && streamId >= 0xe0 && streamId <= 0xef) first = Math.min(first, readPts(ts, q));
  });
  return (first - PTS_BASE) / CLOCK;
}

export interface M3u8Segment {
  t: number;
  url: string;
}

/** A VOD m3u8 over grid segments; a discontinuity before any segment not following its predecessor, or crossing UTC midnight. */
export function buildM3u8(segments: M3u8Segment[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SEGMENT_SECONDS}`, `#EXT-X-MEDIA-SEQUENCE:${segments.length ? segments[0].t / SEGMENT_SECONDS : 0}`, '#EXT-X-PLAYLIST-TYPE:VOD'];
  let prev: number | undefined;
  for (const s of segments) {
    if (prev === undefined || s.t !== prev + SEGMENT_SECONDS || Math.floor(s.t / 86400) !== Math.floor(prev / 86400)) {
      if (prev !== undefined) lines.push('#EXT-X-DISCONTINUITY');
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.t * 1000).toISOString()}`);
    }
    lines.push(`#EXTINF:${SEGMENT_SECONDS.toFixed(3)},`, s.url);
    prev = s.t;
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** 'yyyyMMddHHmmss' in Beijing time (UTC+8), as the timeshift URLs carry it. */
export function beijingStamp(t: number): string {
  const d = new Date((t + 8 * 3600) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export function parseBeijingStamp(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return isFinite(ms) ? ms / 1000 - 8 * 3600 : undefined;
}
