/**
 * VOD upload credentials: `UploadAuth` and `UploadAddress` are base64 of UTF-8 JSON (as CreateUploadVideo /
 * RefreshUploadVideo / CreateUploadImage return them). Decoding validates every field the upload needs and throws a
 * MediaKitError with code `InvalidUploadAuth` / `InvalidUploadAddress` naming the problem.
 */
import { MediaKitError } from '../errors';
import { base64ToUtf8, utf8ToBase64 } from '../util/bytes';

export interface UploadAuth {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  /** Lifetime in seconds, as a string ("3000" for video). */
  Expiration: string;
  /** Absolute expiry, ISO 8601 UTC (e.g. 2020-07-29T15:20:31Z), when VOD sends it. */
  ExpireUTCTime?: string;
  Region?: string;
}

export interface UploadAddress {
  /** Includes the scheme: https://oss-cn-shanghai.aliyuncs.com (or http://127.0.0.1:PORT locally). */
  Endpoint: string;
  Bucket: string;
  FileName: string;
}

export const CredentialErrorCode = {
  InvalidUploadAuth: 'InvalidUploadAuth',
  InvalidUploadAddress: 'InvalidUploadAddress',
} as const;

function decodeJson(code: string, what: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'string' || !value.trim()) throw new MediaKitError(code, `${what} is empty: pass the base64 string VOD returned.`);
  let text: string;
  try {
    text = base64ToUtf8(value.trim());
  } catch (e) {
    throw new MediaKitError(code, `${what} is not valid base64 of UTF-8 text (${(e as Error).message}).`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new MediaKitError(code, `${what} does not decode to JSON.`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new MediaKitError(code, `${what} does not decode to a JSON object.`);
  return obj as Record<string, unknown>;
}

/** The named fields, each a non-empty string (Expiration may also be a number), in order; throws on the first missing. */
function requireStrings(code: string, what: string, obj: Record<string, unknown>, fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const v = obj[field];
    if (typeof v === 'number' && field === 'Expiration') out[field] = String(v);
    else if (typeof v !== 'string' || !v) throw new MediaKitError(code, `${what} has no ${field}.`, { field });
    else out[field] = v;
  }
  return out;
}

/** Validate an UploadAuth object (already decoded). */
export function validateUploadAuth(obj: Record<string, unknown>): UploadAuth {
  const c = CredentialErrorCode.InvalidUploadAuth;
  const auth = requireStrings(c, 'UploadAuth', obj, ['AccessKeyId', 'AccessKeySecret', 'SecurityToken', 'Expiration']) as unknown as UploadAuth;
  if (obj.ExpireUTCTime !== undefined && obj.ExpireUTCTime !== null && obj.ExpireUTCTime !== '') {
    if (typeof obj.ExpireUTCTime !== 'string' || isNaN(Date.parse(obj.ExpireUTCTime))) {
      throw new MediaKitError(c, 'UploadAuth.ExpireUTCTime is not an ISO 8601 time.', { field: 'ExpireUTCTime' });
    }
    auth.ExpireUTCTime = obj.ExpireUTCTime;
  }
  if (typeof obj.Region === 'string' && obj.Region) auth.Region = obj.Region;
  return auth;
}

/** Validate an UploadAddress object (already decoded). */
export function validateUploadAddress(obj: Record<string, unknown>): UploadAddress {
  const c = CredentialErrorCode.InvalidUploadAddress;
  const addr = requireStrings(c, 'UploadAddress', obj, ['Endpoint', 'Bucket', 'FileName']) as unknown as UploadAddress;
  if (!/^https?:\/\/[^/\s]+\/?$/i.test(addr.Endpoint) && !/^[a-z0-9.-]+(:\d+)?$/i.test(addr.Endpoint)) {
    throw new MediaKitError(c, `UploadAddress.Endpoint is not a host or http(s) URL: ${JSON.stringify(addr.Endpoint)}.`, { field: 'Endpoint' });
  }
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(addr.Bucket)) {
    throw new MediaKitError(c, `UploadAddress.Bucket is not a valid bucket name: ${JSON.stringify(addr.Bucket)}.`, { field: 'Bucket' });
  }
  if (addr.FileName.length > 1023 || addr.FileName.charAt(0) === '/' || addr.FileName.charAt(0) === '\\') {
    throw new MediaKitError(c, 'UploadAddress.FileName is not a valid object key.', { field: 'FileName' });
  }
  return addr;
}

export function decodeUploadAuth(uploadAuth: string): UploadAuth {
  return validateUploadAuth(decodeJson(CredentialErrorCode.InvalidUploadAuth, 'UploadAuth', uploadAuth));
}

export function decodeUploadAddress(uploadAddress: string): UploadAddress {
  return validateUploadAddress(decodeJson(CredentialErrorCode.InvalidUploadAddress, 'UploadAddress', uploadAddress));
}

export function encodeUploadAuth(auth: UploadAuth): string {
  return utf8ToBase64(JSON.stringify(auth));
}

export function encodeUploadAddress(addr: UploadAddress): string {
  return utf8ToBase64(JSON.stringify(addr));
}

/**
 * When the credentials stop working, in ms since the epoch: ExpireUTCTime when present, else issuedAtMs +
 * Expiration seconds. Undefined when neither can be worked out.
 */
export function uploadAuthExpiresAt(auth: UploadAuth, issuedAtMs?: number): number | undefined {
  if (auth.ExpireUTCTime) return Date.parse(auth.ExpireUTCTime);
  const secs = Number(auth.Expiration);
  if (issuedAtMs !== undefined && isFinite(secs) && secs > 0 && /^\d+$/.test(auth.Expiration)) return issuedAtMs + secs * 1000;
  return undefined;
}

export interface OssEndpoint {
  scheme: 'http' | 'https';
  /** host[:port] */
  host: string;
  hostname: string;
  port?: number;
  /** IP or localhost endpoints address buckets path-style (/bucket/key). */
  pathStyle: boolean;
  /** `cn-shanghai` from `oss-cn-shanghai[-internal].aliyuncs.com`, when the host says it. */
  region?: string;
}

/** Parse an UploadAddress Endpoint (with or without scheme; https by default). */
export function parseOssEndpoint(endpoint: string): OssEndpoint {
  const m = /^(?:(https?):\/\/)?([^/:\s]+|\[[0-9a-f:.]+\])(?::(\d+))?\/?$/i.exec(endpoint.trim());
  if (!m) throw new MediaKitError(CredentialErrorCode.InvalidUploadAddress, `Not an OSS endpoint: ${JSON.stringify(endpoint)}.`);
  const scheme = (m[1] || 'https').toLowerCase() as 'http' | 'https';
  const hostname = m[2].toLowerCase();
  const port = m[3] ? parseInt(m[3], 10) : undefined;
  const isIp = /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.charAt(0) === '[' || hostname === 'localhost';
  const r = /^oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/.exec(hostname);
  return { scheme, host: port ? `${hostname}:${port}` : hostname, hostname, port, pathStyle: isIp, region: r ? r[1] : undefined };
}

/** The key as it appears in a URL path: each segment percent-encoded, `/` kept. */
export function encodeOssKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

/**
 * The URL of an object (or of the bucket when key is empty): virtual-hosted
 * `https://bucket.oss-cn-shanghai.aliyuncs.com/key` for real endpoints, path-style `http://127.0.0.1:PORT/bucket/key`
 * for IP / localhost ones. The signature's resource is `/bucket/key` either way.
 */
export function ossObjectUrl(endpoint: string | OssEndpoint, bucket: string, key: string): string {
  const ep = typeof endpoint === 'string' ? parseOssEndpoint(endpoint) : endpoint;
  if (ep.pathStyle) return `${ep.scheme}://${ep.host}/${bucket}/${encodeOssKey(key)}`;
  return `${ep.scheme}://${bucket}.${ep.host}/${encodeOssKey(key)}`;
}
