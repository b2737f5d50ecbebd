/**
 * Verification of VOD client-upload signatures (doc 266/9221) as vod2.qcloud.com does it: Base64 → 20-byte
 * HMAC-SHA1 ‖ plaintext query; the HMAC is recomputed over the raw plaintext bytes (no sorting, any encoding), then
 * the query is form-decoded. Codes: 10004 "ugc upload | invalid signature" for every signature problem, with the
 * reason after it; 10001 "ugc upload | invalid request" for bad optional parameters.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface VerifiedUgcSignature {
  secretId: string;
  currentTimeStamp: number;
  expireTime: number;
  random: number;
  classId: number;
  procedure?: string;
  taskPriority?: number;
  taskNotifyMode?: string;
  sourceContext?: string;
  sessionContext?: string;
  oneTimeValid: boolean;
  vodSubAppId?: number;
  storageRegion?: string;
  /** The plaintext query, as signed. */
  original: string;
  /** The MAC in hex (one-time signatures are remembered by it). */
  mac: string;
}

export type UgcVerifyResult = { ok: true; sig: VerifiedUgcSignature } | { ok: false; code: number; message: string };

const INVALID_SIG = 10004;
const INVALID_REQ = 10001;

function fail(code: number, reason: string): UgcVerifyResult {
  return { ok: false, code, message: `${code === INVALID_SIG ? 'ugc upload | invalid signature' : 'ugc upload | invalid request'}: ${reason}` };
}

export function verifyUgcSignature(
  signature: unknown,
  o: { secrets: ReadonlyMap<string, string>; nowSec: number; maxValiditySec?: number; maxFutureSkewSec?: number },
): UgcVerifyResult {
  if (typeof signature !== 'string' || !signature) return fail(INVALID_SIG, 'signature is missing');
  if (!/^[A-Za-z0-9+/]+=*$/.test(signature)) return fail(INVALID_SIG, 'signature is not Base64');
  const raw = Buffer.from(signature, 'base64');
  if (raw.length <= 20) return fail(INVALID_SIG, 'signature is too short');
  const mac = raw.subarray(0, 20);
  const plain = raw.subarray(20);
  const original = plain.toString('utf8');
  const q = new URLSearchParams(original); // form-decoding: '+' and %20 are both a space
  const secretId = q.get('secretId') || '';
  const secretKey = o.secrets.get(secretId);
  if (secretKey === undefined) return fail(INVALID_SIG, `unknown secretId ${JSON.stringify(secretId)}`);
  const expected = createHmac('sha1', secretKey).update(plain).digest();
  if (!timingSafeEqual(expected, mac)) return fail(INVALID_SIG, 'the HMAC does not match');
  const ints: Record<string, number> = {};
  for (const k of ['currentTimeStamp', 'expireTime', 'random']) {
    const v = q.get(k);
    if (v === null || !/^\d{1,12}$/.test(v)) return fail(INVALID_SIG, `${k} must be an integer, got ${JSON.stringify(v)}`);
    ints[k] = parseInt(v, 10);
  }
  if (ints.random >= 2 ** 32) return fail(INVALID_SIG, 'random is not an unsigned 32-bit integer');
  if (ints.expireTime <= o.nowSec) return fail(INVALID_SIG, `signature expired at ${ints.expireTime} (server time ${o.nowSec})`);
  const maxValidity = o.maxValiditySec ?? 7776000;
  if (ints.expireTime - ints.currentTimeStamp > maxValidity) return fail(INVALID_SIG, `validity exceeds ${maxValidity} s`);
  if (ints.currentTimeStamp > o.nowSec + (o.maxFutureSkewSec ?? 86400)) return fail(INVALID_SIG, 'currentTimeStamp is in the future');
  const opt = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const sourceContext = opt('sourceContext');
  if (sourceContext && sourceContext.length > 250) return fail(INVALID_REQ, 'sourceContext exceeds 250 characters');
  const sessionContext = opt('sessionContext');
  if (sessionContext && sessionContext.length > 1000) return fail(INVALID_REQ, 'sessionContext exceeds 1000 characters');
  const intOpt = (k: string, lo: number, hi: number): number | undefined | null => {
    const v = opt(k);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) return null;
    const n = parseInt(v, 10);
    return n < lo || n > hi ? null : n;
  };
  const classId = intOpt('classId', 0, 2 ** 31);
  if (classId === null) return fail(INVALID_REQ, 'classId must be a non-negative integer');
  const taskPriority = intOpt('taskPriority', -10, 10);
  if (taskPriority === null) return fail(INVALID_REQ, 'taskPriority must be an integer in [-10, 10]');
  const vodSubAppId = intOpt('vodSubAppId', 0, 2 ** 53);
  if (vodSubAppId === null) return fail(INVALID_REQ, 'vodSubAppId must be an integer');
  const taskNotifyMode = opt('taskNotifyMode');
  if (taskNotifyMode && !['Finish', 'Change', 'None'].includes(taskNotifyMode)) return fail(INVALID_REQ, 'taskNotifyMode must be Finish, Change or None');
  const oneTime = opt('oneTimeValid');
  if (oneTime && oneTime !== '0' && oneTime !== '1') return fail(INVALID_REQ, 'oneTimeValid must be 0 or 1');
  return {
    ok: true,
    sig: {
      secretId,
      currentTimeStamp: ints.currentTimeStamp,
      expireTime: ints.expireTime,
      random: ints.random,
      classId: classId || 0,
      procedure: opt('procedure'),
      taskPriority,
      taskNotifyMode,
      sourceContext,
      sessionContext,
      oneTimeValid: oneTime === '1',
      vodSubAppId: vodSubAppId || undefined,
      storageRegion: opt('storageRegion'),
      original,
      mac: mac.toString('hex'),
    },
  };
}
