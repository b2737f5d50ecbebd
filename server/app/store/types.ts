/**
 * The AppServer's one store: every piece of state that must survive a restart or be shared by several instances
 * (video ownership, Polyv token reuse, IoT bindings, Tencent VOD contexts / records / applied events, the development
 * token secret) goes through this interface. Two implementations keep the same contract (test/unit/store.test.ts runs
 * it against both):
 *   - FileStore (default, one machine, no setup): memory with a JSON snapshot in DATA_DIR/app/store.json.
 *   - RedisStore (REDIS_URL set): shared by every instance; TTLs are Redis's own, claims are single Redis commands.
 * Keys are flat strings ("vod:owner", "polyv:token:<hash>", …); a key is either a string or a hash (field → string).
 * When the store cannot answer (Redis down, a command timed out) every call rejects with StoreUnavailableError, an
 * HttpError 503 `StoreUnavailable`: a request fails clearly and changes nothing it had not already written.
 */
import { HttpError } from '../../http';

export interface SetOptions {
  /** Expire the key after this many milliseconds (integer ≥ 1). Without it the key does not expire. */
  ttlMs?: number;
}

export interface Store {
  readonly kind: 'memory' | 'file' | 'redis';
  get(key: string): Promise<string | undefined>;
  /** Sets the value; replaces any TTL with opts.ttlMs (none: no expiry). */
  set(key: string, value: string, opts?: SetOptions): Promise<void>;
  /** Atomic claim: sets only when the key does not exist; true when this call set it. */
  setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean>;
  /**
   * Atomic compare-and-set: writes `value` only when the current value is exactly `expected` (undefined: the key is
   * absent); true when it wrote. Read, compute, compareAndSet, repeat on false: an update no other instance can lose.
   */
  compareAndSet(key: string, expected: string | undefined, value: string, opts?: SetOptions): Promise<boolean>;
  /** true when the key existed. */
  del(key: string): Promise<boolean>;
  /** Milliseconds left: -2 when the key does not exist, -1 when it has no expiry (Redis PTTL). */
  ttlMs(key: string): Promise<number>;
  hget(key: string, field: string): Promise<string | undefined>;
  /** Every field (a null-prototype record: a field named `__proto__` is an ordinary field). */
  hgetall(key: string): Promise<Record<string, string>>;
  hset(key: string, field: string, value: string): Promise<void>;
  /** Atomic claim of one field: true when this call set it. */
  hsetIfAbsent(key: string, field: string, value: string): Promise<boolean>;
  /** true when the field existed. */
  hdel(key: string, field: string): Promise<boolean>;
  /** Resolves when the store answers (GET /api/health). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot answer: 503 with code StoreUnavailable (docs/errors.md). */
export class StoreUnavailableError extends HttpError {
  constructor(cause: string) {
    super(503, 'StoreUnavailable', `The AppServer's store is unavailable (${cause}); nothing was changed by the failed step. Try again shortly.`);
  }
}

export function checkTtl(opts: SetOptions | undefined): number | undefined {
  if (!opts || opts.ttlMs === undefined) return undefined;
  if (!Number.isInteger(opts.ttlMs) || opts.ttlMs < 1) throw new RangeError(`ttlMs must be an integer ≥ 1, got ${opts.ttlMs}`);
  return opts.ttlMs;
}
