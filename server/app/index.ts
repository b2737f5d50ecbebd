/**
 * The AppServer: login (code2Session → stateless token), auth on every other /api route, and one route module per
 * provider (server/app/routes/<provider>.ts). It holds every secret; the mini-program holds only its session token.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createFastify, HttpError, installJsonErrors, jsonFrameworkErrors, parseBody, z } from '../http';
import { checkJsonShape } from '../safe-input';
import type { AppDeps } from './deps';
import { AppConfig, loadAppConfig } from './config';
import { signToken, verifyToken } from './token';
import vodRoutes from './routes/vod';
import polyvRoutes from './routes/polyv';
import iotRoutes from './routes/iot';
import { errorEnvelope, installZodCompilers, isDocsRoute, registerApiDocs, responseCheckMode } from './openapi';
import { isLoopback } from '../cloud';
import vodPlayRoutes from './routes/vod-play';
import tencentVodRoutes from './routes/tencent-vod';
import { openStore, type Store } from './store';
import { isDevConsoleRoute } from '../console/route';
import vodSecureRoutes from './routes/vod-secure';

export type { AppDeps, AuthUser } from './deps';

const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/api/login', '/api/health', '/api/tencent-vod/events']);

/** Every JSON body the AppServer accepts: nesting and size bounds, checked before any route reads it. */
export const BODY_LIMITS = { maxDepth: 32, maxBytes: 256 * 1024 };

/** WeChat code2Session errcodes the AppServer names (anything else: LoginFailed). */
const WX_LOGIN_ERRORS = new Map<number, string>([
  [40029, 'InvalidCode'],
  [40163, 'CodeUsed'],
  [45011, 'RateLimited'],
  [40226, 'UserBlocked'],
]);

const healthReply = z.object({ ok: z.literal(true), time: z.string().describe('server time, ISO 8601'), localCloud: z.boolean().describe('true when the AppServer talks to the local cloud') });
const loginReply = z.object({
  token: z.string().describe('session token: send as "Authorization: Bearer <token>"'),
  expiresIn: z.number().int().describe('seconds until the token expires (APP_TOKEN_TTL)'),
  openid: z.string(),
});
const meReply = z.object({ openid: z.string() });

/**
 * Development without APP_TOKEN_SECRET on a shared store: the first instance claims a random secret in Redis and the
 * others read it, so a token from one verifies on all (production requires APP_TOKEN_SECRET; a file store keeps the
 * secret in DATA_DIR/app/token-secret as before).
 */
async function sharedDevTokenSecret(store: Store): Promise<string> {
  await store.setIfAbsent('app:dev-token-secret', randomBytes(32).toString('hex'));
  const s = await store.get('app:dev-token-secret');
  if (!s || s.length < 32) throw new Error('The shared development token secret in the store is missing or too short: set APP_TOKEN_SECRET.');
  return s;
}

/**
 * The AppServer on its store: deps.store when given (the caller closes it), else one opened from the environment
 * (REDIS_URL → Redis, else DATA_DIR/app/store.json) and closed with the app, or at once when building fails.
 */
export async function buildAppServer(given: AppDeps): Promise<{ app: FastifyInstance; config: AppConfig; routes: RouteOptions[] }> {
  const store = given.store || (await openStore(given.env, given.dataDir, given.now));
  let built: FastifyInstance | undefined;
  try {
    let env = given.env;
    if (store.kind === 'redis' && !env.APP_TOKEN_SECRET && env.NODE_ENV !== 'production') env = { ...env, APP_TOKEN_SECRET: await sharedDevTokenSecret(store) };
    const r = await buildOn({ ...given, env, store }, (app) => {
      built = app;
      // The root's onClose runs after the route plugins' (the PULL worker stops before the store closes).
      if (!given.store) app.addHook('onClose', async () => store.close());
    });
    return r;
  } catch (e) {
    if (built) await built.close().catch(() => undefined);
    if (!given.store) await store.close().catch(() => undefined);
    throw e;
  }
}

async function buildOn(deps: AppDeps, created: (app: FastifyInstance) => void): Promise<{ app: FastifyInstance; config: AppConfig; routes: RouteOptions[] }> {
  const store = deps.store!;
  const config = loadAppConfig(deps.env, deps.cloud, deps.dataDir);
  const app = createFastify({ name: 'app', trustProxy: config.trustProxy, frameworkErrors: jsonFrameworkErrors });
  created(app);
  installJsonErrors(app);
  // JSON only: a text/plain body gets the same clear 415 as a form (not "expected object, received string").
  app.removeContentTypeParser('text/plain');
  // Free-form JSON is bounded before any handler touches it: a 10,000-level object is a 400, not a stack overflow;
  // a lone UTF-16 surrogate (no UTF-8 form) is a 400 here, not a "URI malformed" deep inside a provider client.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined || req.body === null || typeof req.body !== 'object') return;
    const r = checkJsonShape(req.body, BODY_LIMITS);
    if (!r.ok) {
      const code = r.reason === 'depth' ? 'JsonTooDeep' : r.reason === 'size' ? 'BodyTooLarge' : 'InvalidParameter';
      throw new HttpError(r.reason === 'size' ? 413 : 400, code, `Invalid body: ${r.message}.`);
    }
  });
  app.decorateRequest('user', null as never);
  // Every route as registered (test/unit/openapi.test.ts checks each one declares its schemas and is documented).
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (r) => void routes.push(r));
  // Route schemas are zod (server/app/openapi.ts): they validate requests, check responses, and make the API reference.
  installZodCompilers(app, responseCheckMode(deps.env));
  const serveDocs = deps.env.NODE_ENV !== 'production';
  await registerApiDocs(app, { publicRoutes: PUBLIC_ROUTES, serve: serveDocs });

  // Fail closed: every matched route needs a session except the public ones, decided on the route PATTERN fastify
  // matched (a check on the raw URL could be sidestepped with percent-encoding such as /%61pi/me).
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return; // unmatched → 404 from the not-found handler
    if (isDevConsoleRoute(req.routeOptions.config)) return; // the dev console (server/console) answers loopback callers only
    if (isDocsRoute(route)) {
      // /api/openapi.json and /api/docs: no login, but like the local cloud's dev endpoints only for this machine.
      if (!isLoopback(req.socket.remoteAddress)) throw new HttpError(403, 'DevEndpointLoopbackOnly', `${route} answers only callers on this machine.`);
      return;
    }
    const h = req.headers.authorization;
    if (!h || !/^Bearer\s+\S+$/i.test(h)) {
      throw new HttpError(401, 'Unauthorized', 'Missing "Authorization: Bearer <token>": log in with POST /api/login first.');
    }
    const res = verifyToken(h.replace(/^Bearer\s+/i, ''), config.tokenSecret, Math.floor(deps.now() / 1000));
    if (!res.ok) {
      throw new HttpError(401, res.reason === 'expired' ? 'TokenExpired' : 'InvalidToken', res.reason === 'expired' ? 'The session token has expired: log in again.' : 'The session token is not valid: log in again.');
    }
    req.user = { openid: res.claims.sub };
  });

  // 503 StoreUnavailable while the store (Redis) does not answer: a load balancer takes the instance out meanwhile.
  app.get('/api/health', { schema: { response: { 200: healthReply, 503: errorEnvelope } } }, async () => {
    await store.ping();
    return { ok: true, time: new Date(deps.now()).toISOString(), localCloud: !!deps.cloud && !deps.env.WX_APPID };
  });

  const loginBody = z.object({ code: z.string().min(1, 'code is required (from wx.login)').max(128) }).strict();
  app.post('/api/login', { schema: { body: loginBody, response: { 200: loginReply, 401: errorEnvelope, 429: errorEnvelope, 502: errorEnvelope } } }, async (req) => {
    const { code } = parseBody(loginBody, req.body);
    const qs = new URLSearchParams({ appid: config.wechat.appId, secret: config.wechat.secret, js_code: code, grant_type: 'authorization_code' });
    let data: { openid?: unknown; session_key?: string; errcode?: unknown; errmsg?: string };
    try {
      const res = await fetch(`${config.wechat.apiBase}/sns/jscode2session?${qs}`, { signal: AbortSignal.timeout(10000) });
      data = JSON.parse(await res.text());
    } catch (e) {
      throw new HttpError(502, 'WechatUnavailable', `code2Session failed: ${(e as Error).message}`);
    }
    if (!data || typeof data !== 'object') throw new HttpError(502, 'WechatBadResponse', 'code2Session answered something other than a JSON object.');
    if (data.errcode || typeof data.openid !== 'string' || !data.openid) {
      const code = (typeof data.errcode === 'number' && WX_LOGIN_ERRORS.get(data.errcode)) || 'LoginFailed';
      throw new HttpError(data.errcode === 45011 ? 429 : 401, code, `WeChat rejected the login code (errcode ${data.errcode}: ${data.errmsg || 'no message'}).`, { errcode: data.errcode });
    }
    const now = Math.floor(deps.now() / 1000);
    const token = signToken({ sub: data.openid, iat: now, exp: now + config.tokenTtlSec }, config.tokenSecret);
    // session_key stays on the server: the mini-program never needs it for this product.
    return { token, expiresIn: config.tokenTtlSec, openid: data.openid };
  });

  app.get('/api/me', { schema: { response: { 200: meReply } } }, async (req) => ({ openid: req.user.openid }));

  await app.register(async (scope) => vodRoutes(scope, deps));
  await app.register(async (scope) => polyvRoutes(scope, deps));
  await app.register(async (scope) => iotRoutes(scope, deps));
  await app.register(async (scope) => vodPlayRoutes(scope, deps));
  await app.register(async (scope) => tencentVodRoutes(scope, deps));
  await app.register(async (scope) => vodSecureRoutes(scope, deps, config.tokenSecret));
  return { app, config, routes };
}
