/**
 * /api/vod/download-key — the content key of a secure download (docs/download.md, "Secure download").
 *
 *   POST /api/vod/download-key {videoId} → {videoId, keyId, algorithm: 'AES-128-CTR', key (base64, 16 bytes)}
 *
 * The key is DERIVED, not stored: HMAC-SHA256(secret, "mp-media-kit/download-key/<keyId>\n<openid>\n<videoId>"), first
 * 16 bytes. Any AppServer instance with the same secret answers the same key (no state to share), a user gets the
 * same key on every device and after reinstalling, and another user's key for the same video differs.
 * The secret is VOD_DOWNLOAD_KEY_SECRET, else the session-token secret (APP_TOKEN_SECRET): changing it makes every
 * secure download unreadable, so production should set VOD_DOWNLOAD_KEY_SECRET once and keep it.
 *
 * Who may have a key: the same rule as play-info (routes/vod-play.ts): the caller's own uploads and the public videos;
 * any other video → 403 VideoForbidden.
 */
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpError, parseBody, z } from '../../http';
import { appStore, type AppDeps } from '../deps';
import { VodOwners } from '../vod-owners';
import { isReservedName } from '../../safe-input';
import { loadVodConfig } from './vod';
import { SAMPLE_VIDEO_IDS } from '../../cloud/aliyun-vod/play';

export const DOWNLOAD_KEY_ID = 'v1';

const videoId = z
  .string()
  .regex(/^[0-9A-Za-z]{1,64}$/, 'videoId: letters and digits')
  .refine((v) => !isReservedName(v), { message: 'videoId: not a media id (a reserved name)' });

export const vodSecureSchemas = {
  downloadKey: {
    body: z.object({ videoId }).strict(),
    response: z.object({
      videoId: z.string(),
      keyId: z.string().describe('key version; a secure file records it'),
      algorithm: z.literal('AES-128-CTR'),
      key: z.string().describe('base64 of the 16-byte content key of this user and video'),
    }),
  },
} as const;

/** The derivation (exported for tests and for a second service that must answer the same keys). */
export function deriveDownloadKey(secret: string, openid: string, vid: string, keyId = DOWNLOAD_KEY_ID): Buffer {
  return createHmac('sha256', secret).update(`mp-media-kit/download-key/${keyId}\n${openid}\n${vid}`).digest().subarray(0, 16);
}

export default async function vodSecureRoutes(app: FastifyInstance, deps: AppDeps, tokenSecret: string): Promise<void> {
  const secret = deps.env.VOD_DOWNLOAD_KEY_SECRET || tokenSecret;
  if (deps.env.VOD_DOWNLOAD_KEY_SECRET && deps.env.VOD_DOWNLOAD_KEY_SECRET.length < 32) throw new Error('VOD_DOWNLOAD_KEY_SECRET must be at least 32 characters.');
  const loaded = loadVodConfig(deps);
  const localCloud = loaded.ok && loaded.config.localCloud;
  const publicIds = (deps.env.VOD_PUBLIC_VIDEO_IDS ? deps.env.VOD_PUBLIC_VIDEO_IDS.split(',').map((s) => s.trim()).filter(Boolean) : localCloud ? Object.values(SAMPLE_VIDEO_IDS) : []) as string[];
  /** Owners as routes/vod.ts records them (server/app/vod-owners.ts, in the AppServer's store). */
  const owners = new VodOwners(appStore(deps), deps.now);

  app.post('/api/vod/download-key', { schema: { body: vodSecureSchemas.downloadKey.body, response: { 200: vodSecureSchemas.downloadKey.response } } }, async (req, reply) => {
    const b = parseBody(vodSecureSchemas.downloadKey.body, req.body ?? {});
    const openid = req.user.openid;
    if (!publicIds.includes(b.videoId) && (await owners.owner(b.videoId)) !== openid) {
      throw new HttpError(403, 'VideoForbidden', `Video ${b.videoId} is neither yours nor a public video.`);
    }
    reply.header('cache-control', 'no-store');
    return vodSecureSchemas.downloadKey.response.parse({
      videoId: b.videoId,
      keyId: DOWNLOAD_KEY_ID,
      algorithm: 'AES-128-CTR',
      key: deriveDownloadKey(secret, openid, b.videoId).toString('base64'),
    });
  });
}
