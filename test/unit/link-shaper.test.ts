/**
 * The local cloud's link emulation (server/cloud/link.ts), on a fake clock: the schedulers' decisions (what each
 * connection may release and when the scheduler wakes up next) and a shaped connection's delivery times. No wall
 * time is measured anywhere.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { BURST_MS, EmulatedLink, LinkClock, LinkScheduler, mbpsToBytesPerMs, parseLinkSettings, QUANTUM, QUEUE_HIGH } from '../../server/cloud/link';

const MiB = 1024 * 1024;

/** Runs a scheduler to completion on simulated time, the way Pump does (grant, then sleep until nextWake). */
function drain(s: LinkScheduler, flows: ReturnType<LinkScheduler['addFlow']>[], start = 0) {
  let now = start;
  const finished = new Map<number, number>();
  const grants: Array<{ at: number; id: number; bytes: number }> = [];
  for (let steps = 0; steps < 1e6; steps++) {
    for (const [f, n] of s.grant(now)) {
      grants.push({ at: now, id: f.id, bytes: n });
      if (f.queued === 0) finished.set(f.id, now);
    }
    const next = s.nextWake(now);
    if (next === null) break;
    now = Math.max(next, now + 1);
  }
  return { finished, grants, end: now };
}

describe('LinkScheduler decisions (fake clock)', () => {
  test('one connection under a per-connection cap: 1 MiB at 10 Mbit/s ends at 1 MiB / 1250 B/ms, in pieces ≤ the bucket', () => {
    const s = new LinkScheduler(30, 10, 0);
    const f = s.addFlow(0);
    f.queued = MiB;
    const { finished, grants } = drain(s, [f]);
    const ideal = MiB / mbpsToBytesPerMs(10); // 838.9 ms
    expect(finished.get(f.id)).toBeGreaterThanOrEqual(ideal);
    expect(finished.get(f.id)).toBeLessThan(ideal + QUANTUM / mbpsToBytesPerMs(10) + 1);
    expect(grants.reduce((a, g) => a + g.bytes, 0)).toBe(MiB);
    // nothing moves at t=0 (buckets start empty); no grant exceeds what the connection's bucket can bank
    expect(grants[0].at).toBeGreaterThan(0);
    for (const g of grants) expect(g.bytes).toBeLessThanOrEqual(mbpsToBytesPerMs(10) * BURST_MS);
  });

  test('five connections share the total cap fairly: 5 × 1 MiB at 30 Mbit/s total end together at 5 MiB / 3750 B/ms', () => {
    const s = new LinkScheduler(30, 10, 0);
    const flows = [1, 2, 3, 4, 5].map(() => s.addFlow(0));
    for (const f of flows) f.queued = MiB;
    const { finished, end } = drain(s, flows);
    const ideal = (5 * MiB) / mbpsToBytesPerMs(30); // 1398 ms
    const ends = flows.map((f) => finished.get(f.id)!);
    expect(Math.min(...ends)).toBeGreaterThan(ideal - (2 * QUANTUM) / mbpsToBytesPerMs(30));
    expect(Math.max(...ends)).toBeLessThan(ideal + QUANTUM / mbpsToBytesPerMs(10) + 2);
    expect(end).toBe(Math.max(...ends));
  });

  test('two connections under a per-connection cap that the total does not bind: each runs at its own cap', () => {
    const s = new LinkScheduler(100, 10, 0);
    const a = s.addFlow(0);
    const b = s.addFlow(0);
    a.queued = MiB;
    b.queued = MiB;
    const { finished } = drain(s, [a, b]);
    const ideal = MiB / mbpsToBytesPerMs(10);
    for (const f of [a, b]) {
      expect(finished.get(f.id)).toBeGreaterThanOrEqual(ideal);
      expect(finished.get(f.id)).toBeLessThan(ideal + QUANTUM / mbpsToBytesPerMs(10) + 1);
    }
  });

  test('a share one connection cannot use goes to the others (water-filling)', () => {
    const s = new LinkScheduler(30, null, 0);
    const small = s.addFlow(0);
    const big = s.addFlow(0);
    small.queued = 1000;
    big.queued = MiB;
    const grants = s.grant(40); // 40 ms × 3750 B/ms = 150,000 tokens
    const byId = new Map(grants.map(([f, n]) => [f.id, n]));
    expect(byId.get(small.id)).toBe(1000);
    expect(byId.get(big.id)).toBe(149000);
  });

  test('the handshake: a connection releases nothing before readyAt, and nextWake is not earlier', () => {
    const s = new LinkScheduler(30, null, 0);
    const f = s.addFlow(0, 60);
    f.queued = 1000;
    expect(s.grant(59)).toEqual([]);
    expect(s.nextWake(59)).toBe(60);
    expect(s.grant(60)).toEqual([[f, 1000]]);
    expect(s.nextWake(60)).toBeNull();
    // with a per-connection cap, its bucket starts filling at readyAt (no tokens banked during the handshake)
    const capped = new LinkScheduler(30, 10, 0);
    const g = capped.addFlow(0, 60);
    g.queued = 1000;
    expect(capped.grant(60)).toEqual([]);
    expect(capped.nextWake(60)).toBeCloseTo(60 + 1000 / mbpsToBytesPerMs(10), 6);
  });

  test('an idle link banks at most BURST_MS of tokens', () => {
    const s = new LinkScheduler(30, null, 0);
    const f = s.addFlow(0);
    f.queued = 10 * MiB;
    const [[, n]] = s.grant(10000);
    expect(n).toBe(Math.floor(mbpsToBytesPerMs(30) * BURST_MS));
  });

  test('no caps: everything queued is released at once', () => {
    const s = new LinkScheduler(null, null, 0);
    const f = s.addFlow(0);
    f.queued = 5 * MiB;
    expect(s.grant(0)).toEqual([[f, 5 * MiB]]);
  });

  test('nextWake waits for a quantum, or for the whole queue when it is smaller', () => {
    const s = new LinkScheduler(null, 10, 0);
    const f = s.addFlow(0);
    f.queued = MiB;
    expect(s.nextWake(0)).toBeCloseTo(QUANTUM / mbpsToBytesPerMs(10), 6);
    f.queued = 500;
    expect(s.nextWake(0)).toBeCloseTo(500 / mbpsToBytesPerMs(10), 6);
  });
});

describe('parseLinkSettings (POST /_admin/link bodies)', () => {
  test('valid: absent caps are null, rtt defaults to 0', () => {
    expect(parseLinkSettings({ uplinkMbps: 30, perConnectionMbps: 10, rttMs: 60 })).toEqual({ ok: true, settings: { uplinkMbps: 30, perConnectionMbps: 10, rttMs: 60, downlinkMbps: null } });
    expect(parseLinkSettings({})).toEqual({ ok: true, settings: { uplinkMbps: null, perConnectionMbps: null, rttMs: 0, downlinkMbps: null } });
  });
  test.each([
    ['not an object', 'x', /JSON object/],
    ['an array', [1], /JSON object/],
    ['unknown field', { upMbps: 3 }, /Unknown field upMbps/],
    ['zero rate', { uplinkMbps: 0 }, /uplinkMbps must be/],
    ['negative rate', { perConnectionMbps: -1 }, /perConnectionMbps must be/],
    ['string rate', { downlinkMbps: '10' }, /downlinkMbps must be/],
    ['negative rtt', { rttMs: -5 }, /rttMs must be/],
    ['huge rtt', { rttMs: 1e9 }, /rttMs must be/],
  ])('rejects %s', (_name, body, msg) => {
    const r = parseLinkSettings(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(msg);
  });
});

/** A fake clock: timers run only when the test advances time. */
function fakeClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: LinkClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  const advance = (to: number) => {
    for (;;) {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of timers) if (e[1].at <= to && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      timers.delete(best[0]);
      now = best[1].at;
      best[1].fn();
    }
    now = to;
  };
  return { clock, advance, pending: () => timers.size };
}

/** What a shaped connection needs from a net.Socket, recorded. */
class FakeSocket extends Duplex {
  remoteAddress = '127.0.0.1';
  written: Array<{ at: number; bytes: number }> = [];
  pausedAt: number[] = [];
  ended = false;
  constructor(private readonly now: () => number) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.written.push({ at: this.now(), bytes: chunk.length });
    cb();
  }
  override pause(): this {
    this.pausedAt.push(this.now());
    return super.pause();
  }
  override end(): this {
    this.ended = true;
    return this;
  }
  setTimeout(): this {
    return this;
  }
}

const flush = () => new Promise((r) => setImmediate(r));

describe('a shaped connection on a fake clock', () => {
  function setup(settings: Parameters<EmulatedLink['set']>[0]) {
    const fc = fakeClock();
    const link = new EmulatedLink(fc.clock);
    const server = new EventEmitter();
    let conn: Duplex | undefined;
    server.on('connection', (c: Duplex) => (conn = c));
    link.attach(server as unknown as Server);
    link.set(settings);
    const sock = new FakeSocket(fc.clock.now);
    server.emit('connection', sock);
    const received: Array<{ at: number; bytes: number }> = [];
    conn!.on('data', (b: Buffer) => received.push({ at: fc.clock.now(), bytes: b.length }));
    return { fc, link, sock, conn: conn!, received };
  }

  test('request bytes: nothing before handshake + RTT/2, then the per-connection rate; the response arrives RTT/2 after it is written', async () => {
    const { fc, link, sock, conn, received } = setup({ uplinkMbps: 30, perConnectionMbps: 10, rttMs: 60, downlinkMbps: null });
    sock.push(Buffer.alloc(125000)); // 100 ms at 10 Mbit/s
    await flush();
    fc.advance(89);
    await flush();
    expect(received).toEqual([]); // handshake 60 ms + one way 30 ms: the earliest byte lands at 90 + bucket fill
    fc.advance(60 + 30 + 100 + 20); // release ends ≈ 60 + 100 (+ < one quantum), delivery +30
    await flush();
    expect(received.reduce((a, r) => a + r.bytes, 0)).toBe(125000);
    expect(received[0].at).toBeGreaterThan(90);
    const last = received[received.length - 1].at;
    expect(last).toBeGreaterThanOrEqual(60 + 100 + 30);
    expect(last).toBeLessThanOrEqual(60 + 100 + 30 + QUANTUM / mbpsToBytesPerMs(10) + 1);
    expect(link.getStats()).toMatchObject({ shapedConnections: 1, openConnections: 1, uplinkBytes: 125000 });

    const t0 = fc.clock.now();
    conn.write(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
    await flush();
    expect(sock.written).toEqual([]);
    fc.advance(t0 + 30);
    expect(sock.written).toEqual([{ at: t0 + 30, bytes: 19 }]);
    conn.destroy();
    await flush();
    expect(link.getStats().openConnections).toBe(0);
    expect(fc.pending()).toBe(0);
  });

  test('backpressure: above QUEUE_HIGH queued bytes the socket is paused until the link drains it', async () => {
    const { fc, sock, received } = setup({ uplinkMbps: 10, perConnectionMbps: null, rttMs: 0, downlinkMbps: null });
    sock.push(Buffer.alloc(QUEUE_HIGH + 1));
    await flush();
    expect(sock.isPaused()).toBe(true);
    fc.advance(((QUEUE_HIGH + 1) / mbpsToBytesPerMs(10)) * 1.2);
    await flush();
    expect(received.reduce((a, r) => a + r.bytes, 0)).toBe(QUEUE_HIGH + 1);
    expect(sock.isPaused()).toBe(false);
  });

  test('connections accepted before the link was set, or after a reset, are not shaped', () => {
    const fc = fakeClock();
    const link = new EmulatedLink(fc.clock);
    const server = new EventEmitter();
    const got: unknown[] = [];
    server.on('connection', (c: unknown) => got.push(c));
    link.attach(server as unknown as Server);
    const a = new FakeSocket(fc.clock.now);
    server.emit('connection', a);
    link.set({ uplinkMbps: 1, perConnectionMbps: null, rttMs: 0, downlinkMbps: null });
    link.reset();
    const b = new FakeSocket(fc.clock.now);
    server.emit('connection', b);
    expect(got).toEqual([a, b]);
    expect(link.getStats().shapedConnections).toBe(0);
  });
});
