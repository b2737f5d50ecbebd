/**
 * Programmatic start of the whole product on this machine: the local cloud + the AppServer.
 * Used by `npm start` (server/main.ts) and by the end-to-end and page tests.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCloud, RunningCloud, CloudUrls } from './cloud';
import { buildAppServer } from './app';
import consolePlugin from './console';

export type { CloudUrls } from './cloud';

export interface DevStackOptions {
  /** AppServer port (default 0 = ephemeral). With a fixed port the cloud takes port+1 … port+9 (cdn port+7, tvod port+8, cos port+9). */
  port?: number;
  /** Where the cloud and the AppServer keep their files (default: a new temp dir, removed by close()). */
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
  /** Serve the local cloud's web console at /console (default: with the local cloud, unless NODE_ENV=production). */
  console?: boolean;
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
  const ownDataDir = !opts.dataDir;
  const dataDir = opts.dataDir || mkdtempSync(path.join(os.tmpdir(), 'mp-media-kit-'));
  mkdirSync(dataDir, { recursive: true });
  // a temp folder this call created goes away with the stack; a given DATA_DIR is the caller's and stays
  const removeOwnDataDir = () => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  };
  let cloud: RunningCloud | undefined;
  let appToClose: { close(): Promise<unknown> } | undefined;
  const host = opts.host || '127.0.0.1';
  const publicHost = opts.publicHost || (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const env = opts.env || process.env;
  try {
    cloud =
      opts.localCloud === false
        ? undefined
        : await startCloud({ dataDir: path.join(dataDir, 'cloud'), host, publicHost, basePort: opts.port ? opts.port + 1 : 0, quiet: opts.quiet, acceptForeignLoginCodes: opts.acceptForeignLoginCodes });
    const { app } = await buildAppServer({ env, cloud: cloud?.urls, dataDir: path.join(dataDir, 'app'), now: () => Date.now() });
    appToClose = app;
    if (cloud && opts.console !== false && env.NODE_ENV !== 'production') {
      await app.register(consolePlugin, { cloud, cloudDataDir: path.join(dataDir, 'cloud'), env });
    }
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
        try {
          await app.close();
          if (cloud) await cloud.close();
        } finally {
          removeOwnDataDir();
        }
      },
    };
  } catch (e) {
    if (appToClose) await appToClose.close().catch(() => undefined);
    if (cloud) await cloud.close();
    removeOwnDataDir();
    throw e;
  }
}
