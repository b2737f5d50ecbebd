/**
 * All VOD upload benchmarks in one run, printed as ratios against their targets (not part of npm test):
 *   npm run bench       (= node --expose-gc --import tsx bench/run.ts; `npx tsx bench/run.ts` also works, without the
 *                        live-memory figure that needs --expose-gc)
 * Sizes: BENCH_MB (throughput, 256), BENCH_MEM_MB (memory, 1024), BENCH_RESEND_MB (resend, 64); BENCH_PART_MB (1),
 * BENCH_PARALLEL (5), BENCH_ROUNDS (throughput rounds, best counts, 3). Results also go to bench/out/results.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runMemory } from './memory';
import { runResend } from './resend';
import { runSize } from './size';
import { runThroughput } from './throughput';

async function main(): Promise<void> {
  const lines: string[] = [];
  const log = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  const size = await runSize({ log });
  const throughput = await runThroughput({ rounds: Number(process.env.BENCH_ROUNDS || 3), log });
  const memory = await runMemory({ log });
  const resend = await runResend({ log });
  const verdict = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');
  console.log('\nSummary (ratio vs target):');
  console.log(`  throughput  ours/ali-oss      ${throughput.oursVsAliOss.toFixed(2)}×  (≥ 0.90)      ${verdict(throughput.oursVsAliOss >= 0.9)}`);
  const memPeak = memory.peakLiveOverBaseline !== undefined ? memory.peakLiveOverBaseline : memory.peakHeapPlusBuffersOverBaseline;
  console.log(`  memory      peak/budget       ${(memPeak / memory.budgetBytes).toFixed(2)}×  (≤ 1.00)      ${verdict(memory.withinBudget)}${memory.peakLiveOverBaseline === undefined ? ' (no --expose-gc: includes uncollected garbage)' : ''}`);
  console.log(`  resend      re-sent/budget    ${(resend.resentBytes / resend.budgetBytes).toFixed(2)}×  (≤ 1.00)      ${verdict(resend.withinBudget)}`);
  console.log(`  size        minified/target   ${(size.minifiedBytes / (42 * 1024)).toFixed(2)}×  (≤ 1.00)      ${verdict(size.withinTarget)}`);
  const out = path.join(__dirname, 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'results.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, size, throughput, memory, resend, log: lines }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
