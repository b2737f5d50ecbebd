/**
 * The local cloud: one loopback listener per provider (the real services each have their own host), sharing a data
 * dir, a clock and an event bus. `startCloud` is used by startDevStack and by tests.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { CloudContext, CloudProvider, CloudUrls, ProviderName } from './context';
import { wechatProvider } from './wechat';
import { aliyunOssProvider } from './aliyun-oss';
import { aliyunVodProvider } from './aliyun-vod';
import { aliyunStsProvider } from './aliyun-sts';
import { polyvProvider } from './polyv';
import { iotProvider } from './iot';
import { vodCdnProvider } from './vod-cdn';
import { tencentProviders } from './tencent-vod';
import { EmulatedLink, registerLinkAdmin } from './link';
import { CloudRequestLog } from './request-log';

export type { CloudUrls, ProviderName } from './context';
export type { CloudRequest } from './request-log';

export interface StartCloudOptions {
  dataDir: string;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Host name to advertise in URLs (default: host, or 127.0.0.1 when binding 0.0.0.0). Set a LAN IP for phones. */
  publicHost?: string;
  /** First port; providers take basePort, basePort+1, … in the order below. 0 (default) = ephemeral ports. */
  basePort?: number;
  providers?: CloudProvider[];
  quiet?: boolean;
  /** WeChat emulator: accept login codes from real WeChat clients (DevTools, phones) as the local developer user. */
  acceptForeignLoginCodes?: boolean;
}

export interface RunningCloud {
  urls: CloudUrls;
  /** The cloud's index URL (the WeChat listener also serves GET /_cloud with every provider URL). */
  url: string;
  /** Shift the cloud's clock by ms (clock-skew tests). */
  setClockOffset(ms: number): void;
  /** The emulated phone link every provider's listener applies (also through /_admin/link; server/cloud/link.ts). */
  link: EmulatedLink;
  /** The last requests every provider received (the dev console's request log). */
  requestLog: CloudRequestLog;
  /** Each provider's URL as this machine reaches it (127.0.0.1 when bound to every interface): for in-process admin calls. */
  localUrls: CloudUrls;
  close(): Promise<void>;
}

/** Whether a socket peer is this machine. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/, '');
  return a === '::1' || /^127\./.test(a);
}

/**
 * Dev-only endpoints (minting WeChat codes, the providers' /_admin APIs) answer only callers on this machine: with
 * HOST=0.0.0.0 for phone preview the cloud is on the LAN, and those endpoints would let anyone log in as anyone.
 * Decided on the matched route pattern, so percent-encoding cannot sidestep it.
 */
export function guardDevEndpoints(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (devEndpointDenied(route, req.socket.remoteAddress)) {
      return reply.status(403).send({ error: { code: 'DevEndpointLoopbackOnly', message: `${route} answers only callers on this machine.` } });
    }
  });
}

/** The guard's decision for a matched route pattern and a peer address. */
export function devEndpointDenied(route: string | undefined, remoteAddress: string | undefined): boolean {
  const r = route || '';
  return (r.startsWith('/_admin') || r.startsWith('/wx/dev/')) && !isLoopback(remoteAddress);
}

export function defaultProviders(opts: { acceptForeignLoginCodes?: boolean } = {}): CloudProvider[] {
  return [wechatProvider({ acceptForeignCodes: opts.acceptForeignLoginCodes }), aliyunOssProvider(), aliyunVodProvider(), aliyunStsProvider(), polyvProvider(), iotProvider(), vodCdnProvider(), ...tencentProviders()];
}

export async function startCloud(opts: StartCloudOptions): Promise<RunningCloud> {
  const host = opts.host || '127.0.0.1';
  const publicHost = opts.publicHost || (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const providers = opts.providers || defaultProviders({ acceptForeignLoginCodes: opts.acceptForeignLoginCodes });
  const bus = new EventEmitter();
  bus.setMaxListeners(50);
  let clockOffset = 0;
  const urls = {} as CloudUrls;
  const localUrls = {} as CloudUrls;
  const requestLog = new CloudRequestLog();
  const apps: Array<{ name: ProviderName; app: FastifyInstance }> = [];
  const link = new EmulatedLink();

  try {
    for (const p of providers) {
      const dataDir = path.join(opts.dataDir, p.name);
      mkdirSync(dataDir, { recursive: true });
      const ctx: CloudContext = {
        dataDir,
        rootDataDir: opts.dataDir,
        urls,
        bus,
        now: () => Date.now() + clockOffset,
        log: (msg, ...args) => {
          if (!opts.quiet) console.log(`[cloud:${p.name}] ${msg}`, ...args);
        },
      };
      const app = await p.build(ctx);
      guardDevEndpoints(app);
      registerLinkAdmin(app, link);
      requestLog.install(app, p.name);
      if (p.name === 'wechat') {
        app.get('/_cloud', async () => ({ providers: urls }));
      }
      apps.push({ name: p.name, app });
    }
    let port = opts.basePort || 0;
    for (const { name, app } of apps) {
      await app.listen({ host, port });
      link.attach(app.server);
      const addr = app.server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      urls[name] = `http://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${actual}`;
      const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      localUrls[name] = `http://${local.includes(':') ? `[${local}]` : local}:${actual}`;
      if (port) port++;
    }
  } catch (e) {
    await Promise.allSettled(apps.map(({ app }) => app.close()));
    throw e;
  }

  return {
    urls,
    url: urls.wechat,
    link,
    requestLog,
    localUrls,
    setClockOffset(ms: number) {
      clockOffset = ms;
    },
    async close() {
      await Promise.allSettled(apps.map(({ app }) => app.close()));
    },
  };
}
