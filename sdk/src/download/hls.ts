/**
 * HLS pieces of the downloader: an RFC 8216 media-playlist reader (AES-128 keys, IVs, media sequence), AES-128-CBC
 * segment decryption (crypto-js, PKCS#7), and the remux of MPEG-TS (H.264 + AAC) into ONE progressive MP4
 * (moov at the end, not fragmented) that `<video>` and wx.saveVideoToPhotosAlbum accept.
 *
 * The TS demux is mux.js's (TransportPacketStream → TransportParseStream → ElementaryStream → H264Stream / AdtsStream);
 * the MP4 writer is mp4-muxer (fastStart: false, StreamTarget): we only group NAL units into access units, build the
 * avcC / AudioSpecificConfig and hand samples over.
 */
import AES from 'crypto-js/aes';
import Hex from 'crypto-js/enc-hex';
import type { Muxer, StreamTarget } from 'mp4-muxer';
/*
 * The media libraries (~70 KB, vendored into miniprogram_dist/vendor/media.js by scripts/build-sdk.js) load on the
 * first HLS remux, not when the SDK is imported: an app that only uploads never evaluates them.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const mp4muxer = (): typeof import('mp4-muxer') => require('mp4-muxer');
// mux.js ships CommonJS without types
const m2ts = (): any => require('mux.js/lib/m2ts/m2ts.js');
const codecs = (): any => require('mux.js/lib/codecs/index.js');
/* eslint-enable @typescript-eslint/no-require-imports */
import { fromWordArray } from '../util/bytes';
import { toWordArray } from '../aliyun/word-array';
import { DownloaderError } from './errors';

export interface HlsSegment {
  uri: string;
  duration: number;
  sequence: number;
  key?: { method: 'AES-128'; uri: string; iv?: Uint8Array };
}

export interface MediaPlaylist {
  segments: HlsSegment[];
  targetDuration: number;
  endList: boolean;
}

function resolveUrl(base: string, ref: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return ref;
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)/i.exec(base);
  if (!m) return ref;
  if (ref.startsWith('/')) return m[1] + ref;
  const dir = m[2].replace(/[^/]*$/, '');
  return m[1] + dir + ref;
}

function attrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out[m[1]] = m[2].replace(/^"|"$/g, '');
  return out;
}

/** Parses a media playlist; a master playlist gives its first variant's URL in `variant`. */
export function parsePlaylist(text: string, url: string): MediaPlaylist & { variant?: string } {
  const lines = String(text).split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new DownloaderError('DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT', 'The playlist does not start with #EXTM3U.');
  const segments: HlsSegment[] = [];
  let seq = 0;
  let target = 0;
  let endList = false;
  let key: HlsSegment['key'];
  let duration = 0;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (!l) continue;
    if (l.startsWith('#EXT-X-STREAM-INF')) {
      const next = lines.slice(i + 1).find((x) => x && !x.startsWith('#'));
      if (next) return { segments: [], targetDuration: 0, endList: true, variant: resolveUrl(url, next) };
    } else if (l.startsWith('#EXT-X-MEDIA-SEQUENCE:')) seq = parseInt(l.split(':')[1], 10) || 0;
    else if (l.startsWith('#EXT-X-TARGETDURATION:')) target = parseFloat(l.split(':')[1]) || 0;
    else if (l === '#EXT-X-ENDLIST') endList = true;
    else if (l.startsWith('#EXT-X-MAP') || l.startsWith('#EXT-X-BYTERANGE')) throw new DownloaderError('DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT', `${l.split(':')[0]} (fMP4 / byte-range HLS) is not supported; TS segments are.`);
    else if (l.startsWith('#EXT-X-KEY:')) {
      const a = attrs(l.slice('#EXT-X-KEY:'.length));
      if (a.METHOD === 'NONE') key = undefined;
      else if (a.METHOD === 'AES-128') {
        if (!a.URI) throw new DownloaderError('DOWNLOAD_ERROR_GET_AES_KEY_FAIL', 'EXT-X-KEY without URI.');
        let iv: Uint8Array | undefined;
        if (a.IV) {
          const hex = a.IV.replace(/^0x/i, '').padStart(32, '0');
          if (!/^[0-9a-f]{32}$/i.test(hex)) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', `Bad IV ${a.IV}.`);
          iv = new Uint8Array(16);
          for (let j = 0; j < 16; j++) iv[j] = parseInt(hex.substr(j * 2, 2), 16);
        }
        key = { method: 'AES-128', uri: resolveUrl(url, a.URI), iv };
      } else throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPTION_NOT_SUPPORT', `HLS encryption METHOD=${a.METHOD} is not supported (AES-128 is).`);
    } else if (l.startsWith('#EXTINF:')) duration = parseFloat(l.slice(8)) || 0;
    else if (!l.startsWith('#')) {
      segments.push({ uri: resolveUrl(url, l), duration, sequence: seq + segments.length, key });
      duration = 0;
    }
  }
  if (!endList) throw new DownloaderError('DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT', 'A live playlist (no #EXT-X-ENDLIST) cannot be downloaded.');
  if (!segments.length) throw new DownloaderError('DOWNLOAD_ERROR_NO_DOWNLOAD_ITEM', 'The playlist has no segments.');
  return { segments, targetDuration: target, endList };
}

/** RFC 8216 §5.2: the IV attribute, else the media sequence number as a 128-bit big-endian integer. */
export function segmentIv(seg: HlsSegment): Uint8Array {
  if (seg.key && seg.key.iv) return seg.key.iv;
  const iv = new Uint8Array(16);
  let n = seg.sequence;
  for (let i = 15; i >= 8 && n > 0; i--) {
    iv[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return iv;
}

/** AES-128-CBC with PKCS#7 padding (HLS "AES-128"). */
export function decryptAes128Cbc(data: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new DownloaderError('DOWNLOAD_ERROR_GET_AES_KEY_FAIL', `The key has ${key.length} bytes (16 expected).`);
  if (data.length % 16 !== 0) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', 'An encrypted segment is not a multiple of 16 bytes.');
  const out = AES.decrypt({ ciphertext: toWordArray(data) } as never, toWordArray(key), { iv: toWordArray(iv) });
  const wa = out as unknown as { words: number[]; sigBytes: number };
  // a wrong key leaves garbage padding: crypto-js then reports a negative or oversized length
  if (wa.sigBytes < 0 || wa.sigBytes > data.length) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', 'Decryption failed (bad padding: wrong key or IV?).');
  return fromWordArray(wa);
}
// keep Hex referenced so bundlers keep the encoder crypto-js' AES needs for parsing
void Hex;

interface VideoFrame {
  pts: number;
  dts: number;
  key: boolean;
  nals: Uint8Array[];
}

/**
 * TS → progressive MP4. `write(data, position)` receives every byte of the output (sequential appends, then a few
 * positional patches at finalize). Feed whole segments in order with `push`, then `finish`.
 */
export class TsToMp4 {
  private packet = new (m2ts().TransportPacketStream)();
  private parse = new (m2ts().TransportParseStream)();
  private elementary = new (m2ts().ElementaryStream)();
  private h264 = new (codecs().h264.H264Stream)();
  private adts = new (codecs().Adts)();
  private sps: Uint8Array | undefined;
  private pps: Uint8Array | undefined;
  private size: { width: number; height: number } | undefined;
  private audioCfg: { aot: number; sfi: number; channels: number; rate: number } | undefined;
  private frame: VideoFrame | undefined;
  private pendingVideo: VideoFrame | undefined;
  private videoQueue: Array<{ f: VideoFrame; dur: number }> = [];
  private audioQueue: Array<{ pts: number; data: Uint8Array; dur: number }> = [];
  private muxer: Muxer<StreamTarget> | undefined;
  private videoMetaSent = false;
  private audioMetaSent = false;
  private lastVideoDur = 3600;
  videoSamples = 0;
  audioSamples = 0;

  constructor(private readonly write: (data: Uint8Array, position: number) => void) {
    this.packet.pipe(this.parse).pipe(this.elementary);
    this.elementary.pipe(this.h264);
    this.elementary.pipe(this.adts);
    this.h264.on('data', (nal: { pts: number; dts: number; data: Uint8Array; nalUnitTypeCode: number; config?: { width: number; height: number } }) => this.onNal(nal));
    this.adts.on('data', (f: { pts: number; data: Uint8Array; samplerate: number; samplingfrequencyindex: number; channelcount: number; audioobjecttype: number; sampleCount: number }) => {
      if (!this.audioCfg) this.audioCfg = { aot: f.audioobjecttype, sfi: f.samplingfrequencyindex, channels: f.channelcount, rate: f.samplerate };
      this.audioQueue.push({ pts: f.pts, data: f.data.slice(), dur: (f.sampleCount * 90000) / f.samplerate });
    });
  }

  private hasAud = false;

  /**
   * mux.js emits a NAL when it finds the next start code, so the LAST NAL of a PES arrives labelled with the next
   * PES's timestamps. Access units are therefore delimited by the AUD (type 9, first in every PES; its timestamps are
   * right); streams without AUDs fall back to timestamp changes.
   */
  private onNal(nal: { pts: number; dts: number; data: Uint8Array; nalUnitTypeCode: number; config?: { width: number; height: number } }): void {
    const t = nal.nalUnitTypeCode;
    if (t === 9) {
      this.hasAud = true;
      this.endFrame();
      this.frame = { pts: nal.pts, dts: nal.dts, key: false, nals: [] };
      return;
    }
    if (!this.hasAud && this.frame && (nal.pts !== this.frame.pts || nal.dts !== this.frame.dts) && t !== 7 && t !== 8 && t !== 6) this.endFrame();
    if (t === 7) {
      if (!this.sps) this.sps = nal.data.slice();
      if (!this.size && nal.config) this.size = { width: nal.config.width, height: nal.config.height };
      return;
    }
    if (t === 8) {
      if (!this.pps) this.pps = nal.data.slice();
      return;
    }
    if (!this.frame) this.frame = { pts: nal.pts, dts: nal.dts, key: false, nals: [] };
    if (t === 5) this.frame.key = true;
    this.frame.nals.push(nal.data.slice());
  }

  private endFrame(): void {
    const f = this.frame;
    this.frame = undefined;
    if (!f || !f.nals.length) return;
    if (!f.key && f.nals.some((n) => (n[0] & 0x1f) === 5)) f.key = true;
    if (this.pendingVideo) {
      const dur = f.dts - this.pendingVideo.dts;
      if (dur > 0) this.lastVideoDur = dur;
      this.videoQueue.push({ f: this.pendingVideo, dur: dur > 0 ? dur : this.lastVideoDur });
    }
    this.pendingVideo = f;
  }

  /** One whole (decrypted) TS segment. */
  push(ts: Uint8Array): void {
    this.packet.push(ts);
    this.packet.flush();
    this.drain(false);
  }

  private ensureMuxer(): boolean {
    if (this.muxer) return true;
    const hasVideo = !!(this.sps && this.pps && this.size);
    const hasAudio = !!this.audioCfg;
    if (!hasVideo && !hasAudio) return false;
    const { Muxer, StreamTarget } = mp4muxer();
    this.muxer = new Muxer({
      target: new StreamTarget({ onData: (data, position) => this.write(data, position) }),
      video: hasVideo ? { codec: 'avc', width: this.size!.width, height: this.size!.height } : undefined,
      audio: hasAudio ? { codec: 'aac', numberOfChannels: this.audioCfg!.channels, sampleRate: this.audioCfg!.rate } : undefined,
      fastStart: false,
      firstTimestampBehavior: 'cross-track-offset',
    });
    return true;
  }

  private avcC(): Uint8Array {
    const sps = this.sps!;
    const pps = this.pps!;
    const out = new Uint8Array(11 + sps.length + pps.length);
    out.set([1, sps[1], sps[2], sps[3], 0xff, 0xe1, sps.length >> 8, sps.length & 0xff], 0);
    out.set(sps, 8);
    out.set([1, pps.length >> 8, pps.length & 0xff], 8 + sps.length);
    out.set(pps, 11 + sps.length);
    return out;
  }

  private drain(final: boolean): void {
    if (!this.ensureMuxer()) {
      if (final) throw new DownloaderError('DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT', 'No H.264 video or AAC audio found in the TS segments.');
      return;
    }
    const m = this.muxer!;
    const hex = (n: number) => (n < 16 ? '0' : '') + n.toString(16);
    // interleave by time so mp4-muxer's chunks alternate between the tracks
    for (;;) {
      const v = this.videoQueue[0];
      const a = this.audioQueue[0];
      if (!v && !a) break;
      const takeVideo = v && (!a || v.f.dts <= a.pts);
      if (takeVideo) {
        this.videoQueue.shift();
        let len = 0;
        for (const n of v.f.nals) len += 4 + n.length;
        const sample = new Uint8Array(len);
        let o = 0;
        for (const n of v.f.nals) {
          sample[o] = (n.length >>> 24) & 0xff;
          sample[o + 1] = (n.length >>> 16) & 0xff;
          sample[o + 2] = (n.length >>> 8) & 0xff;
          sample[o + 3] = n.length & 0xff;
          sample.set(n, o + 4);
          o += 4 + n.length;
        }
        const meta = this.videoMetaSent ? undefined : { decoderConfig: { codec: `avc1.${hex(this.sps![1])}${hex(this.sps![2])}${hex(this.sps![3])}`, codedWidth: this.size!.width, codedHeight: this.size!.height, description: this.avcC() } };
        this.videoMetaSent = true;
        m.addVideoChunkRaw(sample, v.f.key ? 'key' : 'delta', (v.f.pts * 1e6) / 90000, (v.dur * 1e6) / 90000, meta as never, ((v.f.pts - v.f.dts) * 1e6) / 90000);
        this.videoSamples++;
      } else {
        if (!final && !this.videoQueue.length && this.pendingVideo && a.pts > this.pendingVideo.dts) break; // keep interleaving
        this.audioQueue.shift();
        const c = this.audioCfg!;
        const meta = this.audioMetaSent
          ? undefined
          : { decoderConfig: { codec: `mp4a.40.${c.aot}`, numberOfChannels: c.channels, sampleRate: c.rate, description: new Uint8Array([(c.aot << 3) | (c.sfi >> 1), ((c.sfi & 1) << 7) | (c.channels << 3)]) } };
        this.audioMetaSent = true;
        m.addAudioChunkRaw(a.data, 'key', (a.pts * 1e6) / 90000, (a.dur * 1e6) / 90000, meta as never);
        this.audioSamples++;
      }
    }
  }

  /** Writes the last samples and the moov. */
  finish(): void {
    this.endFrame();
    if (this.pendingVideo) {
      this.videoQueue.push({ f: this.pendingVideo, dur: this.lastVideoDur });
      this.pendingVideo = undefined;
    }
    this.drain(true);
    this.muxer!.finalize();
  }
}
