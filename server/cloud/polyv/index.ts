/**
 * Polyv (保利威) VOD emulator: the play-token APIs of hls.videocc.net, the video-info APIs of api.polyv.net, and the
 * encrypted HLS delivery (m3u8 → EXT-X-KEY AES-128 key guarded by the token → AES-128-CBC segments), on one listener.
 *
 * - POST /service/v2/token/create-child   (sub-account appId, MD5 sign)      → {code, status, message, data}
 * - POST /service/v1/token                (main-account userId, MD5 sign)   → same envelope
 * - GET|POST /v2/video/:userid/get-video-msg (main account, SHA1 sign)      → {code, status, message, data: [video]}
 * - GET|POST /v3/video/get-video-info     (sub-account, MD5 sign)           → {requestId, code, status, error, data}
 * - GET /:userId/:x/:vid32_:df.m3u8       the playlist; its key URI carries the m3u8's token / iswxa / pid
 * - GET /playsafe/:userId/:x/:vid32_:df.key  16 bytes, or 403 unless token valid for this video and iswxa=1
 * - GET /:userId/:x/:vid32_:df_:n.ts      encrypted segments (public, as on a CDN)
 * - GET /uimage/:userId/:x/:vid32_0_b.jpg the cover
 * - /_admin/samples, /_admin/tokens, /_admin/requests (development and tests)
 * See docs/polyv.md for the exact behaviour, including what is inferred rather than documented by Polyv.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createFastify } from '../../http';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import type { CloudContext, CloudProvider } from '../context';
import { md5SignOf, sameSign, sha1SignOf } from './verify';
import { CloudVideo, DEFINITION_NAMES, DefinitionNo, KeyVault, loadFixture, sampleVideos } from './media';
import { TokenStore } from './tokens';
import { mapOf, nullRecord } from '../../safe-input';

export interface PolyvCloudOptions {
  /** Main accounts: userId → secretKey (default: the dev credentials). */
  users?: Record<string, string>;
  /** Sub-accounts (内容分发 role): appId → {appSecret, userId of the main account}. */
  apps?: Record<string, { appSecret: string; userId: string }>;
}

/** ts of the token APIs: ±10 minutes. ptime / timestamp of the api.polyv.net APIs: 3 minutes. */
const TOKEN_TS_WINDOW_MS = 10 * 60 * 1000;
const API_TS_WINDOW_MS = 3 * 60 * 1000;
const MAX_EXPIRES_SEC = 24 * 3600;
const DEFAULT_EXPIRES_SEC = 600;

type Params = Record<string, string>;

interface LoggedRequest {
  at: number;
  method: string;
  url: string;
  contentType?: string;
  body?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    polyvRawBody?: string;
  }
}

class ParamError extends Error {
  constructor(public field: string) {
    super(`${field} is given more than once`);
  }
}

/** Parameters in a null-prototype record: `constructor` or `__proto__` are names like any other, never inherited. */
function toParams(src: unknown): Params {
  const out: Params = nullRecord();
  if (!src || typeof src !== 'object') return out;
  for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
    if (Array.isArray(v)) throw new ParamError(k);
    if (v !== undefined && v !== null) out[k] = String(v);
  }
  return out;
}

function fmtDuration(sec: number): string {
  const s = Math.round(sec);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

function fmtTime(ms: number): string {
  // Polyv prints Beijing time, "yyyy-MM-dd HH:mm:ss".
  const d = new Date(ms + 8 * 3600000);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function polyvProvider(options: PolyvCloudOptions = {}): CloudProvider {
  // Secrets by client-supplied id: Maps, so `userId=constructor` finds no account (and no `String(Object)` secret).
  const users = mapOf<string>(options.users || { [DEV_CREDENTIALS.polyv.userId]: DEV_CREDENTIALS.polyv.secretKey });
  const apps = mapOf(options.apps || { [DEV_CREDENTIALS.polyv.appId]: { appSecret: DEV_CREDENTIALS.polyv.appSecret, userId: DEV_CREDENTIALS.polyv.userId } });
  return {
    name: 'polyv',
    async build(ctx: CloudContext) {
      const app = createFastify({
        name: 'polyv',
        frameworkErrors: (err, _req, reply) => {
          reply.status(400).send({ code: 400, status: 'error', message: err.code === 'FST_ERR_BAD_URL' ? 'the request path is not valid percent-encoding' : err.message, data: '' });
        },
      });
      // Polyv's envelope for whatever fastify itself rejects (bodies over the limit, a 5xx): never a bare fastify JSON.
      app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
        const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
        if (status >= 500) console.error('[cloud:polyv] internal error', err);
        reply.status(status).send({ code: status, status: 'error', message: status >= 500 ? 'system error' : err.message, data: '' });
      });
      const vault = new KeyVault(ctx.dataDir);
      const tokens = new TokenStore();
      const videos = new Map<string, CloudVideo>();
      for (const userId of users.keys()) for (const v of sampleVideos(userId, ctx.now())) videos.set(v.vid, v);
      const byVid32 = (vid32: string) => [...videos.values()].find((v) => v.vid32 === vid32);
      const requestLog: LoggedRequest[] = [];
      const base = () => ctx.urls.polyv;

      app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
        (req as FastifyRequest).polyvRawBody = body as string;
        const out: Record<string, string | string[]> = nullRecord();
        for (const [k, v] of new URLSearchParams(body as string)) {
          const prev = out[k];
          out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        done(null, out);
      });
      const logEntries = new WeakMap<FastifyRequest, LoggedRequest>();
      app.addHook('onRequest', async (req) => {
        if (!/^\/(service|v2|v3)\//.test(req.url)) return;
        const entry: LoggedRequest = { at: ctx.now(), method: req.method, url: req.url, contentType: req.headers['content-type'] };
        logEntries.set(req, entry);
        requestLog.push(entry);
        if (requestLog.length > 500) requestLog.shift();
      });
      app.addHook('preHandler', async (req) => {
        const entry = logEntries.get(req);
        if (entry && req.polyvRawBody !== undefined) entry.body = req.polyvRawBody;
      });

      const videoJson = (v: CloudVideo) => {
        const hls = v.definitions.map((d) => `${base()}/${v.userId}/${v.suffix}/${v.vid32}_${d.df}.m3u8`);
        const cover = `${base()}/uimage/${v.userId}/${v.suffix}/${v.vid32}_0_b.jpg`;
        return { hls, cover };
      };

      // ---------------------------------------------------------------- play-token APIs (hls.videocc.net)
      const tokenFail = (reply: FastifyReply, code: number, message: string, data: string) =>
        reply.status(code).send({ code, status: 'error', message, data });

      const createToken = (kind: 'v1' | 'v2') => async (req: FastifyRequest, reply: FastifyReply) => {
        const ct = String(req.headers['content-type'] || '');
        if (!ct.startsWith('application/x-www-form-urlencoded')) {
          return tokenFail(reply, 400, 'content_type_invalid', 'Send the parameters as application/x-www-form-urlencoded.');
        }
        let p: Params;
        try {
          p = toParams(req.body);
        } catch (e) {
          return tokenFail(reply, 400, 'param_duplicate', `${(e as ParamError).field} parameter is given more than once.`);
        }
        const now = ctx.now();
        if (!p.sign) return tokenFail(reply, 403, 'sign_not_found', 'sign parameter not found.');
        const idField = kind === 'v2' ? 'appId' : 'userId';
        for (const f of [idField, 'ts', 'videoId', 'viewerId']) {
          if (!p[f] || !p[f].trim()) return tokenFail(reply, 400, `${f}_not_found`, `${f} parameter not found.`);
        }
        if (!/^\d{13}$/.test(p.ts)) return tokenFail(reply, 400, 'ts_invalid', 'ts must be a 13-digit millisecond timestamp.');
        if (Math.abs(now - Number(p.ts)) > TOKEN_TS_WINDOW_MS) {
          return tokenFail(reply, 403, 'ts_expired', 'ts is out of date: it must be within 10 minutes of the server time.');
        }
        let userId: string;
        let secret: string;
        let appId: string | undefined;
        if (kind === 'v2') {
          const a = apps.get(p.appId);
          if (!a) return tokenFail(reply, 400, 'app_not_found', 'appId not found.');
          userId = a.userId;
          secret = a.appSecret;
          appId = p.appId;
        } else {
          const userSecret = users.get(p.userId);
          if (userSecret === undefined) return tokenFail(reply, 400, 'user_not_found', 'user secretKey not found.');
          userId = p.userId;
          secret = userSecret;
        }
        if (!sameSign(p.sign, md5SignOf(p, secret))) return tokenFail(reply, 403, 'invalid_signature', 'invalid signature.');

        if (!/^[A-Za-z0-9_-]{1,64}$/.test(p.viewerId)) {
          return tokenFail(reply, 400, 'viewerId_invalid', 'viewerId must be 1-64 letters and digits.');
        }
        let expiresSec = DEFAULT_EXPIRES_SEC;
        if (p.expires !== undefined && p.expires !== '') {
          if (!/^\d{1,6}$/.test(p.expires) || Number(p.expires) < 1 || Number(p.expires) > MAX_EXPIRES_SEC) {
            return tokenFail(reply, 400, 'expires_invalid', `expires must be 1-${MAX_EXPIRES_SEC} seconds.`);
          }
          expiresSec = Number(p.expires);
        }
        if (p.disposable !== undefined && p.disposable !== '' && p.disposable !== 'true' && p.disposable !== 'false') {
          return tokenFail(reply, 400, 'disposable_invalid', 'disposable must be true or false.');
        }
        if (p.iswxa !== undefined && p.iswxa !== '' && p.iswxa !== '0' && p.iswxa !== '1') {
          return tokenFail(reply, 400, 'iswxa_invalid', 'iswxa must be 0 or 1.');
        }
        // "如果为空，会自动获取调用该接口时的IP": an empty viewerIp means the caller's address.
        const viewerIp = p.viewerIp ? p.viewerIp : normalizeIp(req.ip);
        if (!isIP(viewerIp)) return tokenFail(reply, 400, 'viewerIp_invalid', 'viewerIp is not an IP address.');
        const video = videos.get(p.videoId);
        if (!video || video.status === -1) return tokenFail(reply, 400, 'video_not_found', 'video not found.');
        if (video.userId !== userId) return tokenFail(reply, 403, 'access_forbidden', 'access forbidden');

        const rec = tokens.issue(
          {
            userId,
            appId,
            videoId: p.videoId,
            viewerId: p.viewerId,
            viewerIp,
            viewerName: p.viewerName || '',
            extraParams: p.extraParams || '',
            iswxa: p.iswxa === '1' ? 1 : 0,
            disposable: p.disposable === 'true',
            expiresSec,
          },
          now,
        );
        ctx.log(`token ${kind} ${rec.token.slice(0, 8)}… for ${rec.videoId} viewer ${rec.viewerId}@${rec.viewerIp} (issued ${rec.issued}×)`);
        return {
          code: 200,
          status: 'success',
          message: '',
          data: {
            token: rec.token,
            userId: rec.userId,
            ...(rec.appId ? { appId: rec.appId } : {}),
            videoId: rec.videoId,
            viewerIp: rec.viewerIp,
            viewerId: rec.viewerId,
            viewerName: rec.viewerName,
            extraParams: rec.extraParams,
            ttl: rec.ttl,
            createdTime: rec.createdTime,
            expiredTime: rec.expiredTime,
            iswxa: rec.iswxa,
            disposable: rec.disposable,
          },
        };
      };
      app.post('/service/v2/token/create-child', createToken('v2'));
      app.post('/service/v1/token', createToken('v1'));

      // ---------------------------------------------------------------- video info, main account (SHA1)
      const v2Fail = (reply: FastifyReply, code: number, message: string) => reply.status(code).send({ code, status: 'error', message, data: '' });
      const getVideoMsg = async (req: FastifyRequest<{ Params: { userid: string } }>, reply: FastifyReply) => {
        let p: Params;
        try {
          p = { ...toParams(req.query), ...toParams(req.method === 'POST' ? req.body : undefined) };
        } catch (e) {
          return v2Fail(reply, 400, `${(e as ParamError).field} is given more than once.`);
        }
        const secret = users.get(req.params.userid);
        if (!p.sign) return v2Fail(reply, 400, 'sign can not be empty.');
        if (!p.ptime || !/^\d{13}$/.test(p.ptime)) return v2Fail(reply, 400, 'ptime is illegal.');
        const now = ctx.now();
        if (Number(p.ptime) < now - API_TS_WINDOW_MS) return v2Fail(reply, 400, 'ptime is too old.');
        if (Number(p.ptime) > now + API_TS_WINDOW_MS) return v2Fail(reply, 400, 'ptime is illegal.');
        if (!secret) return v2Fail(reply, 400, 'Could not find user by userid.');
        if (!sameSign(p.sign, sha1SignOf(p, secret))) return v2Fail(reply, 400, 'the sign is not right.');
        if (!p.vid || !p.vid.trim()) return v2Fail(reply, 401, 'vid is blank.');
        const v = videos.get(p.vid);
        if (!v || v.userId !== req.params.userid || v.status === -1) return v2Fail(reply, 402, 'cannot find the video.');
        const { hls, cover } = videoJson(v);
        const byDf = (df: DefinitionNo) => {
          const i = v.definitions.findIndex((d) => d.df === df);
          return i < 0 ? '' : hls[i];
        };
        return {
          code: 200,
          status: 'success',
          message: 'success',
          data: [
            {
              vid: v.vid,
              title: v.title,
              context: v.description,
              tag: '',
              duration: fmtDuration(v.duration),
              first_image: cover,
              images: [cover],
              images_b: [cover],
              playerwidth: Math.max(...v.definitions.map((d) => d.rendition.width)),
              playerheight: Math.max(...v.definitions.map((d) => d.rendition.height)),
              original_definition: `${v.definitions[v.definitions.length - 1].rendition.width}x${v.definitions[v.definitions.length - 1].rendition.height}`,
              ptime: fmtTime(v.createdAt),
              df: v.definitions.length,
              seed: 1,
              status: v.status,
              hlsLevel: v.hlsLevel,
              keepsource: 0,
              hls,
              hls_1: byDf(1),
              hls_2: byDf(2),
              hls_3: byDf(3),
              mp4: '',
              filesize: v.definitions.map((d) => d.rendition.size),
              times: 0,
              cataid: '1',
              cataname: '默认分类',
              uploader: { email: '', name: 'local cloud', role: '主账号' },
            },
          ],
        };
      };
      app.get('/v2/video/:userid/get-video-msg', getVideoMsg);
      app.post('/v2/video/:userid/get-video-msg', getVideoMsg);

      // ---------------------------------------------------------------- video info, sub-account (MD5, v3 envelope)
      const v3Fail = (reply: FastifyReply, http: number, code: number, desc: string) =>
        reply.status(http).send({ requestId: randomUUID(), code: http, status: 'error', error: { code, desc }, data: null });
      const getVideoInfo = async (req: FastifyRequest, reply: FastifyReply) => {
        let p: Params;
        try {
          p = { ...toParams(req.query), ...toParams(req.method === 'POST' ? req.body : undefined) };
        } catch (e) {
          return v3Fail(reply, 400, 400, `param is given more than once: ${(e as ParamError).field}`);
        }
        for (const f of ['appId', 'timestamp', 'sign', 'vids']) {
          if (!p[f] || !p[f].trim()) return v3Fail(reply, 400, 400, `param should not be empty: ${f}`);
        }
        const now = ctx.now();
        if (!/^\d{13}$/.test(p.timestamp) || Math.abs(now - Number(p.timestamp)) > API_TS_WINDOW_MS) return v3Fail(reply, 400, 100, 'invalid timestamp');
        const a = apps.get(p.appId);
        if (!a) return v3Fail(reply, 400, 101, 'application not exist');
        if (!users.has(a.userId)) return v3Fail(reply, 400, 102, 'user children not exist');
        if (!sameSign(p.sign, md5SignOf(p, a.appSecret))) return v3Fail(reply, 403, 104, 'invalid signature');
        const filter = new Set((p.filter || 'basicInfo').split(',').map((s) => s.trim()).filter(Boolean));
        const known = ['basicInfo', 'metaData', 'transcodeInfo', 'snapshotInfo'];
        for (const f of filter) if (!known.includes(f)) return v3Fail(reply, 400, 400, `param validate error: filter ${f}`);
        const vids = p.vids.split(',').map((s) => s.trim()).filter(Boolean);
        if (vids.length > 100) return v3Fail(reply, 400, 400, 'param validate error: at most 100 vids');
        const data = vids
          .map((vid) => videos.get(vid))
          .filter((v): v is CloudVideo => !!v && v.userId === a.userId && v.status !== -1)
          .map((v) => {
            const { hls, cover } = videoJson(v);
            const top = v.definitions[v.definitions.length - 1].rendition;
            const item: Record<string, unknown> = { vid: v.vid };
            if (filter.has('basicInfo')) {
              item.basicInfo = {
                title: v.title,
                description: v.description,
                duration: v.duration,
                coverURL: cover,
                miniCoverURL: cover,
                largeCoverURL: cover,
                creationTime: fmtTime(v.createdAt),
                updateTime: fmtTime(v.createdAt),
                size: top.size,
                status: v.status,
                cateId: 1,
                cateName: '默认分类',
                tags: '',
                uploader: 'local cloud',
              };
            }
            if (filter.has('metaData')) {
              item.metaData = { size: top.size, format: 'mpegts', duration: v.duration, bitrate: top.bitrate, fps: 25, height: top.height, width: top.width, codec: 'h264' };
            }
            if (filter.has('transcodeInfo')) {
              item.transcodeInfos = v.definitions.map((d, i) => ({
                playUrl: hls[i],
                definition: DEFINITION_NAMES[d.df],
                bitrate: Math.round(d.rendition.bitrate / 1000),
                duration: d.rendition.duration,
                encrypt: true,
                format: 'm3u8',
                fps: 25,
                height: d.rendition.height,
                width: d.rendition.width,
                status: v.status === 60 || v.status === 61 ? 'normal' : 'processing',
              }));
            }
            if (filter.has('snapshotInfo')) item.snapshotInfo = { imageUrl: [cover] };
            return item;
          });
        return { requestId: randomUUID(), code: 200, status: 'success', error: null, data };
      };
      app.get('/v3/video/get-video-info', getVideoInfo);
      app.post('/v3/video/get-video-info', getVideoInfo);

      // ---------------------------------------------------------------- HLS delivery
      const findRendition = (userId: string, x: string, vid32: string, df: string) => {
        const v = byVid32(vid32);
        if (!v || v.userId !== userId || v.suffix !== x) return undefined;
        const d = v.definitions.find((e) => String(e.df) === df);
        return d ? { video: v, def: d } : undefined;
      };
      const notFound = (reply: FastifyReply) => reply.status(404).type('text/plain').send('Not Found');

      app.get('/:userId/:x/:file', async (req, reply) => {
        const { userId, x, file } = req.params as { userId: string; x: string; file: string };
        const q = toParamsSafe(req.query);
        let m = /^([0-9A-Za-z]{32})_([123])\.m3u8$/.exec(file);
        if (m) {
          const found = findRendition(userId, x, m[1], m[2]);
          if (!found || !(found.video.status === 60 || found.video.status === 61)) return notFound(reply);
          const { video, def } = found;
          // The key URI carries what the player put on the m3u8 URL: token, iswxa, pid (Polyv checks them on the key).
          const keyQs = new URLSearchParams();
          for (const k of ['token', 'iswxa', 'pid']) if (q[k] !== undefined) keyQs.set(k, q[k]);
          const keyUri = `${base()}/playsafe/${userId}/${x}/${video.vid32}_${def.df}.key${keyQs.toString() ? `?${keyQs}` : ''}`;
          const segs = def.rendition.segments;
          const lines = [
            '#EXTM3U',
            '#EXT-X-VERSION:3',
            `#EXT-X-TARGETDURATION:${Math.ceil(Math.max(...segs.map((s) => s.duration)))}`,
            '#EXT-X-MEDIA-SEQUENCE:0',
            '#EXT-X-PLAYLIST-TYPE:VOD',
          ];
          segs.forEach((s, i) => {
            lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${keyUri}",IV=0x${vault.iv(video.vid, def.df, i).toString('hex')}`);
            lines.push(`#EXTINF:${s.duration.toFixed(6)},`);
            lines.push(`${base()}/${userId}/${x}/${video.vid32}_${def.df}_${i}.ts`);
          });
          lines.push('#EXT-X-ENDLIST', '');
          return reply.type('application/vnd.apple.mpegurl').header('cache-control', 'no-cache').send(lines.join('\n'));
        }
        m = /^([0-9A-Za-z]{32})_([123])_(\d+)\.ts$/.exec(file);
        if (m) {
          const found = findRendition(userId, x, m[1], m[2]);
          const data = found && vault.segment(found.video, found.def.df, Number(m[3]));
          if (!data) return notFound(reply);
          return reply.type('video/mp2t').header('cache-control', 'public, max-age=86400').send(data);
        }
        return notFound(reply);
      });

      app.get('/playsafe/:userId/:x/:file', async (req, reply) => {
        const { userId, x, file } = req.params as { userId: string; x: string; file: string };
        const m = /^([0-9A-Za-z]{32})_([123])\.key$/.exec(file);
        const found = m && findRendition(userId, x, m[1], m[2]);
        if (!found) return notFound(reply);
        const q = toParamsSafe(req.query);
        const check = tokens.checkForKey(q.token, q.iswxa, found.video.vid, ctx.now());
        if (!check.ok) {
          ctx.log(`key 403 for ${found.video.vid}: ${check.reason}`);
          // "非法访问key，则会响应403错误状态": plain 403, no hint in the body (the reason goes to a header for developers).
          return reply.status(403).header('x-polyv-reason', check.reason).type('text/plain').send('Forbidden');
        }
        return reply.type('application/octet-stream').header('cache-control', 'no-store').send(vault.key(found.video.vid, found.def.df));
      });

      app.get('/uimage/:userId/:x/:file', async (req, reply) => {
        const { userId, x, file } = req.params as { userId: string; x: string; file: string };
        const m = /^([0-9A-Za-z]{32})_0_b\.jpg$/.exec(file);
        const v = m && byVid32(m[1]);
        if (!v || v.userId !== userId || v.suffix !== x) return notFound(reply);
        return reply.type('image/jpeg').header('cache-control', 'public, max-age=86400').send(loadFixture().cover);
      });

      // ---------------------------------------------------------------- development / test helpers
      app.get('/_admin/samples', async () => ({
        samples: [...videos.values()].map((v) => ({
          vid: v.vid,
          userId: v.userId,
          title: v.title,
          description: v.description,
          duration: v.duration,
          status: v.status,
          playable: v.status === 60 || v.status === 61,
          definitions: v.definitions.map((d) => DEFINITION_NAMES[d.df]),
          cover: videoJson(v).cover,
        })),
      }));
      app.get('/_admin/tokens', async () => ({ tokens: tokens.list() }));
      app.get('/_admin/requests', async () => ({ requests: requestLog }));
      return app;
    },
  };
}

function toParamsSafe(src: unknown): Params {
  try {
    return toParams(src);
  } catch {
    return {};
  }
}
