/**
 * Tencent signatures against the reference vectors (docs/tencent-vod.md; vectors recomputed with Node crypto and
 * Python hmac in the research notes): the VOD client-upload signature (V1, V2), the COS request signature (the
 * three doc cases), the COS PostObject policy signature, and COS's CRC-64 (same as our CRC-64/XZ).
 */
import { createHmac } from 'node:crypto';
import { buildUgcSignature, signOriginal, ugcOriginal } from '../../server/app/tencent-vod/signature';
import { verifyUgcSignature } from '../../server/cloud/tencent-vod/ugc-signature';
import { cosSign, cosPostPolicySignature, parseCosAuthorization, cosEncode } from '../../sdk/src/tencent-vod/cos-signature';
import { crc64 } from '../../sdk/src/aliyun/crc64';

const SID = 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE';
const SKEY = 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE';
const secrets: ReadonlyMap<string, string> = new Map([[SID, SKEY]]);
const NOW = 1700000100;

describe('VOD client-upload signature (doc 266/9221)', () => {
  it('V1: the four required parameters give the reference HMAC and signature', () => {
    const { signature, original } = buildUgcSignature(SKEY, { secretId: SID, currentTimeStamp: 1700000000, expireTime: 1700086400, random: 1234567890 });
    expect(original).toBe(`secretId=${SID}&currentTimeStamp=1700000000&expireTime=1700086400&random=1234567890`);
    expect(createHmac('sha1', SKEY).update(original).digest('hex')).toBe('b7776a4e459539d1cdc9dddedaee6687ae53c18c');
    expect(signature).toBe(
      't3dqTkWVOdHNyd3e2u5mh65TwYxzZWNyZXRJZD1BS0lEejhrcmJzSjV5S0JaUXBuNzRXRmttTFB4M0VYQU1QTEUmY3VycmVudFRpbWVTdGFtcD0xNzAwMDAwMDAwJmV4cGlyZVRpbWU9MTcwMDA4NjQwMCZyYW5kb209MTIzNDU2Nzg5MA==',
    );
    const v = verifyUgcSignature(signature, { secrets, nowSec: NOW });
    expect(v).toMatchObject({ ok: true, sig: { secretId: SID, random: 1234567890, oneTimeValid: false, classId: 0 } });
  });

  it('V2: optional parameters in querystring order (space → %20) give the reference signature; URLSearchParams (+) verifies too', () => {
    const params = {
      secretId: SID, currentTimeStamp: 1700000000, expireTime: 1700086400, random: 1234567890,
      procedure: 'LongVideoPreset', classId: 0, oneTimeValid: 1 as const, sourceContext: 'uid=42&order=A 1', vodSubAppId: 1500000001,
    };
    const { signature, original } = buildUgcSignature(SKEY, params);
    expect(original).toBe(`secretId=${SID}&currentTimeStamp=1700000000&expireTime=1700086400&random=1234567890&procedure=LongVideoPreset&classId=0&oneTimeValid=1&sourceContext=uid%3D42%26order%3DA%201&vodSubAppId=1500000001`);
    expect(createHmac('sha1', SKEY).update(original).digest('hex')).toBe('788e1ab22e4ea50a68bb77db0e2a5c69d385553d');
    expect(signature).toBe(
      'eI4asi5OpQpou3fbDipcadOFVT1zZWNyZXRJZD1BS0lEejhrcmJzSjV5S0JaUXBuNzRXRmttTFB4M0VYQU1QTEUmY3VycmVudFRpbWVTdGFtcD0xNzAwMDAwMDAwJmV4cGlyZVRpbWU9MTcwMDA4NjQwMCZyYW5kb209MTIzNDU2Nzg5MCZwcm9jZWR1cmU9TG9uZ1ZpZGVvUHJlc2V0JmNsYXNzSWQ9MCZvbmVUaW1lVmFsaWQ9MSZzb3VyY2VDb250ZXh0PXVpZCUzRDQyJTI2b3JkZXIlM0RBJTIwMSZ2b2RTdWJBcHBJZD0xNTAwMDAwMDAx',
    );
    const usp = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    expect(createHmac('sha1', SKEY).update(usp).digest('hex')).toBe('5834714696da3fece168ac2e30cf92d84bab1667');
    for (const s of [signature, signOriginal(SKEY, usp)]) {
      const v = verifyUgcSignature(s, { secrets, nowSec: NOW });
      expect(v).toMatchObject({ ok: true, sig: { sourceContext: 'uid=42&order=A 1', procedure: 'LongVideoPreset', oneTimeValid: true, vodSubAppId: 1500000001 } });
    }
  });

  const base = { secretId: SID, currentTimeStamp: 1700000000, expireTime: 1700086400, random: 7 };
  const reason = (s: string) => {
    const v = verifyUgcSignature(s, { secrets, nowSec: NOW });
    return v.ok ? 'ok' : `${v.code} ${v.message}`;
  };

  it('refuses: a float timestamp, an expired one, validity over 90 days, a tampered byte, an unknown secretId, sourceContext of 251 chars', () => {
    expect(reason(signOriginal(SKEY, ugcOriginal({ ...base, currentTimeStamp: '1700000000.123' as unknown as number })))).toMatch(/^10004 .*currentTimeStamp must be an integer/);
    expect(reason(signOriginal(SKEY, ugcOriginal({ ...base, expireTime: NOW - 1 })))).toMatch(/^10004 .*expired/);
    expect(reason(signOriginal(SKEY, ugcOriginal({ ...base, expireTime: 1700000000 + 7776001 })))).toMatch(/^10004 .*validity/);
    const good = buildUgcSignature(SKEY, base).signature;
    const raw = Buffer.from(good, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(reason(raw.toString('base64'))).toMatch(/^10004 .*HMAC/);
    expect(reason(signOriginal(SKEY, ugcOriginal({ ...base, secretId: 'AKIDother' })))).toMatch(/^10004 .*unknown secretId/);
    expect(reason(signOriginal(SKEY, ugcOriginal({ ...base, sourceContext: 'x'.repeat(251) })))).toMatch(/^10001 .*sourceContext/);
    expect(reason(signOriginal(SKEY, ugcOriginal({ ...base, sourceContext: 'x'.repeat(250) })))).toBe('ok');
    // hostile secretIds: inherited names of a plain object must not resolve to a "key" (String(Object) etc.)
    for (const [sid, key] of [['constructor', String(Object)], ['__proto__', String({})], ['toString', String(Object.prototype.toString)]]) {
      expect(reason(signOriginal(key, ugcOriginal({ ...base, secretId: sid })))).toMatch(/^10004 .*unknown secretId/);
    }
    expect(reason('')).toMatch(/^10004 .*missing/);
    expect(reason('not base64!')).toMatch(/^10004/);
    expect(() => buildUgcSignature(SKEY, { ...base, random: 2 ** 32 })).toThrow(/uint|32-bit/);
    expect(() => buildUgcSignature(SKEY, { ...base, sourceContext: 'y'.repeat(251) })).toThrow(/250/);
  });
});

describe('COS request signature (doc 436/7778)', () => {
  const ID = 'AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q';
  const KEY = 'BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz';

  it('PUT /exampleobject(腾讯云) with seven signed headers', () => {
    const s = cosSign({
      secretId: ID, secretKey: KEY, method: 'PUT', pathname: '/exampleobject(腾讯云)', keyTime: '1557989151;1557996351',
      headers: {
        'Content-Length': 13, 'Content-MD5': 'mQ/fVh815F3k6TAUm8m0eg==', 'Content-Type': 'text/plain', Date: 'Thu, 16 May 2019 06:45:51 GMT',
        Host: 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com', 'x-cos-acl': 'private', 'x-cos-grant-read': 'uin="100000000011"',
      },
    });
    expect(s.signKey).toBe('eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f');
    expect(require('node:crypto').createHash('sha1').update(s.httpString).digest('hex')).toBe('8b2751e77f43a0995d6e9eb9477f4b685cca4172');
    expect(s.signature).toBe('3b8851a11a569213c17ba8fa7dcf2abec6935172');
    expect(s.authorization).toContain('q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read&q-url-param-list=&');
  });

  it('GET with two response-* parameters', () => {
    const s = cosSign({
      secretId: ID, secretKey: KEY, method: 'GET', pathname: '/exampleobject(腾讯云)', keyTime: '1557989753;1557996953',
      query: { 'response-content-type': 'application/octet-stream', 'response-cache-control': 'max-age=600' },
      headers: { Date: 'Thu, 16 May 2019 06:55:53 GMT', Host: 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com' },
    });
    expect(s.signKey).toBe('937914bf490e9e8c189836aad2052e4feeb35eaf');
    expect(s.signature).toBe('01681b8c9d798a678e43b685a9f1bba0f6c0e012');
    const parsed = parseCosAuthorization(s.authorization)!;
    expect(parsed).toMatchObject({ ak: ID, keyTime: '1557989753;1557996953', headerList: ['date', 'host'], paramList: ['response-cache-control', 'response-content-type'] });
  });

  it('GET /testfile with a range header (third vector)', () => {
    const s = cosSign({ secretId: ID, secretKey: KEY, method: 'get', pathname: '/testfile', keyTime: '1417773892;1417853898', headers: { host: 'bucket1-1254000000.cos.ap-beijing.myqcloud.com', range: 'bytes=0-3' } });
    expect(s.signKey).toBe('d265642cf75792e70e35030fd14e73134094d673');
    expect(s.signature).toBe('4b6cbab14ce01381c29032423481ebffd514e8be');
  });

  it('PostObject policy signature (doc vector) and camSafeUrlEncode', () => {
    // The doc's example: only KeyTime → SignKey and StringToSign → Signature are given; recompute both halves.
    expect(createHmac('sha1', createHmac('sha1', KEY).update('1567150692;1567157892').digest('hex')).update('d5d903b8360468bc81c1311f134989bc8c8b5b89').digest('hex')).toBe('7758dc9a832e9d301dca704cacbf9d9f8172fdef');
    expect(createHmac('sha1', KEY).update('1567150692;1567157892').digest('hex')).toBe('39acc8c9f34ba5b19bce4e965b370cd3f62d2fba');
    const policy = '{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b-1"}]}';
    const expected = createHmac('sha1', createHmac('sha1', KEY).update('1;2').digest('hex')).update(require('node:crypto').createHash('sha1').update(policy).digest('hex')).digest('hex');
    expect(cosPostPolicySignature(KEY, '1;2', policy)).toBe(expected);
    expect(cosEncode("a b!'()*~")).toBe('a%20b%21%27%28%29%2A~');
  });
});

describe('COS CRC-64 (x-cos-hash-crc64ecma) is our CRC-64/XZ', () => {
  it('check values from the reference', () => {
    expect(crc64(Buffer.from('123456789'))).toBe('11051210869376104954');
    expect(crc64(Buffer.from('hello!'))).toBe('12376253532637556581');
  });
});
