#!/usr/bin/env node
/**
 * `npm run example:taro`: builds examples/taro (a Taro 4 React app using mp-media-sdk) to weapp →
 * examples/taro/dist, which WeChat DevTools opens (examples/taro/project.config.json).
 *
 * 1. builds the SDK (sdk/miniprogram_dist: the example depends on it as file:../../sdk);
 * 2. installs the example's own dependencies (`npm ci --prefix examples/taro`, ~1100 packages / 420 MB, a few
 *    minutes once; skipped while node_modules matches its lock);
 * 3. `taro build --type weapp` with NODE_ENV=production (no template download, no network).
 * APP_SERVER_URL (default http://127.0.0.1:3000) is compiled in as the AppServer the example calls.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const EX = path.join(ROOT, 'examples/taro');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Lock entries not installed at their locked version (links and optional platform packages aside). */
function stale() {
  const lock = JSON.parse(fs.readFileSync(path.join(EX, 'package-lock.json'), 'utf8'));
  const out = [];
  for (const [where, entry] of Object.entries(lock.packages || {})) {
    if (!where || entry.link || entry.optional || !where.startsWith('node_modules/')) continue;
    try {
      if (JSON.parse(fs.readFileSync(path.join(EX, where, 'package.json'), 'utf8')).version !== entry.version) out.push(where);
    } catch (_) {
      out.push(where);
    }
  }
  return out;
}

function step(title, fn) {
  const t0 = Date.now();
  process.stdout.write(`example:taro: ${title} …\n`);
  fn();
  process.stdout.write(`example:taro: ${title} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

try {
  step('building the SDK', () => execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-sdk.js')], { stdio: 'inherit' }));
  const missing = stale();
  if (missing.length) {
    step(`installing examples/taro (${missing.length} packages missing or changed)`, () =>
      execFileSync(npm, ['ci', '--prefix', EX, '--no-audit', '--no-fund', '--prefer-offline'], { stdio: 'inherit' }),
    );
  }
  fs.rmSync(path.join(EX, 'dist'), { recursive: true, force: true });
  step('taro build --type weapp', () =>
    execFileSync(process.execPath, [require.resolve('@tarojs/cli/bin/taro', { paths: [EX] }), 'build', '--type', 'weapp'], {
      cwd: EX,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    }),
  );
  const dist = path.join(EX, 'dist');
  const size = (f) => `${(fs.statSync(path.join(dist, f)).size / 1024).toFixed(1)} KB`;
  const withSdk = fs.readdirSync(dist).filter((f) => f.endsWith('.js') && fs.readFileSync(path.join(dist, f), 'utf8').includes('createTaroAdapter'));
  if (!withSdk.length) throw new Error('the build output does not contain mp-media-sdk (createTaroAdapter)');
  console.log(`example:taro: examples/taro/dist (app.js ${size('app.js')}, taro.js ${size('taro.js')}; the SDK is in ${withSdk.map((f) => `${f} ${size(f)}`).join(', ')}). Open examples/taro in WeChat DevTools.`);
} catch (e) {
  console.error(`example:taro failed: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
