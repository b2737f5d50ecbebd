/**
 * Taro: pass the `Taro` object your app imports. The SDK never imports @tarojs/taro itself (it only works inside
 * Taro's build). In a Taro mini-program build, Taro's request / uploadFile / downloadFile / login are wx's APIs
 * promisified (getFileSystemManager and the storage APIs pass straight through), so the wx adapter serves Taro
 * once three Taro behaviours are handled here:
 *
 * - Each of those calls returns a Promise that REJECTS on every failure or abort. The wx adapter works from the
 *   success / fail callbacks; a Promise nobody handles is an unhandled rejection (wx.onUnhandledRejection on a
 *   phone, a crash in Node). Every returned thenable is consumed here.
 * - `Taro.request` runs the app's interceptors (`Taro.addInterceptor`). An interceptor that returns
 *   `chain.proceed(params).then(...)` hands back a Promise WITHOUT the RequestTask's `abort` / `onHeadersReceived`.
 *   Cancelling then settles the call locally as aborted ("request:fail abort") and drops the late result.
 * - An interceptor may also fail the call before any request is made (reject, throw) or answer it without calling
 *   `chain.proceed` (its callbacks never fire); the call settles from the Promise then.
 */
import { createWxAdapter, WxAdapterOptions, WxLike } from './wx';
import type { PlatformAdapter } from './types';

type Callback = (res: any) => void;
type TaskApi = 'request' | 'uploadFile' | 'downloadFile' | 'login';

const isThenable = (v: unknown): v is PromiseLike<unknown> & Record<string, unknown> =>
  !!v && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

/** The errMsg of whatever a Taro Promise rejected with (a wx `{errMsg}`, an interceptor's Error, anything). */
function errMsgOf(api: TaskApi, err: unknown): string {
  const e = err as { errMsg?: unknown; message?: unknown } | undefined;
  if (e && typeof e.errMsg === 'string' && e.errMsg) return e.errMsg;
  const detail = e && typeof e.message === 'string' ? e.message : String(err);
  return `${api}:fail ${detail}`;
}

/** What a resolved value must look like to stand in for the wx success result when no callback fired. */
function looksLikeResult(api: TaskApi, res: unknown): boolean {
  const r = res as { statusCode?: unknown; code?: unknown } | undefined;
  if (!r || typeof r !== 'object') return false;
  return api === 'login' ? typeof r.code === 'string' : typeof r.statusCode === 'number';
}

/**
 * Wraps one promisified Taro task API so it behaves like wx's: success or fail exactly once, a task whose `abort`
 * always settles the call, and no unhandled rejection.
 */
function wxStyle(taro: Record<string, any>, api: TaskApi) {
  return (options: Record<string, any>) => {
    let done = false;
    const once =
      (fn: Callback | undefined): Callback =>
      (res) => {
        if (done) return;
        done = true;
        if (fn) fn(res);
      };
    const success = once(options.success);
    const fail = once(options.fail);
    let ret: unknown;
    try {
      ret = taro[api](Object.assign({}, options, { success, fail }));
    } catch (e) {
      fail({ errMsg: errMsgOf(api, e) });
      return undefined;
    }
    if (isThenable(ret)) {
      ret.then(
        (res) => {
          if (done) return;
          if (looksLikeResult(api, res)) success(res);
          else fail({ errMsg: `${api}:fail a Taro interceptor resolved without a ${api} result (return chain.proceed(params) or its result)` });
        },
        (err) => fail({ errMsg: errMsgOf(api, err) }),
      );
    }
    const task = (ret || {}) as Record<string, any>;
    const method = (name: string) => (typeof task[name] === 'function' ? (cb: Callback) => task[name](cb) : undefined);
    return {
      abort: () => {
        if (typeof task.abort === 'function') task.abort();
        // the host's task may be unreachable (an interceptor dropped it) or report the abort later: settle now
        fail({ errMsg: `${api}:fail abort` });
      },
      onHeadersReceived: method('onHeadersReceived'),
      onProgressUpdate: method('onProgressUpdate'),
    };
  };
}

export function createTaroAdapter(taro: unknown, options: WxAdapterOptions = {}): PlatformAdapter {
  if (!taro || typeof (taro as WxLike).request !== 'function') {
    throw new TypeError('createTaroAdapter(Taro): pass the Taro object (import Taro from "@tarojs/taro").');
  }
  const t = taro as Record<string, any>;
  // Everything else (getFileSystemManager, storage, env, onAppHide / onAppShow, getAppBaseInfo) is read from Taro.
  const host = Object.create(t) as WxLike;
  for (const api of ['request', 'uploadFile', 'downloadFile', 'login'] as const) {
    if (typeof t[api] === 'function') (host as unknown as Record<string, unknown>)[api] = wxStyle(t, api);
  }
  return createWxAdapter(host, { name: 'taro', ...options });
}
