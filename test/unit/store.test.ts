/**
 * The store contract (server/app/store), one suite run against each implementation: MemoryStore and FileStore on a
 * fake clock, RedisStore on a real redis-server (test/harness/redis.ts) with two connections, as two AppServer
 * instances have. Then what only one of them has: FileStore's snapshot across a restart and a torn file; RedisStore
 * failing with 503 StoreUnavailable while Redis is down and working again when it is back.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore, MemoryStore, openStore, RedisStore, StoreUnavailableError, type Store } from '../../server/app/store';
import { buildAppServer } from '../../server/app';
import { startRedis, type TestRedis } from '../harness/redis';
import { requireBinary } from '../harness/system-deps';
import { until } from '../harness/until';

const redisBin = requireBinary('redis-server', 'redis-server');

interface Subject {
  /** Two handles on the same data (two instances). */
  a: Store;
  b: Store;
  /** Lets `ms` pass for TTLs: a fake clock moves; on Redis, waits until `key` has expired. */
  pass(ms: number, key: string): Promise<void>;
  done(): Promise<void>;
}

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function fakeClock() {
  const c = { t: 1_800_000_000_000, now: () => c.t };
  return c;
}

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'MemoryStore',
    async () => {
      const c = fakeClock();
      const s = new MemoryStore(c.now);
      return { a: s, b: s, pass: async (ms) => void (c.t += ms), done: () => s.close() };
    },
  ],
  [
    'FileStore',
    async () => {
      const c = fakeClock();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'store-contract-'));
      tmpDirs.push(dir);
      const s = new FileStore(path.join(dir, 'store.json'), c.now);
      return { a: s, b: s, pass: async (ms) => void (c.t += ms), done: () => s.close() };
    },
  ],
];

let redis: TestRedis | undefined;
if (redisBin) {
  subjects.push([
    'RedisStore',
    async () => {
      const prefix = `t${Math.random().toString(36).slice(2, 8)}:`;
      const a = await RedisStore.connect({ url: redis!.url, prefix, log: () => undefined });
      const b = await RedisStore.connect({ url: redis!.url, prefix, log: () => undefined });
      return {
        a,
        b,
        pass: (_ms, key) => until(async () => (await a.ttlMs(key)) === -2, `${key} to expire in Redis`),
        done: async () => {
          await a.close();
          await b.close();
        },
      };
    },
  ]);
}

beforeAll(async () => {
  if (redisBin) redis = await startRedis(redisBin);
});
afterAll(async () => {
  if (redis) await redis.close();
});

describe.each(subjects)('store contract: %s', (_name, make) => {
  let s: Subject;
  beforeEach(async () => {
    s = await make();
  });
  afterEach(() => s.done());

  test('get / set / del: a missing key is undefined; values round-trip exactly (empty, unicode, JSON); del says whether it existed', async () => {
    expect(await s.a.get('k:missing')).toBeUndefined();
    for (const v of ['', '视频 ✓ \u0000 end', JSON.stringify({ a: [1, { b: 'c' }] })]) {
      await s.a.set('k:v', v);
      expect(await s.b.get('k:v')).toBe(v);
    }
    expect(await s.a.del('k:v')).toBe(true);
    expect(await s.a.del('k:v')).toBe(false);
    expect(await s.b.get('k:v')).toBeUndefined();
  });

  test('keys and fields named __proto__ / constructor are ordinary names', async () => {
    await s.a.set('__proto__', 'p');
    await s.a.hset('h:proto', '__proto__', 'x');
    await s.a.hset('h:proto', 'constructor', 'y');
    expect(await s.b.get('__proto__')).toBe('p');
    expect(await s.b.get('constructor')).toBeUndefined();
    const all = await s.b.hgetall('h:proto');
    expect(Object.getPrototypeOf(all)).toBeNull();
    expect(Object.entries(all).sort()).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
    expect(await s.b.hget('h:proto', 'toString')).toBeUndefined();
  });

  test('TTL: ttlMs reports -2 (missing), -1 (no expiry) or what is left; an expired key is gone and can be claimed again; set without TTL clears it', async () => {
    expect(await s.a.ttlMs('t:none')).toBe(-2);
    await s.a.set('t:forever', '1');
    expect(await s.a.ttlMs('t:forever')).toBe(-1);
    await s.a.set('t:short', 'v', { ttlMs: 60 });
    const left = await s.b.ttlMs('t:short');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(60);
    await s.pass(61, 't:short');
    expect(await s.b.get('t:short')).toBeUndefined();
    expect(await s.a.setIfAbsent('t:short', 'again')).toBe(true);
    await s.a.set('t:clear', 'v', { ttlMs: 100000 });
    await s.a.set('t:clear', 'w');
    expect(await s.a.ttlMs('t:clear')).toBe(-1);
  });

  test('bad TTLs (0, negative, fractional) are refused before anything is written', async () => {
    for (const ttlMs of [0, -5, 1.5]) {
      await expect(s.a.set('t:bad', 'v', { ttlMs })).rejects.toThrow(RangeError);
      await expect(s.a.setIfAbsent('t:bad', 'v', { ttlMs })).rejects.toThrow(RangeError);
      await expect(s.a.compareAndSet('t:bad', undefined, 'v', { ttlMs })).rejects.toThrow(RangeError);
    }
    expect(await s.a.get('t:bad')).toBeUndefined();
  });

  test('setIfAbsent is one atomic claim: 40 concurrent claims from two handles, exactly one wins and its value stays', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? s.a : s.b).setIfAbsent('c:once', `v${i}`, { ttlMs: 100000 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await s.a.get('c:once')).toBe(`v${results.indexOf(true)}`);
    expect(await s.b.setIfAbsent('c:once', 'late')).toBe(false);
  });

  test('compareAndSet: absent → set only with expected undefined; wrong expected → no write; 2 × 25 concurrent read-modify-write increments lose none', async () => {
    expect(await s.a.compareAndSet('cas:n', 'x', '1')).toBe(false);
    expect(await s.a.get('cas:n')).toBeUndefined();
    expect(await s.a.compareAndSet('cas:n', undefined, '0')).toBe(true);
    expect(await s.a.compareAndSet('cas:n', undefined, '9')).toBe(false);
    expect(await s.a.compareAndSet('cas:n', '1', '9')).toBe(false);
    expect(await s.b.get('cas:n')).toBe('0');
    const inc = async (st: Store) => {
      for (;;) {
        const cur = await st.get('cas:n');
        if (await st.compareAndSet('cas:n', cur, String(Number(cur) + 1))) return;
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => inc(i % 2 ? s.a : s.b)));
    expect(await s.a.get('cas:n')).toBe('50');
  });

  test('hashes: hset / hget / hgetall / hsetIfAbsent / hdel; a missing hash is {}; 30 concurrent hsetIfAbsent on one field: one wins', async () => {
    expect({ ...(await s.a.hgetall('h:none')) }).toEqual({});
    expect(await s.a.hget('h:none', 'f')).toBeUndefined();
    await s.a.hset('h:1', 'a', '1');
    await s.b.hset('h:1', 'b', '2');
    await s.a.hset('h:1', 'a', '3');
    expect({ ...(await s.b.hgetall('h:1')) }).toEqual({ a: '3', b: '2' });
    expect(await s.a.hsetIfAbsent('h:1', 'a', 'no')).toBe(false);
    expect(await s.a.hget('h:1', 'a')).toBe('3');
    expect(await s.a.hdel('h:1', 'a')).toBe(true);
    expect(await s.a.hdel('h:1', 'a')).toBe(false);
    expect({ ...(await s.b.hgetall('h:1')) }).toEqual({ b: '2' });
    const wins = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? s.a : s.b).hsetIfAbsent('h:claim', 'f', `v${i}`)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await s.a.hget('h:claim', 'f')).toBe(`v${wins.indexOf(true)}`);
  });

  test('ping answers', async () => {
    await expect(s.a.ping()).resolves.toBeUndefined();
  });
});

describe('FileStore only', () => {
  test('a restart reads the snapshot back (strings, hashes, TTLs); keys expired meanwhile are gone', async () => {
    const c = fakeClock();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'store-file-'));
    tmpDirs.push(dir);
    const file = path.join(dir, 'store.json');
    const one = new FileStore(file, c.now);
    await one.set('keep', 'v');
    await one.set('soon', 'v', { ttlMs: 1000 });
    await one.set('later', 'v', { ttlMs: 100000 });
    await one.hset('h', '__proto__', 'x');
    await one.close();
    c.t += 5000;
    const two = new FileStore(file, c.now);
    expect(await two.get('keep')).toBe('v');
    expect(await two.get('soon')).toBeUndefined();
    expect(await two.ttlMs('later')).toBe(95000);
    expect(Object.entries(await two.hgetall('h'))).toEqual([['__proto__', 'x']]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a torn snapshot is kept aside (store.json.bad-<time>) and the store starts empty instead of refusing to start', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'store-file-'));
    tmpDirs.push(dir);
    const file = path.join(dir, 'store.json');
    writeFileSync(file, '{"version":1,"entries":[["a","s","v"');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const s = new FileStore(file);
      expect(await s.get('a')).toBeUndefined();
      await s.set('b', '1');
      expect(readdirSync(dir).some((f) => f.startsWith('store.json.bad-'))).toBe(true);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not be read'));
    } finally {
      warn.mockRestore();
    }
  });
});

(redisBin ? describe : describe.skip)('RedisStore only', () => {
  test('close() is not an outage: closing the store logs nothing (a log after close outlives the app that owned it)', async () => {
    const own = await startRedis(redisBin!);
    const logs: string[] = [];
    const s = await RedisStore.connect({ url: own.url, log: (m) => logs.push(m) });
    const ended = new Promise<void>((r) => (s as unknown as { client: { once(e: string, f: () => void): void } }).client.once('end', r));
    await s.set('k', 'v');
    await s.close();
    await ended; // ioredis has emitted 'close' and 'end' by now
    await own.close();
    expect(logs).toEqual([]);
  });

  test('REDIS_URL pointing at nothing: connect fails with a clear startup error naming the URL without its password', async () => {
    const dead = await startRedis(redisBin!);
    const url = `redis://:s3cret@127.0.0.1:${dead.port}`;
    await dead.close();
    const err = await RedisStore.connect({ url, log: () => undefined, connectTimeoutMs: 2000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^REDIS_URL: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    expect((err as Error).message).not.toContain('s3cret');
  });

  test('Redis killed: every operation rejects with 503 StoreUnavailable (nothing queued); restarted on the same port: the same connection works again', async () => {
    const own = await startRedis(redisBin!, { durable: true });
    const logs: string[] = [];
    const s = await RedisStore.connect({ url: own.url, log: (m) => logs.push(m) });
    try {
      await s.set('before', '1');
      await own.kill();
      const ops: Array<[string, () => Promise<unknown>]> = [
        ['get', () => s.get('before')],
        ['set', () => s.set('x', '1')],
        ['setIfAbsent', () => s.setIfAbsent('x', '1', { ttlMs: 1000 })],
        ['compareAndSet', () => s.compareAndSet('x', undefined, '1')],
        ['hgetall', () => s.hgetall('h')],
        ['hsetIfAbsent', () => s.hsetIfAbsent('h', 'f', 'v')],
        ['ping', () => s.ping()],
      ];
      for (const [name, op] of ops) {
        const e = await op().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect([name, e instanceof StoreUnavailableError]).toEqual([name, true]);
        expect((e as StoreUnavailableError).statusCode).toBe(503);
        expect((e as StoreUnavailableError).code).toBe('StoreUnavailable');
      }
      await until(() => logs.some((m) => /requests answer 503/.test(m)), 'the outage to be logged');
      await own.start();
      await until(() => s.ping().then(() => true, () => false), 'the store to answer again');
      expect(await s.get('before')).toBe('1'); // durable Redis: nothing lost
      expect(await s.get('x')).toBeUndefined(); // nothing queued during the outage was replayed
      expect(await s.setIfAbsent('x', '2')).toBe(true);
      expect(logs.some((m) => /is back/.test(m))).toBe(true);
    } finally {
      await s.close();
      await own.close();
    }
  });
});

describe('openStore (the AppServer picks its store from the environment)', () => {
  test('no REDIS_URL: a FileStore at DATA_DIR/app/store.json; a REDIS_URL that is not redis:// or rediss://, or a bad REDIS_COMMAND_TIMEOUT_MS: a startup error', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'store-open-'));
    tmpDirs.push(dir);
    const s = await openStore({}, dir);
    expect(s).toBeInstanceOf(FileStore);
    expect((s as FileStore).file).toBe(path.join(dir, 'store.json'));
    await s.close();
    await expect(openStore({ REDIS_URL: 'http://127.0.0.1:6379' }, dir)).rejects.toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    await expect(openStore({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_COMMAND_TIMEOUT_MS: 'soon' }, dir)).rejects.toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
  });

  (redisBin ? test : test.skip)('buildAppServer with an unreachable REDIS_URL refuses to start with the reason (and leaves no connection behind)', async () => {
    const dead = await startRedis(redisBin!);
    const url = dead.url;
    await dead.close();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'store-open-'));
    tmpDirs.push(dir);
    await expect(buildAppServer({ env: { REDIS_URL: url }, dataDir: dir, now: Date.now })).rejects.toThrow(/^REDIS_URL: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
  });
});
