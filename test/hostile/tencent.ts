/**
 * Tencent request builders for the hostile table (rows-tencent.ts, rows-iot.ts): an API 3.0 call signed with
 * TC3-HMAC-SHA256 as tencentcloud-sdk-nodejs signs it, a vod2 v3 call with a UGC signature, a COS request signed
 * with q-sign-algorithm=sha1 on the bucket's virtual host. All go through env.http, so the table counts them.
 */
import { createHash } from 'node:crypto';
import { tc3Signature } from '../../server/cloud/iot/tc3';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { buildUgcSignature } from '../../server/app/tencent-vod/signature';
import { LOCAL_COS_HOST } from '../../server/cloud/tencent-vod';
import { cosSign } from '../../sdk/src/tencent-vod/cos-signature';
import { answer, ossCode, type HostileAnswer, type HostileEnv } from './harness';

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Response.Error.Code of an API 3.0 answer (HTTP 200 with the error in the body, as Tencent answers). */
export const tcCode = (j: any) => j?.Response?.Error?.Code;

export interface Tc3Call {
  action: string;
  version: string;
  service: string;
  body: unknown;
  secretId?: string;
  secretKey?: string;
}

/** A TC3-signed POST / to `base` (host signed without its port, as the official Node client does). */
export async function tc3Call(env: HostileEnv, base: string, c: Tc3Call, pick: (j: any, t: string) => string | number | undefined = tcCode): Promise<HostileAnswer> {
  const u = new URL(base);
  const payload = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
  const ts = Math.floor(Date.now() / 1000);
  const date = new Date(ts * 1000).toISOString().slice(0, 10);
  const ct = 'application/json; charset=utf-8';
  const canonical = ['POST', '/', '', `content-type:${ct}\nhost:${u.hostname}\n`, 'content-type;host', sha256hex(payload)].join('\n');
  const sts = ['TC3-HMAC-SHA256', String(ts), `${date}/${c.service}/tc3_request`, sha256hex(canonical)].join('\n');
  const secretId = c.secretId ?? DEV_CREDENTIALS.tencent.secretId;
  const sig = tc3Signature(c.secretKey ?? DEV_CREDENTIALS.tencent.secretKey, date, c.service, sts);
  const headers = {
    'content-type': ct,
    host: u.host,
    'x-tc-action': c.action,
    'x-tc-version': c.version,
    'x-tc-timestamp': String(ts),
    'x-tc-region': 'ap-guangzhou',
    authorization: `TC3-HMAC-SHA256 Credential=${secretId}/${date}/${c.service}/tc3_request, SignedHeaders=content-type;host, Signature=${sig}`,
  };
  return answer(await env.http({ method: 'POST', url: `${base}/`, headers, body: payload }), pick);
}

/** The local VOD's API 3.0 (vod 2018-07-17). */
export function vodApi(env: HostileEnv, action: string, body: unknown, o: { secretId?: string; secretKey?: string } = {}): Promise<HostileAnswer> {
  return tc3Call(env, env.cloud.tvod, { action, version: '2018-07-17', service: 'vod', body, ...o });
}

/** A UGC upload signature (account key unless told), no one-time rule, valid 10 minutes. */
export function ugcSignature(o: { secretId?: string; secretKey?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return buildUgcSignature(o.secretKey ?? DEV_CREDENTIALS.tencent.secretKey, { secretId: o.secretId ?? DEV_CREDENTIALS.tencent.secretId, currentTimeStamp: now, expireTime: now + 600, random: Math.floor(Math.random() * 2 ** 31), oneTimeValid: 0 }).signature;
}

/** vod2's `{code, message}` (HTTP 200 for every answer, as vod2.qcloud.com answers; vod-wx-sdk-v2 reads `code`). */
export const v3Code = (j: any) => j?.code;

export async function vod2(env: HostileEnv, action: string, body: unknown | string): Promise<HostileAnswer> {
  return answer(await env.http({ method: 'POST', url: `${env.cloud.tvod}/v3/index.php?Action=${action}`, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }), v3Code);
}

/** A COS request on the VOD bucket's virtual host, signed with the account key (extra signed params / headers). */
export async function cos(
  env: HostileEnv,
  o: { method: string; key?: string; rawPath?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | string; secretId?: string; host?: string; unsigned?: boolean },
): Promise<HostileAnswer> {
  const host = o.host ?? LOCAL_COS_HOST;
  const query = o.query || {};
  const headers: Record<string, string> = { host, ...(o.headers || {}) };
  const now = Math.floor(Date.now() / 1000);
  const pathname = `/${o.key ?? ''}`;
  if (!o.unsigned) {
    const { authorization } = cosSign({ secretId: o.secretId ?? DEV_CREDENTIALS.tencent.secretId, secretKey: DEV_CREDENTIALS.tencent.secretKey, method: o.method, pathname, query, headers, keyTime: `${now - 60};${now + 600}` });
    headers.authorization = authorization;
  }
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}${v === '' ? '' : `=${encodeURIComponent(v)}`}`).join('&');
  const p = o.rawPath ?? `/${(o.key ?? '').split('/').map(encodeURIComponent).join('/')}`;
  return answer(await env.http({ method: o.method, url: `${env.cloud.cos}${p}${qs ? `?${qs}` : ''}`, headers, body: o.body }), (_j, t) => ossCode(t));
}
