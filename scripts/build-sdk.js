#!/usr/bin/env node
/**
 * Builds sdk/ → sdk/miniprogram_dist (CommonJS, ES2017, .d.ts beside each file) and vendors crypto-js (and the
 * downloader's mux.js / mp4-muxer) into miniprogram_dist/vendor/.
 *
 * Why vendor: DevTools' 构建 npm bundles a plain-JS dependency (crypto-js) into ONE miniprogram_npm/crypto-js/index.js,
 * so deep requires such as require('crypto-js/hmac-sha1') do not exist on a phone. After tsc, every
 * require("crypto-js/<sub>") in the output is rewritten to one small esbuild bundle, miniprogram_dist/vendor/crypto-js.js,
 * holding only the sub-modules the SDK uses (sharing one crypto-js core). The package then has no runtime dependency.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const sdk = path.resolve(__dirname, '../sdk');
const dist = path.join(sdk, 'miniprogram_dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(sdk, 'tsconfig.build.json')], { stdio: 'inherit' });

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

const files = walk(dist).filter((f) => f.endsWith('.js'));

// crypto-js probes `try { require('crypto') } catch {}` for random numbers (used only by its random/AES paths, which
// the SDK does not use). A mini-program has no 'crypto' module, and a bundler warns "Can't resolve 'crypto'" on every
// build: resolve it to an empty module here (crypto-js then behaves exactly as on a phone: no native crypto).
const noNodeCrypto = {
  name: 'no-node-crypto',
  setup(b) {
    b.onResolve({ filter: /^crypto$/ }, () => ({ path: 'crypto', namespace: 'no-node-crypto' }));
    b.onLoad({ filter: /.*/, namespace: 'no-node-crypto' }, () => ({ contents: 'module.exports = undefined;', loader: 'js' }));
  },
};

/**
 * Bundles every module the tsc output requires by a name matching `pattern` (group 2 = the specifier) into
 * miniprogram_dist/vendor/<name>.js, and rewrites each such require to `require("<relative vendor>")["<specifier>"]`.
 * Returns the specifiers vendored.
 */
async function vendor(name, pattern, plugins = []) {
  const specs = new Set();
  for (const f of files) for (const m of fs.readFileSync(f, 'utf8').matchAll(pattern)) specs.add(m[2]);
  if (!specs.size) return [];
  const vendorDir = path.join(dist, 'vendor');
  fs.mkdirSync(vendorDir, { recursive: true });
  const target = path.join(vendorDir, `${name}.js`);
  const entry = [...specs].sort().map((s) => `exports[${JSON.stringify(s)}] = require(${JSON.stringify(s)});`).join('\n');
  await esbuild.build({
    stdin: { contents: entry, resolveDir: sdk, sourcefile: `${name}-vendor.js` },
    // resolve from the repo root too (devDependencies live there, not in sdk/)
    nodePaths: [path.resolve(__dirname, '..', 'node_modules')],
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    mainFields: ['main'],
    target: 'es2017',
    minify: true,
    legalComments: 'inline',
    plugins,
    // UMD wrappers keep `typeof define == "function" && define.amd ? define([...], f) : …` branches; webpack (Taro, any
    // bundler-based app) parses those as AMD and fails to resolve them. With `define` replaced by undefined the minifier
    // drops every AMD branch, leaving plain CommonJS (test/unit/npm-build.test.ts checks).
    define: { define: 'undefined' },
    outfile: target,
  });
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    const out = src.replace(pattern, (_m, _q, spec) => {
      let rel = path.relative(path.dirname(f), target).split(path.sep).join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `require(${JSON.stringify(rel)})[${JSON.stringify(spec)}]`;
    });
    if (out !== src) fs.writeFileSync(f, out);
  }
  return [...specs].sort();
}

(async () => {
  // crypto-js: the sub-modules the SDK uses, sharing one core.
  const crypto = await vendor('crypto-js', /require\((["'])(crypto-js\/[a-z0-9-]+)\1\)/g, [noNodeCrypto]);
  // The downloader's media libraries: mux.js TS demux layers and mp4-muxer.
  const media = await vendor('media', /require\((["'])((?:mux\.js\/[a-zA-Z0-9_./-]+)|mp4-muxer)\1\)/g);
  console.log(`sdk built → ${path.relative(process.cwd(), dist)} (${files.length} modules; vendored: ${[...crypto, ...media].join(', ') || 'nothing'})`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
