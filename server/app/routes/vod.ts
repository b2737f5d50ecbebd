/**
 * /api/vod/* — upload credentials for the mini-program's VODUpload, through @alicloud/pop-core (the official RPC
 * client) to the local cloud by default, to Aliyun when ALIYUN_ACCESS_KEY_ID / ALIYUN_ACCESS_KEY_SECRET are set.
 * Every route needs a logged-in caller (the AppServer's auth hook); responses keep Aliyun's shapes.
 *
 *   POST /api/vod/upload-video {title, fileName, fileSize?, description?, cateId?, tags?, userData?}
 *                               → CreateUploadVideo  → {RequestId, VideoId, UploadAddress, UploadAuth}
 *   POST /api/vod/upload-video {videoId} → RefreshUploadVideo (same UploadAddress, new UploadAuth)
 *   POST /api/vod/upload-image {imageType?, imageExt?, title?, tags?, description?}
 *                               → CreateUploadImage  → {RequestId, ImageId, ImageURL, FileURL, UploadAddress, UploadAuth}
 *   POST /api/vod/sts           → AssumeRole (a VOD-upload-only policy) → {SecurityTokenInfo: {AccessKeyId, AccessKeySecret,
 *                                 SecurityToken, Expiration}}
 *   GET  /api/vod/videos/:videoId → GetVideoInfo → {RequestId, Video: {VideoId, Title, Status, Size, …}}
 *   GET  /api/vod/config        → {region, userId, localCloud, vodEndpoint?, sts}
 *
 * A video can be refreshed only by the user who created it here, and read by anyone but another creator (owners are kept
 * in the AppServer's store, server/app/vod-owners.ts; videos the SDK creates itself in STS mode have no owner here).
 * Environment: see docs/local-cloud-aliyun.md ("Real Aliyun").
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import RPCClient = require('@alicloud/pop-core');
import { HttpError, parseBody, z } from '../../http';
import { appStore, type AppDeps } from '../deps';
import { VodOwners } from '../vod-owners';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import { checkJsonShape, isReservedName } from '../../safe-input';

/** VOD's own bound on UserData (a JSON object string of at most 1024 bytes). */
export const USER_DATA_MAX_BYTES = 1024;
const USER_DATA_MAX_DEPTH = 8;

export interface VodConfig {
  accessKeyId: string;
  accessKeySecret: string;
  region: string;
  userId: string;
  vodEndpoint: string;
  stsEndpoint: string;
  roleArn?: string;
  stsDurationSeconds: number;
  templateGroupId?: string;
  localCloud: boolean;
}

export type VodConfigResult = { ok: true; config: VodConfig } | { ok: false; reason: string };

/** Throws on a half-set key pair or a bad value (a startup error); ok:false when VOD is simply not configured. */
export function loadVodConfig(deps: Pick<AppDeps, 'env' | 'cloud'>): VodConfigResult {
  const env = deps.env;
  const real = !!(env.ALIYUN_ACCESS_KEY_ID || env.ALIYUN_ACCESS_KEY_SECRET);
  if (real && !(env.ALIYUN_ACCESS_KEY_ID && env.ALIYUN_ACCESS_KEY_SECRET)) throw new Error('Set both ALIYUN_ACCESS_KEY_ID and ALIYUN_ACCESS_KEY_SECRET (or neither, for the local cloud).');
  const region = env.ALIYUN_REGION || 'cn-shanghai';
  if (!/^[a-z]{2,}-[a-z0-9-]+$/.test(region)) throw new Error(`ALIYUN_REGION must be a region id such as cn-shanghai, got ${JSON.stringify(region)}.`);
  for (const k of ['ALIYUN_VOD_ENDPOINT', 'ALIYUN_STS_ENDPOINT'] as const) {
    if (env[k] && !/^https?:\/\/[^\s/]+\/?$/.test(env[k]!)) throw new Error(`${k} must be an http(s) base URL such as https://vod.cn-shanghai.aliyuncs.com.`);
  }
  let stsDurationSeconds = 3600;
  if (env.ALIYUN_STS_DURATION) {
    stsDurationSeconds = Number(env.ALIYUN_STS_DURATION);
    if (!/^\d+$/.test(env.ALIYUN_STS_DURATION) || stsDurationSeconds < 900 || stsDurationSeconds > 43200) throw new Error('ALIYUN_STS_DURATION must be a number of seconds from 900 to 43200.');
  }
  const trim = (u: string) => u.replace(/\/$/, '');
  if (real) {
    return {
      ok: true,
      config: {
        accessKeyId: env.ALIYUN_ACCESS_KEY_ID!,
        accessKeySecret: env.ALIYUN_ACCESS_KEY_SECRET!,
        region,
        userId: env.ALIYUN_USER_ID || '',
        vodEndpoint: trim(env.ALIYUN_VOD_ENDPOINT || `https://vod.${region}.aliyuncs.com`),
        stsEndpoint: trim(env.ALIYUN_STS_ENDPOINT || 'https://sts.aliyuncs.com'),
        roleArn: env.ALIYUN_STS_ROLE_ARN || undefined,
        stsDurationSeconds,
        templateGroupId: env.ALIYUN_VOD_TEMPLATE_GROUP_ID || undefined,
        localCloud: false,
      },
    };
  }
  if (!deps.cloud?.vod || !deps.cloud?.sts) {
    return { ok: false, reason: 'Aliyun VOD is not configured: set ALIYUN_ACCESS_KEY_ID / ALIYUN_ACCESS_KEY_SECRET (and ALIYUN_REGION), or run with the local cloud.' };
  }
  const dev = DEV_CREDENTIALS.aliyun;
  return {
    ok: true,
    config: {
      accessKeyId: dev.accessKeyId,
      accessKeySecret: dev.accessKeySecret,
      region: 'cn-shanghai',
      userId: env.ALIYUN_USER_ID || dev.accountId,
      vodEndpoint: trim(env.ALIYUN_VOD_ENDPOINT || deps.cloud.vod),
      stsEndpoint: trim(env.ALIYUN_STS_ENDPOINT || deps.cloud.sts),
      roleArn: env.ALIYUN_STS_ROLE_ARN || dev.roleArn,
      stsDurationSeconds,
      templateGroupId: env.ALIYUN_VOD_TEMPLATE_GROUP_ID || undefined,
      localCloud: true,
    },
  };
}

/** The policy attached to STS credentials handed to mini-programs: VOD upload calls only. */
export const STS_UPLOAD_POLICY = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['vod:CreateUploadVideo', 'vod:RefreshUploadVideo', 'vod:CreateUploadImage'], Resource: '*' }],
});

const CLIENT_ERRORS = new Set(['InvalidFileName.Extension', 'IllegalCharacters', 'LengthExceededMax', 'TagsExceededMax', 'InvalidParameter']);

/** Aliyun error → the AppServer's {error: {code, message}} with a fitting status. */
export function mapAliyunError(service: 'VOD' | 'STS', e: unknown): HttpError {
  const err = e as { code?: string; name?: string; message?: string; data?: { Code?: string; Message?: string; RequestId?: string }; entry?: { response?: { statusCode?: number } } };
  const code = err.data?.Code || err.code;
  if (err.data && code) {
    const requestId = err.data.RequestId;
    const message = `${service}: ${err.data.Message || code}`;
    const details = { provider: service.toLowerCase(), requestId };
    if (CLIENT_ERRORS.has(code) || /^Missing|^InvalidParameter/.test(code)) return new HttpError(400, code, message, details);
    if (/\.NotFound$/.test(code) && /^Invalid(Video|Image)\./.test(code)) return new HttpError(404, code, message, details);
    if (/^Throttling/.test(code)) return new HttpError(429, code, message, details);
    // credentials, signature, RAM, role, storage or template problems: the server's configuration, not the caller
    return new HttpError(502, code, message, details);
  }
  const sys = err.code || err.name || '';
  if (/Timeout|ETIMEDOUT/i.test(sys)) return new HttpError(504, `${service}Timeout`, `${service} did not answer in time.`);
  return new HttpError(502, `${service}Unavailable`, `${service} request failed: ${err.message || sys || 'network error'}`);
}

/** A VOD media id: letters and digits, never a name every object inherits (`constructor`, `__proto__`, …). */
const mediaId = (what: string) =>
  z
    .string()
    .regex(/^[0-9A-Za-z]{1,64}$/, `${what}: letters and digits`)
    .refine((v) => !isReservedName(v), { message: `${what}: not a media id (a reserved name)` });

/** UserData as VOD takes it: a JSON object (or its string) of at most 1024 bytes, bounded before it is serialized. */
function userDataParam(u: string | Record<string, unknown> | undefined): string | undefined {
  if (u === undefined) return undefined;
  let text: string;
  if (typeof u === 'string') {
    text = u;
  } else {
    const shape = checkJsonShape(u, { maxDepth: USER_DATA_MAX_DEPTH, maxBytes: USER_DATA_MAX_BYTES * 4 });
    if (!shape.ok) throw new HttpError(400, shape.reason === 'depth' ? 'InvalidParameter' : 'LengthExceededMax', `userData: ${shape.message} (VOD takes a JSON object of at most ${USER_DATA_MAX_BYTES} bytes).`);
    text = JSON.stringify(u);
  }
  if (Buffer.byteLength(text, 'utf8') > USER_DATA_MAX_BYTES) throw new HttpError(400, 'LengthExceededMax', `userData is ${Buffer.byteLength(text, 'utf8')} bytes as JSON; VOD takes at most ${USER_DATA_MAX_BYTES}.`);
  return text;
}

const uploadCredentials = z.object({ RequestId: z.string(), UploadAddress: z.string().min(1), UploadAuth: z.string().min(1) });
const videoUploadResponse = uploadCredentials.extend({ VideoId: mediaId('VideoId') });
const imageUploadResponse = uploadCredentials.extend({ ImageId: mediaId('ImageId'), ImageURL: z.string().min(1), FileURL: z.string().optional() });
const videoInfoResponse = z.object({ RequestId: z.string(), Video: z.record(z.string(), z.unknown()).refine((v) => typeof v.VideoId === 'string', { message: 'Video.VideoId missing' }) });
const stsResponse = z.object({ RequestId: z.string(), Credentials: z.object({ AccessKeyId: z.string().min(1), AccessKeySecret: z.string().min(1), SecurityToken: z.string().min(1), Expiration: z.string().min(1) }) });

/**
 * What pop-core returns is only a success when it has what the route needs: a Code-less error body (a proxy's 413 or
 * 502 page that happens to be JSON) must not become a 200 here, nor an owner named "undefined".
 */
function expectShape<T>(service: 'VOD' | 'STS', action: string, schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new HttpError(502, `${service}BadResponse`, `${service} ${action} answered without the fields it documents (${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}).`);
  }
  return r.data;
}

const videoBody = z
  .object({
    videoId: mediaId('videoId').optional(),
    title: z.string().trim().min(1, 'title must not be empty').max(128).optional(),
    fileName: z.string().trim().min(1, 'fileName must not be empty').max(1024).optional(),
    fileSize: z.number().int().min(0).optional(),
    description: z.string().max(1024).optional(),
    cateId: z.number().int().optional(),
    tags: z.union([z.string().max(1024), z.array(z.string().min(1).max(32)).max(16)]).optional(),
    userData: z.union([z.string().max(1024), z.record(z.string(), z.unknown())]).optional(),
  })
  .strict()
  .refine((b) => !!b.videoId || (!!b.title && !!b.fileName), { message: 'pass {videoId} to refresh, or {title, fileName} to create an upload' });

const imageBody = z
  .object({
    imageType: z.enum(['default', 'cover']).optional(),
    imageExt: z.enum(['png', 'jpg', 'jpeg', 'gif']).optional(),
    title: z.string().trim().max(128).optional(),
    description: z.string().max(1024).optional(),
    tags: z.union([z.string().max(1024), z.array(z.string().min(1).max(32)).max(16)]).optional(),
  })
  .strict();

// ---- Route schemas (server/app/openapi.ts: they validate, check replies and make /api/openapi.json) ----
const videoIdParams = z.object({ videoId: z.string().regex(/^[0-9A-Za-z]{1,64}$/, 'videoId: letters and digits') });
const uploadVideoReply = z
  .object({
    RequestId: z.string(),
    VideoId: z.string(),
    UploadAddress: z.string().describe('base64 JSON {Endpoint, Bucket, FileName}'),
    UploadAuth: z.string().describe('base64 JSON {AccessKeyId, AccessKeySecret, SecurityToken, Expiration, …}'),
  })
  .describe('Aliyun CreateUploadVideo / RefreshUploadVideo');
const uploadImageReply = z
  .object({ RequestId: z.string(), ImageId: z.string(), ImageURL: z.string(), FileURL: z.string().optional(), UploadAddress: z.string(), UploadAuth: z.string() })
  .describe('Aliyun CreateUploadImage');
const stsReply = z
  .object({ RequestId: z.string(), SecurityTokenInfo: z.object({ AccessKeyId: z.string(), AccessKeySecret: z.string(), SecurityToken: z.string(), Expiration: z.string() }) })
  .describe('Aliyun STS AssumeRole, limited to the VOD upload actions');
const videoInfoReply = z.object({ RequestId: z.string(), Video: z.record(z.string(), z.unknown()).describe('Aliyun GetVideoInfo Video: VideoId, Title, Status, Size, Duration, CoverURL, …') });
const vodConfigReply = z.object({
  region: z.string(),
  userId: z.string().describe("VODUpload's userId"),
  localCloud: z.boolean(),
  vodEndpoint: z.string().optional().describe('only with the local cloud'),
  sts: z.boolean().describe('whether POST /api/vod/sts is available'),
});
const noBody = z.object({}).describe('no parameters');

export default async function vodRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const loaded = loadVodConfig(deps);
  const config = loaded.ok ? loaded.config : undefined;
  const need = (): VodConfig => {
    if (!config) throw new HttpError(503, 'VodNotConfigured', loaded.ok ? 'VOD is not configured.' : loaded.reason);
    return config;
  };
  const owners = new VodOwners(appStore(deps), deps.now);
  await owners.importLegacy(path.join(deps.dataDir, 'vod-owners.json'));
  let vodClient: RPCClient | undefined;
  let stsClient: RPCClient | undefined;
  const vod = () => (vodClient ||= new RPCClient({ accessKeyId: need().accessKeyId, accessKeySecret: need().accessKeySecret, endpoint: need().vodEndpoint, apiVersion: '2017-03-21' }));
  const sts = () => (stsClient ||= new RPCClient({ accessKeyId: need().accessKeyId, accessKeySecret: need().accessKeySecret, endpoint: need().stsEndpoint, apiVersion: '2015-04-01' }));

  const call = async <T = unknown>(service: 'VOD' | 'STS', action: string, params: Record<string, unknown>): Promise<T> => {
    const client = service === 'VOD' ? vod() : sts();
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) if (v !== undefined) clean[k] = v;
    try {
      return await client.request<T>(action, clean, { method: 'POST', timeout: 15000 });
    } catch (e) {
      throw mapAliyunError(service, e);
    }
  };

  const tagsParam = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join(',') : t);

  app.get('/api/vod/config', { schema: { response: { 200: vodConfigReply } } }, async () => {
    const c = need();
    return { region: c.region, userId: c.userId, localCloud: c.localCloud, ...(c.localCloud ? { vodEndpoint: c.vodEndpoint } : {}), sts: !!c.roleArn };
  });

  app.post('/api/vod/upload-video', { schema: { body: videoBody, response: { 200: uploadVideoReply } } }, async (req) => {
    need();
    const b = parseBody(videoBody, req.body ?? {});
    const openid = req.user.openid;
    if (b.videoId) {
      if ((await owners.owner(b.videoId)) !== openid) throw new HttpError(404, 'VideoNotFound', `No video ${b.videoId} was created by this user.`);
      const refreshed = expectShape('VOD', 'RefreshUploadVideo', videoUploadResponse, await call('VOD', 'RefreshUploadVideo', { VideoId: b.videoId }));
      return { RequestId: refreshed.RequestId, VideoId: refreshed.VideoId, UploadAddress: refreshed.UploadAddress, UploadAuth: refreshed.UploadAuth };
    }
    const userData = userDataParam(b.userData);
    await appStore(deps).ping(); // store down: fail before VOD creates a video this server could not record
    const raw = await call('VOD', 'CreateUploadVideo', {
      Title: b.title,
      FileName: b.fileName,
      FileSize: b.fileSize,
      Description: b.description,
      CateId: b.cateId,
      Tags: tagsParam(b.tags),
      UserData: userData,
      TemplateGroupId: need().templateGroupId,
    });
    const r = expectShape('VOD', 'CreateUploadVideo', videoUploadResponse, raw);
    await owners.record(r.VideoId, openid);
    return { RequestId: r.RequestId, VideoId: r.VideoId, UploadAddress: r.UploadAddress, UploadAuth: r.UploadAuth };
  });

  app.post('/api/vod/upload-image', { schema: { body: imageBody, response: { 200: uploadImageReply } } }, async (req) => {
    need();
    const b = parseBody(imageBody, req.body ?? {});
    await appStore(deps).ping();
    const raw = await call('VOD', 'CreateUploadImage', {
      ImageType: b.imageType || 'default',
      ImageExt: b.imageExt,
      Title: b.title || undefined,
      Description: b.description,
      Tags: tagsParam(b.tags),
    });
    const r = expectShape('VOD', 'CreateUploadImage', imageUploadResponse, raw);
    await owners.record(r.ImageId, req.user.openid);
    return { RequestId: r.RequestId, ImageId: r.ImageId, ImageURL: r.ImageURL, FileURL: r.FileURL, UploadAddress: r.UploadAddress, UploadAuth: r.UploadAuth };
  });

  app.post('/api/vod/sts', { schema: { body: noBody, response: { 200: stsReply } } }, async (req) => {
    const c = need();
    if (!c.roleArn) throw new HttpError(503, 'StsNotConfigured', 'STS mode needs ALIYUN_STS_ROLE_ARN (a RAM role the AppServer may assume, with VOD upload permissions).');
    const session = `mp-${createHash('sha256').update(req.user.openid).digest('hex').slice(0, 24)}`;
    const raw = await call('STS', 'AssumeRole', {
      RoleArn: c.roleArn,
      RoleSessionName: session,
      DurationSeconds: c.stsDurationSeconds,
      Policy: STS_UPLOAD_POLICY,
    });
    const r = expectShape('STS', 'AssumeRole', stsResponse, raw);
    const k = r.Credentials;
    return { RequestId: r.RequestId, SecurityTokenInfo: { AccessKeyId: k.AccessKeyId, AccessKeySecret: k.AccessKeySecret, SecurityToken: k.SecurityToken, Expiration: k.Expiration } };
  });

  app.get('/api/vod/videos/:videoId', { schema: { params: videoIdParams, response: { 200: videoInfoReply } } }, async (req) => {
    need();
    const { videoId } = parseBody(z.object({ videoId: mediaId('videoId') }), req.params, 'path');
    // Videos created through this server belong to their creator; ones the SDK created itself in STS mode are unknown here.
    const owner = await owners.owner(videoId);
    if (owner !== undefined && owner !== req.user.openid) throw new HttpError(404, 'VideoNotFound', `No video ${videoId} was created by this user.`);
    return expectShape('VOD', 'GetVideoInfo', videoInfoResponse, await call('VOD', 'GetVideoInfo', { VideoId: videoId }));
  });
}
