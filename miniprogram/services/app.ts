/**
 * The demo's single AppServer client and platform adapter. View-models receive these through their constructors,
 * so tests can pass their own.
 */
import { AppClient, createWxAdapter, PlatformAdapter } from 'mp-media-sdk';
import { APP_SERVER_OVERRIDE_KEY, appServerUrl } from '../config';

let adapter: PlatformAdapter | undefined;
let client: AppClient | undefined;

export function getAdapter(): PlatformAdapter {
  if (!adapter) adapter = createWxAdapter();
  return adapter;
}

/** The AppClient for the configured AppServer (wx.login → /api/login on first use, re-login on 401). */
export function getAppClient(): AppClient {
  const baseUrl = appServerUrl(getAdapter().storage.get(APP_SERVER_OVERRIDE_KEY));
  if (!client || client.baseUrl !== baseUrl) client = new AppClient({ baseUrl, adapter: getAdapter() });
  return client;
}

/** Point the demo at another AppServer (e.g. a LAN address for phone preview); '' restores the default. */
export function setAppServerOverride(url: string): string {
  const a = getAdapter();
  if (url) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) throw new Error('The AppServer address must start with http:// or https://');
    a.storage.set(APP_SERVER_OVERRIDE_KEY, url.replace(/\/+$/, ''));
  } else {
    a.storage.remove(APP_SERVER_OVERRIDE_KEY);
  }
  client = undefined;
  return getAppClient().baseUrl;
}

/** For tests: forget the cached adapter and client (a new wx runtime was installed). */
export function resetAppServices(): void {
  adapter = undefined;
  client = undefined;
}
