/**
 * State the three Aliyun emulators (OSS, VOD, STS) share: the account's AccessKey, temporary (STS) credentials with
 * their scopes and expiry, lifetime overrides set through the admin API, buckets, and id generators.
 *
 * One shared instance per cloud data dir (providers are built separately, each with its own ctx, but the same
 * rootDataDir and clock). Temporary credentials are persisted so a restarted dev stack still accepts them.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import type { CloudContext } from '../context';
import type { RamPolicy } from './ram-policy';

/** The region the local cloud pretends to be. */
export const LOCAL_REGION = 'cn-shanghai';
/** Max clock difference OSS and the RPC gateway accept. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** VOD upload credentials live 3000 s (docs: "视频为3000秒"). */
export const DEFAULT_UPLOAD_AUTH_SECONDS = 3000;

/** What a temporary credential may touch in OSS. */
export type CredentialScope =
  | { kind: 'account' }
  /** A VOD UploadAuth: exactly one object in one bucket. */
  | { kind: 'object'; bucket: string; key: string };

export interface TempCredential {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** ms since epoch */
  issuedAt: number;
  expiresAt: number;
  scope: CredentialScope;
  source: 'sts' | 'vod';
  roleArn?: string;
  roleSessionName?: string;
  /** For VOD upload credentials: the media they belong to. */
  mediaId?: string;
  /**
   * The RAM policy passed to AssumeRole (parsed). Only credentials issued with one are restricted: the local role
   * itself has full VOD / OSS access, so the effective permissions are this policy's.
   */
  policy?: RamPolicy;
}

export interface AliyunSettings {
  /** Overrides every AssumeRole DurationSeconds (seconds); tests shorten it to see expiry. */
  stsLifetimeSeconds?: number;
  /** Lifetime of VOD UploadAuth credentials (seconds, default 3000). */
  uploadAuthSeconds?: number;
}

export type AuthResult =
  | { ok: true; accessKeySecret: string; temp?: TempCredential; accountId: string }
  | { ok: false; code: 'InvalidAccessKeyId' | 'SecurityTokenExpired' | 'InvalidSecurityToken' | 'MissingSecurityToken'; message: string };

interface Persisted {
  credentials: TempCredential[];
  settings: AliyunSettings;
  buckets: Record<string, BucketInfo>;
}

export interface BucketInfo {
  name: string;
  createdAt: number;
  /** Object-key prefixes anyone may GET (VOD's image/ and snapshot paths are public through its CDN). */
  publicReadPrefixes: string[];
}

export class AliyunShared {
  readonly account = {
    accountId: DEV_CREDENTIALS.aliyun.accountId,
    accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId,
    accessKeySecret: DEV_CREDENTIALS.aliyun.accessKeySecret,
    roleArn: DEV_CREDENTIALS.aliyun.roleArn,
  };
  /** The bucket VOD stores uploads in (VOD's system buckets are named outin-<32 hex>). */
  readonly vodBucket: string;
  readonly settings: AliyunSettings = {};
  private readonly temps = new Map<string, TempCredential>();
  readonly buckets = new Map<string, BucketInfo>();
  private readonly file: string;

  constructor(readonly rootDataDir: string) {
    const dir = path.join(rootDataDir, 'aliyun-common');
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'state.json');
    this.vodBucket = `outin-${createHash('md5').update(`vod:${this.account.accountId}`).digest('hex')}`;
    if (existsSync(this.file)) {
      try {
        const p = JSON.parse(readFileSync(this.file, 'utf8')) as Persisted;
        for (const c of p.credentials || []) this.temps.set(c.accessKeyId, c);
        Object.assign(this.settings, p.settings || {});
        for (const b of Object.values(p.buckets || {})) this.buckets.set(b.name, b);
      } catch {
        // a corrupt state file only loses temporary credentials
      }
    }
    if (!this.buckets.has(this.vodBucket)) {
      this.buckets.set(this.vodBucket, { name: this.vodBucket, createdAt: Date.now(), publicReadPrefixes: ['image/', 'snapshot/'] });
    }
  }

  /** Persist (synchronously: the file is small and must survive an abrupt stop). */
  save(): void {
    const now = Date.now();
    // keep expired credentials a day so their error stays SecurityTokenExpired rather than InvalidAccessKeyId
    for (const [k, c] of this.temps) if (c.expiresAt < now - 24 * 3600 * 1000) this.temps.delete(k);
    const data: Persisted = { credentials: [...this.temps.values()], settings: this.settings, buckets: Object.fromEntries(this.buckets) };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.file);
  }

  issueTemporary(opts: { now: number; durationSeconds: number; scope: CredentialScope; source: 'sts' | 'vod'; roleArn?: string; roleSessionName?: string; mediaId?: string; policy?: RamPolicy }): TempCredential {
    const cred: TempCredential = {
      accessKeyId: `STS.NU${randomBytes(16).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 22)}`,
      accessKeySecret: randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 40),
      // Real tokens are long opaque base64 starting "CAIS"; clients must pass them through untouched.
      securityToken: `CAIS${randomBytes(180).toString('base64')}`,
      issuedAt: opts.now,
      expiresAt: opts.now + opts.durationSeconds * 1000,
      scope: opts.scope,
      source: opts.source,
      roleArn: opts.roleArn,
      roleSessionName: opts.roleSessionName,
      mediaId: opts.mediaId,
    };
    if (opts.policy) cred.policy = opts.policy;
    this.temps.set(cred.accessKeyId, cred);
    this.save();
    return cred;
  }

  getTemporary(accessKeyId: string): TempCredential | undefined {
    return this.temps.get(accessKeyId);
  }

  listTemporary(): TempCredential[] {
    return [...this.temps.values()];
  }

  /** Expire credentials now (all, or those matching). Returns how many. */
  expire(now: number, filter: { accessKeyId?: string; source?: 'sts' | 'vod'; mediaId?: string } = {}): number {
    let n = 0;
    for (const c of this.temps.values()) {
      if (filter.accessKeyId && c.accessKeyId !== filter.accessKeyId) continue;
      if (filter.source && c.source !== filter.source) continue;
      if (filter.mediaId && c.mediaId !== filter.mediaId) continue;
      if (c.expiresAt > now - 1) {
        c.expiresAt = now - 1;
        n++;
      }
    }
    this.save();
    return n;
  }

  /** The AccessKey → secret lookup every verifier starts with. */
  authenticate(accessKeyId: string, securityToken: string | undefined, now: number): AuthResult {
    if (accessKeyId === this.account.accessKeyId) {
      return { ok: true, accessKeySecret: this.account.accessKeySecret, accountId: this.account.accountId };
    }
    const temp = this.temps.get(accessKeyId);
    if (!temp) return { ok: false, code: 'InvalidAccessKeyId', message: 'The OSS Access Key Id you provided does not exist in our records.' };
    if (!securityToken) return { ok: false, code: 'MissingSecurityToken', message: 'The request uses an STS AccessKeyId but carries no security token.' };
    if (securityToken !== temp.securityToken) return { ok: false, code: 'InvalidSecurityToken', message: 'The security token you provided is invalid.' };
    if (temp.expiresAt <= now) return { ok: false, code: 'SecurityTokenExpired', message: 'The security token you provided has expired.' };
    return { ok: true, accessKeySecret: temp.accessKeySecret, temp, accountId: this.account.accountId };
  }

  uploadAuthSeconds(): number {
    return this.settings.uploadAuthSeconds || DEFAULT_UPLOAD_AUTH_SECONDS;
  }
}

const shared = new Map<string, AliyunShared>();

/** The shared state for this cloud (keyed by its data dir). */
export function getAliyunShared(ctx: Pick<CloudContext, 'rootDataDir'>): AliyunShared {
  const key = path.resolve(ctx.rootDataDir);
  let s = shared.get(key);
  if (!s) {
    s = new AliyunShared(key);
    shared.set(key, s);
  }
  return s;
}

/** Forget the in-memory instance (when a cloud closes; the state file stays). */
export function releaseAliyunShared(ctx: Pick<CloudContext, 'rootDataDir'>): void {
  shared.delete(path.resolve(ctx.rootDataDir));
}

/** OSS-style request id: 24 upper-case hex digits. */
export function ossRequestId(): string {
  return randomBytes(12).toString('hex').toUpperCase();
}

/** POP (RPC) request id: an upper-case UUID. */
export function popRequestId(): string {
  return randomUUID().toUpperCase();
}

/** ISO 8601 UTC without milliseconds (STS Expiration, VOD ExpireUTCTime). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Node gives header bytes as latin1 code points; signatures are over the UTF-8 text clients meant. */
export function headerText(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0080-\u00ff]/.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
}

/**
 * Admin routes every Aliyun provider mounts (all see the same shared state):
 *   GET  /_admin/credentials                       → settings + temporary credentials (secrets masked)
 *   POST /_admin/credentials {stsLifetimeSeconds?, uploadAuthSeconds?}  (null clears an override)
 *   POST /_admin/credentials/expire {accessKeyId?, source?, mediaId?}   → {expired: n}
 */
export function registerCredentialAdmin(app: FastifyInstance, ctx: CloudContext): void {
  const s = getAliyunShared(ctx);
  app.get('/_admin/credentials', async () => ({
    settings: s.settings,
    now: ctx.now(),
    credentials: s.listTemporary().map((c) => ({
      accessKeyId: c.accessKeyId,
      source: c.source,
      scope: c.scope,
      mediaId: c.mediaId,
      policy: c.policy,
      issuedAt: new Date(c.issuedAt).toISOString(),
      expiresAt: new Date(c.expiresAt).toISOString(),
      expired: c.expiresAt <= ctx.now(),
    })),
  }));
  app.post('/_admin/credentials', async (req, reply) => {
    const b = (req.body || {}) as Record<string, unknown>;
    for (const k of ['stsLifetimeSeconds', 'uploadAuthSeconds'] as const) {
      if (!(k in b)) continue;
      const v = b[k];
      if (v === null) delete s.settings[k];
      else if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 43200) s.settings[k] = v;
      else return reply.status(400).send({ error: { code: 'InvalidParameter', message: `${k} must be an integer 1..43200 (seconds) or null` } });
    }
    s.save();
    return { settings: s.settings };
  });
  app.post('/_admin/credentials/expire', async (req) => {
    const b = (req.body || {}) as { accessKeyId?: string; source?: 'sts' | 'vod'; mediaId?: string };
    return { expired: s.expire(ctx.now(), { accessKeyId: b.accessKeyId, source: b.source, mediaId: b.mediaId }) };
  });
}
