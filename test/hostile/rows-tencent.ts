/**
 * Hostile names and classes of bad input on the systems merged after issue 9: Tencent VOD (vod2 v3 client upload,
 * API 3.0, media URLs), COS, the AppServer's /api/tencent-vod/* and /api/vod/play-* routes, the Aliyun VOD play side
 * (GetPlayInfo / GetVideoPlayAuth) and the VOD CDN. See harness.ts for the row type.
 *
 * Tencent answers in its own shapes: API 3.0 errors are HTTP 200 with Response.Error.Code; vod2 answers HTTP 200 with
 * `{code, message}` (vod-wx-sdk-v2 reads `code`); COS answers XML <Error><Code> with a 4xx.
 */
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { cosSign } from '../../sdk/src/tencent-vod/cos-signature';
import { LOCAL_COS_HOST } from '../../server/cloud/tencent-vod';
import { answer, ossCode, type HostileAnswer, type HostileEnv, type HostileRow } from './harness';
import { inherited, multipart } from './rows';
import { cos, ugcSignature, vod2, vodApi } from './tencent';

const T = DEV_CREDENTIALS.tencent;
const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

async function sessionCount(env: HostileEnv): Promise<number> {
  const r = await env.http({ method: 'GET', url: `${env.cloud.tvod}/_admin/sessions` });
  return (JSON.parse(r.text) as { sessions: unknown[] }).sessions.length;
}

async function tencentVideos(env: HostileEnv): Promise<number> {
  const r = await env.api('GET', '/api/tencent-vod/videos');
  return (JSON.parse(r.text) as { videos: unknown[] }).videos.length;
}

/** Send, then report when vod2 opened an upload session or the AppServer recorded a Tencent video. */
async function nothingStored(env: HostileEnv, send: () => Promise<HostileAnswer>): Promise<HostileAnswer> {
  const [s0, v0] = [await sessionCount(env), await tencentVideos(env)];
  const a = await send();
  const [s1, v1] = [await sessionCount(env), await tencentVideos(env)];
  if (s1 !== s0) return { ...a, code: `${String(a.code)} (but ${s1 - s0} upload session(s) were opened)` };
  if (v1 !== v0) return { ...a, code: `${String(a.code)} (but ${v1 - v0} video record(s) were stored)` };
  return a;
}

async function cosObjectExists(env: HostileEnv, key: string): Promise<boolean> {
  return (await cos(env, { method: 'HEAD', key })).status === 200;
}

/** PostObject to COS signed with a `Signature` field (the cos-wx-sdk way), the given fields before the file. */
async function cosPost(env: HostileEnv, key: string, extra: Array<[string, string]>, opts: { truncate?: boolean } = {}): Promise<HostileAnswer> {
  const now = Math.floor(Date.now() / 1000);
  const { authorization } = cosSign({ secretId: T.secretId, secretKey: T.secretKey, method: 'POST', pathname: '/', headers: {}, keyTime: `${now - 60};${now + 600}` });
  const m = multipart([['key', key], ['Signature', authorization], ['success_action_status', '204'], ...extra], { name: 'a.bin', data: Buffer.alloc(4096, 7) });
  const body = opts.truncate ? m.body.subarray(0, m.body.length - 1500) : m.body;
  return answer(await env.http({ method: 'POST', url: `${env.cloud.cos}/`, headers: { host: LOCAL_COS_HOST, 'content-type': m.contentType }, body }), (_j, t) => ossCode(t));
}

const NOT_FOUND_FILE = (j: any) => j?.Response?.Error?.Code ?? (Array.isArray(j?.Response?.MediaInfoSet) && j.Response.MediaInfoSet.length === 0 ? 'NotExistFileIdSet' : 'found');
const cdnCode = (_j: any, t: string) => (t.includes('403 Forbidden') ? 'Forbidden' : t.slice(0, 40));

export const rows: HostileRow[] = [
  // ------------------------------------------------------------------ AppServer
  {
    name: 'AppServer GET /api/tencent-vod/videos/:fileId',
    send: (env, v) => env.api('GET', `/api/tencent-vod/videos/${encodeURIComponent(v)}`),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/tencent-vod/events FileUploadEvent.FileId',
    send: (env, v) => nothingStored(env, () => env.api('POST', '/api/tencent-vod/events', { token: null, body: { EventType: 'NewFileUpload', FileUploadEvent: { FileId: v, MediaBasicInfo: { Name: 'x', SourceInfo: { SourceContext: v } } } } })),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/tencent-vod/events ProcedureStateChangeEvent.FileId',
    send: (env, v) => nothingStored(env, () => env.api('POST', '/api/tencent-vod/events', { token: null, body: { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { FileId: v, TaskId: v, Status: 'FINISH', SessionContext: v } } })),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/tencent-vod/events SourceContext (no such user: acknowledged, not applied)',
    send: async (env, v) =>
      nothingStored(env, async () => {
        const a = await env.api('POST', '/api/tencent-vod/events', { token: null, body: { EventType: 'NewFileUpload', FileUploadEvent: { FileId: '5285890800000000001', MediaBasicInfo: { Name: 'x', SourceInfo: { SourceContext: v } } } } });
        // Tencent redelivers any PUSH that is not answered 200: an event for nobody is acknowledged and ignored
        return { ...a, code: a.code ?? (JSON.parse(a.text).applied === false ? 'NotApplied' : 'Applied') };
      }),
    expect: () => ({ status: 200, code: 'NotApplied' }),
  },
  {
    name: 'AppServer POST /api/vod/play-info videoId',
    send: (env, v) => env.api('POST', '/api/vod/play-info', { rawBody: `{"videoId":${JSON.stringify(v)}}` }),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/vod/play-auth videoId',
    send: (env, v) => env.api('POST', '/api/vod/play-auth', { rawBody: `{"videoId":${JSON.stringify(v)}}` }),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer POST /api/vod/hls-token videoId',
    send: (env, v) => env.api('POST', '/api/vod/hls-token', { rawBody: `{"videoId":${JSON.stringify(v)}}` }),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  // ------------------------------------------------------------------ Aliyun VOD play side / CDN
  { name: 'VOD GetPlayInfo VideoId', send: (env, v) => env.pop('vod', { Action: 'GetPlayInfo', VideoId: v }), expect: () => ({ status: 404, code: 'InvalidVideo.NotFound' }) },
  { name: 'VOD GetVideoPlayAuth VideoId', send: (env, v) => env.pop('vod', { Action: 'GetVideoPlayAuth', VideoId: v }), expect: () => ({ status: 404, code: 'InvalidVideo.NotFound' }) },
  {
    name: 'CDN /:videoId/:file videoId',
    send: async (env, v) => answer(await env.http({ method: 'GET', url: `${env.cloud.cdn}/${encodeURIComponent(v)}/${'0'.repeat(32)}-od.mp4?auth_key=${Math.floor(Date.now() / 1000) + 600}-r-0-${'0'.repeat(32)}` }), (_j, t) => t),
    expect: () => ({ status: 404, code: 'Not Found' }),
  },
  {
    name: 'CDN /decrypt Ciphertext and MtsHlsUriToken',
    send: async (env, v) => answer(await env.http({ method: 'GET', url: `${env.cloud.cdn}/decrypt?Ciphertext=${encodeURIComponent(v)}&MtsHlsUriToken=${encodeURIComponent(v)}` }), cdnCode),
    expect: () => ({ status: 403, code: 'Forbidden' }),
  },
  // ------------------------------------------------------------------ Tencent vod2 (client upload)
  {
    name: 'Tencent vod2 ApplyUploadUGC vodSessionKey',
    send: (env, v) => nothingStored(env, () => vod2(env, 'ApplyUploadUGC', { signature: ugcSignature(), vodSessionKey: v, videoType: 'mp4' })),
    expect: () => ({ status: 200, code: 10001 }),
  },
  {
    name: 'Tencent vod2 CommitUploadUGC vodSessionKey',
    send: (env, v) => nothingStored(env, () => vod2(env, 'CommitUploadUGC', { signature: ugcSignature(), vodSessionKey: v })),
    expect: () => ({ status: 200, code: 10001 }),
  },
  {
    name: 'Tencent vod2 ApplyUploadUGC fileId (cover for an existing file)',
    send: (env, v) => nothingStored(env, () => vod2(env, 'ApplyUploadUGC', { signature: ugcSignature(), fileId: v, coverType: 'jpg' })),
    expect: () => ({ status: 200, code: 10001 }),
  },
  {
    name: 'Tencent vod2 signature secretId (signed with the inherited value as key)',
    send: (env, v) => nothingStored(env, () => vod2(env, 'ApplyUploadUGC', { signature: ugcSignature({ secretId: v, secretKey: inherited(v) }), videoType: 'mp4' })),
    expect: () => ({ status: 200, code: 10004 }),
  },
  {
    name: 'Tencent vod2 Action',
    send: (env, v) => nothingStored(env, () => vod2(env, encodeURIComponent(v), { signature: ugcSignature(), videoType: 'mp4' })),
    expect: () => ({ status: 200, code: 10001 }),
  },
  // ------------------------------------------------------------------ Tencent VOD API 3.0
  { name: 'Tencent VOD API X-TC-Action', send: (env, v) => vodApi(env, v, {}), expect: () => ({ status: 200, code: 'InvalidAction' }) },
  {
    name: 'Tencent VOD API SecretId (signed with the inherited value as key)',
    send: (env, v) => vodApi(env, 'DescribeEventsState', {}, { secretId: v, secretKey: inherited(v) }),
    expect: () => ({ status: 200, code: 'AuthFailure.SecretIdNotFound' }),
  },
  {
    name: 'Tencent VOD API DescribeMediaInfos FileIds',
    send: async (env, v) => answer(await vodApi(env, 'DescribeMediaInfos', { FileIds: [v] }), NOT_FOUND_FILE),
    expect: () => ({ status: 200, code: 'NotExistFileIdSet' }),
  },
  {
    name: 'Tencent VOD API ProcessMediaByProcedure FileId',
    send: (env, v) => vodApi(env, 'ProcessMediaByProcedure', { FileId: v, ProcedureName: 'p' }),
    expect: () => ({ status: 200, code: 'InvalidParameterValue.FileId' }),
  },
  {
    name: 'Tencent VOD media URL /media/<key>',
    send: async (env, v) => answer(await env.http({ method: 'GET', url: `${env.cloud.tvod}/media/${encodeURIComponent(v)}` }), (_j, t) => t),
    expect: () => ({ status: 404, code: 'Not Found' }),
  },
  // ------------------------------------------------------------------ COS
  { name: 'COS GetObject key', send: (env, v) => cos(env, { method: 'GET', key: v }), expect: () => ({ status: 404, code: 'NoSuchKey' }) },
  {
    name: 'COS bucket (virtual host)',
    send: (env, v) => cos(env, { method: 'GET', key: 'k', host: `${v}-1250000001.cos.ap-guangzhou.myqcloud.com` }),
    expect: (v) => (/^[a-z0-9-]+$/i.test(v) ? { status: 404, code: 'NoSuchBucket' } : { status: 400, code: 'InvalidURI' }),
  },
  { name: 'COS Authorization q-ak', send: (env, v) => cos(env, { method: 'GET', key: 'k', secretId: v }), expect: () => ({ status: 403, code: 'InvalidAccessKeyId' }) },
  {
    name: 'COS signed parameter name (q-url-param-list)',
    // signed like any other parameter: the request is valid and the key does not exist
    send: (env, v) => cos(env, { method: 'GET', key: 'hostile/none', query: { [v]: '1' } }),
    expect: () => ({ status: 404, code: 'NoSuchKey' }),
  },
  {
    name: 'COS signed header name (q-header-list)',
    send: (env, v) => cos(env, { method: 'GET', key: 'hostile/none', headers: { [v]: '1' } }),
    expect: () => ({ status: 404, code: 'NoSuchKey' }),
  },
  { name: 'COS ListParts uploadId', send: (env, v) => cos(env, { method: 'GET', key: 'k', query: { uploadId: v } }), expect: () => ({ status: 404, code: 'NoSuchUpload' }) },
  {
    name: 'COS PostObject q-ak (policy form)',
    send: async (env, v) => {
      const now = Math.floor(Date.now() / 1000);
      const policy = Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + 600000).toISOString(), conditions: [] })).toString('base64');
      const m = multipart([['key', 'hostile/qak.bin'], ['policy', policy], ['q-sign-algorithm', 'sha1'], ['q-ak', v], ['q-key-time', `${now - 60};${now + 600}`], ['q-signature', '0'.repeat(40)]], { name: 'a.bin', data: Buffer.from('x') });
      return answer(await env.http({ method: 'POST', url: `${env.cloud.cos}/`, headers: { host: LOCAL_COS_HOST, 'content-type': m.contentType }, body: m.body }), (_j, t) => ossCode(t));
    },
    expect: () => ({ status: 403, code: 'InvalidAccessKeyId' }),
  },
  // ------------------------------------------------------------------ classes of bad input
  {
    name: 'Tencent events PUSH body depth and size (AppServer)',
    values: ['body nested 10,000 levels', 'FileUploadEvent nested 40 levels', 'body of 300 KB'],
    send: (env, v) =>
      nothingStored(env, () => {
        if (v.startsWith('body nested')) return env.api('POST', '/api/tencent-vod/events', { token: null, rawBody: `{"EventType":"NewFileUpload","x":${deep(10000)}}` });
        if (v.startsWith('FileUploadEvent')) return env.api('POST', '/api/tencent-vod/events', { token: null, rawBody: `{"EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1","MediaBasicInfo":${deep(40)}}}` });
        return env.api('POST', '/api/tencent-vod/events', { token: null, body: { EventType: 'NewFileUpload', pad: 'x'.repeat(300 * 1024) } });
      }),
    expect: (v) => (v.includes('KB') ? { status: 413, code: 'BodyTooLarge' } : { status: 400, code: 'JsonTooDeep' }),
  },
  {
    name: 'Tencent vod2 v3 JSON body depth, size and syntax',
    values: ['body nested 10,000 levels', 'videoName nested 40 levels', 'body of 2 MB', 'body not JSON', 'body a JSON array'],
    send: (env, v) =>
      nothingStored(env, () => {
        const sig = JSON.stringify(ugcSignature());
        if (v.startsWith('body nested')) return vod2(env, 'ApplyUploadUGC', `{"signature":${sig},"videoType":"mp4","x":${deep(10000)}}`);
        if (v.startsWith('videoName')) return vod2(env, 'ApplyUploadUGC', `{"signature":${sig},"videoType":"mp4","videoName":${deep(40)}}`);
        if (v.includes('MB')) return vod2(env, 'ApplyUploadUGC', `{"signature":${sig},"videoType":"mp4","pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
        if (v.includes('not JSON')) return vod2(env, 'ApplyUploadUGC', `{"signature":${sig},`);
        return vod2(env, 'ApplyUploadUGC', `[${sig}]`);
      }),
    expect: () => ({ status: 200, code: 10001 }),
  },
  {
    name: 'Tencent VOD API 3.0 JSON body depth and size',
    values: ['body nested 10,000 levels', 'FileIds nested 40 levels', 'body of 2 MB'],
    send: (env, v) => {
      if (v.startsWith('body nested')) return vodApi(env, 'DescribeMediaInfos', `{"FileIds":["1"],"x":${deep(10000)}}`);
      if (v.startsWith('FileIds')) return vodApi(env, 'DescribeMediaInfos', `{"FileIds":[${deep(40)}]}`);
      return vodApi(env, 'DescribeMediaInfos', `{"FileIds":["1"],"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    },
    expect: (v) => (v.includes('MB') ? { status: 200, code: 'RequestSizeLimitExceeded' } : { status: 200, code: 'InvalidParameter' }),
  },
  {
    name: 'COS and CDN paths that are not percent-encoding',
    values: ['COS /hostile/%E0%A4%A', 'COS /a%zz', 'COS /%', 'CDN /%zz/x.mp4', 'CDN /v/%E0%A4%A.mp4', 'TVOD /media/%zz', 'TVOD-proxied-COS /a%zz'],
    send: async (env, v) => {
      const [where, p] = v.split(' ');
      if (where === 'COS') return cos(env, { method: 'GET', rawPath: p, unsigned: true });
      if (where === 'CDN') return answer(await env.http({ method: 'GET', url: `${env.cloud.cdn}${p}` }), (_j, t) => (t.includes('400 Bad Request') ? 'Bad Request' : t.slice(0, 40)));
      if (where === 'TVOD') return answer(await env.http({ method: 'GET', url: `${env.cloud.tvod}${p}` }), (_j, t) => t.slice(0, 40));
      // vod-wx-sdk-v2 sends COS requests to the vod2 host with Vod-Forward-Cos: the answer is COS's
      return answer(await env.http({ method: 'GET', url: `${env.cloud.tvod}${p}`, headers: { 'vod-forward-cos': LOCAL_COS_HOST } }), (_j, t) => ossCode(t));
    },
    expect: (v) => (v.startsWith('COS') || v.startsWith('TVOD-proxied-COS') ? { status: 400, code: 'InvalidURI' } : { status: 400, code: 'Bad Request' }),
  },
  {
    name: 'COS PostObject header values that cannot be headers (refused when stored)',
    values: ['x-cos-meta-note with CR LF', 'x-cos-meta-note with NUL', 'Content-Type with LF'],
    send: (env, v) => {
      const key = `hostile/meta-${v.replace(/\W+/g, '-')}.bin`;
      if (v.startsWith('x-cos-meta-note with CR')) return cosPost(env, key, [['x-cos-meta-note', 'a\r\nSet-Cookie: x=1']]);
      if (v.startsWith('x-cos-meta-note with NUL')) return cosPost(env, key, [['x-cos-meta-note', 'a\u0000b']]);
      return cosPost(env, key, [['Content-Type', 'text/plain\nX-Injected: 1']]);
    },
    expect: () => ({ status: 400, code: 'InvalidArgument' }),
    async check(env, v) {
      const key = `hostile/meta-${v.replace(/\W+/g, '-')}.bin`;
      return (await cosObjectExists(env, key)) ? [`${key} was stored`] : [];
    },
  },
  {
    name: 'COS PostObject malformed multipart body',
    values: ['truncated in the file part', 'boundary missing from Content-Type'],
    send: async (env, v) => {
      const key = `hostile/truncated-${v.replace(/\W+/g, '-')}.bin`;
      if (v.startsWith('truncated')) return cosPost(env, key, [], { truncate: true });
      const m = multipart([['key', key]], { name: 'a.bin', data: Buffer.from('abc') });
      return answer(await env.http({ method: 'POST', url: `${env.cloud.cos}/`, headers: { host: LOCAL_COS_HOST, 'content-type': 'multipart/form-data' }, body: m.body }), (_j, t) => ossCode(t));
    },
    expect: () => ({ status: 400, code: 'MalformedPOSTRequest' }),
    async check(env, v) {
      const key = `hostile/truncated-${v.replace(/\W+/g, '-')}.bin`;
      return (await cosObjectExists(env, key)) ? [`${key} was stored`] : [];
    },
  },
];
