/**
 * Helpers for the Aliyun local-cloud fidelity tests: start the three providers on loopback, talk to the admin API,
 * get STS credentials through @alicloud/pop-core, and send raw signed OSS requests (for cases ali-oss cannot produce,
 * such as a Complete body in the wrong order).
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import RPCClient = require('@alicloud/pop-core');
import OSS from 'ali-oss';
import { startCloud, RunningCloud } from '../../server/cloud';
import { aliyunOssProvider } from '../../server/cloud/aliyun-oss';
import { aliyunStsProvider } from '../../server/cloud/aliyun-sts';
import { aliyunVodProvider } from '../../server/cloud/aliyun-vod';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { ossV1Authorization, formatOssV1Date } from '../../sdk/src/aliyun';

export const AK = DEV_CREDENTIALS.aliyun.accessKeyId;
export const SK = DEV_CREDENTIALS.aliyun.accessKeySecret;
export const ROLE_ARN = DEV_CREDENTIALS.aliyun.roleArn;

export interface AliyunCloud {
  cloud: RunningCloud;
  oss: string;
  vod: string;
  sts: string;
  bucket: string;
  dataDir: string;
  /** Stops the cloud and removes its temp data folder (and the `-restart` sibling a persistence test makes). */
  close(): Promise<void>;
}

export async function startAliyunCloud(): Promise<AliyunCloud> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'aliyun-cloud-'));
  const cloud = await startCloud({ dataDir, providers: [aliyunOssProvider(), aliyunVodProvider(), aliyunStsProvider()], quiet: true });
  const info = (await (await fetch(`${cloud.urls.oss}/_admin/info`)).json()) as { vodBucket: string };
  return {
    cloud,
    oss: cloud.urls.oss,
    vod: cloud.urls.vod,
    sts: cloud.urls.sts,
    bucket: info.vodBucket,
    dataDir,
    async close() {
      await cloud.close();
      for (const d of [dataDir, `${dataDir}-restart`]) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

export async function admin(base: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${p} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export function rpc(endpoint: string, apiVersion: string, creds: { accessKeyId: string; accessKeySecret: string; securityToken?: string } = { accessKeyId: AK, accessKeySecret: SK }) {
  return new RPCClient({ endpoint, apiVersion, ...creds });
}

export interface StsCreds {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
}

export async function assumeRole(sts: string, params: Record<string, unknown> = {}): Promise<StsCreds> {
  const r = (await rpc(sts, '2015-04-01').request('AssumeRole', { RoleArn: ROLE_ARN, RoleSessionName: 'fidelity-test', ...params }, { method: 'POST' })) as { Credentials: StsCreds };
  return r.Credentials;
}

export function ossClient(c: AliyunCloud, creds?: StsCreds | { accessKeyId: string; accessKeySecret: string; stsToken?: string }, extra: Record<string, unknown> = {}): OSS {
  const auth = !creds
    ? { accessKeyId: AK, accessKeySecret: SK }
    : 'AccessKeyId' in creds
      ? { accessKeyId: creds.AccessKeyId, accessKeySecret: creds.AccessKeySecret, stsToken: creds.SecurityToken }
      : creds;
  return new OSS({ endpoint: c.oss, bucket: c.bucket, region: 'oss-cn-shanghai', timeout: 20000, ...auth, ...extra } as OSS.Options);
}

export const xml = new XMLParser({ parseTagValue: false, isArray: (n) => n === 'Part' || n === 'Upload' || n === 'Contents' });

/** A raw path-style request signed with V1 (our signer, itself pinned to ali-oss by the unit tests). */
export async function signedFetch(
  c: AliyunCloud,
  opts: { method: string; key?: string; bucket?: string; sub?: Record<string, string | null>; query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | string; secret?: string; accessKeyId?: string; dateMs?: number },
): Promise<{ status: number; headers: Headers; text: string; body: Buffer }> {
  const bucket = opts.bucket ?? c.bucket;
  const headers: Record<string, string> = { 'x-oss-date': formatOssV1Date(opts.dateMs ?? Date.now()), ...(opts.headers || {}) };
  const { authorization } = ossV1Authorization(opts.accessKeyId || AK, opts.secret || SK, { method: opts.method, bucket, key: opts.key, headers, subResources: opts.sub });
  const qs = [
    ...Object.entries(opts.sub || {}).map(([k, v]) => (v === null ? k : `${k}=${encodeURIComponent(v)}`)),
    ...Object.entries(opts.query || {}).map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
  ].join('&');
  const url = `${c.oss}/${bucket}/${opts.key ? opts.key.split('/').map(encodeURIComponent).join('/') : ''}${qs ? `?${qs}` : ''}`;
  // a Buffer body: fetch adds no Content-Type of its own (a string body would get text/plain, breaking the signature)
  const reqBody = opts.body === undefined ? undefined : new Uint8Array(typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body);
  const res = await fetch(url, { method: opts.method, headers: { ...headers, authorization }, body: reqBody });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, text: body.toString('utf8'), body };
}

export async function expectOssError(p: Promise<unknown>, code: string): Promise<any> {
  try {
    await p;
  } catch (e) {
    expect((e as { code?: string }).code).toBe(code);
    return e;
  }
  throw new Error(`expected OSS error ${code}, but the call succeeded`);
}

export function patterned(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * A request with an exact path (no URL normalisation of "..") and any Host header, sent to a loopback port: for
 * virtual-hosted addressing and path-traversal probes that fetch() would rewrite.
 */
export function rawHttp(port: number, opts: { method: string; path: string; host?: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: { ...(opts.host ? { host: opts.host } : {}), ...(opts.headers || {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode || 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}
