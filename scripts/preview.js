#!/usr/bin/env node
/**
 * `npm run preview` / `npm run upload`: the demo mini-program through miniprogram-ci (no DevTools needed).
 *
 *   MP_APPID=wx…  MP_PRIVATE_KEY_PATH=./private.wx….key  npm run preview     # QR in the terminal + a PNG
 *   MP_APPID=wx…  MP_PRIVATE_KEY_PATH=…  MP_VERSION=1.2.0 MP_DESC="…"  npm run upload
 *
 * Environment:
 *   MP_APPID              the mini-program's AppID (default: project.config.json's appid, unless "touristappid")
 *   MP_PRIVATE_KEY_PATH   the code-upload key file (小程序代码上传密钥), or
 *   MP_PRIVATE_KEY        the key's PEM text (CI secrets), written to a 0600 temp file for the run
 *   MP_ROBOT              CI robot 1…30 (default 1); each robot is a separate "developer" on the 版本管理 page
 *   MP_VERSION            upload: version (default: package.json version)
 *   MP_DESC               description (default: "mp-media-kit <version> (<git commit>)")
 *   MP_QR_PATH            preview: where the PNG goes (default .tmp/preview-qr.png)
 *   MP_PAGE_PATH / MP_SEARCH_QUERY   preview: open this page with this query (e.g. pages/player/player, vid=…)
 *   MP_PROXY              an HTTP proxy for servicewechat.com (miniprogram-ci's proxy())
 *   MP_CI_VERBOSE=1       show miniprogram-ci's own log lines
 * Flags: --no-build (skip `npm run build`; the demo's JS and miniprogram_npm must already be built).
 *
 * Without a key: one message, exit 0, nothing attempted (so CI without secrets stays green). Any failure (bad key,
 * no network, IP not whitelisted, …): one `preview failed: …` line on stderr and exit 1, never a stack trace.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const command = process.argv[2];
const flags = new Set(process.argv.slice(3));
const env = process.env;


/** Thrown for a problem we explain in one line. */
class Stop extends Error {}

let finished = false;
let ciRunning = false;
let tempKeyDir;

function cleanup() {
  if (tempKeyDir) fs.rmSync(tempKeyDir, { recursive: true, force: true });
  tempKeyDir = undefined;
}

/** The one line a failure prints; miniprogram-ci's errors carry a numeric code and often a JSON message. */
function describe(e) {
  if (e instanceof Stop) return e.message;
  const code = e && (e.code !== undefined ? e.code : e.errCode);
  let msg = e && e.message !== undefined ? e.message : String(e);
  try {
    const j = JSON.parse(msg);
    if (j && typeof j === 'object') msg = j.errMsg || j.errmsg || j.message || msg;
  } catch (_) {
    /* plain text */
  }
  msg = String(msg).split('\n')[0].trim();
  const hints = [];
  if (code === 20001 || /getrandstr|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket|network/i.test(msg)) {
    hints.push(env.MP_PROXY ? `servicewechat.com is unreachable through MP_PROXY=${env.MP_PROXY}` : 'servicewechat.com is unreachable (no network? behind a proxy: set MP_PROXY)');
  }
  if (code === 20002 || /signature/i.test(msg)) hints.push('the key does not match MP_APPID, or the key file is damaged: download a new one');
  if (/\bip\b|白名单|whitelist/i.test(msg)) hints.push('add this machine\'s IP to the upload IP whitelist (or turn the whitelist off)');
  return `${code !== undefined ? `[${code}] ` : ''}${msg}${hints.length ? ` — ${hints.join('; ')}` : ''}`;
}

function fail(e) {
  if (finished) return;
  finished = true;
  cleanup();
  console.error(`${command} failed: ${describe(e)}`);
  process.exit(1);
}


function readConfig() {
  const keyPath = env.MP_PRIVATE_KEY_PATH && env.MP_PRIVATE_KEY_PATH.trim();
  const keyText = env.MP_PRIVATE_KEY && env.MP_PRIVATE_KEY.trim();
  if (!keyPath && !keyText) return undefined;
  const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'));
  const appid = (env.MP_APPID || '').trim() || (project.appid !== 'touristappid' ? project.appid : '');
  if (!/^wx[0-9a-f]{16}$/i.test(appid)) {
    throw new Stop(`MP_APPID must be your mini-program's AppID (wx + 16 hex characters, mp.weixin.qq.com → 开发管理 → 开发设置), got "${appid || '(unset)'}"`);
  }
  let privateKeyPath;
  if (keyPath) {
    privateKeyPath = path.resolve(keyPath);
    if (!fs.existsSync(privateKeyPath) || !fs.statSync(privateKeyPath).isFile()) throw new Stop(`MP_PRIVATE_KEY_PATH: no such file ${privateKeyPath}`);
  } else {
    tempKeyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-ci-key-'));
    privateKeyPath = path.join(tempKeyDir, `private.${appid}.key`);
    fs.writeFileSync(privateKeyPath, `${keyText.replace(/\\n/g, '\n')}\n`, { mode: 0o600 });
  }
  const robot = env.MP_ROBOT ? Number(env.MP_ROBOT) : 1;
  if (!Number.isInteger(robot) || robot < 1 || robot > 30) throw new Stop(`MP_ROBOT must be an integer 1…30, got "${env.MP_ROBOT}"`);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const version = (env.MP_VERSION || pkg.version).trim();
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch (_) {
    /* not a git checkout */
  }
  const desc = env.MP_DESC || `mp-media-kit ${version}${commit ? ` (${commit})` : ''}`;
  const qrPath = path.resolve(ROOT, env.MP_QR_PATH || '.tmp/preview-qr.png');
  return { appid, privateKeyPath, robot, version, desc, qrPath };
}

/** miniprogram-ci logs through console.*; keep its lines out of the way unless MP_CI_VERBOSE is set. */
function quietConsole() {
  const saved = {};
  const lines = [];
  if (env.MP_CI_VERBOSE === '1') return { lines, restore() {} };
  for (const k of ['log', 'info', 'debug', 'warn', 'error']) {
    saved[k] = console[k];
    console[k] = (...a) => lines.push(a.map(String).join(' '));
  }
  return {
    lines,
    restore() {
      Object.assign(console, saved);
    },
  };
}

/** miniprogram-ci's QR comes as a JPEG; write a PNG and print it in the terminal, with the libraries ci ships. */
async function writeQr(dataUri, pngPath) {
  const from = { paths: [path.dirname(require.resolve('miniprogram-ci'))] };
  const Jimp = require(require.resolve('jimp', from));
  const QrReader = require(require.resolve('qrcode-reader', from));
  const qrTerminal = require(require.resolve('qrcode-terminal', from));
  const image = await Jimp.read(Buffer.from(String(dataUri).replace(/^data:image\/\w+;base64,/, ''), 'base64'));
  fs.mkdirSync(path.dirname(pngPath), { recursive: true });
  await image.writeAsync(pngPath);
  const text = await new Promise((resolve, reject) => {
    const reader = new QrReader();
    reader.callback = (err, value) => (err || !value ? reject(err || new Error('QR not readable')) : resolve(value.result));
    reader.decode(image.bitmap);
  });
  qrTerminal.generate(text, { small: true }, (ascii) => console.log(ascii));
}

async function main() {
  const config = readConfig();
  if (!config) {
    console.log(
      `${command} skipped: no code-upload key. Set MP_APPID and MP_PRIVATE_KEY_PATH (or MP_PRIVATE_KEY) — create the key at ` +
        'mp.weixin.qq.com → 开发管理 → 开发设置 → 小程序代码上传密钥 (and whitelist this IP); see README "Preview and upload".',
    );
    return;
  }
  if (!flags.has('--no-build')) {
    console.log('building the demo (npm run build) …');
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const quiet = quietConsole();
  let result;
  let tmpQr;
  ciRunning = true;
  try {
    const ci = require('miniprogram-ci');
    if (env.MP_PROXY) ci.proxy(env.MP_PROXY);
    const project = new ci.Project({
      appid: config.appid,
      type: 'miniProgram',
      projectPath: ROOT,
      privateKeyPath: config.privateKeyPath,
      ignores: ['node_modules/**/*', 'examples/**/*', 'test/**/*', 'server/**/*', 'bench/**/*', 'sdk/**/*', 'docs/**/*', '.tmp/**/*'],
    });
    const common = { project, desc: config.desc, robot: config.robot, setting: { useProjectConfig: true } };
    if (command === 'preview') {
      tmpQr = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-ci-qr-')), 'qr.txt');
      result = await ci.preview({
        ...common,
        qrcodeFormat: 'base64',
        qrcodeOutputDest: tmpQr,
        pagePath: env.MP_PAGE_PATH || undefined,
        searchQuery: env.MP_SEARCH_QUERY || undefined,
      });
    } else {
      result = await ci.upload({ ...common, version: config.version });
    }
  } finally {
    quiet.restore();
  }
  ciRunning = false;
  if (command === 'preview') {
    await writeQr(fs.readFileSync(tmpQr, 'utf8'), config.qrPath);
    fs.rmSync(path.dirname(tmpQr), { recursive: true, force: true });
    console.log(`preview ready (robot ${config.robot}, "${config.desc}"): scan the QR above with WeChat; PNG: ${path.relative(process.cwd(), config.qrPath)}`);
  } else {
    console.log(`uploaded ${config.version} (robot ${config.robot}, "${config.desc}"): submit it for review at mp.weixin.qq.com → 管理 → 版本管理.`);
  }
  const sizes = result && result.subPackageInfo;
  if (Array.isArray(sizes)) for (const s of sizes) console.log(`  ${s.name === '__FULL__' ? 'total' : s.name}: ${(s.size / 1024).toFixed(1)} KB`);
}

module.exports = { writeQr };

if (require.main === module) {
  if (command !== 'preview' && command !== 'upload') {
    console.error('usage: node scripts/preview.js preview|upload [--no-build]');
    process.exit(2);
  }
  // miniprogram-ci keeps a background compiler whose init rejects on its own after a failed call (nobody handles
  // it): report the first failure once, swallow the rest.
  process.on('unhandledRejection', (reason) => {
    if (!finished && !ciRunning) fail(reason);
  });
  process.on('uncaughtException', (e) => fail(e));
  main().then(
    () => {
      finished = true;
      cleanup();
      // miniprogram-ci leaves its compiler service running; nothing else is pending here.
      process.exit(0);
    },
    (e) => {
      ciRunning = false;
      fail(e);
    },
  );
}
