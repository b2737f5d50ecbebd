/**
 * Peak memory while our VODUpload uploads a large file (default 1 GiB) through the Node wx runtime to the local OSS
 * (dev stack in its own process, so this process holds only the client: the SDK + the wx runtime).
 *
 * Measured every 5 ms: heapUsed + arrayBuffers (the JS heap plus every ArrayBuffer / Buffer: the part slices live
 * there) and RSS, each as the peak over the baseline taken right before the upload starts (after a warm-up upload of
 * 16 parts, so compiled code is in the baseline, and a GC).
 * Target: ≤ (parallel + 1) × partSize + 16 MiB over the baseline. The SDK never reads more than `parallel` parts at
 * once, so what remains is garbage not yet collected (V8 decides when) and the runtime's own copies.
 *
 *   npx tsx bench/memory.ts          (BENCH_MEM_MB=1024 BENCH_PART_MB=1 BENCH_PARALLEL=5)
 *   node --expose-gc --import tsx bench/memory.ts   (adds a GC'd baseline)
 */
import http from 'node:http';
import { createWxAdapter } from '../sdk/src';
import type { PlatformAdapter } from '../sdk/src';
import { closeAll, runIfMain, client, Client, fmtMiB, MiB, nodeAdapter, startStack, tempFile, uploadOnce } from './common';

export interface MemoryResult {
  sizeBytes: number;
  partSize: number;
  parallel: number;
  budgetBytes: number;
  peakHeapPlusBuffersOverBaseline: number;
  peakRssOverBaseline: number;
  /** With --expose-gc: the peak of what is still reachable (a full GC before each sample, every 25 ms). */
  peakLiveOverBaseline?: number;
  /** The same upload with the SDK over a thin Node adapter (no wx-runtime copies): live peak (or raw peak without GC). */
  nodeAdapterPeakOverBaseline: number;
  seconds: number;
  withinBudget: boolean;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function measure(c: Client, wxPath: string, partSize: number, parallel: number, adapter?: PlatformAdapter) {
  if (gc) gc();
  await new Promise((r) => setTimeout(r, 50));
  if (gc) gc();
  const m0 = process.memoryUsage();
  const base = m0.heapUsed + m0.arrayBuffers;
  let peak = 0;
  let peakRss = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base);
    peakRss = Math.max(peakRss, m.rss - m0.rss);
  }, 5);
  let peakLive: number | undefined;
  const liveTimer = gc
    ? setInterval(() => {
        gc();
        const m = process.memoryUsage();
        peakLive = Math.max(peakLive || 0, m.heapUsed + m.arrayBuffers - base);
      }, 25)
    : undefined;
  const t = Date.now();
  const info = await uploadOnce(c, wxPath, adapter ? { partSize, parallel, adapter } : { partSize, parallel }).done;
  const seconds = (Date.now() - t) / 1000;
  clearInterval(timer);
  if (liveTimer) clearInterval(liveTimer);
  return { peak, peakRss, peakLive, seconds, info };
}

export async function runMemory(opts: { mb?: number; partMb?: number; parallel?: number; log?: (s: string) => void } = {}): Promise<MemoryResult> {
  const size = (opts.mb ?? Number(process.env.BENCH_MEM_MB || 1024)) * MiB;
  const partSize = (opts.partMb ?? Number(process.env.BENCH_PART_MB || 1)) * MiB;
  const parallel = opts.parallel ?? Number(process.env.BENCH_PARALLEL || 5);
  const log = opts.log || ((s: string) => console.log(s));
  const stack = await startStack();
  const c = client(stack);
  try {
    const wxPath = tempFile(c.rt, `mem-${size}.mp4`, size);
    await c.app.login();
    // warm-up: one small multipart upload first, so the baseline already holds the compiled code of the SDK and
    // the runtime (what we measure is the upload's data, not JIT code)
    const warm = tempFile(c.rt, 'mem-warmup.mp4', 16 * partSize);
    await uploadOnce(c, warm, { partSize, parallel }).done;
    const viaRuntime = await measure(c, wxPath, partSize, parallel);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const viaNode = await measure(c, wxPath, partSize, parallel, nodeAdapter(createWxAdapter(c.rt.wx), c.rt.files.realPath(wxPath), agent));
    agent.destroy();
    const { peak, peakRss, peakLive, seconds, info } = viaRuntime;
    if (info.state !== 'Success') throw new Error('upload failed');
    const budget = (parallel + 1) * partSize + 16 * MiB;
    const result: MemoryResult = {
      sizeBytes: size,
      partSize,
      parallel,
      budgetBytes: budget,
      peakHeapPlusBuffersOverBaseline: peak,
      peakRssOverBaseline: peakRss,
      peakLiveOverBaseline: peakLive,
      nodeAdapterPeakOverBaseline: viaNode.peakLive !== undefined ? viaNode.peakLive : viaNode.peak,
      seconds,
      withinBudget: (peakLive !== undefined ? peakLive : peak) <= budget,
    };
    log(
      `memory ${fmtMiB(size)}, part ${fmtMiB(partSize)} × ${parallel}: peak heap+buffers +${fmtMiB(peak)}, peak RSS +${fmtMiB(peakRss)} over baseline` +
        (peakLive !== undefined ? `, peak live (GC before each sample) +${fmtMiB(peakLive)}` : ' (run with node --expose-gc for the live peak)') +
        ` → ${((peakLive !== undefined ? peakLive : peak) / budget).toFixed(2)}× of the budget ${fmtMiB(budget)} ((parallel+1) × partSize + 16 MiB) in ${seconds.toFixed(1)} s;` +
        ` over a Node adapter (no runtime copies) +${fmtMiB(result.nodeAdapterPeakOverBaseline)} (${(result.nodeAdapterPeakOverBaseline / budget).toFixed(2)}×)`,
    );
    return result;
  } finally {
    await closeAll(c, stack);
  }
}

runIfMain(module, runMemory);
