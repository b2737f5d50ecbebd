/**
 * Programmatic start of the whole product on this machine: the local cloud + the AppServer.
 * Used by `npm start` (server/main.ts) and by the end-to-end and page tests.
 */
import { mkdtempSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCloud, RunningCloud, CloudUrls } from './cloud';
import { buildAppServer } from './app';

export type { CloudUrls } from './cloud';

export interface DevStackOptions {
  /** AppServer port (default 0 = ephemeral). With a fixed port the cloud takes port+1 … port+8 (tvod port+7, cos port+8). */
  port?: number;
  /** Where the cloud and the AppServer keep their files (default: a new temp dir). */
  dataDir?: string;
  host?: string;
  /** Host to advertise in URLs (a LAN IP for phone preview). */
  publicHost?: string;
  /** Environment for the AppServer's configuration (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Start the local cloud (default true). */
  localCloud?: boolean;
  quiet?: boolean;
  /**
   * Let the local WeChat emulator accept the codes a real WeChat client's wx.login returns (DevTools, phone preview),
   * logging them in as one local developer user. `npm start` turns it on; tests leave it off (strict codes).
   */
  acceptForeignLoginCodes?: boolean;
}

export interface DevStack {
  appServerUrl: string;
  /** The local cloud's index URL (GET /_cloud lists every provider). */
  cloudUrl: string;
  /** Each provider's base URL. */
  cloud: CloudUrls | undefined;
  dataDir: string;
  /** The running cloud (clock offset for skew tests); undefined without the local cloud. */
  runningCloud: RunningCloud | undefined;
  close(): Promise<void>;
}

export async function startDevStack(opts: DevStackOptions = {}): Promise<DevStack> {
  const dataDir = opts.dataDir || mkdtempSync(path.join(os.tmpdir(), 'mp-media-kit-'));
  mkdirSync(dataDir, { recursive: true });
  const host = opts.host || '127.0.0.1';
  const publicHost = opts.publicHost || (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const env = opts.env || process.env;
  const cloud =
    opts.localCloud === false
      ? undefined
      : await startCloud({ dataDir: path.join(dataDir, 'cloud'), host, publicHost, basePort: opts.port ? opts.port + 1 : 0, quiet: opts.quiet, acceptForeignLoginCodes: opts.acceptForeignLoginCodes });
  try {
    const { app } = await buildAppServer({ env, cloud: cloud?.urls, dataDir: path.join(dataDir, 'app'), now: () => Date.now() });
    await app.listen({ host, port: opts.port || 0 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    const appServerUrl = `http://${publicHost}:${port}`;
    return {
      appServerUrl,
      cloudUrl: cloud ? cloud.url : '',
      cloud: cloud?.urls,
      dataDir,
      runningCloud: cloud,
      async close() {
        await app.close();
        if (cloud) await cloud.close();
      },
    };
  } catch (e) {
    if (cloud) await cloud.close();
    throw e;
  }
}
