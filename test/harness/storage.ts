/**
 * wx storage: values kept serialised (so reads return copies, as on WeChat), WeChat's limits enforced
 * (1 MB per key, 10 MB in total), and persisted to `<sandbox>/storage.json` so a new runtime on the same sandbox
 * folder sees the same storage, as a restarted mini-program does.
 */
import { Buffer } from 'node:buffer';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import { Callbacks, deliver, wxSyncError } from './util';

export const STORAGE_ITEM_LIMIT = 1024 * 1024;
export const STORAGE_TOTAL_LIMIT = 10 * 1024 * 1024;

interface Item {
  /** 'json' | 'date' | 'undefined' */
  t: string;
  v: string;
}

class StorageFail extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

export class WxStorage {
  private items = new Map<string, Item>();
  private readonly file: string | undefined;
  private frozen = false;

  constructor(dir: string | undefined) {
    this.file = dir ? path.join(dir, 'storage.json') : undefined;
    if (this.file && nodeFs.existsSync(this.file)) {
      const saved = JSON.parse(nodeFs.readFileSync(this.file, 'utf8')) as { items?: Record<string, Item> };
      for (const [k, v] of Object.entries(saved.items || {})) this.items.set(k, v);
    }
  }

  private static sizeOf(key: string, item: Item): number {
    return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(item.v, 'utf8');
  }

  /** Bytes in use (keys + serialised values). */
  get usedBytes(): number {
    let n = 0;
    for (const [k, it] of this.items) n += WxStorage.sizeOf(k, it);
    return n;
  }

  /** The app was killed: later writes (by code still running in Node) never reach the disk. */
  freeze(): void {
    this.frozen = true;
  }

  private persist(): void {
    if (!this.file || this.frozen) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    nodeFs.writeFileSync(tmp, JSON.stringify({ version: 1, items: Object.fromEntries(this.items) }));
    nodeFs.renameSync(tmp, this.file);
  }

  private static checkKey(key: unknown): string {
    if (typeof key !== 'string') {
      const t = key === null ? 'Null' : key === undefined ? 'Undefined' : typeof key;
      throw new StorageFail(`parameter error: parameter.key should be String instead of ${t.charAt(0).toUpperCase()}${t.slice(1)};`);
    }
    return key;
  }

  private static encode(value: unknown): Item {
    if (value === undefined) return { t: 'undefined', v: '' };
    if (value instanceof Date || Object.prototype.toString.call(value) === '[object Date]') return { t: 'date', v: (value as Date).toISOString() };
    let v: string | undefined;
    try {
      v = JSON.stringify(value);
    } catch (e) {
      throw new StorageFail(`data cannot be serialised: ${(e as Error).message}`);
    }
    if (v === undefined) return { t: 'undefined', v: '' };
    return { t: 'json', v };
  }

  private static decode(item: Item): unknown {
    if (item.t === 'undefined') return undefined;
    if (item.t === 'date') return new Date(item.v);
    return JSON.parse(item.v);
  }

  set(key: unknown, value: unknown): void {
    const k = WxStorage.checkKey(key);
    const item = WxStorage.encode(value);
    if (Buffer.byteLength(item.v, 'utf8') > STORAGE_ITEM_LIMIT) throw new StorageFail('exceed storage item max size 1MB');
    const prev = this.items.get(k);
    const total = this.usedBytes - (prev ? WxStorage.sizeOf(k, prev) : 0) + WxStorage.sizeOf(k, item);
    if (total > STORAGE_TOTAL_LIMIT) throw new StorageFail('exceed storage max size 10MB');
    this.items.set(k, item);
    this.persist();
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get(key: unknown): unknown {
    const k = WxStorage.checkKey(key);
    const it = this.items.get(k);
    return it ? WxStorage.decode(it) : '';
  }

  remove(key: unknown): void {
    const k = WxStorage.checkKey(key);
    if (this.items.delete(k)) this.persist();
  }

  clear(): void {
    this.items.clear();
    this.persist();
  }

  info(): { keys: string[]; currentSize: number; limitSize: number } {
    return { keys: [...this.items.keys()], currentSize: Math.ceil(this.usedBytes / 1024), limitSize: STORAGE_TOTAL_LIMIT / 1024 };
  }

  /** The wx storage API family, sync and async. */
  api(schedule: (fn: () => void) => void): Record<string, (...a: any[]) => any> {
    const syncCall = <T>(api: string, fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        if (e instanceof StorageFail) throw wxSyncError(`${api}:fail ${e.detail}`);
        throw e;
      }
    };
    const asyncCall = (api: string, o: Callbacks, fn: () => Record<string, unknown>) => {
      try {
        const res = fn();
        deliver(o, true, { ...res, errMsg: `${api}:ok` }, schedule);
      } catch (e) {
        deliver(o, false, { errMsg: `${api}:fail ${e instanceof StorageFail ? e.detail : (e as Error).message}` }, schedule);
      }
    };
    return {
      setStorageSync: (key: string, data: unknown) => syncCall('setStorageSync', () => this.set(key, data)),
      getStorageSync: (key: string) => syncCall('getStorageSync', () => this.get(key)),
      removeStorageSync: (key: string) => syncCall('removeStorageSync', () => this.remove(key)),
      clearStorageSync: () => syncCall('clearStorageSync', () => this.clear()),
      getStorageInfoSync: () => syncCall('getStorageInfoSync', () => this.info()),
      setStorage: (o: Callbacks & { key: string; data: unknown }) =>
        asyncCall('setStorage', o, () => {
          this.set(o.key, o.data);
          return {};
        }),
      getStorage: (o: Callbacks & { key: string }) =>
        asyncCall('getStorage', o, () => {
          const k = WxStorage.checkKey(o.key);
          if (!this.items.has(k)) throw new StorageFail('data not found');
          return { data: this.get(k) };
        }),
      removeStorage: (o: Callbacks & { key: string }) =>
        asyncCall('removeStorage', o, () => {
          this.remove(o.key);
          return {};
        }),
      clearStorage: (o: Callbacks = {}) =>
        asyncCall('clearStorage', o, () => {
          this.clear();
          return {};
        }),
      getStorageInfo: (o: Callbacks = {}) => asyncCall('getStorageInfo', o, () => this.info()),
    };
  }
}
