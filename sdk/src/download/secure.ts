/**
 * Secure download (our equivalent of Aliyun's 安全下载, which needs an app-bound key file no mini-program can hold):
 * the downloaded file is AES-128-CTR encrypted AT REST with a per-user, per-video key the AppServer derives
 * (`POST /api/vod/download-key`), and is played through the SDK only: `openSecure()` decrypts it to a temp file for
 * `<video>`, `closeSecure()` / `cleanupSecurePlayback()` remove it (the next launch removes leftovers).
 *
 * Why CTR: the keystream depends only on (key, nonce, stream, block index), so every byte can be encrypted where it
 * lands: Range chunks appended in order, an interrupted download truncated and resumed, mp4-muxer's positional patches
 * of the moov. The AES block is crypto-js's (already in the bundle for HLS); CTR itself is the 10 lines below.
 *
 * File layout: a 256-byte header — "MPMKSEC1", a big-endian u32 length, then JSON
 * `{v, alg, vid, keyId, nonce, check, format}` — followed by the ciphertext, byte i of the plaintext at 256 + i.
 * `check` (the keystream block of stream 0xFFFFFFFF) tells a wrong key apart from a damaged file before any byte is
 * decrypted: another user's key fails with DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH.
 */
import Core from 'crypto-js/core';
import 'crypto-js/aes';
import { MediaKitError, PlatformErrorCode } from '../errors';
import type { PlatformAdapter } from '../platform/types';
import type { AppClient } from '../app-client';
import { base64Decode } from '../util/bytes';
import { toWordArray } from '../aliyun/word-array';
import { DownloaderError } from './errors';

export const SECURE_HEADER_SIZE = 256;
const MAGIC = 'MPMKSEC1';
/** The stream id of the key-check block (never used for data). */
const CHECK_STREAM = 0xffffffff;

/** A per-user, per-video content key (from POST /api/vod/download-key). */
export interface SecureKey {
  /** 16 bytes (AES-128). */
  key: Uint8Array;
  /** The server's key version ("v1"); a file records it. */
  keyId: string;
}

/** Where the key comes from: an AppClient (POST /api/vod/download-key {videoId}) or your own function. */
export type SecureKeySource = AppClient | ((vid: string) => Promise<SecureKey>);

export interface SecureHeader {
  v: 1;
  alg: 'AES-128-CTR';
  vid: string;
  keyId: string;
  /** 16 hex digits: the upper half of every counter block. */
  nonce: string;
  /** 32 hex digits: the keystream block of the check stream. */
  check: string;
  format: string;
}

interface AesBlock {
  encryptBlock(words: number[], offset: number): void;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** AES-128-CTR over crypto-js's AES block: counter block = nonce (8 bytes) ‖ stream (u32 BE) ‖ block index (u32 BE). */
export class CtrCipher {
  private readonly aes: AesBlock;
  private readonly n0: number;
  private readonly n1: number;
  private readonly block = [0, 0, 0, 0];

  constructor(key: Uint8Array, nonceHex: string) {
    if (key.length !== 16) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', `The download key has ${key.length} bytes (16 expected).`);
    if (!/^[0-9a-f]{16}$/.test(nonceHex)) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', 'Bad nonce in the secure file header.');
    const algo = (Core as unknown as { algo: { AES: { createEncryptor(k: unknown): AesBlock } } }).algo;
    this.aes = algo.AES.createEncryptor(toWordArray(key));
    this.n0 = parseInt(nonceHex.slice(0, 8), 16) | 0;
    this.n1 = parseInt(nonceHex.slice(8), 16) | 0;
  }

  private keystream(stream: number, index: number): number[] {
    const b = this.block;
    b[0] = this.n0;
    b[1] = this.n1;
    b[2] = stream | 0;
    b[3] = index | 0;
    this.aes.encryptBlock(b, 0);
    return b;
  }

  /** The key-check value (hex) for the header. */
  check(): string {
    const b = this.keystream(CHECK_STREAM, 0);
    let s = '';
    for (const w of b) s += ('00000000' + (w >>> 0).toString(16)).slice(-8);
    return s;
  }

  /** XOR `data` in place with the keystream of `stream` starting at byte `offset` of that stream (encrypt = decrypt). */
  xor(stream: number, offset: number, data: Uint8Array): Uint8Array {
    let i = 0;
    const n = data.length;
    let index = Math.floor(offset / 16);
    let within = offset % 16;
    // a partial first block
    if (within) {
      const k = this.keystream(stream, index++);
      for (; within < 16 && i < n; within++, i++) data[i] ^= (k[within >> 2] >>> (24 - (within & 3) * 8)) & 0xff;
    }
    // whole blocks, a word at a time when the bytes are 4-aligned (wx and Node are little-endian)
    if (LITTLE_ENDIAN && (data.byteOffset + i) % 4 === 0 && n - i >= 16) {
      const words = new Uint32Array(data.buffer, data.byteOffset + i, (n - i) >> 2);
      const whole = (n - i) >> 4;
      for (let b = 0, w = 0; b < whole; b++, w += 4) {
        const k = this.keystream(stream, index++);
        for (let j = 0; j < 4; j++) {
          const x = k[j];
          words[w + j] ^= (x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
        }
      }
      i += whole * 16;
    }
    while (i < n) {
      const k = this.keystream(stream, index++);
      for (let j = 0; j < 16 && i < n; j++, i++) data[i] ^= (k[j >> 2] >>> (24 - (j & 3) * 8)) & 0xff;
    }
    return data;
  }
}

/** 8 random bytes as hex: nonces must be unique per key, not secret (wx has no synchronous CSPRNG on every version). */
export function newNonce(now: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += ('0000' + Math.floor(Math.random() * 0x10000).toString(16)).slice(-4);
  // mix the clock into the upper half so two downloads started in one Math.random sequence still differ
  const t = (now >>> 0).toString(16).padStart(8, '0');
  let out = '';
  for (let i = 0; i < 8; i++) out += (parseInt(s[i], 16) ^ parseInt(t[i], 16)).toString(16);
  return out + s.slice(8);
}

export function encodeHeader(h: SecureHeader): ArrayBuffer {
  const json = JSON.stringify(h);
  const bytes = new Uint8Array(SECURE_HEADER_SIZE);
  if (json.length + 12 > SECURE_HEADER_SIZE) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', 'The video id is too long for a secure file header.');
  for (let i = 0; i < 8; i++) bytes[i] = MAGIC.charCodeAt(i);
  new DataView(bytes.buffer).setUint32(8, json.length);
  // JSON of ASCII ids only (vid, format and keyId come from the server's id alphabets)
  for (let i = 0; i < json.length; i++) bytes[12 + i] = json.charCodeAt(i) & 0x7f;
  return bytes.buffer;
}

/** Parses a header; undefined when the bytes are not one (a plain file). */
export function decodeHeader(buf: ArrayBuffer): SecureHeader | undefined {
  if (buf.byteLength < SECURE_HEADER_SIZE) return undefined;
  const b = new Uint8Array(buf, 0, SECURE_HEADER_SIZE);
  for (let i = 0; i < 8; i++) if (b[i] !== MAGIC.charCodeAt(i)) return undefined;
  const len = new DataView(buf).getUint32(8);
  if (len > SECURE_HEADER_SIZE - 12) return undefined;
  let json = '';
  for (let i = 0; i < len; i++) json += String.fromCharCode(b[12 + i]);
  try {
    const h = JSON.parse(json) as SecureHeader;
    if (h && h.v === 1 && h.alg === 'AES-128-CTR' && typeof h.vid === 'string' && typeof h.nonce === 'string' && typeof h.check === 'string') return h;
  } catch (_) {
    /* not a header */
  }
  return undefined;
}

/** A fresh header + cipher for `vid` under `key`. */
export function newSecureFile(key: SecureKey, vid: string, format: string, now: number): { header: SecureHeader; cipher: CtrCipher } {
  const nonce = newNonce(now);
  const cipher = new CtrCipher(key.key, nonce);
  return { header: { v: 1, alg: 'AES-128-CTR', vid, keyId: key.keyId, nonce, check: cipher.check(), format }, cipher };
}

/** The cipher of an existing file's header, or DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH when `key` is not its key. */
export function cipherFor(header: SecureHeader, key: SecureKey): CtrCipher {
  const c = new CtrCipher(key.key, header.nonce);
  if (c.check() !== header.check) {
    throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH', 'This secure download was encrypted with another key (another user, or the server secret changed): it cannot be opened here.', { videoId: header.vid });
  }
  return c;
}

/** Asks the source for the key of `vid`; errors become DOWNLOAD_ERROR_ENCRYPT_ERROR (or the AppServer's VideoForbidden → POP_FORBIDDEN). */
export async function fetchSecureKey(source: SecureKeySource | undefined, vid: string): Promise<SecureKey> {
  if (!source) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', 'Secure mode needs a key source: an AppClient or a function (vid) => {key, keyId}.', { videoId: vid });
  let k: SecureKey;
  try {
    if (typeof source === 'function') k = await source(vid);
    else {
      const r = await source.call<{ key: string; keyId: string; algorithm: string }>('POST', '/api/vod/download-key', { videoId: vid });
      k = { key: base64Decode(String(r.key)), keyId: String(r.keyId) };
    }
  } catch (e) {
    if (e instanceof DownloaderError) throw e;
    const err = e as MediaKitError;
    if (err && err.code === PlatformErrorCode.Aborted) throw err;
    const status = err && err.details && (err.details.statusCode as number | undefined);
    if (status === 403 || err.code === 'VideoForbidden') throw new DownloaderError('ERROR_SERVER_POP_FORBIDDEN', `download-key: ${err.message}`, { videoId: vid, extra: err.code, cause: e });
    throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', `Could not get the download key: ${(e as Error).message}`, { videoId: vid, extra: err && err.code, cause: e });
  }
  if (!k || !(k.key instanceof Uint8Array) || k.key.length !== 16) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', 'The download key is not 16 bytes.', { videoId: vid });
  return k;
}

// ------------------------------------------------------------------ playback: decrypt to a temp file

export const SECURE_PLAY_DIR = 'mp-media-kit-secure-play';
const MB = 1024 * 1024;

export interface OpenSecureOptions {
  adapter: PlatformAdapter;
  key: SecureKeySource;
  /** The user-file budget (WeChat: 200 MB); the decrypted copy must fit beside the encrypted file. */
  storageQuota: number;
  /** Bytes read / decrypted / appended at a time (default 1 MiB: the memory a playback costs). */
  pieceSize?: number;
}

/** Reads and checks the header of a secure file (DOWNLOAD_ERROR_FILE_NOT_EXIST / ENCRYPT_ERROR when it is not one). */
export async function readSecureHeader(adapter: PlatformAdapter, filePath: string): Promise<SecureHeader> {
  const fs = adapter.fs;
  if (!filePath || !(await fs.exists(filePath))) throw new DownloaderError('DOWNLOAD_ERROR_FILE_NOT_EXIST', `No file at ${filePath}.`);
  const st = await fs.stat(filePath);
  const h = st.size >= SECURE_HEADER_SIZE ? decodeHeader(await fs.readRange(filePath, 0, SECURE_HEADER_SIZE)) : undefined;
  if (!h) throw new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', `${filePath} is not a secure download (no MPMKSEC1 header).`);
  return h;
}

/**
 * Decrypts a secure download to `${USER_DATA_PATH}/mp-media-kit-secure-play/<vid>_<n>.mp4` for `<video>` and returns
 * that path. Remove it with closeSecure(path) when playback ends; cleanupSecurePlayback() (called by restore at
 * launch) removes any left by a kill.
 */
export async function openSecureFile(filePath: string, o: OpenSecureOptions): Promise<string> {
  const fs = o.adapter.fs;
  const h = await readSecureHeader(o.adapter, filePath);
  const cipher = cipherFor(h, await fetchSecureKey(o.key, h.vid));
  const size = (await fs.stat(filePath)).size - SECURE_HEADER_SIZE;
  const dir = `${fs.userDataPath}/${SECURE_PLAY_DIR}`;
  try {
    if (!(await fs.exists(dir))) await fs.mkdir(dir);
  } catch (e) {
    throw new DownloaderError('DOWNLOAD_ERROR_CANNOT_CREATE_SAVE_DIR', `Cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const used = fs.usage ? await fs.usage(fs.userDataPath).catch(() => 0) : 0;
  if (used + size > o.storageQuota) {
    throw new DownloaderError('DOWNLOAD_ERROR_NO_SPACE', `Playing a secure download needs a decrypted copy: ${(size / MB) | 0} MB, ${(Math.max(0, o.storageQuota - used) / MB) | 0} MB left.`, { videoId: h.vid });
  }
  const ext = h.format === 'mp3' ? 'mp3' : 'mp4';
  const out = `${dir}/${h.vid}_${o.adapter.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}.${ext}`;
  const piece = o.pieceSize || MB;
  const write = async (op: () => Promise<void>) => {
    try {
      await op();
    } catch (e) {
      await fs.unlink(out).catch(() => undefined);
      const d = e instanceof MediaKitError ? e.details : {};
      const quota = d.errno === 1300202 || /storage limit|1300202/i.test(String(d.errMsg || (e as Error).message));
      throw new DownloaderError(quota ? 'DOWNLOAD_ERROR_NO_SPACE' : 'DOWNLOAD_ERROR_WRITE_ERROR', (e as Error).message, { cause: e, videoId: h.vid });
    }
  };
  await write(() => fs.writeFile(out, new ArrayBuffer(0)));
  for (let off = 0; off < size; off += piece) {
    const len = Math.min(piece, size - off);
    const bytes = new Uint8Array(await fs.readRange(filePath, SECURE_HEADER_SIZE + off, len));
    cipher.xor(0, off, bytes);
    await write(() => fs.appendFile!(out, bytes.buffer as ArrayBuffer));
  }
  return out;
}

/** Removes one decrypted playback copy (only paths openSecure made). */
export async function closeSecureFile(adapter: PlatformAdapter, path: string): Promise<void> {
  if (!path || path.indexOf(`/${SECURE_PLAY_DIR}/`) < 0) return;
  if (await adapter.fs.exists(path)) await adapter.fs.unlink(path);
}

/** Removes every decrypted playback copy (a kill during playback leaves one); resolves with how many. */
export async function cleanupSecurePlayback(adapter: PlatformAdapter): Promise<number> {
  const fs = adapter.fs;
  const dir = `${fs.userDataPath}/${SECURE_PLAY_DIR}`;
  if (!fs.readdir || !(await fs.exists(dir).catch(() => false))) return 0;
  let n = 0;
  for (const name of await fs.readdir(dir)) {
    await fs.unlink(`${dir}/${name}`).catch(() => undefined);
    n++;
  }
  return n;
}
