/**
 * Issue 15 part 3, the SDK rows of the bad-input table (docs/errors.md "SDK"): every case in test/hostile/sdk-rows.ts
 * gives one SDK client one bad option, file or throwing callback through the Node wx runtime against the dev stack,
 * and must come out with its SDK error code and a message, exactly its terminal events, the warning that names a
 * throwing callback, and a runtime left idle (nothing stuck). An escaped throw (unhandled rejection / uncaught
 * exception) fails the running test.
 */
import { sdkRows } from './sdk-rows';
import { startSdkEnv } from './sdk-harness';
import { until } from '../harness/until';
import type { SdkEnv } from './sdk-harness';

jest.setTimeout(120000);

let env: SdkEnv;
beforeAll(async () => {
  env = await startSdkEnv();
});
afterAll(async () => {
  await env.close();
});

describe.each(sdkRows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  const run = (kase: (typeof row.cases)[number]) => async () => {
    const ctx = env.context();
    const out = await kase.run(env, ctx);
    const want = kase.expect;
    const problems: string[] = [];
    if (out.code !== want.code) problems.push(`code ${String(out.code)} (${out.message}), expected ${want.code}`);
    if (want.code !== 'OK' && (typeof out.message !== 'string' || out.message.length < 10)) problems.push(`no clear message: ${JSON.stringify(out.message)}`);
    if (want.terminal && JSON.stringify(out.terminal) !== JSON.stringify(want.terminal)) problems.push(`terminal events ${JSON.stringify(out.terminal)}, expected ${JSON.stringify(want.terminal)}`);
    if (want.warn && !ctx.warnings.some((w) => want.warn!.test(w))) problems.push(`no warning matching ${want.warn}: ${JSON.stringify(ctx.warnings)}`);
    // nothing stuck: every request, app timer and delivery the case started comes to an end (no retry loop, no timer
    // re-arming itself); a wait for that condition, guarded by until()'s hang cap
    await until(() => ctx.rt.idle(), 'the runtime to go idle after the case').catch(() => problems.push(`runtime never went idle: ${JSON.stringify(ctx.rt.inflight())}, ${ctx.rt.timers.pending} timers`));
    await ctx.rt.close();
    expect(problems).toEqual([]);
  };
  for (const kase of row.cases) {
    if (kase.knownBug) test.failing(`${kase.name} → ${kase.expect.code} [KNOWN BUG: ${kase.knownBug}]`, run(kase));
    else test(`${kase.name} → ${kase.expect.code}`, run(kase));
  }
});

test('the SDK part of the table has at least 40 cases across the five clients', () => {
  const n = sdkRows.reduce((k, r) => k + r.cases.length, 0);
  expect(n).toBeGreaterThanOrEqual(40);
  for (const client of ['VODUpload', 'TencentVodUploader', 'AliMediaDownloader', 'PolyvPlayer', 'IVVAS']) expect(sdkRows.some((r) => r.name.startsWith(client))).toBe(true);
});
