/**
 * Who created which Aliyun VOD video / image through this AppServer (routes/vod.ts records, routes/vod-play.ts reads):
 *   hash "vod:owner"          mediaId → openid
 *   hash "vod:mine:<openid>"  mediaId → creation time (ms), the user's own list
 * No TTL: ownership lasts as long as the media. The owner is written before the list entry, so a failure between
 * the two leaves a video its owner can refresh and read but that is not listed, never a listed video without owner.
 * Older AppServers kept DATA_DIR/app/vod-owners.json; it is imported once at start (then renamed *.imported).
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { Store } from './store';

const OWNER = 'vod:owner';
const mine = (openid: string) => `vod:mine:${openid}`;

export class VodOwners {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  owner(mediaId: string): Promise<string | undefined> {
    return this.store.hget(OWNER, mediaId);
  }

  async record(mediaId: string, openid: string): Promise<void> {
    await this.store.hset(OWNER, mediaId, openid);
    await this.store.hset(mine(openid), mediaId, String(this.now()));
  }

  /** The user's media ids, oldest first. */
  async mine(openid: string): Promise<string[]> {
    const all = await this.store.hgetall(mine(openid));
    return Object.keys(all).sort((a, b) => Number(all[a]) - Number(all[b]) || (a < b ? -1 : 1));
  }

  /** Imports a legacy vod-owners.json ({mediaId: openid}); existing entries win. */
  async importLegacy(file: string): Promise<number> {
    if (!existsSync(file)) return 0;
    let saved: Record<string, unknown>;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return 0;
    }
    let n = 0;
    const t = this.now();
    for (const [id, openid] of Object.entries(saved || {})) {
      if (typeof openid !== 'string' || !/^[0-9A-Za-z]{1,64}$/.test(id)) continue;
      if (await this.store.hsetIfAbsent(OWNER, id, openid)) {
        await this.store.hsetIfAbsent(mine(openid), id, String(t + n));
        n++;
      }
    }
    renameSync(file, `${file}.imported`);
    return n;
  }
}
