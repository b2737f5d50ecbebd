/**
 * The Node wx runtime: a Node implementation of the `wx` APIs the SDK and the demo use, doing real I/O, so tests run
 * our real wx adapter (`createWxAdapter(runtime.wx)`) over real loopback sockets and a real sandbox folder.
 *
 *   const rt = createWxRuntime({ wechatUrl: stack.cloud.wechat, hostMap: { '*.aliyuncs.com': stack.cloud.oss } });
 *   const adapter = createWxAdapter(rt.wx);
 *   rt.faults.add({ match: { api: 'uploadFile' }, action: { type: 'reset' } });
 *   …
 *   await rt.close();
 *
 * It behaves like WeChat, sharp edges included: `success` for any HTTP status, "<api>:fail …" errMsg texts,
 * 10 network tasks at most (the rest queue), "fail interrupted" 5 s after the app hides and at once while hidden,
 * default content-type application/json, storage limits (1 MB per key, 10 MB total), only user files writable,
 * `readFile` ranges that fail when out of range. See docs/wx-runtime.md.
 *
 * Parts: net.ts (request/uploadFile/downloadFile, queue, faults, host mapping), fault-proxy.ts (real TCP resets),
 * sandbox.ts (paths + FileSystemManager), storage.ts (storage + persistence), util.ts.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { URL } from 'node:url';
import { Net, FaultRegistry, validateHostMap } from './net';
import type { FaultAction, FaultRule, NetApi, RequestLogEntry } from './net';
import { Sandbox, createFileSystemManager } from './sandbox';
import { WxStorage } from './storage';
import { Callbacks, bytesOf, deliver, promisify, safeCall, toArrayBuffer } from './util';

export type { FaultAction, FaultRule, NetApi, RequestLogEntry } from './net';
export { createGate } from './gate';
export type { Gate } from './gate';

export interface WxRuntimeOptions {
  /** The sandbox folder (temp files, user files, storage.json). Default: a new temp folder, removed by close(). */
  sandboxDir?: string;
  /** e.g. { '*.aliyuncs.com': 'http://127.0.0.1:PORT', 'api.weixin.qq.com': … }; the original Host header is kept. */
  hostMap?: Record<string, string>;
  /** The local cloud's WeChat emulator; wx.login POSTs {openid} to `${wechatUrl}/wx/dev/code`. */
  wechatUrl?: string;
  /** The user wx.login logs in as (default: a stable openid derived from the sandbox folder). */
  openid?: string;
  /** Network tasks in flight at once (default 10, as WeChat). */
  maxConcurrent?: number;
  /** Base library version reported by getAppBaseInfo / getSystemInfoSync (default '3.4.0'). */
  sdkVersion?: string;
  /** How long after app.hide() in-flight network tasks fail "interrupted" (default 5000, as WeChat). */
  backgroundInterruptMs?: number;
  /** Added: the mini-program's appid (Referer header, getAccountInfoSync). */
  appId?: string;
  /** Added: 'devtools' (default: http://tmp/…, http://usr) or a phone ('ios' | 'android': wxfile://tmp_…, wxfile://usr). */
  platform?: 'devtools' | 'ios' | 'android';
  /** Added: app.json networkTimeout (ms; WeChat's default and maximum is 60000). */
  networkTimeout?: Partial<Record<NetApi, number>>;
  /** Added: delete temp files left by a previous runtime on the same sandbox (WeChat keeps them only per run). */
  clearTempOnStart?: boolean;
  /** Added: bytes of user files + saved files allowed (WeChat: 200 MB); writes beyond fail with errno 1300202. */
  userDataQuota?: number;
}

export interface MediaFile {
  tempFilePath: string;
  size?: number;
  fileType: 'video' | 'image';
  duration?: number;
  width?: number;
  height?: number;
  thumbTempFilePath?: string;
}

export interface WxRuntime {
  /** The wx-shaped object (pass it to createWxAdapter, or install() it as the global `wx`). */
  wx: any;
  /** globalThis.wx = runtime.wx (undone by close). */
  install(): void;
  faults: { add(rule: FaultRule): () => void; clear(): void };
  /** Every network task, in call order. */
  requests: RequestLogEntry[];
  files: {
    /** Writes a temp file and returns its wx path ('http://tmp/<name>'). */
    writeTemp(name: string, data: Buffer | string | ArrayBuffer | ArrayBufferView): string;
    /** Added: a temp file of `size` deterministic pseudo-random bytes, written without buffering it whole. */
    writeTempSized(name: string, size: number, seed?: number): string;
    /** The real path of a wx path (throws for paths outside the sandbox). */
    realPath(wxPath: string): string;
    /** Added: the sandbox folders. */
    readonly sandboxDir: string;
    readonly tempDir: string;
    readonly userDir: string;
  };
  /** pending: batches queued; clear(): drop them (a test that failed before picking must not feed the next one); album: real paths saved to the album. */
  media: { enqueue(files: MediaFile[]): void; readonly pending: number; clear(): void; readonly album: string[] };
  app: { hide(): void; show(options?: Record<string, unknown>): void; readonly hidden: boolean };
  setOpenid(openid: string): void;
  /** Added: the openid wx.login currently logs in as. */
  readonly openid: string;
  /** Added: network tasks in flight / queued right now. */
  inflight(): { active: number; queued: number };
  /**
   * Added: the mini-program's own JS timers (what `setTimeout` is inside the app). Give them to the SDK's adapter
   * (`{ ...createWxAdapter(rt.wx), ...rt.timers }`) so its retry timers die with the app at kill() / close().
   */
  timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void; readonly pending: number };
  /**
   * Added: true when nothing can happen in the app until something from outside (app.show(), a test's call): no network
   * task or wx.login in flight or queued, no `timers` timer pending, no callback delivery scheduled. Lets a test assert "it stays
   * stopped" as a fact instead of watching a quiet period (an app that uses only `timers` for its timers).
   */
  idle(): boolean;
  /** Added: true after kill(). */
  readonly killed: boolean;
  /**
   * Added: the app is killed (swiped away, crashed) — unlike close(), nothing reaches the app any more: no
   * success / fail / complete / progress / header callbacks for in-flight or later tasks, no pending deliveries,
   * no runtime or `timers` timers, no onAppHide / onAppShow; storage and file writes made after the kill are not
   * persisted; every socket is destroyed. The sandbox folder stays (a new runtime on it is the restarted app);
   * call close() afterwards to uninstall / remove an own sandbox.
   */
  kill(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_SDK_VERSION = '3.4.0';

export function createWxRuntime(opts: WxRuntimeOptions = {}): WxRuntime {
  validateHostMap(opts.hostMap || {});
  const ownSandbox = !opts.sandboxDir;
  const sandboxDir = opts.sandboxDir ? path.resolve(opts.sandboxDir) : nodeFs.mkdtempSync(path.join(os.tmpdir(), 'wx-runtime-'));
  nodeFs.mkdirSync(sandboxDir, { recursive: true });
  const platform = opts.platform || 'devtools';
  const sandbox = new Sandbox(sandboxDir, platform === 'devtools' ? 'devtools' : 'device');
  if (opts.clearTempOnStart) {
    for (const n of nodeFs.readdirSync(sandbox.tmpDir)) nodeFs.rmSync(path.join(sandbox.tmpDir, n), { recursive: true, force: true });
  }
  const sdkVersion = opts.sdkVersion || DEFAULT_SDK_VERSION;
  const appId = opts.appId || 'wxlocaldev00000000';
  let killed = false;
  // every delivery to the app goes through here, so a kill drops the ones already queued too
  let pendingDeliveries = 0;
  const schedule = (fn: () => void) => {
    pendingDeliveries++;
    setTimeout(() => {
      pendingDeliveries--;
      if (!killed) fn();
    }, 0);
  };
  const appTimers = new Set<ReturnType<typeof setTimeout>>();
  const timers = {
    setTimeout(fn: () => void, ms: number): unknown {
      if (killed || closed) return undefined;
      const h = setTimeout(() => {
        appTimers.delete(h);
        if (!killed && !closed) fn();
      }, ms);
      appTimers.add(h);
      return h;
    },
    clearTimeout(handle: unknown): void {
      if (handle === undefined) return;
      clearTimeout(handle as ReturnType<typeof setTimeout>);
      appTimers.delete(handle as ReturnType<typeof setTimeout>);
    },
    get pending(): number {
      return appTimers.size;
    },
  };
  const timeoutOf = (api: NetApi) => Math.min((opts.networkTimeout && opts.networkTimeout[api]) || 60000, 60000);

  const net = new Net({
    sandbox,
    hostMap: opts.hostMap || {},
    maxConcurrent: opts.maxConcurrent && opts.maxConcurrent > 0 ? opts.maxConcurrent : 10,
    backgroundInterruptMs: opts.backgroundInterruptMs === undefined ? 5000 : opts.backgroundInterruptMs,
    timeouts: { request: timeoutOf('request'), uploadFile: timeoutOf('uploadFile'), downloadFile: timeoutOf('downloadFile') },
    referer: `https://servicewechat.com/${appId}/devtools/page-frame.html`,
    userAgent: `Mozilla/5.0 (${platform === 'android' ? 'Linux; Android 14' : 'iPhone; CPU iPhone OS 17_0 like Mac OS X'}) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN miniProgram/${appId}`,
    schedule,
  });
  const storage = new WxStorage(sandboxDir);
  const fsm = createFileSystemManager(sandbox, schedule, () => !killed, opts.userDataQuota);
  /** Videos saved with wx.saveVideoToPhotosAlbum (the phone's album), in order. */
  const album: string[] = [];
  const saveVideoToPhotosAlbum = (o: Callbacks & { filePath?: string }) => {
    if (killed) return;
    const fail = (d: string) => deliver(o, false, { errMsg: `saveVideoToPhotosAlbum:fail ${d}` }, schedule);
    let real: string;
    try {
      real = sandbox.resolve(o.filePath, 'open').real;
    } catch (e) {
      return fail((e as Error).message);
    }
    let head: Buffer;
    try {
      const fd = nodeFs.openSync(real, 'r');
      head = Buffer.alloc(12);
      nodeFs.readSync(fd, head, 0, 12, 0);
      nodeFs.closeSync(fd);
    } catch {
      return fail(`file not found, ${o.filePath}`);
    }
    // WeChat: "支持mp4视频格式" — other files fail "invalid file type" (checked by extension and by the ftyp box)
    if (!/\.mp4$/i.test(String(o.filePath)) || head.toString('latin1', 4, 8) !== 'ftyp') return fail('invalid file type');
    const dir = path.join(sandboxDir, 'album');
    nodeFs.mkdirSync(dir, { recursive: true });
    const dest = path.join(dir, `${album.length}-${path.basename(real)}`);
    nodeFs.copyFileSync(real, dest);
    album.push(dest);
    deliver(o, true, { errMsg: 'saveVideoToPhotosAlbum:ok' }, schedule);
  };

  let openid = opts.openid || `o${createHash('sha256').update(sandboxDir).digest('base64url').slice(0, 27)}`;
  let closed = false;
  let hidden = false;
  const hideListeners = new Set<(res?: unknown) => void>();
  const showListeners = new Set<(res?: unknown) => void>();
  const mediaQueue: MediaFile[][] = [];
  const loginRequests = new Set<http.ClientRequest>();
  let installed: { had: boolean; value: unknown } | undefined;

  // ------------------------------------------------------------------ wx.login

  const login = (o: Callbacks & { timeout?: number }) => {
    if (killed) return;
    const fail = (reason: string) => deliver(o, false, { errMsg: `login:fail ${reason}` }, schedule);
    if (!opts.wechatUrl) return fail('no WeChat service: createWxRuntime({ wechatUrl }) is not set');
    let u: URL;
    try {
      u = new URL(`${opts.wechatUrl.replace(/\/+$/, '')}/wx/dev/code`);
    } catch {
      return fail(`invalid wechatUrl "${opts.wechatUrl}"`);
    }
    const body = Buffer.from(JSON.stringify({ openid, appid: appId }));
    const req = http.request({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || 80,
      path: u.pathname,
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      timeout: o.timeout || 10000,
    });
    loginRequests.add(req);
    req.on('close', () => loginRequests.delete(req));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: Error) => fail(closed ? 'abort' : e.message));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e: Error) => fail(e.message));
      res.on('end', () => {
        let data: { code?: string; errcode?: number; errmsg?: string } = {};
        try {
          data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          /* handled below */
        }
        if (res.statusCode === 200 && data.code) deliver(o, true, { code: data.code, errMsg: 'login:ok' }, schedule);
        else fail(`${res.statusCode} ${data.errmsg || data.errcode || 'no code'}`);
      });
    });
    req.end(body);
  };

  // ------------------------------------------------------------------ media

  const takeBatch = (api: string, o: Callbacks & { count?: number }): MediaFile[] | undefined => {
    const batch = mediaQueue.shift();
    if (!batch || !batch.length) {
      deliver(o, false, { errMsg: `${api}:fail cancel` }, schedule);
      return undefined;
    }
    return batch.slice(0, o.count && o.count > 0 ? o.count : batch.length);
  };
  const sizeOf = (f: MediaFile): number => {
    if (typeof f.size === 'number') return f.size;
    try {
      return nodeFs.statSync(sandbox.resolve(f.tempFilePath).real).size;
    } catch {
      return 0;
    }
  };
  const mediaEntry = (f: MediaFile) => ({
    tempFilePath: f.tempFilePath,
    size: sizeOf(f),
    duration: f.fileType === 'video' ? f.duration ?? 10 : undefined,
    height: f.height ?? (f.fileType === 'video' ? 720 : 1080),
    width: f.width ?? (f.fileType === 'video' ? 1280 : 1080),
    thumbTempFilePath: f.thumbTempFilePath ?? '',
    fileType: f.fileType,
  });
  const chooseMedia = (o: Callbacks & { count?: number }) => {
    const batch = takeBatch('chooseMedia', o);
    if (!batch) return;
    const types = new Set(batch.map((f) => f.fileType));
    const type = types.size > 1 ? 'mix' : batch[0].fileType;
    deliver(o, true, { tempFiles: batch.map(mediaEntry), type, errMsg: 'chooseMedia:ok' }, schedule);
  };
  const chooseVideo = (o: Callbacks) => {
    const batch = takeBatch('chooseVideo', o);
    if (!batch) return;
    const v = mediaEntry(batch.find((f) => f.fileType === 'video') || batch[0]);
    deliver(
      o,
      true,
      { tempFilePath: v.tempFilePath, duration: v.duration ?? 0, size: v.size, height: v.height, width: v.width, thumbTempFilePath: v.thumbTempFilePath, errMsg: 'chooseVideo:ok' },
      schedule,
    );
  };
  const chooseImage = (o: Callbacks & { count?: number }) => {
    const batch = takeBatch('chooseImage', o);
    if (!batch) return;
    const files = batch.map(mediaEntry);
    deliver(o, true, { tempFilePaths: files.map((f) => f.tempFilePath), tempFiles: files.map((f) => ({ path: f.tempFilePath, size: f.size })), errMsg: 'chooseImage:ok' }, schedule);
  };

  // ------------------------------------------------------------------ system info

  const windowInfo = {
    pixelRatio: 3,
    screenWidth: 390,
    screenHeight: 844,
    windowWidth: 390,
    windowHeight: 844,
    statusBarHeight: 47,
    safeArea: { left: 0, right: 390, top: 47, bottom: 810, width: 390, height: 763 },
    screenTop: 0,
  };
  const deviceInfo = {
    brand: platform === 'devtools' ? 'devtools' : platform === 'ios' ? 'iPhone' : 'Xiaomi',
    model: platform === 'android' ? 'Xiaomi 14' : 'iPhone 13',
    system: platform === 'android' ? 'Android 14' : 'iOS 17.0',
    platform,
    benchmarkLevel: 1,
  };
  const appBaseInfo = { SDKVersion: sdkVersion, enableDebug: false, host: { env: 'WeChat' }, language: 'zh_CN', version: '8.0.50', theme: 'light', fontSizeSetting: 16 };
  const enterOptions = { path: 'pages/upload/index', query: {}, scene: 1001, referrerInfo: {} };

  const simple = (api: string, result: () => Record<string, unknown>) =>
    promisify((o: Callbacks) => deliver(o, true, { ...result(), errMsg: `${api}:ok` }, schedule));

  const storageApi = storage.api(schedule);

  const wx: Record<string, unknown> = {
    env: { USER_DATA_PATH: sandbox.userDataPath },
    // network
    request: (o: any) => net.request(o),
    uploadFile: (o: any) => net.uploadFile(o),
    downloadFile: (o: any) => net.downloadFile(o),
    getNetworkType: simple('getNetworkType', () => ({ networkType: 'wifi', signalStrength: 0, hasSystemProxy: false })),
    onNetworkStatusChange: () => undefined,
    offNetworkStatusChange: () => undefined,
    // files
    getFileSystemManager: () => fsm,
    getFileInfo: (o: any) => (fsm.getFileInfo as (o: any) => void)(o),
    saveFile: (o: any) => (fsm.saveFile as (o: any) => void)(o),
    // storage
    ...storageApi,
    setStorage: promisify(storageApi.setStorage),
    getStorage: promisify(storageApi.getStorage),
    removeStorage: promisify(storageApi.removeStorage),
    clearStorage: promisify(storageApi.clearStorage),
    getStorageInfo: promisify(storageApi.getStorageInfo),
    // login
    login: promisify(login),
    checkSession: simple('checkSession', () => ({})),
    getAccountInfoSync: () => ({ miniProgram: { appId, envVersion: 'develop', version: '' }, plugin: {} }),
    // media
    saveVideoToPhotosAlbum: promisify(saveVideoToPhotosAlbum),
    chooseMedia: promisify(chooseMedia),
    chooseVideo: promisify(chooseVideo),
    chooseImage: promisify(chooseImage),
    // system
    getSystemInfoSync: () => ({ ...deviceInfo, ...windowInfo, ...appBaseInfo }),
    getSystemInfo: simple('getSystemInfo', () => ({ ...deviceInfo, ...windowInfo, ...appBaseInfo })),
    getAppBaseInfo: () => ({ ...appBaseInfo }),
    getWindowInfo: () => ({ ...windowInfo, safeArea: { ...windowInfo.safeArea } }),
    getDeviceInfo: () => ({ ...deviceInfo }),
    getLaunchOptionsSync: () => ({ ...enterOptions }),
    getEnterOptionsSync: () => ({ ...enterOptions }),
    canIUse: () => true,
    arrayBufferToBase64: (ab: ArrayBuffer) => bytesOf(ab).toString('base64'),
    base64ToArrayBuffer: (s: string) => toArrayBuffer(Buffer.from(s, 'base64')),
    onMemoryWarning: () => undefined,
    offMemoryWarning: () => undefined,
    // lifecycle
    onAppHide: (fn: (res?: unknown) => void) => void (typeof fn === 'function' && hideListeners.add(fn)),
    offAppHide: (fn?: (res?: unknown) => void) => (fn ? void hideListeners.delete(fn) : hideListeners.clear()),
    onAppShow: (fn: (res?: unknown) => void) => void (typeof fn === 'function' && showListeners.add(fn)),
    offAppShow: (fn?: (res?: unknown) => void) => (fn ? void showListeners.delete(fn) : showListeners.clear()),
  };

  const runtime: WxRuntime = {
    wx,
    install() {
      const g = globalThis as unknown as Record<string, unknown>;
      if (!installed) installed = { had: 'wx' in g, value: g.wx };
      g.wx = wx;
    },
    faults: {
      add: (rule: FaultRule) => net.faults.add(rule),
      clear: () => net.faults.clear(),
    },
    requests: net.log,
    files: {
      writeTemp: (name, data) => sandbox.writeTemp(name, data),
      writeTempSized: (name, size, seed) => sandbox.writeTempSized(name, size, seed),
      realPath: (wxPath) => {
        try {
          return sandbox.resolve(wxPath).real;
        } catch (e) {
          throw new Error(`realPath(${wxPath}): ${(e as Error).message}`);
        }
      },
      sandboxDir,
      tempDir: sandbox.tmpDir,
      userDir: sandbox.usrDir,
    },
    media: {
      enqueue(files) {
        for (const f of files) {
          if (!f || typeof f.tempFilePath !== 'string' || (f.fileType !== 'video' && f.fileType !== 'image')) {
            throw new Error(`media.enqueue: each file needs tempFilePath and fileType 'video' | 'image', got ${JSON.stringify(f)}`);
          }
        }
        mediaQueue.push(files.slice());
      },
      get pending() {
        return mediaQueue.length;
      },
      clear() {
        mediaQueue.length = 0;
      },
      album,
    },
    app: {
      hide() {
        if (hidden || killed) return;
        hidden = true;
        net.setHidden(true);
        for (const fn of [...hideListeners]) safeCall(fn, undefined);
      },
      show(options) {
        if (!hidden || killed) return;
        hidden = false;
        net.setHidden(false);
        const res = { ...enterOptions, ...(options || {}) };
        for (const fn of [...showListeners]) safeCall(fn, res);
      },
      get hidden() {
        return hidden;
      },
    },
    setOpenid(id: string) {
      openid = id;
    },
    get openid() {
      return openid;
    },
    inflight: () => net.stats(),
    timers,
    idle() {
      const n = net.stats();
      // a wx.login in flight (its request to the WeChat emulator) is work pending too
      return n.active === 0 && n.queued === 0 && appTimers.size === 0 && pendingDeliveries === 0 && loginRequests.size === 0;
    },
    get killed() {
      return killed;
    },
    async kill() {
      if (killed || closed) return;
      killed = true;
      storage.freeze();
      hideListeners.clear();
      showListeners.clear();
      for (const h of appTimers) clearTimeout(h);
      appTimers.clear();
      for (const r of loginRequests) r.destroy();
      await net.kill();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const h of appTimers) clearTimeout(h);
      appTimers.clear();
      for (const r of loginRequests) r.destroy();
      await net.close();
      hideListeners.clear();
      showListeners.clear();
      mediaQueue.length = 0;
      if (installed) {
        const g = globalThis as unknown as Record<string, unknown>;
        if (installed.had) g.wx = installed.value;
        else delete g.wx;
        installed = undefined;
      }
      if (ownSandbox) nodeFs.rmSync(sandboxDir, { recursive: true, force: true });
    },
  };
  return runtime;
}

// Re-exported for tests that want to build rules separately.
export { FaultRegistry };
