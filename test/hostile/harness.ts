/**
 * The hostile-input table (issue 9; docs/errors.md): rows that each put one client-supplied value into one id / name /
 * action / appid / key position of one endpoint, run against a real dev stack (local cloud + AppServer on loopback).
 *
 * Adding rows for another area: create `test/hostile/rows-<area>.ts` exporting `rows: HostileRow[]`. Every such file
 * is picked up by test/hostile/names.test.ts and by scripts/hostile-sweep.ts; nothing else to edit. A row's `send`
 * must go through `env.http` (so it is counted) and return the provider's answer as a HostileAnswer; `expect(value)`
 * says which 4xx status and which provider code that value must get.
 */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { startDevStack, type DevStack } from '../../server';
import { computeRpcSignature, canonicalizeRpcQuery, percentEncode, rpcNonce, rpcTimestamp } from '../../sdk/src/aliyun/rpc-signature';
import { ossV1Authorization, formatOssV1Date } from '../../sdk/src/aliyun/oss-signature';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

/** Names every plain JS object inherits (or that rewrite its prototype). */
export const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'] as const;

export interface HostileAnswer {
  status: number;
  /** The provider's error code as its clients read it (AppServer error.code, POP Code, OSS <Code>, WeChat errcode …). */
  code: string | number | undefined;
  text: string;
  headers: http.IncomingHttpHeaders;
}

export interface HostileExpectation {
  status: number;
  code: string | number;
}

export interface HostileRow {
  /** "<where> <position>", e.g. "VOD RPC Action"; test names are `${name} = ${value}`. */
  name: string;
  /** The values to send (default HOSTILE_NAMES); a class row names its cases here ("userData nested 10,000 levels"). */
  values?: readonly string[];
  send(env: HostileEnv, value: string): Promise<HostileAnswer>;
  expect(value: string): HostileExpectation;
  /** After the answer: what must also hold (nothing stored, a header encoded …); returns the problems found. */
  check?(env: HostileEnv, value: string, answer: HostileAnswer): Promise<string[]>;
}

/** Run one row for one value: the answer, and every mismatch with the expectation and the row's own checks. */
export async function runRow(env: HostileEnv, row: HostileRow, value: string): Promise<{ answer: HostileAnswer; problems: string[] }> {
  const want = row.expect(value);
  const seen = env.stats.fiveXX.length;
  const a = await row.send(env, value);
  // A 502 the row expects (the AppServer facing a broken provider) is the right answer, not a crash: set it aside.
  if (want.status >= 500) env.stats.expected5xx.push(...env.stats.fiveXX.splice(seen).filter((e) => e.status === want.status));
  const problems: string[] = [];
  if (a.status !== want.status || a.code !== want.code) problems.push(`answered ${a.status} ${String(a.code)}, expected ${want.status} ${want.code}: ${a.text.slice(0, 200)}`);
  if (row.check) problems.push(...(await row.check(env, value, a)));
  return { answer: a, problems };
}

export interface RawRequest {
  method: string;
  /** Absolute URL; the path is sent byte for byte (no normalisation, no re-encoding). */
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface HostileStats {
  requests: number;
  /** 5xx answers no row expected. */
  fiveXX: Array<{ url: string; status: number }>;
  /** 5xx answers a row expected (a 502 from the AppServer when the provider answers nonsense). */
  expected5xx: Array<{ url: string; status: number }>;
  /** Lines the servers logged as internal errors while the table ran. */
  serverErrors: string[];
}

export interface HostileEnv {
  stack: DevStack;
  app: string;
  cloud: NonNullable<DevStack['cloud']>;
  /** A logged-in AppServer session. */
  token: string;
  /** VOD's outin-… bucket (public image/ prefix). */
  bucket: string;
  stats: HostileStats;
  http(req: RawRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>;
  /** AppServer JSON call; `rawBody` is sent as is (for bodies JSON.stringify cannot produce). */
  api(method: string, p: string, opts?: { body?: unknown; rawBody?: string; contentType?: string; token?: string | null }): Promise<HostileAnswer>;
  /** A signed POP request (GET) to VOD or STS with the account AccessKey; `omit` drops common params before signing. */
  pop(service: 'vod' | 'sts', params: Record<string, string>, opts?: { accessKeyId?: string; secret?: string; timestampMs?: number; omit?: string[]; extraUnsigned?: string; nonce?: string }): Promise<HostileAnswer>;
  /** A V1-signed path-style OSS request with the account AccessKey (or anonymous). */
  oss(opts: { method: string; bucket?: string; key?: string; rawPath?: string; sub?: Record<string, string | null>; query?: string; headers?: Record<string, string>; body?: Buffer | string; accessKeyId?: string; anonymous?: boolean }): Promise<HostileAnswer>;
  /** Mint a WeChat code and log in: a fresh session token. */
  login(openid?: string): Promise<string>;
  close(): Promise<void>;
}

const xml = new XMLParser({ parseTagValue: false });

export function ossCode(text: string): string | undefined {
  try {
    const doc = xml.parse(text) as { Error?: { Code?: string } };
    return doc?.Error?.Code;
  } catch {
    return undefined;
  }
}

function jsonOf(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function answer(r: { status: number; headers: http.IncomingHttpHeaders; text: string }, pick: (json: any, text: string) => string | number | undefined): HostileAnswer {
  return { ...r, code: pick(jsonOf(r.text), r.text) };
}

export const appCode = (j: any) => j?.error?.code;
export const popCode = (j: any) => j?.Code;
export const wxCode = (j: any) => j?.errcode;

export async function startHostileEnv(): Promise<HostileEnv> {
  const stack = await startDevStack({ quiet: true, env: {} });
  const cloud = stack.cloud!;
  const stats: HostileStats = { requests: 0, fiveXX: [], expected5xx: [], serverErrors: [] };
  // Every server in this process logs its 5xx through console.error ("internal error" / "unhandled error").
  const origError = console.error;
  console.error = (...args: unknown[]) => {
    stats.serverErrors.push(args.map((a) => (a instanceof Error ? a.stack || a.message : String(a))).join(' ').slice(0, 500));
  };

  const httpReq = (req: RawRequest) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const u = new URL(req.url);
      const rawPath = req.url.slice(req.url.indexOf('/', u.protocol.length + 2));
      const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
      const headers: Record<string, string | number> = { ...(req.headers || {}) };
      if (body && headers['content-length'] === undefined) headers['content-length'] = body.length;
      const r = http.request({ host: u.hostname, port: Number(u.port), method: req.method, path: rawPath, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          stats.requests++;
          const status = res.statusCode || 0;
          if (status >= 500) stats.fiveXX.push({ url: req.url, status });
          resolve({ status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });

  const login = async (openid = `oHostile${Math.random().toString(36).slice(2, 10)}`) => {
    const c = await httpReq({ method: 'POST', url: `${cloud.wechat}/wx/dev/code`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }) });
    const { code } = JSON.parse(c.text) as { code: string };
    const l = await httpReq({ method: 'POST', url: `${stack.appServerUrl}/api/login`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    if (l.status !== 200) throw new Error(`login failed: ${l.status} ${l.text}`);
    return (JSON.parse(l.text) as { token: string }).token;
  };
  const token = await login('oHostileTable01');
  const info = JSON.parse((await httpReq({ method: 'GET', url: `${cloud.oss}/_admin/info` })).text) as { vodBucket: string };

  const env: HostileEnv = {
    stack,
    app: stack.appServerUrl,
    cloud,
    token,
    bucket: info.vodBucket,
    stats,
    http: httpReq,
    login,
    async api(method, p, opts = {}) {
      const headers: Record<string, string> = {};
      const tok = opts.token === undefined ? token : opts.token;
      if (tok) headers.authorization = `Bearer ${tok}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers['content-type'] = opts.contentType || 'application/json';
      return answer(await httpReq({ method, url: `${stack.appServerUrl}${p}`, headers, body }), appCode);
    },
    async pop(service, params, opts = {}) {
      const all: Record<string, string> = {
        Format: 'JSON',
        Version: service === 'vod' ? '2017-03-21' : '2015-04-01',
        AccessKeyId: opts.accessKeyId ?? DEV_CREDENTIALS.aliyun.accessKeyId,
        SignatureMethod: 'HMAC-SHA1',
        SignatureVersion: '1.0',
        SignatureNonce: opts.nonce || rpcNonce(),
        Timestamp: rpcTimestamp(opts.timestampMs ?? Date.now()),
        ...params,
      };
      for (const k of opts.omit || []) delete all[k];
      const sig = computeRpcSignature('GET', all, opts.secret ?? DEV_CREDENTIALS.aliyun.accessKeySecret);
      const url = `${cloud[service]}/?${canonicalizeRpcQuery(all)}&Signature=${percentEncode(sig)}${opts.extraUnsigned ? `&${opts.extraUnsigned}` : ''}`;
      return answer(await httpReq({ method: 'GET', url }), popCode);
    },
    async oss(o) {
      const bucket = o.bucket ?? info.vodBucket;
      const headers: Record<string, string> = { 'x-oss-date': formatOssV1Date(Date.now()), ...(o.headers || {}) };
      if (!o.anonymous) {
        const { authorization } = ossV1Authorization(o.accessKeyId ?? DEV_CREDENTIALS.aliyun.accessKeyId, DEV_CREDENTIALS.aliyun.accessKeySecret, { method: o.method, bucket, key: o.key, headers, subResources: o.sub });
        headers.authorization = authorization;
      }
      const sub = Object.entries(o.sub || {}).map(([k, v]) => (v === null ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`));
      if (o.query) sub.push(o.query);
      const p = o.rawPath ?? `/${encodeURIComponent(bucket)}/${o.key ? o.key.split('/').map(encodeURIComponent).join('/') : ''}`;
      return answer(await httpReq({ method: o.method, url: `${cloud.oss}${p}${sub.length ? `?${sub.join('&')}` : ''}`, headers, body: o.body }), (_j, t) => ossCode(t));
    },
    async close() {
      console.error = origError;
      await stack.close();
    },
  };
  return env;
}

/** Every `rows*.ts` file next to this one (rows.ts, rows-iot.ts, …). */
export function loadAllRows(): HostileRow[] {
  const out: HostileRow[] = [];
  for (const f of readdirSync(__dirname).sort()) {
    if (!/^rows(-[\w-]+)?\.ts$/.test(f)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(__dirname, f)) as { rows?: HostileRow[] };
    if (Array.isArray(mod.rows)) out.push(...mod.rows);
  }
  return out;
}

/** Own property names and descriptors of Object.prototype (and Array/Function prototypes): a pollution detector. */
export function prototypeSnapshot(): string {
  const d = (o: object) =>
    Object.getOwnPropertyNames(o)
      .sort()
      .map((k) => {
        const desc = Object.getOwnPropertyDescriptor(o, k)!;
        return `${k}:${typeof desc.value}:${String(desc.writable)}:${desc.get ? 'g' : ''}${desc.set ? 's' : ''}`;
      })
      .join(',');
  return [d(Object.prototype), d(Array.prototype), d(Function.prototype), String(Object.getPrototypeOf(Object.prototype))].join('\n');
}
