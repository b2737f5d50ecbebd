/**
 * Minified size of the upload entry: esbuild bundles sdk/src/vod-upload/index.ts (VODUpload + everything it
 * imports: the Aliyun primitives, crypto-js sub-modules, the platform layer with the wx adapter), minified, ES2017.
 * Compared with the official mini SDK file (aliyun-upload-sdk-1.0.1.min.js, 84,919 B). Target ≤ 42 KB (43,008 B).
 * Also printed: gzip, and the bundle without the shared platform layer (which every SDK module uses).
 *
 *   npx tsx bench/size.ts
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { runIfMain } from './common';

export const OFFICIAL_MINI_SDK_BYTES = 84919;
export const SIZE_TARGET_BYTES = 42 * 1024;

export interface SizeResult {
  minifiedBytes: number;
  gzipBytes: number;
  withoutPlatformBytes: number;
  vsOfficial: number;
  withinTarget: boolean;
  largestInputs: Array<[string, number]>;
}

async function bundle(external: string[] = []) {
  const r = await build({
    entryPoints: [path.join(__dirname, '../sdk/src/vod-upload/index.ts')],
    bundle: true,
    minify: true,
    format: 'cjs',
    platform: 'neutral',
    target: 'es2017',
    write: false,
    metafile: true,
    external,
    logLevel: 'silent',
  });
  return { code: r.outputFiles[0].contents, meta: r.metafile };
}

export async function runSize(opts: { log?: (s: string) => void } = {}): Promise<SizeResult> {
  const log = opts.log || ((s: string) => console.log(s));
  const full = await bundle();
  const noPlatform = await bundle(['../platform', '../platform/*', '../errors']);
  const out = Object.values(full.meta.outputs)[0];
  const largest = Object.entries(out.inputs)
    .map(([k, v]) => [k.replace(/^.*node_modules\//, ''), v.bytesInOutput] as [string, number])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  const result: SizeResult = {
    minifiedBytes: full.code.length,
    gzipBytes: gzipSync(full.code).length,
    withoutPlatformBytes: noPlatform.code.length,
    vsOfficial: full.code.length / OFFICIAL_MINI_SDK_BYTES,
    withinTarget: full.code.length <= SIZE_TARGET_BYTES,
    largestInputs: largest,
  };
  log(
    `size of the upload entry (esbuild --bundle --minify, es2017): ${result.minifiedBytes} B (gzip ${result.gzipBytes} B; ${result.withoutPlatformBytes} B without the shared platform layer)` +
      ` → ${result.vsOfficial.toFixed(2)}× the official mini SDK (84,919 B); target ≤ ${SIZE_TARGET_BYTES} B: ${(result.minifiedBytes / SIZE_TARGET_BYTES).toFixed(2)}×`,
  );
  log(`  largest inputs: ${largest.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return result;
}

runIfMain(module, runSize);
