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
import { AppClient, createWxAdapter } from 'mp-media-sdk';

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

/** Mounts a page of the built app: a page instance with a recording setData, onLoad, and the first render. */
async function mountPage(mp: ReturnType<typeof miniProgram>, route: string) {
  const def = mp.loadPage(route);
  const sent: Array<Record<string, unknown>> = [];
  const page: any = Object.assign({}, def, { route, options: {}, data: JSON.parse(JSON.stringify(def.data || {})) });
  page.setData = (d: Record<string, unknown>, cb?: () => void) => {
    sent.push(d);
    if (cb) cb();
  };
  page.onLoad.call(page, {});
  await waitFor(() => sent.some((d) => d['root.cn']), `${route} to render`);
  const root = { cn: (sent.find((d) => d['root.cn']) as { 'root.cn': TaroNode[] })['root.cn'] };
  const event = (type: string, sid: string | undefined, detail: Record<string, unknown> = {}) =>
    page.eh.call(page, { type, timeStamp: 1, target: { id: sid, dataset: {} }, currentTarget: { id: sid, dataset: {} }, detail });
  return { page, sent, root, event, rendered: () => JSON.stringify(sent) };
}

/** Polls `cond` every 5 ms (waits for an effect; fails after `timeoutMs`). */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The sid of the first element matching `pred` (e.g. the <Input> whose placeholder prop reads "Polyv vid"). */
function sidWhere(root: TaroNode | undefined, pred: (n: TaroNode) => boolean): string | undefined {
  if (!root) return undefined;
  for (const c of root.cn || []) {
    if (pred(c)) return c.sid;
    const deeper = sidWhere(c, pred);
    if (deeper) return deeper;
  }
  return undefined;
}

(built || required ? describe : describe.skip)('examples/taro built to weapp (npm run example:taro) runs with the SDK', () => {
  let stack: DevStack;
  let rt: WxRuntime;
  const runtimes: WxRuntime[] = [];
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
    for (const r of runtimes) await r.close();
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
    const ui = await mountPage(mp, 'pages/index/index');
    const rendered = ui.rendered;
    expect(rendered()).toContain(stack.appServerUrl);
    expect(rendered()).toContain('"v":"taro"'); // adapter.name inside the bundle
    const button = sidOfText(ui.root, '选择视频并上传');
    expect(button).toBeTruthy();
    ui.event('tap', button);
    await waitFor(() => /"已完成"|"失败"/.test(rendered()), 'the upload to end');
    expect(rendered()).not.toContain('"失败"');
    const videoId = /VideoId (\w+)/.exec(rendered())?.[1] || /"v":"([0-9a-f]{32})"/.exec(rendered())?.[1];
    expect(videoId).toBeTruthy();
    // the VOD record the local cloud holds for it, and the upload went through wx.uploadFile (PostObject)
    const res = await fetch(`${stack.cloud!.vod}/_admin/videos/${videoId}`);
    expect(res.status).toBe(200);
    expect(rt.requests.some((r) => r.api === 'uploadFile')).toBe(true);
    expect(rt.requests.some((r) => r.url.endsWith('/api/vod/upload-video'))).toBe(true);
    await waitFor(() => rt.inflight().active + rt.inflight().queued === 0, 'no task in flight');
    for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    ui.page.onUnload.call(ui.page);
  });
  test('player page: typing a Polyv vid and tapping 播放 gets play info through the SDK and binds a tokenised m3u8 to <Video>; a bad vid shows the SDK error', async () => {
    // a fresh app launch: its own wx runtime (webpack's chunk registry lives on wx), pointed at the stack
    const rt2 = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oTaroExample00002' });
    runtimes.push(rt2);
    rt2.wx.setStorageSync('mp-media-sdk-example:appServer', stack.appServerUrl);
    const direct = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt2.wx) });
    const { samples } = await direct.call<{ samples: Array<{ videoId: string; title: string; playable: boolean }> }>('GET', '/api/polyv/samples');
    const sample = samples.find((x) => x.playable)!;
    const mp = miniProgram(rt2.wx);
    mp.loadApp();
    mp.defs.app.onLaunch.call(mp.defs.app, { path: 'pages/player/index', query: {} });
    const ui = await mountPage(mp, 'pages/player/index');
    const input = sidWhere(ui.root, (n) => n.p13 === 'Polyv vid');
    const play = sidOfText(ui.root, '播放');
    expect(input).toBeTruthy();
    expect(play).toBeTruthy();

    ui.event('input', input, { value: sample.videoId });
    ui.event('tap', play);
    await waitFor(() => /\.m3u8\?token=[^"&]+&iswxa=1&pid=/.test(ui.rendered()), 'a tokenised m3u8 in setData');
    expect(ui.rendered()).toContain(sample.title);

    ui.event('input', input, { value: 'no-such-vid' });
    ui.event('tap', play);
    await waitFor(() => /"v":"[A-Z_]+: /.test(ui.rendered()), 'the error text');
    await waitFor(() => rt2.inflight().active + rt2.inflight().queued === 0, 'no task in flight');
    for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    ui.page.onUnload.call(ui.page);
  });
});
