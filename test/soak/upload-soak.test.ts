/**
 * The fault soak, small (issue 15 part 2; the full one is bench/soak.ts): 12 files of 0 B..3 MiB (seeded) through
 * VODUpload over the Node wx runtime against the dev stack, with seeded OSS faults (resets, 500s, slow answers), a
 * token expiry every 5th file and two app kills with a resume in a new runtime (test/soak/engine.ts); 8 videos
 * through AliMediaDownloader with CDN faults (engine-download.ts); 8 files through TencentVodUploader with network
 * faults and a kill (engine-tencent.ts).
 *
 * The fault plan depends on the seed only; the assertions on the plan below hold for this seed on any machine.
 */
import { startDevStack, DevStack } from '../../server';
import { planSoak, runSoak } from './engine';
import { runDownloadSoak } from './engine-download';
import { runTencentSoak } from './engine-tencent';
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
  // Three chunks in flight, as bench/soak.ts: the two races this soak found (a worker past the end after waiting for
  // the memory window; one URL revocation refusing every chunk in flight used up the 403 budget) are fixed in sdk/src/download.
  const DL = { seed: 15, files: 8, maxBytes: 2 * 1024 * 1024, chunkSize: 256 * 1024, parallel: 3, expirePct: 40, dropPct: 40, http500Pct: 40 };

  test('download soak: 8 videos 1 B..2 MiB with 403s mid-file (every PlayURL revoked after N bytes), connections dropped after N bytes and 500s → every file byte-exact (CRC-64), one completion each, every planned fault fired', async () => {
    const res = await runDownloadSoak({ ...DL, urls: { appServerUrl: stack.appServerUrl, cdn: stack.cloud!.cdn!, vod: stack.cloud!.vod, wechat: stack.cloud!.wechat } });
    console.log(res.summary);
    expect(res.problems).toEqual([]);
    expect(res.planned.expire403).toBeGreaterThanOrEqual(2);
    expect(res.planned.drop).toBeGreaterThanOrEqual(2);
    expect(res.planned.http500).toBeGreaterThanOrEqual(2);
    expect(res.fired).toEqual(res.planned);
  });
});

describe('Tencent side (TencentVodUploader over the local vod2 + COS)', () => {
  test('tencent soak: 8 files 0 B..5 MiB with resets, 500s and slow requests on Apply / COS / Commit, and an app kill with a resume → every file byte-exact (read-back + CRC-64), one VOD media each, one finish each, every planned fault fired', async () => {
    const res = await runTencentSoak({
      seed: 15,
      files: 8,
      maxBytes: 5 * 1024 * 1024,
      chunkSize: 1024 * 1024,
      parallel: 2,
      resetPct: 5,
      http500Pct: 5,
      slowPct: 10,
      slowMs: 40,
      kills: 1,
      urls: { appServerUrl: stack.appServerUrl, tvod: stack.cloud!.tvod, wechat: stack.cloud!.wechat },
    });
    console.log(res.summary);
    expect(res.problems).toEqual([]);
    expect(res.fired).toEqual({ ...res.planned, resumed: 1 });
    expect(res.planned.reset).toBeGreaterThanOrEqual(1);
    expect(res.planned.http500).toBeGreaterThanOrEqual(1);
  });
});

