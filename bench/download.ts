/**
 * Download benchmarks (not part of npm test), the dev stack in its own process:
 *   1. throughput: a 160 MiB MP4 track through AliMediaDownloader (Node wx runtime → wx adapter → Range chunks →
 *      appendFile) vs one plain Node fetch of the same PlayURL streamed to a file (ratio);
 *   2. memory: peak (heapUsed + arrayBuffers) above the baseline during the SDK run vs (parallel + 1) × chunk + 16 MiB;
 *   3. resume: the app killed at ~50 % (requests held there), restoreUnfinished → start; bytes fetched twice vs
 *      parallel × chunk;
 *   4. HLS → MP4: remux time per minute of media (a 60 s TS rendition made with ffmpeg when it is installed, else the
 *      committed 6 s clip ×10), output checked with mp4box (sample count).
 *
 *   npx tsx bench/download.ts         (BENCH_DL_MB=160 BENCH_CHUNK_MB=2 BENCH_PARALLEL=3)
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AliMediaDownloader, AppClient, createWxAdapter } from '../sdk/src';
import type { PlatformAdapter, VidSts } from '../sdk/src';
import { TsToMp4 } from '../sdk/src/download/hls';
import { createWxRuntime, WxRuntime } from '../test/harness/wx-runtime';
import { mp4Info } from '../test/harness/mp4-inspect';
import { MEDIA_DIR } from '../server/cloud/aliyun-vod/play';
import { fmtMiB, MiB, runIfMain, startStack, type BenchStack } from './common';

export interface DownloadBenchResult {
  sizeBytes: number;
  chunkSize: number;
  parallel: number;
  seconds: { sdk: number; fetch: number };
  mibPerSecond: { sdk: number; fetch: number };
  sdkVsFetch: number;
  memory: { peakOverBaseline: number; budget: number; withinBudget: boolean };
  resume: { committedAtKill: number; refetchedBytes: number; budget: number; withinBudget: boolean };
  remux: { mediaSeconds: number; seconds: number; secondsPerMinute: number; videoSamples: number; expectedVideoSamples: number; source: string };
}

function adapterOf(rt: WxRuntime): PlatformAdapter {
  return { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
}

async function admin(base: string, method: string, p: string, body?: unknown): Promise<any> {
  const r = await fetch(`${base}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function stsSource(stack: BenchStack, app: AppClient, vid: string): Promise<VidSts> {
  const r = await app.call<{ Region: string; SecurityTokenInfo: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string } }>('POST', '/api/vod/play-sts', {});
  const k = r.SecurityTokenInfo;
  return { vid, region: r.Region, accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret, securityToken: k.SecurityToken, endpoint: stack.cloud.vod };
}

function bigFile(file: string, size: number): void {
  // a valid-looking MP4 is not needed for a byte-exact transfer; random bytes defeat any compression
  const out = require('node:fs').openSync(file, 'w');
  const block = require('node:crypto').randomBytes(MiB);
  for (let off = 0, i = 0; off < size; off += MiB, i++) {
    block.writeUInt32LE(i, 0);
    require('node:fs').writeSync(out, block, 0, Math.min(MiB, size - off));
  }
  require('node:fs').closeSync(out);
}

export async function runDownload(opts: { log?: (s: string) => void } = {}): Promise<DownloadBenchResult> {
  const log = opts.log || console.log;
  const size = Number(process.env.BENCH_DL_MB || 160) * MiB;
  const chunk = Number(process.env.BENCH_CHUNK_MB || 2) * MiB;
  const parallel = Number(process.env.BENCH_PARALLEL || 3);
  // outside the repository: tsc's include covers bench/, and the 60 s TS segments would look like TypeScript
  const work = path.join(os.tmpdir(), 'mp-media-kit-bench-download');
  mkdirSync(work, { recursive: true });
  const src = path.join(work, `big-${size}.mp4`);
  if (!existsSync(src) || statSync(src).size !== size) bigFile(src, size);
  const stack = await startStack();
  const sandboxes: string[] = [];
  try {
    const sample = await admin(stack.cloud.cdn!, 'POST', '/_admin/samples', { title: 'bench', files: [{ definition: 'HD', file: src }] });
    const vid: string = sample.videoId;

    // ---- 1 + 2: SDK throughput and memory
    const sb1 = path.join(os.tmpdir(), `dl-bench-${process.pid}-1`);
    sandboxes.push(sb1);
    const rt = createWxRuntime({ wechatUrl: stack.cloud.wechat, openid: 'obenchdl', sandboxDir: sb1 });
    const adapter = adapterOf(rt);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    const d = new AliMediaDownloader({ adapter, chunkSize: chunk, parallel });
    d.setSaveDirectory(`${rt.wx.env.USER_DATA_PATH}/dl`);
    const info = await d.prepare(await stsSource(stack, app, vid));
    d.selectTrack(0);
    if (global.gc) global.gc();
    const base = process.memoryUsage();
    const baseline = base.heapUsed + base.arrayBuffers;
    let peak = 0;
    // with --expose-gc every sample is live memory (a gc first); without it, uncollected garbage counts too
    const sampler = setInterval(() => {
      if (global.gc) global.gc();
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - baseline);
    }, global.gc ? 100 : 20);
    const t0 = Date.now();
    const file = await d.start();
    const sdkSec = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const got = statSync(rt.files.realPath(file)).size;
    if (got !== size) throw new Error(`downloaded ${got} bytes, expected ${size}`);
    const budget = (parallel + 1) * chunk + 16 * MiB;
    await rt.close();
    rmSync(sb1, { recursive: true, force: true });

    // plain Node fetch of the same kind of URL (fresh play info: same track), streamed to a file
    const url = info.tracks[0].vodPlayUrl;
    const dst = path.join(work, 'fetch.out');
    const t1 = Date.now();
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`fetch: ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dst));
    const fetchSec = (Date.now() - t1) / 1000;
    rmSync(dst, { force: true });

    // ---- 3: kill at ~50 %, restore, finish
    const sb2 = path.join(os.tmpdir(), `dl-bench-${process.pid}-2`);
    sandboxes.push(sb2);
    const half = Math.floor(size / 2 / chunk) * chunk;
    const rtA = createWxRuntime({ wechatUrl: stack.cloud.wechat, openid: 'obenchdl2', sandboxDir: sb2 });
    const adA = adapterOf(rtA);
    const appA = new AppClient({ baseUrl: stack.appServerUrl, adapter: adA });
    const dA = new AliMediaDownloader({ adapter: adA, chunkSize: chunk, parallel });
    dA.setSaveDirectory(`${rtA.wx.env.USER_DATA_PATH}/dl`);
    await dA.prepare(await stsSource(stack, appA, vid));
    dA.selectTrack(0);
    await admin(stack.cloud.cdn!, 'POST', '/_admin/faults', { type: 'hold', minStart: half, times: null, path: `/${vid}/` });
    dA.start().catch(() => undefined);
    for (;;) {
      const h = await admin(stack.cloud.cdn!, 'GET', '/_admin/holds');
      if (h.held >= 1 && dA.progress.written >= half) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const committedAtKill = dA.progress.written;
    const run1 = rtA.requests.filter((r) => r.url.includes(`/${vid}/`)).reduce((n, r) => n + (r.bytesReceived || 0), 0);
    await rtA.kill();
    await admin(stack.cloud.cdn!, 'DELETE', '/_admin/faults');
    await rtA.close();
    const rtB = createWxRuntime({ wechatUrl: stack.cloud.wechat, openid: 'obenchdl2', sandboxDir: sb2 });
    const adB = adapterOf(rtB);
    const appB = new AppClient({ baseUrl: stack.appServerUrl, adapter: adB });
    const sts = await stsSource(stack, appB, vid);
    const [dB] = await AliMediaDownloader.restoreUnfinished({ adapter: adB, chunkSize: chunk, parallel, source: () => sts });
    await dB.start();
    const run2 = rtB.requests.filter((r) => r.url.includes(`/${vid}/`)).reduce((n, r) => n + (r.bytesReceived || 0), 0);
    await rtB.close();
    const refetched = run1 + run2 - size;

    // ---- 4: HLS → MP4 remux per minute of media
    let segs: Buffer[];
    let mediaSeconds: number;
    let source: string;
    const hlsDir = path.join(work, 'hls60');
    let ffmpeg = false;
    try {
      execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
      ffmpeg = true;
    } catch {
      ffmpeg = false;
    }
    if (ffmpeg) {
      if (!existsSync(path.join(hlsDir, 'index.m3u8'))) {
        mkdirSync(hlsDir, { recursive: true });
        execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=480x270:rate=25:duration=60', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=60', '-c:v', 'libx264', '-profile:v', 'baseline', '-b:v', '250k', '-g', '50', '-c:a', 'aac', '-b:a', '48k', '-ac', '1', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-hls_segment_filename', path.join(hlsDir, 'seg%d.ts'), path.join(hlsDir, 'index.m3u8')]);
      }
      const names = readFileSync(path.join(hlsDir, 'index.m3u8'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
      segs = names.map((n) => readFileSync(path.join(hlsDir, n)));
      mediaSeconds = 60;
      source = 'ffmpeg 60 s 480x270 H.264 + AAC, 30 segments';
    } else {
      segs = [0, 1, 2].map((i) => readFileSync(path.join(MEDIA_DIR, 'clip-6s', '270p', `seg${i}.ts`)));
      mediaSeconds = 6;
      source = 'committed 6 s clip (no ffmpeg), extrapolated';
    }
    let out = Buffer.alloc(0);
    const t2 = Date.now();
    const mux = new TsToMp4((data, pos) => {
      const end = pos + data.length;
      if (end > out.length) out = Buffer.concat([out, Buffer.alloc(end - out.length)]);
      Buffer.from(data).copy(out, pos);
    });
    for (const s of segs) mux.push(new Uint8Array(s));
    mux.finish();
    const remuxSec = (Date.now() - t2) / 1000;
    const mp4 = mp4Info(out);
    const vSamples = mp4.tracks.find((t) => t.type === 'video')!.nb_samples;

    const result: DownloadBenchResult = {
      sizeBytes: size,
      chunkSize: chunk,
      parallel,
      seconds: { sdk: sdkSec, fetch: fetchSec },
      mibPerSecond: { sdk: size / MiB / sdkSec, fetch: size / MiB / fetchSec },
      sdkVsFetch: fetchSec / sdkSec,
      memory: { peakOverBaseline: peak, budget, withinBudget: peak <= budget },
      resume: { committedAtKill, refetchedBytes: refetched, budget: parallel * chunk, withinBudget: refetched <= parallel * chunk },
      remux: { mediaSeconds, seconds: remuxSec, secondsPerMinute: (remuxSec * 60) / mediaSeconds, videoSamples: vSamples, expectedVideoSamples: mediaSeconds * 25, source },
    };
    log(`download ${fmtMiB(size)}, chunk ${fmtMiB(chunk)} × ${parallel}`);
    log(`  SDK (wx runtime)   ${sdkSec.toFixed(2)} s  ${result.mibPerSecond.sdk.toFixed(1)} MiB/s`);
    log(`  Node fetch         ${fetchSec.toFixed(2)} s  ${result.mibPerSecond.fetch.toFixed(1)} MiB/s`);
    log(`  ratio SDK/fetch    ${result.sdkVsFetch.toFixed(2)}×`);
    log(`  memory${global.gc ? ' (live, --expose-gc)' : ' (no --expose-gc: includes garbage)'}:`);
    log(`  memory peak over baseline ${fmtMiB(peak)}, budget ${fmtMiB(budget)} → ${(peak / budget).toFixed(2)}×`);
    log(`  resume: killed at ${fmtMiB(committedAtKill)} committed; fetched twice ${fmtMiB(refetched)}, budget ${fmtMiB(parallel * chunk)} → ${(refetched / (parallel * chunk)).toFixed(2)}×`);
    log(`  remux HLS→MP4: ${remuxSec.toFixed(2)} s for ${mediaSeconds} s of media → ${result.remux.secondsPerMinute.toFixed(2)} s per minute (${source}); mp4box: ${vSamples} video samples (expected ${mediaSeconds * 25}), fragmented=${mp4.isFragmented}`);
    return result;
  } finally {
    for (const s of sandboxes) rmSync(s, { recursive: true, force: true });
    await stack.close();
  }
}

runIfMain(module, runDownload);
