/**
 * Tencent VOD upload benchmarks (dev stack in its own process; the client side — SDKs + Node wx runtime — here):
 *   throughput  one file (BENCH_MB, 256 MiB) uploaded through the SAME Node wx runtime by
 *                 1. our TencentVodUploader (createWxAdapter → wx.request parts, CRC-64 per part),
 *                 2. the official vod-wx-sdk-v2 1.1.2 (bundled cos-wx-sdk-v5: MD5 per part, ListMultipartUploads…),
 *               and by 3. cos-nodejs-sdk-v5 sliceUploadFile over Node http with the same part size and parallelism
 *               (session credentials from an Apply). Alternating rounds (BENCH_ROUNDS, 2); the best counts.
 *   memory      peak heap + ArrayBuffers over the baseline while ours uploads (sampled every 5 ms; with
 *               node --expose-gc also the live peak) against (parallel + 1) × part + 16 MiB.
 *   resend      kill the app at ~50 % (rt.kill()), a new runtime on the same sandbox resumes: part bytes re-sent
 *               against parallel × part.
 * Part size BENCH_PART_MB (8, the official default), parallelism BENCH_PARALLEL (6, the official default).
 *
 *   npx tsx bench/tencent.ts        or   node --expose-gc --import tsx bench/tencent.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWxAdapter, TencentVodUploader } from '../sdk/src';
import type { PlatformAdapter } from '../sdk/src';
import http from 'node:http';
import { client, Client, closeAll, fmtMiB, MiB, nodeAdapter, runIfMain, startStack, tempFile, BenchStack } from './common';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import COS = require('cos-nodejs-sdk-v5');

const gc = (globalThis as { gc?: () => void }).gc;

function tencentClient(stack: BenchStack, extra: Parameters<typeof client>[1] = {}): Client {
  return client(stack, { hostMap: { 'vod2.qcloud.com': stack.cloud.tvod, 'vod2.dnsv1.com': stack.cloud.tvod }, ...extra });
}

const signature = (c: Client) => () => c.app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature);

function ours(c: Client, wxPath: string, partSize: number, parallel: number, adapter: PlatformAdapter = createWxAdapter(c.rt.wx), vodHost?: string, verifyCrc64 = true) {
  return TencentVodUploader.start({ adapter, vodHost, vodBackupHost: vodHost, mediaFile: { tempFilePath: wxPath }, mediaName: 'bench', getSignature: signature(c), chunkSize: partSize, chunkParallelLimit: parallel, verifyCrc64 });
}

let official: { start(o: unknown): unknown } | undefined;
function runOfficial(c: Client, wxPath: string, size: number, partSize: number, parallel: number): Promise<{ fileId: string }> {
  if (!official) {
    c.rt.install();
    const g = globalThis as Record<string, unknown>;
    g.window = g;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    official = require('vod-wx-sdk-v2');
  }
  const log = console.log;
  console.log = () => undefined; // its telemetry logs every report
  return new Promise<{ fileId: string }>((resolve, reject) => {
    official!.start({
      mediaFile: { tempFilePath: wxPath, size },
      mediaName: 'official',
      getSignature: (cb: (s: string) => void) => void signature(c)().then(cb, reject),
      chunkSize: partSize,
      chunkParallelLimit: parallel,
      progress: () => undefined,
      finish: resolve,
      error: (e: unknown) => reject(new Error(`official: ${JSON.stringify(e)}`)),
    });
  }).finally(() => {
    console.log = log;
  });
}

async function runCosNode(stack: BenchStack, c: Client, realPath: string, partSize: number, parallel: number): Promise<void> {
  const sig = await signature(c)();
  const apply = (await (await fetch(`${stack.cloud.tvod}/v3/index.php?Action=ApplyUploadUGC`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signature: sig, videoName: 'cos-node', videoType: 'mp4' }) })).json()) as any;
  const d = apply.data;
  const t = d.tempCertificate;
  const cos = new COS({
    getAuthorization: (_o: unknown, cb: (a: unknown) => void) => cb({ TmpSecretId: t.secretId, TmpSecretKey: t.secretKey, SecurityToken: t.token, StartTime: d.timestamp, ExpiredTime: t.expiredTime }),
    Protocol: 'http:',
    Proxy: stack.cloud.cos,
    ChunkParallelLimit: parallel,
  } as any);
  await new Promise((resolve, reject) =>
    cos.sliceUploadFile({ Bucket: `${d.storageBucket}-${d.storageAppId}`, Region: d.storageRegionV5, Key: d.video.storagePath.replace(/^\//, ''), FilePath: realPath, ChunkSize: partSize } as any, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))),
  );
}

export async function runTencentBench(opts: { log?: (s: string) => void } = {}) {
  const log = opts.log || ((s: string) => console.log(s));
  const size = Number(process.env.BENCH_MB || 256) * MiB;
  const partSize = Number(process.env.BENCH_PART_MB || 8) * MiB;
  const parallel = Number(process.env.BENCH_PARALLEL || 6);
  const rounds = Number(process.env.BENCH_ROUNDS || 2);
  const stack = await startStack();
  const c = tencentClient(stack);
  const result: Record<string, unknown> = { sizeBytes: size, partSize, parallel };
  try {
    await c.app.login();
    const wxPath = tempFile(c.rt, `tbench-${size}.mp4`, size);
    const real = c.rt.files.realPath(wxPath);
    // warm-up (untimed): every contender once on a small file, so no round pays for JIT or the cold stack
    const warm = tempFile(c.rt, 'tbench-warm.mp4', 2 * partSize + 1);
    await ours(c, warm, partSize, parallel).done();
    await runOfficial(c, warm, 2 * partSize + 1, partSize, parallel);
    await runCosNode(stack, c, c.rt.files.realPath(warm), partSize, parallel);
    // ---- throughput
    const best = { ours: Infinity, official: Infinity, cosNode: Infinity, oursNoCrc: Infinity };
    for (let r = 0; r < rounds; r++) {
      let t = Date.now();
      await ours(c, wxPath, partSize, parallel).done();
      best.ours = Math.min(best.ours, (Date.now() - t) / 1000);
      t = Date.now();
      await runOfficial(c, wxPath, size, partSize, parallel);
      best.official = Math.min(best.official, (Date.now() - t) / 1000);
      t = Date.now();
      await runCosNode(stack, c, real, partSize, parallel);
      best.cosNode = Math.min(best.cosNode, (Date.now() - t) / 1000);
      t = Date.now();
      await ours(c, wxPath, partSize, parallel, undefined, undefined, false).done();
      best.oursNoCrc = Math.min(best.oursNoCrc, (Date.now() - t) / 1000);
      log(`  round ${r + 1}: ours ${best.ours.toFixed(2)} s, vod-wx-sdk-v2 ${best.official.toFixed(2)} s, cos-nodejs-sdk-v5 ${best.cosNode.toFixed(2)} s, ours without the CRC-64 check ${best.oursNoCrc.toFixed(2)} s (best so far)`);
    }
    const mibps = (s: number) => size / MiB / s;
    result.throughput = { seconds: best, oursVsOfficial: best.official / best.ours, oursVsCosNode: best.cosNode / best.ours };
    log(
      `throughput ${fmtMiB(size)}, part ${fmtMiB(partSize)} × ${parallel}: ours ${mibps(best.ours).toFixed(0)} MiB/s, vod-wx-sdk-v2 ${mibps(best.official).toFixed(0)} MiB/s, cos-nodejs-sdk-v5 ${mibps(best.cosNode).toFixed(0)} MiB/s` +
        ` → ours/official = ${(best.official / best.ours).toFixed(2)}× (target ≥ 1.0), ours/cos-nodejs = ${(best.cosNode / best.ours).toFixed(2)}× (target ≥ 0.9)`,
    );

    // ---- memory (ours): through the wx runtime (which, like WeChat, copies each request body), and over a thin Node
    // adapter (no runtime copies: what the SDK itself holds)
    const measure = async (adapter?: PlatformAdapter, vodHost?: string) => {
      if (gc) gc();
      await new Promise((r) => setTimeout(r, 50));
      if (gc) gc();
      const m0 = process.memoryUsage();
      const base = m0.heapUsed + m0.arrayBuffers;
      let peak = 0;
      let peakLive: number | undefined;
      const timer = setInterval(() => {
        const m = process.memoryUsage();
        peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base);
      }, 5);
      const liveTimer = gc
        ? setInterval(() => {
            gc();
            const m = process.memoryUsage();
            peakLive = Math.max(peakLive || 0, m.heapUsed + m.arrayBuffers - base);
          }, 25)
        : undefined;
      await ours(c, wxPath, partSize, parallel, adapter, vodHost).done();
      clearInterval(timer);
      if (liveTimer) clearInterval(liveTimer);
      return { peak, peakLive, measured: peakLive !== undefined ? peakLive : peak };
    };
    const budget = (parallel + 1) * partSize + 16 * MiB;
    const viaRuntime = await measure();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    // the Node adapter has no host mapping: point the SDK at the local vod2 listener itself
    const viaNode = await measure(nodeAdapter(createWxAdapter(c.rt.wx), real, agent), stack.cloud.tvod);
    agent.destroy();
    result.memory = { budgetBytes: budget, viaRuntime, viaNodeAdapter: viaNode, ratio: viaRuntime.measured / budget, nodeAdapterRatio: viaNode.measured / budget };
    log(
      `memory: through the wx runtime peak heap+buffers +${fmtMiB(viaRuntime.peak)}${viaRuntime.peakLive !== undefined ? `, live +${fmtMiB(viaRuntime.peakLive)}` : ' (node --expose-gc for the live peak)'} → ${(viaRuntime.measured / budget).toFixed(2)}× of ${fmtMiB(budget)} ((parallel+1) × part + 16 MiB);` +
        ` over a Node adapter (no runtime copies) +${fmtMiB(viaNode.measured)} → ${(viaNode.measured / budget).toFixed(2)}×`,
    );
  } finally {
    await c.close();
  }

  // ---- resend after a kill at ~50 %
  const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'tbench-resend-'));
  try {
    const rsize = Number(process.env.BENCH_RESEND_MB || 128) * MiB;
    const c1 = tencentClient(stack, { sandboxDir, openid: 'obenchresend' });
    await c1.app.login();
    const wxPath = tempFile(c1.rt, 'tresend.mp4', rsize);
    const adapter = { ...createWxAdapter(c1.rt.wx), setTimeout: c1.rt.timers.setTimeout, clearTimeout: c1.rt.timers.clearTimeout };
    let killed = false;
    const up1 = TencentVodUploader.start({
      adapter, mediaFile: { tempFilePath: wxPath }, getSignature: signature(c1), chunkSize: partSize, chunkParallelLimit: parallel, progressInterval: 0,
      progress: (p) => {
        if (!killed && p.loaded >= rsize / 2) {
          killed = true;
          c1.rt.kill();
        }
      },
    });
    up1.done().catch(() => undefined);
    while (!killed) await new Promise((r) => setTimeout(r, 5));
    const partBytes = (cl: Client) => cl.rt.requests.filter((q) => q.method === 'PUT' && /[?&]partNumber=/.test(q.url)).reduce((a, q) => a + q.bytesSent, 0);
    const sent1 = partBytes(c1);
    const c2 = tencentClient(stack, { sandboxDir, openid: 'obenchresend' });
    await c2.app.login();
    await TencentVodUploader.start({ adapter: createWxAdapter(c2.rt.wx), mediaFile: { tempFilePath: wxPath }, getSignature: signature(c2), chunkSize: partSize, chunkParallelLimit: parallel }).done();
    const sent2 = partBytes(c2);
    await c2.close();
    await c1.close();
    const resent = Math.max(0, sent1 + sent2 - rsize);
    const rbudget = parallel * partSize;
    result.resend = { sizeBytes: rsize, sentBeforeKill: sent1, sentAfter: sent2, resentBytes: resent, budgetBytes: rbudget, ratio: resent / rbudget };
    log(`resend ${fmtMiB(rsize)}: sent ${fmtMiB(sent1)} before the kill, ${fmtMiB(sent2)} after → re-sent ${fmtMiB(resent)} = ${(resent / rbudget).toFixed(2)}× of parallel × part (${fmtMiB(rbudget)})`);
  } finally {
    rmSync(sandboxDir, { recursive: true, force: true });
    await closeAll({ close: async () => undefined }, stack);
  }
  return result;
}

runIfMain(module, runTencentBench);
