/**
 * HLS pieces of the downloader: playlist reading (keys, IVs, master → variant, unsupported forms), AES-128-CBC against
 * Node's crypto, and the TS → progressive MP4 remux checked by an independent parser (mp4box.js) against the MP4
 * rendition ffmpeg made from the same TS segments (same sample counts, same duration).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decryptAes128Cbc, parsePlaylist, segmentIv, TsToMp4 } from '../../sdk/src/download/hls';
import { MEDIA_DIR } from '../../server/cloud/aliyun-vod/play';
import { mp4Info } from '../harness/mp4-inspect';

const DIR = path.join(MEDIA_DIR, 'clip-6s');

export function remux(segments: Buffer[]): { mp4: Buffer; video: number; audio: number } {
  let out = Buffer.alloc(0);
  const mux = new TsToMp4((data, pos) => {
    const end = pos + data.length;
    if (end > out.length) out = Buffer.concat([out, Buffer.alloc(end - out.length)]);
    Buffer.from(data).copy(out, pos);
  });
  for (const s of segments) mux.push(new Uint8Array(s));
  mux.finish();
  return { mp4: out, video: mux.videoSamples, audio: mux.audioSamples };
}

describe('HLS playlist', () => {
  it('reads segments, durations, media sequence, AES-128 keys with explicit and implicit IVs', () => {
    const p = parsePlaylist(
      '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-KEY:METHOD=AES-128,URI="https://k.example/key?t=1"\n#EXTINF:2.0,\na.ts\n#EXT-X-KEY:METHOD=AES-128,URI="/k2",IV=0x000102030405060708090a0b0c0d0e0f\n#EXTINF:1.5,\nsub/b.ts?x=1\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:1,\nhttps://cdn.example/c.ts\n#EXT-X-ENDLIST\n',
      'https://cdn.example/v/index.m3u8?auth_key=1',
    );
    expect(p.segments.map((s) => s.uri)).toEqual(['https://cdn.example/v/a.ts', 'https://cdn.example/v/sub/b.ts?x=1', 'https://cdn.example/c.ts']);
    expect(p.segments.map((s) => s.sequence)).toEqual([7, 8, 9]);
    expect(p.segments[0].key!.uri).toBe('https://k.example/key?t=1');
    expect(p.segments[1].key!.uri).toBe('https://cdn.example/k2');
    expect(p.segments[2].key).toBeUndefined();
    expect(Buffer.from(segmentIv(p.segments[0])).toString('hex')).toBe('00000000000000000000000000000007');
    expect(Buffer.from(segmentIv(p.segments[1])).toString('hex')).toBe('000102030405060708090a0b0c0d0e0f');
  });

  it('master playlists give their first variant; SAMPLE-AES, fMP4 and live playlists are refused with their codes', () => {
    expect(parsePlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/index.m3u8\n', 'https://h/a/master.m3u8').variant).toBe('https://h/a/low/index.m3u8');
    expect(() => parsePlaylist('#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"\n#EXTINF:1,\na.ts\n#EXT-X-ENDLIST', 'https://h/x.m3u8')).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_ENCRYPTION_NOT_SUPPORT' }));
    expect(() => parsePlaylist('#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1,\na.m4s\n#EXT-X-ENDLIST', 'https://h/x.m3u8')).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT' }));
    expect(() => parsePlaylist('#EXTM3U\n#EXTINF:1,\na.ts\n', 'https://h/x.m3u8')).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT' }));
    expect(() => parsePlaylist('not a playlist', 'https://h/x.m3u8')).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT' }));
  });
});

describe('AES-128-CBC', () => {
  it('decrypts what Node encrypts (PKCS#7), for several lengths; a wrong-size key → GET_AES_KEY_FAIL', () => {
    for (const n of [0, 1, 15, 16, 17, 1000, 188 * 7]) {
      const key = randomBytes(16);
      const iv = randomBytes(16);
      const plain = randomBytes(n);
      const c = createCipheriv('aes-128-cbc', key, iv);
      const enc = Buffer.concat([c.update(plain), c.final()]);
      expect(Buffer.from(decryptAes128Cbc(new Uint8Array(enc), new Uint8Array(key), new Uint8Array(iv))).equals(plain)).toBe(true);
    }
    expect(() => decryptAes128Cbc(new Uint8Array(16), new Uint8Array(8), new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_GET_AES_KEY_FAIL' }));
  });
});

describe('TS → progressive MP4 (checked with mp4box)', () => {
  it('270p: same sample counts and duration as the ffmpeg MP4 of the same segments; moov after mdat, not fragmented', () => {
    const segs = [0, 1, 2].map((i) => readFileSync(path.join(DIR, '270p', `seg${i}.ts`)));
    const { mp4, video, audio } = remux(segs);
    const ours = mp4Info(mp4);
    const ref = mp4Info(readFileSync(path.join(DIR, '270p.mp4')));
    expect(ours.isFragmented).toBe(false);
    expect(ours.moovLast).toBe(true);
    const v = ours.tracks.find((t) => t.type === 'video')!;
    const a = ours.tracks.find((t) => t.type === 'audio')!;
    const rv = ref.tracks.find((t) => t.type === 'video')!;
    const ra = ref.tracks.find((t) => t.type === 'audio')!;
    expect(v.nb_samples).toBe(rv.nb_samples);
    expect(v.nb_samples).toBe(150);
    expect(video).toBe(150);
    expect(a.nb_samples).toBe(ra.nb_samples);
    expect(audio).toBe(a.nb_samples);
    expect(v.codec).toMatch(/^avc1\./);
    expect(a.codec).toMatch(/^mp4a\.40\.2/);
    expect(v.video).toMatchObject({ width: 480, height: 270 });
    expect(Math.abs(v.duration / v.timescale - 6)).toBeLessThan(0.05);
    expect(Math.abs(ours.duration / ours.timescale - ref.duration / ref.timescale)).toBeLessThan(0.1);
  });
});
