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
 * in the AppServer's data dir; videos the SDK creates itself in STS mode have no owner here).
 * Environment: see docs/local-cloud-aliyun.md ("Real Aliyun").
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import RPCClient = require('@alicloud/pop-core');
import { HttpError, parseBody, z } from '../../http';
import type { AppDeps } from '../deps';
import { DEV_CREDENTIALS } from '../../dev-credentials';

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

class Owners {
  private map: Record<string, string> = {};
  constructor(private file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    if (existsSync(file)) {
      try {
        this.map = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        this.map = {};
      }
    }
  }
  get(id: string): string | undefined {
    return Object.prototype.hasOwnProperty.call(this.map, id) ? this.map[id] : undefined;
  }
  set(id: string, openid: string): void {
    this.map[id] = openid;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.map));
    renameSync(tmp, this.file);
  }
}

const videoBody = z
  .object({
    videoId: z.string().regex(/^[0-9A-Za-z]{1,64}$/, 'videoId: letters and digits').optional(),
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
  const owners = new Owners(path.join(deps.dataDir, 'vod-owners.json'));
  let vodClient: RPCClient | undefined;
  let stsClient: RPCClient | undefined;
  const vod = () => (vodClient ||= new RPCClient({ accessKeyId: need().accessKeyId, accessKeySecret: need().accessKeySecret, endpoint: need().vodEndpoint, apiVersion: '2017-03-21' }));
  const sts = () => (stsClient ||= new RPCClient({ accessKeyId: need().accessKeyId, accessKeySecret: need().accessKeySecret, endpoint: need().stsEndpoint, apiVersion: '2015-04-01' }));

  const call = async <T>(service: 'VOD' | 'STS', action: string, params: Record<string, unknown>): Promise<T> => {
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
      if (owners.get(b.videoId) !== openid) throw new HttpError(404, 'VideoNotFound', `No video ${b.videoId} was created by this user.`);
      return call<{ RequestId: string; VideoId: string; UploadAddress: string; UploadAuth: string }>('VOD', 'RefreshUploadVideo', { VideoId: b.videoId });
    }
    const r = await call<{ RequestId: string; VideoId: string; UploadAddress: string; UploadAuth: string }>('VOD', 'CreateUploadVideo', {
      Title: b.title,
      FileName: b.fileName,
      FileSize: b.fileSize,
      Description: b.description,
      CateId: b.cateId,
      Tags: tagsParam(b.tags),
      UserData: typeof b.userData === 'object' ? JSON.stringify(b.userData) : b.userData,
      TemplateGroupId: need().templateGroupId,
    });
    owners.set(r.VideoId, openid);
    return { RequestId: r.RequestId, VideoId: r.VideoId, UploadAddress: r.UploadAddress, UploadAuth: r.UploadAuth };
  });

  app.post('/api/vod/upload-image', { schema: { body: imageBody, response: { 200: uploadImageReply } } }, async (req) => {
    need();
    const b = parseBody(imageBody, req.body ?? {});
    const r = await call<{ RequestId: string; ImageId: string; ImageURL: string; FileURL?: string; UploadAddress: string; UploadAuth: string }>('VOD', 'CreateUploadImage', {
      ImageType: b.imageType || 'default',
      ImageExt: b.imageExt,
      Title: b.title || undefined,
      Description: b.description,
      Tags: tagsParam(b.tags),
    });
    owners.set(r.ImageId, req.user.openid);
    return { RequestId: r.RequestId, ImageId: r.ImageId, ImageURL: r.ImageURL, FileURL: r.FileURL, UploadAddress: r.UploadAddress, UploadAuth: r.UploadAuth };
  });

  app.post('/api/vod/sts', { schema: { body: noBody, response: { 200: stsReply } } }, async (req) => {
    const c = need();
    if (!c.roleArn) throw new HttpError(503, 'StsNotConfigured', 'STS mode needs ALIYUN_STS_ROLE_ARN (a RAM role the AppServer may assume, with VOD upload permissions).');
    const session = `mp-${createHash('sha256').update(req.user.openid).digest('hex').slice(0, 24)}`;
    const r = await call<{ RequestId: string; Credentials: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration: string } }>('STS', 'AssumeRole', {
      RoleArn: c.roleArn,
      RoleSessionName: session,
      DurationSeconds: c.stsDurationSeconds,
      Policy: STS_UPLOAD_POLICY,
    });
    const k = r.Credentials;
    return { RequestId: r.RequestId, SecurityTokenInfo: { AccessKeyId: k.AccessKeyId, AccessKeySecret: k.AccessKeySecret, SecurityToken: k.SecurityToken, Expiration: k.Expiration } };
  });

  app.get('/api/vod/videos/:videoId', { schema: { params: videoIdParams, response: { 200: videoInfoReply } } }, async (req) => {
    need();
    const { videoId } = parseBody(z.object({ videoId: z.string().regex(/^[0-9A-Za-z]{1,64}$/, 'videoId: letters and digits') }), req.params, 'path');
    // Videos created through this server belong to their creator; ones the SDK created itself in STS mode are unknown here.
    const owner = owners.get(videoId);
    if (owner !== undefined && owner !== req.user.openid) throw new HttpError(404, 'VideoNotFound', `No video ${videoId} was created by this user.`);
    return call<{ RequestId: string; Video: Record<string, unknown> }>('VOD', 'GetVideoInfo', { VideoId: videoId });
  });
}
