/**
 * The IoT demo view-models in Node against a live dev stack (wx runtime → wx adapter → AppClient → AppServer →
 * local IoT cloud): what the pages show, and the setData cost of appending a page (path patches proportional to the
 * page, never the whole list).
 */
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { AppClient, createWxAdapter, IoTDevice, IVVAS, IOT_ALARM_MASK, iotDayKey } from 'mp-media-sdk';
import { DevicesViewModel } from '../../miniprogram/viewmodels/iot-devices';
import { EventsViewModel } from '../../miniprogram/viewmodels/iot-events';
import { EventDetailViewModel } from '../../miniprogram/viewmodels/iot-event-detail';
import { DeviceViewModel, parseInputValue } from '../../miniprogram/viewmodels/iot-device';

const BJ = 28800;
let stack: DevStack;
let rt: WxRuntime;
let client: AppClient;
let devices: IoTDevice[];

async function truth(deviceId: string, startTime: number, endTime: number): Promise<Array<{ alarmId: string; alarmType: number; startTime: number }>> {
  const res = await fetch(`${stack.cloud!.iot}/_admin/devices/${deviceId}/events?startTime=${startTime}&endTime=${endTime}`);
  return ((await res.json()) as { data: { list: Array<{ alarmId: string; alarmType: number; startTime: number }> } }).data.list;
}

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: {} });
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oIoTViewModel001' });
  client = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
  devices = (await new IVVAS({ appClient: client }).getDeviceList()).data!.list;
});
afterAll(async () => {
  await rt.close();
  await stack.close();
});

test('devices: names, online state and cloud-storage badges; links to events, alarms and the device page', async () => {
  const patches: Array<Record<string, unknown>> = [];
  const vm = new DevicesViewModel({ appClient: client, timezone: BJ, onChange: (p) => patches.push(p) });
  await vm.load();
  expect(vm.state.devices.map((d) => [d.name, d.onlineText, d.storageText, d.storageClass])).toEqual([
    ['客厅摄像头', '在线', '全时云存', 'ok'],
    ['门口门铃', '在线', '事件云存即将到期', 'warn'],
    // Awaiting renewal (status 2) and expired (status 3) read the same: the subscription ended.
    ['车库摄像头', '离线', '事件云存已过期', 'expired'],
    ['仓库摄像头', '在线', '全时云存已过期', 'expired'],
  ]);
  expect(vm.state.devices.map((d) => d.expireText)).toEqual([expect.stringMatching(/到期$/), expect.stringMatching(/到期$/), expect.stringMatching(/过期$/), expect.stringMatching(/过期$/)]);
  expect(vm.eventsUrl(1, 'alarm')).toBe(`/pages/events/index?deviceId=${devices[1].deviceId}&name=${encodeURIComponent('门口门铃')}&mode=alarm`);
  expect(vm.deviceUrl(0)).toMatch(/^\/pages\/device\/index\?deviceId=/);
  expect(patches[patches.length - 1]).toMatchObject({ loading: false, empty: false });
});

describe('event list view-model', () => {
  test('first page grouped by day newest first; each load-more patches only the new rows by path', async () => {
    const patches: Array<Record<string, unknown>> = [];
    const vm = new EventsViewModel({ appClient: client, deviceId: devices[0].deviceId, timezone: BJ, pageSize: 10, onChange: (p) => patches.push(p) });
    await vm.init();
    expect(vm.state.banner.show).toBe(false);
    expect(vm.state.dayLabels.length).toBeGreaterThan(3);
    expect(vm.state.dayLabels[0]).toBe('近14天');
    const first = vm.state.groups.reduce((n, g) => n + g.items.length, 0);
    expect(first).toBe(10);
    let loaded = first;
    for (let round = 0; round < 8; round++) {
      patches.length = 0;
      await vm.loadMore();
      const patch = patches[patches.length - 1];
      const keys = Object.keys(patch);
      const rows = keys.filter((k) => /^groups\[\d+\]\.items\[\d+\]$/.test(k));
      const newGroups = keys.filter((k) => /^groups\[\d+\]$/.test(k));
      const added = rows.length + newGroups.reduce((n, k) => n + (patch[k] as { items: unknown[] }).items.length, 0);
      expect(added).toBe(10);
      // Proportional to the page: rows + at most (count, label) per touched group + two flags; never all of `groups`.
      expect(keys.length).toBeLessThanOrEqual(10 + 2 * 3 + 2);
      expect(keys).not.toContain('groups');
      // Row paths continue where the list was.
      for (const k of rows) {
        const [, g, i] = /^groups\[(\d+)\]\.items\[(\d+)\]$/.exec(k)!.map(Number);
        expect(vm.state.groups[g].items[i]).toBe(patch[k]);
      }
      loaded += added;
    }
    const all = vm.state.groups.flatMap((g) => g.items);
    expect(all.length).toBe(loaded);
    expect(new Set(all.map((r) => r.alarmId)).size).toBe(loaded);
    for (let i = 1; i < all.length; i++) expect(all[i].startTime).toBeLessThanOrEqual(all[i - 1].startTime);
    for (const g of vm.state.groups) {
      expect(g.items.every((r) => iotDayKey(r.startTime, BJ) === g.key)).toBe(true);
      // The last loaded day may continue on the next page: "N+ 个" until the list ends.
      const complete = g !== vm.state.groups[vm.state.groups.length - 1] || vm.state.pageEnd;
      expect(g.label).toMatch(new RegExp(` · ${g.count}${complete ? '' : '\\+'} 个$`));
    }
    expect(new Set(vm.state.groups.map((g) => g.key)).size).toBe(vm.state.groups.length);
  });

  test('chips and alarm mode filter; the day picker limits the list to one day with video', async () => {
    const vm = new EventsViewModel({ appClient: client, deviceId: devices[0].deviceId, timezone: BJ, pageSize: 20, mode: 'alarm', onChange: () => undefined });
    await vm.init();
    expect(vm.state.title).toBe('告警列表');
    const ids = vm.state.groups.flatMap((g) => g.items.map((r) => r.alarmId));
    const t = await truth(devices[0].deviceId, 0, Math.floor(Date.now() / 1000));
    const byId = new Map(t.map((e) => [e.alarmId, e.alarmType]));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => ((byId.get(id)! & IOT_ALARM_MASK) >>> 0) !== 0)).toBe(true);
    await vm.toggleChip('video');
    expect(vm.masks()).toEqual([IOT_ALARM_MASK, 0x8000]);
    expect(vm.state.groups.flatMap((g) => g.items).every((r) => r.hasVideo)).toBe(true);
    await vm.toggleChip('person');
    expect(vm.masks()).toEqual([0x2, IOT_ALARM_MASK, 0x8000]);
    expect(vm.state.groups.flatMap((g) => g.items).every((r) => r.types.includes('人形侦测') && r.hasVideo)).toBe(true);
    await vm.toggleChip('person');
    await vm.toggleChip('video');
    await vm.pickDay(2);
    const dayKey = /（(\d{4}-\d{2}-\d{2})）/.exec(vm.state.dayLabels[2])![1];
    expect(vm.state.groups.length).toBeLessThanOrEqual(1);
    expect(vm.state.groups.every((g) => g.key === dayKey)).toBe(true);
  });

  test('batch delete removes the selected rows here and on the platform; thumbnail failures fall back by path', async () => {
    const patches: Array<Record<string, unknown>> = [];
    const vm = new EventsViewModel({ appClient: client, deviceId: devices[1].deviceId, timezone: BJ, pageSize: 10, onChange: (p) => patches.push(p) });
    await vm.init();
    expect(vm.state.banner).toMatchObject({ show: true, kind: 'expiring', action: '' });
    vm.toggleSelect(0, 0); // ignored outside selection mode
    expect(vm.state.selectedCount).toBe(0);
    vm.toggleSelecting();
    vm.toggleSelect(0, 0);
    vm.toggleSelect(0, 2);
    expect(patches[patches.length - 1]).toEqual({ 'groups[0].items[2].selected': true, selectedCount: 2, allSelected: false });
    const ids = vm.selectedIds();
    expect(vm.deleteConfirmText()).toBe('删除选中的 2 个事件？删除后无法恢复。');
    expect(await vm.deleteSelected()).toBe(2);
    expect(vm.state.selecting).toBe(false);
    expect(vm.state.groups.flatMap((g) => g.items.map((r) => r.alarmId))).toEqual(expect.not.arrayContaining(ids));
    const platform = (await truth(devices[1].deviceId, 0, Math.floor(Date.now() / 1000))).map((e) => e.alarmId);
    expect(platform).toEqual(expect.not.arrayContaining(ids));
    patches.length = 0;
    vm.thumbFailed(0, 1);
    vm.thumbFailed(0, 1);
    expect(patches).toEqual([{ 'groups[0].items[1].thumbFailed': true, 'groups[0].items[1].thumb': '' }]);
  });

  test('banners for awaiting renewal and expired storage; expired storage has no video days', async () => {
    const garage = new EventsViewModel({ appClient: client, deviceId: devices[2].deviceId, timezone: BJ, onChange: () => undefined });
    await garage.init();
    expect(garage.state.banner).toMatchObject({ show: true, kind: 'renew', action: '', text: '云存储已过期，续费后可继续查看历史录像' });
    const store = new EventsViewModel({ appClient: client, deviceId: devices[3].deviceId, timezone: BJ, onChange: () => undefined });
    await store.init();
    expect(store.state.banner).toMatchObject({ show: true, kind: 'expired' });
    expect(store.state.noVideoDays).toBe(true);
    await store.toggleChip('video'); // only events within valid cloud storage: none
    expect(store.state.empty).toBe(true);
    expect(store.state.groups).toEqual([]);
  });
});

test('event detail: image, times, types and the m3u8 of the recording; no recording → a note', async () => {
  const vas = new IVVAS({ appClient: client });
  const now = Math.floor(Date.now() / 1000);
  const list = (await vas.getEventList(devices[1].deviceId, now - 2 * 86400, now - 3600, 50, [0x8000], true)).data!.list;
  const e = list[0];
  const vm = new EventDetailViewModel({ appClient: client, deviceId: devices[1].deviceId, alarmId: e.alarmId, startTime: e.startTime, timezone: BJ, onChange: () => undefined });
  await vm.load();
  expect(vm.state.error).toBe('');
  expect(vm.state.image).toMatch(/\/cos\/.+\.png\?t=\d+&sign=/);
  expect(vm.state.times).toMatch(/^\d{2}:\d{2}:\d{2} – \d{2}:\d{2}:\d{2}$/);
  expect(vm.state).toMatchObject({ hasVideo: true, video: 'ready', videoPart: 1 });
  expect(vm.state.videoSrc).toMatch(/timeshift\.m3u8\?starttime_epoch=\d+&endtime_epoch=\d+&t=\d+&sign=/);
  const m3u8 = await (await fetch(vm.state.videoSrc)).text();
  expect(m3u8).toMatch(/#EXTINF:2\.000,\nseg\/\d+\.ts/);
  await vm.videoEnded();
  expect(vm.state.video).toBe('ended');
  const plain = (await vas.getEventList(devices[3].deviceId, now - 86400, now, 50, null, false)).data!.list[0];
  const vm2 = new EventDetailViewModel({ appClient: client, deviceId: devices[3].deviceId, alarmId: plain.alarmId, startTime: plain.startTime, timezone: BJ, onChange: () => undefined });
  await vm2.load();
  expect(vm2.state.video).toBe('none');
  expect(vm2.state.videoNote).toMatch(/录像/);
  const missing = new EventDetailViewModel({ appClient: client, deviceId: devices[3].deviceId, alarmId: '1', startTime: now - 100, onChange: () => undefined });
  await missing.load();
  expect(missing.state.error).toBe('事件不存在或已被删除');
});

test('device page: read, write a writable property, run an action, typed errors (21081, 8000)', async () => {
  expect([parseInputValue('3'), parseInputValue(' 前门 '), parseInputValue('"x"'), parseInputValue('true')]).toEqual([3, '前门', 'x', true]);
  const vm = new DeviceViewModel({ appClient: client, deviceId: devices[0].deviceId, onChange: () => undefined });
  await vm.load();
  expect(vm.state.online).toBe(true);
  expect(vm.state.readonly.find((r) => r.name === 'battery')).toMatchObject({ label: '电量', value: '87%' });
  const i = vm.state.writable.findIndex((w) => w.name === 'motionSensitivity');
  vm.setInput(i, '9');
  expect(await vm.write(i)).toBe(false);
  expect(vm.state.error).toMatchObject({ show: true, code: 21081, name: 'IVAckErr_ParameterErr', category: 'user', field: 'motionSensitivity' });
  // Users read the message and the allowed range, next to the setting; the code stays for 调试.
  expect(vm.state.error.text).toBe('设备端判定参数错误：可设 1–5');
  expect(vm.state.writable[i].error).toBe('设备端判定参数错误：可设 1–5');
  vm.setInput(i, '2');
  expect(await vm.write(i)).toBe(true);
  expect(vm.state.writable[i]).toMatchObject({ raw: 2, value: '2', error: '' });
  expect(vm.state.error.show).toBe(false);
  const a = vm.state.actions.findIndex((x) => x.name === 'cameraOn');
  expect(await vm.run(a)).toBe(true);
  expect(vm.state.actions[a].state).toBe('0');
  const offline = new DeviceViewModel({ appClient: client, deviceId: devices[2].deviceId, onChange: () => undefined });
  await offline.load();
  expect(offline.state.online).toBe(false);
  offline.setInput(0, '1');
  expect(await offline.write(0)).toBe(false);
  expect(offline.state.error).toMatchObject({ code: 8000, text: '目标离线', field: offline.state.writable[0].name });
});
