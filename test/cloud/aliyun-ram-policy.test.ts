/**
 * STS credentials issued with a RAM Policy are held to it by the local cloud, as Aliyun holds them:
 *   - the policy grammar and size checks of AssumeRole (pop-core and ali-oss's own STS client);
 *   - the evaluator (explicit Deny wins, then Allow, else implicit deny; wildcards; case-insensitive actions);
 *   - VOD answers 403 Forbidden.RAM, OSS 403 AccessDenied "Access denied by authorizer's policy.", STS NoPermission;
 *   - credentials issued without a Policy (and VOD UploadAuth credentials) keep working as before.
 * Driven with other people's clients: @alicloud/pop-core (VOD, STS), ali-oss (OSS, STS) over loopback sockets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OSS from 'ali-oss';
import { decodeUploadAddress, decodeUploadAuth } from '../../sdk/src/aliyun';
import { startCloud, RunningCloud } from '../../server/cloud';
import { aliyunOssProvider } from '../../server/cloud/aliyun-oss';
import { aliyunStsProvider } from '../../server/cloud/aliyun-sts';
import { aliyunVodProvider } from '../../server/cloud/aliyun-vod';
import { vodCdnProvider } from '../../server/cloud/vod-cdn';
import { SAMPLE_VIDEO_IDS } from '../../server/cloud/aliyun-vod/play';
import { evaluateRamPolicy, parseRamPolicy, MAX_POLICY_LENGTH, type RamPolicy } from '../../server/cloud/aliyun-common/ram-policy';
import { STS_PLAY_POLICY } from '../../server/app/routes/vod-play';
import { STS_UPLOAD_POLICY } from '../../server/app/routes/vod';
import { admin, assumeRole, rpc, AK, SK, ROLE_ARN, patterned, type StsCreds } from './aliyun-helpers';

const RAM_MESSAGE = "User not authorized to operate on the specified resource, or this API doesn't support RAM.";

let cloud: RunningCloud;
let dataDir: string;
let bucket: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'ram-policy-'));
  cloud = await startCloud({ dataDir, providers: [aliyunOssProvider(), aliyunVodProvider(), aliyunStsProvider(), vodCdnProvider()], quiet: true });
  bucket = ((await admin(cloud.urls.oss, 'GET', '/_admin/info')) as { vodBucket: string }).vodBucket;
});
afterAll(async () => {
  await cloud.close();
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
});

const asRpc = (k: StsCreds) => ({ accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret, securityToken: k.SecurityToken });
const vod = (k?: StsCreds) => rpc(cloud.urls.vod, '2017-03-21', k && asRpc(k));
const sts = (k?: StsCreds) => rpc(cloud.urls.sts, '2015-04-01', k && asRpc(k));
const oss = (k?: StsCreds | { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string }) =>
  new OSS({ endpoint: cloud.urls.oss, bucket, region: 'oss-cn-shanghai', timeout: 20000, ...(k ? { accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret, stsToken: k.SecurityToken } : { accessKeyId: AK, accessKeySecret: SK }) } as OSS.Options);
const withPolicy = (policy: unknown) => assumeRole(cloud.urls.sts, { Policy: typeof policy === 'string' ? policy : JSON.stringify(policy) });

/** The Aliyun error a call ends with (code, HTTP status, body), or a test failure if it succeeded. */
async function failure(p: Promise<unknown>): Promise<{ code: string; status: number; message: string; data?: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; status?: number; message: string; data?: Record<string, string>; entry?: { response?: { statusCode?: number } } };
    if (!err.code) throw e;
    return { code: err.code, status: err.status ?? err.entry?.response?.statusCode ?? 0, message: err.data?.Message ?? err.message, data: err.data };
  }
  throw new Error('expected an Aliyun error, but the call succeeded');
}

const policy = (...Statement: unknown[]): RamPolicy => {
  const r = parseRamPolicy(JSON.stringify({ Version: '1', Statement }));
  if (!r.ok) throw new Error(`bad test policy: ${r.message}`);
  return r.policy;
};

describe('RAM policy evaluator (aliyun-common/ram-policy)', () => {
  const VOD_ARN = 'acs:vod:cn-shanghai:1234:*';
  it('explicit Deny wins over Allow; an Allow grants; nothing matching is an implicit deny', () => {
    const p = policy({ Effect: 'Allow', Action: 'vod:*', Resource: '*' }, { Effect: 'Deny', Action: ['vod:Delete*'], Resource: '*' });
    expect(evaluateRamPolicy(p, { action: 'vod:GetPlayInfo', resource: VOD_ARN })).toBe('Allow');
    expect(evaluateRamPolicy(p, { action: 'vod:DeleteVideo', resource: VOD_ARN })).toBe('ExplicitDeny');
    expect(evaluateRamPolicy(p, { action: 'oss:PutObject', resource: 'acs:oss:cn-shanghai:1234:b/k' })).toBe('ImplicitDeny');
  });

  it('action names match case-insensitively with * wildcards; resources case-sensitively', () => {
    const p = policy({ Effect: 'Allow', Action: ['VOD:get*'], Resource: ['acs:oss:*:*:bucket/Users/*'] });
    expect(evaluateRamPolicy(p, { action: 'vod:GetPlayInfo', resource: 'acs:oss:cn-shanghai:1:bucket/Users/a/b.mp4' })).toBe('Allow');
    expect(evaluateRamPolicy(p, { action: 'vod:CreateUploadVideo', resource: 'acs:oss:cn-shanghai:1:bucket/Users/a' })).toBe('ImplicitDeny');
    expect(evaluateRamPolicy(p, { action: 'vod:GetPlayInfo', resource: 'acs:oss:cn-shanghai:1:bucket/users/a' })).toBe('ImplicitDeny');
    // regex metacharacters in a pattern are literal
    const dots = policy({ Effect: 'Allow', Action: 'oss:GetObject', Resource: 'acs:oss:*:*:b/a.mp4' });
    expect(evaluateRamPolicy(dots, { action: 'oss:GetObject', resource: 'acs:oss:x:1:b/aXmp4' })).toBe('ImplicitDeny');
  });

  it('a resource-scoped VOD statement grants nothing: VOD authorises per operation (resource acs:vod:<region>:<account>:*)', () => {
    const p = policy({ Effect: 'Allow', Action: 'vod:GetPlayInfo', Resource: 'acs:vod:*:*:video/abc' });
    expect(evaluateRamPolicy(p, { action: 'vod:GetPlayInfo', resource: VOD_ARN })).toBe('ImplicitDeny');
    expect(evaluateRamPolicy(policy({ Effect: 'Allow', Action: 'vod:GetPlayInfo', Resource: 'acs:vod:*:*:*' }), { action: 'vod:GetPlayInfo', resource: VOD_ARN })).toBe('Allow');
  });

  it('NotAction inverts the action match; a Condition the local cloud cannot evaluate never widens access', () => {
    const p = policy({ Effect: 'Allow', NotAction: 'vod:Delete*', Resource: 'acs:vod:*:*:*' });
    expect(evaluateRamPolicy(p, { action: 'vod:GetPlayInfo', resource: VOD_ARN })).toBe('Allow');
    expect(evaluateRamPolicy(p, { action: 'vod:DeleteVideo', resource: VOD_ARN })).toBe('ImplicitDeny');
    expect(evaluateRamPolicy(p, { action: 'oss:GetObject', resource: 'acs:oss:r:1:private/x' })).toBe('ImplicitDeny');
    const cond = { IpAddress: { 'acs:SourceIp': '192.168.0.0/16' } };
    expect(evaluateRamPolicy(policy({ Effect: 'Allow', Action: '*', Resource: '*', Condition: cond }), { action: 'vod:GetPlayInfo', resource: VOD_ARN })).toBe('ImplicitDeny');
    expect(evaluateRamPolicy(policy({ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: '*', Resource: '*', Condition: cond }), { action: 'vod:GetPlayInfo', resource: VOD_ARN })).toBe('ExplicitDeny');
  });

  it.each([
    ['not JSON', '{"Version": "1", "Statement": ['],
    ['a JSON array', '[]'],
    ['a misspelt Statements key (ali-oss test case)', JSON.stringify({ Version: '1', Statements: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })],
    ['no Version', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })],
    ['Version "2"', JSON.stringify({ Version: '2', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })],
    ['an empty Statement list', JSON.stringify({ Version: '1', Statement: [] })],
    ['Effect "allowed"', JSON.stringify({ Version: '1', Statement: [{ Effect: 'allowed', Action: '*', Resource: '*' }] })],
    ['no Action', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Resource: '*' }] })],
    ['Action and NotAction together', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', NotAction: 'vod:X', Resource: '*' }] })],
    ['no Resource', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*' }] })],
    ['NotResource (not a RAM element)', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', NotResource: 'acs:oss:*:*:b/*' }] })],
    ['an action without its service', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'GetPlayInfo', Resource: '*' }] })],
    ['a resource that is not an ARN', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: 'video/abc' }] })],
    ['a Principal (not allowed in a session policy)', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Principal: { RAM: ['*'] } }] })],
    ['a numeric action', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: [1], Resource: '*' }] })],
  ])('grammar: %s → InvalidParameter.PolicyGrammar', (_name, text) => {
    const r = parseRamPolicy(text);
    expect(r).toEqual({ ok: false, code: 'InvalidParameter.PolicyGrammar', message: 'The parameter Policy has not passed grammar check.' });
  });

  it(`size: ${MAX_POLICY_LENGTH} characters pass, one more → InvalidParameter.PolicySize`, () => {
    const base = JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'oss:GetObject', Resource: 'acs:oss:*:*:b/' }] });
    const fill = (n: number) => base.replace('b/', `b/${'x'.repeat(n - base.length)}`);
    expect(fill(MAX_POLICY_LENGTH)).toHaveLength(MAX_POLICY_LENGTH);
    expect(parseRamPolicy(fill(MAX_POLICY_LENGTH)).ok).toBe(true);
    expect(parseRamPolicy(fill(MAX_POLICY_LENGTH + 1))).toEqual({ ok: false, code: 'InvalidParameter.PolicySize', message: 'The size of Policy must be smaller than 2048 bytes.' });
  });
});

describe('AssumeRole validates the Policy it is given', () => {
  it('malformed JSON / wrong grammar → 400 InvalidParameter.PolicyGrammar (pop-core and ali-oss STS); too long → 400 InvalidParameter.PolicySize', async () => {
    const bad = await failure(withPolicy('{"Version":"1","Statement":[{"Effect":"Allow"'));
    expect(bad).toMatchObject({ code: 'InvalidParameter.PolicyGrammar', status: 400, message: 'The parameter Policy has not passed grammar check.' });
    // ali-oss's own STS client, with the policy of its test suite that misspells Statement
    const aliSts = new OSS.STS({ accessKeyId: AK, accessKeySecret: SK, endpoint: cloud.urls.sts } as OSS.STSOptions); // endpoint: read by ali-oss, missing from its types
    const e = await failure(aliSts.assumeRole(ROLE_ARN, { Version: '1', Statements: [{ Action: ['oss:*'], Effect: 'Allow', Resource: ['acs:oss:*:*:*'] }] } as never));
    expect(e).toMatchObject({ code: 'InvalidParameter.PolicyGrammar', status: 400 });
    const long = JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'oss:GetObject', Resource: `acs:oss:*:*:b/${'x'.repeat(2100)}` }] });
    expect(await failure(withPolicy(long))).toMatchObject({ code: 'InvalidParameter.PolicySize', status: 400 });
    // a good policy through ali-oss's STS client is accepted and kept with the credentials
    const ok = await aliSts.assumeRole(ROLE_ARN, { Version: '1', Statement: [{ Action: ['oss:GetObject'], Effect: 'Allow', Resource: ['acs:oss:*:*:*'] }] } as never, 900, 'ali-oss-sts');
    const listed = (await admin(cloud.urls.sts, 'GET', '/_admin/credentials')) as { credentials: Array<{ accessKeyId: string; policy?: RamPolicy }> };
    expect(listed.credentials.find((x) => x.accessKeyId === ok.credentials.AccessKeyId)?.policy).toEqual({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['oss:GetObject'], Resource: ['acs:oss:*:*:*'] }] });
  });
});

describe('play-sts credentials (the AppServer route\'s policy) against the local VOD, STS and OSS', () => {
  let play: StsCreds;
  beforeAll(async () => {
    play = await withPolicy(STS_PLAY_POLICY);
  });

  it('GetPlayInfo and GetVideoPlayAuth succeed', async () => {
    const r = (await vod(play).request('GetPlayInfo', { VideoId: SAMPLE_VIDEO_IDS.clip, Formats: 'mp4' }, { method: 'POST' })) as { PlayInfoList: { PlayInfo: unknown[] } };
    expect(r.PlayInfoList.PlayInfo.length).toBeGreaterThanOrEqual(2);
    const a = (await vod(play).request('GetVideoPlayAuth', { VideoId: SAMPLE_VIDEO_IDS.clip }, { method: 'POST' })) as { PlayAuth: string };
    expect(a.PlayAuth.length).toBeGreaterThan(20);
  });

  it('CreateUploadVideo, DeleteVideo, GetVideoInfo, RefreshUploadVideo → 403 Forbidden.RAM with VOD\'s message and error body', async () => {
    for (const [action, params] of [
      ['CreateUploadVideo', { Title: 'sneaky', FileName: 'x.mp4' }],
      ['DeleteVideo', { VideoIds: SAMPLE_VIDEO_IDS.clip }],
      ['GetVideoInfo', { VideoId: SAMPLE_VIDEO_IDS.clip }],
      ['RefreshUploadVideo', { VideoId: SAMPLE_VIDEO_IDS.clip }],
    ] as const) {
      const e = await failure(vod(play).request(action, params, { method: 'POST' }));
      expect({ action, ...e }).toMatchObject({ action, code: 'Forbidden.RAM', status: 403, message: RAM_MESSAGE });
      expect(e.data).toEqual(expect.objectContaining({ RequestId: expect.any(String), HostId: 'vod.cn-shanghai.aliyuncs.com', Code: 'Forbidden.RAM' }));
    }
    // the account's own key is not restricted: DeleteVideo is a real VOD API the local VOD does not implement
    expect(await failure(vod().request('DeleteVideo', { VideoIds: SAMPLE_VIDEO_IDS.clip }, { method: 'POST' }))).toMatchObject({ code: 'InvalidAction.NotFound', status: 404 });
    // an API VOD does not have stays not found, policy or not
    expect(await failure(vod(play).request('DeleteEverything', {}, { method: 'POST' }))).toMatchObject({ code: 'InvalidAction.NotFound', status: 404 });
  });

  it('STS: GetCallerIdentity answers; AssumeRole with them → 403 NoPermission', async () => {
    const who = (await sts(play).request('GetCallerIdentity', {}, { method: 'POST' })) as { IdentityType: string };
    expect(who.IdentityType).toBe('AssumedRoleUser');
    const e = await failure(sts(play).request('AssumeRole', { RoleArn: ROLE_ARN, RoleSessionName: 'escalate' }, { method: 'POST' }));
    expect(e).toMatchObject({ code: 'NoPermission', status: 403, message: 'You are not authorized to do this action. You should be authorized by RAM.' });
  });

  it('OSS: PutObject / GetObject / ListObjects with them (ali-oss) → 403 AccessDenied "Access denied by authorizer\'s policy."', async () => {
    const client = oss(play);
    for (const p of [client.put('sv/sneaky/x.mp4', Buffer.from('x')), client.get('image/default/none.png'), client.list({ 'max-keys': 10 }, {})]) {
      expect(await failure(p)).toMatchObject({ code: 'AccessDenied', status: 403, message: "Access denied by authorizer's policy." });
    }
  });
});

describe('upload credentials keep working', () => {
  it('STS with the AppServer\'s upload policy: CreateUploadVideo → UploadAuth → ali-oss multipart upload → UploadSucc; play actions → Forbidden.RAM; OSS directly → AccessDenied', async () => {
    const up = await withPolicy(STS_UPLOAD_POLICY);
    const r = (await vod(up).request('CreateUploadVideo', { Title: 'ram upload', FileName: 'up.mp4' }, { method: 'POST' })) as { VideoId: string; UploadAddress: string; UploadAuth: string };
    const auth = decodeUploadAuth(r.UploadAuth);
    const addr = decodeUploadAddress(r.UploadAddress);
    const data = patterned(230 * 1024, 9);
    await oss(auth).multipartUpload(addr.FileName, data, { partSize: 100 * 1024 });
    const info = (await vod().request('GetVideoInfo', { VideoId: r.VideoId })) as { Video: { Status: string; Size: number } };
    expect(info.Video).toMatchObject({ Status: 'UploadSucc', Size: data.length });
    expect((await vod(up).request('RefreshUploadVideo', { VideoId: r.VideoId }, { method: 'POST' })) as { VideoId: string }).toMatchObject({ VideoId: r.VideoId });
    expect(await failure(vod(up).request('GetPlayInfo', { VideoId: SAMPLE_VIDEO_IDS.clip }, { method: 'POST' }))).toMatchObject({ code: 'Forbidden.RAM', status: 403 });
    expect(await failure(oss(up).put('sv/direct/x.mp4', Buffer.from('x')))).toMatchObject({ code: 'AccessDenied', status: 403 });
  });

  it('STS without a Policy still acts for the whole role (VOD and OSS)', async () => {
    const full = await assumeRole(cloud.urls.sts);
    await vod(full).request('CreateUploadVideo', { Title: 'full', FileName: 'full.mp4' }, { method: 'POST' });
    await oss(full).put('free/full.bin', Buffer.from('full'));
    expect((await oss(full).get('free/full.bin')).content.toString()).toBe('full');
  });
});

describe('an OSS policy scoped to a prefix', () => {
  it('Allow put/get under users/u1/, Deny get on users/u1/secret*: in-prefix writes (simple + multipart) and reads pass; other prefixes, the denied key, delete and list → AccessDenied', async () => {
    const k = await withPolicy({
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: ['oss:PutObject', 'oss:GetObject', 'oss:ListParts'], Resource: [`acs:oss:*:*:${bucket}/users/u1/*`] },
        { Effect: 'Deny', Action: 'oss:GetObject', Resource: `acs:oss:*:*:${bucket}/users/u1/secret*` },
      ],
    });
    const client = oss(k);
    await client.put('users/u1/a.txt', Buffer.from('a'));
    expect((await client.get('users/u1/a.txt')).content.toString()).toBe('a');
    expect((await client.head('users/u1/a.txt')).status).toBe(200);
    const big = patterned(210 * 1024, 3);
    await client.multipartUpload('users/u1/big.bin', big, { partSize: 100 * 1024 });
    expect(Buffer.compare((await oss().get('users/u1/big.bin')).content as Buffer, big)).toBe(0);
    await client.put('users/u1/secret.txt', Buffer.from('s'));
    const denied = "Access denied by authorizer's policy.";
    expect(await failure(client.get('users/u1/secret.txt'))).toMatchObject({ code: 'AccessDenied', status: 403, message: denied });
    expect(await failure(client.put('users/u2/a.txt', Buffer.from('b')))).toMatchObject({ code: 'AccessDenied', status: 403, message: denied });
    expect(await failure(client.delete('users/u1/a.txt'))).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(await failure(client.list({ prefix: 'users/u1/', 'max-keys': 10 }, {}))).toMatchObject({ code: 'AccessDenied', status: 403 });
    // the policy survives a restart of the cloud on the same data dir (the state file keeps it)
    const state = JSON.parse(readFileSync(path.join(dataDir, 'aliyun-common', 'state.json'), 'utf8')) as { credentials: Array<{ accessKeyId: string; policy?: RamPolicy }> };
    expect(state.credentials.find((x) => x.accessKeyId === k.AccessKeyId)?.policy?.Statement).toHaveLength(2);
  });
});
