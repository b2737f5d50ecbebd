/**
 * The local cloud's web console (development only): what the mini-program did, without reading JSON.
 *
 *   GET  /console                      the page (preact + htm + hls.js, bundled by esbuild on first request; no CDN)
 *   GET  /console/api/library          Aliyun VOD videos (title, status, size, definitions), Tencent VOD files and
 *                                      their events, Polyv samples and the play tokens issued (valid / used / expired)
 *   POST /console/api/vod/:videoId/play  GetPlayInfo (the real API, signed with the dev key) → PlayURLs to play
 *   GET  /console/api/iot              IoT devices with their event timeline (thumbnail URLs as the cloud signs them)
 *   POST /console/api/iot/:deviceName/event  the device raises an event now
 *   GET  /console/api/requests?since=  the last requests every provider received (status, code, fault, string to sign)
 *   GET|POST|DELETE /console/api/faults  fault switches (OSS reset / slow / 500 on the next N requests, CDN faults)
 *   POST /console/api/expire           expire the Aliyun temporary credentials and revoke the PlayURLs issued so far
 *   GET  /console/proxy?url=           same-origin relay for hls.js (the local CDN, like the real one, sends no CORS
 *                                      headers unless configured); only the local cloud's own URLs
 *
 * It reads the providers through their /_admin APIs (on this machine's addresses) and the shared play catalog; it owns
 * no state. Loopback only, like the cloud's dev endpoints (the AppServer's session check skips routes marked
 * `config.devConsole`; this plugin answers every other caller 403).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import RPCClient = require('@alicloud/pop-core');
import type { RunningCloud } from '../cloud';
import { isLoopback } from '../cloud';
import { getPlayCatalog, hlsTokenSecret, mintHlsToken } from '../cloud/aliyun-vod/play';
import { DEV_CREDENTIALS } from '../dev-credentials';
import { DEV_CONSOLE_ROUTE } from './route';

export { DEV_CONSOLE_ROUTE, isDevConsoleRoute } from './route';

export interface ConsoleOptions {
  cloud: RunningCloud;
  /** The cloud's data dir (the play catalog is keyed by it). */
  cloudDataDir: string;
  env?: NodeJS.ProcessEnv;
}

const WEB_DIR = path.join(__dirname, 'web');

class ConsoleError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
  }
}

let bundle: Promise<string> | undefined;
/** The front end, bundled once per process (esbuild, a dev dependency: the console exists only in development). */
function frontEnd(): Promise<string> {
  bundle ||= import('esbuild')
    .then((esbuild) =>
      esbuild.build({
        entryPoints: [path.join(WEB_DIR, 'main.ts')],
        bundle: true,
        write: false,
        format: 'iife',
        target: 'es2020',
        minify: true,
        legalComments: 'none',
        logLevel: 'silent',
      }),
    )
    .then((r) => r.outputFiles[0].text);
  bundle.catch(() => (bundle = undefined));
  return bundle;
}

type Json = Record<string, any>;

export default async function consolePlugin(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const { cloud } = opts;
  const env = opts.env || process.env;
  const local = cloud.localUrls;
  const catalog = () => getPlayCatalog({ rootDataDir: opts.cloudDataDir });
  const tokenSecret = hlsTokenSecret(env);
  const vod = new RPCClient({ accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId, accessKeySecret: DEV_CREDENTIALS.aliyun.accessKeySecret, endpoint: local.vod, apiVersion: '2017-03-21' });

  app.addHook('onRequest', async (req, reply) => {
    if (!isLoopback(req.socket.remoteAddress)) {
      return reply.status(403).send({ error: { code: 'DevEndpointLoopbackOnly', message: `${req.routeOptions.url || '/console'} answers only callers on this machine.` } });
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const status = err instanceof ConsoleError ? err.statusCode : err.statusCode && err.statusCode < 500 ? err.statusCode : 502;
    reply.status(status).send({ error: { code: err instanceof ConsoleError ? err.code : err.code || 'ConsoleError', message: err.message } });
  });

  const admin = async (provider: keyof typeof local, p: string, method = 'GET', body?: unknown): Promise<Json> => {
    const base = local[provider];
    if (!base) throw new ConsoleError(503, 'ProviderOff', `The local ${provider} is not running.`);
    const res = await fetch(`${base}${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let j: Json = {};
    try {
      j = text ? (JSON.parse(text) as Json) : {};
    } catch {
      j = { text };
    }
    if (!res.ok) throw new ConsoleError(res.status, j.error?.code || 'AdminError', j.error?.message || `${provider} ${method} ${p}: ${res.status}`);
    return j;
  };
  const route = { config: DEV_CONSOLE_ROUTE as FastifyContextConfig, schema: { hide: true } };

  // ---- the page
  const page = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');
  app.get('/console', route, async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page));
  app.get('/console/', route, async (_req, reply) => reply.redirect('/console'));
  app.get('/console/app.js', route, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-store').send(await frontEnd()));
  app.get('/console/app.css', route, async (_req, reply) => reply.type('text/css; charset=utf-8').send(readFileSync(path.join(WEB_DIR, 'app.css'))));

  // ---- media library
  app.get('/console/api/library', route, async () => {
    const now = Date.now();
    const [media, tvodMedia, tvodEvents, polyvSamples, polyvTokens] = await Promise.all([
      admin('vod', '/_admin/media'),
      admin('tvod', '/_admin/media'),
      admin('tvod', '/_admin/events'),
      admin('polyv', '/_admin/samples'),
      admin('polyv', '/_admin/tokens'),
    ]);
    const cat = catalog();
    const streamsOf = (vid: string) => (cat.samples.get(vid)?.streams || cat.uploads[vid] || []).map((s) => ({ definition: s.definition, format: s.format, size: s.size, width: s.width, height: s.height, encrypt: s.encryptType || null }));
    const uploads = (media.videos as Json[]).map((v) => ({ videoId: v.VideoId, title: v.Title, status: v.Status, size: v.Size ?? null, fileName: v.FileName, created: v.CreationTime, sample: false, streams: streamsOf(v.VideoId) }));
    const samples = [...cat.samples.values()].map((v) => ({ videoId: v.VideoId, title: v.Title, status: v.Status, size: null, fileName: '', created: v.CreationTime, sample: true, streams: streamsOf(v.VideoId) }));
    uploads.sort((a, b) => String(b.created).localeCompare(String(a.created)));
    const tokenState = (t: Json) => (t.expiredTime <= now ? 'expired' : t.disposable && t.uses > 0 ? 'used' : 'valid');
    return {
      aliyun: { videos: [...uploads, ...samples], images: media.images },
      tencent: { media: tvodMedia.media, events: { mode: tvodEvents.config?.Mode, history: [...(tvodEvents.history || [])].reverse(), pushes: tvodEvents.pushes } },
      polyv: {
        samples: polyvSamples.samples,
        tokens: (polyvTokens.tokens as Json[]).map((t) => ({ token: t.token, videoId: t.videoId, viewerId: t.viewerId, disposable: t.disposable, uses: t.uses, issued: t.issued, created: new Date(t.createdTime).toISOString(), expires: new Date(t.expiredTime).toISOString(), state: tokenState(t) })),
      },
    };
  });

  app.post('/console/api/vod/:videoId/play', route, async (req: FastifyRequest) => {
    const { videoId } = req.params as { videoId: string };
    try {
      const r = await vod.request<Json>('GetPlayInfo', { VideoId: videoId, AuthTimeout: 3600, OutputType: 'cdn', PlayConfig: JSON.stringify({ MtsHlsUriToken: mintHlsToken(tokenSecret, videoId, Math.floor(Date.now() / 1000) + 600) }) }, { method: 'POST', timeout: 15000 });
      return { title: r.VideoBase?.Title, streams: (r.PlayInfoList?.PlayInfo || []).map((p: Json) => ({ definition: p.Definition, format: p.Format, url: p.PlayURL, size: p.Size, encrypt: p.EncryptType || null })) };
    } catch (e) {
      const err = e as Error & { code?: string; data?: { Code?: string; Message?: string } };
      throw new ConsoleError(409, err.data?.Code || err.code || 'GetPlayInfoFailed', err.data?.Message || err.message);
    }
  });

  /** hls.js loads playlists, keys and segments through here; only the local cloud's own URLs are relayed. */
  app.get('/console/proxy', route, async (req, reply: FastifyReply) => {
    const url = String((req.query as { url?: string }).url || '');
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new ConsoleError(400, 'InvalidParameter', 'url must be an absolute URL of the local cloud.');
    }
    const origins = new Map(Object.entries(cloud.urls).map(([k, v]) => [new URL(v).origin, local[k as keyof typeof local]]));
    const localBase = origins.get(target.origin);
    if (!localBase) throw new ConsoleError(403, 'NotLocalCloud', `${target.origin} is not a provider of the local cloud.`);
    const res = await fetch(`${localBase}${target.pathname}${target.search}`, { headers: req.headers.range ? { range: String(req.headers.range) } : {} });
    reply.status(res.status);
    for (const h of ['content-type', 'content-length', 'content-range', 'accept-ranges']) {
      const v = res.headers.get(h);
      if (v) reply.header(h, v);
    }
    const body = Buffer.from(await res.arrayBuffer());
    // A playlist's URIs (segments, keys, variants) are rewritten to come through here too, resolved against its URL.
    if (res.ok && /mpegurl/i.test(res.headers.get('content-type') || '')) {
      const via = (u: string) => `/console/proxy?url=${encodeURIComponent(new URL(u, target).href)}`;
      const text = body
        .toString('utf8')
        .split('\n')
        .map((line) => (line.startsWith('#') ? line.replace(/URI="([^"]+)"/g, (_m, u: string) => `URI="${via(u)}"`) : line.trim() ? via(line.trim()) : line))
        .join('\n');
      reply.removeHeader('content-length');
      return reply.send(text);
    }
    return reply.send(body);
  });

  // ---- IoT
  app.get('/console/api/iot', route, async () => {
    const { devices } = await admin('iot', '/_admin/devices');
    const out = [];
    for (const d of devices as Json[]) {
      const ev = await admin('iot', `/_admin/devices/${encodeURIComponent(d.deviceName)}/events`);
      out.push({ ...d, events: (ev.data?.list || []).slice(0, 50) });
    }
    return { devices: out };
  });
  app.post('/console/api/iot/:deviceName/event', route, async (req) => {
    const { deviceName } = req.params as { deviceName: string };
    const b = (req.body || {}) as { alarmType?: number };
    return admin('iot', `/_admin/devices/${encodeURIComponent(deviceName)}/events`, 'POST', b.alarmType ? { alarmType: b.alarmType } : {});
  });

  // ---- request log
  app.get('/console/api/requests', route, async (req) => {
    const since = Number((req.query as { since?: string }).since) || 0;
    return { requests: cloud.requestLog.list(since) };
  });
  app.delete('/console/api/requests', route, async () => {
    cloud.requestLog.clear();
    return { ok: true };
  });

  // ---- fault switches
  app.get('/console/api/faults', route, async () => {
    const [oss, cdn, creds] = await Promise.all([admin('oss', '/_admin/faults'), admin('cdn', '/_admin/faults'), admin('oss', '/_admin/credentials')]);
    return { oss: oss.faults, cdn: cdn.faults, credentials: creds.credentials };
  });
  app.post('/console/api/faults', route, async (req) => {
    const b = (req.body || {}) as { kind?: string; times?: number; op?: string; ms?: number; status?: number };
    const times = Number.isInteger(b.times) && (b.times as number) >= 1 && (b.times as number) <= 1000 ? (b.times as number) : 1;
    const op = b.op || '*';
    if (b.kind === 'reset') return admin('oss', '/_admin/faults', 'POST', { op, times, action: { type: 'reset' } });
    if (b.kind === 'slow') return admin('oss', '/_admin/faults', 'POST', { op: b.op || 'UploadPart', times, action: { type: 'delay', ms: Number.isInteger(b.ms) ? b.ms : 3000 } });
    if (b.kind === 'error') return admin('oss', '/_admin/faults', 'POST', { op, times, action: { type: 'status', status: Number.isInteger(b.status) ? b.status : 500 } });
    if (b.kind === 'cdn-drop') return admin('cdn', '/_admin/faults', 'POST', { type: 'dropAfter', bytes: 64 * 1024, times });
    throw new ConsoleError(400, 'InvalidParameter', 'kind must be reset, slow, error or cdn-drop.');
  });
  app.delete('/console/api/faults', route, async () => {
    await Promise.all([admin('oss', '/_admin/faults', 'DELETE'), admin('cdn', '/_admin/faults', 'DELETE')]);
    return { ok: true };
  });
  app.post('/console/api/expire', route, async () => {
    const [creds, urls] = await Promise.all([admin('oss', '/_admin/credentials/expire', 'POST', {}), admin('cdn', '/_admin/expire-urls', 'POST', {})]);
    return { credentials: creds.expired, playUrls: urls.revoked };
  });
}
