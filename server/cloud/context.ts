/**
 * What every local-cloud provider gets. Each provider lives in server/cloud/<provider>/ and exports a
 * `CloudProvider`; server/cloud/index.ts gives each one its own loopback listener, as the real clouds give each
 * service its own host.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';

export type ProviderName = 'wechat' | 'oss' | 'vod' | 'sts' | 'polyv' | 'iot' | 'cdn' | 'tvod' | 'cos';

/** Base URLs of every provider's listener (e.g. http://127.0.0.1:40123), known once all are listening. */
export type CloudUrls = Record<Exclude<ProviderName, 'cdn'>, string> & Partial<Record<'cdn', string>>;

export interface CloudContext {
  /** The provider's own folder under the cloud's data dir (created before build). */
  dataDir: string;
  /** The cloud-wide data dir. */
  rootDataDir: string;
  /** Base URLs as the providers should advertise them (filled in after listen: read at request time). */
  readonly urls: CloudUrls;
  /** Cross-provider events, e.g. 'oss:object-created' {bucket, key, size} (VOD marks a video UploadSucc). */
  bus: EventEmitter;
  /** Milliseconds since the epoch; tests may shift it through the admin API (clock-skew tests). */
  now(): number;
  log(msg: string, ...args: unknown[]): void;
}

export interface CloudProvider {
  name: ProviderName;
  /** Build (not listen) the provider's fastify app; routes, state, admin endpoints under `/_admin/`. */
  build(ctx: CloudContext): Promise<FastifyInstance>;
}
