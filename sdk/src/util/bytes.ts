/**
 * Small byte helpers for the mini-program runtime (ES2017: no TextEncoder, no Buffer, no atob/btoa guaranteed).
 * No crypto-js import here (toWordArray lives in ./word-array), so the upload path does not pull lib-typedarrays.
 */

/** UTF-8 encode a JS string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** Strict UTF-8 decode; throws on malformed input (so garbage in a credential is caught, not mangled). */
export function utf8Decode(b: Uint8Array): string {
  let s = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i++];
    let cp: number;
    if (c < 0x80) cp = c;
    else if (c >= 0xc2 && c < 0xe0) cp = ((c & 31) << 6) | cont(b, i++);
    else if (c >= 0xe0 && c < 0xf0) {
      cp = ((c & 15) << 12) | (cont(b, i) << 6) | cont(b, i + 1);
      i += 2;
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('invalid UTF-8');
    } else if (c >= 0xf0 && c < 0xf5) {
      cp = ((c & 7) << 18) | (cont(b, i) << 12) | (cont(b, i + 1) << 6) | cont(b, i + 2);
      i += 3;
      if (cp < 0x10000 || cp > 0x10ffff) throw new Error('invalid UTF-8');
    } else throw new Error('invalid UTF-8');
    if (cp >= 0x10000) {
      cp -= 0x10000;
      s += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023));
    } else s += String.fromCharCode(cp);
  }
  return s;
}

function cont(b: Uint8Array, i: number): number {
  if (i >= b.length || (b[i] & 0xc0) !== 0x80) throw new Error('invalid UTF-8');
  return b[i] & 63;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
let B64_REV: Int16Array | null = null;

export function base64Encode(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + '=';
  }
  return s;
}

/**
 * Decode standard or URL-safe base64 (padding optional, whitespace ignored). Throws on any other character or an
 * impossible length.
 */
export function base64Decode(s: string): Uint8Array {
  if (!B64_REV) {
    B64_REV = new Int16Array(128).fill(-1);
    for (let i = 0; i < 64; i++) B64_REV[B64.charCodeAt(i)] = i;
    B64_REV['-'.charCodeAt(0)] = 62;
    B64_REV['_'.charCodeAt(0)] = 63;
  }
  const clean = s.replace(/[\s]/g, '').replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new Error('invalid base64 length');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_REV[c] : -1;
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(clean[i])}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** A crypto-js WordArray → bytes. */
export function fromWordArray(w: { words: number[]; sigBytes: number }): Uint8Array {
  const out = new Uint8Array(w.sigBytes);
  for (let i = 0; i < w.sigBytes; i++) out[i] = (w.words[i >>> 2] >>> (24 - (i % 4) * 8)) & 0xff;
  return out;
}

export function utf8ToBase64(s: string): string {
  return base64Encode(utf8Encode(s));
}

export function base64ToUtf8(s: string): string {
  return utf8Decode(base64Decode(s));
}
