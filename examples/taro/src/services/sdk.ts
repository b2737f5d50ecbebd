/**
 * One adapter and one AppClient for the whole app. createTaroAdapter(Taro) routes every network / file call
 * through Taro (so your Taro.addInterceptor interceptors see the SDK's requests too).
 *
 * The AppServer URL: APP_SERVER_URL at build time (`APP_SERVER_URL=https://api.example.com npm run build:weapp`;
 * default http://127.0.0.1:3000, what `npm start` serves), or a URL stored under APP_SERVER_KEY (phone preview
 * against a LAN machine, tests).
 */
import Taro from '@tarojs/taro';
import { AppClient, createTaroAdapter } from 'mp-media-sdk';

export const APP_SERVER_KEY = 'mp-media-sdk-example:appServer';

function appServerUrl(): string {
  const stored = Taro.getStorageSync(APP_SERVER_KEY);
  return typeof stored === 'string' && /^https?:\/\/\S+$/.test(stored) ? stored : APP_SERVER_URL;
}

export const adapter = createTaroAdapter(Taro);
export const appClient = new AppClient({ baseUrl: appServerUrl(), adapter });
