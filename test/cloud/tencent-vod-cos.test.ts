/**
 * The local Tencent VOD + COS driven by other people's clients: cos-nodejs-sdk-v5 (sliced upload, putObject,
 * getObject, through its HTTP-proxy mode) and tencentcloud-sdk-nodejs-vod (API 3.0 with TC3 signing), plus the vod2
 * v3 protocol over plain fetch (signature checks, one-time signatures, sessions).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import COS = require('cos-nodejs-sdk-v5');
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { startCloud, RunningCloud } from '../../server/cloud';
import { wechatProvider } from '../../server/cloud/wechat';
import { tencentProviders, LOCAL_VOD_BUCKET } from '../../server/cloud/tencent-vod';
import { buildUgcSignature, randomUint32, UgcSignatureParams } from '../../server/app/tencent-vod/signature';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

jest.setTimeout(60000);
const MB = 1024 * 1024;
const dev = DEV_CREDENTIALS.tencent;
let cloud: RunningCloud;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tvod-cloud-'));
  cloud = await startCloud({ dataDir: dir, quiet: true, providers: [wechatProvider(), ...tencentProviders()] });
});
afterAll(async () => {
  await cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

function sign(extra: Partial<UgcSignatureParams> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return buildUgcSignature(dev.secretKey, { secretId: dev.secretId, currentTimeStamp: now, expireTime: now + 600, random: randomUint32(), ...extra }).signature;
}

async function v3(action: string, body: Record<string, unknown>): Promise<{ code: number; message: string; data?: any }> {
  const res = await fetch(`${cloud.urls.tvod}/v3/index.php?Action=${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return res.json();
}

function cosClient(cred: { secretId: string; secretKey: string; token?: string; start?: number; end?: number }) {
  const now = Math.floor(Date.now() / 1000);
  if (!cred.token) return new COS({ SecretId: cred.secretId, SecretKey: cred.secretKey, Protocol: 'http:', Proxy: cloud.urls.cos } as any);
  return new COS({
    getAuthorization: (_o: unknown, cb: (a: unknown) => void) =>
      cb({ TmpSecretId: cred.secretId, TmpSecretKey: cred.secretKey, SecurityToken: cred.token || '', XCosSecurityToken: cred.token, StartTime: cred.start ?? now, ExpiredTime: cred.end ?? now + 3600 }),
    Protocol: 'http:',
    Proxy: cloud.urls.cos,
    ChunkRetryTimes: 0,
  } as any);
}

const p = <T>(fn: (cb: (err: any, data: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));

function tmpFile(size: number): { file: string; data: Buffer } {
  const data = randomBytes(size);
  const file = path.join(dir, `src-${size}-${randomBytes(3).toString('hex')}.bin`);
  writeFileSync(file, data);
  return { file, data };
}

describe('vod2 v3 + COS with cos-nodejs-sdk-v5', () => {
  it('Apply → sliceUploadFile (1 MiB parts) + putObject cover → Commit; objects byte-exact through getObject and the media URL (Range)', async () => {
    const apply = await v3('ApplyUploadUGC', { signature: sign({ sourceContext: 'u:test-1', oneTimeValid: 1 }), videoName: 'clip', videoType: 'mp4', videoSize: 3 * MB + 5, coverName: 'clip', coverType: 'jpg' });
    expect(apply.code).toBe(0);
    const d = apply.data;
    expect(d).toMatchObject({ storageBucket: expect.any(String), storageAppId: expect.any(Number), storageRegionV5: 'ap-guangzhou', vodSessionKey: expect.any(String), tempCertificate: { secretId: expect.any(String), secretKey: expect.any(String), token: expect.any(String), expiredTime: expect.any(Number) } });
    expect(`${d.storageBucket}-${d.storageAppId}`).toBe(LOCAL_VOD_BUCKET);
    const t = d.tempCertificate;
    const cos = cosClient({ secretId: t.secretId, secretKey: t.secretKey, token: t.token, start: d.timestamp, end: t.expiredTime });
    const video = tmpFile(3 * MB + 5);
    const cover = tmpFile(1000);
    const Bucket = LOCAL_VOD_BUCKET;
    const Region = 'ap-guangzhou';
    const up: any = await p((cb) => cos.sliceUploadFile({ Bucket, Region, Key: d.video.storagePath, FilePath: video.file, ChunkSize: MB } as any, cb));
    expect(up.statusCode).toBe(200);
    const put: any = await p((cb) => cos.putObject({ Bucket, Region, Key: d.cover.storagePath, Body: cover.data } as any, cb));
    expect(put.statusCode).toBe(200);
    // the temporary credential is scoped to the session's two objects
    await expect(p((cb) => cos.putObject({ Bucket, Region, Key: 'elsewhere/x.mp4', Body: Buffer.from('x') } as any, cb))).rejects.toMatchObject({ code: 'AccessDenied', statusCode: 403 });

    // Commit with the same one-time signature is accepted (vod-wx-sdk-v2 does it); a second session with it is not
    const commit = await v3('CommitUploadUGC', { signature: sign(), vodSessionKey: d.vodSessionKey });
    expect(commit).toMatchObject({ code: 0, data: { fileId: expect.stringMatching(/^\d{19}$/), video: { url: expect.any(String), verify_content: expect.any(String) }, cover: { url: expect.any(String) } } });

    const owner = cosClient({ secretId: dev.secretId, secretKey: dev.secretKey });
    const got: any = await p((cb) => owner.getObject({ Bucket, Region, Key: d.video.storagePath.replace(/^\//, '') } as any, cb));
    expect(Buffer.compare(got.Body, video.data)).toBe(0);
    expect(got.headers['x-cos-hash-crc64ecma']).toMatch(/^\d+$/);
    const res = await fetch(commit.data.video.url, { headers: { range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), video.data.subarray(100, 200))).toBe(0);
    const coverRes = await fetch(commit.data.cover.url);
    expect(Buffer.compare(Buffer.from(await coverRes.arrayBuffer()), cover.data)).toBe(0);
    const vc = Buffer.from(commit.data.video.verify_content, 'base64');
    expect(vc.subarray(20).toString()).toMatch(new RegExp(`^ExpTime=\\d+&FileId=${commit.data.fileId}$`));
  });

  it('a tampered key is refused (SignatureDoesNotMatch), a wrong token too, a missing object fails Commit', async () => {
    const apply = await v3('ApplyUploadUGC', { signature: sign(), videoName: 'v', videoType: 'mp4' });
    const t = apply.data.tempCertificate;
    const Bucket = LOCAL_VOD_BUCKET;
    const Region = 'ap-guangzhou';
    const Key = apply.data.video.storagePath;
    const tampered = cosClient({ secretId: t.secretId, secretKey: `${t.secretKey}x`, token: t.token });
    await expect(p((cb) => tampered.putObject({ Bucket, Region, Key, Body: Buffer.from('abc') } as any, cb))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 403 });
    const badToken = cosClient({ secretId: t.secretId, secretKey: t.secretKey, token: 'nope' });
    await expect(p((cb) => badToken.putObject({ Bucket, Region, Key, Body: Buffer.from('abc') } as any, cb))).rejects.toMatchObject({ statusCode: 403 });
    const commit = await v3('CommitUploadUGC', { signature: sign(), vodSessionKey: apply.data.vodSessionKey });
    expect(commit.code).toBe(10001);
    expect(commit.message).toMatch(/not been uploaded/);
  });

  it('0-byte putObject and multipart ListParts / Abort with the official client', async () => {
    const apply = await v3('ApplyUploadUGC', { signature: sign(), videoName: 'empty', videoType: 'mp4' });
    const d = apply.data;
    const t = d.tempCertificate;
    const cos = cosClient({ secretId: t.secretId, secretKey: t.secretKey, token: t.token });
    const Bucket = LOCAL_VOD_BUCKET;
    const Region = 'ap-guangzhou';
    const Key = d.video.storagePath.replace(/^\//, '');
    await p((cb) => cos.putObject({ Bucket, Region, Key, Body: Buffer.alloc(0) } as any, cb));
    const head: any = await p((cb) => cos.headObject({ Bucket, Region, Key } as any, cb));
    expect(head.headers['content-length']).toBe('0');
    const init: any = await p((cb) => cos.multipartInit({ Bucket, Region, Key } as any, cb));
    await p((cb) => cos.multipartUpload({ Bucket, Region, Key, UploadId: init.UploadId, PartNumber: 1, Body: Buffer.alloc(10, 1) } as any, cb));
    const parts: any = await p((cb) => cos.multipartListPart({ Bucket, Region, Key, UploadId: init.UploadId } as any, cb));
    expect(parts.Part.map((x: any) => x.PartNumber)).toEqual(['1']);
    await p((cb) => cos.multipartAbort({ Bucket, Region, Key, UploadId: init.UploadId } as any, cb));
    await expect(p((cb) => cos.multipartListPart({ Bucket, Region, Key, UploadId: init.UploadId } as any, cb))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    const commit = await v3('CommitUploadUGC', { signature: sign(), vodSessionKey: d.vodSessionKey });
    expect(commit.code).toBe(0);
  });

  it('one-time signatures: a second session with the same signature is refused; sessions expire after a day; bad input is named', async () => {
    const once = sign({ oneTimeValid: 1 });
    expect((await v3('ApplyUploadUGC', { signature: once, videoName: 'a', videoType: 'mp4' })).code).toBe(0);
    const again = await v3('ApplyUploadUGC', { signature: once, videoName: 'a', videoType: 'mp4' });
    expect(again).toMatchObject({ code: 10004, message: expect.stringMatching(/duplicate vod signature/) });
    const reusable = sign();
    const a1 = await v3('ApplyUploadUGC', { signature: reusable, videoName: 'a', videoType: 'mp4' });
    const a2 = await v3('ApplyUploadUGC', { signature: reusable, vodSessionKey: a1.data.vodSessionKey });
    expect(a2.data.video.storagePath).toBe(a1.data.video.storagePath);
    expect(a2.data.tempCertificate.secretId).not.toBe(a1.data.tempCertificate.secretId);
    await fetch(`${cloud.urls.tvod}/_admin/sessions/age`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: a1.data.vodSessionKey, ms: 24 * 3600 * 1000 }) });
    expect(await v3('ApplyUploadUGC', { signature: sign(), vodSessionKey: a1.data.vodSessionKey })).toMatchObject({ code: 10001, message: expect.stringMatching(/expired/) });
    expect(await v3('ApplyUploadUGC', { signature: sign(), videoName: 'a', videoType: 'exe' })).toMatchObject({ code: 10001, message: expect.stringMatching(/videoType exe/) });
    expect(await v3('ApplyUploadUGC', { signature: sign(), videoName: 'a/b', videoType: 'mp4' })).toMatchObject({ code: 10001 });
    expect(await v3('ApplyUploadUGC', { signature: 'AAAA', videoType: 'mp4' })).toMatchObject({ code: 10004 });
  });
});

describe('COS PostObject (policy form, doc 436/14690)', () => {
  it('a policy-signed form upload is stored byte-exact; a wrong q-signature or a key outside the policy is refused', async () => {
    const { cosPostPolicySignature } = await import('../../sdk/src/tencent-vod/cos-signature');
    const { LOCAL_COS_HOST } = await import('../../server/cloud/tencent-vod');
    const apply = await v3('ApplyUploadUGC', { signature: sign(), videoName: 'form', videoType: 'mp4' });
    const d = apply.data;
    const t = d.tempCertificate;
    const key = d.video.storagePath.replace(/^\//, '');
    const keyTime = `${d.timestamp};${t.expiredTime}`;
    const policyJson = JSON.stringify({ expiration: new Date(Date.now() + 600000).toISOString(), conditions: [{ 'q-sign-algorithm': 'sha1' }, { 'q-ak': t.secretId }, { 'q-sign-time': keyTime }, ['starts-with', '$key', key.split('/')[0]]] });
    const data = randomBytes(70000);
    const post = (fields: Record<string, string>) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append('file', new Blob([data]), 'x.mp4');
      return fetch(`${cloud.urls.tvod}/`, { method: 'POST', headers: { 'Vod-Forward-Cos': LOCAL_COS_HOST }, body: form });
    };
    const good = { key, policy: Buffer.from(policyJson).toString('base64'), 'q-sign-algorithm': 'sha1', 'q-ak': t.secretId, 'q-key-time': keyTime, 'q-signature': cosPostPolicySignature(t.secretKey, keyTime, policyJson), 'x-cos-security-token': t.token, success_action_status: '201' };
    const bad = await post({ ...good, 'q-signature': '0'.repeat(40) });
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const outside = await post({ ...good, key: 'other/x.mp4' });
    expect(outside.status).toBe(403);
    const ok = await post(good);
    expect(ok.status).toBe(201);
    expect(ok.headers.get('x-cos-request-id')).toBeTruthy();
    expect(await ok.text()).toContain('<PostResponse>');
    const back = await fetch(`${cloud.urls.tvod}/media/${key}`);
    expect(back.status).toBe(404); // not committed yet: media URLs serve committed files only
    const commit = await v3('CommitUploadUGC', { signature: sign(), vodSessionKey: d.vodSessionKey });
    const got = Buffer.from(await (await fetch(commit.data.video.url)).arrayBuffer());
    expect(Buffer.compare(got, data)).toBe(0);
  });
});

describe('API 3.0 with tencentcloud-sdk-nodejs-vod (TC3, service from the credential scope)', () => {
  const client = (secretKey: string = dev.secretKey) =>
    new vod.v20180717.Client({ credential: { secretId: dev.secretId, secretKey }, region: '', profile: { httpProfile: { endpoint: cloud.urls.tvod.replace(/^http:\/\//, ''), protocol: 'http://', reqTimeout: 15 } } });

  it('PullEvents gets NewFileUpload with the SourceContext, ConfirmEvents removes it, DescribeMediaInfos describes the file', async () => {
    const c = client();
    // drain what earlier tests queued
    for (;;) {
      const r = await c.DescribeEventsState({});
      if (!r.CountOfEventsToPull) break;
      const pulled = await c.PullEvents({});
      await c.ConfirmEvents({ EventHandles: (pulled.EventSet || []).map((e) => e.EventHandle!) });
    }
    const apply = await v3('ApplyUploadUGC', { signature: sign({ sourceContext: 'u:pull-test' }), videoName: 'pulled', videoType: 'mp4' });
    const t = apply.data.tempCertificate;
    const cos = cosClient({ secretId: t.secretId, secretKey: t.secretKey, token: t.token });
    await p((cb) => cos.putObject({ Bucket: LOCAL_VOD_BUCKET, Region: 'ap-guangzhou', Key: apply.data.video.storagePath, Body: Buffer.from('hello') } as any, cb));
    const commit = await v3('CommitUploadUGC', { signature: sign(), vodSessionKey: apply.data.vodSessionKey });
    const pulled = await c.PullEvents({});
    expect(pulled.EventSet).toHaveLength(1);
    const ev = pulled.EventSet![0];
    expect(ev.EventType).toBe('NewFileUpload');
    expect(ev.FileUploadEvent!.FileId).toBe(commit.data.fileId);
    expect(ev.FileUploadEvent!.MediaBasicInfo!.SourceInfo!.SourceContext).toBe('u:pull-test');
    await c.ConfirmEvents({ EventHandles: [ev.EventHandle!] });
    await expect(c.ConfirmEvents({ EventHandles: [ev.EventHandle!] })).rejects.toMatchObject({ code: 'InvalidParameter' });
    const info = await c.DescribeMediaInfos({ FileIds: [commit.data.fileId, '1'] });
    expect(info.MediaInfoSet![0].BasicInfo!.MediaUrl).toBe(commit.data.video.url);
    expect(info.NotExistFileIdSet).toEqual(['1']);
  });

  it('a wrong SecretKey is AuthFailure.SignatureFailure', async () => {
    await expect(client('wrong').DescribeEventsState({})).rejects.toMatchObject({ code: 'AuthFailure.SignatureFailure' });
  });
});
