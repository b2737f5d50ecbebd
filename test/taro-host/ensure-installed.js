/**
 * jest globalSetup of the `taro` project: installs this fixture (the real @tarojs/taro runtime, kept out of the root
 * lock) with `npm ci --prefix test/taro-host` when node_modules is missing or differs from the fixture's lock.
 * So `npm test` works on a fresh clone and in CI (.ci/run: `npm ci` then `npm test`) with no extra step.
 * npm ci runs with --prefer-offline: a warm npm cache installs without the network.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = __dirname;

/** Lock entries whose installed package.json is missing or has another version. */
function stale() {
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
  const out = [];
  for (const [where, entry] of Object.entries(lock.packages || {})) {
    if (!where || entry.link) continue;
    const pj = path.join(dir, where, 'package.json');
    let version;
    try {
      version = JSON.parse(fs.readFileSync(pj, 'utf8')).version;
    } catch (_) {
      version = undefined;
    }
    if (version !== entry.version) out.push(`${where.replace(/^node_modules\//, '')}@${entry.version}`);
  }
  return out;
}

module.exports = async function ensureTaroHost() {
  const missing = stale();
  if (!missing.length) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  process.stdout.write(`\ntest/taro-host: installing the Taro fixture (${missing.length} package(s) missing or changed): npm ci --prefix test/taro-host\n`);
  try {
    execFileSync(npm, ['ci', '--prefix', dir, '--no-audit', '--no-fund', '--prefer-offline'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    throw new Error(`test/taro-host: "npm ci --prefix test/taro-host" failed (${e.message}). The real-Taro tests need it; run it by hand when the npm registry is reachable.`);
  }
  const still = stale();
  if (still.length) throw new Error(`test/taro-host: still missing after npm ci: ${still.join(', ')}`);
};

if (require.main === module) module.exports().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
