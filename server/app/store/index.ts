/**
 * openStore: REDIS_URL set → RedisStore (shared by every instance); otherwise FileStore in the AppServer's data dir.
 *   REDIS_URL                 redis://[:password@]host:6379/0 or rediss:// (TLS)
 *   REDIS_PREFIX              key prefix (default "mpmk:")
 *   REDIS_COMMAND_TIMEOUT_MS  a command slower than this fails with 503 StoreUnavailable (default 2000)
 */
import path from 'node:path';
import { FileStore } from './file';
import { RedisStore } from './redis';
import type { Store } from './types';

export type { SetOptions, Store } from './types';
export { StoreUnavailableError } from './types';
export { MemoryStore } from './memory';
export { FileStore } from './file';
export { RedisStore } from './redis';

export async function openStore(env: NodeJS.ProcessEnv, dataDir: string, now: () => number = Date.now): Promise<Store> {
  if (env.REDIS_URL) {
    if (!/^rediss?:\/\//.test(env.REDIS_URL)) throw new Error('REDIS_URL must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379/0.');
    let commandTimeoutMs: number | undefined;
    if (env.REDIS_COMMAND_TIMEOUT_MS) {
      commandTimeoutMs = Number(env.REDIS_COMMAND_TIMEOUT_MS);
      if (!/^\d+$/.test(env.REDIS_COMMAND_TIMEOUT_MS) || commandTimeoutMs < 50) throw new Error('REDIS_COMMAND_TIMEOUT_MS must be a number of milliseconds ≥ 50.');
    }
    return RedisStore.connect({ url: env.REDIS_URL, prefix: env.REDIS_PREFIX ?? 'mpmk:', commandTimeoutMs });
  }
  return new FileStore(path.join(dataDir, 'store.json'), now);
}

/** JSON in a store value; undefined for a missing or unreadable one (never throws on bad data). */
export function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
