/**
 * The AppServer's /api/vod/* routes end to end: startDevStack (local cloud + AppServer on loopback), a real login
 * through the WeChat emulator, pop-core from the AppServer to the local VOD/STS, ali-oss uploading with the returned
 * credentials, and the video turning UploadSucc.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import OSS from 'ali-oss';
import { startDevStack, DevStack } from '../../server';
import { buildAppServer } from '../../server/app';
import { decodeUploadAddress, decodeUploadAuth } from '../../sdk/src/aliyun';
import { patterned, rpc } from './aliyun-helpers';

let stack: DevStack;

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: {} });
});
afterAll(() => stack.close());

async function login(base: string, openid: string): Promise<string> {
  const { code } = (await (await fetch(`${stack.cloud!.wechat}/wx/dev/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }) })).json()) as { code: string };
  const r = (await (await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) })).json()) as { token: string };
  return r.token;
}

async function api(token: string | undefined, method: string, p: string, body?: unknown, base = stack.appServerUrl): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function ossFor(uploadAuth: string, uploadAddress: string): { client: OSS; key: string } {
  const auth = decodeUploadAuth(uploadAuth);
  const addr = decodeUploadAddress(uploadAddress);
  const client = new OSS({ endpoint: addr.Endpoint, bucket: addr.Bucket, region: `oss-${auth.Region}`, accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, stsToken: auth.SecurityToken } as OSS.Options);
  return { client, key: addr.FileName };
}

describe('/api/vod/* against the local cloud', () => {
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    alice = await login(stack.appServerUrl, 'oAliceVod0001');
    bob = await login(stack.appServerUrl, 'oBobVod00002');
  });

  it('requires a logged-in caller (no token → 401 Unauthorized)', async () => {
    for (const [m, p] of [['GET', '/api/vod/config'], ['POST', '/api/vod/upload-video'], ['POST', '/api/vod/upload-image'], ['POST', '/api/vod/sts'], ['GET', '/api/vod/videos/abc']]) {
      const r = await api(undefined, m, p, m === 'POST' ? {} : undefined);
      expect([p, r.status, r.json.error.code]).toEqual([p, 401, 'Unauthorized']);
    }
  });

  it('GET /api/vod/config gives the region, userId and (local cloud) the VOD endpoint for STS mode', async () => {
    const r = await api(alice, 'GET', '/api/vod/config');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ region: 'cn-shanghai', userId: expect.any(String), localCloud: true, vodEndpoint: stack.cloud!.vod, sts: true });
  });

  it('upload-video creates an upload; the uploaded object turns the video UploadSucc; refresh keeps the UploadAddress', async () => {
    const created = await api(alice, 'POST', '/api/vod/upload-video', { title: '周末', fileName: 'weekend.mp4', fileSize: 300 * 1024, tags: ['a', 'b'], userData: { k: 1 } });
    expect(created.status).toBe(200);
    expect(Object.keys(created.json).sort()).toEqual(['RequestId', 'UploadAddress', 'UploadAuth', 'VideoId']);
    const { VideoId, UploadAddress, UploadAuth } = created.json;
    expect(decodeUploadAuth(UploadAuth).Expiration).toBe('3000');

    const before = await api(alice, 'GET', `/api/vod/videos/${VideoId}`);
    expect(before.json.Video).toMatchObject({ VideoId, Title: '周末', Status: 'Uploading', Tags: 'a,b' });

    const { client, key } = ossFor(UploadAuth, UploadAddress);
    const data = patterned(300 * 1024, 42);
    await client.multipartUpload(key, data, { partSize: 100 * 1024, parallel: 2 });
    const after = await api(alice, 'GET', `/api/vod/videos/${VideoId}`);
    expect(after.json.Video).toMatchObject({ Status: 'UploadSucc', Size: data.length });

    const refreshed = await api(alice, 'POST', '/api/vod/upload-video', { videoId: VideoId });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.VideoId).toBe(VideoId);
    expect(refreshed.json.UploadAddress).toBe(UploadAddress);
    expect(decodeUploadAuth(refreshed.json.UploadAuth).AccessKeyId).not.toBe(decodeUploadAuth(UploadAuth).AccessKeyId);

    // another user can neither refresh nor read it
    expect((await api(bob, 'POST', '/api/vod/upload-video', { videoId: VideoId })).json.error.code).toBe('VideoNotFound');
    expect((await api(bob, 'GET', `/api/vod/videos/${VideoId}`)).status).toBe(404);
  });

  it('bad bodies are 400 with clear codes: missing fields, unknown field, wrong types, and VOD validation passed through', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'InvalidParameter'],
      [{ title: 't' }, 400, 'InvalidParameter'],
      [{ title: 't', fileName: 'a.mp4', extra: 1 }, 400, 'InvalidParameter'],
      [{ title: 't', fileName: 'a.mp4', fileSize: -1 }, 400, 'InvalidParameter'],
      [{ title: 't', fileName: 'notes.txt' }, 400, 'InvalidFileName.Extension'],
      [{ title: 'smile 😀', fileName: 'a.mp4' }, 400, 'IllegalCharacters'],
      [{ title: 't', fileName: 'a.mp4', tags: Array.from({ length: 17 }, (_, i) => `t${i}`).join(',') }, 400, 'TagsExceededMax'],
      [{ title: 't', fileName: 'a.mp4', userData: 'not json' }, 400, 'InvalidParameter'],
    ];
    for (const [body, status, code] of cases) {
      const r = await api(alice, 'POST', '/api/vod/upload-video', body);
      expect([JSON.stringify(body), r.status, r.json.error.code]).toEqual([JSON.stringify(body), status, code]);
      expect(typeof r.json.error.message).toBe('string');
    }
    const notJson = await fetch(`${stack.appServerUrl}/api/vod/upload-video`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(notJson.status).toBe(400);
    const unknown = await api(alice, 'GET', `/api/vod/videos/${'f'.repeat(32)}`);
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'InvalidVideo.NotFound']);
    const badId = await api(alice, 'GET', '/api/vod/videos/not-an-id!');
    expect(badId.status).toBe(400);
  });

  it('upload-image returns ImageId / ImageURL and the image is readable at ImageURL after the upload', async () => {
    const r = await api(alice, 'POST', '/api/vod/upload-image', { imageType: 'default', imageExt: 'png', title: 'pic' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ImageId: expect.stringMatching(/^[0-9a-f]{32}$/), ImageURL: expect.stringContaining('/image/default/') });
    const { client, key } = ossFor(r.json.UploadAuth, r.json.UploadAddress);
    const png = patterned(777, 8);
    await client.put(key, png);
    const got = await fetch(r.json.ImageURL);
    expect(Buffer.compare(Buffer.from(await got.arrayBuffer()), png)).toBe(0);
    expect((await api(alice, 'POST', '/api/vod/upload-image', { imageExt: 'bmp' })).json.error.code).toBe('InvalidParameter');
  });

  it('sts returns SecurityTokenInfo that works for VOD calls (STS mode) — scoped by a VOD-upload policy', async () => {
    const r = await api(alice, 'POST', '/api/vod/sts', {});
    expect(r.status).toBe(200);
    const t = r.json.SecurityTokenInfo;
    expect(t).toEqual({ AccessKeyId: expect.stringMatching(/^STS\./), AccessKeySecret: expect.any(String), SecurityToken: expect.any(String), Expiration: expect.stringMatching(/Z$/) });
    const v = (await rpc(stack.cloud!.vod, '2017-03-21', { accessKeyId: t.AccessKeyId, accessKeySecret: t.AccessKeySecret, securityToken: t.SecurityToken }).request('CreateUploadVideo', { Title: 'from sts', FileName: 's.mp4' })) as { VideoId: string };
    expect(v.VideoId).toMatch(/^[0-9a-f]{32}$/);
    // a video the SDK created itself (no owner here) can still be read by the logged-in user
    expect((await api(alice, 'GET', `/api/vod/videos/${v.VideoId}`)).json.Video.Title).toBe('from sts');
  });
});

describe('/api/vod/* configuration', () => {
  it('real-Aliyun settings pointed at the local cloud with a wrong key → 502 with the Aliyun code; no role ARN → 503 StsNotConfigured', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vod-app-'));
    const env = { ALIYUN_ACCESS_KEY_ID: 'LTAIwrongkey', ALIYUN_ACCESS_KEY_SECRET: 'nope', ALIYUN_REGION: 'cn-shanghai', ALIYUN_VOD_ENDPOINT: stack.cloud!.vod, ALIYUN_STS_ENDPOINT: stack.cloud!.sts };
    const { app } = await buildAppServer({ env, cloud: stack.cloud, dataDir, now: () => Date.now() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const token = await login(base, 'oConfigUser01');
      const cfg = await api(token, 'GET', '/api/vod/config', undefined, base);
      expect(cfg.json).toEqual({ region: 'cn-shanghai', userId: '', localCloud: false, sts: false });
      const r = await api(token, 'POST', '/api/vod/upload-video', { title: 't', fileName: 'a.mp4' }, base);
      expect([r.status, r.json.error.code]).toEqual([502, 'InvalidAccessKeyId.NotFound']);
      expect(r.json.error.message).toMatch(/^VOD: /);
      const s = await api(token, 'POST', '/api/vod/sts', {}, base);
      expect([s.status, s.json.error.code]).toEqual([503, 'StsNotConfigured']);
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an unreachable VOD endpoint → 502 VODUnavailable; a half-set key pair or a bad region is a startup error', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vod-app-'));
    const { app } = await buildAppServer({ env: { ALIYUN_VOD_ENDPOINT: 'http://127.0.0.1:9' }, cloud: stack.cloud, dataDir, now: () => Date.now() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const token = await login(base, 'oConfigUser02');
      const r = await api(token, 'POST', '/api/vod/upload-video', { title: 't', fileName: 'a.mp4' }, base);
      expect([r.status, r.json.error.code]).toEqual([502, 'VODUnavailable']);
    } finally {
      await app.close();
    }
    await expect(buildAppServer({ env: { ALIYUN_ACCESS_KEY_ID: 'x' }, cloud: stack.cloud, dataDir, now: () => Date.now() })).rejects.toThrow(/ALIYUN_ACCESS_KEY_SECRET/);
    await expect(buildAppServer({ env: { ALIYUN_REGION: 'Shanghai' }, cloud: stack.cloud, dataDir, now: () => Date.now() })).rejects.toThrow(/ALIYUN_REGION/);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
