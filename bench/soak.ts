/**
 * The full fault soak (issue 15 part 2; not part of npm test — the small one is test/soak/upload-soak.test.ts):
 *   npx tsx bench/soak.ts
 * 1. VODUpload: 100 files of 0 B..64 MiB (seeded) over the Node wx runtime against the dev stack in its own process,
 *    with 5 % connection resets, 5 % HTTP 500, 10 % slow answers per OSS request, a token expiry every 10 files and
 *    5 app kills (new runtime, same storage, resume) — test/soak/engine.ts;
 * 2. AliMediaDownloader: 20 videos of 1 B..64 MiB, 3 chunks in flight, with a 403 mid-file, a drop after N bytes and
 *    a 500 each at 30 % per video — engine-download.ts;
 * 3. TencentVodUploader: 30 files of 0 B..64 MiB with 5 % resets, 5 % 500, 10 % slow requests and 3 app kills —
 *    engine-tencent.ts.
 * Prints one summary line per system and problems, if any; exits 1 when a check failed. Env: SOAK_SEED (15),
 * SOAK_FILES (100), SOAK_MAX_MB (64), SOAK_PART_MB (1), SOAK_PARALLEL (5), SOAK_KILLS (5), SOAK_DL_FILES (20),
 * SOAK_DL_PARALLEL (3), SOAK_TV_FILES (30), SOAK_ONLY (upload | download | tencent). Results: bench/out/soak.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startStackProcess } from '../test/harness/stack-process';
import { runSoak } from '../test/soak/engine';
import { runDownloadSoak } from '../test/soak/engine-download';
import { runTencentSoak } from '../test/soak/engine-tencent';

async function main(): Promise<void> {
  const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
  const stack = await startStackProcess();
  try {
    const only = process.env.SOAK_ONLY;
    const seed = env('SOAK_SEED', 15);
    const maxBytes = env('SOAK_MAX_MB', 64) * 1024 * 1024;
    const out: Record<string, unknown> = {};
    const lines: string[] = [];
    let problems = 0;
    if (!only || only === 'upload') {
      const res = await runSoak({
        seed,
        files: env('SOAK_FILES', 100),
        maxBytes,
        partSize: env('SOAK_PART_MB', 1) * 1024 * 1024,
        parallel: env('SOAK_PARALLEL', 5),
        resetPct: 5,
        http500Pct: 5,
        slowPct: 10,
        slowMs: 200,
        expiryEvery: 10,
        kills: env('SOAK_KILLS', 5),
        urls: { appServerUrl: stack.appServerUrl, oss: stack.cloud.oss, vod: stack.cloud.vod, wechat: stack.cloud.wechat },
        log: (l) => console.log(l),
      });
      for (const p of res.problems) console.log(`  PROBLEM ${p}`);
      console.log(res.summary);
      lines.push(res.summary);
      problems += res.problems.length;
      out.upload = res;
    }
    if (!only || only === 'download') {
      const res = await runDownloadSoak({
        seed,
        files: env('SOAK_DL_FILES', 20),
        maxBytes,
        chunkSize: 2 * 1024 * 1024,
        parallel: env('SOAK_DL_PARALLEL', 3),
        expirePct: 30,
        dropPct: 30,
        http500Pct: 30,
        urls: { appServerUrl: stack.appServerUrl, cdn: stack.cloud.cdn!, vod: stack.cloud.vod, wechat: stack.cloud.wechat },
        log: (l) => console.log(l),
      });
      for (const p of res.problems) console.log(`  PROBLEM ${p}`);
      console.log(res.summary);
      lines.push(res.summary);
      problems += res.problems.length;
      out.download = res;
    }
    if (!only || only === 'tencent') {
      const res = await runTencentSoak({
        seed,
        files: env('SOAK_TV_FILES', 30),
        maxBytes,
        chunkSize: 2 * 1024 * 1024,
        parallel: 4,
        resetPct: 5,
        http500Pct: 5,
        slowPct: 10,
        slowMs: 200,
        kills: 3,
        urls: { appServerUrl: stack.appServerUrl, tvod: stack.cloud.tvod, wechat: stack.cloud.wechat },
        log: (l) => console.log(l),
      });
      for (const p of res.problems) console.log(`  PROBLEM ${p}`);
      console.log(res.summary);
      lines.push(res.summary);
      problems += res.problems.length;
      out.tencent = res;
    }
    console.log('\nSoak summary:');
    for (const l of lines) console.log(`  ${l}`);
    const dir = path.join(__dirname, 'out');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'soak.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, ...out }, null, 2));
    process.exitCode = problems ? 1 : 0;
  } finally {
    await stack.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
