/**
 * Playsafe tokens as hls.videocc.net keeps them: reused (with a new expiry) for the same
 * (account, videoId, viewerId, viewerIp, iswxa) while still valid; `disposable` ones pass exactly one key check.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface TokenRequest {
  userId: string;
  appId?: string;
  videoId: string;
  viewerId: string;
  viewerIp: string;
  viewerName: string;
  extraParams: string;
  iswxa: 0 | 1;
  disposable: boolean;
  expiresSec: number;
}

export interface TokenRecord extends Omit<TokenRequest, 'expiresSec'> {
  token: string;
  /** ms */
  ttl: number;
  createdTime: number;
  expiredTime: number;
  /** Key checks passed so far. */
  uses: number;
  /** How many create calls returned this token (1 + reuses). */
  issued: number;
}

export type TokenCheck = { ok: true; record: TokenRecord } | { ok: false; reason: string };

export class TokenStore {
  private readonly byToken = new Map<string, TokenRecord>();
  private readonly byTuple = new Map<string, string>();

  private static tuple(r: { userId: string; videoId: string; viewerId: string; viewerIp: string; iswxa: number }): string {
    return JSON.stringify([r.userId, r.videoId, r.viewerId, r.viewerIp, r.iswxa]);
  }

  private sweep(now: number): void {
    for (const [t, r] of this.byToken) {
      // Keep expired records for an hour so key checks can say "expired" rather than "unknown".
      if (r.expiredTime + 3600000 < now) {
        this.byToken.delete(t);
        if (this.byTuple.get(TokenStore.tuple(r)) === t) this.byTuple.delete(TokenStore.tuple(r));
      }
    }
  }

  /** Create, or reuse and extend, a token. */
  issue(req: TokenRequest, now: number): TokenRecord {
    this.sweep(now);
    const ttl = req.expiresSec * 1000;
    const tupleKey = TokenStore.tuple(req);
    const existing = this.byTuple.get(tupleKey);
    const prev = existing ? this.byToken.get(existing) : undefined;
    // Reuse only a live token of the same kind: an exhausted disposable one, or a switch between disposable and
    // reusable, gets a fresh token (Polyv does not document these two corner cases; this is the safe reading).
    if (prev && prev.expiredTime > now && prev.disposable === req.disposable && !(prev.disposable && prev.uses > 0)) {
      prev.ttl = ttl;
      prev.expiredTime = now + ttl;
      prev.viewerName = req.viewerName;
      prev.extraParams = req.extraParams;
      prev.issued++;
      return prev;
    }
    const token = req.appId ? `${randomUUID()}-${randomBytes(6).toString('base64url').slice(0, 8)}` : randomBytes(16).toString('hex');
    const rec: TokenRecord = {
      token,
      userId: req.userId,
      appId: req.appId,
      videoId: req.videoId,
      viewerId: req.viewerId,
      viewerIp: req.viewerIp,
      viewerName: req.viewerName,
      extraParams: req.extraParams,
      iswxa: req.iswxa,
      disposable: req.disposable,
      ttl,
      createdTime: now,
      expiredTime: now + ttl,
      uses: 0,
      issued: 1,
    };
    this.byToken.set(token, rec);
    this.byTuple.set(tupleKey, token);
    return rec;
  }

  /** The key-request check: token known, live, for this video, made with iswxa=1 and asked with iswxa=1. */
  checkForKey(token: string | undefined, iswxa: string | undefined, videoId: string, now: number): TokenCheck {
    if (!token) return { ok: false, reason: 'no token' };
    const rec = this.byToken.get(token);
    if (!rec) return { ok: false, reason: 'unknown token' };
    if (rec.expiredTime <= now) return { ok: false, reason: 'token expired' };
    if (rec.videoId !== videoId) return { ok: false, reason: 'token is for another video' };
    if (iswxa !== '1') return { ok: false, reason: 'iswxa=1 missing on the request' };
    if (rec.iswxa !== 1) return { ok: false, reason: 'token was not created with iswxa=1' };
    if (rec.disposable && rec.uses > 0) return { ok: false, reason: 'disposable token already used' };
    rec.uses++;
    return { ok: true, record: rec };
  }

  list(): TokenRecord[] {
    return [...this.byToken.values()];
  }
}
