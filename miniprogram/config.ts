/**
 * Where the demo finds the AppServer.
 *
 * - Local development (DevTools simulator): the default below, with `npm start` running on this machine and
 *   「不校验合法域名…」 ticked in DevTools (详情 → 本地设置).
 * - Phone preview on the same Wi-Fi: start the server with `HOST=0.0.0.0 PUBLIC_HOST=192.168.x.y npm start` and set
 *   `LAN_APP_SERVER` below to `http://192.168.x.y:3000`. (Code can also switch at run time with
 *   `setAppServerOverride(url)` from services/app.ts, kept in storage under `mp-media-kit:appServer`.) Turn on debug
 *   mode (开发调试) on the phone: a QR preview without it enforces the domain whitelist, and a LAN http URL is not
 *   whitelistable.
 * - Production: set `PRODUCTION_APP_SERVER` to your https AppServer domain and add it (and the provider hosts your
 *   uploads/playback reach: the OSS bucket host, vod.<region>.aliyuncs.com for STS mode, the Polyv hls hosts) to
 *   the mini-program's 服务器域名 lists.
 */
export const LOCAL_APP_SERVER = 'http://127.0.0.1:3000';
export const LAN_APP_SERVER = '';
export const PRODUCTION_APP_SERVER = '';

export const APP_SERVER_OVERRIDE_KEY = 'mp-media-kit:appServer';

/** The AppServer base URL in force: the stored override, else production, else LAN, else local. */
export function appServerUrl(stored?: unknown): string {
  if (typeof stored === 'string' && /^https?:\/\/[^\s/]+/.test(stored)) return stored.replace(/\/+$/, '');
  return PRODUCTION_APP_SERVER || LAN_APP_SERVER || LOCAL_APP_SERVER;
}
