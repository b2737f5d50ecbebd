/**
 * The WeChat adapter: the only module in the SDK that touches `wx`.
 * It also serves Taro (whose API mirrors wx and accepts the same callback options) and any wx-shaped host.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import type { AbortSignalLike } from './abort';
import { Limiter } from './limiter';
import type {
  DownloadFileOptions,
  DownloadResult,
  FileStat,
  HttpResponse,
  PlatformAdapter,
  PlatformFs,
  PlatformStorage,
  RequestOptions,
  UploadFileOptions,
} from './types';

/** The host's global `wx`, declared locally so the SDK type-checks with or without WeChat's typings. */
declare const wx: unknown;

/** The parts of `wx` the SDK uses, typed structurally so Taro and test runtimes fit. */
export interface WxLike {
  request(o: any): any;
  uploadFile(o: any): any;
  downloadFile(o: any): any;
  getFileSystemManager(): any;
  getStorageSync(key: string): any;
  setStorageSync(key: string, value: any): void;
  removeStorageSync(key: string): void;
  getStorageInfoSync?(): { keys: string[] };
  login(o: any): any;
  onAppHide?(cb: () => void): void;
  offAppHide?(cb: () => void): void;
  onAppShow?(cb: (res?: unknown) => void): void;
  offAppShow?(cb: (res?: unknown) => void): void;
  getSystemInfoSync?(): { SDKVersion?: string };
  getAppBaseInfo?(): { SDKVersion?: string };
  env?: { USER_DATA_PATH?: string };
}

export interface WxAdapterOptions {
  /** Most network tasks in flight at once (WeChat allows 10 for request + uploadFile + downloadFile together). */
  maxConcurrent?: number;
  name?: string;
}

/** Maps a wx `errMsg` onto a platform error code. */
export function classifyErrMsg(errMsg: string): string {
  const m = (errMsg || '').toLowerCase();
  if (/domain list|合法域名/.test(m)) return PlatformErrorCode.DomainNotAllowed;
  if (/interrupted|suspend/.test(m)) return PlatformErrorCode.Interrupted;
  if (/abort/.test(m)) return PlatformErrorCode.Aborted;
  if (/time ?out/.test(m)) return PlatformErrorCode.Timeout;
  if (/no such file|not found|does not exist|permission denied/.test(m)) return PlatformErrorCode.FileNotFound;
  return PlatformErrorCode.Network;
}

/**
 * A wx failure the SDK did not ask for. ABORTED is reserved for our own signal (netTask checks it before calling
 * this): a "fail abort" WeChat reports on its own (task dropped by the host) is a retryable NETWORK_ERROR.
 */
function wxError(api: string, err: { errMsg?: string; errno?: number } | undefined, url?: unknown): MediaKitError {
  const errMsg = (err && err.errMsg) || `${api}:fail`;
  const code = classifyErrMsg(errMsg);
  const host = String(url).replace(/^(\w+:\/\/[^/?#]*).*$/, '$1');
  return new MediaKitError(
    code === PlatformErrorCode.Aborted ? PlatformErrorCode.Network : code,
    code === PlatformErrorCode.DomainNotAllowed
      ? `${errMsg}: add ${host} to the mini program's ${api} 合法域名 (mp.weixin.qq.com → 开发管理 → 服务器域名), or tick 不校验合法域名 in DevTools.`
      : errMsg,
    { api, errMsg, errno: err && err.errno },
  );
}

function fsError(api: string, path: string, err: { errMsg?: string; errno?: number } | undefined): MediaKitError {
  const errMsg = (err && err.errMsg) || `${api}:fail`;
  const code = /no such file|not exist|not found/i.test(errMsg) ? PlatformErrorCode.FileNotFound : PlatformErrorCode.FileSystem;
  return new MediaKitError(code, `${errMsg} (${path})`, { api, path, errMsg, errno: err && err.errno });
}

/**
 * One network budget per wx object: WeChat caps request + uploadFile + downloadFile at 10 in flight for the whole
 * mini-program, so every adapter over the same `wx` (uploader, downloader, AppClient) shares one limiter.
 */
const limiters = new WeakMap<object, Limiter>();
let globalLimiter: Limiter | undefined;
function sharedLimiter(wxLike: WxLike | undefined, max: number): Limiter {
  if (!wxLike) return (globalLimiter ||= new Limiter(max));
  let l = limiters.get(wxLike);
  if (!l) limiters.set(wxLike, (l = new Limiter(max)));
  return l;
}

function compareVersion(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Wires an AbortSignalLike to a wx task; returns a cleanup function. */
function bindAbort(signal: RequestOptions['signal'], task: { abort?: () => void } | undefined): () => void {
  if (!signal || !task || typeof task.abort !== 'function') return () => undefined;
  return signal.onAbort(() => task.abort && task.abort());
}

function abortedError(api: string): MediaKitError {
  return new MediaKitError(PlatformErrorCode.Aborted, `${api}:fail abort`, { api });
}

/**
 * Creates the adapter over a wx-shaped object. Without an argument it uses the global `wx`, looked up at call time
 * (so a test runtime may install it later).
 */
export function createWxAdapter(wxLike?: WxLike, options: WxAdapterOptions = {}): PlatformAdapter {
  const getWx = (): WxLike => {
    const w = wxLike || (typeof wx !== 'undefined' ? (wx as unknown as WxLike) : undefined);
    if (!w) throw new MediaKitError(PlatformErrorCode.Unsupported, 'No `wx` object: pass an adapter (createInjectedAdapter / createTaroAdapter).');
    return w;
  };
  const limiter = options.maxConcurrent ? new Limiter(Math.max(1, Math.min(options.maxConcurrent, 10))) : sharedLimiter(wxLike, 10);

  /**
   * One wx network task (request / uploadFile / downloadFile) under the limiter: abort wiring, errMsg mapping, and
   * `hooks` (onHeadersReceived / onProgressUpdate) attached to the task when the host has them.
   */
  const netTask = <R>(
    api: 'request' | 'uploadFile' | 'downloadFile',
    signal: AbortSignalLike | undefined,
    args: Record<string, unknown>,
    pick: (res: any) => R,
    hooks: { onHeadersReceived?: (res: any) => void; onProgressUpdate?: (res: any) => void },
  ): Promise<R> =>
    limiter.run(
      () =>
        new Promise<R>((resolve, reject) => {
          if (signal && signal.aborted) return reject(abortedError(api));
          let unbind = () => undefined as void;
          const task = getWx()[api](
            Object.assign(args, {
              success: (res: unknown) => {
                unbind();
                resolve(pick(res));
              },
              fail: (err: { errMsg?: string }) => {
                unbind();
                reject(signal && signal.aborted ? abortedError(api) : wxError(api, err, args.url));
              },
            }),
          );
          for (const k of ['onHeadersReceived', 'onProgressUpdate'] as const) if (task && hooks[k] && typeof task[k] === 'function') task[k](hooks[k]);
          unbind = bindAbort(signal, task);
        }),
    );

  const response = <T>(res: { statusCode: number; header?: Record<string, string>; data: T }): HttpResponse<T> => ({
    statusCode: res.statusCode,
    header: res.header || {},
    data: res.data,
  });

  const request = <T>(o: RequestOptions): Promise<HttpResponse<T>> =>
    netTask(
      'request',
      o.signal,
      {
        url: o.url,
        method: o.method || 'GET',
        header: o.header,
        data: o.data,
        dataType: o.dataType === 'text' ? 'text' : 'json',
        responseType: o.responseType || 'text',
        timeout: o.timeout,
      },
      response as (res: any) => HttpResponse<T>,
      { onHeadersReceived: o.onHeadersReceived },
    );

  /** WeChat's uploadFile success has only data + statusCode: the response headers come from onHeadersReceived. */
  const uploadFile = (o: UploadFileOptions): Promise<HttpResponse<string>> => {
    let header: Record<string, string> | undefined;
    return netTask(
      'uploadFile',
      o.signal,
      { url: o.url, filePath: o.filePath, name: o.name, formData: o.formData, header: o.header, timeout: o.timeout },
      (res) => response(Object.assign({ header }, res)),
      { onProgressUpdate: o.onProgress, onHeadersReceived: (h: { header?: Record<string, string> }) => (header = h && h.header) },
    );
  };

  const downloadFile = (o: DownloadFileOptions): Promise<DownloadResult> =>
    netTask(
      'downloadFile',
      o.signal,
      { url: o.url, header: o.header, filePath: o.filePath, timeout: o.timeout },
      (res: DownloadResult) => ({ statusCode: res.statusCode, tempFilePath: res.tempFilePath, filePath: res.filePath, header: res.header }),
      { onProgressUpdate: o.onProgress },
    );

  const fsCall = <T>(api: string, path: string, args: Record<string, unknown>, pick: (res: any) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fsm = getWx().getFileSystemManager();
      fsm[api](
        Object.assign({}, args, {
          success: (res: unknown) => resolve(pick(res)),
          fail: (err: { errMsg?: string }) => reject(fsError(api, path, err)),
        }),
      );
    });

  const sdkVersion = (): string | undefined => {
    const w = getWx();
    try {
      if (w.getAppBaseInfo) return w.getAppBaseInfo().SDKVersion;
      if (w.getSystemInfoSync) return w.getSystemInfoSync().SDKVersion;
    } catch (_) {
      /* fall through */
    }
    return undefined;
  };

  const fs: PlatformFs = {
    get userDataPath() {
      const w = getWx();
      return (w.env && w.env.USER_DATA_PATH) || 'wxfile://usr';
    },
    stat: (path) =>
      fsCall('stat', path, { path }, (res: { stats: { size: number; lastModifiedTime: number; isFile(): boolean } }) => {
        const s = res.stats;
        return { size: s.size, lastModifiedTime: s.lastModifiedTime, isFile: typeof s.isFile === 'function' ? s.isFile() : true } as FileStat;
      }),
    readRange: (path, position, length) => {
      const v = sdkVersion();
      if (v && compareVersion(v, '2.10.0') < 0) {
        return Promise.reject(
          new MediaKitError(PlatformErrorCode.Unsupported, `Ranged file reads need base library >= 2.10.0 (this is ${v}).`, { sdkVersion: v }),
        );
      }
      if (length === 0) return Promise.resolve(new ArrayBuffer(0));
      return fsCall('readFile', path, { filePath: path, position, length }, (res: { data: ArrayBuffer }) => res.data);
    },
    readText: (path) => fsCall('readFile', path, { filePath: path, encoding: 'utf8' }, (res: { data: string }) => res.data),
    writeFile: (path, data) =>
      fsCall('writeFile', path, typeof data === 'string' ? { filePath: path, data, encoding: 'utf8' } : { filePath: path, data }, () => undefined),
    unlink: (path) => fsCall('unlink', path, { filePath: path }, () => undefined),
    exists: (path) => fsCall('access', path, { path }, () => true).catch(() => false),
    mkdir: (path) =>
      fsCall('mkdir', path, { dirPath: path, recursive: true }, () => undefined).catch((e: MediaKitError) => {
        if (/exist/i.test(String(e.details.errMsg))) return undefined;
        throw e;
      }),
    saveFile: (tempFilePath, filePath) =>
      fsCall('saveFile', tempFilePath, { tempFilePath, filePath }, (res: { savedFilePath: string }) => res.savedFilePath),
    appendFile: (path, data) => fsCall('appendFile', path, { filePath: path, data }, () => undefined),
    truncate: (path, length) => fsCall('truncate', path, { filePath: path, length }, () => undefined),
    rename: (oldPath, newPath) => fsCall('rename', oldPath, { oldPath, newPath }, () => undefined),
    writeAt: async (path, position, data) => {
      const fd = await fsCall('open', path, { filePath: path, flag: 'r+' }, (res: { fd: string }) => res.fd);
      try {
        await fsCall('write', path, { fd, data, position }, () => undefined);
      } finally {
        await fsCall('close', path, { fd }, () => undefined).catch(() => undefined);
      }
    },
    readdir: (path) => fsCall('readdir', path, { dirPath: path }, (res: { files: string[] }) => res.files),
    rmdir: (path, recursive) => fsCall('rmdir', path, { dirPath: path, recursive: !!recursive }, () => undefined),
    usage: (path) =>
      fsCall('stat', path, { path, recursive: true }, (res: { stats: unknown }) => {
        // WeChat has documented two shapes: {relPath: Stats} (older) and [{path, stats}] (current)
        const st = res.stats as any;
        const list: any[] = Array.isArray(st) ? st.map((x: any) => x && x.stats) : st && typeof st.isFile === 'function' ? [st] : Object.keys(st || {}).map((k) => st[k]);
        let n = 0;
        for (const x of list) if (x && (typeof x.isFile !== 'function' || x.isFile())) n += Number(x.size) || 0;
        return n;
      }),
  };

  const storage: PlatformStorage = {
    get: <T>(key: string) => {
      const v = getWx().getStorageSync(key);
      return (v === '' || v === undefined || v === null ? undefined : v) as T | undefined;
    },
    set: (key, value) => {
      try {
        getWx().setStorageSync(key, value);
      } catch (e) {
        const errMsg = (e as { errMsg?: string; message?: string }).errMsg || (e as Error).message || String(e);
        throw new MediaKitError(PlatformErrorCode.StorageQuota, `wx storage refused key "${key}": ${errMsg}`, { key, errMsg });
      }
    },
    remove: (key) => getWx().removeStorageSync(key),
    keys: () => {
      const w = getWx();
      return w.getStorageInfoSync ? w.getStorageInfoSync().keys : [];
    },
  };

  const lifecycle = (on: 'onAppHide' | 'onAppShow', off: 'offAppHide' | 'offAppShow') => (listener: () => void) => {
    const w = getWx();
    const fn = () => listener();
    if (typeof w[on] === 'function') (w[on] as (cb: () => void) => void)(fn);
    return () => {
      if (typeof w[off] === 'function') (w[off] as (cb: () => void) => void)(fn);
    };
  };

  return {
    name: options.name || 'wx',
    request,
    uploadFile,
    downloadFile,
    fs,
    storage,
    login: () =>
      new Promise((resolve, reject) => {
        getWx().login({
          success: (res: { code: string }) => resolve({ code: res.code }),
          fail: (err: { errMsg?: string }) => reject(wxError('login', err)),
        });
      }),
    onAppHide: lifecycle('onAppHide', 'offAppHide'),
    onAppShow: lifecycle('onAppShow', 'offAppShow'),
    sdkVersion,
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    warn: (message, ...args) => console.warn(`[mp-media-sdk] ${message}`, ...args),
    saveVideoToPhotosAlbum: (filePath) =>
      new Promise<void>((resolve, reject) => {
        const w = getWx() as WxLike & { saveVideoToPhotosAlbum?: (o: any) => void };
        if (typeof w.saveVideoToPhotosAlbum !== 'function') return reject(new MediaKitError(PlatformErrorCode.Unsupported, 'wx.saveVideoToPhotosAlbum is not available.'));
        w.saveVideoToPhotosAlbum({ filePath, success: () => resolve(), fail: (err: { errMsg?: string; errno?: number }) => reject(fsError('saveVideoToPhotosAlbum', filePath, err)) });
      }),
  };
}
