/**
 * TC3-HMAC-SHA256 verification, as Tencent Cloud API 3.0 checks it (https://cloud.tencent.com/document/api/306/57449):
 *   Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<yyyy-MM-dd>/<service>/tc3_request, SignedHeaders=content-type;host, Signature=<hex>
 *   CanonicalRequest = METHOD \n URI \n QUERY \n canonical headers \n signed headers \n hex(sha256(body))
 *   StringToSign = TC3-HMAC-SHA256 \n X-TC-Timestamp \n <date>/<service>/tc3_request \n hex(sha256(CanonicalRequest))
 *   key chain: HMAC("TC3"+SecretKey, date) → service → "tc3_request"
 * The date in the scope is the timestamp's UTC date; timestamps more than 5 minutes from the server clock fail.
 * The Host value is compared without its port (the official Node SDK signs the host name only), and the key chain
 * uses the service named in the credential scope.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface Tc3Request {
  method: string;
  /** Path without the query. */
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type Tc3Result = { ok: true; secretId: string; service: string; action: string; version: string; region?: string } | { ok: false; code: string; message: string; /** A refused signature: what the server signed. */ stringToSign?: string; canonicalRequest?: string };

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

function header(h: Tc3Request['headers'], name: string): string | undefined {
  const k = name.toLowerCase();
  // Own headers only: a signed header named "constructor" must not read Object.prototype's.
  if (!Object.prototype.hasOwnProperty.call(h, k)) return undefined;
  const v = h[k];
  return Array.isArray(v) ? v[0] : typeof v === 'string' ? v : undefined;
}

export function tc3Signature(secretKey: string, date: string, service: string, stringToSign: string): string {
  const kDate = hmac(`TC3${secretKey}`, date);
  const kService = hmac(kDate, service);
  const kSigning = hmac(kService, 'tc3_request');
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}

export function tc3Verify(req: Tc3Request, opts: { secrets: ReadonlyMap<string, string>; nowSec: number; maxSkewSec?: number }): Tc3Result {
  const auth = header(req.headers, 'authorization');
  if (!auth) return { ok: false, code: 'AuthFailure.SignatureFailure', message: 'The request has no Authorization header (TC3-HMAC-SHA256 expected).' };
  const m = /^TC3-HMAC-SHA256\s+Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s]+)\/tc3_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(auth.trim());
  if (!m) return { ok: false, code: 'AuthFailure.InvalidAuthorization', message: 'Authorization is not "TC3-HMAC-SHA256 Credential=…/date/service/tc3_request, SignedHeaders=…, Signature=…".' };
  const [, secretId, date, service, signedHeadersRaw, signature] = m;
  const action = header(req.headers, 'x-tc-action');
  const version = header(req.headers, 'x-tc-version');
  const tsRaw = header(req.headers, 'x-tc-timestamp');
  if (!action) return { ok: false, code: 'MissingParameter', message: 'The X-TC-Action header is missing.' };
  if (!version) return { ok: false, code: 'MissingParameter', message: 'The X-TC-Version header is missing.' };
  if (!tsRaw || !/^\d{1,12}$/.test(tsRaw)) return { ok: false, code: 'MissingParameter', message: 'The X-TC-Timestamp header is missing or not a number.' };
  const ts = parseInt(tsRaw, 10);
  const skew = opts.maxSkewSec ?? 300;
  if (Math.abs(opts.nowSec - ts) > skew) {
    return { ok: false, code: 'AuthFailure.SignatureExpire', message: `The request timestamp ${ts} is more than ${skew} s from the server time ${opts.nowSec}.` };
  }
  const scopeDate = new Date(ts * 1000).toISOString().slice(0, 10);
  if (date !== scopeDate) return { ok: false, code: 'AuthFailure.SignatureFailure', message: `The credential date ${date} is not the timestamp's UTC date ${scopeDate}.` };
  // The key chain uses the service named in the credential scope (Tencent's Node client takes it from the
  // endpoint's first label, e.g. "127" for 127.0.0.1:port). Addressed by a *.tencentcloudapi.com host name, the
  // scope must name that host's service.
  const hostName = (header(req.headers, 'host') || '').trim().toLowerCase().replace(/:\d+$/, '');
  const hostService = /^([a-z0-9-]+)(\.[a-z0-9-]+)?\.tencentcloudapi\.com$/.exec(hostName);
  if (hostService && hostService[1] !== service) return { ok: false, code: 'AuthFailure.SignatureFailure', message: `The credential scope names service "${service}"; the host ${hostName} is "${hostService[1]}".` };
  if (!/^[A-Za-z0-9.:_-]{1,64}$/.test(service)) return { ok: false, code: 'AuthFailure.SignatureFailure', message: `Bad service "${service}" in the credential scope.` };
  const secretKey = opts.secrets.get(secretId);
  if (secretKey === undefined) return { ok: false, code: 'AuthFailure.SecretIdNotFound', message: `SecretId ${secretId} is not known.` };
  const signedHeaders = signedHeadersRaw.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('content-type')) {
    return { ok: false, code: 'AuthFailure.SignatureFailure', message: 'SignedHeaders must include content-type and host.' };
  }
  const canonicalHeaders = signedHeaders
    .map((h) => {
      // The spec lowercases and trims every signed header value.
      let v = (header(req.headers, h) || '').trim().toLowerCase();
      if (h === 'host') v = v.replace(/:\d+$/, '');
      return `${h}:${v}\n`;
    })
    .join('');
  const canonicalRequest = [req.method.toUpperCase(), req.path || '/', req.query, canonicalHeaders, signedHeadersRaw, sha256hex(req.body)].join('\n');
  const stringToSign = ['TC3-HMAC-SHA256', String(ts), `${date}/${service}/tc3_request`, sha256hex(canonicalRequest)].join('\n');
  const expected = tc3Signature(secretKey, date, service, stringToSign);
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'))) {
    return { ok: false, code: 'AuthFailure.SignatureFailure', message: 'The signature does not match (check the SecretKey, the body and the signed headers).', stringToSign, canonicalRequest };
  }
  return { ok: true, secretId, service, action, version, region: header(req.headers, 'x-tc-region') };
}
