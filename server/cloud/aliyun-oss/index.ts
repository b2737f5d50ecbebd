/**
 * Local Aliyun OSS: the REST protocol as OSS speaks it, with real V1 / V4 / PostObject signature verification,
 * STS security tokens (shared with the STS and VOD emulators), multipart uploads streamed to disk, CRC-64 and ETags,
 * OSS error XML, and an admin API under /_admin/ for tests (faults, request log, objects, credential lifetimes).
 *
 * Addressing: path-style `/{bucket}/{key}` when the Host is an IP or localhost (what UploadAddress gives locally);
 * virtual-hosted `{bucket}.oss-{region}.aliyuncs.com` otherwise (what ali-oss sends as Host for IP endpoints, and what
 * the Node wx runtime's host mapping keeps). The signed resource is `/{bucket}/{key}` either way.
 */
import { finished } from 'node:stream/promises';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { XMLParser } from 'fast-xml-parser';
import type { Readable } from 'node:stream';
import { createFastify } from '../../http';
import { encodeHeaderValue, headerValueProblem, isHeaderToken, nullRecord } from '../../safe-input';
import type { CloudContext, CloudProvider } from '../context';
import { getAliyunShared, headerText, LOCAL_REGION, ossRequestId, registerCredentialAdmin, releaseAliyunShared, type AliyunShared } from '../aliyun-common';
import { OssError, E, errorXml, toXml } from './errors';
import { evaluateRamPolicy } from '../aliyun-common/ram-policy';
import { authenticate, authenticatePost, checkPolicy, type Principal, type Query } from './auth';
import { noteFault } from '../request-log';
import { OssStore, type ObjectMeta, type PartMeta, type UploadMeta } from './store';

export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * 1024;
export const MIN_PART_SIZE = 100 * 1024;
export const MAX_PART_NUMBER = 10000;

export type OssOp =
  | 'ListBuckets' | 'PutBucket' | 'ListObjects' | 'ListMultipartUploads' | 'PostObject'
  | 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject'
  | 'InitiateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts'
  | 'Options' | 'Unsupported';

/**
 * The RAM action each operation needs (OSS API reference, "Permissions"): the multipart steps and PostObject need
 * oss:PutObject, HeadObject needs oss:GetObject.
 */
const RAM_ACTION: Partial<Record<OssOp, string>> = {
  ListBuckets: 'oss:ListBuckets', PutBucket: 'oss:PutBucket', ListObjects: 'oss:ListObjects', ListMultipartUploads: 'oss:ListMultipartUploads',
  PostObject: 'oss:PutObject', PutObject: 'oss:PutObject', InitiateMultipartUpload: 'oss:PutObject', UploadPart: 'oss:PutObject', CompleteMultipartUpload: 'oss:PutObject',
  GetObject: 'oss:GetObject', HeadObject: 'oss:GetObject', DeleteObject: 'oss:DeleteObject', AbortMultipartUpload: 'oss:AbortMultipartUpload', ListParts: 'oss:ListParts',
};

/** Operations a VOD UploadAuth (scoped to one object) may perform. */
const OBJECT_SCOPED_OPS = new Set<OssOp>(['PutObject', 'PostObject', 'InitiateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts', 'GetObject', 'HeadObject']);

export interface FaultRule {
  id: string;
  /** Operation to hit ('*' or absent: any). */
  op?: OssOp | '*';
  /** Only keys containing this text. */
  key?: string;
  /** UploadPart only: this part number. */
  partNumber?: number;
  /** How many matching requests to affect (default 1). */
  times: number;
  hits: number;
  action: { type: 'status'; status: number; code?: string; message?: string } | { type: 'delay'; ms: number } | { type: 'reset' };
}

export interface RequestLogEntry {
  requestId: string;
  time: string;
  method: string;
  url: string;
  host: string;
  op: OssOp;
  bucket?: string;
  key?: string;
  partNumber?: number;
  status: number;
  code?: string;
  auth?: Principal['type'];
  accessKeyId?: string;
  bytesIn: number;
  fault?: string;
  ms: number;
}

interface ReqInfo {
  requestId: string;
  op: OssOp;
  bucket?: string;
  key?: string;
  partNumber?: number;
  code?: string;
  principal?: Principal;
  bytesIn: number;
  fault?: string;
  start: number;
}

const xmlParser = new XMLParser({ isArray: (name) => name === 'Part', parseTagValue: false, trimValues: true, processEntities: true });

function parseRawQuery(url: string): Query {
  const q: Query = nullRecord();
  const i = url.indexOf('?');
  if (i < 0) return q;
  for (const piece of url.slice(i + 1).split('&')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const k = safeDecode(eq < 0 ? piece : piece.slice(0, eq));
    const v = eq < 0 ? null : safeDecode(piece.slice(eq + 1));
    q[k] = v;
  }
  return q;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new OssError(400, 'InvalidURI', 'Could not parse the specified URI.', [['URI', s]]);
  }
}

function has(q: Query, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(q, k);
}

/** Validate an object key: UTF-8 1..1023 bytes, no leading / or \, no control characters, no . or .. segments. */
export function validateObjectKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < 1 || bytes > 1023) throw E.invalidObjectName('Object names must be 1 to 1023 bytes of UTF-8.');
  if (key[0] === '/' || key[0] === '\\') throw E.invalidObjectName('Object names cannot start with / or \\.');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw E.invalidObjectName('Object names cannot contain control characters.');
  if (key.split(/[/\\]/).some((seg) => seg === '..' || seg === '.')) throw E.invalidObjectName('Object names cannot contain . or .. path segments.');
  if (key.includes('\ufffd')) throw E.invalidObjectName('Object names must be valid UTF-8.');
}

function validBucketName(b: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(b);
}

/** Content-Type values fastify cannot route to a parser (empty, no slash) are set aside here and restored for signing. */
const oddContentType = new WeakMap<object, string>();

function normalizeHeaders(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = headerText(Array.isArray(v) ? v.join(',') : String(v));
  }
  const odd = oddContentType.get(req.raw);
  if (odd !== undefined) out['content-type'] = odd;
  return out;
}

function metaHeaders(h: Record<string, string>): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-oss-meta-')) meta[k] = v;
  return meta;
}

/**
 * Values the object will answer as response headers on every later GET are checked when stored: a CR, LF or NUL
 * (possible in PostObject form fields) is refused with OSS's InvalidArgument, so a stored object never makes its
 * readers fail. UTF-8 text is fine (it goes out as its bytes).
 */
function validateStoredHeaders(contentType: string | undefined, meta: Record<string, string>): void {
  if (contentType !== undefined) {
    const p = headerValueProblem(contentType);
    if (p) throw E.invalidArgument(`The Content-Type ${p}.`, 'Content-Type', contentType);
  }
  for (const [k, v] of Object.entries(meta)) {
    if (!isHeaderToken(k)) throw E.invalidArgument(`The user metadata name ${JSON.stringify(k)} is not a valid HTTP header name.`, k, v);
    const p = headerValueProblem(v);
    if (p) throw E.invalidArgument(`The user metadata ${k} ${p}.`, k, v);
  }
}

/** GetObject's response-* overrides: refused when they could not be a header value (InvalidArgument), never a 500. */
const RESPONSE_OVERRIDES: Array<[string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

function quotedMd5(md5: Buffer): string {
  return `"${md5.toString('hex').toUpperCase()}"`;
}

async function readSmallBody(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) throw E.invalidArgument(`The request body exceeds ${limit} bytes.`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

async function drain(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  stream.resume();
  // resolves on end, rejects on error / premature close (a client that went away): either way we are done
  await finished(stream).catch(() => undefined);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface AliyunOssOptions {
  /** Request-log ring size (default 5000). */
  logSize?: number;
}

export function aliyunOssProvider(options: AliyunOssOptions = {}): CloudProvider {
  return {
    name: 'oss',
    async build(ctx: CloudContext) {
      const shared = getAliyunShared(ctx);
      const store = new OssStore(ctx.dataDir);
      const app = createFastify({
        name: 'oss',
        // A path with bad percent-encoding never reaches the handler: answer it as OSS does, in XML.
        frameworkErrors: (err, req, reply) => {
          const requestId = ossRequestId();
          const e = err.code === 'FST_ERR_BAD_URL' ? new OssError(400, 'InvalidURI', 'Could not parse the specified URI.', [['URI', req.raw.url || '']]) : new OssError(400, 'InvalidArgument', err.message);
          reply.status(e.status).header('x-oss-request-id', requestId).header('Server', 'AliyunOSS').type('application/xml').send(errorXml(e, requestId, `oss-${LOCAL_REGION}.aliyuncs.com`));
        },
      });
      // Errors fastify raises around the handler (body limits on admin routes …) answer in OSS's XML too.
      app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
        const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
        if (status >= 500) console.error('[cloud:oss] internal error', err);
        const e = status >= 500 ? E.internal() : new OssError(status, status === 413 ? 'EntityTooLarge' : 'InvalidArgument', err.message);
        const requestId = ossRequestId();
        reply.status(e.status).header('x-oss-request-id', requestId).type('application/xml').send(errorXml(e, requestId, `oss-${LOCAL_REGION}.aliyuncs.com`));
      });
      const log: RequestLogEntry[] = [];
      const logSize = options.logSize || 5000;
      let faults: FaultRule[] = [];
      let faultSeq = 0;
      const infos = new WeakMap<FastifyRequest, ReqInfo>();
      const completing = new Map<string, Promise<unknown>>();

      app.addHook('onClose', async () => releaseAliyunShared(ctx));
      registerAdmin(app, ctx, shared, store, {
        log,
        getFaults: () => faults,
        addFault: (f) => {
          const rule: FaultRule = { ...f, id: `f${++faultSeq}`, hits: 0, times: f.times ?? 1 };
          faults.push(rule);
          return rule;
        },
        clearFaults: (id?: string) => {
          faults = id ? faults.filter((f) => f.id !== id) : [];
        },
      });

      function record(req: FastifyRequest, status: number) {
        const info = infos.get(req);
        if (!info) return;
        infos.delete(req);
        log.push({
          requestId: info.requestId,
          time: new Date(info.start).toISOString(),
          method: req.method,
          url: req.url,
          host: String(req.headers.host || ''),
          op: info.op,
          bucket: info.bucket,
          key: info.key,
          partNumber: info.partNumber,
          status,
          code: info.code,
          auth: info.principal?.type,
          accessKeyId: info.principal?.accessKeyId,
          bytesIn: info.bytesIn,
          fault: info.fault,
          ms: Date.now() - info.start,
        });
        if (log.length > logSize) log.splice(0, log.length - logSize);
      }

      const hostId = (bucket?: string) => (bucket ? `${bucket}.oss-${LOCAL_REGION}.aliyuncs.com` : `oss-${LOCAL_REGION}.aliyuncs.com`);
      const objectLocation = (bucket: string, key: string, pathStyle: boolean, host: string) =>
        pathStyle ? `${ctx.urls.oss}/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}` : `http://${host}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;

      function sendError(req: FastifyRequest, reply: FastifyReply, err: OssError, info: ReqInfo) {
        info.code = err.code;
        const xml = errorXml(err, info.requestId, hostId(info.bucket));
        reply.status(err.status).header('x-oss-request-id', info.requestId);
        if (err.ec) reply.header('x-oss-ec', err.ec);
        if (err.code === 'RequestTimeTooSkewed') reply.header('x-oss-server-time', new Date(ctx.now()).toISOString());
        if (req.method === 'HEAD') {
          reply.header('x-oss-err', Buffer.from(xml, 'utf8').toString('base64'));
          return reply.send();
        }
        return reply.type('application/xml').send(xml);
      }

      function takeFault(op: OssOp, key: string | undefined, partNumber: number | undefined): FaultRule | undefined {
        for (const f of faults) {
          if (f.hits >= f.times) continue;
          if (f.op && f.op !== '*' && f.op !== op) continue;
          if (f.key && !(key || '').includes(f.key)) continue;
          if (f.partNumber !== undefined && f.partNumber !== partNumber) continue;
          f.hits++;
          return f;
        }
        return undefined;
      }

      /** Apply an injected fault. Returns 'hijacked' when the connection was cut. */
      async function applyFault(req: FastifyRequest, reply: FastifyReply, info: ReqInfo, body?: Readable): Promise<'hijacked' | void> {
        const f = takeFault(info.op, info.key, info.partNumber);
        if (!f) return;
        info.fault = `${f.id}:${f.action.type}`;
        noteFault(req.raw, `oss ${f.id}: ${f.action.type === 'status' ? `status ${f.action.status}` : f.action.type === 'delay' ? `delay ${f.action.ms} ms` : 'connection reset'}`);
        if (f.action.type === 'delay') {
          await sleep(f.action.ms);
          return;
        }
        if (f.action.type === 'reset') {
          reply.hijack();
          req.raw.socket.destroy();
          info.code = 'ConnectionReset';
          record(req, 0);
          return 'hijacked';
        }
        if (body) await drain(body);
        const code = f.action.code || (f.action.status >= 500 ? 'InternalError' : 'AccessDenied');
        const message = f.action.message || (code === 'InternalError' ? 'We encountered an internal error. Please try again.' : code === 'SecurityTokenExpired' ? 'The security token you provided has expired.' : `Injected fault ${code}.`);
        throw new OssError(f.action.status, code, message);
      }

      function authorize(p: Principal, op: OssOp, bucket: string | undefined, key: string | undefined): void {
        if (p.type === 'anonymous') {
          const b = bucket ? shared.buckets.get(bucket) : undefined;
          if ((op === 'GetObject' || op === 'HeadObject') && b && key && b.publicReadPrefixes.some((pre) => key.startsWith(pre))) return;
          throw E.accessDenied(key ? 'You have no right to access this object because of bucket acl.' : 'You have no right to access this bucket because of bucket acl.');
        }
        const scope = p.temp?.scope;
        if (scope && scope.kind === 'object') {
          if (!OBJECT_SCOPED_OPS.has(op) || bucket !== scope.bucket || key !== scope.key) {
            throw new OssError(403, 'AccessDenied', `You are forbidden to ${op} ${bucket ? `/${bucket}/${key || ''}` : '/'}: the security token only allows the object it was issued for.`);
          }
        }
        // STS credentials issued with a Policy: RAM's verdict on oss:<Action> over acs:oss:<region>:<account>:<bucket>[/<key>]
        const policy = p.temp?.policy;
        if (policy) {
          const action = RAM_ACTION[op] || `oss:${op}`;
          const arn = `acs:oss:${LOCAL_REGION}:${shared.account.accountId}:${bucket === undefined ? '*' : key === undefined ? bucket : `${bucket}/${key}`}`;
          if (evaluateRamPolicy(policy, { action, resource: arn }) !== 'Allow') throw new OssError(403, 'AccessDenied', "Access denied by authorizer's policy.");
        }
      }

      function emitCreated(meta: ObjectMeta) {
        ctx.bus.emit('oss:object-created', {
          bucket: meta.bucket,
          key: meta.key,
          size: meta.size,
          crc64: meta.crc64,
          etag: meta.etag,
          contentType: meta.contentType,
          notification: meta.notification,
        });
      }

      function classify(method: string, bucket: string | undefined, key: string | undefined, q: Query, h: Record<string, string>): OssOp {
        if (method === 'OPTIONS') return 'Options';
        if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unsupported';
        if (!key) {
          if (method === 'PUT' && Object.keys(q).length === 0) return 'PutBucket';
          if (method === 'GET' && has(q, 'uploads')) return 'ListMultipartUploads';
          if (method === 'GET' && !Object.keys(q).some((k) => ['acl', 'bucketInfo', 'location', 'cors', 'lifecycle', 'policy', 'tagging', 'website', 'referer', 'logging', 'versioning', 'encryption', 'stat'].includes(k))) return 'ListObjects';
          if (method === 'POST' && (h['content-type'] || '').toLowerCase().startsWith('multipart/form-data')) return 'PostObject';
          return 'Unsupported';
        }
        switch (method) {
          case 'PUT':
            if (has(q, 'partNumber') && has(q, 'uploadId')) return 'UploadPart';
            if (h['x-oss-copy-source'] || Object.keys(q).some((k) => ['acl', 'tagging', 'symlink', 'append', 'x-oss-process'].includes(k))) return 'Unsupported';
            return 'PutObject';
          case 'POST':
            if (has(q, 'uploads')) return 'InitiateMultipartUpload';
            if (has(q, 'uploadId')) return 'CompleteMultipartUpload';
            return 'Unsupported';
          case 'GET':
            if (has(q, 'uploadId')) return 'ListParts';
            if (Object.keys(q).some((k) => ['acl', 'tagging', 'symlink', 'objectMeta', 'x-oss-process'].includes(k))) return 'Unsupported';
            return 'GetObject';
          case 'HEAD':
            return 'HeadObject';
          case 'DELETE':
            return has(q, 'uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
          default:
            return 'Unsupported';
        }
      }

      const objectHeaders = (reply: FastifyReply, m: ObjectMeta) => {
        reply.header('ETag', m.etag);
        reply.header('Last-Modified', new Date(m.lastModified).toUTCString());
        reply.header('x-oss-object-type', m.type);
        reply.header('x-oss-storage-class', 'Standard');
        reply.header('x-oss-hash-crc64ecma', m.crc64);
        reply.header('Accept-Ranges', 'bytes');
        // Validated when stored; still encoded (and an invalid name skipped) here, so old data cannot make a 500.
        for (const [k, v] of Object.entries(m.meta)) if (isHeaderToken(k)) reply.header(k, encodeHeaderValue(v));
      };

      async function handle(req: FastifyRequest, reply: FastifyReply) {
        const info: ReqInfo = { requestId: ossRequestId(), op: 'Unsupported', bytesIn: 0, start: Date.now() };
        infos.set(req, info);
        reply.header('x-oss-request-id', info.requestId);
        reply.header('Server', 'AliyunOSS');
        reply.header('Access-Control-Allow-Origin', '*');
        reply.header('Access-Control-Expose-Headers', 'ETag, x-oss-request-id, x-oss-hash-crc64ecma, x-oss-ec, x-oss-server-time, Content-Range');
        try {
          const h = normalizeHeaders(req);
          const q = parseRawQuery(req.url);
          const rawPath = req.url.split('?')[0];
          const hostHeader = (h.host || '').toLowerCase();
          const hostname = hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
          let bucket: string | undefined;
          let key: string | undefined;
          let pathStyle = true;
          if (isIP(hostname) || hostname === 'localhost' || !hostname.includes('.')) {
            const rest = rawPath.slice(1);
            const slash = rest.indexOf('/');
            bucket = safeDecode(slash < 0 ? rest : rest.slice(0, slash)) || undefined;
            key = slash < 0 ? undefined : safeDecode(rest.slice(slash + 1)) || undefined;
          } else {
            const m = /^([^.]+)\.(oss[^.]*\..+)$/.exec(hostname);
            if (m) {
              bucket = m[1];
              key = safeDecode(rawPath.slice(1)) || undefined;
              pathStyle = false;
            } else if (/^oss[^.]*\./.test(hostname)) {
              if (rawPath !== '/') throw new OssError(403, 'SecondLevelDomainForbidden', 'Please use virtual hosted style to access.');
            } else {
              const rest = rawPath.slice(1);
              const slash = rest.indexOf('/');
              bucket = safeDecode(slash < 0 ? rest : rest.slice(0, slash)) || undefined;
              key = slash < 0 ? undefined : safeDecode(rest.slice(slash + 1)) || undefined;
            }
          }
          info.bucket = bucket;
          info.key = key;
          const op = classify(req.method, bucket, key, q, h);
          info.op = op;
          if (op === 'Options') {
            reply.header('Access-Control-Allow-Methods', 'GET, PUT, POST, DELETE, HEAD');
            reply.header('Access-Control-Allow-Headers', h['access-control-request-headers'] || '*');
            reply.header('Access-Control-Max-Age', '600');
            return reply.status(200).send();
          }
          if (bucket !== undefined && !validBucketName(bucket)) throw E.invalidBucketName(bucket);
          if (key !== undefined) validateObjectKey(key);
          if (op === 'Unsupported') throw E.notImplemented(`${req.method} ${rawPath}${Object.keys(q).length ? ` with ?${Object.keys(q).join('&')}` : ''}`);
          if (op !== 'PutBucket' && op !== 'ListBuckets' && bucket && !shared.buckets.has(bucket)) throw E.noSuchBucket(bucket);
          if (op === 'PostObject') return await postObject(req, reply, info, bucket!, pathStyle, hostHeader);

          const now = ctx.now();
          const principal = authenticate(shared, { method: req.method, bucket, key, headers: h, query: q, now });
          info.principal = principal;
          authorize(principal, op, bucket, key);
          if (op === 'UploadPart') info.partNumber = Number(q.partNumber);
          const bodyOps = op === 'PutObject' || op === 'UploadPart' || op === 'CompleteMultipartUpload';
          if ((await applyFault(req, reply, info, bodyOps ? req.raw : undefined)) === 'hijacked') return reply;

          switch (op) {
            case 'ListBuckets':
              return xml(reply, 'ListAllMyBucketsResult', {
                Owner: { ID: shared.account.accountId, DisplayName: shared.account.accountId },
                Buckets: { Bucket: [...shared.buckets.values()].map((b) => ({ CreationDate: new Date(b.createdAt).toISOString(), ExtranetEndpoint: `oss-${LOCAL_REGION}.aliyuncs.com`, IntranetEndpoint: `oss-${LOCAL_REGION}-internal.aliyuncs.com`, Location: `oss-${LOCAL_REGION}`, Name: b.name, Region: LOCAL_REGION, StorageClass: 'Standard' })) },
              });
            case 'PutBucket': {
              if (principal.temp) throw E.accessDenied('Only the account AccessKey may create buckets.');
              if (!shared.buckets.has(bucket!)) {
                shared.buckets.set(bucket!, { name: bucket!, createdAt: now, publicReadPrefixes: [] });
                shared.save();
              }
              reply.header('Location', `/${bucket}`);
              return reply.status(200).send();
            }
            case 'ListObjects':
              return listObjects(reply, bucket!, q);
            case 'ListMultipartUploads':
              return listUploads(reply, bucket!, q);
            case 'PutObject':
              return await putObject(req, reply, info, bucket!, key!, h);
            case 'GetObject':
            case 'HeadObject':
              return getObject(req, reply, bucket!, key!, h, q);
            case 'DeleteObject':
              store.deleteObject(bucket!, key!);
              return reply.status(204).send();
            case 'InitiateMultipartUpload': {
              if (h['x-oss-forbid-overwrite'] === 'true' && store.getObject(bucket!, key!)) throw fileExists();
              validateStoredHeaders(h['content-type'], metaHeaders(h));
              const u = store.createUpload({ bucket: bucket!, key: key!, initiated: now, contentType: h['content-type'] || 'application/octet-stream', meta: metaHeaders(h), notification: h['x-oss-notification'] });
              const encode = q['encoding-type'] === 'url';
              return xml(reply, 'InitiateMultipartUploadResult', { ...(encode ? { EncodingType: 'url' } : {}), Bucket: bucket, Key: encode ? encodeURIComponent(key!) : key, UploadId: u.uploadId });
            }
            case 'UploadPart':
              return await uploadPart(req, reply, info, bucket!, key!, h, q);
            case 'CompleteMultipartUpload':
              return await complete(req, reply, bucket!, key!, h, q, pathStyle, hostHeader);
            case 'AbortMultipartUpload': {
              const u = store.getUpload(q.uploadId || '');
              if (!u || u.bucket !== bucket || u.key !== key) throw E.noSuchUpload(q.uploadId || '');
              store.abortUpload(u.uploadId);
              return reply.status(204).send();
            }
            case 'ListParts':
              return listParts(reply, bucket!, key!, q);
          }
          throw E.notImplemented(op);
        } catch (e) {
          if (e instanceof OssError) return sendError(req, reply, e, info);
          const code = (e as { code?: string }).code;
          if (code === 'EntityTooLarge') return sendError(req, reply, new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.'), info);
          if (code === 'NoSuchUpload') return sendError(req, reply, E.noSuchUpload(''), info);
          if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ECONNABORTED') {
            info.code = 'ClientDisconnected';
            return reply.status(400).send();
          }
          console.error('[cloud:oss] internal error', e);
          return sendError(req, reply, E.internal(), info);
        }
      }

      function xml(reply: FastifyReply, root: string, body: Record<string, unknown>) {
        return reply.status(200).type('application/xml').send(toXml(root, body));
      }

      function fileExists() {
        return new OssError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.');
      }

      async function putObject(req: FastifyRequest, reply: FastifyReply, info: ReqInfo, bucket: string, key: string, h: Record<string, string>) {
        const declared = h['content-length'] !== undefined ? Number(h['content-length']) : undefined;
        if (declared !== undefined && declared > MAX_OBJECT_SIZE) throw new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.', [], '0006-00000003');
        if (h['x-oss-forbid-overwrite'] === 'true' && store.getObject(bucket, key)) throw fileExists();
        try {
          validateStoredHeaders(h['content-type'], metaHeaders(h));
        } catch (e) {
          await drain(req.raw);
          throw e;
        }
        const wantSha = /^[0-9a-f]{64}$/.test(h['x-oss-content-sha256'] || '');
        const { tmp, body } = await store.receive(req.raw, MAX_OBJECT_SIZE, wantSha);
        info.bytesIn = body.size;
        await checkBodyDigests(tmp, body, h);
        const meta: ObjectMeta = {
          bucket,
          key,
          size: body.size,
          etag: quotedMd5(body.md5),
          crc64: body.crc64,
          contentType: h['content-type'] || 'application/octet-stream',
          lastModified: ctx.now(),
          type: 'Normal',
          meta: metaHeaders(h),
          notification: h['x-oss-notification'],
        };
        await store.commitObject(tmp, meta);
        emitCreated(meta);
                return reply
          .status(200)
          .header('ETag', meta.etag)
          .header('x-oss-hash-crc64ecma', meta.crc64)
          .header('Content-MD5', body.md5.toString('base64'))
          .send();
      }

      async function checkBodyDigests(tmp: string, body: { md5: Buffer; sha256?: string }, h: Record<string, string>) {
        if (h['content-md5'] !== undefined && h['content-md5'] !== body.md5.toString('base64')) {
          await store.discard(tmp);
          throw E.invalidDigest();
        }
        if (body.sha256 && h['x-oss-content-sha256'] !== body.sha256) {
          await store.discard(tmp);
          throw new OssError(400, 'InvalidArgument', 'The x-oss-content-sha256 you specified does not match the body.', [['ArgumentName', 'x-oss-content-sha256'], ['ArgumentValue', h['x-oss-content-sha256']]]);
        }
      }

      async function uploadPart(req: FastifyRequest, reply: FastifyReply, info: ReqInfo, bucket: string, key: string, h: Record<string, string>, q: Query) {
        const n = q.partNumber && /^\d+$/.test(q.partNumber) ? parseInt(q.partNumber, 10) : NaN;
        if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
          await drain(req.raw);
          throw E.invalidArgument('Part number must be an integer between 1 and 10000, inclusive.', 'partNumber', q.partNumber || '');
        }
        const u = store.getUpload(q.uploadId || '');
        if (!u || u.bucket !== bucket || u.key !== key) {
          await drain(req.raw);
          throw E.noSuchUpload(q.uploadId || '');
        }
        const wantSha = /^[0-9a-f]{64}$/.test(h['x-oss-content-sha256'] || '');
        const { tmp, body } = await store.receive(req.raw, MAX_OBJECT_SIZE, wantSha);
        info.bytesIn = body.size;
        await checkBodyDigests(tmp, body, h);
        const part: PartMeta = { partNumber: n, size: body.size, etag: quotedMd5(body.md5), crc64: body.crc64, lastModified: ctx.now() };
        try {
          await store.commitPart(u, tmp, part);
        } catch (e) {
          if ((e as { code?: string }).code === 'NoSuchUpload') throw E.noSuchUpload(u.uploadId);
          throw e;
        }
                return reply.status(200).header('ETag', part.etag).header('x-oss-hash-crc64ecma', part.crc64).header('Content-MD5', body.md5.toString('base64')).send();
      }

      async function complete(req: FastifyRequest, reply: FastifyReply, bucket: string, key: string, h: Record<string, string>, q: Query, pathStyle: boolean, host: string) {
        const uploadId = q.uploadId || '';
        const raw = (await readSmallBody(req.raw, 8 * 1024 * 1024)).toString('utf8');
        const completeAll = (h['x-oss-complete-all'] || '').toLowerCase() === 'yes';
        let requested: Array<{ partNumber: number; etag: string }> | undefined;
        if (completeAll) {
          if (raw.trim()) throw E.invalidArgument('The body must be empty when x-oss-complete-all is yes.', 'x-oss-complete-all', 'yes');
        } else {
          let doc: { CompleteMultipartUpload?: { Part?: Array<{ PartNumber?: string; ETag?: string }> } };
          try {
            doc = xmlParser.parse(raw, true);
          } catch {
            throw E.malformedXml();
          }
          const parts = doc?.CompleteMultipartUpload?.Part;
          if (!Array.isArray(parts) || parts.length === 0) throw E.malformedXml();
          requested = parts.map((p) => {
            if (typeof p !== 'object' || !p || !/^\d+$/.test(String(p.PartNumber ?? '')) || typeof p.ETag !== 'string') throw E.malformedXml();
            return { partNumber: parseInt(String(p.PartNumber), 10), etag: p.ETag };
          });
        }
        const normEtag = (e: string) => e.replace(/"/g, '').trim().toUpperCase();
        const finish = (c: { etag: string; crc64?: string }) => {
          reply.header('ETag', c.etag);
          if (c.crc64) reply.header('x-oss-hash-crc64ecma', c.crc64);
          const encode = q['encoding-type'] === 'url';
          return xml(reply, 'CompleteMultipartUploadResult', {
            ...(encode ? { EncodingType: 'url' } : {}),
            Location: objectLocation(bucket, key, pathStyle, host),
            Bucket: bucket,
            Key: encode ? encodeURIComponent(key) : key,
            ETag: c.etag,
          });
        };
        // Idempotent: completing a finished upload again with the same parts answers the same result.
        const done = store.getCompleted(uploadId);
        if (done && done.bucket === bucket && done.key === key) {
          const same = !requested || (requested.length === done.parts.length && requested.every((p, i) => p.partNumber === done.parts[i].partNumber && normEtag(p.etag) === normEtag(done.parts[i].etag)));
          if (same) return finish(done);
          throw E.noSuchUpload(uploadId);
        }
        const u = store.getUpload(uploadId);
        if (!u || u.bucket !== bucket || u.key !== key) throw E.noSuchUpload(uploadId);
        const inflight = completing.get(uploadId);
        if (inflight) {
          await inflight.catch(() => undefined);
          const c = store.getCompleted(uploadId);
          if (c) return finish(c);
          throw E.noSuchUpload(uploadId);
        }
        const chosen = selectParts(u, requested);
        if (h['x-oss-forbid-overwrite'] === 'true' && store.getObject(bucket, key)) throw fileExists();
        const p = store.completeUpload(u, chosen, ctx.now());
        completing.set(uploadId, p);
        try {
          const { meta, completed } = await p;
          emitCreated(meta);
          return finish(completed);
        } finally {
          completing.delete(uploadId);
        }
      }

      function selectParts(u: UploadMeta, requested: Array<{ partNumber: number; etag: string }> | undefined): PartMeta[] {
        const normEtag = (e: string) => e.replace(/"/g, '').trim().toUpperCase();
        const list = requested || Object.values(u.parts).sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
        if (list.length === 0) throw E.malformedXml();
        for (let i = 1; i < list.length; i++) {
          if (list[i].partNumber <= list[i - 1].partNumber) {
            throw new OssError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts list must specified in order by part number.', [['UploadId', u.uploadId]], '0042-00000209');
          }
        }
        const chosen: PartMeta[] = [];
        for (const r of list) {
          const p = u.parts[r.partNumber];
          if (!p || normEtag(p.etag) !== normEtag(r.etag)) {
            throw new OssError(400, 'InvalidPart', "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.", [['UploadId', u.uploadId], ['PartNumber', r.partNumber], ['ETag', r.etag]]);
          }
          chosen.push(p);
        }
        for (let i = 0; i < chosen.length - 1; i++) {
          if (chosen[i].size < MIN_PART_SIZE) {
            throw new OssError(
              400,
              'EntityTooSmall',
              'Your proposed upload is smaller than the minimum allowed size.',
              [['MinSizeAllowed', MIN_PART_SIZE], ['ProposedSize', chosen[i].size], ['PartNumber', chosen[i].partNumber]],
              '0042-00000213',
            );
          }
        }
        return chosen;
      }

      function listParts(reply: FastifyReply, bucket: string, key: string, q: Query) {
        const u = store.getUpload(q.uploadId || '');
        if (!u || u.bucket !== bucket || u.key !== key) throw E.noSuchUpload(q.uploadId || '');
        const maxParts = q['max-parts'] == null ? 1000 : /^\d+$/.test(q['max-parts']) ? parseInt(q['max-parts'], 10) : NaN;
        if (!(maxParts >= 1 && maxParts <= 1000)) throw E.invalidArgument('max-parts must be an integer between 1 and 1000.', 'max-parts', q['max-parts'] || '');
        const marker = q['part-number-marker'] == null || q['part-number-marker'] === '' ? 0 : /^\d+$/.test(q['part-number-marker']) ? parseInt(q['part-number-marker'], 10) : NaN;
        if (!(marker >= 0)) throw E.invalidArgument('part-number-marker must be a non-negative integer.', 'part-number-marker', q['part-number-marker'] || '');
        const all = Object.values(u.parts)
          .filter((p) => p.partNumber > marker)
          .sort((a, b) => a.partNumber - b.partNumber);
        const page = all.slice(0, maxParts);
        const truncated = all.length > maxParts;
        const encode = q['encoding-type'] === 'url';
        return xml(reply, 'ListPartsResult', {
          ...(encode ? { EncodingType: 'url' } : {}),
          Bucket: bucket,
          Key: encode ? encodeURIComponent(key) : key,
          UploadId: u.uploadId,
          PartNumberMarker: marker,
          NextPartNumberMarker: page.length ? page[page.length - 1].partNumber : marker,
          MaxParts: maxParts,
          IsTruncated: truncated,
          Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: new Date(p.lastModified).toISOString(), ETag: p.etag, HashCrc64ecma: p.crc64, Size: p.size })),
        });
      }

      function listUploads(reply: FastifyReply, bucket: string, q: Query) {
        const prefix = q.prefix || '';
        const maxUploads = q['max-uploads'] == null ? 1000 : /^\d+$/.test(q['max-uploads']) ? parseInt(q['max-uploads'], 10) : NaN;
        if (!(maxUploads >= 1 && maxUploads <= 1000)) throw E.invalidArgument('max-uploads must be an integer between 1 and 1000.', 'max-uploads', q['max-uploads'] || '');
        const keyMarker = q['key-marker'] || '';
        const idMarker = q['upload-id-marker'] || '';
        const all = store
          .listUploads(bucket)
          .filter((u) => u.key.startsWith(prefix))
          .sort((a, b) => (a.key === b.key ? a.initiated - b.initiated || (a.uploadId < b.uploadId ? -1 : 1) : a.key < b.key ? -1 : 1))
          .filter((u) => !keyMarker || u.key > keyMarker || (u.key === keyMarker && !!idMarker && u.uploadId > idMarker));
        const page = all.slice(0, maxUploads);
        const last = page[page.length - 1];
        return xml(reply, 'ListMultipartUploadsResult', {
          Bucket: bucket,
          KeyMarker: keyMarker,
          UploadIdMarker: idMarker,
          NextKeyMarker: all.length > maxUploads && last ? last.key : '',
          NextUploadIdMarker: all.length > maxUploads && last ? last.uploadId : '',
          Delimiter: q.delimiter || '',
          Prefix: prefix,
          MaxUploads: maxUploads,
          IsTruncated: all.length > maxUploads,
          Upload: page.map((u) => ({ Key: u.key, UploadId: u.uploadId, StorageClass: 'Standard', Initiated: new Date(u.initiated).toISOString() })),
        });
      }

      function listObjects(reply: FastifyReply, bucket: string, q: Query) {
        const prefix = q.prefix || '';
        const marker = q.marker || '';
        const delimiter = q.delimiter || '';
        const maxKeys = q['max-keys'] == null ? 100 : /^\d+$/.test(q['max-keys']) ? parseInt(q['max-keys'], 10) : NaN;
        if (!(maxKeys >= 1 && maxKeys <= 1000)) throw E.invalidArgument('max-keys must be an integer between 1 and 1000.', 'max-keys', q['max-keys'] || '');
        const contents: ObjectMeta[] = [];
        const prefixes: string[] = [];
        let truncated = false;
        let next = '';
        for (const o of store.listObjects(bucket)) {
          if (!o.key.startsWith(prefix) || o.key <= marker) continue;
          let entry: string | ObjectMeta = o;
          if (delimiter) {
            const i = o.key.indexOf(delimiter, prefix.length);
            if (i >= 0) {
              const p = o.key.slice(0, i + delimiter.length);
              if (prefixes.includes(p)) continue;
              entry = p;
            }
          }
          if (contents.length + prefixes.length >= maxKeys) {
            truncated = true;
            break;
          }
          if (typeof entry === 'string') prefixes.push(entry);
          else contents.push(entry);
          next = o.key;
        }
        return xml(reply, 'ListBucketResult', {
          Name: bucket,
          Prefix: prefix,
          Marker: marker,
          MaxKeys: maxKeys,
          Delimiter: delimiter,
          IsTruncated: truncated,
          ...(truncated ? { NextMarker: next } : {}),
          Contents: contents.map((o) => ({
            Key: o.key,
            LastModified: new Date(o.lastModified).toISOString(),
            ETag: o.etag,
            Type: o.type,
            Size: o.size,
            StorageClass: 'Standard',
            Owner: { ID: shared.account.accountId, DisplayName: shared.account.accountId },
          })),
          CommonPrefixes: prefixes.map((p) => ({ Prefix: p })),
        });
      }

      function getObject(req: FastifyRequest, reply: FastifyReply, bucket: string, key: string, h: Record<string, string>, q: Query) {
        const overrides: Array<[string, string]> = [];
        for (const [param, header] of RESPONSE_OVERRIDES) {
          const v = q[param];
          if (!v) continue;
          const p = headerValueProblem(v);
          if (p) throw E.invalidArgument(`The ${param} parameter ${p}.`, param, v);
          overrides.push([header, v]);
        }
        const m = store.getObject(bucket, key);
        if (!m) throw E.noSuchKey(key);
        objectHeaders(reply, m);
        reply.header('Content-Type', encodeHeaderValue(m.contentType));
        for (const [header, v] of overrides) reply.header(header, encodeHeaderValue(v));
        if (h['if-none-match'] && h['if-none-match'] === m.etag) return reply.status(304).send();
        let start = 0;
        let end = m.size - 1;
        let partial = false;
        const range = h.range ? /^bytes=(\d*)-(\d*)$/.exec(h.range.trim()) : null;
        if (range && (range[1] !== '' || range[2] !== '')) {
          let s: number;
          let e: number;
          if (range[1] === '') {
            s = Math.max(0, m.size - parseInt(range[2], 10));
            e = m.size - 1;
          } else {
            s = parseInt(range[1], 10);
            e = range[2] === '' ? m.size - 1 : Math.min(parseInt(range[2], 10), m.size - 1);
          }
          if (s <= e && s < m.size && m.size > 0) {
            start = s;
            end = e;
            partial = true;
          } else if ((h['x-oss-range-behavior'] || '').toLowerCase() === 'standard') {
            throw new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied.', [['RangeRequested', h.range], ['ActualObjectSize', m.size]]);
          }
          // OSS by default ignores an unsatisfiable range and returns the whole object with 200
        }
        const length = m.size === 0 ? 0 : end - start + 1;
        reply.header('Content-Length', String(length));
        if (partial) reply.status(206).header('Content-Range', `bytes ${start}-${end}/${m.size}`);
        else reply.status(200);
        if (req.method === 'HEAD' || length === 0) return reply.send();
        return reply.send(store.readObject(m, start, end));
      }

      async function postObject(req: FastifyRequest, reply: FastifyReply, info: ReqInfo, bucket: string, pathStyle: boolean, host: string) {
        const fields: Record<string, string> = nullRecord();
        let fileSeen = false;
        let pending: OssError | Error | undefined;
        let result: ObjectMeta | undefined;
        let status = 204;
        try {
          for await (const part of req.parts()) {
            if (part.type === 'field') {
              if (!fileSeen && fields[part.fieldname.toLowerCase()] === undefined) fields[part.fieldname.toLowerCase()] = String(part.value);
              continue;
            }
            if (fileSeen || pending) {
              await drain(part.file);
              continue;
            }
            fileSeen = true;
            try {
              const now = ctx.now();
              let key = fields.key;
              if (!key) throw E.invalidArgument("Bucket POST must contain a field named 'key'. If it is specified, please check the order of the fields.", 'key', '');
              key = key.replace('${filename}', part.filename || '');
              info.key = key;
              validateObjectKey(key);
              const principal = authenticatePost(shared, fields, now);
              info.principal = principal;
              if (principal.type === 'anonymous') throw E.accessDenied('You have no right to access this bucket because of bucket acl.');
              const policy = checkPolicy(fields.policy, fields, bucket, now);
              authorize(principal, 'PostObject', bucket, key);
              if ((await applyFault(req, reply, info, part.file)) === 'hijacked') return reply;
              const { tmp, body } = await store.receive(part.file, MAX_OBJECT_SIZE);
              info.bytesIn = body.size;
              if (part.file.truncated) {
                await store.discard(tmp);
                throw new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.', [], '0006-00000003');
              }
              if (policy.contentLengthRange) {
                const [min, max] = policy.contentLengthRange;
                if (body.size > max || body.size < min) {
                  await store.discard(tmp);
                  throw new OssError(
                    400,
                    body.size > max ? 'EntityTooLarge' : 'EntityTooSmall',
                    body.size > max ? 'Your proposed upload exceeds the maximum allowed size.' : 'Your proposed upload is smaller than the minimum allowed size.',
                    [[body.size > max ? 'MaxSizeAllowed' : 'MinSizeAllowed', body.size > max ? max : min], ['ProposedSize', body.size]],
                    '0006-00000004',
                  );
                }
              }
              const meta: Record<string, string> = {};
              for (const [k, v] of Object.entries(fields)) if (k.startsWith('x-oss-meta-')) meta[k] = v;
              try {
                validateStoredHeaders(fields['content-type'], meta);
              } catch (e) {
                await store.discard(tmp);
                throw e;
              }
              result = {
                bucket,
                key,
                size: body.size,
                etag: quotedMd5(body.md5),
                crc64: body.crc64,
                contentType: fields['content-type'] || part.mimetype || 'application/octet-stream',
                lastModified: ctx.now(),
                type: 'Normal',
                meta,
                notification: fields['x-oss-notification'],
              };
              if (fields['x-oss-forbid-overwrite'] === 'true' && store.getObject(bucket, key)) {
                await store.discard(tmp);
                throw fileExists();
              }
              await store.commitObject(tmp, result);
              emitCreated(result);
              const s = parseInt(fields.success_action_status || '', 10);
              status = s === 200 || s === 201 || s === 204 ? s : 204;
            } catch (e) {
              pending = e as Error;
              await drain(part.file);
            }
          }
        } catch (e) {
          if (e instanceof OssError) throw e;
          const code = (e as { code?: string }).code || '';
          if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ECONNABORTED') throw e;
          // busboy's "Unexpected end of form", a missing boundary, fastify's multipart limits: the body is malformed.
          throw E.invalidArgument(`The body of your POST request is not well-formed multipart/form-data: ${(e as Error).message}`);
        }
        if (pending) throw pending;
        if (!fileSeen || !result) throw E.invalidArgument("Bucket POST must contain a field named 'file', and it must be the last field.", 'file', '');
        reply.header('ETag', result.etag).header('x-oss-hash-crc64ecma', result.crc64);
        if (status === 201) {
          return reply
            .status(201)
            .type('application/xml')
            .send(toXml('PostResponse', { Bucket: bucket, Location: objectLocation(bucket, result.key, pathStyle, host), Key: result.key, ETag: result.etag }));
        }
        return reply.status(status).send();
      }

      await app.register(async (scope) => {
        scope.removeAllContentTypeParsers();
        // An empty Content-Type (a legal, signed value: wx.request clients send it) would make fastify answer 415.
        scope.addHook('onRequest', async (req) => {
          const ct = req.headers['content-type'];
          if (ct !== undefined && !/^[^\s/;]+\/[^\s/;]+/.test(ct)) {
            oddContentType.set(req.raw, ct);
            delete req.headers['content-type'];
          }
        });
        await scope.register(multipart, { limits: { fileSize: MAX_OBJECT_SIZE, fieldSize: 8 * 1024 * 1024, fields: 200, files: 1, parts: 300 }, throwFileSizeLimit: false });
        // Everything else: leave the body on the raw stream for the handlers to stream to disk.
        scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
        scope.addHook('onResponse', async (req, reply) => record(req, reply.statusCode));
        scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'], url: '/*', exposeHeadRoute: false, handler: handle });
      });
      return app;
    },
  };
}


interface AdminHooks {
  log: RequestLogEntry[];
  getFaults(): FaultRule[];
  addFault(f: Omit<FaultRule, 'id' | 'hits' | 'times'> & { times?: number }): FaultRule;
  clearFaults(id?: string): void;
}

const OPS: Array<OssOp | '*'> = ['*', 'PutObject', 'PostObject', 'GetObject', 'HeadObject', 'DeleteObject', 'InitiateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts', 'ListMultipartUploads', 'ListObjects'];

function registerAdmin(app: FastifyInstance, ctx: CloudContext, shared: AliyunShared, store: OssStore, hooks: AdminHooks) {
  registerCredentialAdmin(app, ctx);
  app.get('/_admin/info', async () => ({ url: ctx.urls.oss, region: LOCAL_REGION, vodBucket: shared.vodBucket, buckets: [...shared.buckets.keys()], accessKeyId: shared.account.accessKeyId }));
  app.get('/_admin/buckets', async () => ({ buckets: [...shared.buckets.values()] }));
  app.post('/_admin/buckets', async (req, reply) => {
    const b = (req.body || {}) as { name?: string; publicReadPrefixes?: string[] };
    if (!b.name || !validBucketName(b.name)) return reply.status(400).send({ error: { code: 'InvalidBucketName', message: 'name: 3-63 lower-case letters, digits or -' } });
    const prev = shared.buckets.get(b.name);
    shared.buckets.set(b.name, { name: b.name, createdAt: prev?.createdAt || ctx.now(), publicReadPrefixes: Array.isArray(b.publicReadPrefixes) ? b.publicReadPrefixes.map(String) : prev?.publicReadPrefixes || [] });
    shared.save();
    return { bucket: shared.buckets.get(b.name) };
  });
  app.get('/_admin/objects', async (req) => {
    const q = req.query as { bucket?: string; prefix?: string };
    return { objects: store.listObjects(q.bucket).filter((o) => !q.prefix || o.key.startsWith(q.prefix)) };
  });
  app.get('/_admin/object', async (req, reply) => {
    const q = req.query as { bucket?: string; key?: string };
    const m = q.bucket && q.key ? store.getObject(q.bucket, q.key) : undefined;
    if (!m) return reply.status(404).send({ error: { code: 'NoSuchKey', message: 'no such object (pass ?bucket=&key=)' } });
    reply.header('Content-Length', String(m.size)).type('application/octet-stream');
    return reply.send(m.size ? store.readObject(m) : '');
  });
  app.get('/_admin/uploads', async (req) => {
    const q = req.query as { bucket?: string };
    return { uploads: store.listUploads(q.bucket).map((u) => ({ ...u, parts: Object.values(u.parts).sort((a, b) => a.partNumber - b.partNumber) })) };
  });
  app.get('/_admin/requests', async (req) => {
    const q = req.query as { op?: string; limit?: string; since?: string };
    let list = hooks.log;
    if (q.op) list = list.filter((e) => e.op === q.op);
    if (q.since) list = list.filter((e) => e.time >= q.since!);
    const limit = q.limit ? parseInt(q.limit, 10) : 1000;
    return { requests: list.slice(-limit) };
  });
  app.delete('/_admin/requests', async () => {
    hooks.log.length = 0;
    return { ok: true };
  });
  app.get('/_admin/faults', async () => ({ faults: hooks.getFaults() }));
  app.post('/_admin/faults', async (req, reply) => {
    const b = (req.body || {}) as Partial<FaultRule>;
    const a = b.action as FaultRule['action'] | undefined;
    const bad = (message: string) => reply.status(400).send({ error: { code: 'InvalidParameter', message } });
    if (b.op !== undefined && !OPS.includes(b.op)) return bad(`op must be one of ${OPS.join(', ')}`);
    if (b.times !== undefined && !(Number.isInteger(b.times) && b.times >= 1)) return bad('times must be a positive integer');
    if (!a || typeof a !== 'object') return bad('action is required: {type:"status",status,code?,message?} | {type:"delay",ms} | {type:"reset"}');
    if (a.type === 'status' && !(Number.isInteger(a.status) && a.status >= 400 && a.status <= 599)) return bad('action.status must be 400..599');
    if (a.type === 'delay' && !(Number.isInteger(a.ms) && a.ms >= 0 && a.ms <= 120000)) return bad('action.ms must be 0..120000');
    if (!['status', 'delay', 'reset'].includes(a.type)) return bad('action.type must be status, delay or reset');
    const rule = hooks.addFault({ op: b.op, key: b.key, partNumber: b.partNumber, times: b.times, action: a });
    return { fault: rule };
  });
  app.delete('/_admin/faults', async () => {
    hooks.clearFaults();
    return { ok: true };
  });
  app.delete('/_admin/faults/:id', async (req) => {
    hooks.clearFaults((req.params as { id: string }).id);
    return { ok: true };
  });
}
