/**
 * `npm run screenshots`: every page of the demo mini-program in its representative states, with live data from the
 * dev stack, as PNGs in docs/screenshots/ (375 px CSS wide at DPR 2 → 750 px, an iPhone X-sized screen).
 *
 *   1. test/screenshots/capture.ts renders the states in miniprogram-simulate against a dev stack (the page-test kit,
 *      test/pages/helpers.ts) and writes each rendered tree + the images it shows as JSON to a temp folder.
 *   2. test/screenshots/wxml-html.ts turns each into a standalone HTML page (WXSS → CSS, built-ins → HTML, the
 *      phone's status bar, navigation bar and tab bar).
 *   3. playwright-core drives Debian's Chromium (/usr/bin/chromium; `apt-get install -y chromium fonts-wqy-zenhei
 *      fonts-noto-color-emoji`) to shoot each page.
 *
 * Options: --keep-html (also write the HTML next to the PNGs, for debugging the conversion); --only=<text> (only
 * the capture tests whose name contains it); --states=<dir> (keep the captured JSON there, and reuse it instead of
 * capturing again when it is already there: for iterating on the conversion).
 * Env: CHROMIUM_PATH to use another Chromium build.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CapturedState, pageToHtml, TabBar, WindowConfig } from '../test/screenshots/wxml-html';

const ROOT = path.resolve(__dirname, '..');
const MP = path.join(ROOT, 'miniprogram');
const OUT_DIR = path.join(ROOT, 'docs/screenshots');
const WIDTH = 375;
/**
 * One iPhone X-sized screen: <name>.png is what the phone shows first (the fold included). A page over 1.25 screens
 * long is also shot at its length, up to MAX_HEIGHT (two screens), as <name>-full.png.
 */
const HEIGHT = 812;
const MAX_HEIGHT = 2 * HEIGHT;

const args = process.argv.slice(2);
const keepHtml = args.includes('--keep-html');
const only = (args.find((a) => a.startsWith('--only=')) || '').slice('--only='.length);
const statesDir = (args.find((a) => a.startsWith('--states=')) || '').slice('--states='.length);

function readText(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

/** A WXSS file with its relative @imports inlined (each file once). */
function inlineWxss(file: string, seen: Set<string>): string {
  if (seen.has(file) || !fs.existsSync(file)) return '';
  seen.add(file);
  return readText(file).replace(/@import\s+['"]([^'"]+)['"]\s*;/g, (_m, rel: string) => inlineWxss(path.resolve(path.dirname(file), rel), seen));
}

/**
 * The styles of the custom components a page uses (usingComponents, recursively; npm names through the 构建 npm
 * output in miniprogram_npm), as on the phone where each component brings its own WXSS.
 */
function componentsWxss(pageJsonFile: string): string {
  const seenJson = new Set<string>();
  const seenWxss = new Set<string>();
  const out: string[] = [];
  const walk = (jsonFile: string) => {
    if (seenJson.has(jsonFile)) return;
    seenJson.add(jsonFile);
    const json = JSON.parse(readText(jsonFile) || '{}') as { usingComponents?: Record<string, string> };
    for (const value of Object.values(json.usingComponents || {})) {
      const base = value.startsWith('.') ? path.resolve(path.dirname(jsonFile), value) : value.startsWith('/') ? path.join(MP, value) : path.join(MP, 'miniprogram_npm', value);
      if (!fs.existsSync(`${base}.json`)) continue;
      out.push(inlineWxss(`${base}.wxss`, seenWxss));
      walk(`${base}.json`);
    }
  };
  walk(pageJsonFile);
  // No stand-ins for TDesign's icon font: it loads from its CDN, which a phone offline (and this shot) cannot reach,
  // so the pages draw their few icons themselves (app.wxss .mk-*); main() fails on any icon-font glyph left.
  return out.join('\n');
}

/** Runs the capture; resolves with jest's exit code (states that did capture are still pictured). */
function runCapture(outDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const jest = require.resolve('jest/bin/jest');
    const child = spawn(process.execPath, [jest, '--config', 'test/screenshots/jest.config.js', '--runInBand', ...(only ? ['-t', only] : [])], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, SCREENSHOTS_OUT: outDir },
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code === null ? 1 : code));
  });
}

function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(p)) {
    throw new Error(`no Chromium at ${p}: apt-get install -y chromium fonts-wqy-zenhei fonts-noto-color-emoji (or set CHROMIUM_PATH)`);
  }
  return p;
}

async function main(): Promise<void> {
  const started = Date.now();
  const executablePath = chromiumPath();
  const tmp = statesDir ? path.resolve(statesDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'mp-screenshots-'));
  fs.mkdirSync(tmp, { recursive: true });
  try {
    let captureCode = 0;
    if (!statesDir || !fs.readdirSync(tmp).some((f) => f.endsWith('.json'))) captureCode = await runCapture(tmp);
    const captured: CapturedState[] = fs
      .readdirSync(tmp)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(tmp, f), 'utf8')) as CapturedState)
      .sort((a, b) => a.seq - b.seq);
    if (!captured.length) throw new Error('capture wrote no states');

    const app = JSON.parse(readText(path.join(MP, 'app.json'))) as { window: WindowConfig; tabBar?: TabBar };
    const appWxss = readText(path.join(MP, 'app.wxss'));
    const tabIcons: Record<string, string> = {};
    for (const t of (app.tabBar && app.tabBar.list) || []) {
      for (const icon of [t.iconPath, t.selectedIconPath]) {
        if (icon && fs.existsSync(path.join(MP, icon))) tabIcons[icon] = `data:image/png;base64,${fs.readFileSync(path.join(MP, icon)).toString('base64')}`;
      }
    }
    fs.mkdirSync(OUT_DIR, { recursive: true });

    // playwright adds --headless and a fresh temporary --user-data-dir (removed on close) itself.
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    const written: string[] = [];
    const full = new Set<string>();
    const cdnIcons: string[] = [];
    try {
      const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
      // Everything the pages show was inlined; nothing may reach the network.
      await context.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
      const page = await context.newPage();
      for (const s of captured) {
        const base = s.pagePath.replace(/\/index$/, '');
        const pageJson = JSON.parse(readText(path.join(MP, `${base}/index.json`)) || '{}') as WindowConfig;
        const { html, unknownTags } = pageToHtml(s.tree, {
          pagePath: s.pagePath,
          window: { ...app.window, ...pageJson },
          tabBar: app.tabBar,
          tabIcons,
          title: s.title,
          appWxss,
          pageWxss: `${componentsWxss(path.join(MP, `${base}/index.json`))}\n${readText(path.join(MP, `${base}/index.wxss`))}`,
          images: s.images,
          screenWidth: WIDTH,
          screenHeight: HEIGHT,
        });
        // TDesign's <t-icon name="…"> draws a glyph of a web font served from tdesign.gtimg.com: blank offline
        const glyphs = JSON.stringify(s.tree).match(/t-icon-[a-z0-9-]+ t-icon-base/g);
        if (glyphs) cdnIcons.push(`${s.name}: ${[...new Set(glyphs)].join(', ')}`);
        if (unknownTags.length) process.stderr.write(`screenshots: ${s.name}: no mapping for <${unknownTags.join('>, <')}> (drawn as blocks)\n`);
        await page.setContent(html, { waitUntil: 'load' });
        await page.evaluate(() => document.fonts.ready.then(() => undefined));
        const file = path.join(OUT_DIR, `${s.name}.png`);
        await page.screenshot({ path: file, clip: { x: 0, y: 0, width: WIDTH, height: HEIGHT } });
        written.push(s.name);
        // The page's length if the content box (which scrolls in the app) were as tall as the page.
        const length = await page.evaluate(() => {
          const phone = document.querySelector('.phone') as HTMLElement;
          const content = document.querySelector('.content') as HTMLElement;
          const body = document.querySelector('.wx-page') as HTMLElement;
          return Math.ceil(phone.offsetHeight - content.clientHeight + body.offsetHeight);
        });
        if (length > HEIGHT * 1.25) {
          const height = Math.min(MAX_HEIGHT, length);
          await page.setViewportSize({ width: WIDTH, height });
          await page.evaluate((h) => {
            (document.querySelector('.phone') as HTMLElement).style.height = `${h}px`;
          }, height);
          await page.screenshot({ path: path.join(OUT_DIR, `${s.name}-full.png`), clip: { x: 0, y: 0, width: WIDTH, height } });
          await page.setViewportSize({ width: WIDTH, height: HEIGHT });
          written.push(`${s.name}-full`);
          full.add(s.name);
        }
        if (keepHtml) fs.writeFileSync(path.join(OUT_DIR, `${s.name}.html`), html);
      }
    } finally {
      await browser.close();
    }

    // PNGs of states that no longer exist go (only on a full, successful run); console-*.png belong to
    // scripts/console-screenshots.ts (the local cloud console) and stay.
    if (!only && captureCode === 0) {
      for (const f of fs.readdirSync(OUT_DIR)) {
        if (f.endsWith('.png') && !f.startsWith('console-') && !written.includes(f.slice(0, -4))) fs.unlinkSync(path.join(OUT_DIR, f));
      }
      writeIndex(captured, full);
    }
    const bytes = written.reduce((n, w) => n + fs.statSync(path.join(OUT_DIR, `${w}.png`)).size, 0);
    console.log(`screenshots: ${written.length} PNGs in docs/screenshots (${(bytes / 1024).toFixed(0)} KB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (cdnIcons.length) {
      process.stderr.write(`screenshots: icon-font glyphs that need TDesign's CDN (blank offline): ${cdnIcons.join('; ')}\n`);
      process.exitCode = 1;
    }
    if (captureCode !== 0) {
      process.stderr.write('screenshots: some states failed to capture (see the jest output above); their PNGs were not updated\n');
      process.exitCode = 1;
    }
  } finally {
    if (!statesDir) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** docs/screenshots/README.md: every picture with its caption, in app.json page order. */
function writeIndex(states: CapturedState[], full: Set<string>): void {
  const order = (JSON.parse(readText(path.join(MP, 'app.json'))) as { pages: string[] }).pages;
  const sorted = [...states].sort((a, b) => order.indexOf(a.pagePath) - order.indexOf(b.pagePath) || a.seq - b.seq);
  const lines = [
    '# Demo screenshots',
    '',
    'Generated by `npm run screenshots` (scripts/screenshots.ts): each page of the demo mini-program rendered by',
    'miniprogram-simulate with live data from the dev stack, converted to HTML and shot in headless Chromium at',
    '375 × 812 px, DPR 2 (a page over 1.25 screens long also at its length, up to two screens: *-full.png).',
    'A faithful layout, not pixel parity with WeChat (fonts and built-in components are approximations).',
    'Needs Debian\'s Chromium: `apt-get install -y chromium fonts-wqy-zenhei fonts-noto-color-emoji`.',
    '',
    '| State | Page | First screen | Full length |',
    '| --- | --- | --- | --- |',
    ...sorted.map((s) => `| ${s.caption} | \`${s.pagePath}\` | <img src="${s.name}.png" width="250" alt="${s.name}"> | ${full.has(s.name) ? `<img src="${s.name}-full.png" width="250" alt="${s.name} (full length)">` : ''} |`),
    '',
  ];
  fs.writeFileSync(path.join(OUT_DIR, 'README.md'), lines.join('\n'));
}

main().catch((e) => {
  process.stderr.write(`screenshots failed: ${(e as Error).stack || e}\n`);
  process.exit(1);
});
