/**
 * /api/tencent-vod/* — Tencent Cloud VOD client upload for the mini-program's TencentVodUploader, and the events that
 * tell the AppServer what became of each upload. Server-side calls go through tencentcloud-sdk-nodejs-vod (API 3.0):
 * to the local cloud by default, to Tencent with TENCENT_VOD_SECRET_ID / _SECRET_KEY (server/app/tencent-vod/config.ts).
 *
 *   POST /api/tencent-vod/signature   (login)  {} → {signature, expireTime}
 *        procedure / classId / vodSubAppId / storageRegion from the config; sourceContext + sessionContext = the
 *        user's opaque token; oneTimeValid=1 unless TENCENT_VOD_ONE_TIME=0; validity TENCENT_VOD_SIGNATURE_TTL (600 s).
 *   POST /api/tencent-vod/events      (public, the PUSH receiver; Sign/T checked when TENCENT_VOD_EVENT_SIGN_KEY is set)
 *   GET  /api/tencent-vod/config      (login)  → {localCloud, vodHost?} (the vod2 host the SDK must use with the local cloud)
 *   GET  /api/tencent-vod/videos      (login)  → {videos: [{fileId, name, state, mediaUrl?, coverUrl?, createdAt, updatedAt}]}
 *   GET  /api/tencent-vod/videos/:fileId (owner only) → DescribeMediaInfos: {fileId, name, state, mediaUrl, coverUrl, size, type}
 * A PULL worker (TENCENT_VOD_EVENTS=pull, the default) loops PullEvents → apply → ConfirmEvents. PUSH and PULL share one
 * idempotent handler: NewFileUpload → 'processing' (a task flow runs) or 'ready'; ProcedureStateChanged → 'processing'
 * / 'ready' / 'failed'. SourceContext (upload) and SessionContext (task flow) map back to the user.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { HttpError, parseBody, z } from '../../http';
import { appStore, type AppDeps } from '../deps';
import { loadTencentVodConfig, TencentVodConfig } from '../tencent-vod/config';
import { buildUgcSignature, randomUint32 } from '../tencent-vod/signature';
import { TencentVodStore, VideoState } from '../tencent-vod/store';
import { loadAppConfig } from '../config';

type VodClient = InstanceType<typeof vod.v20180717.Client>;

/** VOD file ids are decimal digits; anything else (`__proto__`, `constructor` …) is refused before any lookup. */
const fileIdText = z.string().regex(/^\d{1,32}$/, 'FileId: digits');

const videoState = z.enum(['uploaded', 'processing', 'ready', 'failed']);
const videoItem = z.object({
  fileId: z.string(),
  name: z.string(),
  state: videoState,
  mediaUrl: z.string().optional(),
  coverUrl: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

/** Request and response schemas of every route (the OpenAPI generator reads these). */
export const tencentVodSchemas = {
  signature: { body: z.object({}).strict(), response: z.object({ signature: z.string(), expireTime: z.number().int() }) },
  events: {
    body: z
      .object({
        EventType: z.string().min(1).max(64),
        FileUploadEvent: z.object({ FileId: fileIdText }).passthrough().optional(),
        ProcedureStateChangeEvent: z.object({ FileId: fileIdText.optional(), TaskId: z.string().optional(), Status: z.string().optional() }).passthrough().optional(),
        Sign: z.string().optional(),
        T: z.union([z.string(), z.number()]).optional(),
      })
      .passthrough(),
    response: z.object({ ok: z.literal(true), applied: z.boolean() }),
  },
  videos: { response: z.object({ videos: z.array(videoItem) }) },
  config: { response: z.object({ localCloud: z.boolean(), vodHost: z.string().optional() }) },
  video: {
    params: z.object({ fileId: z.string().regex(/^\d{1,32}$/, 'fileId: digits') }).strict(),
    response: videoItem.omit({ createdAt: true, updatedAt: true }).extend({ size: z.number().optional(), type: z.string().optional() }),
  },
};

type VodEvent = z.infer<typeof tencentVodSchemas.events.body>;

function mapTencentError(e: unknown): HttpError {
  const err = e as { code?: string; message?: string; requestId?: string };
  if (err.code && err.requestId) {
    const status = /^(InvalidParameter|MissingParameter)/.test(err.code) ? 400 : /^ResourceNotFound/.test(err.code) ? 404 : /^RequestLimitExceeded/.test(err.code) ? 429 : 502;
    return new HttpError(status, err.code, `Tencent VOD: ${err.message || err.code}`, { provider: 'tencent-vod', requestId: err.requestId });
  }
  return new HttpError(502, 'TencentVodUnavailable', `Tencent VOD request failed: ${err.message || 'network error'}`);
}

export default async function tencentVodRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const loaded = loadTencentVodConfig(deps);
  const config = loaded.ok ? loaded.config : undefined;
  const need = (): TencentVodConfig => {
    if (!config) throw new HttpError(503, 'TencentVodNotConfigured', loaded.ok ? 'Tencent VOD is not configured.' : loaded.reason);
    return config;
  };
  const appConfig = loadAppConfig(deps.env, deps.cloud, deps.dataDir);
  const store = new TencentVodStore(appStore(deps), appConfig.tokenSecret);
  await store.importLegacy(path.join(deps.dataDir, 'tencent-vod.json'));
  let client: VodClient | undefined;
  const api = (): VodClient => {
    const c = need();
    return (client ||= new vod.v20180717.Client({ credential: { secretId: c.secretId, secretKey: c.secretKey }, region: '', profile: { httpProfile: { endpoint: c.endpoint(), protocol: c.protocol(), reqTimeout: 15 } } }));
  };
  const sub = () => (config && config.subAppId ? { SubAppId: config.subAppId } : {});

  /** The one event handler PUSH and PULL share. true when it changed something (false: not ours, or applied before). */
  async function applyEvent(ev: VodEvent): Promise<boolean> {
    const now = deps.now();
    if (ev.EventType === 'NewFileUpload' && ev.FileUploadEvent) {
      const f = ev.FileUploadEvent as { FileId: string; ProcedureTaskId?: string; MediaBasicInfo?: { Name?: string; MediaUrl?: string; CoverUrl?: string; SourceInfo?: { SourceContext?: string } } };
      const openid = await store.userFor(f.MediaBasicInfo?.SourceInfo?.SourceContext);
      if (!openid) return false; // not uploaded through this AppServer
      const patch = { name: f.MediaBasicInfo?.Name, mediaUrl: f.MediaBasicInfo?.MediaUrl || undefined, coverUrl: f.MediaBasicInfo?.CoverUrl || undefined, procedureTaskId: f.ProcedureTaskId || undefined, state: (f.ProcedureTaskId ? 'processing' : 'ready') as VideoState };
      return (await store.apply(f.FileId, openid, patch, now, `NewFileUpload:${f.FileId}`)) !== null;
    }
    if (ev.EventType === 'ProcedureStateChanged' && ev.ProcedureStateChangeEvent) {
      const p = ev.ProcedureStateChangeEvent as { FileId?: string; TaskId?: string; Status?: string; ErrCode?: number; SessionContext?: string; FileName?: string; FileUrl?: string };
      if (!p.FileId) return false;
      const known = await store.video(p.FileId);
      const openid = (await store.userFor(p.SessionContext)) || known?.openid;
      if (!openid) return false;
      const state: VideoState = p.Status === 'FINISH' ? (p.ErrCode ? 'failed' : 'ready') : 'processing';
      const patch = { state, name: known?.name || p.FileName, mediaUrl: known?.mediaUrl || p.FileUrl };
      return (await store.apply(p.FileId, openid, patch, now, `ProcedureStateChanged:${p.TaskId}:${p.Status}`)) !== null;
    }
    return false;
  }

  app.post('/api/tencent-vod/signature', { schema: { body: tencentVodSchemas.signature.body, response: { 200: tencentVodSchemas.signature.response } } }, async (req) => {
    const c = need();
    parseBody(tencentVodSchemas.signature.body, req.body ?? {});
    const ctx = await store.contextFor(req.user.openid);
    const now = Math.floor(deps.now() / 1000);
    const expireTime = now + c.signatureTtlSec;
    const { signature } = buildUgcSignature(c.secretKey, {
      secretId: c.secretId,
      currentTimeStamp: now,
      expireTime,
      random: randomUint32(),
      procedure: c.procedure,
      classId: c.classId,
      oneTimeValid: c.oneTimeValid ? 1 : 0,
      sourceContext: ctx,
      sessionContext: c.procedure ? ctx : undefined,
      vodSubAppId: c.subAppId,
      storageRegion: c.storageRegion,
    });
    return tencentVodSchemas.signature.response.parse({ signature, expireTime });
  });

  /** Where the SDK sends vod2 requests: the default vod2.qcloud.com, or the local cloud's listener. */
  app.get('/api/tencent-vod/config', { schema: { response: { 200: tencentVodSchemas.config.response } } }, async () => {
    const c = need();
    return tencentVodSchemas.config.response.parse({ localCloud: c.localCloud, ...(c.localCloud && deps.cloud ? { vodHost: deps.cloud.tvod } : {}) });
  });

  app.post('/api/tencent-vod/events', { schema: { body: tencentVodSchemas.events.body, response: { 200: tencentVodSchemas.events.response } } }, async (req) => {
    const ev = parseBody(tencentVodSchemas.events.body, req.body ?? {});
    const key = config?.eventSignKey;
    if (key) {
      const t = Number(ev.T);
      const expected = createHash('md5').update(`${key}${ev.T ?? ''}`).digest('hex');
      const given = Buffer.from(String(ev.Sign || ''));
      if (!ev.Sign || !Number.isInteger(t) || given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
        throw new HttpError(401, 'InvalidEventSignature', 'The event notification has no valid Sign (MD5(SignKey + T)).');
      }
      if (t < Math.floor(deps.now() / 1000)) throw new HttpError(401, 'EventSignatureExpired', 'The event notification\'s T is in the past (replayed?).');
    }
    return tencentVodSchemas.events.response.parse({ ok: true, applied: await applyEvent(ev) });
  });

  app.get('/api/tencent-vod/videos', { schema: { response: { 200: tencentVodSchemas.videos.response } } }, async (req) => {
    need();
    const videos = (await store.videosOf(req.user.openid)).map(({ openid: _o, procedureTaskId: _p, ...v }) => v);
    return tencentVodSchemas.videos.response.parse({ videos });
  });

  app.get('/api/tencent-vod/videos/:fileId', { schema: { params: tencentVodSchemas.video.params, response: { 200: tencentVodSchemas.video.response } } }, async (req) => {
    need();
    const { fileId } = parseBody(tencentVodSchemas.video.params, req.params, 'path');
    const openid = req.user.openid;
    const rec = await store.video(fileId);
    if (rec && rec.openid !== openid) throw new HttpError(403, 'Forbidden', `File ${fileId} belongs to another user.`);
    let info: Awaited<ReturnType<VodClient['DescribeMediaInfos']>>;
    try {
      info = await api().DescribeMediaInfos({ FileIds: [fileId], ...sub() });
    } catch (e) {
      throw mapTencentError(e);
    }
    const m = (info.MediaInfoSet || [])[0];
    if (!m) throw new HttpError(404, 'VideoNotFound', `No VOD file ${fileId}.`);
    const b = m.BasicInfo || {};
    const owner = await store.userFor(b.SourceInfo?.SourceContext);
    if (!rec) {
      // the event has not arrived yet: the file's SourceContext decides
      if (owner !== openid) throw new HttpError(owner ? 403 : 404, owner ? 'Forbidden' : 'VideoNotFound', owner ? `File ${fileId} belongs to another user.` : `No VOD file ${fileId} was uploaded by this user.`);
      await store.apply(fileId, openid, { name: b.Name, state: 'uploaded' }, deps.now());
    }
    const cur = (await store.video(fileId))!;
    return tencentVodSchemas.video.response.parse({
      fileId,
      name: b.Name || cur.name,
      state: cur.state,
      mediaUrl: b.MediaUrl || undefined,
      coverUrl: b.CoverUrl || undefined,
      size: m.MetaData?.Size,
      type: b.Type || undefined,
    });
  });

  // ---- PULL worker (reliable callbacks)
  if (config && config.events === 'pull') {
    let stopped = false;
    let stop!: () => void;
    const stopSignal = new Promise<void>((r) => (stop = r));
    const pause = (ms: number) => Promise.race([stopSignal, new Promise<void>((r) => setTimeout(r, ms).unref())]);
    const loop = (async () => {
      let failures = 0;
      // wait until the server is listening (the cloud may still be starting)
      while (!stopped) {
        try {
          const pulled = await Promise.race([api().PullEvents({ ...sub() }), stopSignal.then(() => undefined)]);
          if (!pulled || stopped) break;
          const set = pulled.EventSet || [];
          for (const e of set) await applyEvent(e as unknown as VodEvent);
          if (set.length) await api().ConfirmEvents({ EventHandles: set.map((e) => e.EventHandle!), ...sub() });
          failures = 0;
        } catch (e) {
          if (stopped) break;
          if ((e as { code?: string }).code === 'ResourceNotFound.NoEvents') continue;
          failures++;
          if (failures === 1 || failures % 20 === 0) console.warn(`[tencent-vod] PullEvents failed (${failures}): ${(e as Error).message}`);
          await pause(Math.min(30000, 500 * 2 ** Math.min(6, failures - 1)));
        }
      }
    })();
    app.addHook('onClose', async () => {
      stopped = true;
      stop();
      await loop;
    });
  }
}
