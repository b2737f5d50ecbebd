/**
 * Loads a file the way the mini-program runtime does: relative requires resolve to files (`x`, `x.js`,
 * `x/index.js`), npm names resolve ONLY through `miniprogram_npm` folders from the requiring file up to the
 * mini-program root; there are no Node built-ins, no `process`, no `Buffer`. A deep require a phone could not satisfy
 * ("module … is not defined") throws here too. Used by test/unit/npm-build.test.ts (the demo's 构建 npm output) and
 * test/e2e/sdk-package.test.ts (the packed SDK installed into a scratch mini-program).
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

function resolveFile(p: string): string | undefined {
  for (const c of [p, `${p}.js`, path.join(p, 'index.js')]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return undefined;
}

/**
 * Runs `entry` (and what it requires) in a fresh context holding only the JS built-ins a mini-program has plus
 * `globals` (e.g. `wx`, `Page`), and returns its `module.exports`. `root` is the mini-program root (miniprogramRoot):
 * npm lookups stop there. `loaded`, when given, receives the path of every file evaluated.
 */
export function mpRequire(entry: string, opts: { root: string; globals?: Record<string, unknown>; loaded?: Set<string> }): Record<string, unknown> {
  const root = path.resolve(opts.root);
  const cache = new Map<string, { exports: unknown }>();
  const context = vm.createContext({ console, setTimeout, clearTimeout, setInterval, clearInterval, Promise, Date, Math, JSON, ArrayBuffer, Uint8Array, Uint32Array, Int32Array, DataView, Error, TypeError, RangeError, ...(opts.globals || {}) });
  const load = (file: string): unknown => {
    const hit = cache.get(file);
    if (hit) return hit.exports;
    const module = { exports: {} as unknown };
    cache.set(file, module);
    if (opts.loaded) opts.loaded.add(file);
    const fn = vm.runInContext(`(function (module, exports, require) {${fs.readFileSync(file, 'utf8')}\n})`, context, { filename: file });
    fn(module, module.exports, (spec: string) => {
      let target: string | undefined;
      if (spec.startsWith('.') || spec.startsWith('/')) {
        target = resolveFile(path.resolve(path.dirname(file), spec));
      } else {
        // npm names resolve only through miniprogram_npm folders from the requiring file up to the project root.
        for (let dir = path.dirname(file); dir === root || dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
          target = resolveFile(path.join(dir, 'miniprogram_npm', spec));
          if (target) break;
        }
      }
      if (!target) throw new Error(`module "${spec}" is not defined (required from ${path.relative(root, file)})`);
      return load(target);
    });
    return module.exports;
  };
  return load(path.resolve(entry)) as Record<string, unknown>;
}
