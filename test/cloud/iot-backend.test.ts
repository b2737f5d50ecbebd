/**
 * The AppServer's Tencent Cloud IoT backend (server/app/iot/tencent.ts) against the local IoT cloud, with a fake
 * clock for its limiter and backoff (no test waits on real time): Tencent's per-action rate limit holds over a page
 * that needs many calls (counted request by request), RequestLimitExceeded is retried with backoff, identical
 * concurrent reads are coalesced, thumbnails are cached until they expire, and the IoT Video (2021-11-25) flavour
 * gives the same IVVAS answers as IoT Explorer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCloud, RunningCloud } from '../../server/cloud';
import { iotProvider } from '../../server/cloud/iot';
import { IoTBindings } from '../../server/app/iot/bindings';
import { MemoryStore } from '../../server/app/store';
import { createTencentIoTBackend, IoTFlavour } from '../../server/app/iot/tencent';
import { IoTBackendError } from '../../server/app/iot/backend';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const USER = 'oIoTBackend00001';
let dataDir: string;
let cloud: RunningCloud;
let devices: Array<{ deviceName: string; name: string }>;

async function admin(method: string, p: string, body?: unknown): Promise<R> {
  const res = await fetch(`${cloud.urls.iot}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return (await res.json()) as R;
}

/** A fake clock: sleeping advances it at once and is recorded. */
function fakeClock() {
  const c = { t: Date.now(), sleeps: [] as number[], now: () => c.t, sleep: async (ms: number) => void (c.sleeps.push(ms), (c.t += ms)) };
  return c;
}

function backend(flavour: IoTFlavour = 'iotexplorer', extra: Partial<Parameters<typeof createTencentIoTBackend>[0]> = {}) {
  const clock = fakeClock();
  const bindings = new IoTBindings(new MemoryStore(), { [USER]: devices.map((d) => ({ deviceName: d.deviceName, productId: 'LOCALCAM01', name: d.name })) });
  const log: Array<[string, number]> = [];
  const b = createTencentIoTBackend({
    flavour,
    apiUrl: () => cloud.urls.iot,
    secretId: DEV_CREDENTIALS.tencent.secretId,
    secretKey: DEV_CREDENTIALS.tencent.secretKey,
    region: 'ap-guangzhou',
    bindings,
    clock,
    onRequest: (a, at) => log.push([a, at]),
    ...extra,
  });
  return { b, clock, log };
}

/** The most requests of one action inside any 1-second window. */
function peakPerSecond(log: Array<[string, number]>, action: string): number {
  const ts = log.filter(([a]) => a === action).map(([, t]) => t);
  let peak = 0;
  for (let i = 0, j = 0; i < ts.length; i++) {
    while (ts[i] - ts[j] >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'iot-backend-'));
  cloud = await startCloud({ dataDir, providers: [iotProvider()], quiet: true });
  devices = (await admin('POST', '/_admin/provision', { openid: USER })).devices;
});
afterAll(async () => {
  await cloud.close();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(async () => {
  await admin('DELETE', '/_admin/faults');
});

test('rate limit: a page of 50 events with a rare filter over 14 days needs more than 40 DescribeCloudStorageEvents calls, never more than 20 in any second (counted per request, and by the cloud)', async () => {
  // Size 20 (pages of 10..20 events): ~1,300 events in 14 days take well over 20 calls whatever the page sizes.
  const { b, clock, log } = backend('iotexplorer', { eventFetchSize: 20 });
  await admin('DELETE', '/_admin/stats');
  const cam = devices[0].deviceName;
  const t0 = clock.now();
  const to = Math.floor(t0 / 1000);
  const from = to - 14 * 86400;
  const SD = 1 << 14; // 存储卡异常: about 2 % of events
  const r = await b.getEventList(USER, cam, { startTime: from, endTime: to, pageSize: 50, typeMasks: [SD], validCloudStorage: false });
  expect(r.code).toBe(0);
  const list = (r.data as R).list as R[];
  // The same answer as the platform's own view, filtered by an independent mask check.
  const truth = ((await admin('GET', `/_admin/devices/${cam}/events?startTime=${from}&endTime=${to}`)).data.list as R[]).filter((e) => (e.alarmType & SD) !== 0);
  expect(list.map((e) => e.alarmId)).toEqual(truth.slice(0, 50).map((e) => e.alarmId));
  const calls = log.filter(([a]) => a === 'DescribeCloudStorageEvents').length;
  expect(calls).toBeGreaterThan(40);
  expect(peakPerSecond(log, 'DescribeCloudStorageEvents')).toBeLessThanOrEqual(20);
  expect(clock.now() - t0).toBeGreaterThanOrEqual(Math.floor((calls - 1) / 20) * 1000); // the limiter had to wait
  for (const a of new Set(log.map(([x]) => x))) expect(peakPerSecond(log, a)).toBeLessThanOrEqual(20);
  expect(log.filter(([a]) => a === 'DescribeCloudStorageThumbnailList')).toHaveLength(1); // one batch per page
  const stats = (await admin('GET', '/_admin/stats')).actions as Record<string, number>;
  expect(stats.DescribeCloudStorageEvents).toBe(calls);
  await b.close();
});

test('RequestLimitExceeded is retried with exponential backoff on the fake clock; still limited after the retries → IoTBackendError', async () => {
  const { b, clock } = backend();
  await admin('POST', '/_admin/faults', { action: 'DescribeCloudStorageDate', code: 'RequestLimitExceeded', times: 2 });
  expect((await b.getVideoDateList(USER, devices[0].deviceName, 28800)).code).toBe(0);
  expect(clock.sleeps).toEqual([250, 500]);
  await admin('POST', '/_admin/faults', { action: 'DescribeCloudStorageDate', code: 'RequestLimitExceeded', times: 5 });
  const err = await b.getVideoDateList(USER, devices[0].deviceName, 28800).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(IoTBackendError);
  expect(err).toMatchObject({ code: 'RequestLimitExceeded' });
  expect(clock.sleeps.slice(2)).toEqual([250, 500, 1000, 2000]);
  await b.close();
});

test('identical concurrent reads share one request; thumbnails are cached until a minute before they expire', async () => {
  const { b, clock, log } = backend();
  const cam = devices[0].deviceName;
  const [x, y] = await Promise.all([b.getVideoDateList(USER, cam, 28800), b.getVideoDateList(USER, cam, 28800)]);
  expect(x).toEqual(y);
  expect(log.filter(([a]) => a === 'DescribeCloudStorageDate')).toHaveLength(1);
  const to = Math.floor(clock.now() / 1000) - 600;
  const q = { startTime: to - 86400, endTime: to, pageSize: 10, typeMasks: [], validCloudStorage: false };
  const first = (await b.getEventList(USER, cam, q)).data as R;
  const second = (await b.getEventList(USER, cam, q)).data as R;
  expect(second.list.map((e: R) => e.imgUrlSuffix)).toEqual(first.list.map((e: R) => e.imgUrlSuffix));
  expect(log.filter(([a]) => a === 'DescribeCloudStorageThumbnailList')).toHaveLength(1);
  clock.t += 3600 * 1000; // past ExpireTime - 60 s
  await b.getEventList(USER, cam, q);
  expect(log.filter(([a]) => a === 'DescribeCloudStorageThumbnailList')).toHaveLength(2);
  await b.close();
});

test('IoT Video 2021-11-25 flavour: the same devices, events, model and typed errors as IoT Explorer', async () => {
  const v = backend('iotvideo');
  const e = backend('iotexplorer');
  const [cam, bell, garage] = devices.map((d) => d.deviceName);
  expect(await v.b.listDevices(USER)).toEqual(await e.b.listDevices(USER));
  const listed = ((await v.b.listDevices(USER)).data as R).list as R[];
  expect(listed.map((d) => d.online)).toEqual([true, true, false, true]);
  const to = Math.floor(Date.now() / 1000) - 600;
  const q = { startTime: to - 86400, endTime: to, pageSize: 20, typeMasks: [0x8000], validCloudStorage: true };
  const ev = (await v.b.getEventList(USER, bell, q)).data as R;
  const ee = (await e.b.getEventList(USER, bell, q)).data as R;
  expect(ev.list.map((x: R) => x.alarmId)).toEqual(ee.list.map((x: R) => x.alarmId));
  expect(ev.list.every((x: R) => (x.alarmType & 0x8000) !== 0)).toBe(true);
  const model = (await v.b.readProperty(USER, cam, '')).data as R;
  expect(Object.keys(model).sort()).toEqual(['Action', 'ProReadonly', 'ProUser', 'ProWritable']);
  expect(model.ProReadonly._online.stVal).toBe(1);
  expect((await v.b.readProperty(USER, garage, 'ProReadonly._online.stVal')).data).toBe(0);
  expect(await v.b.takeAction(USER, garage, 'Action.cameraOn', '{"ctlVal":1}')).toMatchObject({ code: 8000 });
  await admin('POST', `/_admin/devices/${cam}/action-timeout`, { timeout: true });
  try {
    expect(await v.b.takeAction(USER, cam, 'Action.reboot', '{"ctlVal":1}')).toMatchObject({ code: 21002 });
  } finally {
    await admin('POST', `/_admin/devices/${cam}/action-timeout`, { timeout: false });
  }
  expect(await v.b.writeProperty(USER, cam, 'ProWritable._cloudStoage', '{"setVal":1}')).toMatchObject({ code: 21080 });
  await v.b.close();
  await e.b.close();
});
