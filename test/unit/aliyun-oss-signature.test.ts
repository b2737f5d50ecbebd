/**
 * OSS signatures against ali-oss's own signUtils (an independent implementation the real OSS accepts).
 */
import {
  ossV1Authorization, ossV1StringToSign, ossV1CanonicalResource, pickV1SubResources, parseOssV1Authorization,
  ossV4Authorization, parseOssV4Authorization, ossV4CanonicalRequest, formatOssV4Date, formatOssV1Date,
  encodePostPolicy, ossPostPolicySignature, ossPostPolicyV4Signature, ossV4SigningKey,
} from '../../sdk/src/aliyun';
import { createHmac } from 'node:crypto';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signUtils = require('ali-oss/lib/common/signUtils');

const AK = 'STS.NUtestkey';
const SK = 'secret/with+chars';

describe('OSS V1 header signature', () => {
  const headers = {
    'x-oss-date': 'Wed, 01 May 2024 10:00:00 GMT',
    'Content-Type': 'application/octet-stream',
    'x-oss-security-token': 'CAIStoken==',
    'X-OSS-Meta-Title': '  视频 title ',
    'Content-MD5': 'eB5eJF1ptWaXm4bijSPyxw==',
  };

  it('matches ali-oss for UploadPart (partNumber + uploadId sub-resources, unicode key)', () => {
    const sub = { partNumber: '3', uploadId: '0004B9894A22E5B1888A1E29F823' };
    const ours = ossV1Authorization(AK, SK, { method: 'put', bucket: 'outin-b1', key: 'sv/视频/a b.mp4', headers, subResources: sub });
    const theirs = signUtils.authorization(AK, SK, signUtils.buildCanonicalString('PUT', '/outin-b1/sv/视频/a b.mp4', { headers, parameters: sub }));
    expect(ours.authorization).toBe(theirs);
    expect(ours.stringToSign).toContain('x-oss-meta-title:视频 title\n');
  });

  it('matches ali-oss for InitiateMultipartUpload (bare ?uploads) and bucket-level requests', () => {
    const ours = ossV1Authorization(AK, SK, { method: 'POST', bucket: 'b1', key: 'k', headers, subResources: { uploads: '' } });
    const theirs = signUtils.authorization(AK, SK, signUtils.buildCanonicalString('POST', '/b1/k', { headers, parameters: 'uploads' }));
    expect(ours.authorization).toBe(theirs);
    expect(ossV1CanonicalResource('b1', undefined, { uploads: null })).toBe('/b1/?uploads');
    expect(ossV1CanonicalResource(undefined, undefined)).toBe('/');
  });

  it('server side: only signed sub-resources count (max-parts is not signed in V1)', () => {
    expect(pickV1SubResources({ uploadId: 'u', 'max-parts': '10', 'part-number-marker': '2', acl: '' })).toEqual({ uploadId: 'u', acl: '' });
  });

  it('uses Date when there is no x-oss-date, and Expires for presigned URLs', () => {
    expect(ossV1StringToSign({ method: 'GET', bucket: 'b', key: 'k', headers: { Date: 'D1' } })).toBe('GET\n\n\nD1\n/b/k');
    expect(ossV1StringToSign({ method: 'GET', bucket: 'b', key: 'k', headers: {}, expires: '1700000000' })).toBe('GET\n\n\n1700000000\n/b/k');
  });

  it('parses Authorization headers and rejects malformed ones', () => {
    expect(parseOssV1Authorization('OSS ak:c2ln')).toEqual({ accessKeyId: 'ak', signature: 'c2ln' });
    expect(parseOssV1Authorization('OSS akc2ln')).toBeNull();
    expect(parseOssV1Authorization('Bearer x')).toBeNull();
  });

  it('formats dates', () => {
    expect(formatOssV1Date(Date.parse('2024-05-01T10:00:00Z'))).toBe('Wed, 01 May 2024 10:00:00 GMT');
    expect(formatOssV4Date(Date.parse('2024-05-01T10:00:00.456Z'))).toBe('20240501T100000Z');
  });
});

describe('OSS V4 header signature (OSS4-HMAC-SHA256)', () => {
  const headers = {
    'x-oss-date': '20240501T100000Z',
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-oss-security-token': 'tok',
    'content-type': 'video/mp4',
    host: 'outin-b1.oss-cn-shanghai.aliyuncs.com',
  };

  it('matches ali-oss authorizationV4 for UploadPart, with and without AdditionalHeaders', () => {
    const queries = { partNumber: '2', uploadId: 'UP1' };
    for (const additional of [undefined, ['host']]) {
      const ours = ossV4Authorization(AK, SK, 'cn-shanghai', { method: 'PUT', bucket: 'outin-b1', key: 'sv/a b+c/视频.mp4', headers, query: queries, additionalHeaders: additional });
      const theirs = signUtils.authorizationV4(AK, SK, 'cn-shanghai', 'PUT', { headers, queries }, 'outin-b1', 'sv/a b+c/视频.mp4', additional);
      expect(ours.authorization).toBe(theirs);
    }
  });

  it('matches ali-oss for a bare sub-resource (?uploads → null) and a bucket-level request', () => {
    const ours = ossV4Authorization(AK, SK, 'cn-hangzhou', { method: 'POST', bucket: 'b', key: 'k', headers, query: { uploads: null } });
    const theirs = signUtils.authorizationV4(AK, SK, 'cn-hangzhou', 'POST', { headers, queries: { uploads: null } }, 'b', 'k');
    expect(ours.authorization).toBe(theirs);
    const ours2 = ossV4Authorization(AK, SK, 'cn-hangzhou', { method: 'GET', bucket: 'b', headers, query: { uploads: null, prefix: 'x y' } });
    const theirs2 = signUtils.authorizationV4(AK, SK, 'cn-hangzhou', 'GET', { headers, queries: { uploads: null, prefix: 'x y' } }, 'b', undefined);
    expect(ours2.authorization).toBe(theirs2);
  });

  it('the canonical request has the documented layout', () => {
    const c = ossV4CanonicalRequest({ method: 'put', bucket: 'b', key: 'a/b c', headers: { 'x-oss-date': 'd', 'content-type': 'x/y', other: 'no' }, query: { z: '1', a: null } });
    expect(c).toBe('PUT\n/b/a/b%20c\na&z=1\ncontent-type:x/y\nx-oss-date:d\n\n\nUNSIGNED-PAYLOAD');
  });

  it('rejects a missing additional header and a missing/bad x-oss-date', () => {
    expect(() => ossV4Authorization(AK, SK, 'cn-shanghai', { method: 'GET', bucket: 'b', key: 'k', headers, additionalHeaders: ['range'] })).toThrow(/range/);
    expect(() => ossV4Authorization(AK, SK, 'cn-shanghai', { method: 'GET', bucket: 'b', key: 'k', headers: { 'x-oss-date': 'Wed, 01 May' } })).toThrow(/x-oss-date/);
  });

  it('parses the Authorization header', () => {
    const { authorization, signature } = ossV4Authorization(AK, SK, 'cn-shanghai', { method: 'GET', bucket: 'b', key: 'k', headers, additionalHeaders: ['Host'] });
    expect(parseOssV4Authorization(authorization)).toEqual({ accessKeyId: AK, date: '20240501', region: 'cn-shanghai', product: 'oss', additionalHeaders: ['host'], signature });
    expect(parseOssV4Authorization('OSS4-HMAC-SHA256 Credential=ak/2024/cn/oss/aliyun_v4_request,Signature=x')).toBeNull();
    expect(parseOssV4Authorization('OSS ak:sig')).toBeNull();
  });

  it('the signing key chain equals a Node crypto computation', () => {
    const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
    const expected = h(h(h(h(`aliyun_v4${SK}`, '20240501'), 'cn-shanghai'), 'oss'), 'aliyun_v4_request').toString('hex');
    expect(ossV4SigningKey(SK, '20240501', 'cn-shanghai').toString()).toBe(expected);
  });
});

describe('PostObject policy', () => {
  it('encodes the policy as base64 UTF-8 JSON and signs it (V1: base64 HMAC-SHA1; V4: hex HMAC-SHA256)', () => {
    const policy = { expiration: '2030-01-01T00:00:00.000Z', conditions: [['content-length-range', 0, 1048576000] as [string, number, number], { bucket: 'b' }, ['eq', '$key', '视频.mp4'] as [string, string, string]] };
    const b64 = encodePostPolicy(policy);
    expect(JSON.parse(Buffer.from(b64, 'base64').toString('utf8'))).toEqual(policy);
    expect(ossPostPolicySignature(SK, b64)).toBe(createHmac('sha1', SK).update(b64).digest('base64'));
    const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
    const key = h(h(h(h(`aliyun_v4${SK}`, '20240501'), 'cn-shanghai'), 'oss'), 'aliyun_v4_request');
    expect(ossPostPolicyV4Signature(SK, '20240501', 'cn-shanghai', b64)).toBe(createHmac('sha256', key).update(b64).digest('hex'));
  });
});
