/**
 * The BUILT Taro React example (examples/taro/dist, made by `npm run example:taro`: webpack 5 + Taro 4.2.1 with
 * mp-media-sdk bundled in) loaded as a mini-program runtime loads it: app.js then the page's JS, with `App` / `Page`
 * capturing their definitions and the Node wx runtime as `wx`. A tap on the page's button goes React → SDK
 * (createTaroAdapter over the bundled Taro) → wx.chooseMedia / wx.uploadFile / wx.request → the local cloud, and the
 * result comes back through setData.
 *
 * The example's install is ~420 MB, so this runs when examples/taro/dist exists, and MUST run when
 * MP_EXAMPLE_TARO=1 (CI sets it after `npm run example:taro`; a missing build then fails).
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';

jest.setTimeout(120000);

const DIST = path.resolve(__dirname, '../../examples/taro/dist');
const required = process.env.MP_EXAMPLE_TARO === '1';
const built = fs.existsSync(path.join(DIST, 'app.js'));

/** Loads dist files with the mini-program module system: relative requires only, one context, App / Page globals. */
function miniProgram(wx: unknown) {
  const defs: { app?: any; pages: Record<string, any> } = { pages: {} };
  let loading = '';
  const context = vm.createContext({
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    wx,
    App: (d: unknown) => (defs.app = d),
    Page: (d: unknown) => (defs.pages[loading] = d),
    Component: (d: unknown) => (defs.pages[loading] = d),
    getApp: () => defs.app,
    getCurrentPages: () => [],
    requirePlugin: () => ({}),
  });
  const cache = new Map<string, { exports: unknown }>();
  const load = (file: string): unknown => {
    const hit = cache.get(file);
    if (hit) return hit.exports;
    const module = { exports: {} as unknown };
    cache.set(file, module);
    const fn = vm.runInContext(`(function (module, exports, require) {${fs.readFileSync(file, 'utf8')}\n})`, context, { filename: file });
    fn(module, module.exports, (spec: string) => {
      if (!spec.startsWith('.')) throw new Error(`module "${spec}" is not defined (a mini-program has no node_modules at run time)`);
      return load(path.resolve(path.dirname(file), spec.endsWith('.js') ? spec : `${spec}.js`));
    });
    return module.exports;
  };
  return {
    defs,
    loadApp() {
      loading = 'app';
      load(path.join(DIST, 'app.js'));
    },
    loadPage(route: string) {
      loading = route;
      load(path.join(DIST, `${route}.js`));
      return defs.pages[route];
    },
  };
}

interface TaroNode {
  sid?: string;
  v?: string;
  cn?: TaroNode[];
  [k: string]: unknown;
}

/** The sid of the element whose text child reads `text` (Taro's setData tree: cn = children, v = text). */
function sidOfText(root: TaroNode | undefined, text: string): string | undefined {
  if (!root) return undefined;
  for (const c of root.cn || []) {
    if (c.cn && c.cn.some((t) => t.v === text)) return c.sid;
    const deeper = sidOfText(c, text);
    if (deeper) return deeper;
  }
  return undefined;
}

(built || required ? describe : describe.skip)('examples/taro built to weapp (npm run example:taro) runs with the SDK', () => {
  let stack: DevStack;
  let rt: WxRuntime;
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);

  beforeAll(async () => {
    stack = await startDevStack({ quiet: true, env: {} });
    rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oTaroExample00001' });
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    if (rt) await rt.close();
    if (stack) await stack.close();
  });

  test('the build exists and bundles the SDK without AMD leftovers (no define([...]) from crypto-js)', () => {
    expect(fs.existsSync(path.join(DIST, 'app.js'))).toBe(true);
    const js = fs.readdirSync(DIST).filter((f) => f.endsWith('.js'));
    const withSdk = js.filter((f) => fs.readFileSync(path.join(DIST, f), 'utf8').includes('createTaroAdapter'));
    expect(withSdk.length).toBeGreaterThan(0);
    for (const f of withSdk) expect(fs.readFileSync(path.join(DIST, f), 'utf8')).not.toMatch(/define\(\[/);
  });

  test('upload page: renders with the Taro adapter; a tap picks a video and uploads it through the SDK to the local cloud; 已完成 + VideoId come back through setData; no unhandled rejection', async () => {
    // the example reads its AppServer URL from storage before falling back to the compiled-in default
    rt.wx.setStorageSync('mp-media-sdk-example:appServer', stack.appServerUrl);
    const video = rt.files.writeTempSized('taro-example.mp4', 300 * 1024, 21);
    rt.media.enqueue([{ tempFilePath: video, fileType: 'video', size: 300 * 1024, duration: 3 }]);

    const mp = miniProgram(rt.wx);
    mp.loadApp();
    expect(typeof mp.defs.app.onLaunch).toBe('function');
    mp.defs.app.onLaunch.call(mp.defs.app, { path: 'pages/index/index', query: {} });
    const def = mp.loadPage('pages/index/index');
    const sent: Array<Record<string, unknown>> = [];
    const page: any = Object.assign({}, def, { route: 'pages/index/index', options: {}, data: JSON.parse(JSON.stringify(def.data || {})) });
    page.setData = (d: Record<string, unknown>, cb?: () => void) => {
      sent.push(d);
      if (cb) cb();
    };
    page.onLoad.call(page, {});
    const rendered = () => JSON.stringify(sent);
    const start = Date.now();
    while (!sent.some((d) => d['root.cn'])) {
      if (Date.now() - start > 20000) throw new Error('the page never rendered');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(rendered()).toContain(stack.appServerUrl);
    expect(rendered()).toContain('"v":"taro"'); // adapter.name inside the bundle

    const root = { cn: (sent.find((d) => d['root.cn']) as { 'root.cn': TaroNode[] })['root.cn'] };
    const button = sidOfText(root, '选择视频并上传');
    expect(button).toBeTruthy();
    const ev = { type: 'tap', timeStamp: 1, target: { id: button, dataset: {} }, currentTarget: { id: button, dataset: {} }, detail: {} };
    page.eh.call(page, ev);

    const until = async (cond: () => boolean, what: string) => {
      const t0 = Date.now();
      while (!cond()) {
        if (Date.now() - t0 > 60000) throw new Error(`timed out waiting for ${what}; setData so far: ${rendered().slice(-800)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await until(() => /"已完成"|"失败"/.test(rendered()), 'the upload to end');
    expect(rendered()).not.toContain('"失败"');
    const videoId = /VideoId (\w+)/.exec(rendered())?.[1] || /"v":"([0-9a-f]{32})"/.exec(rendered())?.[1];
    expect(videoId).toBeTruthy();
    // the VOD record the local cloud holds for it, and the upload went through wx.uploadFile (PostObject)
    const res = await fetch(`${stack.cloud!.vod}/_admin/videos/${videoId}`);
    expect(res.status).toBe(200);
    expect(rt.requests.some((r) => r.api === 'uploadFile')).toBe(true);
    expect(rt.requests.some((r) => r.url.endsWith('/api/vod/upload-video'))).toBe(true);
    await until(() => rt.inflight().active + rt.inflight().queued === 0, 'no task in flight');
    for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    page.onUnload.call(page);
  });
});
