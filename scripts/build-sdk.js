#!/usr/bin/env node
/**
 * Builds sdk/ → sdk/miniprogram_dist (CommonJS, ES2017, .d.ts beside each file) and vendors crypto-js.
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

const REQ = /require\((["'])crypto-js\/([a-z0-9-]+)\1\)/g;
const files = walk(dist).filter((f) => f.endsWith('.js'));
const subs = new Set();
for (const f of files) for (const m of fs.readFileSync(f, 'utf8').matchAll(REQ)) subs.add(m[2]);

async function vendorCryptoJs() {
  if (!subs.size) return;
  const vendorDir = path.join(dist, 'vendor');
  fs.mkdirSync(vendorDir, { recursive: true });
  const entry = [...subs].sort().map((s) => `exports[${JSON.stringify(s)}] = require(${JSON.stringify(`crypto-js/${s}`)});`).join('\n');
  await esbuild.build({
    stdin: { contents: entry, resolveDir: sdk, sourcefile: 'crypto-js-vendor.js' },
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    mainFields: ['main'],
    target: 'es2017',
    minify: true,
    legalComments: 'inline',
    // crypto-js probes `try { require('crypto') } catch {}` for random numbers (used only by its random/AES paths, which
    // the SDK does not use). A mini-program has no 'crypto' module, and a bundler warns "Can't resolve 'crypto'" on
    // every build: resolve it to an empty module here (crypto-js then behaves exactly as on a phone: no native crypto).
    plugins: [
      {
        name: 'no-node-crypto',
        setup(b) {
          b.onResolve({ filter: /^crypto$/ }, () => ({ path: 'crypto', namespace: 'no-node-crypto' }));
          b.onLoad({ filter: /.*/, namespace: 'no-node-crypto' }, () => ({ contents: 'module.exports = undefined;', loader: 'js' }));
        },
      },
    ],
    // crypto-js's UMD wrappers keep `typeof define == "function" && define.amd ? define(["./core"], f) : …` branches;
    // webpack (Taro, any bundler-based app) parses those as AMD and fails to resolve "./core". With `define` replaced
    // by undefined the minifier drops every AMD branch, leaving plain CommonJS (test/unit/npm-build.test.ts checks).
    define: { define: 'undefined' },
    outfile: path.join(vendorDir, 'crypto-js.js'),
  });
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    if (!REQ.test(src)) continue;
    let rel = path.relative(path.dirname(f), path.join(vendorDir, 'crypto-js.js')).split(path.sep).join('/');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    fs.writeFileSync(f, src.replace(REQ, (_m, _q, sub) => `require(${JSON.stringify(rel)})[${JSON.stringify(sub)}]`));
  }
}

vendorCryptoJs().then(
  () => console.log(`sdk built → ${path.relative(process.cwd(), dist)} (${files.length} modules${subs.size ? `; vendored crypto-js: ${[...subs].sort().join(', ')}` : ''})`),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
