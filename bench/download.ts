/**
 * Download benchmarks (not part of npm test), the dev stack in its own process:
 *   1. throughput: a 160 MiB MP4 track through AliMediaDownloader vs one plain Node fetch of the same PlayURL
 *      streamed to a file (ratio), over two adapters:
 *        - "wx runtime": Node wx runtime → our wx adapter (what the mini-program runs; the runtime opens one
 *          connection per request and copies each body twice, as a stand-in for WeChat's native side);
 *        - "node adapter": the same SDK code over a thin injected adapter (keep-alive http, one copy per body,
 *          fs.appendFile), i.e. the SDK's own cost without the runtime's;
 *   2. memory: peak (heapUsed + arrayBuffers) above the baseline during each SDK run vs (parallel + 1) × chunk + 16 MiB;
 *   3. resume: the app killed at ~50 % (requests held there), restoreUnfinished → start; bytes fetched twice vs
 *      parallel × chunk;
 *   4. HLS → MP4: remux time per minute of media (a 60 s TS rendition made with ffmpeg when it is installed, else the
 *      committed 6 s clip ×10), output checked with mp4box (sample count).
 *
 *   npx tsx bench/download.ts         (BENCH_DL_MB=160 BENCH_CHUNK_MB=2 BENCH_PARALLEL=3)
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { appendFile as nodeAppendFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AliMediaDownloader, AppClient, createInjectedAdapter, createWxAdapter, MediaKitError, PlatformErrorCode } from '../sdk/src';
import type { HttpResponse, PlatformAdapter, RequestOptions, VidSts } from '../sdk/src';
import { TsToMp4 } from '../sdk/src/download/hls';
import { createWxRuntime, WxRuntime } from '../test/harness/wx-runtime';
import { mp4Info } from '../test/harness/mp4-inspect';
import { MEDIA_DIR } from '../server/cloud/aliyun-vod/play';
import { fmtMiB, MiB, runIfMain, startStack, type BenchStack } from './common';

export interface DownloadBenchResult {
  sizeBytes: number;
  chunkSize: number;
  parallel: number;
  seconds: { sdk: number; sdkNode: number; fetch: number; http: number };
  mibPerSecond: { sdk: number; sdkNode: number; fetch: number; http: number };
  /** through the Node wx runtime */
  sdkVsFetch: number;
  /** through the thin Node adapter */
  sdkNodeVsFetch: number;
  memory: { peakOverBaseline: number; peakOverBaselineNode: number; budget: number; withinBudget: boolean; withinBudgetNode: boolean };
  resume: { committedAtKill: number; refetchedBytes: number; budget: number; withinBudget: boolean };
  remux: { mediaSeconds: number; seconds: number; secondsPerMinute: number; videoSamples: number; expectedVideoSamples: number; source: string };
}

function adapterOf(rt: WxRuntime): PlatformAdapter {
  return { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
}

/**
 * The SDK over plain Node I/O: keep-alive http (GET, arraybuffer or JSON), the body received into one buffer sized by
 * Content-Length (one copy), fs.appendFile on the runtime's real paths; everything else (storage, stat, rename, …)
 * from the wx runtime. Diagnostic only: the mini-program uses the wx adapter.
 */
function nodeDownloadAdapter(rt: WxRuntime, agent: http.Agent): PlatformAdapter {
  const base = adapterOf(rt);
  const request = <T>(o: RequestOptions): Promise<HttpResponse<T>> =>
    new Promise<HttpResponse<T>>((resolve0, reject0) => {
      // a keep-alive socket keeps its last request / response and their listeners alive: the listeners reach the
      // promise only through `cb`, which is emptied once settled (else the promise would keep the body alive)
      const noop = () => undefined;
      const cb: { resolve: (v: HttpResponse<T>) => void; reject: (e: unknown) => void } = { resolve: resolve0, reject: reject0 };
      const resolve = (v: HttpResponse<T>) => {
        const f = cb.resolve;
        cb.resolve = noop;
        cb.reject = noop;
        f(v);
      };
      const reject = (e: unknown) => {
        const f = cb.reject;
        cb.resolve = noop;
        cb.reject = noop;
        f(e);
      };
      const req = http.request(o.url, { method: o.method || 'GET', headers: { ...o.header }, agent }, (res) => {
        const len = Number(res.headers['content-length']);
        let body: Uint8Array | undefined = Number.isFinite(len) ? new Uint8Array(len) : undefined;
        const parts: Buffer[] = [];
        let at = 0;
        res.on('data', (d: Buffer) => {
          if (body && at + d.length <= body.length) body.set(d, at);
          else parts.push(d);
          at += d.length;
        });
        res.on('end', () => {
          if (!body || parts.length) body = new Uint8Array(Buffer.concat(parts.length && body ? [Buffer.from(body.buffer, 0, Math.min(at, body.length)), ...parts] : parts));
          const header: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') header[k] = v;
          let data: unknown = body.buffer;
          if (o.responseType !== 'arraybuffer') {
            const text = Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8');
            data = text;
            if (o.dataType !== 'text') {
              try {
                data = JSON.parse(text);
              } catch {
                /* text */
              }
            }
          }
          body = undefined;
          parts.length = 0;
          resolve({ statusCode: res.statusCode || 0, header, data: data as T });
        });
        res.on('error', reject);
      });
      const off = o.signal ? o.signal.onAbort(() => req.destroy(new MediaKitError(PlatformErrorCode.Aborted, 'aborted'))) : undefined;
      req.on('close', () => off && off());
      req.on('error', reject);
      if (o.data !== undefined) req.end(typeof o.data === 'string' ? o.data : o.data instanceof ArrayBuffer ? Buffer.from(o.data) : JSON.stringify(o.data));
      else req.end();
    });
  return createInjectedAdapter({
    ...base,
    name: 'node',
    request: request as PlatformAdapter['request'],
    fs: { ...base.fs, appendFile: (p: string, data: ArrayBuffer) => nodeAppendFile(rt.files.realPath(p), new Uint8Array(data)) },
  });
}

/** One SDK download of the bench video; resolves with seconds and the peak memory above the baseline. */
async function sdkRun(stack: BenchStack, rt: WxRuntime, adapter: PlatformAdapter, vid: string, size: number, chunk: number, parallel: number, sample: boolean): Promise<{ seconds: number; peak: number; url: string }> {
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: adapterOf(rt) });
  const d = new AliMediaDownloader({ adapter, chunkSize: chunk, parallel });
  d.setSaveDirectory(`${rt.wx.env.USER_DATA_PATH}/dl`);
  const info = await d.prepare(await stsSource(stack, app, vid));
  d.selectTrack(0);
  if (global.gc) global.gc();
  const base = process.memoryUsage();
  const baseline = base.heapUsed + base.arrayBuffers;
  let peak = 0;
  // with --expose-gc every sample is live memory (a gc first); without it, uncollected garbage counts too
  // (timed runs do not sample: a forced gc every 100 ms would slow the SDK run and not the fetch)
  const sampler = sample
    ? setInterval(() => {
        if (global.gc) global.gc();
        const m = process.memoryUsage();
        if (m.heapUsed + m.arrayBuffers - baseline > peak) {
          peak = m.heapUsed + m.arrayBuffers - baseline;
          if (process.env.BENCH_DL_DEBUG) console.log(`  peak ${fmtMiB(peak)}: heap +${fmtMiB(m.heapUsed - base.heapUsed)}, arrayBuffers +${fmtMiB(m.arrayBuffers - base.arrayBuffers)}, progress ${fmtMiB(d.progress.written)}`);
        }
      }, global.gc ? 100 : 20)
    : undefined;
  const t0 = Date.now();
  const file = await d.start();
  const seconds = (Date.now() - t0) / 1000;
  if (sampler) clearInterval(sampler);
  const got = statSync(rt.files.realPath(file)).size;
  if (got !== size) throw new Error(`downloaded ${got} bytes, expected ${size}`);
  rmSync(rt.files.realPath(file), { force: true });
  return { seconds, peak, url: info.tracks[0].vodPlayUrl };
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

    // ---- 1: throughput, best of `rounds` for each of fetch / SDK over the wx runtime / SDK over the Node adapter,
    //         interleaved so that load on the machine hits all three alike
    // ---- 2: memory, one sampled run per adapter
    const budget = (parallel + 1) * chunk + 16 * MiB;
    const rounds = Number(process.env.BENCH_DL_ROUNDS || 2);
    const steps = (process.env.BENCH_DL_STEPS || 'fetch,wx,node,memory,resume,remux').split(',');
    const sb1 = path.join(os.tmpdir(), `dl-bench-${process.pid}-1`);
    sandboxes.push(sb1);
    const rt = createWxRuntime({ wechatUrl: stack.cloud.wechat, openid: 'obenchdl', sandboxDir: sb1 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const fetchOnce = async (): Promise<number> => {
      // a fresh PlayURL of the same track (GetPlayInfo through the wx runtime, not timed)
      const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: adapterOf(rt) });
      const probe = new AliMediaDownloader({ adapter: adapterOf(rt) });
      const url = (await probe.prepare(await stsSource(stack, app, vid))).tracks[0].vodPlayUrl;
      const dst = path.join(work, 'fetch.out');
      const t1 = Date.now();
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`fetch: ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dst));
      const sec = (Date.now() - t1) / 1000;
      if (statSync(dst).size !== size) throw new Error('fetch: short file');
      rmSync(dst, { force: true });
      return sec;
    };
    /** The same, with node:http (no WHATWG streams): the fastest single-connection Node client here. */
    const httpOnce = async (): Promise<number> => {
      const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: adapterOf(rt) });
      const probe = new AliMediaDownloader({ adapter: adapterOf(rt) });
      const url = (await probe.prepare(await stsSource(stack, app, vid))).tracks[0].vodPlayUrl;
      const dst = path.join(work, 'http.out');
      const t1 = Date.now();
      await new Promise<void>((resolve, reject) => {
        http
          .get(url, (res) => {
            if (res.statusCode !== 200) return reject(new Error(`http: ${res.statusCode}`));
            pipeline(res, createWriteStream(dst)).then(resolve, reject);
          })
          .on('error', reject);
      });
      const sec = (Date.now() - t1) / 1000;
      if (statSync(dst).size !== size) throw new Error('http: short file');
      rmSync(dst, { force: true });
      return sec;
    };
    let fetchSec = Infinity;
    let httpSec = Infinity;
    let sdkSec = Infinity;
    let nodeSec = Infinity;
    for (let r = 0; r < rounds; r++) {
      if (steps.includes('fetch')) fetchSec = Math.min(fetchSec, await fetchOnce());
      if (steps.includes('fetch')) httpSec = Math.min(httpSec, await httpOnce());
      if (steps.includes('wx')) sdkSec = Math.min(sdkSec, (await sdkRun(stack, rt, adapterOf(rt), vid, size, chunk, parallel, false)).seconds);
      if (steps.includes('node')) nodeSec = Math.min(nodeSec, (await sdkRun(stack, rt, nodeDownloadAdapter(rt, agent), vid, size, chunk, parallel, false)).seconds);
    }
    let peak = NaN;
    let peakNode = NaN;
    if (steps.includes('memory')) {
      peak = (await sdkRun(stack, rt, adapterOf(rt), vid, size, chunk, parallel, true)).peak;
      // a fresh agent: idle keep-alive sockets of the timed runs hold on to their last buffers (not the SDK's memory)
      const memAgent = new http.Agent({ keepAlive: true, maxSockets: 10 });
      peakNode = (await sdkRun(stack, rt, nodeDownloadAdapter(rt, memAgent), vid, size, chunk, parallel, true)).peak;
      memAgent.destroy();
    }
    agent.destroy();
    await rt.close();
    rmSync(sb1, { recursive: true, force: true });
    const nodeRun = { seconds: nodeSec, peak: peakNode };

    // ---- 3: kill at ~50 %, restore, finish
    let committedAtKill = NaN;
    let refetched = NaN;
    if (steps.includes('resume')) {
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
    committedAtKill = dA.progress.written;
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
    refetched = run1 + run2 - size;
    }

    // ---- 4: HLS → MP4 remux per minute of media
    let remux: DownloadBenchResult['remux'] = { mediaSeconds: NaN, seconds: NaN, secondsPerMinute: NaN, videoSamples: NaN, expectedVideoSamples: NaN, source: 'skipped' };
    let mp4Fragmented = false;
    if (steps.includes('remux')) {
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
    mp4Fragmented = mp4.isFragmented;
    remux = { mediaSeconds, seconds: remuxSec, secondsPerMinute: (remuxSec * 60) / mediaSeconds, videoSamples: vSamples, expectedVideoSamples: mediaSeconds * 25, source };
    }

    const result: DownloadBenchResult = {
      sizeBytes: size,
      chunkSize: chunk,
      parallel,
      seconds: { sdk: sdkSec, sdkNode: nodeRun.seconds, fetch: fetchSec, http: httpSec },
      mibPerSecond: { sdk: size / MiB / sdkSec, sdkNode: size / MiB / nodeRun.seconds, fetch: size / MiB / fetchSec, http: size / MiB / httpSec },
      sdkVsFetch: fetchSec / sdkSec,
      sdkNodeVsFetch: fetchSec / nodeRun.seconds,
      memory: { peakOverBaseline: peak, peakOverBaselineNode: nodeRun.peak, budget, withinBudget: peak <= budget, withinBudgetNode: nodeRun.peak <= budget },
      resume: { committedAtKill, refetchedBytes: refetched, budget: parallel * chunk, withinBudget: refetched <= parallel * chunk },
      remux,
    };
    log(`download ${fmtMiB(size)}, chunk ${fmtMiB(chunk)} × ${parallel}`);
    log(`  SDK (wx runtime)     ${sdkSec.toFixed(2)} s  ${result.mibPerSecond.sdk.toFixed(1)} MiB/s`);
    log(`  SDK (node adapter)   ${nodeRun.seconds.toFixed(2)} s  ${result.mibPerSecond.sdkNode.toFixed(1)} MiB/s`);
    log(`  Node fetch           ${fetchSec.toFixed(2)} s  ${result.mibPerSecond.fetch.toFixed(1)} MiB/s  (the peer; one connection)`);
    log(`  Node http.get        ${httpSec.toFixed(2)} s  ${result.mibPerSecond.http.toFixed(1)} MiB/s  (one connection, no web streams)`);
    log(`  ratio SDK/fetch      wx runtime ${result.sdkVsFetch.toFixed(2)}×, node adapter ${result.sdkNodeVsFetch.toFixed(2)}× (target ≥ 0.9×; best of ${rounds}, interleaved)`);
    log(`  ratio SDK/http.get   wx runtime ${(httpSec / sdkSec).toFixed(2)}×, node adapter ${(httpSec / nodeRun.seconds).toFixed(2)}×`);
    log(`  memory${global.gc ? ' (live, --expose-gc)' : ' (no --expose-gc: includes garbage)'}, budget ${fmtMiB(budget)}:`);
    log(`    wx runtime   peak over baseline ${fmtMiB(peak)} → ${(peak / budget).toFixed(2)}× of budget`);
    log(`    node adapter peak over baseline ${fmtMiB(nodeRun.peak)} → ${(nodeRun.peak / budget).toFixed(2)}× of budget`);
    log(`  resume: killed at ${fmtMiB(committedAtKill)} committed; fetched twice ${fmtMiB(refetched)}, budget ${fmtMiB(parallel * chunk)} → ${(refetched / (parallel * chunk)).toFixed(2)}×`);
    log(`  remux HLS→MP4: ${remux.seconds.toFixed(2)} s for ${remux.mediaSeconds} s of media → ${remux.secondsPerMinute.toFixed(2)} s per minute (${remux.source}); mp4box: ${remux.videoSamples} video samples (expected ${remux.expectedVideoSamples}), fragmented=${mp4Fragmented}`);
    return result;
  } finally {
    for (const s of sandboxes) rmSync(s, { recursive: true, force: true });
    await stack.close();
  }
}

runIfMain(module, runDownload);
