/**
 * The full fault soak (issue 15 part 2; not part of npm test — the small one is test/soak/upload-soak.test.ts):
 *   npx tsx bench/soak.ts
 * 100 files of 0 B..64 MiB (seeded) through VODUpload over the Node wx runtime against the dev stack in its own
 * process, with 5 % connection resets, 5 % HTTP 500, 10 % slow answers per OSS request, a token expiry every 10
 * files and 5 app kills (new runtime, same storage, resume). Prints one summary line (and the problems, if any);
 * exits 1 when a check failed. Env: SOAK_SEED (15), SOAK_FILES (100), SOAK_MAX_MB (64), SOAK_PART_MB (1),
 * SOAK_PARALLEL (5), SOAK_KILLS (5). Results also go to bench/out/soak.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startStackProcess } from '../test/harness/stack-process';
import { runSoak } from '../test/soak/engine';

async function main(): Promise<void> {
  const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
  const stack = await startStackProcess();
  try {
    const res = await runSoak({
      seed: env('SOAK_SEED', 15),
      files: env('SOAK_FILES', 100),
      maxBytes: env('SOAK_MAX_MB', 64) * 1024 * 1024,
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
    const out = path.join(__dirname, 'out');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'soak.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, ...res }, null, 2));
    process.exitCode = res.problems.length ? 1 : 0;
  } finally {
    await stack.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
