/**
 * Taro: pass the `Taro` object your app imports. The SDK never imports @tarojs/taro itself (it only works inside
 * Taro's build), and Taro's request/uploadFile/downloadFile/getFileSystemManager accept wx's callback options.
 */
import { createWxAdapter, WxAdapterOptions, WxLike } from './wx';
import type { PlatformAdapter } from './types';

export function createTaroAdapter(taro: unknown, options: WxAdapterOptions = {}): PlatformAdapter {
  if (!taro || typeof (taro as WxLike).request !== 'function') {
    throw new TypeError('createTaroAdapter(Taro): pass the Taro object (import Taro from "@tarojs/taro").');
  }
  return createWxAdapter(taro as WxLike, { name: 'taro', ...options });
}
