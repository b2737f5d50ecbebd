/**
 * Hostile names in every id / name / action / appid / key position of the AppServer's VOD, Polyv and login routes and
 * of the local cloud's OSS, VOD, STS, Polyv and WeChat emulators (IoT rows live in rows-iot.ts). See harness.ts.
 */
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { polyvSignedForm } from '../../server/app/polyv/sign';
import { encodePostPolicy, ossPostPolicySignature } from '../../sdk/src/aliyun/oss-signature';
import { answer, wxCode, ossCode, type HostileEnv, type HostileRow } from './harness';

/** What a plain object would have answered for `name`: the "secret" an attacker signs with. */
export function inherited(name: string): string {
  return String(({} as Record<string, unknown>)[name]);
}

const inJson = (value: string, otherwise: { status: number; code: string | number }) =>
  // fastify refuses a JSON body with a "__proto__" KEY outright (prototype-poisoning protection)
  value === '__proto__' ? { status: 400, code: 'InvalidJson' } : otherwise;

const validBucketName = (b: string) => /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(b);
const polyvCode = (j: any) => j?.message;
const polyvV3Code = (j: any) => j?.error?.code;

/** multipart/form-data with the fields in order and a file last. */
export function multipart(fields: Array<[string, string]>, file?: { name: string; data: Buffer; contentType?: string }): { body: Buffer; contentType: string } {
  const boundary = `----hostile${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of fields) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`, 'utf8'));
  if (file) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.contentType || 'application/octet-stream'}\r\n\r\n`, 'utf8'), file.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** PostObject fields signed with the account AccessKey (policy: this key, 1 MB max). */
export function signedPostFields(key: string, extra: Array<[string, string]> = [], accessKeyId: string = DEV_CREDENTIALS.aliyun.accessKeyId): Array<[string, string]> {
  const policy = encodePostPolicy({ expiration: new Date(Date.now() + 10 * 60000).toISOString(), conditions: [['content-length-range', 0, 1048576]] as never });
  return [['key', key], ['policy', policy], ['OSSAccessKeyId', accessKeyId], ['Signature', ossPostPolicySignature(DEV_CREDENTIALS.aliyun.accessKeySecret, policy)], ['success_action_status', '204'], ...extra];
}

async function polyvForm(env: HostileEnv, p: string, form: Record<string, string>) {
  return env.http({ method: 'POST', url: `${env.cloud.polyv}${p}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

async function polyvSample(env: HostileEnv): Promise<{ vid: string; userId: string }> {
  const r = await env.http({ method: 'GET', url: `${env.cloud.polyv}/_admin/samples` });
  const s = (JSON.parse(r.text) as { samples: Array<{ vid: string; userId: string; playable: boolean }> }).samples.find((x) => x.playable)!;
  return { vid: s.vid, userId: s.userId };
}

const P = DEV_CREDENTIALS.polyv;

export const rows: HostileRow[] = [
  // ------------------------------------------------------------------ AppServer
  {
    name: 'AppServer GET /api/vod/videos/:videoId',
    send: (env, v) => env.api('GET', `/api/vod/videos/${encodeURIComponent(v)}`),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/vod/upload-video videoId (refresh)',
    send: (env, v) => env.api('POST', '/api/vod/upload-video', { rawBody: `{"videoId":${JSON.stringify(v)}}` }),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/vod/upload-image body key',
    send: (env, v) => env.api('POST', '/api/vod/upload-image', { rawBody: `{${JSON.stringify(v)}:"x"}` }),
    expect: (v) => inJson(v, { status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/polyv/play videoId',
    send: (env, v) => env.api('POST', '/api/polyv/play', { rawBody: `{"videoId":${JSON.stringify(v)}}` }),
    expect: () => ({ status: 400, code: 'InvalidVideoId' }),
  },
  {
    name: 'AppServer POST /api/login code',
    send: (env, v) => env.api('POST', '/api/login', { rawBody: `{"code":${JSON.stringify(v)}}`, token: null }),
    expect: () => ({ status: 401, code: 'InvalidCode' }),
  },
  {
    name: 'AppServer Authorization token claims',
    send: (env, v) => env.api('GET', '/api/me', { token: `v1.${Buffer.from(JSON.stringify({ [v]: 1, sub: v, exp: 9e9 })).toString('base64url')}.${Buffer.from(inherited(v)).toString('base64url')}` }),
    expect: () => ({ status: 401, code: 'InvalidToken' }),
  },
  // ------------------------------------------------------------------ VOD / STS (POP gateway)
  { name: 'VOD RPC Action', send: (env, v) => env.pop('vod', { Action: v }), expect: () => ({ status: 404, code: 'InvalidAction.NotFound' }) },
  { name: 'STS RPC Action', send: (env, v) => env.pop('sts', { Action: v }), expect: () => ({ status: 404, code: 'InvalidAction.NotFound' }) },
  { name: 'VOD GetVideoInfo VideoId', send: (env, v) => env.pop('vod', { Action: 'GetVideoInfo', VideoId: v }), expect: () => ({ status: 404, code: 'InvalidVideo.NotFound' }) },
  { name: 'VOD RefreshUploadVideo VideoId', send: (env, v) => env.pop('vod', { Action: 'RefreshUploadVideo', VideoId: v }), expect: () => ({ status: 404, code: 'InvalidVideo.NotFound' }) },
  { name: 'VOD GetImageInfo ImageId', send: (env, v) => env.pop('vod', { Action: 'GetImageInfo', ImageId: v }), expect: () => ({ status: 404, code: 'InvalidImage.NotFound' }) },
  {
    name: 'VOD AccessKeyId (signed with the inherited value as secret)',
    send: (env, v) => env.pop('vod', { Action: 'GetVideoInfo', VideoId: '0'.repeat(32) }, { accessKeyId: v, secret: inherited(v) }),
    expect: () => ({ status: 404, code: 'InvalidAccessKeyId.NotFound' }),
  },
  {
    name: 'VOD CreateUploadVideo TemplateGroupId',
    send: (env, v) => env.pop('vod', { Action: 'CreateUploadVideo', Title: 't', FileName: 'a.mp4', TemplateGroupId: v }),
    expect: () => ({ status: 404, code: 'InvalidTemplateGroupId.NotFound' }),
  },
  {
    name: 'VOD CreateUploadImage AppId',
    send: (env, v) => env.pop('vod', { Action: 'CreateUploadImage', ImageType: 'default', AppId: v }),
    expect: () => ({ status: 404, code: 'InvalidAppId.NotFound' }),
  },
  {
    name: 'VOD parameter name',
    // a parameter called __proto__ is dropped by the signer on both sides; any other name is signed like any other
    send: (env, v) => (v === '__proto__' ? env.pop('vod', { Action: 'GetVideoInfo', VideoId: '0'.repeat(32) }, { extraUnsigned: '__proto__=1' }) : env.pop('vod', { Action: 'GetVideoInfo', VideoId: '0'.repeat(32), [v]: '1' })),
    expect: () => ({ status: 404, code: 'InvalidVideo.NotFound' }),
  },
  // ------------------------------------------------------------------ OSS
  { name: 'OSS GetObject key', send: (env, v) => env.oss({ method: 'GET', key: v }), expect: () => ({ status: 404, code: 'NoSuchKey' }) },
  { name: 'OSS anonymous GetObject key (public image/ prefix)', send: (env, v) => env.oss({ method: 'GET', key: `image/${v}`, anonymous: true }), expect: () => ({ status: 404, code: 'NoSuchKey' }) },
  {
    name: 'OSS bucket',
    send: (env, v) => env.oss({ method: 'GET', bucket: v, key: 'k' }),
    expect: (v) => (validBucketName(v) ? { status: 404, code: 'NoSuchBucket' } : { status: 400, code: 'InvalidBucketName' }),
  },
  { name: 'OSS Authorization AccessKeyId', send: (env, v) => env.oss({ method: 'GET', key: 'k', accessKeyId: v }), expect: () => ({ status: 403, code: 'InvalidAccessKeyId' }) },
  { name: 'OSS ListParts uploadId', send: (env, v) => env.oss({ method: 'GET', key: 'k', sub: { uploadId: v } }), expect: () => ({ status: 404, code: 'NoSuchUpload' }) },
  {
    name: 'OSS presigned URL OSSAccessKeyId',
    send: (env, v) => env.oss({ method: 'GET', key: 'k', anonymous: true, query: `OSSAccessKeyId=${encodeURIComponent(v)}&Expires=${Math.floor(Date.now() / 1000) + 600}&Signature=x` }),
    expect: () => ({ status: 403, code: 'InvalidAccessKeyId' }),
  },
  {
    name: 'OSS PostObject OSSAccessKeyId',
    send: async (env, v) => {
      const m = multipart(signedPostFields('hostile/post.bin', [], v), { name: 'a.bin', data: Buffer.from('x') });
      return answer(await env.http({ method: 'POST', url: `${env.cloud.oss}/${env.bucket}`, headers: { 'content-type': m.contentType }, body: m.body }), (_j, t) => ossCode(t));
    },
    expect: () => ({ status: 403, code: 'InvalidAccessKeyId' }),
  },
  // ------------------------------------------------------------------ Polyv
  {
    name: 'Polyv /service/v1/token userId (signed with the inherited value as secretKey)',
    send: async (env, v) => answer(await polyvForm(env, '/service/v1/token', polyvSignedForm({ userId: v, ts: Date.now(), videoId: 'x', viewerId: 'v1' }, inherited(v))), polyvCode),
    expect: () => ({ status: 400, code: 'user_not_found' }),
  },
  {
    name: 'Polyv /service/v2/token/create-child appId',
    send: async (env, v) => answer(await polyvForm(env, '/service/v2/token/create-child', polyvSignedForm({ appId: v, ts: Date.now(), videoId: 'x', viewerId: 'v1' }, inherited(v))), polyvCode),
    expect: () => ({ status: 400, code: 'app_not_found' }),
  },
  {
    name: 'Polyv /service/v1/token videoId',
    send: async (env, v) => answer(await polyvForm(env, '/service/v1/token', polyvSignedForm({ userId: P.userId, ts: Date.now(), videoId: v, viewerId: 'v1', iswxa: 1 }, P.secretKey)), polyvCode),
    expect: () => ({ status: 400, code: 'video_not_found' }),
  },
  {
    name: 'Polyv /service/v1/token parameter name',
    // a form field called `constructor` used to collide with the inherited one ("given more than once")
    send: async (env, v) => answer(await polyvForm(env, '/service/v1/token', polyvSignedForm({ userId: P.userId, ts: Date.now(), videoId: 'x', viewerId: 'v1', [v]: '1' }, P.secretKey)), polyvCode),
    expect: () => ({ status: 400, code: 'video_not_found' }),
  },
  {
    name: 'Polyv /v2/video/:userid/get-video-msg userid',
    send: async (env, v) => {
      const form = polyvSignedForm({ format: 'json', ptime: Date.now(), vid: 'x' }, inherited(v), 'sha1');
      return answer(await env.http({ method: 'GET', url: `${env.cloud.polyv}/v2/video/${encodeURIComponent(v)}/get-video-msg?${new URLSearchParams(form)}` }), polyvCode);
    },
    expect: () => ({ status: 400, code: 'Could not find user by userid.' }),
  },
  {
    name: 'Polyv /v3/video/get-video-info appId',
    send: async (env, v) => {
      const form = polyvSignedForm({ appId: v, timestamp: Date.now(), vids: 'x' }, inherited(v));
      return answer(await env.http({ method: 'GET', url: `${env.cloud.polyv}/v3/video/get-video-info?${new URLSearchParams(form)}` }), polyvV3Code);
    },
    expect: () => ({ status: 400, code: 101 }),
  },
  {
    name: 'Polyv playsafe key token',
    send: async (env, v) => {
      const s = await polyvSample(env);
      const [vid32, suffix] = s.vid.split('_');
      return answer(await env.http({ method: 'GET', url: `${env.cloud.polyv}/playsafe/${s.userId}/${suffix}/${vid32}_1.key?token=${encodeURIComponent(v)}&iswxa=1` }), (_j, t) => t);
    },
    expect: () => ({ status: 403, code: 'Forbidden' }),
  },
  // ------------------------------------------------------------------ WeChat
  {
    name: 'WeChat jscode2session appid (with the inherited value as secret)',
    send: async (env, v) => answer(await env.http({ method: 'GET', url: `${env.cloud.wechat}/sns/jscode2session?${new URLSearchParams({ appid: v, secret: inherited(v), js_code: 'c', grant_type: 'authorization_code' })}` }), wxCode),
    expect: () => ({ status: 200, code: 40013 }),
  },
  {
    name: 'WeChat jscode2session js_code',
    send: async (env, v) =>
      answer(await env.http({ method: 'GET', url: `${env.cloud.wechat}/sns/jscode2session?${new URLSearchParams({ appid: DEV_CREDENTIALS.wechat.appId, secret: DEV_CREDENTIALS.wechat.secret, js_code: v, grant_type: 'authorization_code' })}` }), wxCode),
    expect: () => ({ status: 200, code: 40029 }),
  },
  {
    name: 'WeChat /wx/dev/code appid',
    send: async (env, v) => answer(await env.http({ method: 'POST', url: `${env.cloud.wechat}/wx/dev/code`, headers: { 'content-type': 'application/json' }, body: `{"appid":${JSON.stringify(v)}}` }), wxCode),
    expect: () => ({ status: 400, code: 40013 }),
  },
];
