/**
 * Link emulation for the local cloud: a phone-like uplink (a total cap shared by every connection, a lower cap per
 * connection, a round-trip time) and optionally a downlink cap, applied to the sockets of every provider's listener, so
 * every client — our SDK through the Node wx runtime, ali-oss, a plain fetch — sees the same link.
 *
 *   GET    /_admin/link   → { link: settings | null, stats }
 *   POST   /_admin/link   { uplinkMbps?, perConnectionMbps?, rttMs?, downlinkMbps? }  (null or absent = no cap)
 *   DELETE /_admin/link   → back to the plain loopback
 * (on every provider's listener; `/_admin` answers only callers on this machine, see guardDevEndpoints).
 *
 * The model (what it is, and what it is not):
 * - Connections accepted while a link is set are shaped; connections accepted before keep the plain loopback (a
 *   settings change applies to new connections; keep-alive clients should open new ones).
 * - Uplink (request bytes, client → server): the bytes the server reads from the socket enter the connection's queue;
 *   a scheduler releases them to the HTTP parser under two token buckets, the connection's (perConnectionMbps) and the
 *   link's (uplinkMbps), sharing the total fairly among the connections that have bytes waiting (water-filling).
 *   Each bucket holds at most BURST_MS worth of tokens (a link that was idle passes that much at once).
 *   While a connection has more than QUEUE_HIGH bytes queued the real socket is paused, so TCP flow control pushes
 *   back on the client. The kernel's socket buffers (several MiB on loopback) still sit in front of the queue: a
 *   client sees its bytes "sent" earlier than a phone would, but a response never comes before the server has read
 *   the whole request through the link.
 * - Latency: every released byte reaches the server RTT/2 after its release, and every response byte reaches the
 *   client RTT/2 after the server wrote it (a delay line in each direction), so a request/response exchange costs one
 *   RTT on top of its transfer time. A new connection also pays one RTT before its first byte is released (the TCP
 *   handshake). Not modelled: slow start, congestion windows, loss, jitter, the cellular radio's wake-up.
 * - Downlink (response bytes): delayed by RTT/2; capped by downlinkMbps (shared by all connections) when set.
 */
import { Duplex } from 'node:stream';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface LinkSettings {
  /** Total uplink of the device, shared by all its connections (Mbit/s), or null for no cap. */
  uplinkMbps: number | null;
  /** Uplink cap of one TCP connection (Mbit/s), or null for no cap. */
  perConnectionMbps: number | null;
  /** Round-trip time added to every exchange (ms). */
  rttMs: number;
  /** Total downlink (Mbit/s), or null for no cap. */
  downlinkMbps: number | null;
}

export interface LinkStats {
  /** Connections accepted while a link was set (all listeners, since the cloud started). */
  shapedConnections: number;
  /** Shaped connections still open. */
  openConnections: number;
  /** Request bytes released through the uplink. */
  uplinkBytes: number;
  /** Response bytes delivered through the downlink. */
  downlinkBytes: number;
}

/** Bytes per millisecond of a rate in Mbit/s (10^6 bit/s). */
export const mbpsToBytesPerMs = (mbps: number): number => (mbps * 1e6) / 8 / 1000;

/** Tokens a bucket may bank, in ms of its rate. */
export const BURST_MS = 50;
/** Largest piece a scheduler waits to release in one go (and the step it wakes up for). */
export const QUANTUM = 16 * 1024;
/** A shaped connection pauses its socket above this many queued request bytes and resumes below QUEUE_LOW. */
export const QUEUE_HIGH = 256 * 1024;
export const QUEUE_LOW = 64 * 1024;

/** A token bucket: `rate` bytes per ms, at most `burst` tokens banked; starts empty. */
export class TokenBucket {
  tokens = 0;
  constructor(
    readonly rate: number,
    readonly burst: number,
    private last: number,
  ) {}

  refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate);
      this.last = now;
    }
  }

  /** Ms after `now` (refilled) until `n` tokens are banked (n ≤ burst). */
  waitFor(n: number): number {
    return this.tokens >= n ? 0 : (n - this.tokens) / this.rate;
  }

  take(n: number): void {
    this.tokens -= n;
  }
}

export function bucketFor(mbps: number | null, now: number): TokenBucket | undefined {
  if (mbps === null) return undefined;
  const rate = mbpsToBytesPerMs(mbps);
  return new TokenBucket(rate, Math.max(1, rate * BURST_MS), now);
}

export interface Flow {
  readonly id: number;
  /** Bytes waiting for release. */
  queued: number;
  /** No release before this time (the handshake). */
  readyAt: number;
  readonly bucket?: TokenBucket;
}

/**
 * One direction of the link: a shared bucket and per-flow buckets. Pure (the caller passes the time), so its
 * decisions can be checked with a fake clock.
 */
export class LinkScheduler {
  private flows: Flow[] = [];
  private nextId = 1;
  private rotate = 0;
  readonly shared?: TokenBucket;

  constructor(
    totalMbps: number | null,
    private readonly perFlowMbps: number | null,
    now: number,
  ) {
    this.shared = bucketFor(totalMbps, now);
  }

  addFlow(now: number, readyAt = now): Flow {
    // the connection banks no tokens before its handshake ends
    const f: Flow = { id: this.nextId++, queued: 0, readyAt, bucket: bucketFor(this.perFlowMbps, Math.max(now, readyAt)) };
    this.flows.push(f);
    return f;
  }

  removeFlow(f: Flow): void {
    const i = this.flows.indexOf(f);
    if (i >= 0) this.flows.splice(i, 1);
  }

  get flowCount(): number {
    return this.flows.length;
  }

  /**
   * Releases what the buckets allow now: every waiting flow gets an equal share of the shared tokens, capped by its
   * own tokens and its queue; what a flow cannot use goes to the others. Returns the grants (flow, bytes), > 0 each.
   */
  grant(now: number): Array<[Flow, number]> {
    this.shared?.refill(now);
    const n = this.flows.length;
    const order = n ? [...this.flows.slice(this.rotate % n), ...this.flows.slice(0, this.rotate % n)] : [];
    this.rotate++;
    let active = order.filter((f) => f.queued > 0 && f.readyAt <= now);
    for (const f of active) f.bucket?.refill(now);
    const given = new Map<Flow, number>();
    const avail = (f: Flow) => Math.floor(Math.min(f.queued, f.bucket ? f.bucket.tokens : Infinity));
    active = active.filter((f) => avail(f) >= 1);
    while (active.length) {
      const pool = this.shared ? Math.floor(this.shared.tokens) : Infinity;
      if (pool < 1) break;
      const share = Math.max(1, Math.floor(pool / active.length));
      let left = pool;
      for (const f of active) {
        if (left < 1) break;
        const g = Math.min(avail(f), share, left);
        if (g < 1) continue;
        f.queued -= g;
        f.bucket?.take(g);
        this.shared?.take(g);
        left -= g;
        given.set(f, (given.get(f) || 0) + g);
      }
      active = active.filter((f) => avail(f) >= 1);
      if (!this.shared) break; // without a shared cap one pass gave every flow all it could take
    }
    return [...given];
  }

  /**
   * When grant() should run next: the earliest time a waiting flow can get min(queued, QUANTUM) bytes (bounded by
   * the buckets' capacity), or null when no flow waits.
   */
  nextWake(now: number): number | null {
    let best: number | null = null;
    for (const f of this.flows) {
      if (f.queued <= 0) continue;
      let need = Math.min(f.queued, QUANTUM);
      if (f.bucket) need = Math.min(need, f.bucket.burst);
      if (this.shared) need = Math.min(need, this.shared.burst);
      let t = Math.max(now, f.readyAt);
      if (f.bucket) {
        f.bucket.refill(now);
        t = Math.max(t, now + f.bucket.waitFor(need));
      }
      if (this.shared) {
        this.shared.refill(now);
        t = Math.max(t, now + this.shared.waitFor(need));
      }
      if (best === null || t < best) best = t;
    }
    return best;
  }
}

export interface LinkClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: LinkClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Runs a LinkScheduler on a clock: grant, hand the grants to their flows, sleep until the next wake-up. */
class Pump {
  private timer: unknown;
  private wakeAt = Infinity;
  private readonly sinks = new Map<Flow, (n: number) => void>();

  constructor(
    readonly scheduler: LinkScheduler,
    private readonly clock: LinkClock,
  ) {}

  add(readyAt: number, sink: (n: number) => void): Flow {
    const f = this.scheduler.addFlow(this.clock.now(), readyAt);
    this.sinks.set(f, sink);
    return f;
  }

  remove(f: Flow): void {
    this.scheduler.removeFlow(f);
    this.sinks.delete(f);
    if (!this.sinks.size) this.stop();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = Infinity;
  }

  run = (): void => {
    this.stop();
    const now = this.clock.now();
    for (const [f, n] of this.scheduler.grant(now)) this.sinks.get(f)?.(n);
    const next = this.scheduler.nextWake(this.clock.now());
    if (next === null) return;
    // at least 1 ms apart, so a bucket short of a fraction of a byte does not spin
    const at = Math.max(next, now + 1);
    if (at < this.wakeAt) {
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
      this.wakeAt = at;
      this.timer = this.clock.setTimeout(this.run, at - this.clock.now());
    }
  };
}

/** A delay line: calls deliver(item) `delayMs` after push, in push order. */
class DelayLine<T> {
  private items: Array<{ due: number; item: T }> = [];
  private timer: unknown;

  constructor(
    private readonly delayMs: number,
    private readonly clock: LinkClock,
    private readonly deliver: (item: T) => void,
  ) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.delayMs <= 0 && !this.items.length) return this.deliver(item);
    this.items.push({ due: this.clock.now() + this.delayMs, item });
    if (this.timer === undefined) this.arm();
  }

  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }

  private arm(): void {
    const first = this.items[0];
    if (!first) return;
    this.timer = this.clock.setTimeout(this.flush, Math.max(0, first.due - this.clock.now()));
  }

  private flush = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.items.length && this.items[0].due <= now) this.deliver(this.items.shift()!.item);
    this.arm();
  };
}

/** Validation of POST /_admin/link bodies: a message for the first bad field, or the settings. */
export function parseLinkSettings(body: unknown): { ok: true; settings: LinkSettings } | { ok: false; message: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, message: 'Body must be a JSON object {uplinkMbps?, perConnectionMbps?, rttMs?, downlinkMbps?}.' };
  const b = body as Record<string, unknown>;
  const known = new Set(['uplinkMbps', 'perConnectionMbps', 'rttMs', 'downlinkMbps']);
  for (const k of Object.keys(b)) if (!known.has(k)) return { ok: false, message: `Unknown field ${k}.` };
  const rate = (k: string): number | null | string => {
    const v = b[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100000) return `${k} must be a number of Mbit/s in (0, 100000], or null for no cap.`;
    return v;
  };
  const out: Partial<LinkSettings> = {};
  for (const k of ['uplinkMbps', 'perConnectionMbps', 'downlinkMbps'] as const) {
    const r = rate(k);
    if (typeof r === 'string') return { ok: false, message: r };
    out[k] = r;
  }
  const rtt = b.rttMs === undefined || b.rttMs === null ? 0 : b.rttMs;
  if (typeof rtt !== 'number' || !Number.isFinite(rtt) || rtt < 0 || rtt > 10000) return { ok: false, message: 'rttMs must be a number of milliseconds in [0, 10000].' };
  out.rttMs = rtt;
  return { ok: true, settings: out as LinkSettings };
}

interface Generation {
  settings: LinkSettings;
  up: Pump;
  down: Pump;
}

/** The emulated link: settings, the two schedulers, and the shaping of sockets accepted by attached servers. */
export class EmulatedLink {
  private gen: Generation | null = null;
  private stats: LinkStats = { shapedConnections: 0, openConnections: 0, uplinkBytes: 0, downlinkBytes: 0 };

  constructor(private readonly clock: LinkClock = realClock) {}

  get settings(): LinkSettings | null {
    return this.gen ? { ...this.gen.settings } : null;
  }

  getStats(): LinkStats {
    return { ...this.stats };
  }

  /** Applies to connections accepted from now on. */
  set(settings: LinkSettings): void {
    const now = this.clock.now();
    this.gen = {
      settings: { ...settings },
      up: new Pump(new LinkScheduler(settings.uplinkMbps, settings.perConnectionMbps, now), this.clock),
      down: new Pump(new LinkScheduler(settings.downlinkMbps, null, now), this.clock),
    };
  }

  reset(): void {
    this.gen = null;
  }

  /**
   * Shapes the connections `server` accepts while a link is set: its 'connection' listeners (the HTTP server's own)
   * get a shaped Duplex around the socket instead (http.Server accepts any Duplex as a connection). Call after
   * listen, so every listener the framework added is wrapped.
   */
  attach(server: Server): void {
    const listeners = server.listeners('connection') as Array<(s: unknown) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      const conn = this.gen ? this.shape(socket, this.gen) : socket;
      for (const l of listeners) l.call(server, conn);
    });
  }

  private shape(socket: Socket, gen: Generation): Duplex {
    this.stats.shapedConnections++;
    this.stats.openConnections++;
    const conn = new ShapedConnection(socket, gen, this.clock, this.stats);
    conn.once('close', () => this.stats.openConnections--);
    return conn;
  }
}

/** A socket seen through the link: what the HTTP server reads and writes instead of the raw socket. */
class ShapedConnection extends Duplex {
  private upQueue: Buffer[] = [];
  private upFlow: Flow;
  private downFlow: Flow;
  private upLine: DelayLine<Buffer | null>;
  private downLine: DelayLine<Buffer | null>;
  private downQueue: Buffer[] = [];
  private downPending = 0;
  private writeCb: ((e?: Error | null) => void) | undefined;
  private finalCb: ((e?: Error | null) => void) | undefined;
  private socketEnded = false;
  private downEnded = false;
  private socketPaused = false;
  private readerWants = true;

  constructor(
    private readonly socket: Socket,
    private readonly gen: Generation,
    private readonly clock: LinkClock,
    private readonly stats: LinkStats,
  ) {
    super({ allowHalfOpen: true });
    const now = clock.now();
    const rtt = gen.settings.rttMs;
    this.upLine = new DelayLine<Buffer | null>(rtt / 2, clock, (b) => {
      if (b === null) this.push(null);
      else if (!this.push(b)) {
        this.readerWants = false;
        this.pauseSocket();
      }
    });
    this.downLine = new DelayLine<Buffer | null>(rtt / 2, clock, (b) => {
      if (b === null) {
        if (!socket.destroyed) socket.end();
        return;
      }
      this.stats.downlinkBytes += b.length;
      this.downPending -= b.length;
      if (!socket.destroyed) socket.write(b);
      this.releaseWriter();
    });
    // the handshake: one RTT before the first request byte moves
    this.upFlow = gen.up.add(now + rtt, (n) => this.releaseUp(n));
    this.downFlow = gen.down.add(now, (n) => this.releaseDown(n));
    socket.on('data', (b: Buffer) => {
      this.upQueue.push(b);
      this.upFlow.queued += b.length;
      if (this.upFlow.queued > QUEUE_HIGH) this.pauseSocket();
      gen.up.run();
    });
    socket.on('end', () => {
      this.socketEnded = true;
      this.maybeEndUp();
    });
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => this.destroy());
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('drain', () => this.releaseWriter());
  }

  // ---- what http.Server and fastify read from a socket
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }
  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }
  address() {
    return this.socket.address();
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(v?: boolean): this {
    this.socket.setNoDelay(v);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  ref(): this {
    this.socket.ref();
    return this;
  }
  unref(): this {
    this.socket.unref();
    return this;
  }
  destroySoon(): void {
    this.end();
  }

  // ---- uplink
  private pauseSocket(): void {
    if (!this.socketPaused) {
      this.socketPaused = true;
      this.socket.pause();
    }
  }

  private maybeResumeSocket(): void {
    if (this.socketPaused && this.readerWants && this.upFlow.queued < QUEUE_LOW) {
      this.socketPaused = false;
      this.socket.resume();
    }
  }

  private releaseUp(n: number): void {
    this.stats.uplinkBytes += n;
    while (n > 0 && this.upQueue.length) {
      const head = this.upQueue[0];
      if (head.length <= n) {
        this.upQueue.shift();
        n -= head.length;
        this.upLine.push(head);
      } else {
        this.upQueue[0] = head.subarray(n);
        this.upLine.push(head.subarray(0, n));
        n = 0;
      }
    }
    this.maybeEndUp();
    this.maybeResumeSocket();
  }

  private maybeEndUp(): void {
    if (this.socketEnded && !this.upQueue.length) {
      this.socketEnded = false;
      this.upLine.push(null);
    }
  }

  override _read(): void {
    this.readerWants = true;
    this.maybeResumeSocket();
  }

  // ---- downlink
  private releaseDown(n: number): void {
    while (n > 0 && this.downQueue.length) {
      const head = this.downQueue[0];
      if (head.length <= n) {
        this.downQueue.shift();
        n -= head.length;
        this.downLine.push(head);
      } else {
        this.downQueue[0] = head.subarray(n);
        this.downLine.push(head.subarray(0, n));
        n = 0;
      }
    }
    this.maybeFinish();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.downPending += chunk.length;
    if (this.gen.settings.downlinkMbps === null) this.downLine.push(chunk);
    else {
      this.downQueue.push(chunk);
      this.downFlow.queued += chunk.length;
      this.gen.down.run();
    }
    if (this.downPending < QUEUE_HIGH) cb();
    else this.writeCb = cb;
  }

  private releaseWriter(): void {
    if (this.writeCb && this.downPending < QUEUE_LOW && !this.socket.writableNeedDrain) {
      const cb = this.writeCb;
      this.writeCb = undefined;
      cb();
    }
    this.maybeFinish();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finalCb = cb;
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finalCb && !this.downQueue.length) {
      const cb = this.finalCb;
      this.finalCb = undefined;
      this.endDown();
      cb();
    }
  }

  private endDown(): void {
    if (!this.downEnded) {
      this.downEnded = true;
      this.downLine.push(null);
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.upLine.clear();
    this.gen.up.remove(this.upFlow);
    this.gen.down.remove(this.downFlow);
    this.upQueue = [];
    if (!err && !this.socket.destroyed && (this.downLine.length || this.downQueue.length)) {
      // a graceful close (the server ended its side): response bytes still on the way arrive first (unshaped if they
      // were still queued), then the socket ends
      for (const b of this.downQueue) this.downLine.push(b);
      this.downQueue = [];
      this.endDown();
    } else {
      this.downLine.clear();
      this.downQueue = [];
      if (!this.socket.destroyed) this.socket.destroy();
    }
    cb(err);
  }
}

/** GET/POST/DELETE /_admin/link on a provider's app (in their own scope: JSON parsed here, whatever the app's parsers). */
export function registerLinkAdmin(app: FastifyInstance, link: EmulatedLink): void {
  const state = () => ({ link: link.settings, stats: link.getStats() });
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
    scope.get('/_admin/link', async () => state());
    scope.delete('/_admin/link', async () => {
      link.reset();
      return state();
    });
    scope.post('/_admin/link', async (req, reply) => {
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' && req.body ? req.body : 'null');
      } catch {
        return reply.status(400).send({ error: { code: 'InvalidLinkSettings', message: 'Body is not valid JSON.' } });
      }
      const parsed = parseLinkSettings(body);
      if (!parsed.ok) return reply.status(400).send({ error: { code: 'InvalidLinkSettings', message: parsed.message } });
      link.set(parsed.settings);
      return state();
    });
  });
}
