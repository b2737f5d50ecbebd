/**
 * What the AppServer keeps about Tencent VOD uploads (a JSON file in its data dir): each user's opaque context token
 * (the signature's sourceContext / sessionContext), each uploaded file's owner and state, and the events already
 * applied (PUSH and PULL deliver at least once: applying twice changes nothing).
 */
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nullRecord } from '../../safe-input';

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

interface Data {
  users: Record<string, string>;
  videos: Record<string, VideoRecord>;
  applied: Record<string, number>;
}

export class TencentVodStore {
  // Null-prototype records: event ids and fileIds come from PUSH bodies, and `__proto__` / `constructor` must be
  // ordinary keys here (never Object.prototype, never "already applied").
  private data: Data = { users: nullRecord(), videos: nullRecord(), applied: nullRecord() };
  constructor(private file: string, private secret: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    if (existsSync(file)) {
      try {
        const d = JSON.parse(readFileSync(file, 'utf8')) as Partial<Data>;
        this.data = { users: Object.assign(nullRecord<string>(), d.users), videos: Object.assign(nullRecord<VideoRecord>(), d.videos), applied: Object.assign(nullRecord<number>(), d.applied) };
      } catch {
        /* start empty on a torn file */
      }
    }
  }

  private save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data));
    renameSync(tmp, this.file);
  }

  /** The user's stable opaque token (never the openid itself): `u1.<22 chars>`. */
  contextFor(openid: string): string {
    const ctx = `u1.${createHmac('sha256', this.secret).update(`tencent-vod:${openid}`).digest('base64url').slice(0, 22)}`;
    if (this.data.users[ctx] !== openid) {
      this.data.users[ctx] = openid;
      this.save();
    }
    return ctx;
  }

  userFor(context: string | undefined): string | undefined {
    return context && Object.prototype.hasOwnProperty.call(this.data.users, context) ? this.data.users[context] : undefined;
  }

  video(fileId: string): VideoRecord | undefined {
    return Object.prototype.hasOwnProperty.call(this.data.videos, fileId) ? this.data.videos[fileId] : undefined;
  }

  videosOf(openid: string): VideoRecord[] {
    return Object.values(this.data.videos)
      .filter((v) => v.openid === openid)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Create or advance a record; a state never goes back (events may arrive out of order). */
  upsert(fileId: string, openid: string, patch: Partial<Omit<VideoRecord, 'fileId' | 'openid'>>, now: number): VideoRecord {
    const cur = this.video(fileId);
    const next: VideoRecord = cur ? { ...cur } : { fileId, openid, name: '', state: 'uploaded', createdAt: now, updatedAt: now };
    for (const [k, v] of Object.entries(patch)) if (v !== undefined && k !== 'state') (next as unknown as Record<string, unknown>)[k] = v;
    if (patch.state && RANK[patch.state] >= RANK[next.state] && !(cur && RANK[cur.state] === 2)) next.state = patch.state;
    next.updatedAt = now;
    this.data.videos[fileId] = next;
    this.save();
    return next;
  }

  /** true the first time an event key is seen. */
  markApplied(key: string, now: number): boolean {
    if (Object.prototype.hasOwnProperty.call(this.data.applied, key)) return false;
    this.data.applied[key] = now;
    this.save();
    return true;
  }
}
