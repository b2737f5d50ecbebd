/**
 * The fault soak, small (issue 15 part 2; the full one is bench/soak.ts): 12 files of 0 B..3 MiB (seeded) through
 * VODUpload over the Node wx runtime against the dev stack, with seeded OSS faults (resets, 500s, slow answers), a
 * token expiry every 5th file and two app kills with a resume in a new runtime. See test/soak/engine.ts.
 *
 * The fault plan depends on the seed only; the assertions on the plan below hold for this seed on any machine.
 */
import { startDevStack, DevStack } from '../../server';
import { planSoak, runSoak } from './engine';
import { runDownloadSoak } from './engine-download';
import type { SoakOptions } from './engine';

jest.setTimeout(240000);

let stack: DevStack;
beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
});
afterAll(async () => {
  await stack.close();
});

const SMALL: Omit<SoakOptions, 'urls'> = {
  seed: 15,
  files: 12,
  maxBytes: 3 * 1024 * 1024,
  partSize: 200 * 1024,
  parallel: 3,
  resetPct: 5,
  http500Pct: 5,
  slowPct: 10,
  slowMs: 40,
  expiryEvery: 5,
  kills: 2,
};

test('the plan is a function of the seed: same seed → same sizes and faults; it has at least one reset, 500, slow answer, mid-upload expiry and kill', () => {
  const a = planSoak(SMALL);
  expect(planSoak(SMALL)).toEqual(a);
  expect(planSoak({ ...SMALL, seed: 16 })).not.toEqual(a);
  const kinds = a.flatMap((p) => p.faults.map((f) => f.kind));
  for (const k of ['reset', 'http500', 'slow'] as const) expect(kinds.filter((x) => x === k).length).toBeGreaterThanOrEqual(1);
  expect(a.filter((p) => p.expiry && typeof p.expiry.at === 'number').length).toBeGreaterThanOrEqual(1);
  expect(a.filter((p) => p.killAt !== undefined)).toHaveLength(2);
  expect(a[0].size).toBe(0);
});

test('soak: 12 files 0 B..3 MiB with resets, 500s, slow parts, token expiries and 2 app kills → every object byte-exact (read-back + CRC-64), one VOD video per file, onUploadEnd in every run, every planned fault fired', async () => {
  const res = await runSoak({ ...SMALL, urls: { appServerUrl: stack.appServerUrl, oss: stack.cloud!.oss, vod: stack.cloud!.vod, wechat: stack.cloud!.wechat } });
  console.log(res.summary);
  expect(res.problems).toEqual([]);
  expect(res.perFile.map((f) => f.state)).toEqual(Array(12).fill('Success'));
  expect(res.fired.kill).toBe(2);
  expect(res.fired.resumed).toBe(2);
  expect(res.runs).toBe(3);
  expect(res.uploadEnds).toBe(1);
  expect(res.fired.reset).toBe(res.planned.reset);
  expect(res.fired.http500).toBe(res.planned.http500);
  expect(res.fired.slow).toBe(res.planned.slow);
  expect(res.fired.expiry).toBe(res.planned.expiry);
  expect(res.planned.reset + res.planned.http500).toBeGreaterThanOrEqual(2);
});

describe('download side (AliMediaDownloader over the local VOD CDN)', () => {
  // No HTTP 500s here: a retried 500 can make the downloader ask for a range past the end (ERROR_NETWORK_HTTP_RANGE,
  // timing-dependent; reported to the owner of sdk/src/download). bench/soak.ts runs them and reports what happens.
  const DL = { seed: 15, files: 8, maxBytes: 2 * 1024 * 1024, chunkSize: 256 * 1024, parallel: 2, expirePct: 40, dropPct: 40, http500Pct: 0 };

  test('download soak: 8 videos 1 B..2 MiB with 403s mid-file (every PlayURL revoked after N bytes) and connections dropped after N bytes → every file byte-exact (CRC-64), one completion each, every planned fault fired', async () => {
    const res = await runDownloadSoak({ ...DL, urls: { appServerUrl: stack.appServerUrl, cdn: stack.cloud!.cdn!, vod: stack.cloud!.vod, wechat: stack.cloud!.wechat } });
    console.log(res.summary);
    expect(res.problems).toEqual([]);
    expect(res.planned.expire403).toBeGreaterThanOrEqual(2);
    expect(res.planned.drop).toBeGreaterThanOrEqual(2);
    expect(res.fired).toEqual({ ...res.planned, http500: 0 });
  });
});
