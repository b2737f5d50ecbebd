/**
 * The SDK as a mini-program receives it: sdk/miniprogram_dist built into miniprogram/miniprogram_npm by
 * miniprogram-ci's packNpmManually (`npm run build`, which `npm test` runs first). It is loaded here with a module
 * loader that resolves like the mini-program runtime: relative files, and npm names only through miniprogram_npm
 * folders; no Node built-ins, no process, no Buffer. A deep require the phone could not satisfy fails this test.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const ROOT = path.resolve(__dirname, '../..');
const MP = path.join(ROOT, 'miniprogram');
const NPM = path.join(MP, 'miniprogram_npm');

function resolveFile(p: string): string | undefined {
  for (const c of [p, `${p}.js`, path.join(p, 'index.js')]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return undefined;
}

/** Loads `entry` the way the mini-program module system would. */
function mpRequire(entry: string, globals: Record<string, unknown> = {}) {
  const cache = new Map<string, { exports: unknown }>();
  const context = vm.createContext({ console, setTimeout, clearTimeout, setInterval, clearInterval, Promise, Date, Math, JSON, ArrayBuffer, Uint8Array, Uint32Array, Int32Array, DataView, Error, TypeError, RangeError, ...globals });
  const load = (file: string): unknown => {
    const hit = cache.get(file);
    if (hit) return hit.exports;
    const module = { exports: {} as unknown };
    cache.set(file, module);
    const fn = vm.runInContext(`(function (module, exports, require) {${fs.readFileSync(file, 'utf8')}\n})`, context, { filename: file });
    fn(module, module.exports, (spec: string) => {
      let target: string | undefined;
      if (spec.startsWith('.') || spec.startsWith('/')) {
        target = resolveFile(path.resolve(path.dirname(file), spec));
      } else {
        // npm names resolve only through miniprogram_npm folders from the requiring file up to the project root.
        for (let dir = path.dirname(file); dir.startsWith(MP); dir = path.dirname(dir)) {
          target = resolveFile(path.join(dir, 'miniprogram_npm', spec));
          if (target) break;
        }
      }
      if (!target) throw new Error(`module "${spec}" is not defined (required from ${path.relative(ROOT, file)})`);
      return load(target);
    });
    return module.exports;
  };
  return load(entry) as Record<string, unknown>;
}

describe('npm-built SDK under miniprogram/miniprogram_npm', () => {
  const entry = path.join(NPM, 'mp-media-sdk', 'index.js');

  it('exists (npm run build produced it through packNpmManually)', () => {
    expect(fs.existsSync(entry)).toBe(true);
  });

  it('loads with mini-program module resolution (no Node built-ins, no deep npm requires) and exposes the API', () => {
    const sdk = mpRequire(entry);
    expect(typeof sdk.default).toBe('function'); // import VODUpload from 'mp-media-sdk'
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
