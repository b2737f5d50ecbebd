/**
 * The AppServer: login (code2Session → stateless token), auth on every other /api route, and one route module per
 * provider (server/app/routes/<provider>.ts). It holds every secret; the mini-program holds only its session token.
 */
import type { FastifyInstance } from 'fastify';
import { createFastify, HttpError, installJsonErrors, parseBody, z } from '../http';
import type { AppDeps } from './deps';
import { AppConfig, loadAppConfig } from './config';
import { signToken, verifyToken } from './token';
import vodRoutes from './routes/vod';
import polyvRoutes from './routes/polyv';
import iotRoutes from './routes/iot';
import tencentVodRoutes from './routes/tencent-vod';

export type { AppDeps, AuthUser } from './deps';

const PUBLIC_ROUTES = new Set(['/api/login', '/api/health', '/api/tencent-vod/events']);

export async function buildAppServer(deps: AppDeps): Promise<{ app: FastifyInstance; config: AppConfig }> {
  const config = loadAppConfig(deps.env, deps.cloud, deps.dataDir);
  const app = createFastify({ name: 'app', trustProxy: config.trustProxy });
  installJsonErrors(app);
  app.decorateRequest('user', null as never);

  // Fail closed: every matched route needs a session except the public ones, decided on the route PATTERN fastify
  // matched (a check on the raw URL could be sidestepped with percent-encoding such as /%61pi/me).
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return; // unmatched → 404 from the not-found handler
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

  app.get('/api/health', async () => ({ ok: true, time: new Date(deps.now()).toISOString(), localCloud: !!deps.cloud && !deps.env.WX_APPID }));

  const loginBody = z.object({ code: z.string().min(1, 'code is required (from wx.login)').max(128) }).strict();
  app.post('/api/login', async (req) => {
    const { code } = parseBody(loginBody, req.body);
    const qs = new URLSearchParams({ appid: config.wechat.appId, secret: config.wechat.secret, js_code: code, grant_type: 'authorization_code' });
    let data: { openid?: string; session_key?: string; errcode?: number; errmsg?: string };
    try {
      const res = await fetch(`${config.wechat.apiBase}/sns/jscode2session?${qs}`, { signal: AbortSignal.timeout(10000) });
      data = JSON.parse(await res.text());
    } catch (e) {
      throw new HttpError(502, 'WechatUnavailable', `code2Session failed: ${(e as Error).message}`);
    }
    if (data.errcode || !data.openid) {
      const known: Record<number, string> = { 40029: 'InvalidCode', 40163: 'CodeUsed', 45011: 'RateLimited', 40226: 'UserBlocked' };
      const code = (data.errcode && known[data.errcode]) || 'LoginFailed';
      throw new HttpError(data.errcode === 45011 ? 429 : 401, code, `WeChat rejected the login code (errcode ${data.errcode}: ${data.errmsg || 'no message'}).`, { errcode: data.errcode });
    }
    const now = Math.floor(deps.now() / 1000);
    const token = signToken({ sub: data.openid, iat: now, exp: now + config.tokenTtlSec }, config.tokenSecret);
    // session_key stays on the server: the mini-program never needs it for this product.
    return { token, expiresIn: config.tokenTtlSec, openid: data.openid };
  });

  app.get('/api/me', async (req) => ({ openid: req.user.openid }));

  await app.register(async (scope) => vodRoutes(scope, deps));
  await app.register(async (scope) => polyvRoutes(scope, deps));
  await app.register(async (scope) => iotRoutes(scope, deps));
  await app.register(async (scope) => tencentVodRoutes(scope, deps));
  return { app, config };
}
