/**
 * What the AppServer keeps about Tencent VOD uploads, in its store (server/app/store; shared by every instance with
 * REDIS_URL): each user's opaque context token (the signature's sourceContext / sessionContext), each uploaded file's
 * owner and state, and the events already applied (PUSH and PULL deliver at least once: applying twice changes
 * nothing). Layout, no TTL (the records are the user's video list):
 *   hash "tvod:ctx"              context → openid
 *   key  "tvod:video:<fileId>"   JSON VideoRecord + `applied` (the event keys already applied to this file)
 *   hash "tvod:mine:<openid>"    fileId → createdAt (the user's list)
 * An event is applied with one compare-and-set of the file's record that also adds the event key: two instances
 * receiving the same PUSH apply it once (the other answers applied:false), and an event whose write failed (store
 * down) is not marked applied, so its redelivery applies it.
 * Older AppServers kept DATA_DIR/app/tencent-vod.json; importLegacy() moves it into the store once.
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { parseJson, type Store } from '../store';

export type VideoState = 'uploaded' | 'processing' | 'ready' | 'failed';
const RANK: Record<VideoState, number> = { uploaded: 0, processing: 1, ready: 2, failed: 2 };

export interface VideoRecord {
  fileId: string;
  openid: string;
  name: string;
  state: VideoState;
  mediaUrl?: string;
  coverUrl?: string;
  procedureTaskId?: string;
  createdAt: number;
  updatedAt: number;
}

type Stored = VideoRecord & { applied?: string[] };

const CTX = 'tvod:ctx';
const videoKey = (fileId: string) => `tvod:video:${fileId}`;
const mineKey = (openid: string) => `tvod:mine:${openid}`;
/** Event keys remembered per file (a file sees a handful: its upload and each task-flow state). */
const MAX_APPLIED = 64;
/** Compare-and-set rounds before giving up (each lost round means another instance just wrote the same file). */
const MAX_ROUNDS = 20;

const publicRecord = (s: Stored): VideoRecord => {
  const { applied: _a, ...v } = s;
  return v;
};

export class TencentVodStore {
  constructor(
    private readonly store: Store,
    private readonly secret: string,
  ) {}

  /** The user's stable opaque token (never the openid itself): `u1.<22 chars>`. */
  async contextFor(openid: string): Promise<string> {
    const ctx = `u1.${createHmac('sha256', this.secret).update(`tencent-vod:${openid}`).digest('base64url').slice(0, 22)}`;
    if ((await this.store.hget(CTX, ctx)) !== openid) await this.store.hset(CTX, ctx, openid);
    return ctx;
  }

  async userFor(context: string | undefined): Promise<string | undefined> {
    return context ? this.store.hget(CTX, context) : undefined;
  }

  async video(fileId: string): Promise<VideoRecord | undefined> {
    const s = parseJson<Stored>(await this.store.get(videoKey(fileId)));
    return s ? publicRecord(s) : undefined;
  }

  async videosOf(openid: string): Promise<VideoRecord[]> {
    const ids = Object.keys(await this.store.hgetall(mineKey(openid)));
    const all = await Promise.all(ids.map((id) => this.video(id)));
    return all.filter((v): v is VideoRecord => !!v && v.openid === openid).sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * Create or advance a record; a state never goes back (events may arrive out of order). With `eventKey`, only the
   * first delivery of that event changes anything: null when it was applied before.
   */
  async apply(fileId: string, openid: string, patch: Partial<Omit<VideoRecord, 'fileId' | 'openid'>>, now: number, eventKey?: string): Promise<VideoRecord | null> {
    await this.store.hsetIfAbsent(mineKey(openid), fileId, String(now));
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const raw = await this.store.get(videoKey(fileId));
      const cur = parseJson<Stored>(raw);
      if (eventKey && cur && (cur.applied || []).includes(eventKey)) return null;
      const next: Stored = cur ? { ...cur } : { fileId, openid, name: '', state: 'uploaded', createdAt: now, updatedAt: now };
      for (const [k, v] of Object.entries(patch)) if (v !== undefined && k !== 'state') (next as unknown as Record<string, unknown>)[k] = v;
      if (patch.state && RANK[patch.state] >= RANK[next.state] && !(cur && RANK[cur.state] === 2)) next.state = patch.state;
      next.updatedAt = now;
      if (eventKey) next.applied = [...(cur?.applied || []), eventKey].slice(-MAX_APPLIED);
      if (await this.store.compareAndSet(videoKey(fileId), raw, JSON.stringify(next))) return publicRecord(next);
    }
    throw new Error(`tencent-vod: record ${fileId} kept changing under ${MAX_ROUNDS} updates`);
  }

  /** Imports a legacy tencent-vod.json ({users, videos, applied}) into the store, then renames it. */
  async importLegacy(file: string): Promise<number> {
    if (!existsSync(file)) return 0;
    const d = parseJson<{ users?: Record<string, string>; videos?: Record<string, VideoRecord>; applied?: Record<string, number> }>(readFileSync(file, 'utf8')) || {};
    for (const [ctx, openid] of Object.entries(d.users || {})) if (typeof openid === 'string') await this.store.hsetIfAbsent(CTX, ctx, openid);
    const appliedKeys = Object.keys(d.applied || {});
    let n = 0;
    for (const [fileId, v] of Object.entries(d.videos || {})) {
      if (!/^\d{1,32}$/.test(fileId) || !v || typeof v.openid !== 'string') continue;
      const applied = appliedKeys.filter((k) => k === `NewFileUpload:${fileId}` || (v.procedureTaskId && k.startsWith(`ProcedureStateChanged:${v.procedureTaskId}:`)));
      await this.store.hsetIfAbsent(mineKey(v.openid), fileId, String(v.createdAt));
      if (await this.store.setIfAbsent(videoKey(fileId), JSON.stringify({ ...v, fileId, applied } satisfies Stored))) n++;
    }
    renameSync(file, `${file}.imported`);
    return n;
  }
}
