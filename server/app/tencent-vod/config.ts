/**
 * Tencent VOD settings of the AppServer. The local cloud by default (server/dev-credentials.ts, the cloud's tvod URL);
 * the real VOD when TENCENT_VOD_SECRET_ID / TENCENT_VOD_SECRET_KEY are set. Everything that goes into a signature
 * (procedure, classId, vodSubAppId, storageRegion) comes from here, never from the client.
 *
 *   TENCENT_VOD_SECRET_ID / _SECRET_KEY   API key pair (both or neither)
 *   TENCENT_VOD_SUB_APP_ID                VOD application id (required for accounts opened since 2023-12-25)
 *   TENCENT_VOD_PROCEDURE                 task flow run after each upload (e.g. "LongVideoPreset")
 *   TENCENT_VOD_CLASS_ID                  category id (default 0)
 *   TENCENT_VOD_STORAGE_REGION            storage region (e.g. ap-chongqing), default: the account's
 *   TENCENT_VOD_SIGNATURE_TTL             signature validity in s (default 600, 60..7776000)
 *   TENCENT_VOD_ONE_TIME                  1 (default) one-time signatures, 0 reusable
 *   TENCENT_VOD_EVENTS                    pull (default: the reliable PullEvents worker), push, or off
 *   TENCENT_VOD_EVENT_SIGN_KEY            the console's callback SignKey: PUSH requests must carry a valid Sign/T
 *   TENCENT_VOD_API_ENDPOINT              API 3.0 host (default vod.tencentcloudapi.com; the local cloud's tvod URL)
 */
import { DEV_CREDENTIALS } from '../../dev-credentials';
import type { AppDeps } from '../deps';

export interface TencentVodConfig {
  secretId: string;
  secretKey: string;
  subAppId?: number;
  procedure?: string;
  classId: number;
  storageRegion?: string;
  signatureTtlSec: number;
  oneTimeValid: boolean;
  events: 'pull' | 'push' | 'off';
  eventSignKey?: string;
  /** host[:port] for tencentcloud-sdk-nodejs (read at call time: the cloud's URL is known once it listens) */
  endpoint: () => string;
  protocol: () => 'https://' | 'http://';
  localCloud: boolean;
}

export type TencentVodConfigResult = { ok: true; config: TencentVodConfig } | { ok: false; reason: string };

export function loadTencentVodConfig(deps: Pick<AppDeps, 'env' | 'cloud'>): TencentVodConfigResult {
  const env = deps.env;
  const real = !!(env.TENCENT_VOD_SECRET_ID || env.TENCENT_VOD_SECRET_KEY);
  if (real && !(env.TENCENT_VOD_SECRET_ID && env.TENCENT_VOD_SECRET_KEY)) throw new Error('Set both TENCENT_VOD_SECRET_ID and TENCENT_VOD_SECRET_KEY (or neither, for the local cloud).');
  const int = (name: string, lo: number, hi: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new Error(`${name} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}.`);
    return Number(v);
  };
  const subAppId = int('TENCENT_VOD_SUB_APP_ID', 1, Number.MAX_SAFE_INTEGER);
  const classId = int('TENCENT_VOD_CLASS_ID', 0, 2 ** 31) ?? 0;
  const signatureTtlSec = int('TENCENT_VOD_SIGNATURE_TTL', 60, 7776000) ?? 600;
  const oneTime = env.TENCENT_VOD_ONE_TIME;
  if (oneTime !== undefined && oneTime !== '0' && oneTime !== '1') throw new Error('TENCENT_VOD_ONE_TIME must be 0 or 1.');
  const events = (env.TENCENT_VOD_EVENTS || 'pull') as TencentVodConfig['events'];
  if (!['pull', 'push', 'off'].includes(events)) throw new Error('TENCENT_VOD_EVENTS must be pull, push or off.');
  const region = env.TENCENT_VOD_STORAGE_REGION;
  if (region && !/^[a-z]{2}-[a-z0-9-]+$/.test(region)) throw new Error('TENCENT_VOD_STORAGE_REGION must be a region such as ap-chongqing.');
  const signKey = env.TENCENT_VOD_EVENT_SIGN_KEY;
  if (signKey && !/^[A-Za-z0-9]{1,32}$/.test(signKey)) throw new Error('TENCENT_VOD_EVENT_SIGN_KEY is up to 32 letters and digits (the console\'s SignKey).');
  const procedure = env.TENCENT_VOD_PROCEDURE || undefined;
  const base = { subAppId, procedure, classId, storageRegion: region || undefined, signatureTtlSec, oneTimeValid: oneTime !== '0', events, eventSignKey: signKey || undefined };
  const endpointEnv = env.TENCENT_VOD_API_ENDPOINT;
  if (real) {
    const ep = endpointEnv || 'https://vod.tencentcloudapi.com';
    return {
      ok: true,
      config: { ...base, secretId: env.TENCENT_VOD_SECRET_ID!, secretKey: env.TENCENT_VOD_SECRET_KEY!, endpoint: () => ep.replace(/^https?:\/\//, '').replace(/\/+$/, ''), protocol: () => (/^http:\/\//.test(ep) ? 'http://' : 'https://'), localCloud: false },
    };
  }
  if (!deps.cloud && !endpointEnv) return { ok: false, reason: 'Tencent VOD is not configured: set TENCENT_VOD_SECRET_ID / TENCENT_VOD_SECRET_KEY (and TENCENT_VOD_SUB_APP_ID), or run with the local cloud.' };
  if (env.NODE_ENV === 'production') return { ok: false, reason: 'Tencent VOD is not configured: set TENCENT_VOD_SECRET_ID / TENCENT_VOD_SECRET_KEY (the local development credentials are refused in production).' };
  const url = () => endpointEnv || (deps.cloud && deps.cloud.tvod) || '';
  return {
    ok: true,
    config: { ...base, secretId: DEV_CREDENTIALS.tencent.secretId, secretKey: DEV_CREDENTIALS.tencent.secretKey, endpoint: () => url().replace(/^https?:\/\//, '').replace(/\/+$/, ''), protocol: () => (/^https:\/\//.test(url()) ? 'https://' : 'http://'), localCloud: true },
  };
}
