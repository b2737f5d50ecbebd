import {
  decodeUploadAuth, decodeUploadAddress, encodeUploadAuth, encodeUploadAddress, uploadAuthExpiresAt, parseOssEndpoint, ossObjectUrl,
  utf8Encode, utf8Decode, base64Encode, base64Decode,
} from '../../sdk/src/aliyun';
import { MediaKitError } from '../../sdk/src/errors';

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o), 'utf8').toString('base64');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MediaKitError);
    return (e as MediaKitError).code + ': ' + (e as MediaKitError).message;
  }
  throw new Error('did not throw');
}

describe('UploadAuth / UploadAddress codecs', () => {
  const auth = { SecurityToken: 'CAIS…', AccessKeyId: 'STS.NUof', ExpireUTCTime: '2020-07-29T15:20:31Z', AccessKeySecret: 's', Expiration: '3600', Region: 'cn-shanghai' };
  const addr = { Endpoint: 'https://oss-cn-shanghai.aliyuncs.com', Bucket: 'outin-abc', FileName: 'sv/视频/x.mp4' };

  it('decodes the documented sample shapes (base64 of UTF-8 JSON)', () => {
    expect(decodeUploadAuth(b64(auth))).toEqual(auth);
    expect(decodeUploadAddress(b64(addr))).toEqual(addr);
  });

  it('encode → decode round-trips, and the encoding is what Node base64 gives', () => {
    expect(encodeUploadAddress(addr)).toBe(b64(addr));
    expect(decodeUploadAuth(encodeUploadAuth(auth))).toEqual(auth);
  });

  it('bad inputs: empty, not base64, not JSON, not an object, missing fields, bad bucket, bad endpoint, bad ExpireUTCTime', () => {
    expect(codeOf(() => decodeUploadAuth(''))).toMatch(/^InvalidUploadAuth: .*empty/);
    expect(codeOf(() => decodeUploadAuth('***'))).toMatch(/^InvalidUploadAuth: .*base64/);
    expect(codeOf(() => decodeUploadAuth(b64('not json')))).toMatch(/^InvalidUploadAuth: .*JSON/);
    expect(codeOf(() => decodeUploadAuth(b64([1, 2])))).toMatch(/^InvalidUploadAuth: .*object/);
    expect(codeOf(() => decodeUploadAuth(b64({ ...auth, SecurityToken: undefined })))).toMatch(/^InvalidUploadAuth: .*SecurityToken/);
    expect(codeOf(() => decodeUploadAuth(b64({ ...auth, ExpireUTCTime: 'soon' })))).toMatch(/ExpireUTCTime/);
    expect(codeOf(() => decodeUploadAddress(b64({ ...addr, Bucket: 'Bad_Bucket' })))).toMatch(/^InvalidUploadAddress: .*Bucket/);
    expect(codeOf(() => decodeUploadAddress(b64({ ...addr, Endpoint: 'ftp://x/y' })))).toMatch(/Endpoint/);
    expect(codeOf(() => decodeUploadAddress(b64({ ...addr, FileName: '' })))).toMatch(/FileName/);
    expect(codeOf(() => decodeUploadAddress(undefined as unknown as string))).toMatch(/^InvalidUploadAddress/);
  });

  it('expiry: ExpireUTCTime wins, else issued-at + Expiration seconds', () => {
    expect(uploadAuthExpiresAt(decodeUploadAuth(b64(auth)))).toBe(Date.parse('2020-07-29T15:20:31Z'));
    const { ExpireUTCTime: _drop, ...noAbs } = auth;
    expect(uploadAuthExpiresAt(decodeUploadAuth(b64(noAbs)), 1000)).toBe(1000 + 3600 * 1000);
    expect(uploadAuthExpiresAt(decodeUploadAuth(b64(noAbs)))).toBeUndefined();
  });

  it('endpoints: virtual-hosted URLs for real hosts, path-style for IPs/localhost; region parsed', () => {
    expect(parseOssEndpoint('https://oss-cn-shanghai.aliyuncs.com')).toMatchObject({ scheme: 'https', pathStyle: false, region: 'cn-shanghai' });
    expect(parseOssEndpoint('oss-cn-beijing-internal.aliyuncs.com')).toMatchObject({ scheme: 'https', region: 'cn-beijing' });
    expect(parseOssEndpoint('http://127.0.0.1:4100')).toMatchObject({ scheme: 'http', pathStyle: true, port: 4100, host: '127.0.0.1:4100' });
    expect(ossObjectUrl('https://oss-cn-shanghai.aliyuncs.com', 'outin-a', 'sv/a b/视.mp4')).toBe('https://outin-a.oss-cn-shanghai.aliyuncs.com/sv/a%20b/%E8%A7%86.mp4');
    expect(ossObjectUrl('http://localhost:9000/', 'b', 'k+1')).toBe('http://localhost:9000/b/k%2B1');
    expect(() => parseOssEndpoint('http://a/b/c')).toThrow(MediaKitError);
  });
});

describe('byte helpers', () => {
  it('UTF-8 and base64 agree with Node for tricky text', () => {
    const s = 'a\u00e9\u4e2d\ud83d\ude00\u0000z';
    expect(Buffer.from(utf8Encode(s)).equals(Buffer.from(s, 'utf8'))).toBe(true);
    expect(utf8Decode(new Uint8Array(Buffer.from(s, 'utf8')))).toBe(s);
    for (let n = 0; n < 10; n++) {
      const bytes = new Uint8Array(Buffer.from('xyzw\u00ff'.repeat(n), 'latin1'));
      expect(base64Encode(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(Buffer.from(base64Decode(base64Encode(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(() => utf8Decode(new Uint8Array([0xc3]))).toThrow(/UTF-8/);
    expect(() => base64Decode('a')).toThrow(/length/);
    expect(Buffer.from(base64Decode('-_8')).toString('hex')).toBe('fbff');
  });
});
