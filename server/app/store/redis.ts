/**
 * RedisStore: the store contract on Redis through ioredis, for several AppServer instances (REDIS_URL).
 *   - TTLs are Redis's own (SET … PX), claims single commands (SET NX, HSETNX), compare-and-set one Lua script.
 *   - Nothing waits for Redis: no offline queue, no per-command retries, a short command timeout. While Redis is down
 *     every call rejects at once with StoreUnavailableError (503 StoreUnavailable); ioredis reconnects in the
 *     background (backoff up to 2 s) and the next request after Redis is back works.
 *   - Every key carries a prefix (REDIS_PREFIX, default "mpmk:"), so one Redis can serve several deployments.
 */
import Redis from 'ioredis';
import { checkTtl, SetOptions, Store, StoreUnavailableError } from './types';

const CAS_LUA = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) else redis.call('SET', KEYS[1], ARGV[3]) end
return 1`;

/** HGETALL as the raw [field, value, …] list (ioredis would build a plain object from it). */
const HGETALL_LUA = `return redis.call('HGETALL', KEYS[1])`;

/** Redis answers that mean "not now" rather than "wrong command": 503 like a lost connection. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|OOM|MASTERDOWN|BUSY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

interface Scripts {
  mpCas(key: string, hasExpected: string, expected: string, value: string, ttl: string): Promise<number>;
  mpHgetall(key: string): Promise<string[]>;
}

export interface RedisStoreOptions {
  url: string;
  prefix?: string;
  /** ms before a command counts as failed (default 2000). */
  commandTimeoutMs?: number;
  /** ms to wait for the first connection at start (default 5000). */
  connectTimeoutMs?: number;
  log?: (message: string) => void;
}

/** The URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an unparsable REDIS_URL';
  }
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly prefix: string;
  private closed = false;

  private constructor(
    private readonly client: Redis & Scripts,
    prefix: string,
    /** Set by close(): the connection's end is then ours, not an outage to log. */
    private readonly life: { closing: boolean },
  ) {
    this.prefix = prefix;
  }

  /** Connects (throws a clear startup error when Redis cannot be reached within connectTimeoutMs). */
  static async connect(o: RedisStoreOptions): Promise<RedisStore> {
    const log = o.log || ((m: string) => console.warn(m));
    const where = redactRedisUrl(o.url);
    // No reconnecting before the first connection: a start against a dead Redis fails at once and leaves no timer.
    let started = false;
    const client = new Redis(o.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: o.commandTimeoutMs ?? 2000,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      retryStrategy: (times) => (started ? Math.min(100 * times, 2000) : null),
    }) as Redis & Scripts;
    client.defineCommand('mpCas', { numberOfKeys: 1, lua: CAS_LUA });
    client.defineCommand('mpHgetall', { numberOfKeys: 1, lua: HGETALL_LUA });
    let down = false;
    const life = { closing: false };
    const outage = (why: string) => {
      if (!down && started && !life.closing) log(`[store] Redis at ${where}: ${why} (requests answer 503 StoreUnavailable until it is back)`);
      down = true;
    };
    client.on('error', (e: Error) => outage(e.message));
    client.on('close', () => outage('connection lost'));
    client.on('ready', () => {
      if (down && !life.closing) log(`[store] Redis at ${where} is back`);
      down = false;
    });
    try {
      await client.connect();
      await client.ping();
      started = true;
    } catch (e) {
      // Already ended (no retries before the first connection): disconnect() would only arm a 2 s timer in ioredis.
      if (client.status !== 'end') client.disconnect();
      throw new Error(`REDIS_URL: cannot reach Redis at ${where}: ${(e as Error).message}`);
    }
    return new RedisStore(client, o.prefix ?? 'mpmk:', life);
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('store closed');
    try {
      return await op();
    } catch (e) {
      const err = e as Error;
      if (err && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) throw err; // our bug, not an outage
      throw new StoreUnavailableError(`Redis: ${err && err.message}`);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.run(() => this.client.get(this.k(key)))) ?? undefined;
  }

  async set(key: string, value: string, opts?: SetOptions): Promise<void> {
    const ttl = checkTtl(opts);
    await this.run(() => (ttl === undefined ? this.client.set(this.k(key), value) : this.client.set(this.k(key), value, 'PX', ttl)));
  }

  async setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean> {
    const ttl = checkTtl(opts);
    const r = await this.run(() => (ttl === undefined ? this.client.set(this.k(key), value, 'NX') : this.client.set(this.k(key), value, 'PX', ttl, 'NX')));
    return r === 'OK';
  }

  async compareAndSet(key: string, expected: string | undefined, value: string, opts?: SetOptions): Promise<boolean> {
    const ttl = checkTtl(opts);
    const r = await this.run(() => this.client.mpCas(this.k(key), expected === undefined ? '0' : '1', expected ?? '', value, ttl === undefined ? '' : String(ttl)));
    return Number(r) === 1;
  }

  async del(key: string): Promise<boolean> {
    return (await this.run(() => this.client.del(this.k(key)))) > 0;
  }

  async ttlMs(key: string): Promise<number> {
    return this.run(() => this.client.pttl(this.k(key)));
  }

  async hget(key: string, field: string): Promise<string | undefined> {
    return (await this.run(() => this.client.hget(this.k(key), field))) ?? undefined;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    const flat = await this.run(() => this.client.mpHgetall(this.k(key)));
    const out = Object.create(null) as Record<string, string>;
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
    return out;
  }

  async hset(key: string, field: string, value: string): Promise<void> {
    await this.run(() => this.client.hset(this.k(key), field, value));
  }

  async hsetIfAbsent(key: string, field: string, value: string): Promise<boolean> {
    return (await this.run(() => this.client.hsetnx(this.k(key), field, value))) === 1;
  }

  async hdel(key: string, field: string): Promise<boolean> {
    return (await this.run(() => this.client.hdel(this.k(key), field))) > 0;
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.life.closing = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
