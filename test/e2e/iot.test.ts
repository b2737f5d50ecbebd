/**
 * IoT Video end to end, over real loopback sockets: the Node wx runtime → our wx adapter → AppClient → the
 * AppServer's /api/iot routes → TC3-signed calls → the local IoT cloud. Nothing of ours is mocked. The cloud's dev
 * endpoints (/_admin) stand in for devices: they inject alarms and report the platform's own view ("truth").
 */
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import {
  AppClient,
  createWxAdapter,
  IoTDevice,
  IoTEventPager,
  IoTPlaybackChain,
  IVMessageMgr,
  IVVAS,
  iotDayKey,
  iotDayRange,
  iotFromBase64,
  iotMatchTypeMasks,
  iotUtf8Decode,
  IOT_HAS_VIDEO_BIT,
  isIoTError,
  MediaKitError,
  PlatformAdapter,
} from 'mp-media-sdk';

const BJ = 28800;
const now = () => Math.floor(Date.now() / 1000);

interface TruthEvent {
  alarmId: string;
  firstAlarmType: number;
  alarmType: number;
  startTime: number;
  endTime: number;
}

let stack: DevStack;
let rt: WxRuntime;
let adapter: PlatformAdapter;
let client: AppClient;
let vas: IVVAS;
let msg: IVMessageMgr;
let devices: IoTDevice[];
let cam: IoTDevice; // full-time storage, in use
let bell: IoTDevice; // event storage, in use, expiring soon, no SD card
let garage: IoTDevice; // offline, awaiting renewal
let store: IoTDevice; // expired

/** The cloud's dev endpoints (what a device / an operator does; not the mini-program). */
async function admin<T = any>(method: 'GET' | 'POST', p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.cloud!.iot}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const j = (await res.json()) as T;
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(j)}`);
  return j;
}
const truth = async (deviceId: string, startTime: number, endTime: number): Promise<TruthEvent[]> =>
  (await admin<{ data: { list: TruthEvent[] } }>('GET', `/_admin/devices/${deviceId}/events?startTime=${startTime}&endTime=${endTime}`)).data.list;

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: {} });
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oIoTE2eUser00001' });
  adapter = createWxAdapter(rt.wx);
  client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  vas = new IVVAS({ appClient: client });
  msg = new IVMessageMgr({ appClient: client });
  const r = await vas.getDeviceList();
  devices = r.data!.list;
  [cam, bell, garage, store] = devices;
});
afterAll(async () => {
  await rt.close();
  await stack.close();
});

describe('devices and cloud-storage service', () => {
  test('a new user is bound to the four demo devices, one per cloud-storage situation', async () => {
    expect(devices.map((d) => [d.name, d.online, d.cloudStorage.status, d.cloudStorage.curOrderPkgType])).toEqual([
      ['客厅摄像头', true, 1, 1],
      ['门口门铃', true, 1, 2],
      ['车库摄像头', false, 2, 2],
      ['仓库摄像头', true, 3, 1],
    ]);
    const detail = await vas.getServiceDetailInfo(cam.deviceId);
    expect(detail.code).toBe(0);
    expect(detail.data).toMatchObject({ status: 1, curOrderPkgType: 1, curOrderStorageDays: 7 });
    expect(detail.data!.playbackStartTime).toBeGreaterThan(now() - 7 * 86400 - 5);
    // The package's start comes from DescribeDevicePackages (the demo camera's package began 40 days ago).
    expect(detail.data!.curOrderStartTime).toBeGreaterThan(now() - 40 * 86400 - 60);
    expect(detail.data!.curOrderStartTime).toBeLessThan(now() - 40 * 86400 + 60);
    expect(detail.data!.startTime).toBe(detail.data!.curOrderStartTime);
    // The seed's callback style, with the multi-channel overload.
    const seen = await new Promise<[number | null | undefined, unknown]>((resolve) => vas.getServiceDetailInfo(store.deviceId, 0, (json, err) => resolve([json && json.data!.status, err])));
    expect(seen).toEqual([3, null]);
    expect((await vas.getServiceDetailInfo(garage.deviceId)).data).toMatchObject({ status: 2, playbackStartTime: 0 });
  });
});

describe('event list', () => {
  const day = () => iotDayRange(now() - 86400, BJ); // yesterday in Beijing: a complete day

  test('paging a full day across equal startTimes gives every event once, in order (pageSize 4, 1 and 50)', async () => {
    const d = day();
    // Bursts sharing one second, larger than a page, and events exactly on the day's first and last second.
    await admin('POST', `/_admin/devices/${cam.deviceId}/events`, { startTime: d.startTime + 3600, count: 9, firstAlarmType: 1 });
    await admin('POST', `/_admin/devices/${cam.deviceId}/events`, { startTime: d.startTime + 7200, count: 4, firstAlarmType: 2, duration: 20 });
    await admin('POST', `/_admin/devices/${cam.deviceId}/events`, { startTime: d.startTime, count: 2 });
    await admin('POST', `/_admin/devices/${cam.deviceId}/events`, { startTime: d.endTime, count: 3 });
    const expected = await truth(cam.deviceId, d.startTime, d.endTime);
    expect(expected.length).toBeGreaterThan(60);
    const perSecond = new Map<number, number>();
    for (const e of expected) perSecond.set(e.startTime, (perSecond.get(e.startTime) || 0) + 1);
    expect(Math.max(...perSecond.values())).toBeGreaterThan(4);
    for (const pageSize of [4, 1, 50]) {
      const pager = new IoTEventPager(vas, { deviceId: cam.deviceId, startTime: d.startTime, endTime: d.endTime, pageSize });
      const got = await pager.all();
      expect(got.map((e) => e.alarmId)).toEqual(expected.map((e) => e.alarmId));
      expect(pager.skippedSeconds).toBe(0);
      expect(pager.requests).toBeGreaterThanOrEqual(Math.ceil(expected.length / pageSize));
      expect(got.every((e) => e.startTime >= d.startTime && e.startTime <= d.endTime)).toBe(true);
      expect(got[0].thumbUrl).toBe(got[0].imgUrl + '&imageMogr2/thumbnail/160x90');
    }
  });

  test('pageEnd is false until the last page; an empty range answers 10010 (resolved, not thrown)', async () => {
    const d = day();
    const first = await vas.getEventList(cam.deviceId, d.startTime, d.endTime, 50, null, false);
    expect(first.code).toBe(0);
    expect(first.data!.list.length).toBe(50);
    expect(first.data!.pageEnd).toBe(false);
    const small = await vas.getEventList(cam.deviceId, d.startTime, d.startTime + 1, 50, null, false);
    expect(small.data!.pageEnd).toBe(true);
    const empty = await vas.getEventList(cam.deviceId, now() - 30 * 86400, now() - 20 * 86400, 20, null, false);
    expect(empty).toMatchObject({ code: 10010, data: null });
    // Expired cloud storage: nothing is inside a valid period.
    expect((await vas.getEventList(store.deviceId, now() - 86400, now(), 20, null, true)).code).toBe(10010);
    const withVideo = await vas.getEventList(cam.deviceId, d.startTime, d.endTime, 50, [IOT_HAS_VIDEO_BIT], true);
    expect(withVideo.data!.validVideoStartTime).toBeGreaterThan(0);
  });

  test('type masks: bit15 only, OR within a mask, AND across masks, custom bit31 above 2^31 — as the platform filters', async () => {
    const from = now() - 13 * 86400;
    const to = now() - 60;
    const all = await truth(cam.deviceId, from, to);
    const cases: number[][] = [[IOT_HAS_VIDEO_BIT], [0x1 | 0x2], [0x1, 0x2], [0x80000000], [0x80000000, IOT_HAS_VIDEO_BIT]];
    for (const masks of cases) {
      // Expected set computed independently of the SDK helper: every mask must share a bit with the (unsigned) type.
      const want = all.filter((e) => masks.every((m) => (BigInt(e.alarmType >>> 0) & BigInt(m >>> 0)) !== BigInt(0))).map((e) => e.alarmId);
      const got = await new IoTEventPager(vas, { deviceId: cam.deviceId, startTime: from, endTime: to, pageSize: 50, typeMasks: masks }).all();
      expect(got.map((e) => e.alarmId)).toEqual(want);
      expect(got.every((e) => iotMatchTypeMasks(e.alarmType, masks))).toBe(true);
    }
    const high = all.filter((e) => e.alarmType > 0x7fffffff);
    expect(high.length).toBeGreaterThan(0);
    expect(all.some((e) => (e.alarmType & IOT_HAS_VIDEO_BIT) === 0)).toBe(true);
    expect(all.some((e) => (e.alarmType & IOT_HAS_VIDEO_BIT) !== 0)).toBe(true);
  });

  test('delete then list: deleted events are gone from the list, the platform and their image URL', async () => {
    const d = day();
    const page = (await vas.getEventList(cam.deviceId, d.startTime, d.endTime, 10, null, false)).data!;
    const victims = page.list.slice(2, 5).map((e) => e.alarmId);
    const imgUrl = IVVAS.eventItem(page, page.list[2]).imgUrl;
    expect((await adapter.request({ url: imgUrl, responseType: 'arraybuffer' })).statusCode).toBe(200);
    const del = await vas.deleteEvents(cam.deviceId, victims);
    expect(del.code).toBe(0);
    const after = await new IoTEventPager(vas, { deviceId: cam.deviceId, startTime: d.startTime, endTime: d.endTime, pageSize: 20 }).all();
    expect(after.map((e) => e.alarmId)).toEqual(expect.not.arrayContaining(victims));
    expect(after.map((e) => e.alarmId)).toContain(page.list[1].alarmId);
    expect((await truth(cam.deviceId, d.startTime, d.endTime)).map((e) => e.alarmId)).toEqual(after.map((e) => e.alarmId));
    expect((await adapter.request({ url: imgUrl, responseType: 'arraybuffer' })).statusCode).toBe(404);
    // Deleting again is harmless.
    expect((await vas.deleteEvents(cam.deviceId, victims)).code).toBe(0);
  });

  test('a new alarm arriving shows on the next refresh', async () => {
    const before = await vas.getEventList(bell.deviceId, now() - 86400, now(), 5, null, false);
    const injected = await admin<{ data: { list: TruthEvent[] } }>('POST', `/_admin/devices/${bell.deviceId}/events`, { firstAlarmType: 0x200, duration: 5 });
    const after = await vas.getEventList(bell.deviceId, now() - 86400, now(), 5, null, false);
    expect(after.data!.list[0].alarmId).toBe(injected.data.list[0].alarmId);
    expect(after.data!.list[0].alarmId).not.toBe(before.data!.list[0].alarmId);
    expect(after.data!.list[0].alarmType & 0x200).toBe(0x200);
  });
});

describe('cloud recordings', () => {
  test('date list vs events: listed days are local midnights with recordings; every recorded event lies in a playlist segment', async () => {
    for (const dev of [cam, bell]) {
      const dates = await vas.getVideoDateList(dev.deviceId, BJ);
      expect(dates.code).toBe(0);
      const days = dates.data!.list;
      expect(days.length).toBeGreaterThan(2);
      for (const t of days) expect((t + BJ) % 86400).toBe(0);
      const playback = (await vas.getServiceDetailInfo(dev.deviceId)).data!.playbackStartTime;
      const events = (await truth(dev.deviceId, playback, now())).filter((e) => e.alarmType & IOT_HAS_VIDEO_BIT);
      expect(events.length).toBeGreaterThan(0);
      const segmentsByDay = new Map<number, Array<{ start: number; end: number }>>();
      for (const t of days) {
        const pl = await vas.getVideoPlayList(dev.deviceId, t, t + 86399);
        expect(pl.code).toBe(0);
        for (const s of pl.data!.list) {
          expect(s.start).toBeGreaterThanOrEqual(t);
          expect(s.end).toBeLessThanOrEqual(t + 86399);
          expect(s.end).toBeGreaterThan(s.start);
        }
        segmentsByDay.set(t, pl.data!.list);
      }
      for (const e of events) {
        const dayStart = iotDayRange(e.startTime, BJ).startTime;
        const segs = segmentsByDay.get(dayStart);
        expect(segs).toBeDefined();
        const end = Math.min(e.endTime, dayStart + 86399); // the day's playlist stops at its last second
        expect(segs!.some((s) => s.start <= e.startTime && end <= s.end)).toBe(true);
      }
      if (dev === bell) {
        // Event storage records only events: the listed days are exactly the days of recorded events.
        expect(Array.from(new Set(events.map((e) => iotDayRange(e.startTime, BJ).startTime))).sort()).toEqual(days.slice().sort());
      }
    }
    expect((await vas.getVideoDateList(garage.deviceId, BJ)).code).toBe(10010);
    expect((await vas.getVideoDateList(store.deviceId, BJ)).code).toBe(10010);
  });

  test('timezone day boundaries: date lists for UTC+8 and UTC-5 name local midnights; adjacent days split events without loss', async () => {
    const west = await vas.getVideoDateList(cam.deviceId, -18000);
    for (const t of west.data!.list) expect((t - 18000) % 86400).toBe(0);
    for (const tz of [BJ, -18000]) {
      const ref = now() - 2 * 86400;
      const d1 = iotDayRange(ref, tz);
      const d2 = iotDayRange(d1.endTime + 1, tz);
      const a = await new IoTEventPager(vas, { deviceId: bell.deviceId, ...d1, pageSize: 50 }).all();
      const b = await new IoTEventPager(vas, { deviceId: bell.deviceId, ...d2, pageSize: 50 }).all();
      expect(a.every((e) => iotDayKey(e.startTime, tz) === iotDayKey(d1.startTime, tz))).toBe(true);
      expect(b.every((e) => iotDayKey(e.startTime, tz) === iotDayKey(d2.startTime, tz))).toBe(true);
      const both = await truth(bell.deviceId, d1.startTime, d2.endTime);
      expect(b.concat(a).map((e) => e.alarmId)).toEqual(both.map((e) => e.alarmId));
    }
  });

  test('a playlist range over one day answers its first day only', async () => {
    const start = now() - 3 * 86400;
    const pl = await vas.getVideoPlayList(cam.deviceId, start, now());
    expect(pl.code).toBe(0);
    const list = pl.data!.list;
    expect(list[0].start).toBeGreaterThanOrEqual(start);
    expect(list[list.length - 1].end).toBeLessThanOrEqual(start + 86400);
  });

  test('m3u8 chaining: endflag=false parts continue from endTime, segments never repeat, the last part has endflag=true', async () => {
    const start = now() - 4 * 3600;
    const end = now() - 30 * 60;
    const chain = new IoTPlaybackChain(vas, cam.deviceId, start, end);
    const parts = await chain.all();
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.slice(0, -1).every((p) => p.endflag === false)).toBe(true);
    expect(parts[parts.length - 1].endflag).toBe(true);
    const seen: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      expect(p.endTime - p.startTime).toBeLessThanOrEqual(3600);
      if (i > 0) expect(p.startTime).toBeGreaterThanOrEqual(parts[i - 1].endTime);
      // The day's VideoURL with the window appended, signed by GenerateSignedVideoURL (t + sign).
      expect(p.url).toMatch(/\/timeshift\/live\/[0-9a-f]{32}\/timeshift\.m3u8\?starttime_epoch=\d+&endtime_epoch=\d+&t=\d+&sign=[0-9a-f]+$/);
      const res = await adapter.request<string>({ url: p.url, dataType: 'text' });
      expect(res.statusCode).toBe(200);
      const times = res.data
        .split('\n')
        .filter((l) => l.startsWith('seg/'))
        .map((l) => parseInt(/^seg\/(\d+)\.ts/.exec(l)![1], 10));
      expect(times.length).toBeGreaterThan(0);
      seen.push(...times);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    expect(seen[0]).toBeGreaterThanOrEqual(start - 2);
    expect(seen[seen.length - 1]).toBeLessThan(end);
    // A segment downloads as MPEG-TS through wx.downloadFile.
    const seg = await adapter.downloadFile({ url: new URL(`seg/${seen[0]}.ts?${parts[0].url.split('?')[1]}`, parts[0].url).toString() });
    expect(seg.statusCode).toBe(403); // the playlist's signature does not sign a segment URL …
    const m3u8 = await adapter.request<string>({ url: parts[0].url, dataType: 'text' });
    const firstSeg = m3u8.data.split('\n').find((l) => l.startsWith('seg/'))!;
    const ok = await adapter.downloadFile({ url: new URL(firstSeg, parts[0].url).toString() });
    expect(ok.statusCode).toBe(200); // … the segment's own one does
    // "Play to the latest" (endTime 0) covers up to the last recorded second.
    const liveFrom = now() - 3 * 3600;
    const live = await new IoTPlaybackChain(vas, cam.deviceId, liveFrom, 0).all();
    const recorded = (await vas.getVideoPlayList(cam.deviceId, liveFrom, now())).data!.list;
    expect(live[live.length - 1].endflag).toBe(true);
    expect(live[live.length - 1].endTime).toBeGreaterThanOrEqual(recorded[recorded.length - 1].end - 1);
    expect(live[live.length - 1].endTime).toBeLessThanOrEqual(now() + 1);
    // startTime 0 is not "latest": it is the epoch, so the part starts at the oldest recording still kept.
    const oldest = await vas.getVideoPlayAddress(cam.deviceId, 0, 0);
    const kept = (await vas.getServiceDetailInfo(cam.deviceId)).data!.playbackStartTime;
    expect(oldest.data!.startTime).toBeGreaterThanOrEqual(kept - 5);
    expect(oldest.data!.startTime).toBeLessThan(kept + 6 * 3600); // ~6 % of hours are gaps: six in a row do not happen
    expect(oldest.data!.endflag).toBe(false);
    // No recording: 10010 ends the chain with no parts.
    expect(await new IoTPlaybackChain(vas, store.deviceId, now() - 3600, now()).all()).toEqual([]);
  });
});

describe('thing model messages', () => {
  test('read the model, write a writable property (both path forms), run an action, add / write / delete a user property', async () => {
    const model = (await msg.readProperty(cam.deviceId, '')).data as Record<string, Record<string, unknown>>;
    expect(Object.keys(model).sort()).toEqual(['Action', 'ProReadonly', 'ProUser', 'ProWritable']);
    expect((await msg.writeProperty(cam.deviceId, 'ProWritable.motionSensitivity', '{"setVal":5}')).data).toMatchObject({ setVal: 5, stVal: 5 });
    expect((await msg.readProperty(cam.deviceId, 'ProWritable.motionSensitivity.stVal')).data).toBe(5);
    await msg.writeProperty(cam.deviceId, 'ProWritable._logLevel.setVal', '4');
    expect((await msg.readProperty(cam.deviceId, 'ProWritable._logLevel')).data).toMatchObject({ setVal: 4, stVal: 4 });
    await msg.writeProperty(cam.deviceId, 'ProWritable.osdText.setVal', '"前门"');
    expect((await msg.readProperty(cam.deviceId, 'ProWritable.osdText.stVal')).data).toBe('前门');
    expect((await msg.takeAction(cam.deviceId, 'Action.cameraOn', '{"ctlVal":0}')).data).toMatchObject({ ctlVal: 0, stVal: 0 });
    await msg.addProperty(cam.deviceId, 'ProUser.userPro1', '{"key":"value"}');
    await msg.writeProperty(cam.deviceId, 'ProUser.userPro1.val', '{"key":"newValue"}');
    await msg.writeProperty(cam.deviceId, 'ProUser._buildIn.val.nickName', '"新名字"');
    const user = (await msg.readProperty(cam.deviceId, 'ProUser')).data as Record<string, { val: unknown }>;
    expect(user.userPro1.val).toEqual({ key: 'newValue' });
    expect((user._buildIn.val as { nickName: string }).nickName).toBe('新名字');
    await msg.deleteProperty(cam.deviceId, 'ProUser.userPro1');
    await expect(msg.readProperty(cam.deviceId, 'ProUser.userPro1')).rejects.toMatchObject({ iotCode: 20101 });
  });

  test('typed errors: 20101 bad leaf, 21081 out of range, 20102 unparsable JSON, 20103 action failed, 8000 offline', async () => {
    await expect(msg.writeProperty(cam.deviceId, 'ProReadonly.battery', '{"setVal":1}')).rejects.toMatchObject({ iotCode: 20101, message: '设备端校验叶子路径非法' });
    await expect(msg.writeProperty(cam.deviceId, 'ProWritable.motionSensitivity', '{"setVal":9}')).rejects.toMatchObject({ iotCode: 21081, category: 'user' });
    await expect(msg.takeAction(bell.deviceId, 'Action.formatSdCard', '{"ctlVal":1}')).rejects.toMatchObject({ iotCode: 20103, category: 'device' });
    await expect(msg.takeAction(garage.deviceId, 'Action.cameraOn', '{"ctlVal":1}')).rejects.toMatchObject({ iotCode: 8000, message: '目标离线' });
    // The device's own JSON check, reached by bypassing the SDK's validation.
    const raw = await client.call<{ code: number }>('POST', '/api/iot/message/property/write', { deviceId: cam.deviceId, path: 'ProWritable._logLevel', json: '{oops' });
    expect(raw.code).toBe(20102);
    // Reading works while offline (the platform's copy of the model).
    expect((await msg.readProperty(garage.deviceId, 'ProReadonly._online.stVal')).data).toBe(0);
  });

  test('8605: the platform refuses a user property starting with "_" (SDK check bypassed) and so does the SDK', async () => {
    const raw = await client.call<{ code: number; msg: string }>('POST', '/api/iot/message/property/add', { deviceId: cam.deviceId, path: 'ProUser._hidden', json: '1' });
    expect(raw.code).toBe(8605);
    await expect(msg.addProperty(cam.deviceId, 'ProUser._hidden', '1')).rejects.toMatchObject({ iotCode: 8605 });
    const model = (await msg.readProperty(cam.deviceId, 'ProUser')).data as Record<string, unknown>;
    expect(model._hidden).toBeUndefined();
  });

  test('pass-through: 30000 bytes go through with a reply; 30001 are 21008 from the SDK and from the AppServer', async () => {
    const r = await msg.sendDataToDevice(cam.deviceId, 'x'.repeat(30000), { expectResponse: true });
    expect(JSON.parse(iotUtf8Decode(iotFromBase64(r.data!.data)))).toEqual({ ack: 1, bytes: 30000 });
    await expect(msg.sendDataToDevice(cam.deviceId, new Uint8Array(30001))).rejects.toMatchObject({ iotCode: 21008 });
    const raw = await client.call<{ code: number }>('POST', '/api/iot/message/data/send', { deviceId: cam.deviceId, data: Buffer.alloc(30001).toString('base64') });
    expect(raw.code).toBe(21008);
    // Far over the limit (more than 60,000 base64 characters) is still the seed's 21008, not a 400.
    const huge = await client.call<{ code: number }>('POST', '/api/iot/message/data/send', { deviceId: cam.deviceId, data: Buffer.alloc(50000).toString('base64') });
    expect(huge.code).toBe(21008);
  });

  test('property JSON is limited to 30,000 UTF-8 bytes, not characters: 10,001 Chinese characters (30,003 bytes) → 21008', async () => {
    const json = JSON.stringify({ setVal: '中'.repeat(10001) });
    const raw = await client.call<{ code: number }>('POST', '/api/iot/message/property/write', { deviceId: cam.deviceId, path: 'ProUser._buildIn.val.nickName', json });
    expect(raw.code).toBe(21008);
  });
});

describe('bindings and bad input', () => {
  let rt2: WxRuntime;
  let c2: AppClient;
  let vas2: IVVAS;
  let msg2: IVMessageMgr;
  beforeAll(() => {
    rt2 = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oIoTE2eOther0002' });
    c2 = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt2.wx) });
    vas2 = new IVVAS({ appClient: c2 });
    msg2 = new IVMessageMgr({ appClient: c2 });
  });
  afterAll(async () => rt2.close());

  test("another user's device → 8003 on every call; an unknown device → 8002; after a dev bind it works", async () => {
    const mine = (await vas2.getDeviceList()).data!.list.map((d) => d.deviceId);
    expect(mine).toHaveLength(4);
    expect(mine).not.toContain(cam.deviceId);
    const t = now();
    const calls: Array<() => Promise<unknown>> = [
      () => vas2.getEventList(bell.deviceId, t - 86400, t, 10, null, false),
      () => vas2.getServiceDetailInfo(bell.deviceId),
      () => vas2.getVideoDateList(bell.deviceId, BJ),
      () => vas2.getVideoPlayList(bell.deviceId, t - 3600, t),
      () => vas2.getVideoPlayAddress(bell.deviceId, t - 3600, t),
      () => vas2.deleteEvents(bell.deviceId, ['1']),
      () => msg2.readProperty(bell.deviceId, ''),
      () => msg2.writeProperty(bell.deviceId, 'ProWritable._logLevel', '{"setVal":1}'),
      () => msg2.takeAction(bell.deviceId, 'Action.cameraOn', '{"ctlVal":1}'),
      () => msg2.sendDataToDevice(bell.deviceId, 'hi'),
    ];
    for (const c of calls) await expect(c()).rejects.toMatchObject({ iotCode: 8003, category: 'auth', message: '非法关系链' });
    const err = await vas2.getEventList('ffffffffffffffffffffffff', t - 60, t, 10, null, false).catch((e: unknown) => e);
    expect(isIoTError(err, 8002)).toBe(true);
    // The AppServer's own binding table decides access; in development a device is bound as provisioning would.
    const bound = await c2.call<{ code: number }>('POST', '/api/iot/devices/bind', { deviceId: bell.deviceId });
    expect(bound.code).toBe(0);
    expect((await c2.call<{ code: number }>('POST', '/api/iot/devices/bind', { deviceId: bell.deviceId })).code).toBe(8022);
    expect((await c2.call<{ code: number }>('POST', '/api/iot/devices/bind', { deviceId: 'ffffffffffffffffffffffff' })).code).toBe(8002);
    expect((await vas2.getServiceDetailInfo(bell.deviceId)).code).toBe(0);
    expect((await vas2.getDeviceList()).data!.list.map((d) => d.deviceId)).toContain(bell.deviceId);
  });

  test('bad input reaching the AppServer directly: 400 InvalidParameter; no session: 401', async () => {
    const bad = await client.call('POST', '/api/iot/vas/event/list', { deviceId: cam.deviceId, startTime: 0, endTime: 10, pageSize: 0 }).catch((e: MediaKitError) => e);
    expect(bad).toMatchObject({ code: 'InvalidParameter', details: { statusCode: 400 } });
    expect(String((bad as Error).message)).toMatch(/pageSize/);
    const mask = await client.call('POST', '/api/iot/vas/event/list', { deviceId: cam.deviceId, startTime: 0, endTime: 10, pageSize: 5, filterTypeMask: [-1] }).catch((e: MediaKitError) => e);
    expect(mask).toMatchObject({ code: 'InvalidParameter' });
    const extra = await client.call('POST', '/api/iot/vas/cloudstorage/describe', { deviceId: cam.deviceId, evil: true }).catch((e: MediaKitError) => e);
    expect(extra).toMatchObject({ code: 'InvalidParameter' });
    const anon = await adapter.request<any>({ url: `${stack.appServerUrl}/api/iot/devices/list`, method: 'POST', data: {} });
    expect(anon.statusCode).toBe(401);
  });
});
