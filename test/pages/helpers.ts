/**
 * Page-test kit: a live dev stack, the Node wx runtime installed as the global `wx` (so the demo's own services and
 * the SDK's wx adapter run over real loopback HTTP), and pages rendered by miniprogram-simulate.
 *
 *   const env = await startPageEnv();
 *   const page = await renderPage('pages/player/index', { vid: 'x' });
 *   await page.tap('.retry'); await page.until(() => page.data().state === 'ready');
 *   await env.close();
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStackProcess, StackProcess } from '../harness/stack-process';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { AppClient } from 'mp-media-sdk';
import { APP_SERVER_OVERRIDE_KEY } from '../../miniprogram/config';
import { resetAppServices, getAppClient } from '../../miniprogram/services/app';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const simulate = require('miniprogram-simulate');

export const MINIPROGRAM_ROOT = path.resolve(__dirname, '../../miniprogram');

/** What the UI APIs (toast, modal, navigation) were asked to do; modal answers are scripted. */
export interface UiLog {
  toasts: Array<{ title: string; icon?: string }>;
  modals: Array<{ title?: string; content?: string }>;
  navigations: Array<{ api: string; url?: string; delta?: number }>;
  /** What the next showModal answers (default: confirm). */
  modalAnswer: 'confirm' | 'cancel';
  pullDownStopped: number;
}

/** The dev stack of a page test runs in a child process: jsdom (where pages run) is no place for the servers. */
export type PageStack = StackProcess;

export interface PageEnv {
  stack: PageStack;
  /** The running app's wx runtime (a new one after relaunch()). */
  runtime: WxRuntime;
  appClient: AppClient;
  ui: UiLog;
  /**
   * The app is killed (runtime.kill(): nothing reaches it any more, storage writes after the kill are lost) and
   * started again: a new runtime on the same sandbox (storage, user files), installed as `wx`, logged in again.
   * Unload the old page first (without it its view-model lives on in the test process).
   */
  relaunch(): Promise<void>;
  close(): Promise<void>;
}

let current: PageEnv | undefined;

export async function startPageEnv(opts: { openid?: string; stackEnv?: Record<string, string> } = {}): Promise<PageEnv> {
  const stack = await startStackProcess({ env: opts.stackEnv });
  // the env's own sandbox (not the runtime's): it outlives a killed runtime, so relaunch() finds the same storage
  const sandboxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-env-'));
  const openid = opts.openid || `opage${Math.random().toString(36).slice(2, 12)}`;
  const newRuntime = () => createWxRuntime({ wechatUrl: stack.cloud.wechat, openid, backgroundInterruptMs: 200, sandboxDir });
  let runtime = newRuntime();
  const stub = (globalThis as unknown as { wx?: Record<string, unknown> }).wx || {};
  runtime.install();
  const ui: UiLog = { toasts: [], modals: [], navigations: [], modalAnswer: 'confirm', pullDownStopped: 0 };
  type Cb = { success?: (r: unknown) => void; complete?: (r: unknown) => void };
  const call = (o: Cb, res: unknown) => {
    if (o && o.success) o.success(res);
    if (o && o.complete) o.complete(res);
  };
  const uiApis: Record<string, unknown> = {
    showToast: (o: Cb & { title: string; icon?: string }) => {
      ui.toasts.push({ title: o.title, icon: o.icon });
      call(o, { errMsg: 'showToast:ok' });
    },
    hideToast: () => undefined,
    showLoading: (o: object) => call(o, { errMsg: 'showLoading:ok' }),
    hideLoading: () => undefined,
    showModal: (o: Cb & { title?: string; content?: string }) => {
      ui.modals.push({ title: o.title, content: o.content });
      call(o, { confirm: ui.modalAnswer === 'confirm', cancel: ui.modalAnswer === 'cancel', errMsg: 'showModal:ok' });
    },
    navigateTo: (o: Cb & { url: string }) => {
      ui.navigations.push({ api: 'navigateTo', url: o.url });
      call(o, { errMsg: 'navigateTo:ok' });
    },
    redirectTo: (o: Cb & { url: string }) => {
      ui.navigations.push({ api: 'redirectTo', url: o.url });
      call(o, { errMsg: 'redirectTo:ok' });
    },
    navigateBack: (o: Cb & { delta?: number } = {}) => {
      ui.navigations.push({ api: 'navigateBack', delta: o.delta });
      call(o, { errMsg: 'navigateBack:ok' });
    },
    switchTab: (o: Cb & { url: string }) => {
      ui.navigations.push({ api: 'switchTab', url: o.url });
      call(o, { errMsg: 'switchTab:ok' });
    },
    stopPullDownRefresh: () => {
      ui.pullDownStopped++;
    },
    setNavigationBarTitle: (o: object) => call(o, { errMsg: 'setNavigationBarTitle:ok' }),
    setClipboardData: (o: object) => call(o, { errMsg: 'setClipboardData:ok' }),
    vibrateShort: () => undefined,
  };
  const install = async (rt: WxRuntime): Promise<AppClient> => {
    const real = rt.wx as Record<string, unknown>;
    // The runtime's real APIs first, then our scripted UI APIs, then simulate's stub for anything else
    // (createSelectorQuery, nextTick …).
    (globalThis as unknown as { wx: unknown }).wx = new Proxy(real, {
      get(target, key: string) {
        if (key in target) return target[key];
        if (key in uiApis) return uiApis[key];
        return (stub as Record<string, unknown>)[key];
      },
      has(target, key: string) {
        return key in target || key in uiApis || key in stub;
      },
    });
    real.setStorageSync && (real.setStorageSync as (k: string, v: unknown) => void)(APP_SERVER_OVERRIDE_KEY, stack.appServerUrl);
    resetAppServices();
    const client = getAppClient();
    await client.login();
    return client;
  };
  const appClient = await install(runtime);
  const env: PageEnv = {
    stack,
    runtime,
    appClient,
    ui,
    async relaunch() {
      await runtime.kill();
      await runtime.close();
      runtime = newRuntime();
      runtime.install();
      env.runtime = runtime;
      env.appClient = await install(runtime);
    },
    async close() {
      resetAppServices();
      await runtime.close();
      await stack.close();
      fs.rmSync(sandboxDir, { recursive: true, force: true });
      if (current === env) current = undefined;
    },
  };
  current = env;
  return env;
}

/**
 * usingComponents entries that name an npm package ("tdesign-miniprogram/button/button") resolve, as on the phone,
 * to the 构建 npm output in miniprogram/miniprogram_npm; miniprogram-simulate only knows relative and absolute paths.
 */
function npmComponents(pageFile: string): Record<string, string> {
  const json = JSON.parse(fs.readFileSync(`${pageFile}.json`, 'utf8')) as { usingComponents?: Record<string, string> };
  const out: Record<string, string> = {};
  for (const [tag, value] of Object.entries(json.usingComponents || {})) {
    if (!value.startsWith('.') && !value.startsWith('/')) out[tag] = `/miniprogram_npm/${value}`;
  }
  return out;
}

/** Root elements of tdesign-miniprogram components, where a tap lands. */
const COMPONENT_ROOTS = ['.t-button', '.t-cell', '.t-checkbox', '.t-switch__body', '.t-tag', '.t-radio', '.t-link', '.t-input__control'];

export interface RenderedPage {
  /** The registered page definition; pass it as `sameModuleAs` to open a second instance of the same page module. */
  componentId: string;
  comp: any;
  instance: any;
  data(): any;
  /** Dispatch a tap on the first element matching selector (throws when there is none). */
  tap(selector: string, detail?: Record<string, unknown>): Promise<void>;
  input(selector: string, value: string): Promise<void>;
  /** Dispatch any event (change, confirm, error, longpress …) with a detail. */
  dispatch(selector: string, event: string, detail?: Record<string, unknown>, dataset?: Record<string, unknown>): Promise<void>;
  query(selector: string): any;
  queryAll(selector: string): any[];
  /** The view-model bound to this page instance (miniprogram/utils/vm), from the page's own module registry. */
  vm<T = unknown>(): T;
  /**
   * Waits until predicate holds: checked after every setData of the page and on a short poll (for conditions on
   * other state). timeoutMs (default 30 s) is only a cap against hanging: nothing may rely on it elapsing.
   * Fails with the page data in the message.
   */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  unload(): void;
}

const vmModules = new Map<string, { vmOf<T>(page: object): T | undefined }>();
/** How often until() re-checks conditions that do not come from setData (requests, ui log …). */
const UNTIL_POLL_MS = 20;

/** Loads pages/<name>/index from the demo, renders and attaches it, then runs onLoad(query) and onShow(). */
export async function renderPage(pagePath: string, query: Record<string, string> = {}, opts: { sameModuleAs?: RenderedPage } = {}): Promise<RenderedPage> {
  const full = path.join(MINIPROGRAM_ROOT, pagePath);
  // simulate runs the page's JS with require(); jest caches modules, so a second render of the same page would not
  // re-run Component(). A fresh module registry per render makes every render register the page anew — unless the
  // test wants what WeChat does when a page is opened twice: two instances of ONE module evaluation (sameModuleAs).
  let id = opts.sameModuleAs ? opts.sameModuleAs.componentId : '';
  let vmModule: { vmOf<T>(page: object): T | undefined } | undefined = opts.sameModuleAs ? vmModules.get(opts.sameModuleAs.componentId) : undefined;
  if (!id) {
    jest.isolateModules(() => {
      id = simulate.load(full, { rootPath: MINIPROGRAM_ROOT, usingComponents: npmComponents(full) });
      // the same registry as the page's own require('../../utils/vm')
      vmModule = require(path.join(MINIPROGRAM_ROOT, 'utils/vm'));
    });
    vmModules.set(id, vmModule!);
  }
  const comp = simulate.render(id);
  // until() re-checks its condition right after every setData of this page (no state can slip between two polls)
  const setDataWatchers = new Set<() => void>();
  const origSetData = comp.instance.setData;
  comp.instance.setData = function (this: unknown, ...args: unknown[]) {
    const r = origSetData.apply(this, args);
    for (const w of [...setDataWatchers]) w();
    return r;
  };
  const parent = document.createElement('parent-wrapper');
  comp.attach(parent);
  const instance = comp.instance;
  if (typeof instance.onLoad === 'function') await instance.onLoad(query);
  if (typeof instance.onShow === 'function') await instance.onShow();
  // "a >>> b" looks for b inside the component a (its shadow tree). A library component rendered as a virtual host
  // (tdesign-miniprogram) has no node of its own: events go to its root element, as a finger on the phone would.
  const find = (selector: string) => {
    let el: any = comp;
    for (const part of selector.split('>>>').map((x) => x.trim())) {
      el = el && el.querySelector(part);
    }
    if (!el) throw new Error(`renderPage(${pagePath}): no element matches "${selector}"`);
    if (!el.dom) {
      const root = COMPONENT_ROOTS.map((r) => el.querySelector(r)).find((x: any) => x && x.dom);
      if (!root) throw new Error(`renderPage(${pagePath}): "${selector}" is a component without a known root element`);
      el = root;
    }
    return el;
  };
  const page: RenderedPage = {
    componentId: id,
    comp,
    instance,
    data: () => comp.data,
    async tap(selector, detail = {}) {
      find(selector).dispatchEvent('tap', { detail });
      await simulate.sleep(0);
    },
    async input(selector, value) {
      find(selector).dispatchEvent('input', { detail: { value } });
      await simulate.sleep(0);
    },
    async dispatch(selector, event, detail = {}) {
      find(selector).dispatchEvent(event, { detail });
      await simulate.sleep(0);
    },
    query: (selector) => comp.querySelector(selector),
    queryAll: (selector) => comp.querySelectorAll(selector),
    vm<T>() {
      const vm = vmModule && vmModule.vmOf<T>(instance);
      if (!vm) throw new Error(`renderPage(${pagePath}): no view-model is bound to this page instance`);
      return vm;
    },
    until(predicate, timeoutMs = 30000) {
      if (predicate()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let done = false;
        const check = () => {
          if (done) return;
          let ok = false;
          try {
            ok = predicate();
          } catch (e) {
            finish();
            return reject(e);
          }
          if (ok) {
            finish();
            resolve();
          }
        };
        const finish = () => {
          done = true;
          clearInterval(poll);
          clearTimeout(cap);
          setDataWatchers.delete(check);
        };
        setDataWatchers.add(check);
        const poll = setInterval(check, UNTIL_POLL_MS);
        const cap = setTimeout(() => {
          if (done) return;
          finish();
          reject(new Error(`renderPage(${pagePath}): condition not met in ${timeoutMs} ms; data = ${JSON.stringify(comp.data).slice(0, 2000)}`));
        }, timeoutMs);
      });
    },
    unload() {
      if (typeof instance.onUnload === 'function') instance.onUnload();
      comp.detach();
    },
  };
  return page;
}
