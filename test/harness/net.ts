/**
 * wx.request / wx.uploadFile / wx.downloadFile over real sockets (node:http / node:https), with WeChat's rules:
 * `success` for every HTTP status, `fail` with "<api>:fail …" texts, at most N tasks in flight (the rest queue
 * FIFO), tasks interrupted N ms after the app hides, host mapping onto local servers (Host header kept), per-task
 * fault injection, and a log of every task.
 */
import { Buffer } from 'node:buffer';
import * as nodeFs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { URL } from 'node:url';
import type { Socket } from 'node:net';
import { CutPlan, startFaultProxy } from './fault-proxy';
import type { Gate } from './gate';
import type { Sandbox } from './sandbox';
import { FsFail } from './sandbox';
import { Callbacks, Timer, bytesOf, deliver, isArrayBuffer, randomId, safeCall, toArrayBuffer } from './util';

export type NetApi = 'request' | 'uploadFile' | 'downloadFile';

export type FaultAction =
  /**
   * Reset the connection with a real TCP RST. `when: 'request'` (default): the server receives only part of the
   * request (the head and half the body; the head without its last CRLF when there is no body), so it never acts
   * on it. `when: 'response'`: the server receives and handles the whole request, and the client is reset as soon
   * as the answer starts (the "response lost" case).
   */
  | { type: 'reset'; when?: 'request' | 'response' }
  /** Answer locally with this status / body / headers without reaching the server. */
  | { type: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Hold the task this many ms before connecting (counts toward its timeout). */
  | { type: 'delay'; ms: number }
  /**
   * Hold the task before connecting until the test lets it through the gate (test/harness/gate.ts); the time held
   * counts toward the task's timeout, and an abort while held ends the task without contacting the server.
   */
  | { type: 'hold'; gate: Gate }
  /** request/uploadFile: reset after N request-body bytes reached the server; downloadFile: after N response-body bytes. */
  | { type: 'cutAfter'; bytes: number }
  /**
   * The host fails the task itself with errMsg `<api>:fail <reason>` without connecting, as WeChat does for
   * e.g. 'abort' (a task WeChat dropped on its own) or 'url not in domain list'.
   */
  | { type: 'fail'; reason: string };

export interface FaultRule {
  match?: { url?: string | RegExp; method?: string; api?: NetApi };
  /** How many matching tasks it applies to (default 1; Infinity allowed). The first matching rule wins. */
  times?: number;
  action: FaultAction;
}

export interface RequestLogEntry {
  id: number;
  api: NetApi;
  method: string;
  url: string;
  status?: number;
  error?: string;
  /** Request-body bytes handed to the socket. */
  bytesSent: number;
  /** Response-body bytes received. */
  bytesReceived: number;
  /** When the task was called (ms). */
  queuedAt: number;
  /** When it left the queue and started (ms; equals queuedAt for tasks that never ran). */
  startedAt: number;
  endedAt?: number;
  /** The fault applied, e.g. 'reset', 'status:503', 'delay:200', 'cutAfter:1000'. */
  fault?: string;
  /** Request headers as sent (Host included). */
  header?: Record<string, string>;
}

export interface NetOptions {
  sandbox: Sandbox;
  hostMap: Record<string, string>;
  maxConcurrent: number;
  backgroundInterruptMs: number;
  timeouts: Record<NetApi, number>;
  referer: string;
  userAgent: string;
  schedule(fn: () => void): void;
}

const METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT'];

const MIME: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.mp3': 'audio/mpeg',
};
const EXT_BY_MIME: Record<string, string> = Object.fromEntries(Object.entries(MIME).map(([e, m]) => [m, e]));

/** WeChat (Android, cronet) wording for socket errors; every one classifies as a network failure. */
function netReason(e: NodeJS.ErrnoException): string {
  const code = e.code || '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up|aborted/i.test(e.message)) {
    return 'errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET';
  }
  if (code === 'ECONNREFUSED') return 'errcode:-102 cronet_error_code:-102 error_msg:net::ERR_CONNECTION_REFUSED';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'errcode:-105 cronet_error_code:-105 error_msg:net::ERR_NAME_NOT_RESOLVED';
  if (code === 'ETIMEDOUT') return 'errcode:-118 cronet_error_code:-118 error_msg:net::ERR_CONNECTION_TIMED_OUT';
  return `errcode:-2 cronet_error_code:-2 error_msg:net::ERR_FAILED (${code || e.message})`;
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function headersFromRaw(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const names = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    const name = names.get(lower);
    if (name === undefined) {
      names.set(lower, raw[i]);
      out[raw[i]] = raw[i + 1];
    } else {
      out[name] = `${out[name]}, ${raw[i + 1]}`;
    }
  }
  return out;
}

function findHeader(h: Record<string, string>, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const k of Object.keys(h)) if (k.toLowerCase() === want) return h[k];
  return undefined;
}

function encodeQuery(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of Object.keys(data)) {
    const v = data[k];
    if (v === undefined) continue;
    const s = v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
  }
  return parts.join('&');
}

function typeName(v: unknown): string {
  if (v === null) return 'Null';
  if (v === undefined) return 'Undefined';
  const t = typeof v;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Throws a clear Error when a hostMap target is not an http(s) base URL. */
export function validateHostMap(hostMap: Record<string, string>): void {
  for (const [k, v] of Object.entries(hostMap)) {
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(v).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`hostMap["${k}"] must be an http(s) base URL like "http://127.0.0.1:8080", got "${v}"`);
  }
}

export class FaultRegistry {
  private rules: Array<{ rule: FaultRule; remaining: number }> = [];

  add(rule: FaultRule): () => void {
    if (!rule || !rule.action) throw new Error('faults.add: a rule needs an action');
    const a = rule.action;
    const ok =
      (a.type === 'reset' && (a.when === undefined || a.when === 'request' || a.when === 'response')) ||
      (a.type === 'status' && Number.isInteger(a.status) && a.status >= 100 && a.status <= 999) ||
      (a.type === 'delay' && typeof a.ms === 'number' && a.ms >= 0) ||
      (a.type === 'hold' && !!a.gate && typeof a.gate.enter === 'function') ||
      (a.type === 'cutAfter' && Number.isInteger(a.bytes) && a.bytes >= 0) ||
      (a.type === 'fail' && typeof a.reason === 'string' && a.reason.length > 0);
    if (!ok) throw new Error(`faults.add: invalid action ${JSON.stringify(a)}`);
    const times = rule.times === undefined ? 1 : rule.times;
    if (!(times > 0)) throw new Error(`faults.add: times must be > 0 (or Infinity), got ${String(rule.times)}`);
    const entry = { rule, remaining: times };
    this.rules.push(entry);
    return () => {
      this.rules = this.rules.filter((r) => r !== entry);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule matching the task consumes one use and gives its action. */
  take(api: NetApi, method: string, url: string): FaultAction | undefined {
    for (const r of this.rules) {
      const m = r.rule.match || {};
      if (m.api && m.api !== api) continue;
      if (m.method && m.method.toUpperCase() !== method.toUpperCase()) continue;
      if (m.url !== undefined) {
        if (typeof m.url === 'string') {
          if (!url.includes(m.url)) continue;
        } else {
          m.url.lastIndex = 0;
          if (!m.url.test(url)) continue;
        }
      }
      r.remaining--;
      if (r.remaining <= 0) this.rules = this.rules.filter((x) => x !== r);
      return r.rule.action;
    }
    return undefined;
  }
}

function describeFault(a: FaultAction): string {
  switch (a.type) {
    case 'reset':
      return a.when === 'response' ? 'reset:response' : 'reset';
    case 'status':
      return `status:${a.status}`;
    case 'delay':
      return `delay:${a.ms}`;
    case 'hold':
      return `hold:${a.gate.name}`;
    case 'cutAfter':
      return `cutAfter:${a.bytes}`;
    case 'fail':
      return `fail:${a.reason}`;
  }
}

interface Target {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
  path: string;
  hostHeader: string;
  servername: string;
}

/** Where a response goes; `done` settles the task. */
interface Sink {
  onResponse(statusCode: number, header: Record<string, string>, cookies: string[]): void;
  /** May return a promise to apply backpressure. */
  onData(chunk: Buffer): Promise<void> | void;
  onEnd(): Promise<void> | void;
}

interface ExchangeSpec {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Writes the body (if any) and ends the request; reports flushed byte counts. */
  writeBody(req: http.ClientRequest, flushed: (n: number) => void): Promise<void>;
  sink: Sink;
}

type Listener = (res: any) => void;

/** What wx returns for a task: abort() plus on/off pairs for headers and the task's own events. */
function taskHandle(task: Task, events: Record<string, Set<Listener>>): Record<string, unknown> {
  const handle: Record<string, unknown> = { abort: () => task.abort() };
  for (const [name, set] of Object.entries({ HeadersReceived: task.headerListeners, ...events })) {
    handle[`on${name}`] = (fn: Listener) => void set.add(fn);
    handle[`off${name}`] = (fn?: Listener) => (fn ? void set.delete(fn) : set.clear());
  }
  return handle;
}

class Task {
  state: 'queued' | 'running' | 'done' = 'queued';
  private timers = new Set<Timer>();
  private cleanups: Array<() => void> = [];
  readonly headerListeners = new Set<Listener>();
  readonly progressListeners = new Set<Listener>();
  readonly chunkListeners = new Set<Listener>();

  constructor(
    readonly net: Net,
    readonly api: NetApi,
    readonly cb: Callbacks,
    readonly entry: RequestLogEntry,
    readonly timeout: number,
    readonly start: (t: Task) => void,
  ) {}

  get active(): boolean {
    return this.state === 'running';
  }

  setTimer(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }

  onCleanup(fn: () => void): void {
    if (this.state === 'done') fn();
    else this.cleanups.push(fn);
  }

  emit(set: Set<Listener>, payload: unknown): void {
    if (this.state === 'done') return;
    for (const fn of [...set]) safeCall(fn, payload);
  }

  succeed(payload: Record<string, unknown>): void {
    this.settle(true, { ...payload, errMsg: `${this.api}:ok` });
  }

  fail(reason: string): void {
    this.settle(false, { errMsg: `${this.api}:fail ${reason}` });
  }

  /** The app was killed: end the task (socket, timers, proxies) and deliver NOTHING to its callbacks. */
  kill(): void {
    this.settle(false, { errMsg: 'killed (no callback delivered)' }, true);
  }

  private settle(ok: boolean, payload: { errMsg: string }, silent = false): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.entry.endedAt = Date.now();
    if (!ok) this.entry.error = payload.errMsg;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const fn of cleanups) {
      try {
        fn();
      } catch (_) {
        /* cleanup must not break settling */
      }
    }
    this.net.finished(this);
    if (!silent) deliver(this.cb, ok, payload, (fn) => this.net.opts.schedule(fn));
  }

  abort(): void {
    this.fail('abort');
  }
}

export class Net {
  readonly log: RequestLogEntry[] = [];
  readonly faults = new FaultRegistry();
  private running = new Set<Task>();
  private queue: Task[] = [];
  private hidden = false;
  private interruptTimer: Timer | undefined;
  private sockets = new Set<Socket>();
  private nextId = 1;
  private closed = false;
  private killed = false;

  constructor(readonly opts: NetOptions) {
    validateHostMap(opts.hostMap);
  }

  /** Tasks in flight / waiting for a slot. */
  stats(): { active: number; queued: number } {
    return { active: this.running.size, queued: this.queue.length };
  }

  // ---------------------------------------------------------------- scheduling

  private submit(api: NetApi, method: string, url: string, cb: Callbacks, timeout: unknown, start: (t: Task) => void): Task {
    const now = Date.now();
    const entry: RequestLogEntry = { id: this.nextId++, api, method, url, bytesSent: 0, bytesReceived: 0, queuedAt: now, startedAt: now };
    this.log.push(entry);
    const ms = typeof timeout === 'number' && timeout > 0 ? timeout : this.opts.timeouts[api];
    const task = new Task(this, api, cb, entry, ms, start);
    if (this.killed) task.kill();
    else if (this.closed) task.fail('abort');
    else if (this.hidden) task.fail('interrupted');
    else if (this.running.size < this.opts.maxConcurrent) this.dispatch(task);
    else this.queue.push(task);
    return task;
  }

  private dispatch(task: Task): void {
    task.state = 'running';
    task.entry.startedAt = Date.now();
    this.running.add(task);
    if (task.timeout > 0) task.setTimer(() => task.fail('timeout'), task.timeout);
    // Start after the caller's synchronous code, so listeners registered on the returned task see every event.
    void Promise.resolve().then(() => {
      if (!task.active) return;
      try {
        task.start(task);
      } catch (e) {
        task.fail((e as Error).message);
      }
    });
  }

  /** Called by a task as it settles. */
  finished(task: Task): void {
    this.running.delete(task);
    const i = this.queue.indexOf(task);
    if (i >= 0) this.queue.splice(i, 1);
    while (!this.closed && this.running.size < this.opts.maxConcurrent && this.queue.length) this.dispatch(this.queue.shift()!);
  }

  /** App lifecycle: hidden → new calls fail at once, and in-flight ones fail "interrupted" after the grace period. */
  setHidden(hidden: boolean): void {
    if (this.killed || hidden === this.hidden) return;
    this.hidden = hidden;
    if (this.interruptTimer) clearTimeout(this.interruptTimer);
    this.interruptTimer = undefined;
    if (hidden) {
      this.interruptTimer = setTimeout(() => {
        this.interruptTimer = undefined;
        for (const t of [...this.queue, ...this.running]) t.fail('interrupted');
      }, this.opts.backgroundInterruptMs);
    }
  }

  /**
   * The app is killed: every task ends without a callback, new tasks are dropped (logged, never started), the
   * interrupt timer is cleared and every socket is destroyed.
   */
  async kill(): Promise<void> {
    this.killed = true;
    this.closed = true;
    if (this.interruptTimer) clearTimeout(this.interruptTimer);
    this.interruptTimer = undefined;
    for (const t of [...this.queue, ...this.running]) t.kill();
    const open = [...this.sockets].filter((s) => !s.destroyed);
    for (const s of open) s.destroy();
    await Promise.all(open.map((s) => new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r())))));
  }

  async close(): Promise<void> {
    if (this.killed) return;
    this.closed = true;
    if (this.interruptTimer) clearTimeout(this.interruptTimer);
    this.interruptTimer = undefined;
    for (const t of [...this.queue, ...this.running]) t.fail('abort');
    const open = [...this.sockets].filter((s) => !s.destroyed);
    for (const s of open) s.destroy();
    await Promise.all(open.map((s) => new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r())))));
    // Let the callbacks scheduled above run before the caller tears down its servers.
    await new Promise<void>((r) => setTimeout(r, 0));
  }

  // ---------------------------------------------------------------- transport

  private lookupMapped(hostname: string, port: string): string | undefined {
    // Keys may be written as 'host', 'host:port', '*.suffix', or with a scheme / trailing slash ('https://host/').
    const map: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.opts.hostMap)) map[k.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '').toLowerCase()] = v;
    const h = hostname.toLowerCase();
    const keys = Object.keys(map);
    for (const k of keys) if (port && k.toLowerCase() === `${h}:${port}`) return map[k];
    for (const k of keys) if (k.toLowerCase() === h) return map[k];
    const wild = keys.filter((k) => k.startsWith('*.')).sort((a, b) => b.length - a.length);
    for (const k of wild) if (h.endsWith(k.slice(1).toLowerCase())) return map[k];
    return undefined;
  }

  private resolveTarget(url: string): Target {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`invalid url "${url}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`invalid url "${url}"`);
    const hostHeader = u.host;
    const reqPath = `${u.pathname || '/'}${u.search}`;
    const mapped = this.lookupMapped(u.hostname, u.port);
    if (mapped) {
      const t = new URL(mapped);
      const prefix = t.pathname.replace(/\/+$/, '');
      return {
        protocol: t.protocol as 'http:' | 'https:',
        host: t.hostname.replace(/^\[|\]$/g, ''),
        port: t.port ? parseInt(t.port, 10) : t.protocol === 'https:' ? 443 : 80,
        path: `${prefix}${reqPath}`,
        hostHeader,
        servername: u.hostname,
      };
    }
    if (!isLoopback(u.hostname)) throw new Error('errcode:-105 cronet_error_code:-105 error_msg:net::ERR_NAME_NOT_RESOLVED');
    return {
      protocol: u.protocol as 'http:' | 'https:',
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? parseInt(u.port, 10) : u.protocol === 'https:' ? 443 : 80,
      path: reqPath,
      hostHeader,
      servername: u.hostname,
    };
  }

  private baseHeaders(user: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (user && typeof user === 'object') {
      for (const [k, v] of Object.entries(user as Record<string, unknown>)) {
        if (v === undefined || v === null) continue;
        const lk = k.toLowerCase();
        if (lk === 'host' || lk === 'referer' || lk === 'content-length' || lk === 'connection') continue; // set by the host
        out[k] = String(v);
      }
    }
    out.Referer = this.opts.referer;
    if (findHeader(out, 'user-agent') === undefined) out['User-Agent'] = this.opts.userAgent;
    return out;
  }

  /** Runs one HTTP exchange for a task: target, faults, connection, body, response → sink. */
  private async exchange(task: Task, spec: ExchangeSpec): Promise<void> {
    const entry = task.entry;
    let target: Target;
    try {
      target = this.resolveTarget(spec.url);
    } catch (e) {
      return task.fail((e as Error).message);
    }
    const fault = this.faults.take(task.api, spec.method, spec.url);
    if (fault) entry.fault = describeFault(fault);
    if (fault && fault.type === 'delay') {
      await task.sleep(fault.ms);
      if (!task.active) return;
    }
    if (fault && fault.type === 'hold') {
      const pass = fault.gate.enter();
      task.onCleanup(() => pass.leave());
      await pass.passed;
      if (!task.active) return;
    }
    if (fault && fault.type === 'fail') return task.fail(fault.reason);
    const headers = { ...spec.headers, Host: target.hostHeader };
    entry.header = headers;
    if (fault && fault.type === 'status') {
      const body = Buffer.from(fault.body || '', 'utf8');
      const h: Record<string, string> = { 'Content-Length': String(body.length), ...(fault.headers || {}) };
      spec.sink.onResponse(fault.status, h, []);
      if (!task.active) return;
      entry.status = fault.status;
      if (body.length) {
        entry.bytesReceived += body.length;
        await spec.sink.onData(body);
      }
      if (task.active) await spec.sink.onEnd();
      return;
    }
    let host = target.host;
    let port = target.port;
    if (fault && (fault.type === 'reset' || fault.type === 'cutAfter')) {
      let plan: CutPlan;
      if (target.protocol === 'https:') plan = { dir: 'raw' };
      else if (fault.type === 'reset') plan = fault.when === 'response' ? { dir: 'down', nothing: true } : { dir: 'up', half: true };
      else plan = task.api === 'downloadFile' ? { dir: 'down', bytes: fault.bytes } : { dir: 'up', bytes: fault.bytes };
      const proxy = await startFaultProxy({ host, port }, plan);
      task.onCleanup(() => proxy.close());
      if (!task.active) return;
      host = '127.0.0.1';
      port = proxy.port;
    }
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.request({
      host,
      port,
      method: spec.method,
      path: target.path,
      headers,
      agent: false,
      servername: target.protocol === 'https:' ? target.servername : undefined,
    });
    task.onCleanup(() => {
      if (!req.destroyed) req.destroy();
    });
    req.on('socket', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    req.on('error', (e: NodeJS.ErrnoException) => task.fail(netReason(e)));
    req.on('response', (res: http.IncomingMessage) => {
      if (!task.active) return void res.destroy();
      entry.status = res.statusCode;
      const sc = res.headers['set-cookie'];
      spec.sink.onResponse(res.statusCode || 0, headersFromRaw(res.rawHeaders), Array.isArray(sc) ? sc : sc ? [sc] : []);
      res.on('data', (chunk: Buffer) => {
        if (!task.active) return;
        entry.bytesReceived += chunk.length;
        const p = spec.sink.onData(chunk);
        if (p) {
          res.pause();
          p.then(
            () => res.resume(),
            (e: Error) => task.fail(e.message),
          );
        }
      });
      res.on('end', () => {
        if (!task.active) return;
        Promise.resolve(spec.sink.onEnd()).catch((e: Error) => task.fail(e.message));
      });
      res.on('error', (e: NodeJS.ErrnoException) => task.fail(netReason(e)));
      res.on('close', () => {
        if (!res.complete) task.fail(netReason(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
      });
    });
    try {
      await spec.writeBody(req, (n) => {
        entry.bytesSent += n;
      });
    } catch (e) {
      task.fail((e as Error).message);
    }
  }

  // ---------------------------------------------------------------- wx.request

  request(o: any = {}): Record<string, unknown> {
    const method = String(o.method || 'GET').toUpperCase();
    let url: string = o.url;
    const cb: Callbacks = o;
    let body: Buffer | undefined;
    let badParam: string | undefined;
    if (typeof url !== 'string') badParam = `parameter error: parameter.url should be String instead of ${typeName(url)};`;
    else if (!METHODS.includes(method)) badParam = `parameter error: parameter.method should be one of ${METHODS.join(', ')}; got "${o.method}"`;
    const headers = this.baseHeaders(o.header);
    if (findHeader(headers, 'content-type') === undefined) headers['content-type'] = 'application/json';
    const ctype = (findHeader(headers, 'content-type') || '').toLowerCase();
    const data = o.data;
    if (!badParam && data !== undefined && data !== null) {
      const bodyless = method === 'GET' || method === 'HEAD';
      // WeChat sends raw bytes only for an ArrayBuffer; a typed-array view is just an object to it (JSON / query)
      if (isArrayBuffer(data)) body = Buffer.from(bytesOf(data));
      else if (typeof data === 'object' && bodyless) {
        const q = encodeQuery(data);
        if (q) url += (url.includes('?') ? '&' : '?') + q;
      } else if (typeof data === 'object') {
        body = Buffer.from(ctype.includes('application/x-www-form-urlencoded') ? encodeQuery(data) : JSON.stringify(data), 'utf8');
      } else if (bodyless) {
        const s = String(data);
        if (s) url += (url.includes('?') ? '&' : '?') + s;
      } else body = Buffer.from(String(data), 'utf8');
    }
    if (!body && (method === 'POST' || method === 'PUT')) body = Buffer.alloc(0);
    if (body) headers['Content-Length'] = String(body.length);
    const dataType = o.dataType === undefined ? 'json' : o.dataType;
    const responseType = o.responseType === 'arraybuffer' ? 'arraybuffer' : 'text';
    const enableChunked = !!o.enableChunked;

    const task = this.submit('request', method, typeof url === 'string' ? url : String(url), cb, o.timeout, (t) => {
      if (badParam) return t.fail(badParam);
      const chunks: Buffer[] = [];
      let statusCode = 0;
      let header: Record<string, string> = {};
      let cookies: string[] = [];
      void this.exchange(t, {
        method,
        url,
        headers,
        writeBody: async (req, flushed) => {
          if (body && body.length) req.write(body, () => flushed(body!.length));
          req.end();
        },
        sink: {
          onResponse(sc, h, c) {
            statusCode = sc;
            header = h;
            cookies = c;
            t.emit(t.headerListeners, { header: h, statusCode: sc, cookies: c });
          },
          onData(chunk) {
            chunks.push(chunk);
            if (enableChunked) t.emit(t.chunkListeners, { data: toArrayBuffer(chunk) });
          },
          onEnd() {
            const buf = Buffer.concat(chunks);
            let resData: unknown;
            if (responseType === 'arraybuffer') resData = toArrayBuffer(buf);
            else {
              const text = buf.toString('utf8');
              resData = text;
              if (dataType === 'json' && text.trim() !== '') {
                try {
                  resData = JSON.parse(text);
                } catch {
                  resData = text;
                }
              }
            }
            t.succeed({ data: resData, statusCode, header, cookies });
          },
        },
      });
    });
    return taskHandle(task, { ChunkReceived: task.chunkListeners });
  }

  // ---------------------------------------------------------------- wx.uploadFile

  uploadFile(o: any = {}): Record<string, unknown> {
    const url: string = o.url;
    const cb: Callbacks = o;
    let badParam: string | undefined;
    let file: { real: string; size: number; filename: string } | undefined;
    if (typeof url !== 'string') badParam = `parameter error: parameter.url should be String instead of ${typeName(url)};`;
    else if (typeof o.filePath !== 'string') badParam = `parameter error: parameter.filePath should be String instead of ${typeName(o.filePath)};`;
    else if (typeof o.name !== 'string') badParam = `parameter error: parameter.name should be String instead of ${typeName(o.name)};`;
    else {
      try {
        const r = this.opts.sandbox.resolve(o.filePath);
        const st = nodeFs.statSync(r.real);
        if (!st.isFile()) throw new Error('not a file');
        const last = String(o.filePath).split('/').pop() || 'file';
        file = { real: r.real, size: st.size, filename: last.replace(/^tmp_/, '') || 'file' };
      } catch (e) {
        badParam = e instanceof FsFail && /permission/.test(e.detail) ? e.detail : `createUploadTask:fail file not found, open ${o.filePath}`;
      }
    }
    const boundary = `----WxRuntimeFormBoundary${randomId(8)}`;
    const head: Buffer[] = [];
    const formData = o.formData && typeof o.formData === 'object' ? (o.formData as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(formData)) {
      if (v === undefined) continue;
      const s = v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
      head.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${s}\r\n`, 'utf8'));
    }
    if (file) {
      const mime = MIME[path.extname(file.filename).toLowerCase()] || 'application/octet-stream';
      head.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${o.name}"; filename="${file.filename}"\r\nContent-Type: ${mime}\r\n\r\n`, 'utf8'));
    }
    const preamble = Buffer.concat(head);
    const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
    const total = preamble.length + (file ? file.size : 0) + epilogue.length;
    const headers = this.baseHeaders(o.header);
    for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-type') delete headers[k];
    headers['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
    headers['Content-Length'] = String(total);

    const task = this.submit('uploadFile', 'POST', typeof url === 'string' ? url : String(url), cb, o.timeout, (t) => {
      if (badParam || !file) return t.fail(badParam || 'file not found');
      const f = file;
      let sent = 0;
      let lastSent = -1;
      const chunks: Buffer[] = [];
      let statusCode = 0;
      const progress = (n: number) => {
        sent += n;
        if (sent === lastSent) return;
        lastSent = sent;
        t.emit(t.progressListeners, { progress: total ? Math.floor((sent * 100) / total) : 100, totalBytesSent: sent, totalBytesExpectedToSend: total });
      };
      void this.exchange(t, {
        method: 'POST',
        url,
        headers,
        writeBody: async (req, flushed) => {
          const write = async (buf: Buffer) => {
            const ok = req.write(buf, (err?: Error | null) => {
              if (err) return;
              flushed(buf.length);
              progress(buf.length);
            });
            if (!ok) await new Promise<void>((resolve) => {
              const done = () => {
                req.off('drain', done);
                req.off('close', done);
                resolve();
              };
              req.on('drain', done);
              req.on('close', done);
            });
          };
          await write(preamble);
          const stream = nodeFs.createReadStream(f.real, { highWaterMark: 64 * 1024 });
          try {
            for await (const chunk of stream) {
              if (!t.active || req.destroyed) break;
              await write(chunk as Buffer);
            }
          } finally {
            stream.destroy();
          }
          if (!t.active || req.destroyed) return;
          await write(epilogue);
          req.end();
        },
        sink: {
          onResponse(sc, h) {
            statusCode = sc;
            // UploadTask.onHeadersReceived: WeChat's docs list only `header` (no statusCode, no cookies)
            t.emit(t.headerListeners, { header: h });
          },
          onData(chunk) {
            chunks.push(chunk);
          },
          onEnd() {
            // as in WeChat: uploadFile's success carries data + statusCode only; headers come through onHeadersReceived
            t.succeed({ data: Buffer.concat(chunks).toString('utf8'), statusCode });
          },
        },
      });
    });
    return taskHandle(task, { ProgressUpdate: task.progressListeners });
  }

  // ---------------------------------------------------------------- wx.downloadFile

  downloadFile(o: any = {}): Record<string, unknown> {
    const url: string = o.url;
    const cb: Callbacks = o;
    const sb = this.opts.sandbox;
    let badParam: string | undefined;
    let dest: { wxPath: string; real: string; user: boolean } | undefined;
    if (typeof url !== 'string') badParam = `parameter error: parameter.url should be String instead of ${typeName(url)};`;
    else if (o.filePath !== undefined) {
      try {
        const r = sb.resolveWritable(o.filePath);
        dest = { wxPath: o.filePath, real: r.real, user: true };
      } catch (e) {
        badParam = e instanceof FsFail ? e.detail : String(e);
      }
    }
    const headers = this.baseHeaders(o.header);

    const task = this.submit('downloadFile', 'GET', typeof url === 'string' ? url : String(url), cb, o.timeout, (t) => {
      if (badParam) return t.fail(badParam);
      let statusCode = 0;
      let header: Record<string, string> = {};
      let expected = 0;
      let written = 0;
      let out: nodeFs.WriteStream | undefined;
      let target: { wxPath: string; real: string; user: boolean } | undefined;
      let finished = false;
      t.onCleanup(() => {
        if (out && !out.closed) out.destroy();
        if (!finished && target) {
          try {
            nodeFs.rmSync(target.real, { force: true });
          } catch (_) {
            /* best effort */
          }
        }
      });
      void this.exchange(t, {
        method: 'GET',
        url,
        headers,
        writeBody: async (req) => {
          req.end();
        },
        sink: {
          onResponse(sc, h, c) {
            statusCode = sc;
            header = h;
            const len = parseInt(findHeader(h, 'content-length') || '', 10);
            expected = Number.isFinite(len) ? len : 0;
            if (dest) target = dest;
            else {
              let ext = path.posix.extname(new URL(url).pathname).toLowerCase();
              if (!/^\.[a-z0-9]{1,8}$/.test(ext)) ext = EXT_BY_MIME[(findHeader(h, 'content-type') || '').split(';')[0].trim().toLowerCase()] || '';
              const p = sb.newTempPath(ext);
              target = { wxPath: p.wxPath, real: p.real, user: false };
            }
            // Open synchronously: a lazily opened stream could create the file after an abort's cleanup removed it.
            let fd: number;
            try {
              fd = nodeFs.openSync(target.real, 'w');
            } catch (e) {
              const err = e as NodeJS.ErrnoException;
              t.fail(`${err.code === 'ENOENT' ? 'no such file or directory' : err.message}, open ${target.wxPath}`);
              return;
            }
            out = nodeFs.createWriteStream(target.real, { fd });
            out.on('error', (e: NodeJS.ErrnoException) => {
              const reason = e.code === 'ENOENT' ? 'no such file or directory' : e.message;
              t.fail(`${reason}, open ${target ? target.wxPath : ''}`);
            });
            t.emit(t.headerListeners, { header: h, statusCode: sc, cookies: c });
          },
          onData(chunk) {
            if (!out || !t.active) return;
            written += chunk.length;
            const w = out;
            const ok = w.write(chunk);
            t.emit(t.progressListeners, {
              progress: expected ? Math.min(100, Math.floor((written * 100) / expected)) : 0,
              totalBytesWritten: written,
              totalBytesExpectedToWrite: expected,
            });
            if (!ok) return new Promise<void>((resolve) => w.once('drain', () => resolve()));
          },
          onEnd() {
            const w = out;
            if (!w || !t.active) return;
            return new Promise<void>((resolve) => {
              w.end(() => {
                if (!t.active) return resolve();
                finished = true;
                const res: Record<string, unknown> = { statusCode, header, dataLength: written };
                if (target!.user) res.filePath = target!.wxPath;
                else res.tempFilePath = target!.wxPath;
                t.succeed(res);
                resolve();
              });
            });
          },
        },
      });
    });
    return taskHandle(task, { ProgressUpdate: task.progressListeners });
  }
}
