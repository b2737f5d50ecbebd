/**
 * An independent MP4 check for tests: mp4box.js (GPAC's MP4Box in JS) parses a whole file and reports its tracks,
 * sample counts, durations, and whether it is fragmented / has its moov after the mdat.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MP4Box = require('mp4box');

export function mp4Info(buf: Buffer): { duration: number; timescale: number; isFragmented: boolean; tracks: Array<{ type: string; nb_samples: number; duration: number; timescale: number; codec: string; video?: { width: number; height: number } }>; moovLast: boolean } {
  const f = MP4Box.createFile();
  let info: any;
  f.onReady = (i: any) => (info = i);
  f.onError = (e: unknown) => {
    throw new Error(String(e));
  };
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer & { fileStart?: number };
  ab.fileStart = 0;
  f.appendBuffer(ab);
  f.flush();
  if (!info) throw new Error('mp4box: not a complete MP4');
  const boxes = (f.boxes as Array<{ type: string }>).map((b) => b.type);
  return {
    duration: info.duration,
    timescale: info.timescale,
    isFragmented: info.isFragmented,
    moovLast: boxes.indexOf('moov') > boxes.indexOf('mdat'),
    tracks: info.tracks.map((t: any) => ({ type: t.type, nb_samples: t.nb_samples, duration: t.duration, timescale: t.timescale, codec: t.codec, video: t.video })),
  };
}

