/**
 * The demo shell: every page app.json lists has its four files, is a Component-constructor page (so
 * miniprogram-simulate can render it), and renders without icon-font glyphs; the tab bar is the four product tabs; the demo's services log in
 * over real HTTP through the Node wx runtime against a live dev stack.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MINIPROGRAM_ROOT, renderPage, startPageEnv, PageEnv } from './helpers';
import { getAppClient, setAppServerOverride } from '../../miniprogram/services/app';

const appJson = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM_ROOT, 'app.json'), 'utf8'));

let env: PageEnv;
beforeAll(async () => {
  env = await startPageEnv();
});
afterAll(() => env.close());

describe('demo shell', () => {
  it('has the four product tabs, in Chinese, each with its icon pair, in the one brand colour', () => {
    expect(appJson.tabBar.list.map((t: { pagePath: string; text: string }) => [t.pagePath, t.text])).toEqual(
      expect.arrayContaining([
        ['pages/upload/index', '上传'],
        ['pages/player/index', '播放'],
        ['pages/devices/index', '设备'],
        ['pages/download/index', '下载'],
      ]),
    );
    expect(appJson.tabBar.selectedColor).toBe('#0052d9');
    for (const t of appJson.tabBar.list as Array<{ text: string; iconPath?: string; selectedIconPath?: string }>) {
      expect(t.text).not.toMatch(/[A-Za-z]/);
      for (const icon of [t.iconPath, t.selectedIconPath]) {
        expect(icon).toBeTruthy();
        // A PNG (WeChat takes no SVG here), small as the tab bar requires (≤ 40 KB).
        const bytes = fs.readFileSync(path.join(MINIPROGRAM_ROOT, icon!));
        expect(bytes.subarray(1, 4).toString()).toBe('PNG');
        expect(bytes.length).toBeLessThan(40 * 1024);
      }
    }
  });

  it('a tab page\'s navigation title is its tab\'s name', () => {
    for (const t of appJson.tabBar.list as Array<{ pagePath: string; text: string }>) {
      const json = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM_ROOT, `${t.pagePath}.json`), 'utf8'));
      expect(json.navigationBarTitleText).toBe(t.text);
    }
  });

  it.each(appJson.pages as string[])('%s has .ts/.wxml/.wxss/.json and is a Component page', (page) => {
    for (const ext of ['ts', 'wxml', 'wxss', 'json']) expect(fs.existsSync(path.join(MINIPROGRAM_ROOT, `${page}.${ext}`))).toBe(true);
    const json = JSON.parse(fs.readFileSync(path.join(MINIPROGRAM_ROOT, `${page}.json`), 'utf8'));
    expect(json.component).toBe(true);
    expect(fs.readFileSync(path.join(MINIPROGRAM_ROOT, `${page}.ts`), 'utf8')).toMatch(/\bComponent\(/);
  });

  it.each(appJson.tabBar.list.map((t: { pagePath: string }) => t.pagePath) as string[])('tab page %s renders and loads in miniprogram-simulate', async (page) => {
    const p = await renderPage(page);
    expect(p.comp.dom).toBeTruthy();
    expect(p.comp.dom.innerHTML.length).toBeGreaterThan(0);
    // no TDesign icon-font glyph (its font comes from a CDN: blank offline); the pages draw their icons (app.wxss .mk-*)
    expect(JSON.stringify(p.comp.toJSON())).not.toMatch(/t-icon-base/);
    p.unload();
  });

  it('the demo services log in through wx.login → /api/login and reach authenticated routes', async () => {
    const me = await getAppClient().call<{ openid: string }>('GET', '/api/me');
    expect(me.openid).toBe(env.appClient.session!.openid);
  });

  it('rejects an AppServer override that is not an http(s) URL, and restores the default with ""', () => {
    expect(() => setAppServerOverride('192.168.1.2:3000')).toThrow(/must start with http/);
    expect(setAppServerOverride(env.stack.appServerUrl)).toBe(env.stack.appServerUrl);
  });
});

describe('renderPage', () => {
  it('renders the same page twice in one test file (each render registers the page anew)', async () => {
    const a = await renderPage('pages/player/index');
    const b = await renderPage('pages/player/index');
    expect(a.comp.dom).toBeTruthy();
    expect(b.comp.dom).toBeTruthy();
    expect(b.instance).not.toBe(a.instance);
    a.unload();
    b.unload();
  });
});
