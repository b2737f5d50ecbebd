/**
 * The SDK as a mini-program receives it: sdk/miniprogram_dist built into miniprogram/miniprogram_npm by
 * miniprogram-ci's packNpmManually (`npm run build`, which `npm test` runs first). It is loaded here with
 * test/harness/mp-require.ts, which resolves like the mini-program runtime: relative files, and npm names only through
 * miniprogram_npm folders; no Node built-ins, no process, no Buffer. A deep require the phone could not satisfy fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mpRequire } from '../harness/mp-require';

const ROOT = path.resolve(__dirname, '../..');
const MP = path.join(ROOT, 'miniprogram');
const NPM = path.join(MP, 'miniprogram_npm');

describe('npm-built SDK under miniprogram/miniprogram_npm', () => {
  const entry = path.join(NPM, 'mp-media-sdk', 'index.js');

  it('exists (npm run build produced it through packNpmManually)', () => {
    expect(fs.existsSync(entry)).toBe(true);
  });

  it('loads with mini-program module resolution (no Node built-ins, no deep npm requires) and exposes the API', () => {
    const loaded = new Set<string>();
    const sdk = mpRequire(entry, { root: MP, loaded });
    expect(typeof sdk.default).toBe('function'); // import VODUpload from 'mp-media-sdk'
    // the downloader's media libraries (~70 KB) are evaluated on the first HLS remux, not at import
    expect([...loaded].filter((f) => /vendor[\\/]media\.js$/.test(f))).toEqual([]);
    expect([...loaded].some((f) => /vendor[\\/]crypto-js\.js$/.test(f))).toBe(true);
    expect(typeof sdk.createWxAdapter).toBe('function');
    expect(typeof sdk.AppClient).toBe('function');
    expect(typeof sdk.MediaKitError).toBe('function');
  });

  it('ships no TypeScript sources and no runtime npm dependency', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'sdk/package.json'), 'utf8'));
    expect(pkg.miniprogram).toBe('miniprogram_dist');
    expect(pkg.dependencies || {}).toEqual({});
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const files = walk(path.join(NPM, 'mp-media-sdk'));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Exactly what the demo's package.json asks for (the SDK and the demo's component library): the SDK pulls in
    // no npm package of its own.
    const rootDeps = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    expect(fs.readdirSync(NPM).sort()).toEqual(rootDeps.sort());
    expect(rootDeps).toContain('mp-media-sdk');
    expect(Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'sdk/package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies || {})).toEqual([]);
  });

  it('contains no secret from the local cloud or AppServer configuration', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { DEV_CREDENTIALS } = require('../../server/dev-credentials');
    const secrets: string[] = [];
    const collect = (o: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object') collect(v as Record<string, unknown>);
        else if (typeof v === 'string' && /secret/i.test(k)) secrets.push(v);
      }
    };
    collect(DEV_CREDENTIALS);
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'miniprogram_npm' ? [] : walk(path.join(d, e.name))) : [path.join(d, e.name)]));
    const shipped = [...walk(path.join(NPM, 'mp-media-sdk')), ...walk(MP).filter((f) => /\.(js|ts|json|wxml)$/.test(f))];
    for (const f of shipped) {
      const text = fs.readFileSync(f, 'utf8');
      for (const s of secrets) expect({ file: path.relative(ROOT, f), leaks: text.includes(s) }).toEqual({ file: path.relative(ROOT, f), leaks: false });
    }
  });
});

describe('SDK bundle has no AMD / UMD wrapper a bundler can trip on (Taro / webpack builds)', () => {
  const DIST = path.join(ROOT, 'sdk', 'miniprogram_dist');
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  // webpack's AMD parser acts on `define(...)` calls and `typeof define` / `define.amd` probes (crypto-js's UMD heads).
  const AMD = /(?<![\w$.])define\s*\(|typeof\s+define\b|\bdefine\.amd\b/;

  it.each([
    ['sdk/miniprogram_dist (what a bundler such as Taro\'s webpack resolves through "main")', () => walk(DIST)],
    ['miniprogram/miniprogram_npm/mp-media-sdk (what 构建 npm ships)', () => walk(path.join(NPM, 'mp-media-sdk'))],
  ])('%s: no define( / typeof define / define.amd in any .js file', (_name, list) => {
    const js = (list as () => string[])().filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(10);
    const hits = js.filter((f) => AMD.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(ROOT, f));
    expect(hits).toEqual([]);
  });

  it('sdk/miniprogram_dist requires no Node built-in, not even in a try (a bundler warns "Can\'t resolve \'crypto\'" on every build)', () => {
    const builtins = new Set(require('node:module').builtinModules as string[]);
    const hits: string[] = [];
    for (const f of walk(DIST).filter((x) => x.endsWith('.js'))) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/require\((["'])([^"']+)\1\)/g)) {
        if (builtins.has(m[2].replace(/^node:/, ''))) hits.push(`${path.relative(ROOT, f)}: ${m[0]}`);
      }
    }
    expect(hits).toEqual([]);
  });

  it('the pattern catches the UMD heads crypto-js ships (so the check above can fail)', () => {
    const umd = fs.readFileSync(require.resolve('crypto-js/hmac-sha1'), 'utf8');
    expect(AMD.test(umd)).toBe(true);
    expect(AMD.test('var u = typeof x == "undefined"; o.defineProperty(a, "b", {})')).toBe(false);
  });

  it('the vendored crypto-js still computes HMAC-SHA1 / HMAC-SHA256 / SHA-256 as Node crypto does', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { createHash, createHmac } = require('node:crypto');
    const vendor = mpRequire(path.join(NPM, 'mp-media-sdk', 'vendor', 'crypto-js.js'), { root: MP }) as Record<string, (...a: unknown[]) => { toString(): string }>;
    expect(vendor['crypto-js/hmac-sha1']('PUT\n\n\nx', 'secret').toString()).toBe(createHmac('sha1', 'secret').update('PUT\n\n\nx').digest('hex'));
    expect(vendor['crypto-js/hmac-sha256']('msg', 'key').toString()).toBe(createHmac('sha256', 'key').update('msg').digest('hex'));
    expect(vendor['crypto-js/sha256']('abc').toString()).toBe(createHash('sha256').update('abc').digest('hex'));
  });
});
