/**
 * Polyv settings of the AppServer, read from the environment (documented in docs/polyv.md):
 *
 *   POLYV_APP_ID + POLYV_APP_SECRET   sub-account (内容分发 role): create-child + v3 get-video-info (MD5)
 *   POLYV_USER_ID + POLYV_SECRET_KEY  main account: v1/token + v2 get-video-msg (SHA1)
 *   POLYV_ACCOUNT=sub|main            which one, when both pairs (or neither, with the local cloud) are available
 *   POLYV_API_BASE                    api.polyv.net base (video info); default https://api.polyv.net, or the local cloud
 *   POLYV_TOKEN_BASE                  hls.videocc.net base (play tokens); default https://hls.videocc.net, or the local cloud
 *   POLYV_TOKEN_EXPIRES               token lifetime in seconds, 60…86400 (default 600)
 *
 * The viewer IP sent to Polyv is the caller's address as fastify computes it (`req.ip`), which honours the
 * AppServer's TRUST_PROXY setting (X-Forwarded-For is believed only from trusted proxies).
 */
import { DEV_CREDENTIALS } from '../../dev-credentials';
import type { AppDeps } from '../deps';

export interface PolyvConfig {
  account: 'sub' | 'main';
  /** sub-account */
  appId?: string;
  appSecret?: string;
  /** main account */
  userId?: string;
  secretKey?: string;
  apiBase: string;
  tokenBase: string;
  expiresSec: number;
  /** True when talking to the local cloud with the development account. */
  localCloud: boolean;
  /** The local cloud's base URL (sample list), when it runs. */
  cloudUrl?: string;
}

export type PolyvConfigResult = { ok: true; config: PolyvConfig } | { ok: false; reason: string };

/** Throws on a half-set pair or a bad value (a startup error); returns ok:false when Polyv is simply not configured. */
export function loadPolyvConfig(deps: Pick<AppDeps, 'env' | 'cloud'>): PolyvConfigResult {
  const env = deps.env;
  const hasApp = !!(env.POLYV_APP_ID || env.POLYV_APP_SECRET);
  const hasUser = !!(env.POLYV_USER_ID || env.POLYV_SECRET_KEY);
  if (hasApp && !(env.POLYV_APP_ID && env.POLYV_APP_SECRET)) throw new Error('Set both POLYV_APP_ID and POLYV_APP_SECRET (or neither).');
  if (hasUser && !(env.POLYV_USER_ID && env.POLYV_SECRET_KEY)) throw new Error('Set both POLYV_USER_ID and POLYV_SECRET_KEY (or neither).');
  const choice = env.POLYV_ACCOUNT;
  if (choice !== undefined && choice !== '' && choice !== 'sub' && choice !== 'main') throw new Error('POLYV_ACCOUNT must be "sub" or "main".');

  let expiresSec = 600;
  if (env.POLYV_TOKEN_EXPIRES) {
    expiresSec = Number(env.POLYV_TOKEN_EXPIRES);
    if (!/^\d+$/.test(env.POLYV_TOKEN_EXPIRES) || expiresSec < 60 || expiresSec > 86400) {
      throw new Error('POLYV_TOKEN_EXPIRES must be a number of seconds from 60 to 86400.');
    }
  }
  const configured = hasApp || hasUser;
  const localUrl = deps.cloud?.polyv;
  if (!configured && !localUrl) {
    return { ok: false, reason: 'Polyv is not configured: set POLYV_APP_ID/POLYV_APP_SECRET or POLYV_USER_ID/POLYV_SECRET_KEY, or run with the local cloud.' };
  }
  let account: 'sub' | 'main';
  if (choice === 'sub' || choice === 'main') account = choice;
  else account = hasApp || !configured ? 'sub' : 'main';
  if (configured && account === 'sub' && !hasApp) throw new Error('POLYV_ACCOUNT=sub needs POLYV_APP_ID and POLYV_APP_SECRET.');
  if (configured && account === 'main' && !hasUser) throw new Error('POLYV_ACCOUNT=main needs POLYV_USER_ID and POLYV_SECRET_KEY.');

  const dev = DEV_CREDENTIALS.polyv;
  const strip = (u: string) => u.replace(/\/+$/, '');
  const apiBase = strip(env.POLYV_API_BASE || (configured ? 'https://api.polyv.net' : localUrl!));
  const tokenBase = strip(env.POLYV_TOKEN_BASE || (configured ? 'https://hls.videocc.net' : localUrl!));
  for (const [name, u] of [['POLYV_API_BASE', apiBase], ['POLYV_TOKEN_BASE', tokenBase]]) {
    if (!/^https?:\/\/[^/]+/.test(u)) throw new Error(`${name} must be an http(s) URL.`);
  }
  return {
    ok: true,
    config: {
      account,
      appId: configured ? env.POLYV_APP_ID : dev.appId,
      appSecret: configured ? env.POLYV_APP_SECRET : dev.appSecret,
      userId: configured ? env.POLYV_USER_ID : dev.userId,
      secretKey: configured ? env.POLYV_SECRET_KEY : dev.secretKey,
      apiBase,
      tokenBase,
      expiresSec,
      localCloud: !configured,
      cloudUrl: localUrl,
    },
  };
}
