/**
 * Fidelity of the local VOD and STS, proven with the official RPC client (@alicloud/pop-core) over real loopback
 * sockets, plus raw requests signed with the SDK's own RPC signer (what the mini-program sends in STS mode).
 */
import { decodeUploadAddress, decodeUploadAuth, signRpcRequest, crc64, computeRpcSignature, canonicalizeRpcQuery, percentEncode } from '../../sdk/src/aliyun';
import { startCloud } from '../../server/cloud';
import { aliyunOssProvider } from '../../server/cloud/aliyun-oss';
import { aliyunStsProvider } from '../../server/cloud/aliyun-sts';
import { aliyunVodProvider } from '../../server/cloud/aliyun-vod';
import { admin, AliyunCloud, assumeRole, expectOssError, ossClient, patterned, rpc, startAliyunCloud, AK, SK, ROLE_ARN } from './aliyun-helpers';

let c: AliyunCloud;

beforeAll(async () => {
  c = await startAliyunCloud();
});
afterAll(() => c.cloud.close());
afterEach(() => c.cloud.setClockOffset(0));

const vod = (creds?: { accessKeyId: string; accessKeySecret: string; securityToken?: string }) => rpc(c.vod, '2017-03-21', creds);
const sts = (creds?: { accessKeyId: string; accessKeySecret: string; securityToken?: string }) => rpc(c.sts, '2015-04-01', creds);

/** The pop-core error (code + the JSON body), or a failure if the call succeeded. */
async function popError(p: Promise<unknown>): Promise<{ code: string; data: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code: string; data: Record<string, string> };
    if (!err.data) throw e;
    return err;
  }
  throw new Error('expected an Aliyun error, but the call succeeded');
}

interface UploadResp {
  RequestId: string;
  VideoId: string;
  UploadAddress: string;
  UploadAuth: string;
}

describe('STS AssumeRole through pop-core', () => {
  it('issues STS.… credentials with a SecurityToken and an ISO Expiration DurationSeconds ahead (GET and POST)', async () => {
    for (const method of ['GET', 'POST']) {
      const before = Date.now();
      const r = (await sts().request('AssumeRole', { RoleArn: ROLE_ARN, RoleSessionName: 'alice', DurationSeconds: 900 }, { method })) as {
        RequestId: string;
        AssumedRoleUser: { Arn: string; AssumedRoleId: string };
        Credentials: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration: string };
      };
      expect(r.RequestId).toMatch(/^[0-9A-F-]{36}$/);
      expect(r.AssumedRoleUser.Arn).toBe(`${ROLE_ARN}/alice`);
      expect(r.AssumedRoleUser.AssumedRoleId).toMatch(/^\d+:alice$/);
      expect(r.Credentials.AccessKeyId).toMatch(/^STS\.NU/);
      expect(r.Credentials.SecurityToken).toMatch(/^CAIS/);
      expect(r.Credentials.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const ttl = Date.parse(r.Credentials.Expiration) - before;
      expect(ttl).toBeGreaterThan(898 * 1000);
      expect(ttl).toBeLessThanOrEqual(901 * 1000);
    }
  });

  it('the credentials identify themselves (GetCallerIdentity) and the admin lifetime override applies', async () => {
    const creds = await assumeRole(c.sts);
    const who = (await sts({ accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret, securityToken: creds.SecurityToken }).request('GetCallerIdentity', {})) as { IdentityType: string; Arn: string };
    expect(who.IdentityType).toBe('AssumedRoleUser');
    expect(who.Arn).toBe(`${ROLE_ARN}/fidelity-test`);
    await admin(c.sts, 'POST', '/_admin/credentials', { stsLifetimeSeconds: 5 });
    try {
      const short = await assumeRole(c.sts);
      expect(Date.parse(short.Expiration) - Date.now()).toBeLessThanOrEqual(6000);
    } finally {
      await admin(c.sts, 'POST', '/_admin/credentials', { stsLifetimeSeconds: null });
    }
  });

  it('bad inputs: missing RoleArn / RoleSessionName, unknown role, malformed ARN, DurationSeconds out of range, bad session name, bad Policy', async () => {
    const call = (p: Record<string, unknown>) => popError(sts().request('AssumeRole', p, { method: 'POST' }));
    expect((await call({ RoleSessionName: 's1' })).code).toBe('MissingRoleArn');
    expect((await call({ RoleArn: ROLE_ARN })).code).toBe('MissingRoleSessionName');
    expect((await call({ RoleArn: 'acs:ram::1234567890123456:role/nobody', RoleSessionName: 's1' })).code).toBe('EntityNotExist.Role');
    expect((await call({ RoleArn: 'not-an-arn', RoleSessionName: 's1' })).code).toBe('InvalidParameter.RoleArn');
    expect((await call({ RoleArn: ROLE_ARN, RoleSessionName: 's1', DurationSeconds: 60 })).code).toBe('InvalidParameter.DurationSeconds');
    expect((await call({ RoleArn: ROLE_ARN, RoleSessionName: 'has space' })).code).toBe('InvalidParameter.RoleSessionName');
    expect((await call({ RoleArn: ROLE_ARN, RoleSessionName: 's1', Policy: '{not json' })).code).toBe('InvalidParameter.PolicyGrammar');
  });

  it('tampered secret → SignatureDoesNotMatch (server StringToSign in the message); unknown key → InvalidAccessKeyId.NotFound; error JSON shape', async () => {
    const bad = await popError(sts({ accessKeyId: AK, accessKeySecret: 'wrong' }).request('AssumeRole', { RoleArn: ROLE_ARN, RoleSessionName: 's1' }));
    expect(bad.code).toBe('SignatureDoesNotMatch');
    expect(bad.data.Message).toMatch(/^Specified signature is not matched with our calculation\. server string to sign is:GET&%2F&AccessKeyId%3D/);
    expect(Object.keys(bad.data).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    expect(bad.data.HostId).toBe('sts.aliyuncs.com');
    expect(bad.data.Recommend).toContain('SignatureDoesNotMatch');
    expect((await popError(sts({ accessKeyId: 'LTAInobody', accessKeySecret: 'x' }).request('AssumeRole', { RoleArn: ROLE_ARN, RoleSessionName: 's1' }))).code).toBe('InvalidAccessKeyId.NotFound');
  });
});

describe('VOD through pop-core', () => {
  it('CreateUploadVideo → UploadAddress (local OSS, VOD bucket, sv/… key) + UploadAuth (object-scoped STS, Expiration "3000", ExpireUTCTime, Region)', async () => {
    const r = (await vod().request('CreateUploadVideo', { Title: '测试视频', FileName: 'holiday.MP4', FileSize: 123, Tags: 'a,b', CateId: 1000, Description: 'd' })) as UploadResp;
    expect(r.VideoId).toMatch(/^[0-9a-f]{32}$/);
    const addr = decodeUploadAddress(r.UploadAddress);
    expect(addr).toEqual({ Endpoint: c.oss, Bucket: c.bucket, FileName: expect.stringMatching(/^sv\/[0-9a-f]{8}-[0-9a-f]+\/[0-9a-f]{8}-[0-9a-f]+\.mp4$/) });
    const auth = decodeUploadAuth(r.UploadAuth);
    expect(auth.AccessKeyId).toMatch(/^STS\./);
    expect(auth.Expiration).toBe('3000');
    expect(auth.Region).toBe('cn-shanghai');
    expect(Math.abs(Date.parse(auth.ExpireUTCTime!) - (Date.now() + 3000 * 1000))).toBeLessThan(5000);
    const info = (await vod().request('GetVideoInfo', { VideoId: r.VideoId })) as { Video: Record<string, unknown> };
    expect(info.Video).toMatchObject({ VideoId: r.VideoId, Title: '测试视频', Status: 'Uploading', Tags: 'a,b', CateId: 1000, RegionId: 'cn-shanghai', StorageLocation: `${c.bucket}.oss-cn-shanghai.aliyuncs.com` });
  });

  it('uploading the object with the UploadAuth (ali-oss multipart) turns the video UploadSucc and records x-oss-notification', async () => {
    const r = (await vod().request('CreateUploadVideo', { Title: 'multipart', FileName: 'm.mp4' })) as UploadResp;
    const auth = decodeUploadAuth(r.UploadAuth);
    const addr = decodeUploadAddress(r.UploadAddress);
    const client = ossClient(c, { AccessKeyId: auth.AccessKeyId, AccessKeySecret: auth.AccessKeySecret, SecurityToken: auth.SecurityToken, Expiration: '' });
    const data = patterned(260 * 1024, 77);
    const note = Buffer.from(JSON.stringify({ Vod: { Title: 'multipart', UserData: { from: 'test' } } })).toString('base64');
    await client.multipartUpload(addr.FileName, data, { partSize: 100 * 1024, headers: { 'x-oss-notification': note } });
    const info = (await vod().request('GetVideoInfo', { VideoId: r.VideoId })) as { Video: { Status: string; Size: number } };
    expect(info.Video.Status).toBe('UploadSucc');
    expect(info.Video.Size).toBe(data.length);
    const media = await admin(c.vod, 'GET', `/_admin/videos/${r.VideoId}`);
    expect(media.notificationData).toEqual({ Vod: { Title: 'multipart', UserData: { from: 'test' } } });
    expect(media.crc64).toBe(crc64(data));
  });

  it('an UploadAuth only covers its own object: another key → AccessDenied, calling VOD with it → Forbidden.RAM', async () => {
    const r = (await vod().request('CreateUploadVideo', { Title: 'scope', FileName: 's.mp4' })) as UploadResp;
    const auth = decodeUploadAuth(r.UploadAuth);
    const client = ossClient(c, { AccessKeyId: auth.AccessKeyId, AccessKeySecret: auth.AccessKeySecret, SecurityToken: auth.SecurityToken, Expiration: '' });
    await expectOssError(client.put('sv/elsewhere/x.mp4', Buffer.from('x')), 'AccessDenied');
    const e = await popError(vod({ accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, securityToken: auth.SecurityToken }).request('CreateUploadVideo', { Title: 't', FileName: 'f.mp4' }));
    expect(e.code).toBe('Forbidden.RAM');
  });

  it('RefreshUploadVideo keeps the UploadAddress and issues a new UploadAuth; an expired UploadAuth → SecurityTokenExpired in OSS', async () => {
    const r = (await vod().request('CreateUploadVideo', { Title: 'refresh', FileName: 'r.mov' })) as UploadResp;
    const auth1 = decodeUploadAuth(r.UploadAuth);
    await admin(c.vod, 'POST', '/_admin/credentials/expire', { mediaId: r.VideoId });
    const client1 = ossClient(c, { AccessKeyId: auth1.AccessKeyId, AccessKeySecret: auth1.AccessKeySecret, SecurityToken: auth1.SecurityToken, Expiration: '' });
    await expectOssError(client1.put(decodeUploadAddress(r.UploadAddress).FileName, Buffer.from('x')), 'SecurityTokenExpired');
    const again = (await vod().request('RefreshUploadVideo', { VideoId: r.VideoId })) as UploadResp;
    expect(again.VideoId).toBe(r.VideoId);
    expect(again.UploadAddress).toBe(r.UploadAddress);
    const auth2 = decodeUploadAuth(again.UploadAuth);
    expect(auth2.AccessKeyId).not.toBe(auth1.AccessKeyId);
    const client2 = ossClient(c, { AccessKeyId: auth2.AccessKeyId, AccessKeySecret: auth2.AccessKeySecret, SecurityToken: auth2.SecurityToken, Expiration: '' });
    await client2.put(decodeUploadAddress(r.UploadAddress).FileName, Buffer.from('refreshed'));
    expect(((await vod().request('GetVideoInfo', { VideoId: r.VideoId })) as { Video: { Status: string } }).Video.Status).toBe('UploadSucc');
  });

  it('CreateUploadImage → ImageId, ImageURL, FileURL; after PutObject the image is Normal and its URL is publicly readable', async () => {
    const r = (await vod().request('CreateUploadImage', { ImageType: 'cover', ImageExt: 'jpg', Title: 'cover' })) as UploadResp & { ImageId: string; ImageURL: string; FileURL: string };
    expect(r.ImageId).toMatch(/^[0-9a-f]{32}$/);
    const addr = decodeUploadAddress(r.UploadAddress);
    expect(addr.FileName).toMatch(/^image\/cover\/[0-9A-F]{32}-6-2\.jpg$/);
    expect(r.ImageURL).toBe(`${c.oss}/${c.bucket}/${addr.FileName}`);
    expect(r.FileURL).toBe(r.ImageURL);
    const auth = decodeUploadAuth(r.UploadAuth);
    const img = patterned(1234, 5);
    await ossClient(c, { AccessKeyId: auth.AccessKeyId, AccessKeySecret: auth.AccessKeySecret, SecurityToken: auth.SecurityToken, Expiration: '' }).put(addr.FileName, img);
    const got = await fetch(r.ImageURL);
    expect(got.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await got.arrayBuffer()), img)).toBe(0);
    const info = (await vod().request('GetImageInfo', { ImageId: r.ImageId })) as { ImageInfo: { Status: string; ImageType: string; Mezzanine: { FileSize: number } } };
    expect(info.ImageInfo).toMatchObject({ Status: 'Normal', ImageType: 'cover', Mezzanine: { FileSize: 1234 } });
  });

  it('STS mode: AssumeRole credentials call VOD with the SDK signer; without Timestamp (as the official SDK sends) → 400 MissingTimestamp', async () => {
    const creds = await assumeRole(c.sts);
    for (const withTimestamp of [true, false]) {
      const { params } = signRpcRequest({
        accessKeyId: creds.AccessKeyId,
        accessKeySecret: creds.AccessKeySecret,
        securityToken: creds.SecurityToken,
        params: { Action: 'CreateUploadVideo', Version: '2017-03-21', Title: 'sts mode ✓', FileName: 'clip.mp4', UserData: '{"k":"v"}' },
      });
      // re-sign exactly what is sent (the official SDK sends no Timestamp)
      const { Signature: _s, ...unsigned } = params;
      if (!withTimestamp) delete unsigned.Timestamp;
      const sig = computeRpcSignature('GET', unsigned, creds.AccessKeySecret);
      const res = await fetch(`${c.vod}/?${canonicalizeRpcQuery(unsigned)}&Signature=${percentEncode(sig)}`);
      const body = await res.json();
      if (withTimestamp) {
        expect([withTimestamp, res.status, body.Code]).toEqual([withTimestamp, 200, undefined]);
        expect(body.VideoId).toMatch(/^[0-9a-f]{32}$/);
      } else {
        // Timestamp is a required common parameter: a request without it could be replayed once its nonce is forgotten.
        expect([withTimestamp, res.status, body.Code]).toEqual([withTimestamp, 400, 'MissingTimestamp']);
      }
    }
  });

  it('parameter validation: Missing<Param>, InvalidFileName.Extension, LengthExceededMax, TagsExceededMax, IllegalCharacters, UserData, template group, storage', async () => {
    const code = async (p: Record<string, unknown>, action = 'CreateUploadVideo') => {
      const e = await popError(vod().request(action, p, { method: 'POST' }));
      return `${e.code}`;
    };
    expect(await code({ FileName: 'a.mp4' })).toBe('MissingTitle');
    expect(await code({ Title: 't' })).toBe('MissingFileName');
    expect(await code({ Title: 't', FileName: 'a.txt' })).toBe('InvalidFileName.Extension');
    expect(await code({ Title: 't', FileName: 'noextension' })).toBe('InvalidFileName.Extension');
    expect(await code({ Title: '视'.repeat(43), FileName: 'a.mp4' })).toBe('LengthExceededMax'); // 129 bytes
    expect(await code({ Title: 't', FileName: 'a.mp4', Tags: Array.from({ length: 17 }, (_, i) => `t${i}`).join(',') })).toBe('TagsExceededMax');
    expect(await code({ Title: 't', FileName: 'a.mp4', Tags: 'x'.repeat(33) })).toBe('LengthExceededMax');
    expect(await code({ Title: 'emoji 😀', FileName: 'a.mp4' })).toBe('IllegalCharacters');
    expect(await code({ Title: 't', FileName: 'a.mp4', UserData: 'not json' })).toBe('InvalidParameter');
    expect(await code({ Title: 't', FileName: 'a.mp4', TemplateGroupId: 'nope' })).toBe('InvalidTemplateGroupId.NotFound');
    expect(await code({ Title: 't', FileName: 'a.mp4', StorageLocation: 'outin-elsewhere.oss-cn-beijing.aliyuncs.com' })).toBe('InvalidStorage.NotFound');
    expect(await code({}, 'RefreshUploadVideo')).toBe('MissingVideoId');
    expect(await code({ VideoId: '0'.repeat(32) }, 'RefreshUploadVideo')).toBe('InvalidVideo.NotFound');
    expect(await code({ VideoId: '0'.repeat(32) }, 'GetVideoInfo')).toBe('InvalidVideo.NotFound');
    expect(await code({}, 'CreateUploadImage')).toBe('MissingImageType');
    expect(await code({ ImageType: 'banner' }, 'CreateUploadImage')).toBe('InvalidParameter');
    expect(await code({ ImageType: 'default', ImageExt: 'bmp' }, 'CreateUploadImage')).toBe('InvalidParameter');
    expect(await code({}, 'DeleteEverything')).toBe('InvalidAction.NotFound');
  });

  it('gateway checks: tampered secret, wrong Version, replayed nonce, Timestamp format and skew, expired / mismatched STS token', async () => {
    expect((await popError(vod({ accessKeyId: AK, accessKeySecret: SK + '!' }).request('GetVideoInfo', { VideoId: 'x' }))).code).toBe('SignatureDoesNotMatch');
    expect((await popError(rpc(c.vod, '2014-01-01').request('GetVideoInfo', { VideoId: 'x' }))).code).toBe('InvalidVersion');

    const { query } = signRpcRequest({ accessKeyId: AK, accessKeySecret: SK, params: { Action: 'GetVideoInfo', Version: '2017-03-21', VideoId: 'x' } });
    const first = await (await fetch(`${c.vod}/?${query}`)).json();
    expect(first.Code).toBe('InvalidVideo.NotFound');
    const replay = await (await fetch(`${c.vod}/?${query}`)).json();
    expect(replay.Code).toBe('SignatureNonceUsed');

    const badTs = signRpcRequest({ accessKeyId: AK, accessKeySecret: SK, params: { Action: 'GetVideoInfo', Version: '2017-03-21', VideoId: 'x', Timestamp: '10/10/2017' } });
    expect((await (await fetch(`${c.vod}/?${badTs.query}`)).json()).Code).toBe('InvalidTimeStamp.Format');
    c.cloud.setClockOffset(16 * 60 * 1000);
    expect((await popError(vod().request('GetVideoInfo', { VideoId: 'x' }))).code).toBe('InvalidTimeStamp.Expired');
    c.cloud.setClockOffset(0);

    const creds = await assumeRole(c.sts);
    expect((await popError(vod({ accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret }).request('GetVideoInfo', { VideoId: 'x' }))).code).toBe('MissingSecurityToken');
    expect((await popError(vod({ accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret, securityToken: 'CAISforged' }).request('GetVideoInfo', { VideoId: 'x' }))).code).toBe('InvalidSecurityToken.MismatchWithAccessKey');
    await admin(c.sts, 'POST', '/_admin/credentials/expire', { accessKeyId: creds.AccessKeyId });
    const expired = await popError(vod({ accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret, securityToken: creds.SecurityToken }).request('GetVideoInfo', { VideoId: 'x' }));
    expect(expired.code).toBe('InvalidSecurityToken.Expired');
    expect(expired.data.HostId).toBe('vod.cn-shanghai.aliyuncs.com');
  });

  it('Format=XML answers XML; missing AccessKeyId / Signature are reported', async () => {
    const { query } = signRpcRequest({ accessKeyId: AK, accessKeySecret: SK, format: 'XML', params: { Action: 'CreateUploadImage', Version: '2017-03-21', ImageType: 'default' } });
    const res = await fetch(`${c.vod}/?${query}`);
    const text = await res.text();
    expect(text).toMatch(/^<\?xml version='1\.0' encoding='UTF-8'\?><CreateUploadImageResponse><RequestId>[0-9A-F-]{36}<\/RequestId><ImageId>[0-9a-f]{32}<\/ImageId>/);
    expect((await (await fetch(`${c.vod}/?Action=GetVideoInfo&Version=2017-03-21&Format=JSON`)).json()).Code).toBe('MissingAccessKeyId');
    expect((await (await fetch(`${c.vod}/?Action=GetVideoInfo&Version=2017-03-21&AccessKeyId=${AK}`)).json()).Code).toBe('MissingSignature');
  });
});

describe('persistence', () => {
  it('the media library and temporary credentials survive a restart of the cloud on the same data dir', async () => {
    const dataDir = c.dataDir.replace(/\/?$/, '') + '-restart';
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { recursive: true });
    const first = await startCloud({ dataDir, providers: [aliyunOssProvider(), aliyunVodProvider(), aliyunStsProvider()], quiet: true });
    const r = (await rpc(first.urls.vod, '2017-03-21').request('CreateUploadVideo', { Title: 'persist', FileName: 'p.mp4' })) as UploadResp;
    await first.close();
    const second = await startCloud({ dataDir, providers: [aliyunOssProvider(), aliyunVodProvider(), aliyunStsProvider()], quiet: true });
    try {
      const info = (await rpc(second.urls.vod, '2017-03-21').request('GetVideoInfo', { VideoId: r.VideoId })) as { Video: { Title: string; Status: string } };
      expect(info.Video).toMatchObject({ Title: 'persist', Status: 'Uploading' });
      // the UploadAuth issued before the restart still works against the new OSS listener (new port: same credentials)
      const auth = decodeUploadAuth(r.UploadAuth);
      const key = decodeUploadAddress(r.UploadAddress).FileName;
      const bucket = decodeUploadAddress(r.UploadAddress).Bucket;
      const { default: OSS } = await import('ali-oss');
      const client = new OSS({ endpoint: second.urls.oss, bucket, region: 'oss-cn-shanghai', accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, stsToken: auth.SecurityToken } as never);
      await client.put(key, Buffer.from('after restart'));
      const after = (await rpc(second.urls.vod, '2017-03-21').request('GetVideoInfo', { VideoId: r.VideoId })) as { Video: { Status: string } };
      expect(after.Video.Status).toBe('UploadSucc');
    } finally {
      await second.close();
    }
  });
});
