/**
 * OSS request authentication: V1 header, V1 presigned URL, V4 header, and the PostObject policy signatures.
 * Signatures are recomputed with the shared primitives in sdk/src/aliyun (the same code the SDK signs with; their
 * unit tests pin them to ali-oss's own implementation).
 */
import { timingSafeEqual } from 'node:crypto';
import {
  ossV1StringToSign, ossV1Sign, parseOssV1Authorization, pickV1SubResources,
  ossV4CanonicalRequest, ossV4StringToSign, ossV4Sign, parseOssV4Authorization, normalizeAdditionalHeaders,
  ossPostPolicySignature, ossPostPolicyV4Signature,
} from '../../../sdk/src/aliyun/oss-signature';
import { MAX_SKEW_MS, type AliyunShared, type TempCredential } from '../aliyun-common';
import { OssError, E } from './errors';

export type Query = Record<string, string | null>;

export interface AuthContext {
  method: string;
  bucket?: string;
  key?: string;
  /** Lower-cased names, UTF-8 text values. */
  headers: Record<string, string>;
  query: Query;
  now: number;
}

export interface Principal {
  type: 'V1' | 'V4' | 'V1-presigned' | 'anonymous' | 'post-V1' | 'post-V4';
  accessKeyId?: string;
  temp?: TempCredential;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hexBytes(s: string): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => b.toString(16).toUpperCase().padStart(2, '0'))
    .join(' ');
}

/** RFC 1123 / ISO parse; undefined when unparseable. */
function parseHttpDate(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return isNaN(t) ? undefined : t;
}

function parseV4Date(s: string | undefined): number | undefined {
  const m = s ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** OSS's SignatureDoesNotMatch, with what OSS echoes back to help the caller debug (V4 adds the canonical request). */
function signatureMismatch(parsed: { accessKeyId: string; signature: string }, stringToSign: string, canonicalRequest?: string): OssError {
  const extra: Array<[string, string]> = [
    ['OSSAccessKeyId', parsed.accessKeyId],
    ['SignatureProvided', parsed.signature],
    ['StringToSign', stringToSign],
    ['StringToSignBytes', hexBytes(stringToSign)],
  ];
  if (canonicalRequest !== undefined) extra.push(['CanonicalRequest', canonicalRequest], ['CanonicalRequestBytes', hexBytes(canonicalRequest)]);
  return new OssError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', extra, '0002-00000040');
}

export function skewError(requestTime: number, now: number): OssError {
  return new OssError(
    403,
    'RequestTimeTooSkewed',
    'The difference between the request time and the current time is too large.',
    [
      ['RequestTime', iso(requestTime)],
      ['ServerTime', iso(now)],
      ['MaxAllowedSkewMilliseconds', MAX_SKEW_MS],
    ],
  );
}

function keyError(shared: AliyunShared, accessKeyId: string, token: string | undefined, now: number): { secret: string; temp?: TempCredential } {
  const r = shared.authenticate(accessKeyId, token, now);
  if (r.ok) return { secret: r.accessKeySecret, temp: r.temp };
  if (r.code === 'MissingSecurityToken') throw new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', [['OSSAccessKeyId', accessKeyId]]);
  if (r.code === 'InvalidAccessKeyId') throw new OssError(403, 'InvalidAccessKeyId', r.message, [['OSSAccessKeyId', accessKeyId]]);
  if (r.code === 'SecurityTokenExpired') throw new OssError(403, 'SecurityTokenExpired', r.message, [['OSSAccessKeyId', accessKeyId]]);
  throw new OssError(403, 'InvalidSecurityToken', r.message, [['OSSAccessKeyId', accessKeyId]]);
}

/** Authenticate a REST request (not PostObject). Throws OssError; returns the principal on success. */
export function authenticate(shared: AliyunShared, c: AuthContext): Principal {
  const authz = c.headers.authorization;
  if (authz) {
    if (authz.startsWith('OSS4-HMAC-SHA256')) return verifyV4(shared, c, authz);
    if (authz.startsWith('OSS ')) return verifyV1(shared, c, authz);
    throw E.invalidArgument('Authorization header is invalid.', 'Authorization', authz);
  }
  if (c.query.OSSAccessKeyId != null || c.query.Signature != null) return verifyPresignedV1(shared, c);
  if (c.query['x-oss-signature-version'] != null) throw E.notImplemented('V4 presigned URLs');
  return { type: 'anonymous' };
}

function verifyV1(shared: AliyunShared, c: AuthContext, authz: string): Principal {
  const parsed = parseOssV1Authorization(authz);
  if (!parsed) throw E.invalidArgument('Authorization header is invalid.', 'Authorization', authz);
  const token = c.headers['x-oss-security-token'];
  const { secret, temp } = keyError(shared, parsed.accessKeyId, token, c.now);
  const dateStr = c.headers['x-oss-date'] || c.headers.date;
  const t = parseHttpDate(dateStr);
  if (t === undefined) throw new OssError(403, 'AccessDenied', 'OSS authentication requires a valid Date.');
  if (Math.abs(c.now - t) > MAX_SKEW_MS) throw skewError(t, c.now);
  const stringToSign = ossV1StringToSign({ method: c.method, bucket: c.bucket, key: c.key, headers: c.headers, subResources: pickV1SubResources(c.query) });
  const expected = ossV1Sign(secret, stringToSign);
  if (!safeEqual(expected, parsed.signature)) throw signatureMismatch(parsed, stringToSign);
  return { type: 'V1', accessKeyId: parsed.accessKeyId, temp };
}

function verifyPresignedV1(shared: AliyunShared, c: AuthContext): Principal {
  const ak = c.query.OSSAccessKeyId;
  const sig = c.query.Signature;
  const expires = c.query.Expires;
  if (!ak || !sig || !expires || !/^\d+$/.test(expires)) throw new OssError(403, 'AccessDenied', 'Request is missing OSSAccessKeyId, Expires or Signature.');
  const { secret, temp } = keyError(shared, ak, c.query['security-token'] || undefined, c.now);
  if (parseInt(expires, 10) * 1000 < c.now) {
    throw new OssError(403, 'AccessDenied', 'Request has expired.', [['Expires', iso(parseInt(expires, 10) * 1000)], ['ServerTime', iso(c.now)]]);
  }
  const stringToSign = ossV1StringToSign({ method: c.method, bucket: c.bucket, key: c.key, headers: c.headers, subResources: pickV1SubResources(c.query), expires });
  if (!safeEqual(ossV1Sign(secret, stringToSign), sig)) {
    throw new OssError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      [['OSSAccessKeyId', ak], ['SignatureProvided', sig], ['StringToSign', stringToSign], ['StringToSignBytes', hexBytes(stringToSign)]],
      '0002-00000040',
    );
  }
  return { type: 'V1-presigned', accessKeyId: ak, temp };
}

function verifyV4(shared: AliyunShared, c: AuthContext, authz: string): Principal {
  const parsed = parseOssV4Authorization(authz);
  if (!parsed) throw E.invalidArgument('Authorization header is invalid.', 'Authorization', authz);
  if (!parsed.signature) throw new OssError(403, 'AccessDenied', 'The Signature in the Authorization header is empty.', [], '0002-00000208');
  const token = c.headers['x-oss-security-token'];
  const { secret, temp } = keyError(shared, parsed.accessKeyId, token, c.now);
  const sha = c.headers['x-oss-content-sha256'];
  if (!sha || !(sha === 'UNSIGNED-PAYLOAD' || /^[0-9a-f]{64}$/.test(sha))) {
    throw new OssError(400, 'InvalidArgument', 'Invalid x-oss-content-sha256: UNSIGNED-PAYLOAD or the hex SHA-256 of the body is required.', [['ArgumentName', 'x-oss-content-sha256'], ['ArgumentValue', sha || '']], '0002-00000214');
  }
  const dateTime = c.headers['x-oss-date'];
  const t = parseV4Date(dateTime);
  if (t === undefined) throw new OssError(403, 'AccessDenied', 'V4 signatures require x-oss-date in the form yyyymmddTHHMMssZ.');
  if (dateTime.slice(0, 8) !== parsed.date) throw new OssError(403, 'AccessDenied', 'The date in the Credential scope does not match x-oss-date.');
  if (parsed.product !== 'oss') throw new OssError(403, 'AccessDenied', `Invalid product in the Credential scope: ${parsed.product}.`);
  if (Math.abs(c.now - t) > MAX_SKEW_MS) throw skewError(t, c.now);
  const additional = normalizeAdditionalHeaders(parsed.additionalHeaders);
  for (const a of additional) if (!(a in c.headers)) throw E.invalidArgument(`AdditionalHeaders lists ${a}, which the request does not carry.`, 'AdditionalHeaders', a);
  const canonicalRequest = ossV4CanonicalRequest({ method: c.method, bucket: c.bucket, key: c.key, headers: c.headers, query: c.query, additionalHeaders: additional });
  const stringToSign = ossV4StringToSign(parsed.region, dateTime, canonicalRequest);
  const expected = ossV4Sign(secret, parsed.date, parsed.region, stringToSign);
  if (!safeEqual(expected, parsed.signature)) throw signatureMismatch(parsed, stringToSign, canonicalRequest);
  return { type: 'V4', accessKeyId: parsed.accessKeyId, temp };
}

/**
 * PostObject: verify the policy signature from the form fields (lower-cased names). Returns the principal; the
 * policy's conditions are checked separately (they need the file size).
 */
export function authenticatePost(shared: AliyunShared, fields: Record<string, string>, now: number): Principal {
  const policy = fields.policy;
  if (fields['x-oss-signature-version'] !== undefined || fields['x-oss-credential'] !== undefined) {
    if (fields['x-oss-signature-version'] !== 'OSS4-HMAC-SHA256') throw E.invalidArgument('x-oss-signature-version must be OSS4-HMAC-SHA256.', 'x-oss-signature-version', fields['x-oss-signature-version'] || '');
    const cred = (fields['x-oss-credential'] || '').split('/');
    if (cred.length !== 5 || cred[3] !== 'oss' || cred[4] !== 'aliyun_v4_request') throw E.invalidArgument('x-oss-credential is malformed.', 'x-oss-credential', fields['x-oss-credential'] || '');
    if (!policy) throw E.invalidArgument("Bucket POST must contain a field named 'policy'.", 'policy', '');
    const sig = fields['x-oss-signature'];
    if (!sig) throw new OssError(403, 'AccessDenied', 'The x-oss-signature field is empty.', [], '0002-00000208');
    const t = parseV4Date(fields['x-oss-date']);
    if (t === undefined || fields['x-oss-date'].slice(0, 8) !== cred[1]) throw new OssError(403, 'AccessDenied', 'x-oss-date is missing, malformed or does not match the credential date.');
    const { secret, temp } = keyError(shared, cred[0], fields['x-oss-security-token'], now);
    const expected = ossPostPolicyV4Signature(secret, cred[1], cred[2], policy);
    if (!safeEqual(expected, sig)) {
      throw new OssError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', [['OSSAccessKeyId', cred[0]], ['SignatureProvided', sig], ['StringToSign', policy], ['StringToSignBytes', hexBytes(policy)]], '0002-00000040');
    }
    return { type: 'post-V4', accessKeyId: cred[0], temp };
  }
  const ak = fields.ossaccesskeyid;
  if (!ak) return { type: 'anonymous' };
  if (!policy) throw E.invalidArgument("Bucket POST must contain a field named 'policy'.", 'policy', '');
  const sig = fields.signature;
  if (!sig) throw E.invalidArgument("Bucket POST must contain a field named 'Signature'.", 'Signature', '');
  const { secret, temp } = keyError(shared, ak, fields['x-oss-security-token'], now);
  const expected = ossPostPolicySignature(secret, policy);
  if (!safeEqual(expected, sig)) {
    throw new OssError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', [['OSSAccessKeyId', ak], ['SignatureProvided', sig], ['StringToSign', policy], ['StringToSignBytes', hexBytes(policy)]], '0002-00000040');
  }
  return { type: 'post-V1', accessKeyId: ak, temp };
}

export interface ParsedPolicy {
  expiration: number;
  conditions: unknown[];
  contentLengthRange?: [number, number];
}

function policyFail(cond: unknown): OssError {
  return new OssError(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(cond)}`);
}

/**
 * Decode the policy and check every condition that depends on the fields (expiration, bucket, eq, starts-with, in,
 * not-in). content-length-range is returned for the caller to apply once the file size is known.
 */
export function checkPolicy(policyB64: string, fields: Record<string, string>, bucket: string, now: number): ParsedPolicy {
  let doc: { expiration?: unknown; conditions?: unknown };
  try {
    doc = JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8'));
  } catch {
    throw new OssError(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
  }
  if (!doc || typeof doc !== 'object') throw new OssError(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
  if (typeof doc.expiration !== 'string' || isNaN(Date.parse(doc.expiration))) throw new OssError(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid \'expiration\' value, ISO 8601 GMT required.');
  const expiration = Date.parse(doc.expiration);
  if (expiration <= now) throw new OssError(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
  if (!Array.isArray(doc.conditions)) throw new OssError(400, 'InvalidPolicyDocument', "Invalid Policy: 'conditions' must be an array.");
  const get = (name: string): string | undefined => (name === 'bucket' ? bucket : fields[name.toLowerCase()]);
  let range: [number, number] | undefined;
  for (const cond of doc.conditions) {
    if (cond && typeof cond === 'object' && !Array.isArray(cond)) {
      const entries = Object.entries(cond as Record<string, unknown>);
      if (entries.length !== 1) throw new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: Invalid Simple-Condition: ${JSON.stringify(cond)}`);
      const [name, value] = entries[0];
      if (get(name) !== String(value)) throw policyFail(cond);
      continue;
    }
    if (!Array.isArray(cond) || cond.length !== 3) throw new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: Invalid condition: ${JSON.stringify(cond)}`);
    const op = String(cond[0]).toLowerCase();
    if (op === 'content-length-range') {
      const min = Number(cond[1]);
      const max = Number(cond[2]);
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
        throw new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: Invalid content-length-range: ${JSON.stringify(cond)}`, [], '0006-00000221');
      }
      range = [min, max];
      continue;
    }
    const field = String(cond[1]);
    if (!field.startsWith('$')) throw new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: field names must start with $: ${JSON.stringify(cond)}`);
    const actual = get(field.slice(1));
    if (op === 'eq') {
      if (actual !== String(cond[2])) throw policyFail(cond);
    } else if (op === 'starts-with') {
      if (actual === undefined || !actual.startsWith(String(cond[2]))) throw policyFail(cond);
    } else if (op === 'in' || op === 'not-in') {
      if (!Array.isArray(cond[2])) throw new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: ${op} needs a list: ${JSON.stringify(cond)}`);
      const hit = actual !== undefined && (cond[2] as unknown[]).map(String).includes(actual);
      if (hit !== (op === 'in')) throw policyFail(cond);
    } else {
      throw new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: Unknown condition operator: ${JSON.stringify(cond)}`);
    }
  }
  return { expiration, conditions: doc.conditions, contentLengthRange: range };
}
