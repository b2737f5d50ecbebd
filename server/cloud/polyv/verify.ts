/**
 * The local Polyv cloud's own signature checks (deliberately not shared with the AppServer's signer, so a bug in one
 * cannot hide a bug in the other; both are tested against the reference vectors).
 *
 * - MD5 rule (play-token APIs, sub-account v3 APIs): non-empty params except `sign`, sorted by code unit,
 *   `secret + Σ(key + value) + secret`, MD5 of the UTF-8 bytes, uppercase hex.
 * - SHA1 rule (main-account v2 APIs such as get-video-msg): `k1=v1&k2=v2…` + secret, SHA1, uppercase hex.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function signedEntries(params: Record<string, string>): Array<[string, string]> {
  const keys = Object.keys(params).filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== null && String(params[k]).trim() !== '');
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => [k, String(params[k])]);
}

export function md5SignOf(params: Record<string, string>, secret: string): string {
  const body = signedEntries(params)
    .map(([k, v]) => k + v)
    .join('');
  return createHash('md5').update(`${secret}${body}${secret}`, 'utf8').digest('hex').toUpperCase();
}

export function sha1SignOf(params: Record<string, string>, secret: string): string {
  const body = signedEntries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return createHash('sha1').update(`${body}${secret}`, 'utf8').digest('hex').toUpperCase();
}

/** Constant-time compare of two hex signatures; Polyv accepts only the uppercase form. */
export function sameSign(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
