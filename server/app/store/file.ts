/**
 * FileStore: the default store for one machine. MemoryStore semantics, and after every change a JSON snapshot
 * written atomically (temp file + rename) to DATA_DIR/app/store.json, read back at start. Expired keys are dropped
 * when read and left out of the snapshot. A torn or unreadable snapshot is kept aside (store.json.bad-<time>) and the
 * store starts empty, rather than refusing to start.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MemoryStore } from './memory';
import { StoreUnavailableError } from './types';

interface Snapshot {
  version: 1;
  /** key → [kind, value, expiresAt ms?]; kind 's' (string) or 'h' (hash as [field, value] pairs). */
  entries: Array<[string, 's', string, number?] | [string, 'h', Array<[string, string]>, number?]>;
}

export class FileStore extends MemoryStore {
  override readonly kind = 'file' as const;

  constructor(
    readonly file: string,
    now: () => number = Date.now,
  ) {
    super(now);
    mkdirSync(path.dirname(file), { recursive: true });
    if (!existsSync(file)) return;
    try {
      const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
      if (!snap || snap.version !== 1 || !Array.isArray(snap.entries)) throw new Error('not a store snapshot');
      const t = this.now();
      for (const [key, kind, value, x] of snap.entries) {
        if (typeof key !== 'string' || (x !== undefined && x !== null && x <= t)) continue;
        const expires = typeof x === 'number' ? x : undefined;
        if (kind === 's' && typeof value === 'string') this.entries.set(key, { t: 's', v: value, x: expires });
        else if (kind === 'h' && Array.isArray(value)) this.entries.set(key, { t: 'h', v: new Map(value.filter((p) => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string')), x: expires });
      }
    } catch (e) {
      const aside = `${file}.bad-${Date.now()}`;
      renameSync(file, aside);
      console.warn(`[store] ${file} could not be read (${(e as Error).message}); kept as ${aside}, starting empty.`);
    }
  }

  protected override changed(): void {
    const t = this.now();
    const entries: Snapshot['entries'] = [];
    for (const [key, e] of this.entries) {
      if (e.x !== undefined && e.x <= t) continue;
      if (e.t === 's') entries.push(e.x === undefined ? [key, 's', e.v] : [key, 's', e.v, e.x]);
      else entries.push(e.x === undefined ? [key, 'h', [...e.v]] : [key, 'h', [...e.v], e.x]);
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ version: 1, entries } satisfies Snapshot), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (e) {
      // Disk full, folder gone: the change is in memory, the snapshot keeps the previous state until a write succeeds.
      throw new StoreUnavailableError(`cannot write ${this.file}: ${(e as Error).message}`);
    }
  }
}
