/**
 * One adapter and one AppClient for the whole app. createTaroAdapter(Taro) routes every network / file call
 * through Taro (so your Taro.addInterceptor interceptors see the SDK's requests too).
 */
import Taro from '@tarojs/taro';
import { AppClient, createTaroAdapter } from 'mp-media-sdk';

export const adapter = createTaroAdapter(Taro);
export const appClient = new AppClient({ baseUrl: APP_SERVER_URL, adapter });
