/**
 * /api/vod/* — the play / download side, through @alicloud/pop-core like routes/vod.ts (local cloud by default,
 * Aliyun with ALIYUN_ACCESS_KEY_ID / ALIYUN_ACCESS_KEY_SECRET). Every route needs a logged-in caller.
 *
 *   GET  /api/vod/library                      → {videos: [{videoId, title, duration, coverUrl, status, mine}]}
 *                                                 the caller's uploads + the public videos (VOD_PUBLIC_VIDEO_IDS;
 *                                                 the local cloud's samples by default)
 *   POST /api/vod/play-info {videoId, formats?, definition?}  → GetPlayInfo (Aliyun's shape); HLS-encrypted streams
 *                                                 come with a fresh single-use MtsHlsUriToken in their PlayURL
 *   POST /api/vod/play-auth {videoId}          → GetVideoPlayAuth → {PlayAuth, VideoMeta}
 *   POST /api/vod/play-sts                     → AssumeRole with a playback-only policy → {SecurityTokenInfo, Region}
 *   POST /api/vod/hls-token {videoId}          → {MtsHlsUriToken, expiresIn} for an SDK that signs GetPlayInfo itself
 *
 * A user may play / download their own uploads and the public videos; any other video → 403 VideoForbidden.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import RPCClient = require('@alicloud/pop-core');
import { HttpError, parseBody, z } from '../../http';
import { appStore, type AppDeps } from '../deps';
import { VodOwners } from '../vod-owners';
import { isReservedName } from '../../safe-input';
import { loadVodConfig, mapAliyunError, type VodConfig } from './vod';
import { hlsTokenSecret, mintHlsToken, SAMPLE_VIDEO_IDS } from '../../cloud/aliyun-vod/play';

const videoId = z
  .string()
  .regex(/^[0-9A-Za-z]{1,64}$/, 'videoId: letters and digits')
  .refine((v) => !isReservedName(v), { message: 'videoId: not a media id (a reserved name)' });
const defList = z.string().regex(/^(FD|LD|SD|HD|OD|2K|4K|SQ|HQ|AUTO)(,(FD|LD|SD|HD|OD|2K|4K|SQ|HQ|AUTO))*$/, 'definition: a comma list of FD, LD, SD, HD, OD, 2K, 4K, SQ, HQ, AUTO');
const fmtList = z.string().regex(/^(mp4|m3u8|mp3|mpd|flv)(,(mp4|m3u8|mp3|mpd|flv))*$/, 'formats: a comma list of mp4, m3u8, mp3, mpd, flv');

const playInfoItem = z
  .object({
    Bitrate: z.string().optional(),
    CreationTime: z.string().optional(),
    Definition: z.string(),
    Duration: z.string().optional(),
    Encrypt: z.number().optional(),
    EncryptType: z.string().optional(),
    Format: z.string(),
    Fps: z.string().optional(),
    Height: z.number().optional(),
    Width: z.number().optional(),
    JobId: z.string().optional(),
    PlayURL: z.string(),
    Size: z.number().optional(),
    Status: z.string().optional(),
    StreamType: z.string().optional(),
    Specification: z.string().optional(),
  })
  .passthrough();

/** Body and response schemas of every route here (the OpenAPI generator reads them). */
export const vodPlaySchemas = {
  library: {
    response: z.object({
      videos: z.array(z.object({ videoId: z.string(), title: z.string(), duration: z.number(), coverUrl: z.string(), status: z.string(), mine: z.boolean() })),
    }),
  },
  playInfo: {
    body: z.object({ videoId, formats: fmtList.optional(), definition: defList.optional() }).strict(),
    response: z
      .object({
        RequestId: z.string(),
        VideoBase: z.object({ VideoId: z.string(), Title: z.string().optional(), CoverURL: z.string().optional(), Duration: z.string().optional(), Status: z.string().optional() }).passthrough(),
        PlayInfoList: z.object({ PlayInfo: z.array(playInfoItem) }),
      })
      .passthrough(),
  },
  playAuth: {
    body: z.object({ videoId }).strict(),
    response: z.object({ RequestId: z.string().optional(), PlayAuth: z.string(), VideoMeta: z.object({ VideoId: z.string(), Title: z.string().optional(), Duration: z.number().optional(), CoverURL: z.string().optional(), Status: z.string().optional() }).passthrough() }),
  },
  playSts: {
    body: z.object({}).strict(),
    response: z.object({
      RequestId: z.string().optional(),
      Region: z.string(),
      SecurityTokenInfo: z.object({ AccessKeyId: z.string(), AccessKeySecret: z.string(), SecurityToken: z.string(), Expiration: z.string() }),
    }),
  },
  hlsToken: {
    body: z.object({ videoId }).strict(),
    response: z.object({ MtsHlsUriToken: z.string(), expiresIn: z.number() }),
  },
} as const;

/** The policy of STS credentials handed out for playback / download: play actions only. */
export const STS_PLAY_POLICY = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['vod:GetPlayInfo', 'vod:GetVideoPlayAuth'], Resource: '*' }],
});

export default async function vodPlayRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const loaded = loadVodConfig(deps);
  const config = loaded.ok ? loaded.config : undefined;
  const need = (): VodConfig => {
    if (!config) throw new HttpError(503, 'VodNotConfigured', loaded.ok ? 'VOD is not configured.' : loaded.reason);
    return config;
  };
  const publicIds = (deps.env.VOD_PUBLIC_VIDEO_IDS ? deps.env.VOD_PUBLIC_VIDEO_IDS.split(',').map((s) => s.trim()).filter(Boolean) : config?.localCloud ? Object.values(SAMPLE_VIDEO_IDS) : []) as string[];
  const tokenSecret = hlsTokenSecret(deps.env);
  /** Owners as routes/vod.ts records them (server/app/vod-owners.ts, in the AppServer's store). */
  const owners = new VodOwners(appStore(deps), deps.now);
  const allowed = async (vid: string, openid: string) => publicIds.includes(vid) || (await owners.owner(vid)) === openid;
  const check = async (vid: string, openid: string) => {
    if (!(await allowed(vid, openid))) throw new HttpError(403, 'VideoForbidden', `Video ${vid} is neither yours nor a public video.`);
  };
  let vodClient: RPCClient | undefined;
  let stsClient: RPCClient | undefined;
  const vod = () => (vodClient ||= new RPCClient({ accessKeyId: need().accessKeyId, accessKeySecret: need().accessKeySecret, endpoint: need().vodEndpoint, apiVersion: '2017-03-21' }));
  const sts = () => (stsClient ||= new RPCClient({ accessKeyId: need().accessKeyId, accessKeySecret: need().accessKeySecret, endpoint: need().stsEndpoint, apiVersion: '2015-04-01' }));
  const call = async <T>(service: 'VOD' | 'STS', action: string, params: Record<string, unknown>): Promise<T> => {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) if (v !== undefined) clean[k] = v;
    try {
      return await (service === 'VOD' ? vod() : sts()).request<T>(action, clean, { method: 'POST', timeout: 15000 });
    } catch (e) {
      const err = mapAliyunError(service, e);
      // pass the playback errors through with the status VOD gives them
      if (/^Forbidden\.(IllegalStatus|AliyunVoDEncryption)$/.test(err.code)) err.statusCode = 403;
      if (err.code === 'InvalidVideo.NoneStream') err.statusCode = 404;
      throw err;
    }
  };
  const mint = (vid: string) => mintHlsToken(tokenSecret, vid, Math.floor(deps.now() / 1000) + 600);

  app.get('/api/vod/library', { schema: { response: { 200: vodPlaySchemas.library.response } } }, async (req) => {
    need();
    const openid = req.user.openid;
    const own = await owners.mine(openid);
    const ids = [...own, ...publicIds.filter((id) => !own.includes(id))];
    const videos = [];
    for (const id of ids) {
      try {
        const r = await call<{ Video: { VideoId: string; Title?: string; Duration?: number; CoverURL?: string; Status?: string } }>('VOD', 'GetVideoInfo', { VideoId: id });
        videos.push({ videoId: r.Video.VideoId, title: r.Video.Title || '', duration: Number(r.Video.Duration) || 0, coverUrl: r.Video.CoverURL || '', status: r.Video.Status || 'Unknown', mine: own.includes(id) });
      } catch (e) {
        // images share the owners file; a video deleted in VOD is skipped
        if (e instanceof HttpError && e.statusCode === 404) continue;
        throw e;
      }
    }
    return vodPlaySchemas.library.response.parse({ videos });
  });

  app.post('/api/vod/play-info', { schema: { body: vodPlaySchemas.playInfo.body, response: { 200: vodPlaySchemas.playInfo.response } } }, async (req) => {
    need();
    const b = parseBody(vodPlaySchemas.playInfo.body, req.body ?? {});
    await check(b.videoId, req.user.openid);
    const r = await call<Record<string, unknown>>('VOD', 'GetPlayInfo', {
      VideoId: b.videoId,
      Formats: b.formats,
      Definition: b.definition,
      AuthTimeout: 3600,
      OutputType: 'cdn',
      PlayConfig: JSON.stringify({ MtsHlsUriToken: mint(b.videoId) }),
    });
    return vodPlaySchemas.playInfo.response.parse(r);
  });

  app.post('/api/vod/play-auth', { schema: { body: vodPlaySchemas.playAuth.body, response: { 200: vodPlaySchemas.playAuth.response } } }, async (req) => {
    need();
    const b = parseBody(vodPlaySchemas.playAuth.body, req.body ?? {});
    await check(b.videoId, req.user.openid);
    const r = await call<Record<string, unknown>>('VOD', 'GetVideoPlayAuth', { VideoId: b.videoId, AuthInfoTimeout: 3000 });
    return vodPlaySchemas.playAuth.response.parse(r);
  });

  app.post('/api/vod/play-sts', { schema: { body: vodPlaySchemas.playSts.body, response: { 200: vodPlaySchemas.playSts.response } } }, async (req) => {
    const c = need();
    parseBody(vodPlaySchemas.playSts.body, req.body ?? {});
    if (!c.roleArn) throw new HttpError(503, 'StsNotConfigured', 'STS mode needs ALIYUN_STS_ROLE_ARN (a RAM role the AppServer may assume).');
    const session = `mp-play-${createHash('sha256').update(req.user.openid).digest('hex').slice(0, 20)}`;
    const r = await call<{ RequestId: string; Credentials: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration: string } }>('STS', 'AssumeRole', {
      RoleArn: c.roleArn,
      RoleSessionName: session,
      DurationSeconds: c.stsDurationSeconds,
      Policy: STS_PLAY_POLICY,
    });
    const k = r.Credentials;
    return vodPlaySchemas.playSts.response.parse({ RequestId: r.RequestId, Region: c.region, SecurityTokenInfo: { AccessKeyId: k.AccessKeyId, AccessKeySecret: k.AccessKeySecret, SecurityToken: k.SecurityToken, Expiration: k.Expiration } });
  });

  app.post('/api/vod/hls-token', { schema: { body: vodPlaySchemas.hlsToken.body, response: { 200: vodPlaySchemas.hlsToken.response } } }, async (req) => {
    const b = parseBody(vodPlaySchemas.hlsToken.body, req.body ?? {});
    await check(b.videoId, req.user.openid);
    return vodPlaySchemas.hlsToken.response.parse({ MtsHlsUriToken: mint(b.videoId), expiresIn: 600 });
  });
}
