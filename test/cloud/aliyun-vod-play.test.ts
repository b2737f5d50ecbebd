/**
 * The play side of the local VOD (GetPlayInfo, GetVideoPlayAuth, GetVideoInfo for samples) driven by the official
 * RPC client (@alicloud/pop-core), and the local play domain (vod-cdn) driven by plain Node fetch: type-A auth_key,
 * Range / 206 / 416 / ETag / If-Range, HLS standard encryption with a single-use key token, fault switches.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCloud, RunningCloud } from '../../server/cloud';
import { aliyunOssProvider } from '../../server/cloud/aliyun-oss';
import { aliyunStsProvider } from '../../server/cloud/aliyun-sts';
import { aliyunVodProvider } from '../../server/cloud/aliyun-vod';
import { vodCdnProvider } from '../../server/cloud/vod-cdn';
import { hlsTokenSecret, mintHlsToken, SAMPLE_VIDEO_IDS, MEDIA_DIR } from '../../server/cloud/aliyun-vod/play';
import OSS from 'ali-oss';
import { until } from '../harness/until';
import { admin, assumeRole, rpc } from './aliyun-helpers';

let cloud: RunningCloud;
let vodUrl: string;
let cdnUrl: string;
const CLIP = SAMPLE_VIDEO_IDS.clip;
const LD = readFileSync(path.join(MEDIA_DIR, 'clip-6s', '180p.mp4'));

beforeAll(async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vod-play-'));
  cloud = await startCloud({ dataDir, providers: [aliyunOssProvider(), aliyunVodProvider(), aliyunStsProvider(), vodCdnProvider()], quiet: true });
  vodUrl = cloud.urls.vod;
  cdnUrl = cloud.urls.cdn!;
});
afterAll(() => cloud.close());
afterEach(async () => {
  cloud.setClockOffset(0);
  await admin(cdnUrl, 'DELETE', '/_admin/faults');
});

type Creds = { accessKeyId: string; accessKeySecret: string; securityToken?: string };
const vod = (creds?: Creds) => rpc(vodUrl, '2017-03-21', creds);

interface PlayInfo {
  Definition: string;
  Format: string;
  PlayURL: string;
  Size: number;
  Width: number;
  Height: number;
  Encrypt: number;
  EncryptType?: string;
  Duration: string;
  Bitrate: string;
  Fps: string;
  JobId: string;
  Status: string;
}
interface PlayInfoResp {
  RequestId: string;
  VideoBase: { VideoId: string; Title: string; Duration: string; Status: string; CoverURL: string; MediaType: string };
  PlayInfoList: { PlayInfo: PlayInfo[] };
}

async function popError(p: Promise<unknown>): Promise<{ code: string; data: Record<string, string>; statusCode?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code: string; data: Record<string, string> };
    if (!err.data) throw e;
    return err;
  }
  throw new Error('expected an Aliyun error, but the call succeeded');
}

const getPlayInfo = (params: Record<string, unknown>, creds?: Creds) => vod(creds).request<PlayInfoResp>('GetPlayInfo', params, { method: 'POST' });

describe('GetPlayInfo (pop-core)', () => {
  it('lists the sample clip: LD/SD MP4 and SD HLS (HLSEncryption) with real JSON types', async () => {
    const r = await getPlayInfo({ VideoId: CLIP });
    expect(r.VideoBase).toMatchObject({ VideoId: CLIP, Status: 'Normal', MediaType: 'video', Duration: '6.0' });
    const list = r.PlayInfoList.PlayInfo;
    expect(list.map((p) => `${p.Definition}/${p.Format}`).sort()).toEqual(['LD/mp4', 'SD/m3u8', 'SD/mp4']);
    const ld = list.find((p) => p.Definition === 'LD')!;
    expect(ld).toMatchObject({ Size: LD.length, Width: 320, Height: 180, Encrypt: 0, Status: 'Normal' });
    expect(typeof ld.Size).toBe('number');
    expect(typeof ld.Duration).toBe('string');
    expect(typeof ld.Bitrate).toBe('string');
    expect(ld.PlayURL).toMatch(/\?auth_key=\d+-[0-9a-f]+-0-[0-9a-f]{32}$/);
    const hls = list.find((p) => p.Format === 'm3u8')!;
    expect(hls).toMatchObject({ Encrypt: 1, EncryptType: 'HLSEncryption' });
  });

  it('filters by Formats and Definition; InvalidVideo.NoneStream when nothing matches; InvalidParameter for bad values', async () => {
    const r = await getPlayInfo({ VideoId: CLIP, Formats: 'mp4', Definition: 'SD' });
    expect(r.PlayInfoList.PlayInfo.map((p) => `${p.Definition}/${p.Format}`)).toEqual(['SD/mp4']);
    const none = await popError(getPlayInfo({ VideoId: CLIP, Formats: 'mp3' }));
    expect(none.code).toBe('InvalidVideo.NoneStream');
    expect(none.data.Message).toContain("Formats : mp3");
    expect((await popError(getPlayInfo({ VideoId: CLIP, Formats: 'avi' }))).code).toBe('InvalidParameter');
    expect((await popError(getPlayInfo({ VideoId: CLIP, ResultType: 'All' }))).code).toBe('InvalidParameter');
    expect((await popError(getPlayInfo({ VideoId: CLIP, PlayConfig: '{not json' }))).code).toBe('InvalidParameter');
    expect((await popError(getPlayInfo({ VideoId: CLIP, AuthTimeout: 'abc' }))).code).toBe('InvalidParameter');
  });

  it('errors as documented: NotFound, IllegalStatus (Transcoding), AliyunVoDEncryption unless ResultType=Multiple, MissingVideoId', async () => {
    const nf = await popError(getPlayInfo({ VideoId: 'ffffffffffffffffffffffffffffffff' }));
    expect(nf.code).toBe('InvalidVideo.NotFound');
    const ill = await popError(getPlayInfo({ VideoId: SAMPLE_VIDEO_IDS.transcoding }));
    expect(ill.code).toBe('Forbidden.IllegalStatus');
    expect(ill.data.Message).toContain('Current Status is Transcoding');
    expect((await popError(getPlayInfo({ VideoId: SAMPLE_VIDEO_IDS.privateOnly }))).code).toBe('Forbidden.AliyunVoDEncryption');
    const multi = await getPlayInfo({ VideoId: SAMPLE_VIDEO_IDS.privateOnly, ResultType: 'Multiple' });
    expect(multi.PlayInfoList.PlayInfo[0]).toMatchObject({ Encrypt: 1, EncryptType: 'AliyunVoDEncryption' });
    expect((await popError(getPlayInfo({}))).code).toBe('MissingVideoId');
  });

  it('accepts STS credentials (SecurityToken) and refuses an expired token', async () => {
    const sts = await assumeRole(cloud.urls.sts);
    const creds = { accessKeyId: sts.AccessKeyId, accessKeySecret: sts.AccessKeySecret, securityToken: sts.SecurityToken };
    const r = await getPlayInfo({ VideoId: CLIP, Formats: 'mp4' }, creds);
    expect(r.PlayInfoList.PlayInfo).toHaveLength(2);
    await admin(vodUrl, 'POST', '/_admin/credentials/expire', { accessKeyId: sts.AccessKeyId });
    expect((await popError(getPlayInfo({ VideoId: CLIP }, creds))).code).toBe('InvalidSecurityToken.Expired');
  });
});

describe('GetVideoPlayAuth (pop-core) and PlayAuth-scoped credentials', () => {
  it('PlayAuth decodes to temporary credentials + AuthInfo that may call GetPlayInfo for that video only', async () => {
    const r = await vod().request<{ PlayAuth: string; VideoMeta: { VideoId: string; Title: string; Duration: number; Status: string } }>('GetVideoPlayAuth', { VideoId: CLIP, AuthInfoTimeout: 300 }, { method: 'POST' });
    expect(r.VideoMeta).toMatchObject({ VideoId: CLIP, Status: 'Normal', Duration: 6 });
    const pa = JSON.parse(Buffer.from(r.PlayAuth, 'base64').toString('utf8'));
    expect(pa).toMatchObject({ Region: 'cn-shanghai' });
    expect(pa.AccessKeyId).toMatch(/^STS\./);
    const creds = { accessKeyId: pa.AccessKeyId, accessKeySecret: pa.AccessKeySecret, securityToken: pa.SecurityToken };
    const ok = await getPlayInfo({ VideoId: CLIP, AuthInfo: pa.AuthInfo }, creds);
    expect(ok.PlayInfoList.PlayInfo.length).toBe(3);
    // another video → InvalidAuth.MediaId; without AuthInfo → MissingAuthInfo; other actions → Forbidden.RAM
    expect((await popError(getPlayInfo({ VideoId: SAMPLE_VIDEO_IDS.privateOnly, AuthInfo: pa.AuthInfo }, creds))).code).toBe('InvalidAuth.MediaId');
    expect((await popError(getPlayInfo({ VideoId: CLIP }, creds))).code).toBe('MissingAuthInfo');
    expect((await popError(vod(creds).request('CreateUploadVideo', { Title: 't', FileName: 'a.mp4' }, { method: 'POST' }))).code).toBe('Forbidden.RAM');
    // … and OSS refuses them everything
    const bucket = (await admin(cloud.urls.oss, 'GET', '/_admin/info')).vodBucket;
    const oss = new OSS({ endpoint: cloud.urls.oss, bucket, region: 'oss-cn-shanghai', accessKeyId: pa.AccessKeyId, accessKeySecret: pa.AccessKeySecret, stsToken: pa.SecurityToken } as OSS.Options);
    await expect(oss.list({ 'max-keys': 1 }, {})).rejects.toMatchObject({ status: 403 });
  });

  it('AuthInfoTimeout outside 100..3000 → InvalidParameter; an expired AuthInfo → InvalidAuthInfo.ExpireTime', async () => {
    expect((await popError(vod().request('GetVideoPlayAuth', { VideoId: CLIP, AuthInfoTimeout: 99 }, { method: 'POST' }))).code).toBe('InvalidParameter');
    expect((await popError(vod().request('GetVideoPlayAuth', { VideoId: CLIP, AuthInfoTimeout: 3001 }, { method: 'POST' }))).code).toBe('InvalidParameter');
    const r = await vod().request<{ PlayAuth: string }>('GetVideoPlayAuth', { VideoId: CLIP }, { method: 'POST' });
    const pa = JSON.parse(Buffer.from(r.PlayAuth, 'base64').toString('utf8'));
    const creds = { accessKeyId: pa.AccessKeyId, accessKeySecret: pa.AccessKeySecret, securityToken: pa.SecurityToken };
    // tamper: a forged AuthInfo for another video fails its signature
    const forged = JSON.stringify({ ...JSON.parse(pa.AuthInfo), MediaId: SAMPLE_VIDEO_IDS.privateOnly });
    expect((await popError(getPlayInfo({ VideoId: SAMPLE_VIDEO_IDS.privateOnly, AuthInfo: forged }, creds))).code).toBe('InvalidAuthInfo.Signature');
    cloud.setClockOffset(101 * 1000);
    expect((await popError(getPlayInfo({ VideoId: CLIP, AuthInfo: pa.AuthInfo }, creds))).code).toBe('InvalidAuthInfo.ExpireTime');
  });

  it('GetVideoInfo answers for the samples', async () => {
    const r = await vod().request<{ Video: { VideoId: string; Status: string; Title: string } }>('GetVideoInfo', { VideoId: SAMPLE_VIDEO_IDS.transcoding }, { method: 'POST' });
    expect(r.Video).toMatchObject({ VideoId: SAMPLE_VIDEO_IDS.transcoding, Status: 'Transcoding' });
  });
});

describe('uploads become playable', () => {
  it('a video uploaded with its UploadAuth gets an OD MP4 track (the uploaded bytes) once the upload completes; Transcoding before', async () => {
    const { decodeUploadAddress, decodeUploadAuth } = await import('../../sdk/src/aliyun');
    const r = await vod().request<{ VideoId: string; UploadAddress: string; UploadAuth: string }>('CreateUploadVideo', { Title: 'mine', FileName: 'mine.mp4' }, { method: 'POST' });
    expect((await popError(getPlayInfo({ VideoId: r.VideoId }))).code).toBe('Forbidden.IllegalStatus');
    const auth = decodeUploadAuth(r.UploadAuth);
    const addr = decodeUploadAddress(r.UploadAddress);
    const oss = new OSS({ endpoint: cloud.urls.oss, bucket: addr.Bucket, region: 'oss-cn-shanghai', accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, stsToken: auth.SecurityToken } as OSS.Options);
    await oss.put(addr.FileName, LD);
    let info: PlayInfoResp | undefined;
    // the OD track appears once the local cloud's transcode (a copy) finished: until then IllegalStatus
    await until(async () => {
      try {
        info = await getPlayInfo({ VideoId: r.VideoId });
        return true;
      } catch (e) {
        if ((e as { code?: string }).code !== 'Forbidden.IllegalStatus') throw e;
        return false;
      }
    }, 'the uploaded video to have its OD MP4 track');
    if (!info) throw new Error('unreachable');
    expect(info.PlayInfoList.PlayInfo).toHaveLength(1);
    expect(info.PlayInfoList.PlayInfo[0]).toMatchObject({ Definition: 'OD', Format: 'mp4', Size: LD.length });
    const bytes = Buffer.from(await (await fetch(info.PlayInfoList.PlayInfo[0].PlayURL)).arrayBuffer());
    expect(bytes.equals(LD)).toBe(true);
  });
});

describe('play domain (vod-cdn)', () => {
  const url = async (def = 'LD', fmt = 'mp4', extra: Record<string, unknown> = {}) =>
    (await getPlayInfo({ VideoId: CLIP, Formats: fmt, Definition: def, ...extra })).PlayInfoList.PlayInfo[0].PlayURL;

  it('serves the whole MP4 with a strong ETag, Accept-Ranges and Content-Length', async () => {
    const res = await fetch(await url());
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-length')).toBe(String(LD.length));
    expect(res.headers.get('etag')).toBe(`"${createHash('md5').update(LD).digest('hex').toUpperCase()}"`);
    expect(Buffer.from(await res.arrayBuffer()).equals(LD)).toBe(true);
  });

  it('Range → 206 + Content-Range; suffix range; unsatisfiable → 416 bytes */size; If-Range with a stale ETag → 200', async () => {
    const u = await url();
    const r1 = await fetch(u, { headers: { range: 'bytes=100-199' } });
    expect(r1.status).toBe(206);
    expect(r1.headers.get('content-range')).toBe(`bytes 100-199/${LD.length}`);
    expect(Buffer.from(await r1.arrayBuffer()).equals(LD.subarray(100, 200))).toBe(true);
    const r2 = await fetch(u, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await r2.arrayBuffer()).equals(LD.subarray(LD.length - 10))).toBe(true);
    const r3 = await fetch(u, { headers: { range: `bytes=${LD.length}-` } });
    expect(r3.status).toBe(416);
    expect(r3.headers.get('content-range')).toBe(`bytes */${LD.length}`);
    const r4 = await fetch(u, { headers: { range: 'bytes=0-9', 'if-range': '"STALE"' } });
    expect(r4.status).toBe(200);
    await r4.arrayBuffer();
  });

  it('auth_key: tampered, missing, expired (AuthTimeout passed) and revoked URLs → 403', async () => {
    const u = await url('LD', 'mp4', { AuthTimeout: 60 });
    expect((await fetch(u.replace(/.$/, (c) => (c === '0' ? '1' : '0')))).status).toBe(403);
    expect((await fetch(u.split('?')[0])).status).toBe(403);
    cloud.setClockOffset(61 * 1000);
    expect((await fetch(u)).status).toBe(403);
    cloud.setClockOffset(0);
    expect((await fetch(u)).status).toBe(200);
    await admin(cdnUrl, 'POST', '/_admin/expire-urls', {});
    expect((await fetch(u)).status).toBe(403);
  });

  it('HLS standard encryption: playlist → EXT-X-KEY with the token → key once (single use) → segments decrypt to the source TS', async () => {
    const token = mintHlsToken(hlsTokenSecret(), CLIP, Math.floor(Date.now() / 1000) + 300);
    const u = await url('SD', 'm3u8', { PlayConfig: JSON.stringify({ MtsHlsUriToken: token }) });
    expect(u).toContain(`MtsHlsUriToken=${encodeURIComponent(token)}`);
    const m3u8 = await (await fetch(u)).text();
    const keyUri = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(m3u8)![1];
    expect(keyUri).toContain('MtsHlsUriToken=');
    const key = Buffer.from(await (await fetch(keyUri)).arrayBuffer());
    expect(key.length).toBe(16);
    expect((await fetch(keyUri)).status).toBe(403); // single use
    expect((await fetch(keyUri.replace(/MtsHlsUriToken=[^&]+/, 'MtsHlsUriToken=x'))).status).toBe(403);
    const segs = m3u8.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(segs).toHaveLength(3);
    for (let i = 0; i < segs.length; i++) {
      const enc = Buffer.from(await (await fetch(new URL(segs[i], u).toString())).arrayBuffer());
      const iv = Buffer.alloc(16);
      iv.writeUInt32BE(i, 12);
      const d = createDecipheriv('aes-128-cbc', key, iv);
      const plain = Buffer.concat([d.update(enc), d.final()]);
      expect(plain.equals(readFileSync(path.join(MEDIA_DIR, 'clip-6s', '270p', `seg${i}.ts`)))).toBe(true);
    }
  });

  it('fault switches: ignoreRange → 200, dropAfter cuts the body, changeEtag gives a new ETag, status', async () => {
    const u = await url();
    const pathPart = new URL(u).pathname;
    await admin(cdnUrl, 'POST', '/_admin/faults', { path: pathPart, type: 'ignoreRange' });
    const r1 = await fetch(u, { headers: { range: 'bytes=0-9' } });
    expect(r1.status).toBe(200);
    expect((await r1.arrayBuffer()).byteLength).toBe(LD.length);
    await admin(cdnUrl, 'POST', '/_admin/faults', { path: pathPart, type: 'dropAfter', bytes: 1000 });
    await expect(fetch(u).then((r) => r.arrayBuffer())).rejects.toThrow();
    const before = (await fetch(u, { method: 'HEAD' })).headers.get('etag');
    await admin(cdnUrl, 'POST', '/_admin/faults', { path: pathPart, type: 'changeEtag' });
    const after = (await fetch(u, { method: 'HEAD' })).headers.get('etag');
    expect(after).not.toBe(before);
    await admin(cdnUrl, 'POST', '/_admin/faults', { path: pathPart, type: 'status', status: 503 });
    expect((await fetch(u)).status).toBe(503);
  });
});
