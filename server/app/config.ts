/**
 * The AppServer's own settings (provider settings are read by each route module from the same env).
 * Every variable is documented in README.md "Configuration".
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEV_CREDENTIALS } from '../dev-credentials';
import type { CloudUrls } from '../cloud/context';

export interface AppConfig {
  tokenSecret: string;
  tokenTtlSec: number;
  /** fastify trustProxy: false (default), true, a hop count, or a comma list of trusted proxy addresses/CIDRs. */
  trustProxy: boolean | number | string;
  wechat: { appId: string; secret: string; apiBase: string };
}

function parseTrustProxy(v: string | undefined): boolean | number | string {
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return parseInt(v, 10);
  return v;
}

export function loadAppConfig(env: NodeJS.ProcessEnv, cloud: CloudUrls | undefined, dataDir: string): AppConfig {
  const production = env.NODE_ENV === 'production';
  let tokenSecret = env.APP_TOKEN_SECRET;
  if (!tokenSecret) {
    if (production) throw new Error('APP_TOKEN_SECRET is required when NODE_ENV=production (at least 32 random characters).');
    // Development: one random secret kept in the data dir, so restarts keep sessions.
    mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'token-secret');
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    tokenSecret = readFileSync(file, 'utf8').trim();
  } else if (tokenSecret.length < 32) {
    throw new Error('APP_TOKEN_SECRET must be at least 32 characters.');
  }
  const wxConfigured = !!(env.WX_APPID || env.WX_SECRET);
  if (wxConfigured && !(env.WX_APPID && env.WX_SECRET)) throw new Error('Set both WX_APPID and WX_SECRET (or neither, for the local cloud).');
  const apiBase = env.WX_API_BASE || (wxConfigured ? 'https://api.weixin.qq.com' : cloud?.wechat);
  if (!apiBase) throw new Error('No WeChat API: set WX_APPID, WX_SECRET (and optionally WX_API_BASE), or run with the local cloud.');
  const ttl = env.APP_TOKEN_TTL ? parseInt(env.APP_TOKEN_TTL, 10) : 7200;
  if (!Number.isFinite(ttl) || ttl < 60) throw new Error('APP_TOKEN_TTL must be a number of seconds >= 60.');
  return {
    tokenSecret,
    tokenTtlSec: ttl,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    wechat: {
      appId: env.WX_APPID || DEV_CREDENTIALS.wechat.appId,
      secret: env.WX_SECRET || DEV_CREDENTIALS.wechat.secret,
      apiBase: apiBase.replace(/\/$/, ''),
    },
  };
}
