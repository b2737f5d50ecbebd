/**
 * scripts/preview.js (`npm run preview` / `npm run upload`) as a user runs it: a child process, its exit code and its
 * output. No test reaches WeChat: with a key, MP_PROXY points miniprogram-ci at a closed loopback port, which is what
 * "no network" looks like (miniprogram-ci needs servicewechat.com before it even compiles).
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(120000);

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/preview.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script with a clean MP_* environment plus `extra`. */
function run(args: string[], extra: Record<string, string>): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, MP_CI_VERBOSE: undefined };
  for (const k of Object.keys(env)) if (k.startsWith('MP_')) delete env[k];
  Object.assign(env, extra);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, env: env as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port with nothing listening (bound then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let dir: string;
let pemKey: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preview-test-'));
  pemKey = path.join(dir, 'private.wx0123456789abcdef.key');
  fs.writeFileSync(pemKey, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const noStack = (r: Run) => {
  const all = `${r.stdout}\n${r.stderr}`;
  expect(all).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  expect(all).not.toMatch(/Unhandled|ERR_UNHANDLED_REJECTION|Node\.js v\d/);
};

describe('npm run preview / upload (scripts/preview.js)', () => {
  test.each(['preview', 'upload'])('%s without a key: a clear message naming MP_APPID / MP_PRIVATE_KEY_PATH and the 上传密钥 page, exit 0, nothing attempted', async (cmd) => {
    const r = await run([cmd], { MP_APPID: 'wx0123456789abcdef' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toContain(`${cmd} skipped: no code-upload key`);
    expect(r.stdout).toContain('MP_PRIVATE_KEY_PATH');
    expect(r.stdout).toContain('小程序代码上传密钥');
    expect(r.stdout).not.toContain('building'); // no build, no miniprogram-ci
  });

  test.each([
    ['preview', 'a PEM key file (MP_PRIVATE_KEY_PATH)', (k: string) => ({ MP_PRIVATE_KEY_PATH: k })],
    ['upload', 'a PEM key file (MP_PRIVATE_KEY_PATH)', (k: string) => ({ MP_PRIVATE_KEY_PATH: k, MP_VERSION: '0.0.1', MP_DESC: 'test' })],
    ['preview', 'garbage key text (MP_PRIVATE_KEY)', () => ({ MP_PRIVATE_KEY: 'not a key' })],
  ])('%s with %s but no network: ONE error line (code 20001, servicewechat.com unreachable), exit 1, no stack trace, no unhandled rejection', async (cmd, _what, key) => {
    const port = await closedPort();
    const r = await run([cmd, '--no-build'], { MP_APPID: 'wx0123456789abcdef', MP_PROXY: `http://127.0.0.1:${port}`, ...(key as (k: string) => Record<string, string>)(pemKey) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${cmd} failed: \\[20001\\] .*servicewechat\\.com is unreachable`));
    noStack(r);
  });

  test('a key path that does not exist: one line naming it, exit 1 (before miniprogram-ci)', async () => {
    const r = await run(['preview', '--no-build'], { MP_APPID: 'wx0123456789abcdef', MP_PRIVATE_KEY_PATH: path.join(dir, 'nope.key') });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`preview failed: MP_PRIVATE_KEY_PATH: no such file ${path.join(dir, 'nope.key')}`);
    noStack(r);
  });

  test('a key but no usable AppID (unset, project.config.json has touristappid) or a bad MP_ROBOT: one line, exit 1', async () => {
    const a = await run(['upload', '--no-build'], { MP_PRIVATE_KEY_PATH: pemKey });
    expect(a.code).toBe(1);
    expect(a.stderr.trim()).toMatch(/^upload failed: MP_APPID must be your mini-program's AppID .*got "\(unset\)"$/);
    const b = await run(['preview', '--no-build'], { MP_APPID: 'wx0123456789abcdef', MP_PRIVATE_KEY_PATH: pemKey, MP_ROBOT: '31' });
    expect(b.code).toBe(1);
    expect(b.stderr.trim()).toBe('preview failed: MP_ROBOT must be an integer 1…30, got "31"');
    noStack(a);
    noStack(b);
  });
});

describe('the QR miniprogram-ci returns (a JPEG data URI, qrcodeFormat "base64") → a PNG file and a terminal QR', () => {
  /**
   * In a child Node process (jimp loads in ~2 s there, ~25 s through jest's module registry): draws a real QR code
   * for `url` (qrcode-terminal's encoder) into a JPEG data URI as miniprogram-ci returns it, runs the script's
   * writeQr on it, then decodes the PNG it wrote. Prints {decoded, printed, signature} as JSON.
   */
  const child = `
    const path = require('node:path');
    const fs = require('node:fs');
    const from = { paths: [path.dirname(require.resolve('miniprogram-ci'))] };
    const Jimp = require(require.resolve('jimp', from));
    const QrReader = require(require.resolve('qrcode-reader', from));
    const QRCode = require(require.resolve('qrcode-terminal/vendor/QRCode', from));
    const level = require(require.resolve('qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel', from));
    const { writeQr } = require(path.resolve('scripts/preview.js'));
    const [url, png] = process.argv.slice(1);
    (async () => {
      const qr = new QRCode(-1, level.M);
      qr.addData(url);
      qr.make();
      const n = qr.getModuleCount(), scale = 8, img = new Jimp((n + 8) * scale, (n + 8) * scale, 0xffffffff);
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c))
        for (let y = 0; y < scale; y++) for (let x = 0; x < scale; x++) img.setPixelColor(0x000000ff, (c + 4) * scale + x, (r + 4) * scale + y);
      const dataUri = await img.getBase64Async(Jimp.MIME_JPEG);
      const printed = [];
      const log = console.log;
      console.log = (...a) => printed.push(a.join(' '));
      await writeQr(dataUri, png);
      console.log = log;
      const image = await Jimp.read(png);
      const decoded = await new Promise((resolve, reject) => {
        const reader = new QrReader();
        reader.callback = (err, v) => (err ? reject(err) : resolve(v.result));
        reader.decode(image.bitmap);
      });
      const signature = fs.readFileSync(png).subarray(0, 8).toString('hex');
      process.stdout.write(JSON.stringify({ jpeg: dataUri.startsWith('data:image/jpeg;base64,'), decoded, printed, signature }));
    })().catch((e) => { console.error(e); process.exit(1); });
  `;

  test('writes a PNG that decodes to the same QR content, and prints the QR as text', async () => {
    const url = 'https://open.weixin.qq.com/sns/getexpappinfo?appid=wx0123456789abcdef&path=pages%2Fupload%2Fupload#wechat-redirect';
    const png = path.join(dir, 'out', 'qr.png');
    const r = await new Promise<Run>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', child, url, png], { cwd: ROOT });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('error', reject);
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { jpeg: boolean; decoded: string; printed: string[]; signature: string };
    expect(out.jpeg).toBe(true);
    expect(out.signature).toBe('89504e470d0a1a0a'); // a PNG file
    expect(out.decoded).toBe(url);
    expect(out.printed).toHaveLength(1);
    expect(out.printed[0].split('\n').length).toBeGreaterThan(10); // a block-character QR
  });
});
