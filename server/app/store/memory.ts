/**
 * MemoryStore: the store contract in this process's memory, with TTLs on an injected clock. FileStore persists it;
 * tests use it alone. Every operation is synchronous inside, so each one is atomic in a single process.
 */
import { checkTtl, SetOptions, Store } from './types';

type Entry = { t: 's'; v: string; x?: number } | { t: 'h'; v: Map<string, string>; x?: number };

export class WrongTypeError extends Error {
  constructor(key: string) {
    super(`WRONGTYPE: ${key} holds another kind of value`);
  }
}

export class MemoryStore implements Store {
  readonly kind: 'memory' | 'file' = 'memory';
  protected readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(protected readonly now: () => number = Date.now) {}

  /** Called after every change (FileStore writes its snapshot). */
  protected changed(): void {}

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.x !== undefined && e.x <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private str(key: string): string | undefined {
    const e = this.live(key);
    if (e && e.t !== 's') throw new WrongTypeError(key);
    return e ? e.v : undefined;
  }

  private hash(key: string, create: boolean): Map<string, string> | undefined {
    const e = this.live(key);
    if (e && e.t !== 'h') throw new WrongTypeError(key);
    if (e) return e.v;
    if (!create) return undefined;
    const v = new Map<string, string>();
    this.entries.set(key, { t: 'h', v });
    return v;
  }

  private check(): void {
    if (this.closed) throw new Error('store closed');
  }

  private put(key: string, value: string, opts?: SetOptions): void {
    const ttl = checkTtl(opts);
    this.entries.set(key, { t: 's', v: String(value), x: ttl === undefined ? undefined : this.now() + ttl });
    this.changed();
  }

  async get(key: string): Promise<string | undefined> {
    this.check();
    return this.str(key);
  }

  async set(key: string, value: string, opts?: SetOptions): Promise<void> {
    this.check();
    checkTtl(opts);
    this.live(key);
    this.put(key, value, opts);
  }

  async setIfAbsent(key: string, value: string, opts?: SetOptions): Promise<boolean> {
    this.check();
    checkTtl(opts);
    if (this.live(key)) return false;
    this.put(key, value, opts);
    return true;
  }

  async compareAndSet(key: string, expected: string | undefined, value: string, opts?: SetOptions): Promise<boolean> {
    this.check();
    checkTtl(opts);
    if (this.str(key) !== expected) return false;
    this.put(key, value, opts);
    return true;
  }

  async del(key: string): Promise<boolean> {
    this.check();
    if (!this.live(key)) return false;
    this.entries.delete(key);
    this.changed();
    return true;
  }

  async ttlMs(key: string): Promise<number> {
    this.check();
    const e = this.live(key);
    if (!e) return -2;
    return e.x === undefined ? -1 : e.x - this.now();
  }

  async hget(key: string, field: string): Promise<string | undefined> {
    this.check();
    return this.hash(key, false)?.get(field);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    this.check();
    const out = Object.create(null) as Record<string, string>;
    for (const [f, v] of this.hash(key, false) || []) out[f] = v;
    return out;
  }

  async hset(key: string, field: string, value: string): Promise<void> {
    this.check();
    this.hash(key, true)!.set(field, String(value));
    this.changed();
  }

  async hsetIfAbsent(key: string, field: string, value: string): Promise<boolean> {
    this.check();
    const h = this.hash(key, true)!;
    if (h.has(field)) return false;
    h.set(field, String(value));
    this.changed();
    return true;
  }

  async hdel(key: string, field: string): Promise<boolean> {
    this.check();
    const h = this.hash(key, false);
    if (!h || !h.delete(field)) return false;
    if (h.size === 0) this.entries.delete(key);
    this.changed();
    return true;
  }

  async ping(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
