/**
 * `npm start`: the AppServer + local cloud on this machine, until Ctrl-C.
 * PORT (3000), HOST (127.0.0.1; 0.0.0.0 for phone preview), PUBLIC_HOST (the LAN IP phones use),
 * DATA_DIR (.data), LOCAL_CLOUD (1; 0 = talk only to the real clouds configured in the environment).
 *
 * Stopping: SIGINT (Ctrl-C), SIGTERM or SIGHUP close every listener (AppServer + each cloud provider) and exit 0.
 * If closing takes longer than CLOSE_DEADLINE_MS (a client holding a request open), the process exits anyway (code 1),
 * so a stop never leaves ports open. A signal that arrives while the servers are still starting stops them as soon as
 * they are up. `npm start` runs this file with `exec node --import tsx server/main.ts`, so the server IS the process
 * npm forwards SIGINT / SIGTERM to (through `sh -c "…"` without exec, the shell swallowed them: see package.json).
 */
import path from 'node:path';
import { startDevStack, DevStack } from './index';

const CLOSE_DEADLINE_MS = 4000;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

let stack: DevStack | undefined;
let stopping: string | undefined;

function stop(sig: string): void {
  if (stopping) return; // Ctrl-C reaches us twice (from the terminal and forwarded by npm): one stop is enough
  stopping = sig;
  console.log(`\n${sig}: stopping…`);
  const watchdog = setTimeout(() => {
    console.error(`Still closing after ${CLOSE_DEADLINE_MS} ms (a connection held open?): exiting anyway.`);
    process.exit(1);
  }, CLOSE_DEADLINE_MS);
  if (!stack) return; // still starting: main() stops the stack once it is up (the watchdog still bounds it)
  stack.close().then(
    () => {
      clearTimeout(watchdog);
      process.exit(0);
    },
    (e: Error) => {
      console.error(`Error while stopping: ${e.message}`);
      process.exit(1);
    },
  );
}

for (const sig of STOP_SIGNALS) process.on(sig, () => stop(sig));

async function main(): Promise<void> {
  const port = process.env.PORT ? parseInt(process.env.PORT, 10) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0-65535 (0 = any free port), got ${process.env.PORT}`);
  const host = process.env.HOST || '127.0.0.1';
  const started = await startDevStack({
    port,
    host,
    publicHost: process.env.PUBLIC_HOST,
    dataDir: path.resolve(process.env.DATA_DIR || '.data'),
    localCloud: process.env.LOCAL_CLOUD !== '0',
    // DevTools and phones get their wx.login codes from the real WeChat; the local emulator accepts them (one local
    // developer user). WECHAT_DEV_ANY_CODE=0 restores the strict emulator.
    acceptForeignLoginCodes: process.env.WECHAT_DEV_ANY_CODE !== '0',
  });
  stack = started;
  if (stopping) {
    const sig = stopping;
    stopping = undefined;
    return stop(sig);
  }
  const lines = [
    '',
    `  AppServer    ${started.appServerUrl}   (health: ${started.appServerUrl}/api/health)`,
    ...(process.env.NODE_ENV === 'production' ? [] : [`  API docs     ${started.appServerUrl}/api/docs   (OpenAPI: ${started.appServerUrl}/api/openapi.json; this machine only)`]),
    ...(process.env.NODE_ENV === 'production' || !started.cloud ? [] : [`  Console      ${started.appServerUrl}/console   (the local cloud: media, IoT, requests, faults; this machine only)`]),
    ...(started.cloud ? Object.entries(started.cloud).map(([k, v]) => `  cloud ${k.padEnd(7)}${v}`) : ['  local cloud  off (LOCAL_CLOUD=0)']),
    `  data         ${started.dataDir}`,
    '',
    '  WeChat DevTools:',
    '    1. 导入项目 (Import project) → choose this repository\'s root folder (project.config.json is there).',
    '    2. 详情 → 本地设置 → tick 「不校验合法域名、web-view（业务域名）、TLS 版本以及 HTTPS 证书」 for local development.',
    `    3. The demo talks to ${started.appServerUrl} (miniprogram/config.ts).`,
    '    4. Phone preview: restart with HOST=0.0.0.0 PUBLIC_HOST=<this machine\'s LAN IP> npm start,',
    '       set LAN_APP_SERVER in miniprogram/config.ts to that address, then 预览 and scan the QR with debug mode on.',
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(`Failed to start: ${(e as Error).message}`);
  process.exit(1);
});
