/**
 * The SDK as an npm user gets it: `npm pack` in a copy of sdk/ laid out as in a fresh clone (no miniprogram_dist:
 * the `prepack` script must build it), `npm install` of that tarball into a scratch mini-program, 构建 npm on it
 * (miniprogram-ci packNpmManually, as DevTools does), and a page that requires 'mp-media-sdk' loaded with mini-program
 * module resolution (test/harness/mp-require.ts). Temp dirs are removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mpRequire } from '../harness/mp-require';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ci = require('miniprogram-ci') as { packNpmManually(o: { packageJsonPath: string; miniprogramNpmDistDir: string; ignores?: string[] }): Promise<{ warnList?: unknown[] }> };

const ROOT = path.resolve(__dirname, '../..');
const NPM_CLI = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string; size: number }>;
}

/** sdk/ without build output or installs, next to scripts/build-sdk.js and the repository's node_modules: a fresh clone after `npm ci`. */
function freshCloneOfSdk(into: string): string {
  const skip = new Set(['miniprogram_dist', 'node_modules']);
  const copy = (from: string, to: string) => {
    fs.mkdirSync(to, { recursive: true });
    for (const e of fs.readdirSync(from, { withFileTypes: true })) {
      if (skip.has(e.name)) continue;
      if (e.isDirectory()) copy(path.join(from, e.name), path.join(to, e.name));
      else fs.copyFileSync(path.join(from, e.name), path.join(to, e.name));
    }
  };
  copy(path.join(ROOT, 'sdk'), path.join(into, 'sdk'));
  fs.mkdirSync(path.join(into, 'scripts'));
  fs.copyFileSync(path.join(ROOT, 'scripts/build-sdk.js'), path.join(into, 'scripts/build-sdk.js'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(into, 'node_modules'), 'dir');
  return path.join(into, 'sdk');
}

describe('mp-media-sdk as an npm package (npm pack → npm install → 构建 npm → require in a page)', () => {
  let tmp: string;
  let pack: PackResult;
  let tarball: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-package-'));
    const sdkDir = freshCloneOfSdk(path.join(tmp, 'clone'));
    fs.mkdirSync(path.join(tmp, 'packed'));
    const out = execFileSync(NPM_CLI, ['pack', '--json', '--pack-destination', path.join(tmp, 'packed')], { cwd: sdkDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // The prepack build prints a line on stdout before npm's JSON.
    pack = (JSON.parse(out.slice(out.indexOf('[\n'))) as PackResult[])[0];
    tarball = path.join(tmp, 'packed', pack.filename);
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('npm pack in a fresh clone runs prepack and ships the built SDK, README and LICENSE (no TypeScript sources)', () => {
    expect(fs.existsSync(tarball)).toBe(true);
    const files = pack.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'miniprogram_dist/index.js', 'miniprogram_dist/index.d.ts', 'miniprogram_dist/vendor/crypto-js.js']));
    expect(files.filter((f) => !/^(package\.json|README\.md|LICENSE|miniprogram_dist\/.+\.(js|d\.ts))$/.test(f))).toEqual([]);
    expect(files.length).toBeGreaterThan(30);
    expect(pack.size).toBeGreaterThan(20 * 1024);
  });

  it('installs into a scratch mini-program, 构建 npm builds it into miniprogram_npm, and a page requires it with mini-program resolution', async () => {
    const mp = path.join(tmp, 'mini');
    fs.mkdirSync(path.join(mp, 'pages/index'), { recursive: true });
    fs.writeFileSync(path.join(mp, 'package.json'), JSON.stringify({ name: 'scratch-mini', version: '1.0.0', private: true }, null, 2));
    fs.writeFileSync(path.join(mp, 'app.json'), JSON.stringify({ pages: ['pages/index/index'] }));
    fs.writeFileSync(
      path.join(mp, 'pages/index/index.js'),
      [
        "const sdk = require('mp-media-sdk');",
        'const VODUpload = sdk.default;',
        'Page({',
        '  data: { exports: Object.keys(sdk).sort() },',
        '  sdk: sdk,',
        '  uploaderType: typeof VODUpload,',
        '});',
      ].join('\n'),
    );
    // The tarball has no dependencies: nothing is fetched from a registry.
    execFileSync(NPM_CLI, ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], { cwd: mp, stdio: 'pipe' });
    const installed = JSON.parse(fs.readFileSync(path.join(mp, 'node_modules/mp-media-sdk/package.json'), 'utf8'));
    expect(installed).toMatchObject({ name: 'mp-media-sdk', miniprogram: 'miniprogram_dist', license: 'MIT' });
    expect(JSON.parse(fs.readFileSync(path.join(mp, 'package.json'), 'utf8')).dependencies['mp-media-sdk']).toMatch(/^file:/);

    const result = await ci.packNpmManually({ packageJsonPath: path.join(mp, 'package.json'), miniprogramNpmDistDir: mp, ignores: [] });
    expect(result.warnList || []).toEqual([]);
    expect(fs.readdirSync(path.join(mp, 'miniprogram_npm'))).toEqual(['mp-media-sdk']);
    expect(fs.existsSync(path.join(mp, 'miniprogram_npm/mp-media-sdk/index.js'))).toBe(true);

    let page: Record<string, unknown> | undefined;
    mpRequire(path.join(mp, 'pages/index/index.js'), { root: mp, globals: { Page: (o: Record<string, unknown>) => (page = o) } });
    expect(page).toBeDefined();
    const exported = (page!.data as { exports: string[] }).exports;
    expect(exported).toEqual(expect.arrayContaining(['default', 'AppClient', 'MediaKitError', 'createWxAdapter', 'createTaroAdapter', 'PolyvPlayer', 'IVVAS', 'IVMessageMgr']));
    expect(page!.uploaderType).toBe('function'); // import VODUpload from 'mp-media-sdk'
    // A real object from the packed code, made in the page's context.
    const sdk = page!.sdk as Record<string, new (...a: unknown[]) => unknown>;
    const err = new sdk.MediaKitError('InvalidParameter', 'probe') as { code: string; message: string };
    expect([err.code, err.message]).toEqual(['InvalidParameter', 'probe']);
  });
});
