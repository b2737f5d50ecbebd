/**
 * `npm start`: the AppServer + local cloud on this machine, until Ctrl-C.
 * PORT (3000), HOST (127.0.0.1; 0.0.0.0 for phone preview), PUBLIC_HOST (the LAN IP phones use),
 * DATA_DIR (.data), LOCAL_CLOUD (1; 0 = talk only to the real clouds configured in the environment).
 */
import path from 'node:path';
import { startDevStack } from './index';

async function main(): Promise<void> {
  const port = process.env.PORT ? parseInt(process.env.PORT, 10) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0-65535 (0 = any free port), got ${process.env.PORT}`);
  const host = process.env.HOST || '127.0.0.1';
  const stack = await startDevStack({
    port,
    host,
    publicHost: process.env.PUBLIC_HOST,
    dataDir: path.resolve(process.env.DATA_DIR || '.data'),
    localCloud: process.env.LOCAL_CLOUD !== '0',
    // DevTools and phones get their wx.login codes from the real WeChat; the local emulator accepts them (one local
    // developer user). WECHAT_DEV_ANY_CODE=0 restores the strict emulator.
    acceptForeignLoginCodes: process.env.WECHAT_DEV_ANY_CODE !== '0',
  });
  const lines = [
    '',
    `  AppServer    ${stack.appServerUrl}   (health: ${stack.appServerUrl}/api/health)`,
    ...(process.env.NODE_ENV === 'production' ? [] : [`  API docs     ${stack.appServerUrl}/api/docs   (OpenAPI: ${stack.appServerUrl}/api/openapi.json; this machine only)`]),
    ...(stack.cloud ? Object.entries(stack.cloud).map(([k, v]) => `  cloud ${k.padEnd(7)}${v}`) : ['  local cloud  off (LOCAL_CLOUD=0)']),
    `  data         ${stack.dataDir}`,
    '',
    '  WeChat DevTools:',
    '    1. 导入项目 (Import project) → choose this repository\'s root folder (project.config.json is there).',
    '    2. 详情 → 本地设置 → tick 「不校验合法域名、web-view（业务域名）、TLS 版本以及 HTTPS 证书」 for local development.',
    `    3. The demo talks to ${stack.appServerUrl} (miniprogram/config.ts).`,
    '    4. Phone preview: restart with HOST=0.0.0.0 PUBLIC_HOST=<this machine\'s LAN IP> npm start,',
    '       set LAN_APP_SERVER in miniprogram/config.ts to that address, then 预览 and scan the QR with debug mode on.',
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
  let closing = false;
  const stop = async (sig: string) => {
    if (closing) return;
    closing = true;
    console.log(`\n${sig}: stopping…`);
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  console.error(`Failed to start: ${(e as Error).message}`);
  process.exit(1);
});
