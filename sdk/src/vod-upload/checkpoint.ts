/**
 * Resume checkpoints in wx storage: one namespaced key holding a small map (no part lists — on resume ListParts is
 * the truth), entries expire, at most MAX entries are kept.
 *
 * Identity is the file's content, not its temp path or mtime (phones hand out a new temp path AND a new mtime on
 * every pick): the file fingerprint is size + CRC-64 of the first and last 64 KiB + the name / duration the app gave
 * to addFile; the target fingerprint adds bucket/object + partSize.
 */
import type { PlatformStorage } from '../platform/types';
import { utf8Encode } from '../util/bytes';
import { crc64 } from '../aliyun/crc64';
import type { VODUploadCheckpoint } from './types';

export const CHECKPOINT_STORAGE_KEY = 'mp-media-sdk:vod-upload:checkpoints';
const MAX = 20;

function hash(s: string): string {
  return crc64(utf8Encode(s));
}

/** Bytes read from each end of a file for its fingerprint. */
export const EDGE_BYTES = 64 * 1024;

/** CRC-64 of the first and the last 64 KiB (the tail starts after the head in files under 128 KiB). */
export async function edgeCrcs(size: number, read: (position: number, length: number) => Promise<ArrayBuffer>): Promise<string> {
  const head = Math.min(EDGE_BYTES, size);
  const tail = Math.min(EDGE_BYTES, size - head);
  return `${crc64(await read(0, head))}/${tail ? crc64(await read(size - tail, tail)) : '0'}`;
}

/** `edges` from edgeCrcs; `name` / `duration` only when the app passed them to addFile (never the temp path). */
export function fileFingerprint(f: { size: number; edges: string; name?: string; duration?: number }): string {
  return hash(`${f.size}|${f.edges}|${f.duration ? `d${Math.round(f.duration * 1000)}` : ''}|${f.name || ''}`);
}

export function targetFingerprint(file: string, bucket: string, object: string, partSize: number): string {
  return hash(`${file}|${bucket}|${object}|${partSize}`);
}

export class CheckpointStore {
  constructor(
    private storage: PlatformStorage,
    private now: () => number,
    private ttl: number,
    private warn: (m: string, ...a: unknown[]) => void,
    readonly key: string = CHECKPOINT_STORAGE_KEY,
  ) {}

  private read(): Record<string, VODUploadCheckpoint> {
    let all: unknown;
    try {
      all = this.storage.get(this.key);
    } catch (e) {
      this.warn('Reading upload checkpoints failed', e);
    }
    return all && typeof all === 'object' ? (all as Record<string, VODUploadCheckpoint>) : {};
  }

  private write(all: Record<string, VODUploadCheckpoint>): void {
    const keys = Object.keys(all);
    try {
      if (keys.length) this.storage.set(this.key, all);
      else this.storage.remove(this.key);
    } catch (e) {
      this.warn('Saving the upload checkpoint failed (resume after a restart will start over)', e);
    }
  }

  /** The live checkpoint of a local file (by file fingerprint), dropping expired ones. */
  get(file: string): VODUploadCheckpoint | undefined {
    const all = this.read();
    const cp = all[file];
    if (!cp) return undefined;
    if (cp.v !== 1 || !(this.now() - cp.ts < this.ttl)) {
      this.remove(file);
      return undefined;
    }
    return cp;
  }

  set(cp: VODUploadCheckpoint): void {
    const all = this.read();
    const now = this.now();
    all[cp.file] = Object.assign({}, cp, { ts: now });
    const keys = Object.keys(all)
      .filter((k) => all[k] && now - all[k].ts < this.ttl)
      .sort((a, b) => all[b].ts - all[a].ts)
      .slice(0, MAX);
    const kept: Record<string, VODUploadCheckpoint> = {};
    for (const k of keys) kept[k] = all[k];
    this.write(kept);
  }

  remove(file: string): void {
    const all = this.read();
    if (!(file in all)) return;
    delete all[file];
    this.write(all);
  }
}
