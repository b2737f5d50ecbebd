/**
 * Fidelity: the real vod-wx-sdk-v2 (npm 1.1.2, bundling cos-wx-sdk-v5; a test-only devDependency, never shipped) runs
 * in the Node wx runtime against the local VOD + COS and finishes byte-exact. Then our TencentVodUploader uploads the
 * same file through the same runtime, and the two sides' traffic (as the local cloud saw it) is compared.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import COS = require('cos-nodejs-sdk-v5');
import { AppClient, createWxAdapter, TencentVodUploader } from 'mp-media-sdk';
import type { TencentVodResult } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { LOCAL_VOD_BUCKET, LOCAL_COS_HOST } from '../../server/cloud/tencent-vod';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';

jest.setTimeout(180000);
const MB = 1024 * 1024;
let stack: DevStack;
let rt: WxRuntime;

beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `ooff${randomBytes(5).toString('hex')}`, hostMap: { 'vod2.qcloud.com': stack.cloud!.tvod, 'vod2.dnsv1.com': stack.cloud!.tvod } });
});
afterAll(async () => {
  await rt.close();
  await stack.close();
});

const get = async (base: string, p: string) => (await (await fetch(`${base}${p}`)).json()) as any;
const ownerCos = () => new COS({ SecretId: DEV_CREDENTIALS.tencent.secretId, SecretKey: DEV_CREDENTIALS.tencent.secretKey, Protocol: 'http:', Proxy: stack.cloud!.cos } as any);
async function readBack(url: string): Promise<Buffer> {
  const key = decodeURIComponent(url.replace(/^.*?\/media\//, ''));
  const data: any = await new Promise((resolve, reject) => ownerCos().getObject({ Bucket: LOCAL_VOD_BUCKET, Region: 'ap-guangzhou', Key: key } as any, (e: any, d: any) => (e ? reject(e) : resolve(d))));
  return data.Body as Buffer;
}

/** Loads the official dist as a mini-program would: global `wx` (and the `window` its bundled COS UMD needs). */
function loadOfficial(): { start(o: any): any } {
  rt.install();
  const g = globalThis as any;
  const hadWindow = 'window' in g;
  if (!hadWindow) g.window = g;
  let mod: any;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require('vod-wx-sdk-v2');
    });
  } finally {
    if (!hadWindow) delete g.window;
  }
  return mod;
}

describe('vod-wx-sdk-v2 1.1.2 (official) against the local cloud, and ours beside it', () => {
  it('the official SDK uploads 9 MiB + cover byte-exact through the vod2 proxy; ours uploads the same file with the same protocol', async () => {
    const logSpy = jest.spyOn(console, 'log').mockImplementation(() => undefined); // its telemetry logs every report
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
    const sign = () => app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature);
    const video = rt.files.writeTempSized('0123456789abcdef0123456789abcdef.mp4', 9 * MB + 12345, 42);
    const cover = rt.files.writeTempSized('fedcba9876543210fedcba9876543210.jpg', 20000, 43);
    const cosStart = (await get(stack.cloud!.cos, '/_admin/requests')).requests.length;
    const vodStart = (await get(stack.cloud!.tvod, '/_admin/requests')).requests.length;
    try {
      const VodUploader = loadOfficial();
      const official: any = await new Promise((resolve, reject) => {
        VodUploader.start({
          mediaFile: { tempFilePath: video, size: 9 * MB + 12345 },
          coverFile: { tempFilePaths: [cover], tempFiles: [{ path: cover, size: 20000 }] },
          mediaName: 'official',
          getSignature: (cb: (s: string) => void) => void sign().then(cb, reject),
          progress: () => undefined,
          finish: resolve,
          error: reject,
        });
      });
      expect(official).toMatchObject({ fileId: expect.any(String), videoName: 'official', videoUrl: expect.any(String), coverUrl: expect.any(String), verify_content: expect.any(String) });
      expect(Buffer.compare(await readBack(official.videoUrl), readFileSync(rt.files.realPath(video)))).toBe(0);
      expect(Buffer.compare(await readBack(official.coverUrl), readFileSync(rt.files.realPath(cover)))).toBe(0);
    } finally {
      logSpy.mockRestore();
    }
    const cosMid = (await get(stack.cloud!.cos, '/_admin/requests')).requests.length;
    const vodMid = (await get(stack.cloud!.tvod, '/_admin/requests')).requests.length;

    const ours = (await TencentVodUploader.start({
      adapter: createWxAdapter(rt.wx),
      mediaFile: { tempFilePath: video, size: 9 * MB + 12345 },
      coverFile: { tempFilePaths: [cover], tempFiles: [{ path: cover, size: 20000 }] },
      mediaName: 'ours',
      getSignature: sign,
    }).done()) as TencentVodResult;
    expect(Buffer.compare(await readBack(ours.videoUrl!), readFileSync(rt.files.realPath(video)))).toBe(0);
    expect(Buffer.compare(await readBack(ours.coverUrl!), readFileSync(rt.files.realPath(cover)))).toBe(0);

    const cosAll = (await get(stack.cloud!.cos, '/_admin/requests')).requests;
    const vodAll = (await get(stack.cloud!.tvod, '/_admin/requests')).requests;
    const side = (cosRaw: any[], vod: any[]) => {
      const cos = cosRaw.filter((l) => l.op !== 'GetObject'); // our read-backs
      return {
      vod: vod.map((l) => [l.action, Object.keys(l.body).sort().join(','), l.code]),
      cosOps: cos.map((l) => l.op),
      viaProxy: cos.every((l) => l.viaVodProxy),
      allSigned: cos.every((l) => l.signedHeaders.includes('host') && l.status < 300),
      videoParts: cos.filter((l) => l.op === 'UploadPart' && /\.mp4$/.test(l.key)).length,
      sameSignatureForCommit: vod[0].body.signature === vod[1].body.signature,
    };
    };
    const o = side(cosAll.slice(cosStart, cosMid), vodAll.slice(vodStart, vodMid));
    const u = side(cosAll.slice(cosMid), vodAll.slice(vodMid));
    // the official SDK: Apply {signature, videoName, videoType, coverName, coverType}; COS via Vod-Forward-Cos; Commit
    expect(o.vod).toEqual([
      ['ApplyUploadUGC', 'coverName,coverType,signature,videoName,videoType', 0],
      ['CommitUploadUGC', 'signature,vodSessionKey', 0],
    ]);
    expect(o.viaProxy && o.allSigned).toBe(true);
    expect(o.cosOps.filter((x: string) => x === 'ListMultipartUploads')).toHaveLength(2);
    // it commits with the Apply's signature (accepted for the same session even when one-time); ours asks for a new one
    expect(o.sameSignatureForCommit).toBe(true);
    expect(u.sameSignatureForCommit).toBe(false);
    // ours: the same two calls (plus the sizes the server can check), the same proxy route and part size; no
    // ListMultipartUploads (our resume record holds the UploadId), the small cover in one PutObject
    expect(u.vod).toEqual([
      ['ApplyUploadUGC', 'coverName,coverSize,coverType,signature,videoName,videoSize,videoType', 0],
      ['CommitUploadUGC', 'signature,vodSessionKey', 0],
    ]);
    expect(u.viaProxy && u.allSigned).toBe(true);
    expect(u.videoParts).toBe(o.videoParts);
    expect(u.cosOps.sort()).toEqual(['CompleteMultipartUpload', 'InitiateMultipartUpload', 'PutObject', 'UploadPart', 'UploadPart']);
    // both addressed the same virtual COS host through the vod2 host
    expect(rt.requests.filter((r) => /vod2\.qcloud\.com\/[^v]/.test(r.url)).length).toBeGreaterThan(0);
    expect(LOCAL_COS_HOST).toMatch(/\.cos\.ap-guangzhou\.myqcloud\.com$/);
  });

  it('below base library 2.10.0 the official SDK falls back to PostObject (wx.uploadFile, Signature field): accepted, byte-exact', async () => {
    const old = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `oold${randomBytes(5).toString('hex')}`, sdkVersion: '2.9.0', hostMap: { 'vod2.qcloud.com': stack.cloud!.tvod } });
    const logSpy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(old.wx) });
      const video = old.files.writeTempSized('0123456789abcdef0123456789abcdee.mp4', 3 * MB + 77, 44);
      old.install();
      const g = globalThis as any;
      g.window = g;
      let mod: any;
      try {
        jest.isolateModules(() => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          mod = require('vod-wx-sdk-v2');
        });
      } finally {
        delete g.window;
      }
      const cosBefore = (await get(stack.cloud!.cos, '/_admin/requests')).requests.length;
      const res: any = await new Promise((resolve, reject) =>
        mod.start({
          mediaFile: { tempFilePath: video, size: 3 * MB + 77 },
          mediaName: 'old base library',
          getSignature: (cb: (s: string) => void) => void app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => cb(r.signature), reject),
          progress: () => undefined,
          finish: resolve,
          error: reject,
        }),
      );
      expect(Buffer.compare(await readBack(res.videoUrl), readFileSync(old.files.realPath(video)))).toBe(0);
      const ops = (await get(stack.cloud!.cos, '/_admin/requests')).requests.slice(cosBefore).filter((l: any) => l.op !== 'GetObject');
      expect(ops.map((l: any) => [l.op, l.status, l.viaVodProxy])).toEqual([['PostObject', 200, true]]);
      expect(old.requests.some((r) => r.api === 'uploadFile')).toBe(true);
    } finally {
      logSpy.mockRestore();
      await old.close();
      rt.install();
    }
  });
});
