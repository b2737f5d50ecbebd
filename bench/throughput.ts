/**
 * Throughput: one file (default 256 MiB) uploaded to the same local OSS by
 *   1. our VODUpload (Node wx runtime → createWxAdapter → wx.request PUT parts, CRC-64 per part),
 *   2. ali-oss multipartUpload with the same part size and parallelism,
 *   3. one raw PUT (Node http, V1-signed, streamed from disk) — the ceiling.
 * plus, as a diagnostic, our VODUpload over a thin Node adapter (keep-alive http, fs.read) instead of the wx runtime,
 * which separates the SDK's own cost (CRC-64, signing) from the test runtime's (a new connection and two copies per
 * request). The dev stack runs in its own process. Each contender runs ROUNDS times, alternating; the best counts.
 *
 *   npx tsx bench/throughput.ts            (BENCH_MB=256 BENCH_PART_MB=1 BENCH_PARALLEL=5 BENCH_ROUNDS=2)
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { createWxAdapter } from '../sdk/src';
import OSS from 'ali-oss';
import { ossV1Authorization, formatOssV1Date } from '../sdk/src/aliyun/oss-signature';
import { DEV_CREDENTIALS } from '../server/dev-credentials';
import { closeAll, runIfMain, client, fmtMiB, MiB, nodeAdapter, startStack, tempFile, uploadOnce } from './common';

export interface ThroughputResult {
  sizeBytes: number;
  partSize: number;
  parallel: number;
  seconds: { ours: number; oursNodeAdapter: number; aliOss: number; rawPut: number };
  mibPerSecond: { ours: number; oursNodeAdapter: number; aliOss: number; rawPut: number };
  oursVsAliOss: number;
  oursVsRawPut: number;
}

function rawPut(ossUrl: string, bucket: string, key: string, file: string, size: number): Promise<void> {
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'x-oss-date': formatOssV1Date(Date.now()) };
  headers.Authorization = ossV1Authorization(DEV_CREDENTIALS.aliyun.accessKeyId, DEV_CREDENTIALS.aliyun.accessKeySecret, { method: 'PUT', bucket, key, headers }).authorization;
  headers['Content-Length'] = String(size);
  return new Promise((resolve, reject) => {
    const req = http.request(`${ossUrl}/${bucket}/${key}`, { method: 'PUT', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`raw PUT: ${res.statusCode} ${Buffer.concat(chunks)}`))));
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

export async function runThroughput(opts: { mb?: number; partMb?: number; parallel?: number; rounds?: number; log?: (s: string) => void } = {}): Promise<ThroughputResult> {
  const size = (opts.mb ?? Number(process.env.BENCH_MB || 256)) * MiB;
  const partSize = (opts.partMb ?? Number(process.env.BENCH_PART_MB || 1)) * MiB;
  const parallel = opts.parallel ?? Number(process.env.BENCH_PARALLEL || 5);
  const rounds = opts.rounds ?? Number(process.env.BENCH_ROUNDS || 2);
  const log = opts.log || ((s: string) => console.log(s));
  const stack = await startStack();
  const c = client(stack);
  try {
    const info = (await (await fetch(`${stack.cloud.oss}/_admin/info`)).json()) as { vodBucket: string };
    const bucket = info.vodBucket;
    const wxPath = tempFile(c.rt, `bench-${size}.mp4`, size);
    const real = c.rt.files.realPath(wxPath);
    const ali = new OSS({
      accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId,
      accessKeySecret: DEV_CREDENTIALS.aliyun.accessKeySecret,
      endpoint: stack.cloud.oss,
      bucket,
      region: 'oss-cn-shanghai',
      timeout: 600000,
    } as OSS.Options);
    await c.app.login();
    const best = { ours: Infinity, oursNodeAdapter: Infinity, aliOss: Infinity, rawPut: Infinity };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const direct = nodeAdapter(createWxAdapter(c.rt.wx), real, agent);
    for (let r = 0; r < rounds; r++) {
      let t = Date.now();
      const res = await uploadOnce(c, wxPath, { partSize, parallel }).done;
      if (res.state !== 'Success') throw new Error('our upload did not succeed');
      best.ours = Math.min(best.ours, (Date.now() - t) / 1000);

      t = Date.now();
      const res2 = await uploadOnce(c, wxPath, { partSize, parallel, adapter: direct }).done;
      if (res2.state !== 'Success') throw new Error('our upload (Node adapter) did not succeed');
      best.oursNodeAdapter = Math.min(best.oursNodeAdapter, (Date.now() - t) / 1000);

      t = Date.now();
      await ali.multipartUpload(`bench/ali-oss-${r}.mp4`, real, { partSize, parallel });
      best.aliOss = Math.min(best.aliOss, (Date.now() - t) / 1000);

      t = Date.now();
      await rawPut(stack.cloud.oss, bucket, `bench/raw-${r}.mp4`, real, size);
      best.rawPut = Math.min(best.rawPut, (Date.now() - t) / 1000);
      log(`  round ${r + 1}: ours ${best.ours.toFixed(2)} s, ours/Node adapter ${best.oursNodeAdapter.toFixed(2)} s, ali-oss ${best.aliOss.toFixed(2)} s, raw PUT ${best.rawPut.toFixed(2)} s (best so far)`);
    }
    agent.destroy();
    const objs = (await (await fetch(`${stack.cloud.oss}/_admin/objects?bucket=${bucket}`)).json()) as { objects: Array<{ key: string; size: number }> };
    for (const o of objs.objects) if (o.size !== size) throw new Error(`object ${o.key} has ${o.size} bytes, expected ${size}`);
    const mibps = (s: number) => size / MiB / s;
    const result: ThroughputResult = {
      sizeBytes: size,
      partSize,
      parallel,
      seconds: best,
      mibPerSecond: { ours: mibps(best.ours), oursNodeAdapter: mibps(best.oursNodeAdapter), aliOss: mibps(best.aliOss), rawPut: mibps(best.rawPut) },
      oursVsAliOss: best.aliOss / best.ours,
      oursVsRawPut: best.rawPut / best.ours,
    };
    log(
      `throughput ${fmtMiB(size)}, part ${fmtMiB(partSize)} × ${parallel}: ours ${result.mibPerSecond.ours.toFixed(0)} MiB/s (over a Node adapter ${result.mibPerSecond.oursNodeAdapter.toFixed(0)} MiB/s), ali-oss ${result.mibPerSecond.aliOss.toFixed(0)} MiB/s, raw PUT ${result.mibPerSecond.rawPut.toFixed(0)} MiB/s` +
        ` → ours/ali-oss = ${result.oursVsAliOss.toFixed(2)}× (target ≥ 0.90; over a Node adapter ${(best.aliOss / best.oursNodeAdapter).toFixed(2)}×), ours/raw PUT = ${result.oursVsRawPut.toFixed(2)}×`,
    );
    return result;
  } finally {
    await closeAll(c, stack);
  }
}

runIfMain(module, runThroughput);
