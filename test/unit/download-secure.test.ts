/**
 * Secure download building blocks: our AES-128-CTR (crypto-js's AES block + our counter) against Node's own
 * aes-128-ctr at any offset and alignment, the file header, the key check, and the AppServer's key derivation.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { CtrCipher, cipherFor, decodeHeader, encodeHeader, newSecureFile, SECURE_HEADER_SIZE } from '../../sdk/src/download/secure';
import { deriveDownloadKey } from '../../server/app/routes/vod-secure';

function nodeCtr(key: Buffer, nonceHex: string, stream: number, data: Buffer, offset: number): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(nonceHex, 'hex').copy(iv, 0);
  iv.writeUInt32BE(stream >>> 0, 8);
  iv.writeUInt32BE(Math.floor(offset / 16), 12);
  const c = createCipheriv('aes-128-ctr', key, iv);
  const pad = Buffer.alloc(offset % 16);
  return Buffer.concat([c.update(Buffer.concat([pad, data])), c.final()]).subarray(pad.length);
}

describe('CtrCipher (AES-128-CTR over crypto-js AES)', () => {
  const key = randomBytes(16);
  const nonce = randomBytes(8).toString('hex');
  const plain = randomBytes(70000);

  it.each([
    ['offset 0, aligned', 0, 0, 70000],
    ['offset 5 (partial first block)', 5, 0, 1000],
    ['offset 17, odd length', 17, 0, 4099],
    ['unaligned byteOffset (word path off)', 32, 3, 5000],
    ['a large offset (block index > 2^16)', 16 * 70000 + 9, 0, 333],
  ])('equals Node aes-128-ctr: %s', (_name, offset, byteOffset, length) => {
    const buf = new Uint8Array(length + byteOffset);
    buf.set(plain.subarray(0, length), byteOffset);
    const view = new Uint8Array(buf.buffer, byteOffset, length);
    new CtrCipher(key, nonce).xor(7, offset, view);
    expect(Buffer.from(view).equals(nodeCtr(key, nonce, 7, plain.subarray(0, length), offset))).toBe(true);
    // and back
    new CtrCipher(key, nonce).xor(7, offset, view);
    expect(Buffer.from(view).equals(plain.subarray(0, length))).toBe(true);
  });

  it('streams and nonces give different keystreams; a bad key length or nonce is refused', () => {
    const a = new CtrCipher(key, nonce).xor(0, 0, new Uint8Array(32));
    const b = new CtrCipher(key, nonce).xor(1, 0, new Uint8Array(32));
    const c = new CtrCipher(key, 'ffffffffffffffff').xor(0, 0, new Uint8Array(32));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    expect(() => new CtrCipher(new Uint8Array(15), nonce)).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_ENCRYPT_ERROR' }));
    expect(() => new CtrCipher(key, 'xyz')).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_ENCRYPT_ERROR' }));
  });
});

describe('secure file header and key check', () => {
  it('round-trips; a plain MP4 / short / garbage header is not one', () => {
    const { header } = newSecureFile({ key: randomBytes(16), keyId: 'v1' }, 'a1b2c3', 'mp4', Date.now());
    const bytes = encodeHeader(header);
    expect(bytes.byteLength).toBe(SECURE_HEADER_SIZE);
    expect(decodeHeader(bytes)).toEqual(header);
    expect(decodeHeader(new ArrayBuffer(10))).toBeUndefined();
    const mp4 = new Uint8Array(SECURE_HEADER_SIZE);
    mp4.set(Buffer.from('\0\0\0\x20ftypisom'));
    expect(decodeHeader(mp4.buffer)).toBeUndefined();
    const bad = new Uint8Array(bytes.slice(0));
    new DataView(bad.buffer).setUint32(8, 5000);
    expect(decodeHeader(bad.buffer)).toBeUndefined();
  });

  it('the right key opens, another key → DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH (805371912)', () => {
    const mine = { key: randomBytes(16), keyId: 'v1' };
    const { header } = newSecureFile(mine, 'a1b2c3', 'mp4', Date.now());
    expect(() => cipherFor(header, mine)).not.toThrow();
    expect(() => cipherFor(header, { key: randomBytes(16), keyId: 'v1' })).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH', errorCode: 805371912 }));
  });

  it('two files of one key get different nonces', () => {
    const k = { key: randomBytes(16), keyId: 'v1' };
    const nonces = new Set(Array.from({ length: 200 }, () => newSecureFile(k, 'v', 'mp4', Date.now()).header.nonce));
    expect(nonces.size).toBe(200);
  });
});

describe('AppServer key derivation (stateless)', () => {
  const secret = 'x'.repeat(40);
  it('is stable, 16 bytes, and differs per user, per video, per secret, per key version', () => {
    const k = deriveDownloadKey(secret, 'oUserA', 'vid1');
    expect(k.length).toBe(16);
    expect(deriveDownloadKey(secret, 'oUserA', 'vid1').equals(k)).toBe(true);
    expect(deriveDownloadKey(secret, 'oUserB', 'vid1').equals(k)).toBe(false);
    expect(deriveDownloadKey(secret, 'oUserA', 'vid2').equals(k)).toBe(false);
    expect(deriveDownloadKey('y'.repeat(40), 'oUserA', 'vid1').equals(k)).toBe(false);
    expect(deriveDownloadKey(secret, 'oUserA', 'vid1', 'v2').equals(k)).toBe(false);
    // the separator keeps (openid, vid) pairs apart: "ab"+"c" ≠ "a"+"bc"
    expect(deriveDownloadKey(secret, 'ab', 'c').equals(deriveDownloadKey(secret, 'a', 'bc'))).toBe(false);
  });
});
