/**
 * /api/polyv/* — play info for encrypted Polyv videos in the mini-program, in one round trip:
 *
 *   POST /api/polyv/play {videoId, refresh?} → {videoId, title, cover, duration, definitions: [{label, url}], token,
 *                                              expiredTime, pid, serverTime}
 *   GET  /api/polyv/samples        → {localCloud, samples: [...]} (the local cloud's sample videos; empty otherwise)
 *
 * The server checks the login, derives viewerId from the openid, takes viewerIp from the caller, reads the video info
 * (cached for a minute in this instance), and creates a Playsafe token with iswxa=1, reused until shortly before it
 * expires by every instance: the token lives in the AppServer's store under "polyv:token:<sha256(video, viewer, ip)>"
 * with a TTL that ends at the reuse margin; the first instance to store one wins (setIfAbsent), the others hand out
 * the stored token and drop their own.
 */
import { createHash, randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { HttpError, parseBody, z } from '../../http';
import { appStore, type AppDeps } from '../deps';
import { parseJson } from '../store';
import { loadPolyvConfig } from '../polyv/config';
import { PolyvApiErrorCode, PolyvClient, PolyvTokenInfo, PolyvVideoInfo } from '../polyv/client';

const INFO_TTL_MS = 60 * 1000;
const MAX_CACHE = 10000;

/** A stable, letters-and-digits viewerId for an openid (Polyv: "由数字字母组成"); the openid itself is not sent. */
export function polyvViewerId(openid: string): string {
  return createHash('sha256').update(`polyv-viewer:${openid}`, 'utf8').digest('hex').slice(0, 32);
}

/** Reuse a cached token while more than this is left (a minute, or a quarter of a short lifetime). */
export function tokenReuseMarginMs(ttlMs: number): number {
  return Math.min(60000, Math.floor(ttlMs / 4));
}

function clientIp(ip: string): string {
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) return ip.slice(7);
  return ip;
}

/** Polyv's play-session id shape (polyv.js): `${Date.now()}X${1000000 + random}`. */
function newPid(now: number): string {
  return `${now}X${randomInt(1000000, 2000000)}`;
}

// ---- Route schemas (server/app/openapi.ts: they validate, check replies and make /api/openapi.json) ----
const polyvPlayReply = z.object({
  videoId: z.string(),
  title: z.string(),
  cover: z.string(),
  duration: z.number().describe('seconds'),
  definitions: z.array(z.object({ label: z.string(), url: z.string().describe('m3u8 without token') })),
  token: z.string().describe('Polyv Playsafe token (iswxa=1)'),
  expiredTime: z.number().describe('token expiry, ms since epoch'),
  pid: z.string().describe('play-session id'),
  serverTime: z.number().describe("the AppServer's clock, ms"),
});
const polyvSamplesReply = z.object({
  localCloud: z.boolean(),
  samples: z
    .array(z.object({ videoId: z.string(), title: z.string(), duration: z.number(), playable: z.boolean(), definitions: z.array(z.string()).describe('e.g. 流畅, 高清'), cover: z.string() }))
    .describe("the local cloud's sample videos (empty against real Polyv)"),
});

export default async function polyvRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const loaded = loadPolyvConfig(deps);
  const notConfigured = () => {
    if (!loaded.ok) throw new HttpError(503, PolyvApiErrorCode.NotConfigured, loaded.reason);
  };
  const config = loaded.ok ? loaded.config : undefined;
  const client = config ? new PolyvClient(config, deps.now) : undefined;

  const store = appStore(deps);
  const infoCache = new Map<string, { info: PolyvVideoInfo; at: number }>();
  const inflight = new Map<string, Promise<unknown>>();

  const once = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const running = inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = fn().finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };

  const prune = () => {
    const now = deps.now();
    if (infoCache.size > MAX_CACHE) for (const [k, v] of infoCache) if (v.at + INFO_TTL_MS < now) infoCache.delete(k);
  };

  const getInfo = (videoId: string): Promise<PolyvVideoInfo> => {
    const hit = infoCache.get(videoId);
    if (hit && hit.at + INFO_TTL_MS > deps.now()) return Promise.resolve(hit.info);
    return once(`info:${videoId}`, async () => {
      const info = await client!.getVideoInfo(videoId);
      infoCache.set(videoId, { info, at: deps.now() });
      prune();
      return info;
    });
  };

  /** A stored token still worth handing out (more than the reuse margin left). */
  const reusable = (t: PolyvTokenInfo | undefined): t is PolyvTokenInfo =>
    !!t && typeof t.token === 'string' && typeof t.expiredTime === 'number' && t.expiredTime - deps.now() > tokenReuseMarginMs(Number(t.ttl) || 0);

  const getToken = async (videoId: string, viewerId: string, viewerIp: string, bypassCache: boolean): Promise<PolyvTokenInfo> => {
    const key = `polyv:token:${createHash('sha256').update(JSON.stringify([videoId, viewerId, viewerIp])).digest('hex')}`;
    if (!bypassCache) {
      const hit = parseJson<PolyvTokenInfo>(await store.get(key));
      if (reusable(hit)) return hit;
    }
    return once(`token:${key}:${bypassCache}`, async () => {
      const t = await client!.createToken({ videoId, viewerId, viewerIp });
      // Kept until the reuse margin before it expires; a token with less left is not stored at all.
      const ttlMs = Math.floor(t.expiredTime - deps.now() - tokenReuseMarginMs(t.ttl));
      if (ttlMs < 1) return t;
      const text = JSON.stringify(t);
      if (bypassCache) {
        await store.set(key, text, { ttlMs });
        return t;
      }
      if (await store.setIfAbsent(key, text, { ttlMs })) return t;
      // Another instance stored one meanwhile: hand out that one, so both answer the same token.
      const theirs = parseJson<PolyvTokenInfo>(await store.get(key));
      return reusable(theirs) ? theirs : t;
    });
  };

  const playBody = z
    .object({
      videoId: z
        .string({ error: 'videoId is required (a Polyv vid such as 1b448be32370f4822ac40fd926112a66_1)' })
        .trim()
        .min(1, 'videoId must not be empty'),
      /** Skip the AppServer's token cache (the SDK sets it after a <video> error). Polyv still reuses a live token. */
      refresh: z.boolean().optional(),
    })
    .strict();

  app.post('/api/polyv/play', { schema: { body: playBody, response: { 200: polyvPlayReply } } }, async (req) => {
    notConfigured();
    const { videoId, refresh } = parseBody(playBody, req.body ?? {});
    if (!/^[0-9A-Za-z]{32}_[0-9A-Za-z]$/.test(videoId)) {
      throw new HttpError(400, PolyvApiErrorCode.InvalidVideoId, `"${videoId.slice(0, 80)}" is not a Polyv vid (32 letters/digits, "_", one more, e.g. 1b448be32370f4822ac40fd926112a66_1).`);
    }
    const info = await getInfo(videoId);
    if (!(info.status === 60 || info.status === 61)) {
      throw new HttpError(409, PolyvApiErrorCode.VideoNotReady, `The video is not published yet (Polyv status ${info.status}); try again when encoding is done.`, { status: info.status });
    }
    if (!info.definitions.length) {
      throw new HttpError(409, PolyvApiErrorCode.NoHls, 'The video has no HLS (m3u8) rendition: encrypted playback in a mini-program needs Polyv encryption (hlsLevel wxa_app).');
    }
    const viewerId = polyvViewerId(req.user.openid);
    const viewerIp = clientIp(req.ip);
    const token = await getToken(videoId, viewerId, viewerIp, !!refresh);
    return {
      videoId,
      title: info.title,
      cover: info.cover,
      duration: info.duration,
      definitions: info.definitions,
      token: token.token,
      expiredTime: token.expiredTime,
      pid: newPid(deps.now()),
      /** The AppServer's clock (ms), so the client can count down expiredTime even when the phone's clock is off. */
      serverTime: deps.now(),
    };
  });

  app.get('/api/polyv/samples', { schema: { response: { 200: polyvSamplesReply } } }, async () => {
    notConfigured();
    if (!config!.localCloud || !config!.cloudUrl) return { localCloud: false, samples: [] };
    let data: { samples?: Array<Record<string, unknown>> };
    try {
      const res = await fetch(`${config!.cloudUrl}/_admin/samples`, { signal: AbortSignal.timeout(5000) });
      data = (await res.json()) as typeof data;
    } catch (e) {
      throw new HttpError(502, PolyvApiErrorCode.Unavailable, `The local cloud's sample list is unreachable: ${(e as Error).message}`);
    }
    const samples = (data.samples || [])
      .filter((s) => s.userId === config!.userId)
      .map((s) => ({ videoId: s.vid, title: s.title, duration: s.duration, playable: s.playable, definitions: s.definitions, cover: s.cover }));
    return { localCloud: true, samples };
  });
}
