/**
 * Aliyun RPC-style API signatures (VOD, STS, …: "Signature version 1.0", HMAC-SHA1).
 *
 *   CanonicalizedQuery = sorted params (Signature excluded), each percentEncode(k) "=" percentEncode(v), joined by "&"
 *   StringToSign       = METHOD "&" percentEncode("/") "&" percentEncode(CanonicalizedQuery)
 *   Signature          = base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign))
 */
import HmacSHA1 from 'crypto-js/hmac-sha1';
import { base64Encode, fromWordArray } from '../util/bytes';

export type RpcParams = Record<string, string | number | boolean | undefined | null>;

/** RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ stay, everything else is %XY (upper-case), UTF-8 based. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Parameters as the signature sees them: undefined / null dropped, everything else stringified, Signature removed. */
export function normalizeRpcParams(params: RpcParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(params)) {
    const v = params[k];
    if (v === undefined || v === null || k === 'Signature') continue;
    out[k] = String(v);
  }
  return out;
}

/** Keys sorted by UTF-16 code units (as Aliyun's SDKs sort them), encoded and joined. */
export function canonicalizeRpcQuery(params: RpcParams): string {
  const p = normalizeRpcParams(params);
  return Object.keys(p)
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(p[k])}`)
    .join('&');
}

export function rpcStringToSign(method: string, params: RpcParams): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalizeRpcQuery(params))}`;
}

/** base64(HMAC-SHA1(secret + "&", stringToSign)). */
export function rpcSign(accessKeySecret: string, stringToSign: string): string {
  return base64Encode(fromWordArray(HmacSHA1(stringToSign, `${accessKeySecret}&`)));
}

/** The Signature value for these params (what a client sends and a server recomputes). */
export function computeRpcSignature(method: string, params: RpcParams, accessKeySecret: string): string {
  return rpcSign(accessKeySecret, rpcStringToSign(method, params));
}

/** ISO 8601 UTC without milliseconds, the RPC `Timestamp` format: 2017-10-10T12:02:54Z. */
export function rpcTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A random RFC 4122 v4 UUID string for `SignatureNonce` (Math.random based: uniqueness, not secrecy). */
export function rpcNonce(): string {
  let s = '';
  for (let i = 0; i < 32; i++) {
    let d = Math.floor(Math.random() * 16);
    if (i === 12) d = 4;
    if (i === 16) d = (d & 3) | 8;
    s += d.toString(16);
    if (i === 7 || i === 11 || i === 15 || i === 19) s += '-';
  }
  return s;
}

export interface SignRpcOptions {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
  /** Action-specific parameters (Action, Version and the rest). */
  params: RpcParams;
  method?: 'GET' | 'POST';
  /** Defaults to now; pass a corrected clock (server time) when the device clock is off. */
  timestampMs?: number;
  nonce?: string;
  format?: 'JSON' | 'XML';
}

/**
 * Add the common parameters (Format, AccessKeyId, SignatureMethod, SignatureVersion, SignatureNonce, Timestamp,
 * SecurityToken) and the Signature; returns the full parameter map and the query string to send (for GET) or the
 * form body (for POST), Signature last.
 */
export function signRpcRequest(opts: SignRpcOptions): { params: Record<string, string>; query: string; signature: string } {
  const all: RpcParams = Object.assign(
    {
      Format: opts.format || 'JSON',
      AccessKeyId: opts.accessKeyId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: opts.nonce || rpcNonce(),
      Timestamp: rpcTimestamp(opts.timestampMs === undefined ? Date.now() : opts.timestampMs),
    },
    opts.params,
  );
  if (opts.securityToken) all.SecurityToken = opts.securityToken;
  const params = normalizeRpcParams(all);
  const signature = computeRpcSignature(opts.method || 'GET', params, opts.accessKeySecret);
  const query = `${canonicalizeRpcQuery(params)}&Signature=${percentEncode(signature)}`;
  return { params: Object.assign({}, params, { Signature: signature }), query, signature };
}
