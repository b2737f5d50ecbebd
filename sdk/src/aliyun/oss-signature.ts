/**
 * OSS request signatures, shared by the SDK (to sign) and the local cloud (to verify by recomputing).
 *
 * - V1 header signature: `Authorization: OSS <AccessKeyId>:<base64(HMAC-SHA1(secret, StringToSign))>`
 * - PostObject policy signatures (V1: base64 HMAC-SHA1 of the base64 policy; V4: hex HMAC-SHA256 with the V4 key)
 * - V4 header signature: `OSS4-HMAC-SHA256 Credential=<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
 *   [AdditionalHeaders=a;b,]Signature=<hex>` over a canonical request with `UNSIGNED-PAYLOAD`.
 */
import HmacSHA1 from 'crypto-js/hmac-sha1';
import HmacSHA256 from 'crypto-js/hmac-sha256';
import SHA256 from 'crypto-js/sha256';
import { base64Encode, fromWordArray, utf8ToBase64 } from '../util/bytes';

/** Header values as either side has them; names are matched case-insensitively. */
export type OssHeaders = Record<string, string | number | undefined | null>;
/** Query / sub-resource values; `null` or `''` means a bare key (`?uploads`). */
export type OssQuery = Record<string, string | number | undefined | null>;

/**
 * The query parameters OSS includes in the V1 CanonicalizedResource (everything else, e.g. `max-parts`, is not
 * signed in V1). Matches OSS's documented list.
 */
export const OSS_V1_SIGNED_SUBRESOURCES: readonly string[] = [
  'acl', 'append', 'asyncFetch', 'bucketInfo', 'callback', 'callback-var', 'cname', 'comp', 'continuation-token', 'cors',
  'delete', 'encryption', 'endTime', 'img', 'inventory', 'inventoryId', 'lifecycle', 'live', 'location', 'logging',
  'metaQuery', 'objectMeta', 'partNumber', 'policy', 'position', 'qos', 'qosInfo', 'referer', 'regionList',
  'replication', 'replicationLocation', 'replicationProgress', 'requestPayment', 'resourceGroup', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'restore', 'security-token', 'sequential', 'startTime', 'stat', 'status', 'style', 'styleName',
  'symlink', 'tagging', 'transferAcceleration', 'udf', 'udfApplication', 'udfApplicationLog', 'udfId', 'udfImage',
  'udfImageDesc', 'udfName', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'vod', 'website', 'worm',
  'wormExtend', 'wormId', 'x-oss-ac-forward-allow', 'x-oss-ac-source-ip', 'x-oss-ac-subnet-mask', 'x-oss-ac-vpc-id',
  'x-oss-async-process', 'x-oss-enable-md5', 'x-oss-enable-sha1', 'x-oss-enable-sha256', 'x-oss-hash-ctx',
  'x-oss-md5-ctx', 'x-oss-process', 'x-oss-request-payer', 'x-oss-traffic-limit', 'x-oss-write-get-object-response',
];

/** Lower-case the header names, drop undefined/null, stringify values. */
export function lowercaseHeaders(headers: OssHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = String(v);
  }
  return out;
}

/** Keep only the query parameters OSS signs in V1 (server side: from the parsed request query). */
export function pickV1SubResources(query: OssQuery): OssQuery {
  const out: OssQuery = {};
  for (const k of Object.keys(query)) if (OSS_V1_SIGNED_SUBRESOURCES.indexOf(k) >= 0) out[k] = query[k];
  return out;
}

/** `/bucket/key` (raw key, not URL-encoded) or `/bucket/` or `/`, plus `?` and the sorted sub-resources. */
export function ossV1CanonicalResource(bucket: string | undefined, key: string | undefined, subResources?: OssQuery): string {
  let res = '/';
  if (bucket) res += `${bucket}/`;
  if (key) res += key;
  if (subResources) {
    const keys = Object.keys(subResources).filter((k) => subResources[k] !== undefined).sort();
    let sep = '?';
    for (const k of keys) {
      const v = subResources[k];
      res += sep + k;
      if (v !== null && v !== '') res += `=${v}`;
      sep = '&';
    }
  }
  return res;
}

export interface OssV1Request {
  method: string;
  bucket?: string;
  key?: string;
  headers: OssHeaders;
  /** Signed sub-resources (client: exactly what it adds to the URL; server: `pickV1SubResources(query)`). */
  subResources?: OssQuery;
  /** Presigned URLs: the `Expires` value replaces the Date line. */
  expires?: string;
}

/**
 * VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource.
 * Date is `x-oss-date` when present (what browsers, mini programs and ali-oss send), else `Date`.
 */
export function ossV1StringToSign(req: OssV1Request): string {
  const h = lowercaseHeaders(req.headers);
  const lines = [req.method.toUpperCase(), h['content-md5'] || '', h['content-type'] || '', req.expires !== undefined ? req.expires : h['x-oss-date'] || h['date'] || ''];
  const ossKeys = Object.keys(h)
    .filter((k) => k.indexOf('x-oss-') === 0)
    .sort();
  for (const k of ossKeys) lines.push(`${k}:${h[k].trim()}`);
  lines.push(ossV1CanonicalResource(req.bucket, req.key, req.subResources));
  return lines.join('\n');
}

/** base64(HMAC-SHA1(secret, stringToSign)). */
export function ossV1Sign(accessKeySecret: string, stringToSign: string): string {
  // our own base64 encoder (./bytes) instead of crypto-js/enc-base64: one encoder in the bundle
  return base64Encode(fromWordArray(HmacSHA1(stringToSign, accessKeySecret)));
}

/** The Authorization header value for a V1 request, and the StringToSign it covers. */
export function ossV1Authorization(accessKeyId: string, accessKeySecret: string, req: OssV1Request): { authorization: string; stringToSign: string; signature: string } {
  const stringToSign = ossV1StringToSign(req);
  const signature = ossV1Sign(accessKeySecret, stringToSign);
  return { authorization: `OSS ${accessKeyId}:${signature}`, stringToSign, signature };
}

/** `OSS ak:sig` → parts, or null when the header is not a V1 Authorization. */
export function parseOssV1Authorization(header: string): { accessKeyId: string; signature: string } | null {
  const m = /^OSS ([^:\s]+):(\S+)$/.exec(header.trim());
  return m ? { accessKeyId: m[1], signature: m[2] } : null;
}

/** RFC 1123 GMT date for `x-oss-date` / `Date` (V1). */
export function formatOssV1Date(ms: number): string {
  return new Date(ms).toUTCString();
}

/** `yyyymmddTHHMMssZ` for `x-oss-date` (V4). */
export function formatOssV4Date(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------- PostObject policy

export type PostPolicyCondition = Record<string, string> | [string, string | number, string | number];

export interface PostPolicy {
  /** ISO 8601 UTC, e.g. 2024-01-01T12:00:00.000Z */
  expiration: string;
  conditions: PostPolicyCondition[];
}

/** base64 of the policy's UTF-8 JSON (the `policy` form field). */
export function encodePostPolicy(policy: PostPolicy): string {
  return utf8ToBase64(JSON.stringify(policy));
}

/** V1 PostObject `Signature` = base64(HMAC-SHA1(secret, policyBase64)). */
export function ossPostPolicySignature(accessKeySecret: string, policyBase64: string): string {
  return ossV1Sign(accessKeySecret, policyBase64);
}

/** V4 PostObject `x-oss-signature` = hex(HMAC-SHA256(V4 signing key, policyBase64)). `date` is yyyymmdd. */
export function ossPostPolicyV4Signature(accessKeySecret: string, date: string, region: string, policyBase64: string): string {
  return HmacSHA256(policyBase64, ossV4SigningKey(accessKeySecret, date, region)).toString();
}

// ---------------------------------------------------------------- V4

/** RFC 3986 encoding as ali-oss applies it (encodeURIComponent plus !'()*). */
export function ossEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface OssV4Request {
  method: string;
  bucket?: string;
  key?: string;
  headers: OssHeaders;
  /** Every query parameter (all are signed in V4); null/'' = bare key. */
  query?: OssQuery;
  /** Extra headers to sign besides content-type, content-md5 and x-oss-* (lower-cased, e.g. ['host']). */
  additionalHeaders?: string[];
}

/** Lower-case, dedupe, drop the always-signed ones, sort (as ali-oss fixAdditionalHeaders). */
export function normalizeAdditionalHeaders(list: string[] | undefined): string[] {
  if (!list) return [];
  const seen: Record<string, true> = {};
  const out: string[] = [];
  for (const raw of list) {
    const v = raw.trim().toLowerCase();
    if (!v || seen[v] || v === 'content-type' || v === 'content-md5' || v.indexOf('x-oss-') === 0) continue;
    seen[v] = true;
    out.push(v);
  }
  return out.sort();
}

/** VERB \n URI \n query \n headers \n additional \n hashed payload. Throws if an additional header is missing. */
export function ossV4CanonicalRequest(req: OssV4Request): string {
  const h = lowercaseHeaders(req.headers);
  const additional = normalizeAdditionalHeaders(req.additionalHeaders);
  const uri = ossEncode(`/${req.bucket ? `${req.bucket}/` : ''}${req.key || ''}`).replace(/%2F/g, '/');
  const q = req.query || {};
  const qkeys = Object.keys(q)
    .filter((k) => q[k] !== undefined)
    .sort();
  const query = qkeys
    .map((k) => {
      const v = q[k];
      return v === null || v === '' ? ossEncode(k) : `${ossEncode(k)}=${ossEncode(String(v))}`;
    })
    .join('&');
  for (const a of additional) {
    if (!(a in h)) throw new Error(`additional header ${a} is not in the request headers`);
  }
  const names = Object.keys(h).filter((k) => k === 'content-type' || k === 'content-md5' || k.indexOf('x-oss-') === 0);
  for (const a of additional) if (names.indexOf(a) < 0) names.push(a);
  names.sort();
  const canonicalHeaders = names.map((k) => `${k}:${h[k].trim()}\n`).join('');
  return [req.method.toUpperCase(), uri, query, canonicalHeaders, additional.join(';'), h['x-oss-content-sha256'] || 'UNSIGNED-PAYLOAD'].join('\n');
}

/** `OSS4-HMAC-SHA256 \n <x-oss-date> \n <yyyymmdd>/<region>/oss/aliyun_v4_request \n hex(sha256(canonical))`. */
export function ossV4StringToSign(region: string, dateTime: string, canonicalRequest: string): string {
  return ['OSS4-HMAC-SHA256', dateTime, `${dateTime.split('T')[0]}/${region}/oss/aliyun_v4_request`, SHA256(canonicalRequest).toString()].join('\n');
}

/** HMAC256(HMAC256(HMAC256(HMAC256("aliyun_v4"+secret, date), region), "oss"), "aliyun_v4_request"). */
export function ossV4SigningKey(accessKeySecret: string, date: string, region: string): ReturnType<typeof HmacSHA256> {
  const kDate = HmacSHA256(date, `aliyun_v4${accessKeySecret}`);
  const kRegion = HmacSHA256(region, kDate);
  const kService = HmacSHA256('oss', kRegion);
  return HmacSHA256('aliyun_v4_request', kService);
}

/** hex(HMAC256(signingKey, stringToSign)); `date` is yyyymmdd. (A crypto-js WordArray's toString() is hex.) */
export function ossV4Sign(accessKeySecret: string, date: string, region: string, stringToSign: string): string {
  return HmacSHA256(stringToSign, ossV4SigningKey(accessKeySecret, date, region)).toString();
}

/**
 * The V4 Authorization header. The request's headers must already hold `x-oss-date` (yyyymmddTHHMMssZ) and
 * normally `x-oss-content-sha256: UNSIGNED-PAYLOAD` (and `x-oss-security-token` under STS).
 */
export function ossV4Authorization(
  accessKeyId: string,
  accessKeySecret: string,
  region: string,
  req: OssV4Request,
): { authorization: string; canonicalRequest: string; stringToSign: string; signature: string } {
  const h = lowercaseHeaders(req.headers);
  const dateTime = h['x-oss-date'] || (req.query && req.query['x-oss-date'] != null ? String(req.query['x-oss-date']) : '');
  if (!/^\d{8}T\d{6}Z$/.test(dateTime)) throw new Error('V4 signing needs an x-oss-date header in yyyymmddTHHMMssZ form');
  const additional = normalizeAdditionalHeaders(req.additionalHeaders);
  const canonicalRequest = ossV4CanonicalRequest(Object.assign({}, req, { additionalHeaders: additional }));
  const stringToSign = ossV4StringToSign(region, dateTime, canonicalRequest);
  const date = dateTime.split('T')[0];
  const signature = ossV4Sign(accessKeySecret, date, region, stringToSign);
  const add = additional.length ? `AdditionalHeaders=${additional.join(';')},` : '';
  return {
    authorization: `OSS4-HMAC-SHA256 Credential=${accessKeyId}/${date}/${region}/oss/aliyun_v4_request,${add}Signature=${signature}`,
    canonicalRequest,
    stringToSign,
    signature,
  };
}

export interface ParsedOssV4Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  product: string;
  additionalHeaders: string[];
  signature: string;
}

/** Parse a V4 Authorization header, or null when it is not one / is malformed. */
export function parseOssV4Authorization(header: string): ParsedOssV4Authorization | null {
  const s = header.trim();
  if (s.indexOf('OSS4-HMAC-SHA256 ') !== 0) return null;
  const fields: Record<string, string> = {};
  for (const part of s.slice('OSS4-HMAC-SHA256 '.length).split(',')) {
    const i = part.indexOf('=');
    if (i < 0) return null;
    fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  const cred = (fields.Credential || '').split('/');
  if (cred.length !== 5 || cred[4] !== 'aliyun_v4_request' || !/^\d{8}$/.test(cred[1]) || !fields.Signature) return null;
  return {
    accessKeyId: cred[0],
    date: cred[1],
    region: cred[2],
    product: cred[3],
    additionalHeaders: fields.AdditionalHeaders ? fields.AdditionalHeaders.split(';').filter(Boolean) : [],
    signature: fields.Signature,
  };
}
