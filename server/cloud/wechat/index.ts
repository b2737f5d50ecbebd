/**
 * WeChat emulator: code2Session exactly as api.weixin.qq.com answers it, plus a dev endpoint that mints login codes
 * (what the WeChat client does inside wx.login). Codes are single-use and expire after 5 minutes.
 */
import { randomBytes, createHash } from 'node:crypto';
import { createFastify, z } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import { mapOf } from '../../safe-input';

const CODE_TTL_MS = 5 * 60 * 1000;

interface CodeRecord {
  openid: string;
  appId: string;
  expiresAt: number;
  used: boolean;
}

export interface WechatCloudOptions {
  /** Accepted app ids and their secrets (defaults to the dev credentials). */
  apps?: Record<string, string>;
  /**
   * Accept login codes this emulator did not mint (what wx.login returns inside WeChat DevTools or on a phone, which
   * only the real WeChat could exchange). Each such code is single-use and logs in as ONE stable local developer
   * user per app id. `npm start` turns this on; tests keep the strict behaviour (unknown code → 40029).
   */
  acceptForeignCodes?: boolean;
}

/** The openid every foreign code maps to: stable per app id, so a developer keeps their data across logins. */
export function localDeveloperOpenid(appId: string): string {
  return 'o' + createHash('sha256').update(`${appId}:local-developer`).digest('base64url').slice(0, 27);
}

/** WeChat answers errors with HTTP 200 and {errcode, errmsg}; the errmsg carries a "rid". */
function wxErr(errcode: number, errmsg: string) {
  return { errcode, errmsg: `${errmsg} rid: ${randomBytes(6).toString('hex')}` };
}

export function wechatProvider(options: WechatCloudOptions = {}): CloudProvider {
  // appid → secret as a Map: `appid=constructor` is an unknown app (40013), not one whose secret is String(Object).
  const apps = mapOf<string>(options.apps || { [DEV_CREDENTIALS.wechat.appId]: DEV_CREDENTIALS.wechat.secret });
  return {
    name: 'wechat',
    async build(ctx: CloudContext) {
      const app = createFastify({
        name: 'wechat',
        frameworkErrors: (err, _req, reply) => {
          reply.status(400).send(wxErr(40097, err.code === 'FST_ERR_BAD_URL' ? 'invalid args: the request path is not valid percent-encoding' : `invalid args: ${err.message}`));
        },
      });
      // WeChat's {errcode, errmsg} for whatever fastify rejects itself (bad JSON to /wx/dev/code, a 5xx: errcode -1).
      app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
        const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
        if (status >= 500) console.error('[cloud:wechat] internal error', err);
        reply.status(status).send(status >= 500 ? wxErr(-1, 'system error') : wxErr(40097, `invalid args: ${err.message}`));
      });
      const codes = new Map<string, CodeRecord>();
      const foreignUsed = new Set<string>();

      const sweep = () => {
        const now = ctx.now();
        for (const [k, v] of codes) if (v.expiresAt + CODE_TTL_MS < now) codes.delete(k);
      };

      // Like the real API: HTTP 200 for errors too, JSON text served as text/plain.
      app.get('/sns/jscode2session', async (req, reply) => {
        // A repeated parameter counts once (its first value): every value below is a string or absent.
        const q = new Map<string, string>();
        for (const [k, v] of Object.entries(req.query as Record<string, string | string[]>)) q.set(k, Array.isArray(v) ? String(v[0]) : String(v));
        const get = (k: string) => q.get(k);
        return reply.type('text/plain').send(JSON.stringify(code2Session({ appid: get('appid'), secret: get('secret'), js_code: get('js_code'), grant_type: get('grant_type') })));
      });

      const code2Session = (q: Record<string, string | undefined>): Record<string, unknown> => {
        if (!q.appid) return wxErr(41002, 'appid missing');
        if (!q.secret) return wxErr(41004, 'appsecret missing');
        if (!q.js_code) return wxErr(41008, 'missing code');
        if (q.grant_type !== undefined && q.grant_type !== 'authorization_code') return wxErr(40002, 'invalid grant_type');
        const secret = apps.get(q.appid);
        if (secret === undefined) return wxErr(40013, 'invalid appid');
        if (secret !== q.secret) return wxErr(40125, 'invalid appsecret');
        sweep();
        const rec = codes.get(q.js_code);
        if (!rec && options.acceptForeignCodes && /^[\x21-\x7e]{1,128}$/.test(q.js_code)) {
          if (foreignUsed.has(q.js_code)) return wxErr(40163, 'code been used');
          foreignUsed.add(q.js_code);
          return { session_key: randomBytes(16).toString('base64'), openid: localDeveloperOpenid(q.appid) };
        }
        if (!rec || rec.appId !== q.appid) return wxErr(40029, 'invalid code');
        if (rec.used) return wxErr(40163, 'code been used');
        if (rec.expiresAt < ctx.now()) return wxErr(40029, 'invalid code');
        rec.used = true;
        const sessionKey = randomBytes(16).toString('base64');
        return { session_key: sessionKey, openid: rec.openid };
      };

      // Dev only: what the WeChat client does for wx.login. {openid?, appid?} → {code, openid, expiresIn}
      const codeBody = z
        .object({
          openid: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'openid: 6-64 letters, digits, _ or -').optional(),
          appid: z.string().optional(),
        })
        .strict();
      app.post('/wx/dev/code', async (req, reply) => {
        const parsed = codeBody.safeParse(req.body ?? {});
        if (!parsed.success) {
          return reply.status(400).send({ errcode: 40097, errmsg: `invalid args: ${parsed.error.issues.map((i) => i.message).join('; ')}` });
        }
        const appId = parsed.data.appid || [...apps.keys()][0];
        if (!apps.has(appId)) return reply.status(400).send(wxErr(40013, 'invalid appid'));
        const openid = parsed.data.openid || 'o' + createHash('sha256').update(randomBytes(8)).digest('base64url').slice(0, 27);
        const code = randomBytes(16).toString('hex');
        codes.set(code, { openid, appId, expiresAt: ctx.now() + CODE_TTL_MS, used: false });
        return { code, openid, expiresIn: CODE_TTL_MS / 1000 };
      });

      return app;
    },
  };
}
