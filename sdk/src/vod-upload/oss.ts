/**
 * The OSS REST calls VODUpload needs, over the platform adapter: InitiateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts, HeadObject and PostObject (wx.uploadFile).
 * Signature V1 by default, V4 as an option; explicit Content-Type, x-oss-date, x-oss-security-token on every request.
 */
import { MediaKitError } from '../errors';
import type { AbortSignalLike } from '../platform/abort';
import type { PlatformAdapter, UploadProgress } from '../platform/types';
import { getHeader } from '../platform/types';
import { base64ToUtf8 } from '../util/bytes';
import { ossObjectUrl } from '../aliyun/credentials';
import {
  encodePostPolicy,
  formatOssV1Date,
  formatOssV4Date,
  ossPostPolicySignature,
  ossPostPolicyV4Signature,
  ossV1Authorization,
  ossV4Authorization,
  OssQuery,
  PostPolicyCondition,
} from '../aliyun/oss-signature';
import { VODUploadErrorCode } from './errors';
import type { OssCredentials } from './types';

export interface OssTarget {
  /** e.g. https://oss-cn-shanghai.aliyuncs.com or http://127.0.0.1:9000 */
  endpoint: string;
  bucket: string;
  object: string;
  region: string;
}

export interface OssContext {
  adapter: PlatformAdapter;
  creds: OssCredentials;
  /** Corrected clock (ms). */
  now(): number;
  v4: boolean;
  timeout?: number;
}

export interface PartInfo {
  number: number;
  etag: string;
  size: number;
  crc?: string;
}

function queryString(q: OssQuery): string {
  const keys = Object.keys(q);
  if (!keys.length) return '';
  return `?${keys
    .map((k) => {
      const v = q[k];
      return v === null || v === '' || v === undefined ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
    })
    .join('&')}`;
}

/**
 * The query parameters V1 signs, among those this module sends (uploads, uploadId, partNumber; not max-parts or
 * part-number-marker) — the same answer as pickV1SubResources without shipping OSS's whole sub-resource list.
 */
function v1SubResources(q: OssQuery): OssQuery {
  const out: OssQuery = {};
  for (const k of Object.keys(q)) if (/^(uploads|uploadId|partNumber)$/.test(k)) out[k] = q[k];
  return out;
}

function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1]) : undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[e]);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data && typeof data === 'object' && !(data instanceof ArrayBuffer)) return JSON.stringify(data);
  return '';
}

/** Turn a non-2xx OSS answer into a MediaKitError carrying the OSS Code, Message, RequestId, EC and ServerTime. */
export function ossError(op: string, status: number, header: Record<string, string>, data: unknown): MediaKitError {
  let xml = bodyText(data);
  const errHeader = getHeader(header, 'x-oss-err');
  if (!/<Code>/.test(xml) && errHeader) {
    try {
      xml = base64ToUtf8(errHeader);
    } catch (_) {
      /* keep the body */
    }
  }
  const code = xmlValue(xml, 'Code');
  const message = xmlValue(xml, 'Message');
  const details: Record<string, unknown> = {
    op,
    status,
    requestId: xmlValue(xml, 'RequestId') || getHeader(header, 'x-oss-request-id'),
    ec: xmlValue(xml, 'EC') || getHeader(header, 'x-oss-ec'),
    serverTime: xmlValue(xml, 'ServerTime') || getHeader(header, 'x-oss-server-time') || getHeader(header, 'date'),
  };
  if (code) return new MediaKitError(code, `${op}: ${message || code} (HTTP ${status})`, details);
  return new MediaKitError(VODUploadErrorCode.HttpError, `${op}: HTTP ${status} without an OSS error body`, details);
}

interface OssCall {
  op: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  query?: OssQuery;
  headers?: Record<string, string>;
  /** Default application/octet-stream. */
  contentType?: string;
  data?: string | ArrayBuffer;
  signal?: AbortSignalLike;
}

/** Signs and sends one request; resolves with the 2xx response, rejects with an ossError otherwise. */
export async function ossRequest(ctx: OssContext, t: OssTarget, call: OssCall): Promise<{ status: number; header: Record<string, string>; body: string }> {
  const query = call.query || {};
  const now = ctx.now();
  const headers: Record<string, string> = Object.assign({ 'Content-Type': call.contentType || 'application/octet-stream' }, call.headers);
  if (ctx.creds.securityToken) headers['x-oss-security-token'] = ctx.creds.securityToken;
  if (ctx.v4) {
    headers['x-oss-date'] = formatOssV4Date(now);
    headers['x-oss-content-sha256'] = 'UNSIGNED-PAYLOAD';
    headers.Authorization = ossV4Authorization(ctx.creds.accessKeyId, ctx.creds.accessKeySecret, t.region, {
      method: call.method,
      bucket: t.bucket,
      key: t.object,
      headers,
      query,
    }).authorization;
  } else {
    headers['x-oss-date'] = formatOssV1Date(now);
    headers.Authorization = ossV1Authorization(ctx.creds.accessKeyId, ctx.creds.accessKeySecret, {
      method: call.method,
      bucket: t.bucket,
      key: t.object,
      headers,
      subResources: v1SubResources(query),
    }).authorization;
  }
  const op = call.op;
  // `call` (and its part bytes) is not referenced after this await, so the SDK does not keep the slice alive
  const res = await ctx.adapter.request<unknown>({
    url: ossObjectUrl(t.endpoint, t.bucket, t.object) + queryString(query),
    method: call.method,
    header: headers,
    data: call.data,
    dataType: 'text',
    responseType: 'text',
    timeout: ctx.timeout,
    signal: call.signal,
  });
  const header = res.header || {};
  if (res.statusCode < 200 || res.statusCode >= 300) throw ossError(op, res.statusCode, header, res.data);
  return { status: res.statusCode, header, body: bodyText(res.data) };
}

/** The CRC-64 OSS computed (x-oss-hash-crc64ecma), when it sent one. */
function crcOf(header: Record<string, string>): string | undefined {
  return getHeader(header, 'x-oss-hash-crc64ecma');
}

function unexpected(op: string, what: string): MediaKitError {
  return new MediaKitError(VODUploadErrorCode.UnexpectedResponse, `${op}: the response has no ${what}.`, { op });
}

export async function initiateMultipart(ctx: OssContext, t: OssTarget, contentType: string, notification?: string, signal?: AbortSignalLike): Promise<string> {
  const headers: Record<string, string> = {};
  if (notification) headers['x-oss-notification'] = notification;
  const r = await ossRequest(ctx, t, { op: 'InitiateMultipartUpload', method: 'POST', query: { uploads: null }, contentType, headers, signal });
  const id = xmlValue(r.body, 'UploadId');
  if (!id) throw unexpected('InitiateMultipartUpload', 'UploadId');
  return id;
}

export async function uploadPart(ctx: OssContext, t: OssTarget, uploadId: string, partNumber: number, data: ArrayBuffer, signal?: AbortSignalLike): Promise<{ etag: string; crc?: string }> {
  const r = await ossRequest(ctx, t, {
    op: 'UploadPart',
    method: 'PUT',
    query: { partNumber, uploadId },
    data,
    signal,
  });
  const etag = getHeader(r.header, 'etag');
  if (!etag) throw unexpected('UploadPart', 'ETag');
  return { etag, crc: crcOf(r.header) };
}

export async function completeMultipart(ctx: OssContext, t: OssTarget, uploadId: string, parts: PartInfo[], signal?: AbortSignalLike): Promise<{ etag?: string; crc?: string }> {
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>\n';
  for (const p of parts) xml += `<Part>\n<PartNumber>${p.number}</PartNumber>\n<ETag>${escapeXml(p.etag)}</ETag>\n</Part>\n`;
  xml += '</CompleteMultipartUpload>';
  const r = await ossRequest(ctx, t, { op: 'CompleteMultipartUpload', method: 'POST', query: { uploadId }, contentType: 'application/xml', data: xml, signal });
  return { etag: xmlValue(r.body, 'ETag'), crc: crcOf(r.header) };
}

export async function abortMultipart(ctx: OssContext, t: OssTarget, uploadId: string): Promise<void> {
  await ossRequest(ctx, t, { op: 'AbortMultipartUpload', method: 'DELETE', query: { uploadId } });
}

/** Every part OSS holds for this upload (follows NextPartNumberMarker). */
export async function listParts(ctx: OssContext, t: OssTarget, uploadId: string, signal?: AbortSignalLike): Promise<PartInfo[]> {
  const out: PartInfo[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 20; page++) {
    const query: OssQuery = { 'max-parts': 1000, uploadId };
    if (marker) query['part-number-marker'] = marker;
    const r = await ossRequest(ctx, t, { op: 'ListParts', method: 'GET', query, signal });
    const re = /<Part>([\s\S]*?)<\/Part>/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(r.body))) {
      const x = m[1];
      const number = parseInt(xmlValue(x, 'PartNumber') || '', 10);
      const etag = xmlValue(x, 'ETag');
      const size = parseInt(xmlValue(x, 'Size') || '', 10);
      if (number > 0 && etag && size >= 0) out.push({ number, etag, size, crc: xmlValue(x, 'HashCrc64ecma') });
    }
    marker = xmlValue(r.body, 'NextPartNumberMarker');
    if (xmlValue(r.body, 'IsTruncated') !== 'true' || !marker) break;
  }
  return out;
}

export async function headObject(ctx: OssContext, t: OssTarget, signal?: AbortSignalLike): Promise<{ size: number; crc?: string }> {
  const r = await ossRequest(ctx, t, { op: 'HeadObject', method: 'HEAD', signal });
  return { size: parseInt(getHeader(r.header, 'content-length') || '-1', 10), crc: crcOf(r.header) };
}

/** PostObject through wx.uploadFile (byte-level progress). The policy pins bucket, key and size. */
export async function postObject(
  ctx: OssContext,
  t: OssTarget,
  o: { filePath: string; size: number; contentType: string; notification?: string; signal?: AbortSignalLike; onProgress?: (p: UploadProgress) => void },
): Promise<{ crc?: string }> {
  const now = ctx.now();
  const c = ctx.creds;
  const conditions: PostPolicyCondition[] = [{ bucket: t.bucket }, ['eq', '$key', t.object], ['content-length-range', 0, o.size]];
  const form: Record<string, string> = { key: t.object, success_action_status: '200', 'Content-Type': o.contentType };
  if (c.securityToken) form['x-oss-security-token'] = c.securityToken;
  if (o.notification) {
    form['x-oss-notification'] = o.notification;
    conditions.push(['eq', '$x-oss-notification', o.notification]);
  }
  const expiration = new Date(now + 30 * 60 * 1000).toISOString();
  if (ctx.v4) {
    const dateTime = formatOssV4Date(now);
    const date = dateTime.slice(0, 8);
    const credential = `${c.accessKeyId}/${date}/${t.region}/oss/aliyun_v4_request`;
    form['x-oss-signature-version'] = 'OSS4-HMAC-SHA256';
    form['x-oss-credential'] = credential;
    form['x-oss-date'] = dateTime;
    conditions.push({ 'x-oss-signature-version': 'OSS4-HMAC-SHA256' }, { 'x-oss-credential': credential }, { 'x-oss-date': dateTime });
    if (c.securityToken) conditions.push({ 'x-oss-security-token': c.securityToken });
    const policy = encodePostPolicy({ expiration, conditions });
    form.policy = policy;
    form['x-oss-signature'] = ossPostPolicyV4Signature(c.accessKeySecret, date, t.region, policy);
  } else {
    const policy = encodePostPolicy({ expiration, conditions });
    form.policy = policy;
    form.OSSAccessKeyId = c.accessKeyId;
    form.Signature = ossPostPolicySignature(c.accessKeySecret, policy);
  }
  const res = await ctx.adapter.uploadFile({
    url: ossObjectUrl(t.endpoint, t.bucket, ''),
    filePath: o.filePath,
    name: 'file',
    formData: form,
    timeout: ctx.timeout,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  const h = res.header || {};
  if (res.statusCode < 200 || res.statusCode >= 300) throw ossError('PostObject', res.statusCode, h, res.data);
  return { crc: crcOf(h) };
}
