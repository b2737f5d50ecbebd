/**
 * COS XML API request signature (q-sign-algorithm=sha1, doc 436/7778), shared by the SDK (to sign) and the local
 * cloud (to verify by recomputing over what it received).
 *
 *   KeyTime      = "<start>;<end>"                         (q-sign-time = q-key-time)
 *   SignKey      = hex(HMAC-SHA1(SecretKey, KeyTime))
 *   HttpString   = lower(method) \n UriPathname (decoded) \n HttpParameters \n HttpHeaders \n
 *   StringToSign = "sha1" \n KeyTime \n hex(SHA1(HttpString)) \n
 *   Signature    = hex(HMAC-SHA1(SignKey, StringToSign))
 * HttpParameters / HttpHeaders: `lower(enc(k))=enc(v)` sorted by key and joined with `&`; enc is encodeURIComponent
 * plus `! ' ( ) *`. The security token (x-cos-security-token) is sent but not signed, as every COS SDK does.
 */
import HmacSHA1 from 'crypto-js/hmac-sha1';
import SHA1 from 'crypto-js/sha1';

export type CosParams = Record<string, string | number | undefined | null>;

/** encodeURIComponent plus the five characters it leaves alone that COS encodes (camSafeUrlEncode). */
export function cosEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonical(obj: CosParams): { list: string; str: string } {
  const entries: Array<[string, string]> = [];
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined) continue;
    entries.push([cosEncode(k).toLowerCase(), cosEncode(v === null ? '' : String(v))]);
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { list: entries.map((e) => e[0]).join(';'), str: entries.map((e) => `${e[0]}=${e[1]}`).join('&') };
}

export interface CosSignInput {
  secretId: string;
  secretKey: string;
  method: string;
  /** The object key path, decoded, starting with '/' ('/' for bucket requests). */
  pathname: string;
  /** Query parameters to sign (a bare `?uploads` is `{uploads: ''}`). */
  query?: CosParams;
  /** Headers to sign (host, content-md5, content-length, content-type, x-cos-*…). */
  headers?: CosParams;
  /** "<start>;<end>" in Unix seconds. */
  keyTime: string;
}

export interface CosSignature {
  authorization: string;
  signKey: string;
  httpString: string;
  stringToSign: string;
  signature: string;
}

export function cosSignKey(secretKey: string, keyTime: string): string {
  return HmacSHA1(keyTime, secretKey).toString();
}

export function cosSign(i: CosSignInput): CosSignature {
  const q = canonical(i.query || {});
  const h = canonical(i.headers || {});
  const httpString = `${i.method.toLowerCase()}\n${i.pathname}\n${q.str}\n${h.str}\n`;
  const stringToSign = `sha1\n${i.keyTime}\n${SHA1(httpString).toString()}\n`;
  const signKey = cosSignKey(i.secretKey, i.keyTime);
  const signature = HmacSHA1(stringToSign, signKey).toString();
  const authorization = [
    'q-sign-algorithm=sha1',
    `q-ak=${i.secretId}`,
    `q-sign-time=${i.keyTime}`,
    `q-key-time=${i.keyTime}`,
    `q-header-list=${h.list}`,
    `q-url-param-list=${q.list}`,
    `q-signature=${signature}`,
  ].join('&');
  return { authorization, signKey, httpString, stringToSign, signature };
}

/** PostObject policy signature: hex(HMAC-SHA1(SignKey, hex(SHA1(policy JSON text)))). */
export function cosPostPolicySignature(secretKey: string, keyTime: string, policyJson: string): string {
  return HmacSHA1(SHA1(policyJson).toString(), cosSignKey(secretKey, keyTime)).toString();
}

export interface ParsedCosAuthorization {
  algorithm: string;
  ak: string;
  signTime: string;
  keyTime: string;
  headerList: string[];
  paramList: string[];
  signature: string;
}

/** Parses `q-sign-algorithm=sha1&q-ak=…&…` (the Authorization header or the same fields as query parameters). */
export function parseCosAuthorization(auth: string): ParsedCosAuthorization | null {
  const f: Record<string, string> = Object.create(null);
  for (const pair of auth.trim().split('&')) {
    const i = pair.indexOf('=');
    if (i < 0) continue;
    let v = pair.slice(i + 1);
    try {
      v = decodeURIComponent(v);
    } catch {
      /* keep raw */
    }
    f[pair.slice(0, i).trim().toLowerCase()] = v;
  }
  if (!f['q-sign-algorithm'] || !f['q-ak'] || !f['q-key-time'] || !f['q-signature']) return null;
  const split = (s: string | undefined) => (s ? s.split(';').filter(Boolean) : []);
  return {
    algorithm: f['q-sign-algorithm'],
    ak: f['q-ak'],
    signTime: f['q-sign-time'] || f['q-key-time'],
    keyTime: f['q-key-time'],
    headerList: split(f['q-header-list']),
    paramList: split(f['q-url-param-list']),
    signature: f['q-signature'].toLowerCase(),
  };
}
