import { MediaKitError, PlatformErrorCode } from '../errors';
import type { PlatformAdapter } from './types';
import { createWxAdapter } from './wx';

/** The host's global `wx`, declared locally so the SDK type-checks with or without WeChat's typings. */
declare const wx: unknown;

export * from './types';
export * from './abort';
export { Limiter } from './limiter';
export { createWxAdapter, classifyErrMsg } from './wx';
export type { WxLike, WxAdapterOptions } from './wx';
export { createTaroAdapter } from './taro';

let defaultAdapter: PlatformAdapter | undefined;

/** Use your own adapter everywhere the SDK would default to wx (Taro, another host, tests). */
export function setDefaultAdapter(adapter: PlatformAdapter | undefined): void {
  defaultAdapter = adapter;
}

/** The adapter set by setDefaultAdapter, else one over the global `wx`. */
export function getDefaultAdapter(): PlatformAdapter {
  if (defaultAdapter) return defaultAdapter;
  if (typeof wx === 'undefined') {
    throw new MediaKitError(PlatformErrorCode.Unsupported, 'No global `wx`: call setDefaultAdapter() or pass `adapter` in the options.');
  }
  defaultAdapter = createWxAdapter();
  return defaultAdapter;
}

/**
 * Build an adapter from your own functions; anything you leave out falls back to the wx adapter's version
 * (when `wx` exists) or throws UNSUPPORTED_PLATFORM when called.
 */
export function createInjectedAdapter(parts: Partial<PlatformAdapter> & { name?: string }): PlatformAdapter {
  const base: PlatformAdapter | undefined = typeof wx !== 'undefined' ? createWxAdapter() : undefined;
  const missing = (what: string) => () => {
    throw new MediaKitError(PlatformErrorCode.Unsupported, `The injected adapter has no ${what}.`);
  };
  const pick = <K extends keyof PlatformAdapter>(k: K): PlatformAdapter[K] =>
    (parts[k] !== undefined ? parts[k] : base ? base[k] : (missing(String(k)) as unknown)) as PlatformAdapter[K];
  return {
    name: parts.name || 'injected',
    request: pick('request'),
    uploadFile: pick('uploadFile'),
    downloadFile: pick('downloadFile'),
    fs: pick('fs'),
    storage: pick('storage'),
    login: pick('login'),
    onAppHide: parts.onAppHide || (base ? base.onAppHide : () => () => undefined),
    onAppShow: parts.onAppShow || (base ? base.onAppShow : () => () => undefined),
    sdkVersion: parts.sdkVersion || (base ? base.sdkVersion : () => undefined),
    now: parts.now || (() => Date.now()),
    setTimeout: parts.setTimeout || ((fn, ms) => setTimeout(fn, ms)),
    clearTimeout: parts.clearTimeout || ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
    warn: parts.warn || ((m, ...a) => console.warn(`[mp-media-sdk] ${m}`, ...a)),
  };
}
