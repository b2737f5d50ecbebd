/**
 * Polyv signatures made by the AppServer (the secret never leaves the server).
 *
 * polyvSign: the MD5 rule of the play-token APIs (create-child, v1/token) and the sub-account v3 APIs —
 * drop `sign` and empty / blank values, sort the keys by UTF-16 code unit, join `key + value` with no separators,
 * wrap the result in the secret at BOTH ends, MD5 over UTF-8, uppercase hex.
 *
 * polyvSha1Sign: the SHA1 rule of the main-account api.polyv.net v2 APIs (get-video-msg) —
 * `k1=v1&k2=v2…` (same filtering and order) + secret at the end, SHA1 over UTF-8, uppercase hex.
 */
import { createHash } from 'node:crypto';

export type PolyvParamValue = string | number | boolean | null | undefined;
export type PolyvParams = Record<string, PolyvParamValue>;

function signedPairs(params: PolyvParams): Array<[string, string]> {
  const keys = Object.keys(params).filter((k) => {
    if (k === 'sign') return false;
    const v = params[k];
    return v !== null && v !== undefined && String(v).trim() !== '';
  });
  // Default sort = UTF-16 code-unit order, the same as Java's Collections.sort; never localeCompare.
  keys.sort();
  return keys.map((k) => [k, String(params[k])]);
}

export function polyvSign(params: PolyvParams, secret: string): string {
  if (!secret) throw new Error('polyvSign: empty secret');
  const joined = signedPairs(params)
    .map(([k, v]) => k + v)
    .join('');
  return createHash('md5').update(secret + joined + secret, 'utf8').digest('hex').toUpperCase();
}

export function polyvSha1Sign(params: PolyvParams, secret: string): string {
  if (!secret) throw new Error('polyvSha1Sign: empty secret');
  const joined = signedPairs(params)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return createHash('sha1').update(joined + secret, 'utf8').digest('hex').toUpperCase();
}

/**
 * The form we send: exactly the non-empty params that were signed, plus `sign`. Signing one set and sending another
 * is the classic `invalid signature` cause, so both come from this one function.
 */
export function polyvSignedForm(params: PolyvParams, secret: string, rule: 'md5' | 'sha1' = 'md5'): Record<string, string> {
  const pairs = signedPairs(params);
  const form: Record<string, string> = {};
  for (const [k, v] of pairs) form[k] = v;
  form.sign = rule === 'md5' ? polyvSign(form, secret) : polyvSha1Sign(form, secret);
  return form;
}
