/**
 * A small PNG encoder (8-bit RGB, zlib via node:zlib, CRC-32 per chunk) and the event snapshot painter: each event
 * gets a deterministic picture (a gradient "scene" in the device's colours, a detection box for person / face
 * events, a banner coloured by the first alarm type) so images are real, decodable and tell events apart.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as PNG uses it). */
export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes width × height RGB pixels (row-major, 3 bytes each) as a PNG. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`encodePng: expected ${width * height * 3} bytes, got ${rgb.length}`);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export interface SnapshotSpec {
  /** Any integer: picks the scene's colours. */
  seed: number;
  firstAlarmType: number;
  alarmType: number;
  /** 0..86399: the sky darkens at night. */
  secondOfDay: number;
}

/** Paints an event snapshot at width × height. */
export function paintSnapshot(width: number, height: number, spec: SnapshotSpec): Buffer {
  const px = new Uint8Array(width * height * 3);
  const hour = spec.secondOfDay / 3600;
  const daylight = Math.max(0.15, Math.min(1, 1 - Math.abs(hour - 13) / 9));
  const hue = spec.seed % 360;
  const [sr, sg, sb] = hsl(hue, 0.45, 0.25 + 0.45 * daylight);
  const [gr, gg, gb] = hsl((hue + 120) % 360, 0.35, 0.2 + 0.3 * daylight);
  const horizon = Math.floor(height * 0.6);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (y < horizon) {
        const k = y / horizon;
        px[i] = sr * (1 - 0.4 * k);
        px[i + 1] = sg * (1 - 0.3 * k);
        px[i + 2] = sb;
      } else {
        const stripe = ((x + y * 2) >> 4) & 1 ? 1 : 0.85;
        px[i] = gr * stripe;
        px[i + 1] = gg * stripe;
        px[i + 2] = gb * stripe;
      }
    }
  }
  const rect = (x0: number, y0: number, w: number, h: number, c: [number, number, number], outline = 0) => {
    for (let y = Math.max(0, y0); y < Math.min(height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(width, x0 + w); x++) {
        if (outline && x >= x0 + outline && x < x0 + w - outline && y >= y0 + outline && y < y0 + h - outline) continue;
        const i = (y * width + x) * 3;
        px[i] = c[0];
        px[i + 1] = c[1];
        px[i + 2] = c[2];
      }
    }
  };
  // A "figure" in the scene, placed by the seed.
  const fx = Math.floor(((spec.seed >>> 8) % 60) / 100 * width + width * 0.15);
  const fw = Math.max(4, Math.floor(width * 0.12));
  const fh = Math.max(6, Math.floor(height * 0.45));
  const fy = horizon - Math.floor(fh * 0.8);
  rect(fx, fy, fw, fh, [40, 40, 48]);
  // Detection box for person (bit1) / face (bit24) events.
  if ((spec.alarmType & 0x2) || (spec.alarmType & 0x1000000)) {
    const pad = Math.max(2, Math.floor(width / 80));
    rect(fx - pad * 2, fy - pad * 2, fw + pad * 4, fh + pad * 4, [255, 210, 0], Math.max(1, Math.floor(width / 160)));
  }
  // Banner: colour from the triggering type.
  let bit = 0;
  while (bit < 31 && !((spec.firstAlarmType >>> bit) & 1)) bit++;
  rect(0, 0, width, Math.max(3, Math.floor(height / 12)), hsl((bit * 47) % 360, 0.8, 0.5));
  // "Has video" marker (bit15): a small play triangle in the corner.
  if (spec.alarmType & 0x8000) {
    const s = Math.max(4, Math.floor(height / 8));
    for (let y = 0; y < s; y++) rect(width - s - 4, height - s - 4 + y, Math.floor((s * (s - Math.abs(2 * y - s))) / s / 2) + 1, 1, [255, 255, 255]);
  }
  return encodePng(width, height, px);
}
