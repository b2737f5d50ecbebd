/**
 * The VOD client-upload signature (客户端上传签名, doc 266/9221), as the AppServer issues it:
 *   original  = URL query of the parameters (secretId, currentTimeStamp, expireTime, random + optional ones)
 *   signature = Base64( HMAC-SHA1(SecretKey, original) ‖ original )
 * Integer timestamps, a uniform uint32 `random` (crypto), empty optional parameters left out.
 */
import { createHmac, randomInt } from 'node:crypto';
import querystring from 'node:querystring';

export interface UgcSignatureParams {
  secretId: string;
  currentTimeStamp: number;
  expireTime: number;
  random: number;
  procedure?: string;
  classId?: number;
  taskPriority?: number;
  taskNotifyMode?: 'Finish' | 'Change' | 'None';
  sourceContext?: string;
  oneTimeValid?: 0 | 1;
  vodSubAppId?: number;
  sessionContext?: string;
  storageRegion?: string;
}

/** The documented maximum validity: 90 days. */
export const MAX_SIGNATURE_VALIDITY_SEC = 7776000;

/** Query-encodes the parameters in the given key order (Node querystring: space → %20), skipping empty ones. */
export function ugcOriginal(params: UgcSignatureParams | Record<string, string | number | undefined>): string {
  const clean: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') clean[k] = v as string | number;
  return querystring.stringify(clean);
}

export function signOriginal(secretKey: string, original: string): string {
  const body = Buffer.from(original, 'utf8');
  const mac = createHmac('sha1', secretKey).update(body).digest();
  return Buffer.concat([mac, body]).toString('base64');
}

export function buildUgcSignature(secretKey: string, params: UgcSignatureParams): { signature: string; original: string } {
  for (const k of ['currentTimeStamp', 'expireTime', 'random'] as const) {
    if (!Number.isInteger(params[k]) || params[k] < 0) throw new Error(`${k} must be a non-negative integer, got ${params[k]}`);
  }
  if (params.random >= 2 ** 32) throw new Error('random must be an unsigned 32-bit integer');
  if (params.expireTime <= params.currentTimeStamp) throw new Error('expireTime must be after currentTimeStamp');
  if (params.expireTime - params.currentTimeStamp > MAX_SIGNATURE_VALIDITY_SEC) throw new Error('validity exceeds 90 days');
  if (params.sourceContext && params.sourceContext.length > 250) throw new Error('sourceContext is limited to 250 characters');
  if (params.sessionContext && params.sessionContext.length > 1000) throw new Error('sessionContext is limited to 1000 characters');
  const original = ugcOriginal(params);
  return { signature: signOriginal(secretKey, original), original };
}

/** A uniform uint32 (the doc's Math.round(Math.random()*2^32) can yield 2^32). */
export function randomUint32(): number {
  return randomInt(0, 2 ** 32);
}
