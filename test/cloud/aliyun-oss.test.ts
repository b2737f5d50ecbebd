/**
 * Fidelity of the local OSS, proven with the provider's own client (ali-oss) over real loopback sockets, plus raw
 * signed requests and hand-built PostObject forms for what ali-oss cannot produce.
 */
import { createHash } from 'node:crypto';
import { crc64, encodePostPolicy, ossPostPolicySignature, ossPostPolicyV4Signature, formatOssV4Date, decodeUploadAuth, decodeUploadAddress } from '../../sdk/src/aliyun';
import OSS from 'ali-oss';
import { admin, AliyunCloud, assumeRole, expectOssError, ossClient, patterned, portOf, rawHttp, rpc, signedFetch, startAliyunCloud, xml, AK, SK } from './aliyun-helpers';

let c: AliyunCloud;

beforeAll(async () => {
  c = await startAliyunCloud();
});
afterAll(() => c.close());
afterEach(async () => {
  c.cloud.setClockOffset(0);
  await admin(c.oss, 'DELETE', '/_admin/faults');
});

const md5Hex = (b: Buffer) => createHash('md5').update(b).digest('hex').toUpperCase();

describe('ali-oss against the local OSS (V1 signatures)', () => {
  it('put → get (whole and Range 206) → head → delete, with ETag = MD5 and x-oss-hash-crc64ecma = CRC-64 of the bytes', async () => {
    const client = ossClient(c);
    const data = patterned(5000, 7);
    const key = 'fidelity/put 视频 #1.bin';
    const put = await client.put(key, data);
    expect(put.res.status).toBe(200);
    const h = put.res.headers as Record<string, string>;
    expect(h.etag).toBe(`"${md5Hex(data)}"`);
    expect(h['x-oss-hash-crc64ecma']).toBe(crc64(data));
    expect(h['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);

    const whole = await client.get(key);
    expect(Buffer.compare(whole.content, data)).toBe(0);
    const part = await client.get(key, { headers: { Range: 'bytes=100-199' } });
    expect(part.res.status).toBe(206);
    expect(Buffer.compare(part.content, data.subarray(100, 200))).toBe(0);
    expect((part.res.headers as Record<string, string>)['content-range']).toBe('bytes 100-199/5000');
    // GET with Range still reports the whole object's CRC
    expect((part.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe(crc64(data));

    const head = await client.head(key);
    expect((head.res.headers as Record<string, string>)['content-length']).toBe('5000');
    expect((head.res.headers as Record<string, string>)['x-oss-object-type']).toBe('Normal');

    await client.delete(key);
    await expectOssError(client.get(key), 'NoSuchKey');
  });

  it('multipartUpload with 100 KB parts in parallel, using STS credentials from the local STS: byte-identical, combined CRC, "-N" ETag', async () => {
    const creds = await assumeRole(c.sts);
    expect(creds.AccessKeyId).toMatch(/^STS\./);
    const client = ossClient(c, creds);
    const data = patterned(100 * 1024 * 3 + 777, 3);
    const r = await client.multipartUpload('fidelity/multi.bin', data, { partSize: 100 * 1024, parallel: 3 });
    expect(r.res.status).toBe(200);
    expect((r.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe(crc64(data));
    const got = await client.get('fidelity/multi.bin');
    expect(Buffer.compare(got.content, data)).toBe(0);
    const head = await client.head('fidelity/multi.bin');
    expect((head.res.headers as Record<string, string>).etag).toMatch(/^"[0-9A-F]{32}-4"$/);
    expect((head.res.headers as Record<string, string>)['x-oss-object-type']).toBe('Multipart');
  });

  it('a multipart object serves ranges across part boundaries; overwriting it replaces every byte', async () => {
    const client = ossClient(c);
    const data = patterned(100 * 1024 * 2 + 50 * 1024, 17);
    await client.multipartUpload('fidelity/ranges.bin', data, { partSize: 100 * 1024 });
    for (const [a, b] of [[0, 0], [102399, 102400], [100 * 1024 - 10, 200 * 1024 + 10], [0, data.length - 1], [200 * 1024, data.length - 1]]) {
      const r = await client.get('fidelity/ranges.bin', { headers: { Range: `bytes=${a}-${b}` } });
      expect([a, b, r.res.status, Buffer.compare(r.content, data.subarray(a, b + 1))]).toEqual([a, b, 206, 0]);
    }
    const tail = await client.get('fidelity/ranges.bin', { headers: { Range: 'bytes=-70000' } });
    expect(Buffer.compare(tail.content, data.subarray(data.length - 70000))).toBe(0);
    await client.put('fidelity/ranges.bin', Buffer.from('small now'));
    expect(String((await client.get('fidelity/ranges.bin')).content)).toBe('small now');
    const head = await client.head('fidelity/ranges.bin');
    expect((head.res.headers as Record<string, string>)['x-oss-object-type']).toBe('Normal');
  });

  it('initMultipartUpload + uploadPart + listParts (paged with max-parts / part-number-marker) + listUploads + abort', async () => {
    const client = ossClient(c);
    const key = 'fidelity/parts.bin';
    const init = await client.initMultipartUpload(key);
    const uploadId = init.uploadId;
    expect(uploadId).toMatch(/^[0-9A-F]{32}$/);
    const parts = [patterned(1000, 1), patterned(2000, 2), patterned(3000, 3)];
    for (let i = 0; i < parts.length; i++) {
      const r = await client.uploadPart(key, uploadId, i + 1, parts[i], 0, parts[i].length);
      expect(r.etag).toBe(`"${md5Hex(parts[i])}"`);
      expect((r.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe(crc64(parts[i]));
    }
    const page1: any = await client.listParts(key, uploadId, { 'max-parts': 2 } as never);
    expect(page1.parts.map((p: { PartNumber: string }) => p.PartNumber)).toEqual(['1', '2']);
    expect(String(page1.isTruncated)).toBe('true');
    expect(page1.nextPartNumberMarker).toBe('2');
    const page2: any = await client.listParts(key, uploadId, { 'max-parts': 2, 'part-number-marker': Number(page1.nextPartNumberMarker) } as never);
    // (xml2js in ali-oss turns a single <Part> into an object, not a list)
    expect([].concat(page2.parts).map((p: { PartNumber: string; Size: string }) => [p.PartNumber, p.Size])).toEqual([['3', '3000']]);
    expect(String(page2.isTruncated)).toBe('false');

    const uploads = await client.listUploads({ prefix: 'fidelity/parts' });
    expect(uploads.uploads.map((u: { uploadId: string }) => u.uploadId)).toContain(uploadId);

    const abort: any = await client.abortMultipartUpload(key, uploadId);
    expect(abort.res.status).toBe(204);
    await expectOssError(client.listParts(key, uploadId), 'NoSuchUpload');
    await expectOssError(client.abortMultipartUpload(key, uploadId), 'NoSuchUpload');
  });

  it('re-uploading a part number overwrites it; completing the same upload twice is idempotent', async () => {
    const client = ossClient(c);
    const key = 'fidelity/idempotent.bin';
    const { uploadId } = await client.initMultipartUpload(key);
    const a = patterned(100 * 1024, 11);
    const b = patterned(10, 12);
    await client.uploadPart(key, uploadId, 1, patterned(100 * 1024, 99), 0, 100 * 1024);
    const p1 = await client.uploadPart(key, uploadId, 1, a, 0, a.length);
    const p2 = await client.uploadPart(key, uploadId, 2, b, 0, b.length);
    const parts = [{ number: 1, etag: p1.etag }, { number: 2, etag: p2.etag }];
    const first = await client.completeMultipartUpload(key, uploadId, parts);
    const again = await client.completeMultipartUpload(key, uploadId, parts);
    expect(again.res.status).toBe(200);
    expect(first.etag).toMatch(/^"[0-9A-F]{32}-2"$/);
    expect(again.etag).toBe(first.etag);
    expect(Buffer.compare((await client.get(key)).content, Buffer.concat([a, b]))).toBe(0);
  });

  it('virtual-hosted requests (Host: bucket.oss-cn-shanghai.aliyuncs.com) and presigned URLs (signatureUrl) work until they expire; anonymous requests are denied', async () => {
    const client = ossClient(c);
    await client.put('fidelity/presigned.txt', Buffer.from('presigned body'));
    // ali-oss refuses to presign for an IP endpoint, so presign for the real host name and send it to our port
    const real = new OSS({ endpoint: 'http://oss-cn-shanghai.aliyuncs.com', bucket: c.bucket, accessKeyId: AK, accessKeySecret: SK } as OSS.Options);
    const url = new URL(real.signatureUrl('fidelity/presigned.txt', { expires: 60 }));
    expect(url.host).toBe(`${c.bucket}.oss-cn-shanghai.aliyuncs.com`);
    const ok = await rawHttp(portOf(c.oss), { method: 'GET', path: url.pathname + url.search, host: url.host });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('presigned body');
    const later = new URL(url.toString());
    later.searchParams.set('Expires', String(Number(url.searchParams.get('Expires')) + 3600));
    const tampered = await rawHttp(portOf(c.oss), { method: 'GET', path: later.pathname + later.search, host: url.host });
    expect([tampered.status, xml.parse(tampered.text).Error.Code]).toEqual([403, 'SignatureDoesNotMatch']);
    c.cloud.setClockOffset(120 * 1000);
    const expired = await rawHttp(portOf(c.oss), { method: 'GET', path: url.pathname + url.search, host: url.host });
    expect(expired.status).toBe(403);
    expect(xml.parse(expired.text).Error.Message).toBe('Request has expired.');
    c.cloud.setClockOffset(0);
    const anon = await fetch(`${c.oss}/${c.bucket}/fidelity/presigned.txt`);
    expect(anon.status).toBe(403);
    expect(xml.parse(await anon.text()).Error.Code).toBe('AccessDenied');
  });
});

describe('ali-oss with authorizationV4 (OSS4-HMAC-SHA256)', () => {
  it('put, ranged get and multipartUpload verify under V4 with STS credentials', async () => {
    const creds = await assumeRole(c.sts);
    const client = ossClient(c, creds, { authorizationV4: true });
    const small = patterned(3000, 21);
    await client.put('fidelity/v4 small.bin', small);
    const got = await client.get('fidelity/v4 small.bin', { headers: { Range: 'bytes=0-9' } });
    expect(Buffer.compare(got.content, small.subarray(0, 10))).toBe(0);
    const big = patterned(250 * 1024, 22);
    await client.multipartUpload('fidelity/v4-multi.bin', big, { partSize: 100 * 1024, parallel: 2 });
    expect(Buffer.compare((await client.get('fidelity/v4-multi.bin')).content, big)).toBe(0);
    const log = await admin(c.oss, 'GET', '/_admin/requests?op=UploadPart');
    expect(log.requests.some((e: { auth: string; accessKeyId: string }) => e.auth === 'V4' && e.accessKeyId === creds.AccessKeyId)).toBe(true);
  });

  it('a tampered secret under V4 → SignatureDoesNotMatch', async () => {
    const client = ossClient(c, { accessKeyId: AK, accessKeySecret: SK + 'x' }, { authorizationV4: true });
    await expectOssError(client.put('fidelity/v4-bad.bin', Buffer.from('x')), 'SignatureDoesNotMatch');
  });
});

describe('authentication failures', () => {
  it('tampered secret → SignatureDoesNotMatch, and the error XML is OSS-shaped (RequestId = x-oss-request-id, StringToSign echoed)', async () => {
    const client = ossClient(c, { accessKeyId: AK, accessKeySecret: 'not-the-secret' });
    await expectOssError(client.put('fidelity/bad.bin', Buffer.from('x')), 'SignatureDoesNotMatch');
    const r = await signedFetch(c, { method: 'PUT', key: 'fidelity/bad.bin', body: 'x', secret: 'not-the-secret', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(403);
    expect(r.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>')).toBe(true);
    const e = xml.parse(r.text).Error;
    expect(e.Code).toBe('SignatureDoesNotMatch');
    expect(e.RequestId).toBe(r.headers.get('x-oss-request-id'));
    expect(e.HostId).toBe(`${c.bucket}.oss-cn-shanghai.aliyuncs.com`);
    expect(e.OSSAccessKeyId).toBe(AK);
    expect(e.StringToSign.split('\n')).toEqual(['PUT', '', 'text/plain', expect.stringMatching(/GMT$/), expect.stringMatching(/^x-oss-date:/), `/${c.bucket}/fidelity/bad.bin`]);
    expect(e.EC).toBe('0002-00000040');
  });

  it('unknown AccessKeyId → InvalidAccessKeyId; STS AccessKeyId without its token → InvalidAccessKeyId; wrong token → InvalidSecurityToken', async () => {
    await expectOssError(ossClient(c, { accessKeyId: 'LTAInobody', accessKeySecret: 'x' }).put('k1', Buffer.from('x')), 'InvalidAccessKeyId');
    const creds = await assumeRole(c.sts);
    await expectOssError(ossClient(c, { accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret }).put('k1', Buffer.from('x')), 'InvalidAccessKeyId');
    await expectOssError(ossClient(c, { accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret, stsToken: 'CAISforged' }).put('k1', Buffer.from('x')), 'InvalidSecurityToken');
  });

  it('expired STS token → SecurityTokenExpired (expired through the admin API, and by lifetime with a shifted clock)', async () => {
    const creds = await assumeRole(c.sts);
    const client = ossClient(c, creds);
    await client.put('fidelity/sts-ok.bin', Buffer.from('ok'));
    const r = await admin(c.oss, 'POST', '/_admin/credentials/expire', { accessKeyId: creds.AccessKeyId });
    expect(r.expired).toBe(1);
    const err = await expectOssError(client.put('fidelity/sts-late.bin', Buffer.from('late')), 'SecurityTokenExpired');
    expect(err.status).toBe(403);

    await admin(c.sts, 'POST', '/_admin/credentials', { stsLifetimeSeconds: 60 });
    try {
      const short = await assumeRole(c.sts, { DurationSeconds: 3600 });
      expect(Date.parse(short.Expiration) - Date.now()).toBeLessThanOrEqual(61 * 1000);
      const shortClient = ossClient(c, short);
      await shortClient.put('fidelity/sts-short.bin', Buffer.from('1'));
      c.cloud.setClockOffset(61 * 1000);
      await expectOssError(shortClient.put('fidelity/sts-short.bin', Buffer.from('2')), 'SecurityTokenExpired');
    } finally {
      await admin(c.sts, 'POST', '/_admin/credentials', { stsLifetimeSeconds: null });
    }
  });

  it('skewed clock (> 15 min) → RequestTimeTooSkewed with ServerTime in the body; 14 min is accepted', async () => {
    const client = ossClient(c);
    c.cloud.setClockOffset(20 * 60 * 1000);
    const err = await expectOssError(client.put('fidelity/skew.bin', Buffer.from('x')), 'RequestTimeTooSkewed');
    expect(err.status).toBe(403);
    const raw = await signedFetch(c, { method: 'GET', key: 'fidelity/skew.bin' });
    const e = xml.parse(raw.text).Error;
    expect(e.Code).toBe('RequestTimeTooSkewed');
    expect(Math.abs(Date.parse(e.ServerTime) - (Date.now() + 20 * 60 * 1000))).toBeLessThan(60 * 1000);
    expect(e.MaxAllowedSkewMilliseconds).toBe('900000');
    c.cloud.setClockOffset(14 * 60 * 1000);
    await client.put('fidelity/skew.bin', Buffer.from('x'));
  });

  it('missing or unparseable date → AccessDenied; malformed Authorization → InvalidArgument', async () => {
    const noDate = await fetch(`${c.oss}/${c.bucket}/k`, { headers: { authorization: `OSS ${AK}:abc` } });
    expect(noDate.status).toBe(403);
    expect(xml.parse(await noDate.text()).Error.Message).toBe('OSS authentication requires a valid Date.');
    const bad = await fetch(`${c.oss}/${c.bucket}/k`, { headers: { authorization: 'Basic Zm9v' } });
    expect(bad.status).toBe(400);
    expect(xml.parse(await bad.text()).Error.Code).toBe('InvalidArgument');
  });
});

describe('CompleteMultipartUpload validation', () => {
  async function twoParts(key: string, firstSize: number) {
    const client = ossClient(c);
    const { uploadId } = await client.initMultipartUpload(key);
    const a = patterned(firstSize, 5);
    const b = patterned(100, 6);
    const p1 = await client.uploadPart(key, uploadId, 1, a, 0, a.length);
    const p2 = await client.uploadPart(key, uploadId, 2, b, 0, b.length);
    return { client, uploadId, p1, p2 };
  }
  const body = (parts: Array<[number, string]>) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>\n${parts.map(([n, e]) => `<Part>\n<PartNumber>${n}</PartNumber>\n<ETag>${e}</ETag>\n</Part>\n`).join('')}</CompleteMultipartUpload>`;

  it('a non-last part under 100 KB → EntityTooSmall (EC 0042-00000213)', async () => {
    const { client, uploadId, p1, p2 } = await twoParts('fidelity/small-parts.bin', 1024);
    const err = await expectOssError(client.completeMultipartUpload('fidelity/small-parts.bin', uploadId, [{ number: 1, etag: p1.etag }, { number: 2, etag: p2.etag }]), 'EntityTooSmall');
    expect(err.ecCode).toBe('0042-00000213');
  });

  it('an ETag that does not match → InvalidPart; an unknown part number → InvalidPart', async () => {
    const { client, uploadId, p2 } = await twoParts('fidelity/invalid-part.bin', 100 * 1024);
    await expectOssError(client.completeMultipartUpload('fidelity/invalid-part.bin', uploadId, [{ number: 1, etag: '"00000000000000000000000000000000"' }, { number: 2, etag: p2.etag }]), 'InvalidPart');
    await expectOssError(client.completeMultipartUpload('fidelity/invalid-part.bin', uploadId, [{ number: 3, etag: p2.etag }]), 'InvalidPart');
  });

  it('parts out of order → InvalidPartOrder (raw request: ali-oss always sorts)', async () => {
    const { uploadId, p1, p2 } = await twoParts('fidelity/order.bin', 100 * 1024);
    const r = await signedFetch(c, { method: 'POST', key: 'fidelity/order.bin', sub: { uploadId }, headers: { 'content-type': 'application/xml' }, body: body([[2, p2.etag], [1, p1.etag]]) });
    expect(r.status).toBe(400);
    const e = xml.parse(r.text).Error;
    expect(e.Code).toBe('InvalidPartOrder');
    expect(e.EC).toBe('0042-00000209');
    // and the same parts in order succeed, with gaps allowed only in numbering
    const ok = await signedFetch(c, { method: 'POST', key: 'fidelity/order.bin', sub: { uploadId }, headers: { 'content-type': 'application/xml' }, body: body([[1, p1.etag], [2, p2.etag]]) });
    expect(ok.status).toBe(200);
    const result = xml.parse(ok.text).CompleteMultipartUploadResult;
    expect(result.Key).toBe('fidelity/order.bin');
    expect(result.ETag).toMatch(/^"[0-9A-F]{32}-2"$/);
    expect(ok.headers.get('x-oss-hash-crc64ecma')).toBe(crc64(Buffer.concat([patterned(100 * 1024, 5), patterned(100, 6)])));
  });

  it('malformed XML → MalformedXML; unknown uploadId → NoSuchUpload; x-oss-complete-all: yes completes every uploaded part', async () => {
    const { uploadId } = await twoParts('fidelity/xml.bin', 100 * 1024);
    const bad = await signedFetch(c, { method: 'POST', key: 'fidelity/xml.bin', sub: { uploadId }, headers: { 'content-type': 'application/xml' }, body: '<CompleteMultipartUpload><Part>' });
    expect(xml.parse(bad.text).Error.Code).toBe('MalformedXML');
    const none = await signedFetch(c, { method: 'POST', key: 'fidelity/xml.bin', sub: { uploadId: '0123456789ABCDEF0123456789ABCDEF' }, headers: { 'content-type': 'application/xml' }, body: body([[1, '"x"']]) });
    expect(none.status).toBe(404);
    expect(xml.parse(none.text).Error.Code).toBe('NoSuchUpload');
    const all = await signedFetch(c, { method: 'POST', key: 'fidelity/xml.bin', sub: { uploadId }, headers: { 'x-oss-complete-all': 'yes' } });
    expect(all.status).toBe(200);
  });
});

describe('object keys, ranges, HEAD errors, metadata, notification', () => {
  it('path traversal and invalid keys are rejected with InvalidObjectName', async () => {
    const client = ossClient(c);
    // fetch() and ali-oss normalise "..", so send the exact paths: literal, percent-encoded dots, encoded slashes
    for (const p of ['/a/../../etc/passwd', '/%2e%2e/x', '/a%2F..%2F..%2Fb', '/a/./b', '/..']) {
      const r = await rawHttp(portOf(c.oss), { method: 'PUT', path: `/${c.bucket}${p}`, headers: { authorization: `OSS ${AK}:x`, 'x-oss-date': new Date().toUTCString() }, body: 'x' });
      expect([p, r.status, xml.parse(r.text).Error.Code]).toEqual([p, 400, 'InvalidObjectName']);
    }
    await expectOssError(client.put('x'.repeat(1024), Buffer.from('x')), 'InvalidObjectName');
    await expectOssError(client.put('多'.repeat(342), Buffer.from('x')), 'InvalidObjectName'); // 1026 UTF-8 bytes
    const ctl = await signedFetch(c, { method: 'PUT', key: 'a\u0001b', body: 'x' });
    expect(xml.parse(ctl.text).Error.Code).toBe('InvalidObjectName');
    const objs = await admin(c.oss, 'GET', `/_admin/objects?bucket=${c.bucket}&prefix=etc`);
    expect(objs.objects).toHaveLength(0);
    // the longest legal key still works
    await client.put('y'.repeat(1023), Buffer.from('ok'));
  });

  it('unknown bucket → NoSuchBucket; an unsatisfiable Range returns the whole object (200), or 416 with x-oss-range-behavior: standard', async () => {
    await expectOssError(ossClient(c, undefined, { bucket: 'no-such-bucket-here' }).get('k'), 'NoSuchBucket');
    const client = ossClient(c);
    await client.put('fidelity/range.bin', Buffer.from('0123456789'));
    const whole = await client.get('fidelity/range.bin', { headers: { Range: 'bytes=50-60' } });
    expect(whole.res.status).toBe(200);
    expect(String(whole.content)).toBe('0123456789');
    const suffix = await client.get('fidelity/range.bin', { headers: { Range: 'bytes=-3' } });
    expect(String(suffix.content)).toBe('789');
    const strict = await signedFetch(c, { method: 'GET', key: 'fidelity/range.bin', headers: { range: 'bytes=50-60', 'x-oss-range-behavior': 'standard' } });
    expect(strict.status).toBe(416);
    expect(xml.parse(strict.text).Error.Code).toBe('InvalidRange');
  });

  it('PUT with an empty Content-Type, none at all, application/json, or chunked encoding: accepted and signed as sent', async () => {
    const { ossV1Authorization: sign, formatOssV1Date: date } = await import('../../sdk/src/aliyun');
    for (const ct of [undefined, '', 'application/json']) {
      for (const chunked of [false, true]) {
        const headers: Record<string, string> = { 'x-oss-date': date(Date.now()) };
        if (ct !== undefined) headers['content-type'] = ct;
        const { authorization } = sign(AK, SK, { method: 'PUT', bucket: c.bucket, key: 'fidelity/ct.bin', headers });
        const r = await rawHttp(portOf(c.oss), { method: 'PUT', path: `/${c.bucket}/fidelity/ct.bin`, headers: { ...headers, authorization, ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': '5' }) }, body: '{"a":' });
        expect([ct, chunked, r.status]).toEqual([ct, chunked, 200]);
        expect(r.headers['x-oss-hash-crc64ecma']).toBe(crc64(Buffer.from('{"a":')));
      }
    }
  });

  it('HEAD of a missing object → 404 with the error XML base64-encoded in x-oss-err', async () => {
    const r = await signedFetch(c, { method: 'HEAD', key: 'fidelity/missing.bin' });
    expect(r.status).toBe(404);
    expect(r.body.length).toBe(0);
    const e = xml.parse(Buffer.from(r.headers.get('x-oss-err') || '', 'base64').toString('utf8')).Error;
    expect(e.Code).toBe('NoSuchKey');
    expect(e.RequestId).toBe(r.headers.get('x-oss-request-id'));
  });

  it('Content-MD5 mismatch → InvalidDigest; x-oss-meta-* round-trips; x-oss-forbid-overwrite → FileAlreadyExists', async () => {
    const bad = await signedFetch(c, { method: 'PUT', key: 'fidelity/md5.bin', body: 'abc', headers: { 'content-md5': createHash('md5').update('abd').digest('base64') } });
    expect(xml.parse(bad.text).Error.Code).toBe('InvalidDigest');
    const client = ossClient(c);
    await client.put('fidelity/meta.bin', Buffer.from('m'), { meta: { owner: 'tester', n: 1 } as never });
    const head = await client.head('fidelity/meta.bin');
    expect(head.meta).toEqual({ owner: 'tester', n: '1' });
    const again = await signedFetch(c, { method: 'PUT', key: 'fidelity/meta.bin', body: 'n', headers: { 'x-oss-forbid-overwrite': 'true' } });
    expect(r409(again)).toBe('FileAlreadyExists');
  });

  it('records x-oss-notification from InitiateMultipartUpload and emits it with the completed object (visible via admin)', async () => {
    const note = Buffer.from(JSON.stringify({ Vod: { Title: 'n1', UserData: { a: 1 } } })).toString('base64');
    const client = ossClient(c);
    const big = patterned(150 * 1024, 9);
    await client.multipartUpload('fidelity/notify.bin', big, { partSize: 100 * 1024, headers: { 'x-oss-notification': note } });
    const objs = await admin(c.oss, 'GET', `/_admin/objects?bucket=${c.bucket}&prefix=fidelity/notify.bin`);
    expect(objs.objects).toHaveLength(1);
    expect(objs.objects[0].notification).toBe(note);
    expect(objs.objects[0].crc64).toBe(crc64(big));
  });
});

function r409(r: { status: number; text: string }): string {
  expect(r.status).toBe(409);
  return xml.parse(r.text).Error.Code;
}

describe('PostObject (hand-built multipart forms)', () => {
  const expiration = (ms: number) => new Date(Date.now() + ms).toISOString();

  async function post(fields: Record<string, string>, file: Buffer | string, fileName = 'a.bin') {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([typeof file === 'string' ? file : new Uint8Array(file)]), fileName);
    const res = await fetch(`${c.oss}/${c.bucket}`, { method: 'POST', body: form });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }
  function signed(policy: object, extra: Record<string, string> = {}, secret: string = SK, ak: string = AK) {
    const p = encodePostPolicy(policy as never);
    return { OSSAccessKeyId: ak, policy: p, Signature: ossPostPolicySignature(secret, p), ...extra };
  }

  it('a valid V1 policy upload → 201 PostResponse XML with ETag and CRC; 200 → empty body; default → 204', async () => {
    const data = patterned(4096, 31);
    const policy = { expiration: expiration(60000), conditions: [{ bucket: c.bucket }, ['eq', '$key', 'post/one.bin'], ['content-length-range', 0, 10000]] };
    const r = await post({ key: 'post/one.bin', success_action_status: '201', ...signed(policy) }, data);
    expect(r.status).toBe(201);
    const pr = xml.parse(r.text).PostResponse;
    expect(pr.Key).toBe('post/one.bin');
    expect(pr.ETag).toBe(`"${md5Hex(data)}"`);
    expect(r.headers.get('x-oss-hash-crc64ecma')).toBe(crc64(data));
    expect(Buffer.compare((await ossClient(c).get('post/one.bin')).content, data)).toBe(0);

    const p2 = { expiration: expiration(60000), conditions: [['starts-with', '$key', 'post/']] };
    const r200 = await post({ key: 'post/two.bin', success_action_status: '200', ...signed(p2) }, 'two');
    expect(r200.status).toBe(200);
    expect(r200.text).toBe('');
    const r204 = await post({ key: 'post/three.bin', ...signed(p2) }, 'three');
    expect(r204.status).toBe(204);
  });

  it('policy violations: expired, eq $key, starts-with, bucket, content-length-range (too large / too small), malformed range, bad JSON', async () => {
    const code = async (r: Promise<{ status: number; text: string }>) => {
      const x = await r;
      const e = xml.parse(x.text).Error;
      return `${x.status} ${e.Code}: ${e.Message}`;
    };
    expect(await code(post({ key: 'post/x', ...signed({ expiration: expiration(-1000), conditions: [] }) }, 'x'))).toBe('403 AccessDenied: Invalid according to Policy: Policy expired.');
    expect(await code(post({ key: 'post/x', ...signed({ expiration: expiration(60000), conditions: [['eq', '$key', 'post/y']] }) }, 'x'))).toMatch(/^403 AccessDenied: Invalid according to Policy: Policy Condition failed: \["eq","\$key","post\/y"\]/);
    expect(await code(post({ key: 'other/x', ...signed({ expiration: expiration(60000), conditions: [['starts-with', '$key', 'post/']] }) }, 'x'))).toMatch(/^403 AccessDenied: .*starts-with/);
    expect(await code(post({ key: 'post/x', ...signed({ expiration: expiration(60000), conditions: [{ bucket: 'someone-else' }] }) }, 'x'))).toMatch(/^403 AccessDenied: .*bucket/);
    expect(await code(post({ key: 'post/x', ...signed({ expiration: expiration(60000), conditions: [['content-length-range', 0, 10]] }) }, patterned(11)))).toBe('400 EntityTooLarge: Your proposed upload exceeds the maximum allowed size.');
    expect(await code(post({ key: 'post/x', ...signed({ expiration: expiration(60000), conditions: [['content-length-range', 5, 10]] }) }, 'abc'))).toBe('400 EntityTooSmall: Your proposed upload is smaller than the minimum allowed size.');
    expect(await code(post({ key: 'post/x', ...signed({ expiration: expiration(60000), conditions: [['content-length-range', 10, 5]] }) }, 'abc'))).toMatch(/^400 InvalidPolicyDocument/);
    const notJson = Buffer.from('{nope').toString('base64');
    expect(await code(post({ key: 'post/x', OSSAccessKeyId: AK, policy: notJson, Signature: ossPostPolicySignature(SK, notJson) }, 'x'))).toBe('400 InvalidPolicyDocument: Invalid Policy: Invalid JSON.');
    const objs = await admin(c.oss, 'GET', `/_admin/objects?bucket=${c.bucket}&prefix=post/x`);
    expect(objs.objects).toHaveLength(0);
  });

  it('bad signature → SignatureDoesNotMatch; no key → InvalidArgument; no credentials → AccessDenied', async () => {
    const policy = { expiration: expiration(60000), conditions: [] };
    const r = await post({ key: 'post/sig', ...signed(policy, {}, 'wrong-secret') }, 'x');
    expect(r.status).toBe(403);
    expect(xml.parse(r.text).Error.Code).toBe('SignatureDoesNotMatch');
    const noKey = await post({ ...signed(policy) }, 'x');
    expect(xml.parse(noKey.text).Error.Code).toBe('InvalidArgument');
    const anon = await post({ key: 'post/anon' }, 'x');
    expect(xml.parse(anon.text).Error.Code).toBe('AccessDenied');
  });

  it('VOD UploadAuth credentials (STS token in x-oss-security-token) may post their own object only; x-oss-notification is recorded', async () => {
    const vod = rpc(c.vod, '2017-03-21');
    const res = (await vod.request('CreateUploadVideo', { Title: 'post video', FileName: 'clip.mp4' }, { method: 'POST' })) as { UploadAuth: string; UploadAddress: string; VideoId: string };
    const auth = decodeUploadAuth(res.UploadAuth);
    const addr = decodeUploadAddress(res.UploadAddress);
    const policy = { expiration: expiration(60000), conditions: [['content-length-range', 0, 1048576000]] };
    const withToken = (key: string) => ({ key, success_action_status: '200', 'x-oss-security-token': auth.SecurityToken, 'x-oss-notification': Buffer.from('{"Vod":{"Title":"post video"}}').toString('base64'), ...signed(policy, {}, auth.AccessKeySecret, auth.AccessKeyId) });
    const denied = await post(withToken('sv/other/key.mp4'), 'x');
    expect(denied.status).toBe(403);
    expect(xml.parse(denied.text).Error.Code).toBe('AccessDenied');
    const ok = await post(withToken(addr.FileName), patterned(2048, 4), 'clip.mp4');
    expect(ok.status).toBe(200);
    const info = (await vod.request('GetVideoInfo', { VideoId: res.VideoId })) as { Video: { Status: string; Size: number } };
    expect(info.Video.Status).toBe('UploadSucc');
    expect(info.Video.Size).toBe(2048);
  });

  it('a V4 policy (x-oss-signature-version / x-oss-credential / x-oss-date / x-oss-signature) verifies', async () => {
    const date = formatOssV4Date(Date.now());
    const credential = `${AK}/${date.slice(0, 8)}/cn-shanghai/oss/aliyun_v4_request`;
    const policy = encodePostPolicy({ expiration: expiration(60000), conditions: [{ bucket: c.bucket }, { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' }, { 'x-oss-credential': credential }, { 'x-oss-date': date }] });
    const fields = { key: 'post/v4.bin', policy, 'x-oss-signature-version': 'OSS4-HMAC-SHA256', 'x-oss-credential': credential, 'x-oss-date': date, 'x-oss-signature': ossPostPolicyV4Signature(SK, date.slice(0, 8), 'cn-shanghai', policy), success_action_status: '200' };
    expect((await post(fields, 'v4 body')).status).toBe(200);
    const bad = await post({ ...fields, 'x-oss-signature': ossPostPolicyV4Signature(SK + '1', date.slice(0, 8), 'cn-shanghai', policy) }, 'v4 body');
    expect(xml.parse(bad.text).Error.Code).toBe('SignatureDoesNotMatch');
  });
});

describe('admin API: injected faults and the request log', () => {
  it('fails the next UploadPart with 500 InternalError once, then lets it through; the log records the fault', async () => {
    const client = ossClient(c);
    const key = 'fidelity/fault.bin';
    const { uploadId } = await client.initMultipartUpload(key);
    await admin(c.oss, 'POST', '/_admin/faults', { op: 'UploadPart', times: 1, action: { type: 'status', status: 500 } });
    const err = await expectOssError(client.uploadPart(key, uploadId, 1, Buffer.from('abc'), 0, 3), 'InternalError');
    expect(err.status).toBe(500);
    const ok = await client.uploadPart(key, uploadId, 1, Buffer.from('abc'), 0, 3);
    expect(ok.etag).toBe(`"${md5Hex(Buffer.from('abc'))}"`);
    const log = await admin(c.oss, 'GET', '/_admin/requests?op=UploadPart');
    const mine = log.requests.filter((e: { key: string }) => e.key === key);
    expect(mine.map((e: { status: number; fault?: string }) => [e.status, !!e.fault])).toEqual([[500, true], [200, false]]);
  });

  it('a given OSS error code (SecurityTokenExpired 403) for a given part number; a connection reset; a delay', async () => {
    const client = ossClient(c);
    const key = 'fidelity/fault2.bin';
    const { uploadId } = await client.initMultipartUpload(key);
    await admin(c.oss, 'POST', '/_admin/faults', { op: 'UploadPart', partNumber: 2, action: { type: 'status', status: 403, code: 'SecurityTokenExpired' } });
    await client.uploadPart(key, uploadId, 1, Buffer.from('one'), 0, 3); // not part 2: untouched
    await expectOssError(client.uploadPart(key, uploadId, 2, Buffer.from('two'), 0, 3), 'SecurityTokenExpired');

    await admin(c.oss, 'POST', '/_admin/faults', { op: 'UploadPart', action: { type: 'reset' } });
    const reset = await signedFetch(c, { method: 'PUT', key, sub: { partNumber: '3', uploadId }, body: 'three' }).then(
      () => 'answered',
      (e: Error) => `failed: ${e.message}`,
    );
    expect(reset).toMatch(/^failed/);

    await admin(c.oss, 'POST', '/_admin/faults', { op: 'UploadPart', action: { type: 'delay', ms: 50 } });
    const slow = await client.uploadPart(key, uploadId, 3, Buffer.from('three'), 0, 5);
    expect(slow.res.status).toBe(200);
    const log = await admin(c.oss, 'GET', '/_admin/requests?op=UploadPart');
    expect(log.requests.filter((e: { key: string; fault?: string }) => e.key === key && e.fault).map((e: { fault: string }) => e.fault.split(':')[1])).toEqual(['status', 'reset', 'delay']);
  });

  it('a delayed request loses no body bytes (the body is only read once the handler streams it)', async () => {
    const client = ossClient(c);
    const data = patterned(3 * 1024 * 1024 + 5, 13);
    await admin(c.oss, 'POST', '/_admin/faults', { op: 'PutObject', action: { type: 'delay', ms: 150 } });
    const r = await client.put('fidelity/delayed.bin', data);
    expect((r.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']).toBe(crc64(data));
    expect(Buffer.compare((await client.get('fidelity/delayed.bin')).content, data)).toBe(0);
    const log = await admin(c.oss, 'GET', '/_admin/requests?op=PutObject');
    expect(log.requests.find((e: { key: string }) => e.key === 'fidelity/delayed.bin')).toMatchObject({ bytesIn: data.length, fault: expect.stringMatching(/delay$/) });
  });

  it('an upload aborted while a part is still streaming in: that part answers NoSuchUpload and nothing is left behind', async () => {
    const http = await import('node:http');
    const { ossV1Authorization: sign, formatOssV1Date: date } = await import('../../sdk/src/aliyun');
    const client = ossClient(c);
    const key = 'fidelity/abort-race.bin';
    const { uploadId } = await client.initMultipartUpload(key);
    const headers: Record<string, string> = { 'x-oss-date': date(Date.now()), 'content-type': 'application/octet-stream' };
    const { authorization } = sign(AK, SK, { method: 'PUT', bucket: c.bucket, key, headers, subResources: { partNumber: '1', uploadId } });
    const half = patterned(64 * 1024, 1);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: portOf(c.oss), method: 'PUT', path: `/${c.bucket}/${key}?partNumber=1&uploadId=${uploadId}`, headers: { ...headers, authorization, 'content-length': String(half.length * 2) }, agent: false }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode || 0, text }));
      });
      req.on('error', reject);
      req.write(half);
      // abort while the body is incomplete (the server is receiving it), then send the rest
      client.abortMultipartUpload(key, uploadId).then(() => req.end(half), reject);
    });
    const r = await answer;
    expect([r.status, xml.parse(r.text).Error.Code]).toEqual([404, 'NoSuchUpload']);
    const uploads = await admin(c.oss, 'GET', '/_admin/uploads');
    expect(uploads.uploads.filter((u: { uploadId: string }) => u.uploadId === uploadId)).toEqual([]);
  });

  it('rejects malformed fault rules with a clear error', async () => {
    const res = await fetch(`${c.oss}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ op: 'Nope', action: { type: 'status', status: 500 } }) });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('InvalidParameter');
  });
});
