/**
 * The local COS (Tencent Cloud Object Storage) XML API subset VOD client uploads use, with COS's real request
 * signature (q-sign-algorithm=sha1, doc 436/7778), temporary credentials + x-cos-security-token, COS error XML and
 * `x-cos-request-id` / `Server: tencent-cos` / `Date` on every answer (cos SDKs treat a 4xx without a request id as a
 * network error).
 *
 * Addressing (as the real SDKs reach it):
 *   1. virtual host:  Host: <bucket>-<appid>.cos.<region>.myqcloud.com, path /<key>
 *   2. HTTP proxy:    an absolute-URI request line (cos-nodejs-sdk-v5 `Proxy`), Host is the virtual host
 *   3. vod2 proxy:    any host with `Vod-Forward-Cos: <virtual host>` (vod-wx-sdk-v2; served by the tvod listener)
 * The signature is checked against that virtual host in every mode.
 *
 * Operations: PutObject, PostObject (form upload, Signature or policy), GetObject / HeadObject (Range), DeleteObject, InitiateMultipartUpload, UploadPart,
 * ListParts, CompleteMultipartUpload (idempotent), AbortMultipartUpload, ListMultipartUploads. Objects and parts
 * are streamed to disk (server/cloud/object-store); ETags are the lower-case MD5, CRC-64 in x-cos-hash-crc64ecma.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { CloudContext, CloudProvider } from '../context';
import { ObjectStore, ObjectMeta, PartMeta } from '../object-store';
import { cosPostPolicySignature, cosSign, parseCosAuthorization } from '../../../sdk/src/tencent-vod/cos-signature';
import Busboy from '@fastify/busboy';
import { encodeHeaderValue, headerValueProblem, nullRecord, ownGet } from '../../safe-input';

export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * 1024;
export const MIN_PART_SIZE = 1024 * 1024;

export class CosError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

/** A credential COS accepts: the account key (any bucket) or a VOD session's temporary one (its keys only). */
export interface CosCredential {
  secretId: string;
  secretKey: string;
  token?: string;
  /** Unix seconds (temporary credentials). */
  expiredTime?: number;
  /** Full bucket name (<bucket>-<appid>) and object keys a temporary credential may write. */
  bucket?: string;
  keys?: string[];
}

export interface CosLogEntry {
  at: number;
  op: string;
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
  status: number;
  bytesIn: number;
  signedHeaders: string[];
  signedParams: string[];
  viaVodProxy: boolean;
  partNumber?: number;
  uploadId?: string;
  code?: string;
}

const builder = new XMLBuilder({ format: false, suppressEmptyNode: false, processEntities: true });
const xmlParser = new XMLParser({ isArray: (name) => name === 'Part', parseTagValue: false, trimValues: true, processEntities: true, htmlEntities: true });

export function toXml(root: string, body: Record<string, unknown>): string {
  return `<?xml version='1.0' encoding='utf-8' ?>\n${builder.build({ [root]: body })}`;
}

export function parseVirtualHost(host: string | undefined): { bucket: string; region: string } | undefined {
  const m = /^([a-z0-9-]+-\d+)\.cos\.([a-z0-9-]+)\.myqcloud\.com(:\d+)?$/i.exec((host || '').trim());
  return m ? { bucket: m[1].toLowerCase(), region: m[2].toLowerCase() } : undefined;
}

/** Raw query → lower-cased names → values (a bare `uploads` → ''). */
function parseQuery(raw: string): Record<string, string> {
  // null prototype: parameter names are the client's (`__proto__`, `constructor` are ordinary names here)
  const out = nullRecord<string>();
  if (!raw) return out;
  for (const pair of raw.split('&')) {
    if (!pair) continue;
    const i = pair.indexOf('=');
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, '%20'));
      } catch {
        return s;
      }
    };
    out[dec(i < 0 ? pair : pair.slice(0, i)).toLowerCase()] = i < 0 ? '' : dec(pair.slice(i + 1));
  }
  return out;
}

const quotedMd5 = (md5: Buffer) => `"${md5.toString('hex')}"`;
const cleanEtag = (e: string) => e.replace(/&quot;/g, '').replace(/"/g, '').trim().toLowerCase();
const cosEtag = (e: string) => `"${cleanEtag(e)}"`;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');

export interface CosService {
  store: ObjectStore;
  log: CosLogEntry[];
  /** Answer one COS request; `forwardHost` is the Vod-Forward-Cos value when it came through the vod2 proxy. */
  handle(req: FastifyRequest, reply: FastifyReply, forwardHost?: string): Promise<FastifyReply>;
  /** Bytes of an object (admin / media URLs). */
  object(bucket: string, key: string): ObjectMeta | undefined;
  read(meta: ObjectMeta, start?: number, end?: number): Readable;
}

export interface CosServiceOptions {
  ctx: CloudContext;
  dir: string;
  credential(secretId: string): CosCredential | undefined;
  /** Buckets that exist (full names). */
  buckets(): string[];
}

export function createCosService(o: CosServiceOptions): CosService {
  const store = new ObjectStore(o.dir);
  const log: CosLogEntry[] = [];
  const nowSec = () => Math.floor(o.ctx.now() / 1000);

  function authenticate(req: FastifyRequest, host: string, pathname: string, query: Record<string, string>, bucket: string, key: string, op: string, entry: CosLogEntry): void {
    const h = req.headers;
    const authRaw = (h.authorization as string | undefined) || (query['q-sign-algorithm'] ? Object.entries(query).filter(([k]) => k.startsWith('q-')).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&') : '');
    if (!authRaw) throw new CosError(403, 'AccessDenied', 'Access Denied. (anonymous requests are not allowed on this bucket)');
    const a = parseCosAuthorization(authRaw);
    if (!a || a.algorithm.toLowerCase() !== 'sha1') throw new CosError(403, 'AccessDenied', 'The Authorization is not a q-sign-algorithm=sha1 signature.');
    entry.signedHeaders = a.headerList;
    entry.signedParams = a.paramList;
    const cred = o.credential(a.ak);
    if (!cred) throw new CosError(403, 'InvalidAccessKeyId', 'The access key Id format you provided is invalid or the key does not exist.');
    const kt = /^(\d+);(\d+)$/.exec(a.keyTime);
    if (!kt) throw new CosError(403, 'AccessDenied', 'q-key-time is not "<start>;<end>".');
    const now = nowSec();
    if (parseInt(kt[1], 10) > now + 900) throw new CosError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server\'s time is too large.');
    if (parseInt(kt[2], 10) < now) throw new CosError(403, 'AccessDenied', 'Request has expired');
    if (cred.token !== undefined) {
      const token = (h['x-cos-security-token'] as string | undefined) || query['x-cos-security-token'];
      if (!token || !safeEq(token, cred.token)) throw new CosError(403, 'InvalidAccessKeyId', 'The x-cos-security-token does not belong to this temporary SecretId.');
      if (cred.expiredTime !== undefined && cred.expiredTime < now) throw new CosError(403, 'AccessDenied', 'Request has expired');
    }
    const headers = nullRecord<string>();
    for (const name of a.headerList) {
      const v = name === 'host' ? host : ((ownGet(h as Record<string, string | string[] | undefined>, name) as string | string[] | undefined) ?? rawHeader(req, name));
      if (v === undefined) throw new CosError(403, 'SignatureDoesNotMatch', `The signed header ${name} is not in the request.`);
      headers[name] = Array.isArray(v) ? v.join(',') : String(v);
    }
    const params = nullRecord<string>();
    for (const name of a.paramList) {
      if (ownGet(query, name) === undefined) throw new CosError(403, 'SignatureDoesNotMatch', `The signed parameter ${name} is not in the request.`);
      params[name] = query[name];
    }
    const expected = cosSign({ secretId: a.ak, secretKey: cred.secretKey, method: req.method, pathname, query: params, headers, keyTime: a.keyTime });
    if (!safeEq(expected.signature, a.signature)) {
      throw new CosError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
    }
    if (cred.bucket !== undefined) {
      const allowed = cred.keys || [];
      const ok = cred.bucket === bucket && (key ? allowed.includes(key) : op === 'ListMultipartUploads' && allowed.some((k) => (query.prefix || '') !== '' && k.startsWith(query.prefix)));
      if (!ok) throw new CosError(403, 'AccessDenied', 'Access Denied. (the temporary credential is scoped to its upload session\'s objects)');
    }
  }

  function errorReply(reply: FastifyReply, e: CosError, resource: string, requestId: string): FastifyReply {
    const body = toXml('Error', { Code: e.code, Message: e.message, Resource: resource, RequestId: requestId, TraceId: randomBytes(24).toString('base64') });
    return reply.status(e.status).type('application/xml').send(reply.request.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: FastifyRequest, reply: FastifyReply, forwardHost?: string): Promise<FastifyReply> {
    const requestId = `${randomBytes(20).toString('hex').slice(0, 24)}_${randomBytes(4).toString('hex')}`.replace(/^(.{8})/, 'NjU$1');
    reply.header('x-cos-request-id', requestId).header('Server', 'tencent-cos').header('Date', new Date(o.ctx.now()).toUTCString());
    const rawUrl = req.url;
    const qi = rawUrl.indexOf('?');
    const rawPath = (qi < 0 ? rawUrl : rawUrl.slice(0, qi)).replace(/^https?:\/\/[^/]+/i, '') || '/';
    const query = parseQuery(qi < 0 ? '' : rawUrl.slice(qi + 1));
    const host = (forwardHost || (req.headers.host as string) || '').trim();
    let pathname: string;
    let badUri = false;
    try {
      pathname = decodeURIComponent(rawPath);
    } catch {
      pathname = rawPath;
      badUri = true;
    }
    const key = pathname.replace(/^\//, '');
    const entry: CosLogEntry = { at: o.ctx.now(), op: '?', method: req.method, bucket: '', key, query, status: 0, bytesIn: 0, signedHeaders: [], signedParams: [], viaVodProxy: !!forwardHost };
    log.push(entry);
    if (log.length > 5000) log.splice(0, log.length - 5000);
    try {
      if (badUri) throw new CosError(400, 'InvalidURI', 'Could not parse the specified URI (bad percent-encoding in the path).');
      const vh = parseVirtualHost(host);
      if (!vh) throw new CosError(400, 'InvalidURI', `The host ${JSON.stringify(host)} is not <bucket>-<appid>.cos.<region>.myqcloud.com.`);
      const bucket = vh.bucket;
      entry.bucket = bucket;
      if (!o.buckets().includes(bucket)) throw new CosError(404, 'NoSuchBucket', 'The specified bucket does not exist.');
      const m = req.method;
      if (m === 'POST' && !key && /^multipart\/form-data/i.test(String(req.headers['content-type'] || ''))) {
        entry.op = 'PostObject';
        const r = await postObject(req, reply, host, bucket, entry);
        entry.status = reply.statusCode;
        return r;
      }
      const op = !key
        ? m === 'GET' && 'uploads' in query
          ? 'ListMultipartUploads'
          : '?'
        : m === 'PUT' && 'partnumber' in query && 'uploadid' in query
          ? 'UploadPart'
          : m === 'PUT'
            ? 'PutObject'
            : m === 'POST' && 'uploads' in query
              ? 'InitiateMultipartUpload'
              : m === 'POST' && 'uploadid' in query
                ? 'CompleteMultipartUpload'
                : m === 'GET' && 'uploadid' in query
                  ? 'ListParts'
                  : m === 'DELETE' && 'uploadid' in query
                    ? 'AbortMultipartUpload'
                    : m === 'GET'
                      ? 'GetObject'
                      : m === 'HEAD'
                        ? 'HeadObject'
                        : m === 'DELETE'
                          ? 'DeleteObject'
                          : '?';
      entry.op = op;
      if (op === '?') throw new CosError(405, 'MethodNotAllowed', `${m} ${rawPath} is not supported by the local COS.`);
      authenticate(req, host, pathname, query, bucket, key, op, entry);
      const r = await run(op, req, reply, bucket, key, query, entry);
      entry.status = reply.statusCode;
      return r;
    } catch (e) {
      if (!(e instanceof CosError)) {
        if ((e as { code?: string }).code === 'NoSuchUpload') e = new CosError(404, 'NoSuchUpload', 'The specified upload does not exist.');
        else if ((e as { code?: string }).code === 'EntityTooLarge') e = new CosError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
        else {
          o.ctx.log(`COS ${req.method} ${rawUrl} failed: ${(e as Error).stack}`);
          e = new CosError(500, 'InternalError', 'We encountered an internal error. Please try again.');
        }
      }
      entry.status = (e as CosError).status;
      entry.code = (e as CosError).code;
      // drain what the client is still sending, so it reads our answer instead of a reset
      req.raw.resume();
      return errorReply(reply, e as CosError, `${host}${rawPath}`, requestId);
    }
  }

  async function receive(req: FastifyRequest, entry: CosLogEntry) {
    const { tmp, body } = await store.receive(req.raw, MAX_OBJECT_SIZE);
    entry.bytesIn = body.size;
    const md5h = req.headers['content-md5'] as string | undefined;
    if (md5h !== undefined && md5h !== body.md5.toString('base64')) {
      await store.discard(tmp);
      throw new CosError(400, 'BadDigest', 'The Content-MD5 you specified did not match what was received.');
    }
    const cl = req.headers['content-length'];
    if (cl !== undefined && parseInt(String(cl), 10) !== body.size) {
      await store.discard(tmp);
      throw new CosError(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    }
    return { tmp, body };
  }

  function upload(uploadId: string | undefined, bucket: string, key: string) {
    const u = uploadId ? store.getUpload(uploadId) : undefined;
    if (!u || u.bucket !== bucket || u.key !== key) throw new CosError(404, 'NoSuchUpload', 'The specified upload does not exist.');
    return u;
  }

  async function run(op: string, req: FastifyRequest, reply: FastifyReply, bucket: string, key: string, q: Record<string, string>, entry: CosLogEntry): Promise<FastifyReply> {
    const now = o.ctx.now();
    switch (op) {
      case 'PutObject': {
        const { tmp, body } = await receive(req, entry);
        const meta: ObjectMeta = { bucket, key, size: body.size, etag: quotedMd5(body.md5), crc64: body.crc64, contentType: (req.headers['content-type'] as string) || 'application/octet-stream', lastModified: now, type: 'Normal', meta: metaHeaders(req) };
        await store.commitObject(tmp, meta);
        return reply.header('ETag', meta.etag).header('x-cos-hash-crc64ecma', meta.crc64).status(200).send();
      }
      case 'InitiateMultipartUpload': {
        const u = store.createUpload({ bucket, key, initiated: now, contentType: (req.headers['content-type'] as string) || 'application/octet-stream', meta: metaHeaders(req) });
        return reply.type('application/xml').send(toXml('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: u.uploadId }));
      }
      case 'UploadPart': {
        const n = Number(q.partnumber);
        entry.partNumber = n;
        entry.uploadId = q.uploadid;
        if (!Number.isInteger(n) || n < 1 || n > 10000) throw new CosError(400, 'InvalidArgument', 'partNumber must be an integer from 1 to 10000.');
        const u = upload(q.uploadid, bucket, key);
        const { tmp, body } = await receive(req, entry);
        const part: PartMeta = { partNumber: n, size: body.size, etag: quotedMd5(body.md5), crc64: body.crc64, lastModified: now };
        await store.commitPart(u, tmp, part);
        return reply.header('ETag', part.etag).header('x-cos-hash-crc64ecma', part.crc64).status(200).send();
      }
      case 'ListParts': {
        const u = upload(q.uploadid, bucket, key);
        const marker = parseInt(q['part-number-marker'] || '0', 10) || 0;
        const max = Math.min(1000, parseInt(q['max-parts'] || '1000', 10) || 1000);
        const all = Object.values(u.parts).sort((a, b) => a.partNumber - b.partNumber).filter((p) => p.partNumber > marker);
        const page = all.slice(0, max);
        const owner = { ID: `qcs::cam::uin/${bucket.split('-').pop()}:uin/${bucket.split('-').pop()}`, DisplayName: bucket.split('-').pop() };
        return reply.type('application/xml').send(
          toXml('ListPartsResult', {
            Bucket: bucket, 'Encoding-type': q['encoding-type'] || '', Key: key, UploadId: u.uploadId, Initiator: owner, Owner: owner,
            PartNumberMarker: marker, NextPartNumberMarker: page.length ? page[page.length - 1].partNumber : marker, StorageClass: 'STANDARD', MaxParts: max,
            IsTruncated: all.length > page.length ? 'true' : 'false',
            Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: iso(p.lastModified), ETag: cosEtag(p.etag), Size: p.size })),
          }),
        );
      }
      case 'CompleteMultipartUpload': {
        entry.uploadId = q.uploadid;
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req.raw) {
          size += (c as Buffer).length;
          if (size > 2 * 1024 * 1024) throw new CosError(400, 'MalformedXML', 'The CompleteMultipartUpload body is too large.');
          chunks.push(c as Buffer);
        }
        const done = q.uploadid ? store.getCompleted(q.uploadid) : undefined;
        if (done && done.bucket === bucket && done.key === key) {
          // a retried Complete (the first answer was lost): same result
          return reply.header('x-cos-hash-crc64ecma', done.crc64 || '').type('application/xml').send(toXml('CompleteMultipartUploadResult', { Location: `${bucket}.cos/${key}`, Bucket: bucket, Key: key, ETag: cosEtag(done.etag) }));
        }
        const u = upload(q.uploadid, bucket, key);
        let listed: Array<{ PartNumber?: string; ETag?: string }>;
        try {
          const doc = xmlParser.parse(Buffer.concat(chunks).toString('utf8'));
          listed = doc?.CompleteMultipartUpload?.Part || [];
        } catch {
          throw new CosError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
        }
        if (!listed.length) throw new CosError(400, 'MalformedXML', 'The CompleteMultipartUpload body lists no Part.');
        const parts: PartMeta[] = [];
        let prev = 0;
        for (const p of listed) {
          const n = parseInt(String(p.PartNumber), 10);
          if (!(n > prev)) throw new CosError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
          prev = n;
          const have = u.parts[n];
          if (!have || cleanEtag(String(p.ETag || '')) !== cleanEtag(have.etag)) throw new CosError(400, 'InvalidPart', `Part ${n} was not uploaded or its ETag does not match.`);
          parts.push(have);
        }
        for (let i = 0; i < parts.length - 1; i++) if (parts[i].size < MIN_PART_SIZE) throw new CosError(400, 'EntityTooSmall', `Part ${parts[i].partNumber} is smaller than 1 MB (only the last part may be).`);
        const { meta } = await store.completeUpload(u, parts, now);
        return reply.header('x-cos-hash-crc64ecma', meta.crc64).type('application/xml').send(toXml('CompleteMultipartUploadResult', { Location: `${bucket}.cos/${key}`, Bucket: bucket, Key: key, ETag: cosEtag(meta.etag) }));
      }
      case 'AbortMultipartUpload': {
        upload(q.uploadid, bucket, key);
        store.abortUpload(q.uploadid);
        return reply.status(204).send();
      }
      case 'ListMultipartUploads': {
        const prefix = q.prefix || '';
        const ups = store.listUploads(bucket).filter((u) => u.key.startsWith(prefix)).sort((a, b) => (a.key === b.key ? a.initiated - b.initiated : a.key < b.key ? -1 : 1));
        return reply.type('application/xml').send(
          toXml('ListMultipartUploadsResult', {
            Bucket: bucket, 'Encoding-Type': q['encoding-type'] || '', KeyMarker: q['key-marker'] || '', UploadIdMarker: q['upload-id-marker'] || '', NextKeyMarker: '', NextUploadIdMarker: '',
            MaxUploads: 1000, IsTruncated: 'false', Prefix: prefix, Delimiter: '',
            Upload: ups.map((u) => ({ Key: u.key, UploadId: u.uploadId, StorageClass: 'STANDARD', Initiator: { UIN: '' }, Owner: { UID: '' }, Initiated: iso(u.initiated) })),
          }),
        );
      }
      case 'GetObject':
      case 'HeadObject':
        return serveObject(req, reply, store.getObject(bucket, key), op === 'HeadObject');
      case 'DeleteObject':
        store.deleteObject(bucket, key);
        return reply.status(204).send();
    }
    throw new CosError(405, 'MethodNotAllowed', op);
  }

  /**
   * PostObject (multipart/form-data, `file` last): signed either with `Signature` (a header-style Authorization for
   * `post /` — what cos-wx-sdk sends through wx.uploadFile) or with `policy` + q-sign-algorithm / q-ak / q-key-time /
   * q-signature (doc 436/14690). `x-cos-security-token` as a field; `${filename}` in the key; success_action_status.
   */
  function postObject(req: FastifyRequest, reply: FastifyReply, host: string, bucket: string, entry: CosLogEntry): Promise<FastifyReply> {
    return new Promise<FastifyReply>((resolve, reject) => {
      const fields = nullRecord<string>();
      let fileSeen = false;
      let work: Promise<FastifyReply> | undefined;
      let bb: InstanceType<typeof Busboy>;
      try {
        bb = new Busboy({ headers: req.headers as { 'content-type': string }, limits: { fileSize: MAX_OBJECT_SIZE, fields: 200, files: 1, fieldSize: 1024 * 1024 } });
      } catch {
        reject(new CosError(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.'));
        return;
      }
      bb.on('field', (name: string, value: string) => {
        fields[name.toLowerCase()] = value;
      });
      bb.on('file', (_name: string, stream: Readable, filename: string, _enc: string, mime: string) => {
        fileSeen = true;
        work = (async () => {
          const key = (fields.key || '').replace(/\$\{filename\}/g, filename || '');
          entry.key = key;
          if (!key) throw new CosError(400, 'InvalidArgument', 'The form has no key field.');
          authorizePost(fields, host, bucket, key, entry);
          for (const [k, v] of Object.entries(fields)) {
            if (!(k.startsWith('x-cos-meta-') || k === 'content-type')) continue;
            const problem = headerValueProblem(v);
            if (problem) throw new CosError(400, 'InvalidArgument', `The form field ${k} ${problem}; it cannot be stored as a header value.`);
          }
          const { tmp, body } = await store.receive(stream, MAX_OBJECT_SIZE);
          entry.bytesIn = body.size;
          const policy = fields.policy ? parsePolicy(fields.policy) : undefined;
          const range = policy && policy.conditions.find((c) => Array.isArray(c) && c[0] === 'content-length-range');
          if (Array.isArray(range) && (body.size < Number(range[1]) || body.size > Number(range[2]))) {
            await store.discard(tmp);
            throw new CosError(400, body.size > Number(range[2]) ? 'EntityTooLarge' : 'EntityTooSmall', 'The object size is outside the policy\'s content-length-range.');
          }
          const meta: ObjectMeta = { bucket, key, size: body.size, etag: quotedMd5(body.md5), crc64: body.crc64, contentType: fields['content-type'] || mime || 'application/octet-stream', lastModified: o.ctx.now(), type: 'Normal', meta: Object.fromEntries(Object.entries(fields).filter(([k]) => k.startsWith('x-cos-meta-'))) };
          await store.commitObject(tmp, meta);
          const status = [200, 201, 204].includes(Number(fields.success_action_status)) ? Number(fields.success_action_status) : 204;
          reply.header('ETag', meta.etag).header('x-cos-hash-crc64ecma', meta.crc64).header('Location', `http://${host}/${encodeURI(key)}`);
          if (status === 201) return reply.status(201).type('application/xml').send(toXml('PostResponse', { Location: `http://${host}/${encodeURI(key)}`, Bucket: bucket, Key: key, ETag: meta.etag }));
          return reply.status(status).send();
        })();
        work.catch(() => stream.resume());
      });
      bb.on('finish', () => {
        if (!fileSeen) return reject(new CosError(400, 'InvalidArgument', 'The form has no file field (it must be the last field).'));
        work!.then(resolve, reject);
      });
      bb.on('error', () => reject(new CosError(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.')));
      req.raw.pipe(bb);
    });
  }

  function parsePolicy(b64: string): { expiration?: string; conditions: unknown[] } {
    try {
      const p = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
      return { expiration: p.expiration, conditions: Array.isArray(p.conditions) ? p.conditions : [] };
    } catch {
      throw new CosError(400, 'InvalidPolicyDocument', 'The policy is not base64 JSON.');
    }
  }

  function authorizePost(f: Record<string, string>, host: string, bucket: string, key: string, entry: CosLogEntry): void {
    let ak: string;
    let keyTime: string;
    let check: (secretKey: string) => boolean;
    if (f.signature) {
      const a = parseCosAuthorization(f.signature);
      if (!a) throw new CosError(403, 'AccessDenied', 'The Signature field is not a q-sign-algorithm=sha1 signature.');
      entry.signedHeaders = a.headerList;
      ak = a.ak;
      keyTime = a.keyTime;
      const headers = nullRecord<string>();
      for (const n of a.headerList) headers[n] = n === 'host' ? host : ownGet(f, n) || '';
      check = (sk) => [`/`, `/${key}`].some((pathname) => safeEq(cosSign({ secretId: ak, secretKey: sk, method: 'POST', pathname, headers, keyTime }).signature, a.signature));
    } else if (f.policy && f['q-ak'] && f['q-key-time'] && f['q-signature']) {
      ak = f['q-ak'];
      keyTime = f['q-key-time'];
      const policyJson = Buffer.from(f.policy, 'base64').toString('utf8');
      const policy = parsePolicy(f.policy);
      if (policy.expiration && Date.parse(policy.expiration) < o.ctx.now()) throw new CosError(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
      for (const c of policy.conditions) {
        const [op, name, value] = Array.isArray(c) ? c : ['eq', `$${Object.keys(c as object)[0]}`, Object.values(c as object)[0]];
        const field = String(name).replace(/^\$/, '').toLowerCase();
        // the conditions name q-sign-time; the form field carrying it is q-key-time
        const actual = field === 'bucket' ? bucket : field === 'key' ? key : field === 'q-sign-time' ? f['q-sign-time'] || f['q-key-time'] || '' : ownGet(f, field) || '';
        if (op === 'eq' && String(actual) !== String(value)) throw new CosError(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${field}.`);
        if (op === 'starts-with' && !String(actual).startsWith(String(value))) throw new CosError(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${field}.`);
      }
      check = (sk) => safeEq(cosPostPolicySignature(sk, keyTime, policyJson), f['q-signature'].toLowerCase());
    } else {
      throw new CosError(403, 'AccessDenied', 'The form carries neither Signature nor policy + q-* fields.');
    }
    const cred = o.credential(ak);
    if (!cred) throw new CosError(403, 'InvalidAccessKeyId', 'The access key Id format you provided is invalid or the key does not exist.');
    const kt = /^(\d+);(\d+)$/.exec(keyTime);
    const now = nowSec();
    if (!kt) throw new CosError(403, 'AccessDenied', 'q-key-time is not "<start>;<end>".');
    if (parseInt(kt[2], 10) < now) throw new CosError(403, 'AccessDenied', 'Request has expired');
    if (cred.token !== undefined && (!f['x-cos-security-token'] || !safeEq(f['x-cos-security-token'], cred.token))) throw new CosError(403, 'InvalidAccessKeyId', 'The x-cos-security-token does not belong to this temporary SecretId.');
    if (cred.expiredTime !== undefined && cred.expiredTime < now) throw new CosError(403, 'AccessDenied', 'Request has expired');
    if (!check(cred.secretKey)) throw new CosError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (cred.bucket !== undefined && !(cred.bucket === bucket && (cred.keys || []).includes(key))) throw new CosError(403, 'AccessDenied', 'Access Denied. (the temporary credential is scoped to its upload session\'s objects)');
  }

  function serveObject(req: FastifyRequest, reply: FastifyReply, meta: ObjectMeta | undefined, head: boolean): FastifyReply {
    if (!meta) throw new CosError(404, 'NoSuchKey', 'The specified key does not exist.');
    return sendObject(store, req, reply, meta, head);
  }

  return { store, log, handle, object: (b, k) => store.getObject(b, k), read: (m, s, e) => store.readObject(m, s, e) };
}

/**
 * A header Node left out of req.headers (it drops a header named `__proto__`): read from rawHeaders, several values
 * joined with ',' like Node joins them. The name is a signed header name from the client.
 */
function rawHeader(req: FastifyRequest, name: string): string | undefined {
  const raw = req.raw.rawHeaders;
  const vals: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) vals.push(raw[i + 1]);
  return vals.length ? vals.join(',') : undefined;
}

function metaHeaders(req: FastifyRequest): Record<string, string> {
  const meta = nullRecord<string>();
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-cos-meta-') && typeof v === 'string') meta[k] = v;
  return meta;
}

/** GET / HEAD of an object with single-range support (206 / 416), as COS and the VOD media URLs answer. */
export function sendObject(store: ObjectStore, req: FastifyRequest, reply: FastifyReply, meta: ObjectMeta, head: boolean): FastifyReply {
  reply
    .header('ETag', cosEtag(meta.etag))
    .header('Last-Modified', new Date(meta.lastModified).toUTCString())
    .header('x-cos-hash-crc64ecma', meta.crc64)
    .header('Accept-Ranges', 'bytes')
    .header('Content-Type', encodeHeaderValue(meta.contentType));
  // stored before the checks existed (or by another path): encoded, never a 500 from setHeader
  for (const [k, v] of Object.entries(meta.meta)) reply.header(k, encodeHeaderValue(v));
  const range = req.headers.range;
  let start = 0;
  let end = meta.size - 1;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(range).trim());
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = parseInt(m[1], 10);
        end = m[2] ? Math.min(parseInt(m[2], 10), meta.size - 1) : meta.size - 1;
      } else {
        start = Math.max(0, meta.size - parseInt(m[2], 10));
      }
      if (start >= meta.size || start > end) {
        return reply.status(416).header('Content-Range', `bytes */${meta.size}`).type('application/xml').send(head ? undefined : toXml('Error', { Code: 'InvalidRange', Message: 'The requested range is not satisfiable.' }));
      }
      reply.status(206).header('Content-Range', `bytes ${start}-${end}/${meta.size}`);
    }
  }
  reply.header('Content-Length', String(meta.size ? end - start + 1 : 0));
  if (head || meta.size === 0) return reply.send();
  return reply.send(store.readObject(meta, start, end));
}

function safeEq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A fastify app whose every route hands the raw body stream to the handler; absolute-URI request lines work.
 * Paths that are not percent-encoding (fastify refuses them before routing): COS requests (this listener, or the vod2
 * proxy's Vod-Forward-Cos) get COS's XML InvalidURI, anything else a plain 400 Bad Request.
 */
export function rawBodyFastify(opts: { cos?: boolean } = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_OBJECT_SIZE,
    rewriteUrl: (req) => (req.url || '/').replace(/^https?:\/\/[^/]+/i, '') || '/',
    frameworkErrors: (err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply) => {
      req.raw.resume();
      const cos = opts.cos || !!req.headers['vod-forward-cos'];
      const message = err.code === 'FST_ERR_BAD_URL' ? 'Could not parse the specified URI (bad percent-encoding in the path).' : 'The request could not be parsed.';
      if (!cos) return reply.status(400).type('text/plain').send('Bad Request');
      const requestId = `NjU${randomBytes(12).toString('hex')}`;
      const host = String(req.headers['vod-forward-cos'] || req.headers.host || '');
      reply.header('x-cos-request-id', requestId).header('Server', 'tencent-cos');
      return reply.status(400).type('application/xml').send(toXml('Error', { Code: err.code === 'FST_ERR_BAD_URL' ? 'InvalidURI' : 'InvalidRequest', Message: message, Resource: `${host}${(req.url || '').split('?')[0]}`, RequestId: requestId, TraceId: randomBytes(24).toString('base64') }));
    },
  });
  return app;
}

export function installRawBody(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  // An empty or odd Content-Type (legal on COS) must not make fastify answer 415.
  scope.addHook('onRequest', async (req) => {
    const ct = req.headers['content-type'];
    if (ct !== undefined && !/^[^\s/;]+\/[^\s/;]+/.test(ct)) delete req.headers['content-type'];
  });
}

export async function readJsonBody(req: FastifyRequest, limit = 1024 * 1024): Promise<{ raw: Buffer; json: unknown }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req.raw) {
    size += (c as Buffer).length;
    // past the limit: keep reading (and dropping) so the client gets our answer, not a reset
    if (size <= limit) chunks.push(c as Buffer);
  }
  if (size > limit) throw Object.assign(new Error('body too large'), { code: 'BodyTooLarge' });
  const raw = Buffer.concat(chunks);
  let json: unknown;
  try {
    json = raw.length ? JSON.parse(raw.toString('utf8')) : {};
  } catch {
    json = undefined;
  }
  return { raw, json };
}

/** Shared between the tvod and cos providers (built by tencentProviders in server/cloud/tencent-vod). */
export interface TencentShared {
  cos?: CosService;
  credential(secretId: string): CosCredential | undefined;
  buckets(): string[];
}

export function cosProvider(shared: TencentShared): CloudProvider {
  return {
    name: 'cos',
    async build(ctx) {
      const app = rawBodyFastify({ cos: true });
      const cos = createCosService({ ctx, dir: path.join(ctx.dataDir, 'store'), credential: (id) => shared.credential(id), buckets: () => shared.buckets() });
      shared.cos = cos;
      app.get('/_admin/requests', async () => ({ requests: cos.log }));
      app.delete('/_admin/requests', async () => {
        cos.log.length = 0;
        return { ok: true };
      });
      await app.register(async (scope) => {
        installRawBody(scope);
        scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/*', exposeHeadRoute: false, handler: (req, reply) => cos.handle(req, reply) });
      });
      return app;
    },
  };
}

