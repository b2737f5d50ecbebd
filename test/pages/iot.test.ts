/**
 * The IoT demo pages rendered by miniprogram-simulate against a live dev stack (the Node wx runtime as the global
 * wx): Devices tab, event list (refresh, load more, filter chip, thumbnail fallback, batch delete with confirmation,
 * empty state), alarm list, event detail with the recording's m3u8 in <video>, device page with a typed error.
 */
import { createWxAdapter, PlatformAdapter } from 'mp-media-sdk';
import { renderPage, startPageEnv, PageEnv, RenderedPage } from './helpers';

let env: PageEnv;
let admin: PlatformAdapter;
let devices: Array<{ deviceId: string; name: string }>;

const rows = (p: RenderedPage) => p.data().groups.flatMap((g: { items: Array<{ alarmId: string; hasVideo: boolean; selected: boolean }> }) => g.items);

async function adminPost(path: string, body: Record<string, unknown>) {
  const r = await admin.request<any>({ url: `${env.stack.cloud.iot}${path}`, method: 'POST', data: body });
  if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode} ${JSON.stringify(r.data)}`);
  return r.data;
}

beforeAll(async () => {
  env = await startPageEnv({ openid: 'oIoTPages000001' });
  admin = createWxAdapter(env.runtime.wx);
  const r = await env.appClient.call<{ data: { list: Array<{ deviceId: string; name: string }> } }>('POST', '/api/iot/devices/list', {});
  devices = r.data.list;
});
afterAll(() => env.close());

test('设备 tab lists the devices with online state and cloud-storage status, and opens the alarm list', async () => {
  const p = await renderPage('pages/devices/index');
  await p.until(() => p.data().devices.length === 4);
  expect(p.queryAll('.device').length).toBe(4);
  expect(p.data().devices.map((d: { onlineText: string; storageClass: string }) => `${d.onlineText}/${d.storageClass}`)).toEqual(['在线/ok', '在线/warn', '离线/expired', '在线/expired']);
  expect(p.comp.dom.innerHTML).toContain('车库摄像头');
  await p.tap('.open-alarms');
  expect(env.ui.navigations[env.ui.navigations.length - 1].url).toBe(`/pages/events/index?deviceId=${devices[0].deviceId}&name=${encodeURIComponent(devices[0].name)}&mode=alarm`);
  p.unload();
});

test('设备 tab: a failed load says so in Chinese, without error identifiers, and 重试 recovers', async () => {
  env.runtime.faults.add({ match: { url: /\/api\/iot\/devices\/list/ }, times: 1, action: { type: 'fail', reason: 'timeout' } });
  const p = await renderPage('pages/devices/index');
  try {
    await p.until(() => Boolean(p.data().error) && !p.data().loading);
    expect(p.data().error).toBe('网络连接失败，请检查网络后重试');
    expect(p.comp.dom.innerHTML).not.toMatch(/TIMEOUT|request:fail/);
    await p.tap('.retry');
    await p.until(() => p.data().devices.length === 4 && !p.data().error);
  } finally {
    p.unload();
  }
});

describe('event list page', () => {
  let p: RenderedPage;
  beforeAll(async () => {
    p = await renderPage('pages/events/index', { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => !p.data().loading && p.data().groups.length > 0);
  });
  afterAll(() => p.unload());

  test('renders the first page grouped by day with chips and a day picker', () => {
    expect(rows(p)).toHaveLength(20);
    expect(p.queryAll('.event').length).toBe(20);
    expect(p.queryAll('.group-header').length).toBe(p.data().groups.length);
    expect(p.queryAll('.chip').length).toBe(6);
    expect(p.data().dayLabels[0]).toBe('近14天');
    expect(p.data().dayLabels.length).toBeGreaterThan(3);
    expect(p.data().banner.show).toBe(false);
  });

  test('a day header counts the day, not the loaded page: the last day reads "N+ 个" while more may load', () => {
    const labels = p.data().groups.map((g: { label: string }) => g.label);
    expect(p.data().pageEnd).toBe(false);
    expect(labels[labels.length - 1]).toMatch(/ · \d+\+ 个$/);
    for (const l of labels.slice(0, -1)) expect(l).toMatch(/ · \d+ 个$/);
  });

  test('load more at the bottom appends the next page', async () => {
    const before = rows(p).map((r: { alarmId: string }) => r.alarmId);
    await p.instance.onReachBottom();
    await p.until(() => rows(p).length === 40);
    expect(rows(p).slice(0, 20).map((r: { alarmId: string }) => r.alarmId)).toEqual(before);
    expect(p.queryAll('.event').length).toBe(40);
    expect(new Set(rows(p).map((r: { alarmId: string }) => r.alarmId)).size).toBe(40);
  });

  test('pull-down refresh shows a new alarm and stops the refresh indicator', async () => {
    const injected = await adminPost(`/_admin/devices/${devices[0].deviceId}/events`, { firstAlarmType: 2, duration: 4 });
    const stopped = env.ui.pullDownStopped;
    await p.instance.onPullDownRefresh();
    expect(env.ui.pullDownStopped).toBe(stopped + 1);
    expect(rows(p)[0].alarmId).toBe(injected.data.list[0].alarmId);
    expect(rows(p)).toHaveLength(20);
  });

  test('a broken thumbnail falls back to the placeholder', async () => {
    const fallbacks = p.queryAll('.thumb.fallback').length;
    await p.dispatch('.thumb', 'error', { errMsg: 'image load fail' });
    await p.until(() => p.queryAll('.thumb.fallback').length === fallbacks + 1);
    expect(rows(p)[0]).toMatchObject({ thumbFailed: true, thumb: '' });
  });

  test('the 有视频 chip filters to events with video', async () => {
    await p.tap('.chip-video');
    await p.until(() => !p.data().loading);
    expect(p.data().chips.find((c: { key: string }) => c.key === 'video').active).toBe(true);
    expect(rows(p).length).toBeGreaterThan(0);
    expect(rows(p).every((r: { hasVideo: boolean }) => r.hasVideo)).toBe(true);
    expect(p.queryAll('.video-tag').length).toBe(rows(p).length);
    await p.tap('.chip-video');
    await p.until(() => !p.data().loading && !p.data().chips.find((c: { key: string }) => c.key === 'video').active);
    expect(rows(p)).toHaveLength(20);
  });

  test('multi-select batch delete asks for confirmation; cancel keeps the events, confirm deletes them', async () => {
    await p.tap('.select-toggle');
    expect(p.data().selecting).toBe(true);
    const events = p.queryAll('.event');
    events[1].dispatchEvent('tap');
    events[3].dispatchEvent('tap');
    await p.until(() => p.data().selectedCount === 2);
    const chosen = rows(p).filter((r: { selected: boolean }) => r.selected).map((r: { alarmId: string }) => r.alarmId);
    expect(chosen).toHaveLength(2);
    env.ui.modalAnswer = 'cancel';
    await p.instance.onDelete();
    expect(env.ui.modals[env.ui.modals.length - 1]).toEqual({ title: '删除事件', content: '删除选中的 2 个事件？删除后无法恢复。' });
    expect(rows(p).map((r: { alarmId: string }) => r.alarmId)).toEqual(expect.arrayContaining(chosen));
    env.ui.modalAnswer = 'confirm';
    const toastsBefore = env.ui.toasts.length;
    await p.tap('.delete');
    // the toast comes after the list update (the page awaits deleteSelected): wait for both, not for the first one
    await p.until(() => !p.data().selecting && env.ui.toasts.length > toastsBefore);
    expect(rows(p).map((r: { alarmId: string }) => r.alarmId)).toEqual(expect.not.arrayContaining(chosen));
    expect(env.ui.toasts[env.ui.toasts.length - 1]).toEqual({ title: '已删除 2 个事件', icon: 'success' });
    // Gone on the platform too: a refresh does not bring them back.
    await p.instance.onPullDownRefresh();
    expect(rows(p).map((r: { alarmId: string }) => r.alarmId)).toEqual(expect.not.arrayContaining(chosen));
  });

  test('全选 selects every loaded event and clears them again', async () => {
    await p.tap('.select-toggle');
    await p.tap('.select-all');
    await p.until(() => p.data().allSelected === true);
    expect(p.data().selectedCount).toBe(rows(p).length);
    expect(rows(p).every((r: { selected: boolean }) => r.selected)).toBe(true);
    await p.tap('.select-all');
    await p.until(() => p.data().selectedCount === 0);
    expect(rows(p).some((r: { selected: boolean }) => r.selected)).toBe(false);
    await p.tap('.select-toggle');
    expect(p.data().selecting).toBe(false);
  });

  test('tapping an event opens its detail', async () => {
    await p.tap('.event');
    const r = rows(p)[0];
    expect(env.ui.navigations[env.ui.navigations.length - 1].url).toBe(`/pages/event-detail/index?deviceId=${devices[0].deviceId}&alarmId=${r.alarmId}&startTime=${r.startTime}`);
  });

  test('event detail: 上一条 / 下一条 follow the list; 删除事件 asks, sends once, goes back, and the list drops it', async () => {
    const [newer, current, older] = rows(p).slice(0, 3);
    const detailUrl = (r: { alarmId: string; startTime: number }) => `/pages/event-detail/index?deviceId=${devices[0].deviceId}&alarmId=${r.alarmId}&startTime=${r.startTime}`;
    const d = await renderPage('pages/event-detail/index', { deviceId: devices[0].deviceId, alarmId: current.alarmId, startTime: String(current.startTime) });
    try {
      await d.until(() => !d.data().loading);
      expect(d.data()).toMatchObject({ hasPrev: true, hasNext: true });
      await d.tap('.next');
      expect(env.ui.navigations[env.ui.navigations.length - 1]).toEqual({ api: 'redirectTo', url: detailUrl(older) });
      await d.tap('.prev');
      expect(env.ui.navigations[env.ui.navigations.length - 1]).toEqual({ api: 'redirectTo', url: detailUrl(newer) });

      const removes = () => env.runtime.requests.filter((r) => /\/vas\/event\/remove/.test(r.url)).length;
      const before = removes();
      env.ui.modalAnswer = 'cancel';
      await d.instance.onDelete();
      expect(env.ui.modals[env.ui.modals.length - 1].title).toBe('删除这条事件？');
      expect(removes()).toBe(before);
      env.ui.modalAnswer = 'confirm';
      // Two taps before the answer: one request.
      const button = d.query('.delete').querySelector('.t-button');
      button.dispatchEvent('tap');
      button.dispatchEvent('tap');
      await d.until(() => env.ui.navigations[env.ui.navigations.length - 1].api === 'navigateBack');
      expect(removes()).toBe(before + 1);
      expect(env.ui.toasts[env.ui.toasts.length - 1]).toEqual({ title: '已删除', icon: 'success' });
    } finally {
      d.unload();
    }
    // Back on the list (onShow): the deleted event is gone without a reload.
    p.instance.onShow();
    expect(rows(p).map((r: { alarmId: string }) => r.alarmId)).not.toContain(current.alarmId);
    expect(rows(p).map((r: { alarmId: string }) => r.alarmId)).toContain(older.alarmId);
  });
});

test('alarm list of an expired device: banner, and the empty state when only events with video are asked for', async () => {
  // The page module was loaded above; renderPage registers it anew each time.
  const p = await renderPage('pages/events/index', { deviceId: devices[3].deviceId, mode: 'alarm' });
  await p.until(() => !p.data().loading && p.data().banner.show);
  expect(p.data().title).toBe('告警列表');
  expect(p.query('.banner.expired')).toBeTruthy();
  expect(p.data().noVideoDays).toBe(true);
  await p.tap('.chip-video');
  await p.until(() => p.data().empty === true);
  expect(p.query('.empty-state')).toBeTruthy();
  expect(p.queryAll('.event').length).toBe(0);
  // The empty state says which filter emptied the list and clears it.
  expect(p.data().emptyText).toBe('没有符合「有视频」的告警');
  expect(p.comp.dom.innerHTML).toContain('没有符合「有视频」的告警');
  await p.tap('.clear-filter');
  await p.until(() => !p.data().loading && !p.data().empty);
  expect(p.data().chips.every((c: { active: boolean }) => !c.active)).toBe(true);
  expect(p.data().filtered).toBe(false);
  expect(rows(p).length).toBeGreaterThan(0);
  expect(p.query('.clear-filter')).toBeFalsy();
  p.unload();
});

test('event detail plays the recording around the event from its m3u8', async () => {
  const now = Math.floor(Date.now() / 1000);
  const r = await env.appClient.call<{ data: { list: Array<{ alarmId: string; startTime: number }> } }>('POST', '/api/iot/vas/event/list', {
    deviceId: devices[1].deviceId,
    startTime: now - 86400,
    endTime: now,
    pageSize: 5,
    filterTypeMask: [0x8000],
    validCloudStorage: true,
  });
  const e = r.data.list[0];
  const p = await renderPage('pages/event-detail/index', { deviceId: devices[1].deviceId, alarmId: e.alarmId, startTime: String(e.startTime) });
  await p.until(() => p.data().video === 'ready');
  const video = p.query('.video');
  expect(video).toBeTruthy();
  // The snapshot is the video's poster, not a second picture below it; one type row.
  expect(JSON.stringify(p.comp.toJSON())).toContain(JSON.stringify({ name: 'poster', value: p.data().image }));
  expect(p.query('.image')).toBeFalsy();
  expect(p.comp.dom.innerHTML).not.toContain('触发类型');
  expect(p.data().videoSrc).toMatch(/timeshift\.m3u8\?starttime_epoch=\d{10}&endtime_epoch=\d{10}&t=\d+&sign=/);
  expect(p.data().types.length).toBeGreaterThan(0);
  expect(p.query('.times')).toBeTruthy();
  await p.dispatch('.video', 'ended');
  await p.until(() => p.data().video === 'ended');
  p.unload();
});

describe('device page', () => {
  let p: RenderedPage;
  const setting = (name: string) => p.data().writable.find((w: { name: string }) => w.name === name);
  const actionCalls = () => env.runtime.requests.filter((r) => /\/message\/action/.test(r.url)).length;
  beforeAll(async () => {
    p = await renderPage('pages/device/index', { deviceId: devices[0].deviceId, name: encodeURIComponent(devices[0].name) });
    await p.until(() => p.data().writable.length > 0 && !p.data().loading);
  });
  afterAll(() => p.unload());

  test('status in words and settings with the control the thing model gives each property (no log level, no raw JSON)', () => {
    const all = p.comp.dom.innerHTML as string;
    const html = all.slice(0, all.indexOf('调试（开发者）'));
    expect(p.data().readonly.map((r: { label: string; value: string }) => `${r.label}=${r.value}`)).toEqual(['固件版本=2.4.1', '电量=87%', 'Wi-Fi 信号=强（-52 dBm）', '存储卡=正常']);
    expect(p.data().writable.map((w: { name: string; control: string }) => `${w.name}:${w.control}`).sort()).toEqual(['_cloudStoage:info', 'motionSensitivity:slider', 'nightVision:segmented', 'osdText:text']);
    expect(setting('motionSensitivity')).toMatchObject({ min: 1, max: 5, raw: 3 });
    expect(setting('_cloudStoage').value).toMatch(/^(全时|事件)云存 · \d{4}-\d{2}-\d{2} 到期$/);
    expect(p.queryAll('.seg-item')).toHaveLength(3);
    expect(html).not.toContain('serviceType');
    expect(html).not.toContain('日志级别');
    expect(p.data().debug.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['deviceId', '_logLevel', '_cloudStoage', '_buildIn']));
  });

  test('a value the device rejects: the error under that setting, the control back at the device value; a valid one is set', async () => {
    const i = p.data().writable.findIndex((w: { name: string }) => w.name === 'motionSensitivity');
    await p.instance.onSlider({ currentTarget: { dataset: { index: i } }, detail: { value: 7 } });
    expect(p.data().error).toMatchObject({ code: 21081, name: 'IVAckErr_ParameterErr', field: 'motionSensitivity' });
    expect(setting('motionSensitivity')).toMatchObject({ raw: 3, busy: false });
    expect(p.query('.error-motionSensitivity').dom.textContent).toBe('设备端判定参数错误：可设 1–5');
    expect(p.query('.page-error')).toBeFalsy();
    await p.tap('.seg-nightVision-1');
    await p.until(() => setting('nightVision').raw === 1 && !setting('nightVision').busy);
    expect(setting('nightVision').value).toBe('开');
    // The choice went to its own row (an option's index is not the row's).
    expect(setting('motionSensitivity')).toMatchObject({ raw: 3, error: '' });
    expect(p.data().error.show).toBe(false);
    expect(p.query('.error-motionSensitivity')).toBeFalsy();
  });

  test('a destructive action asks first: cancel sends nothing, confirm runs it once', async () => {
    const before = actionCalls();
    await p.tap('.action-reboot');
    expect(p.data().confirm).toMatchObject({ show: true, title: '重启设备？', confirm: '重启' });
    await p.tap('.confirm-dialog >>> .t-dialog__button--cancel >>> .t-button');
    await p.until(() => !p.data().confirm.show);
    expect(actionCalls()).toBe(before);
    await p.tap('.action-reboot');
    await p.until(() => p.data().confirm.show);
    await p.tap('.confirm-dialog >>> .t-dialog__button--confirm >>> .t-button');
    await p.until(() => p.data().message === '设备正在重启');
    expect(actionCalls()).toBe(before + 1);
  });

  test('no double send while busy: two taps on the camera switch before the answer send one action', async () => {
    const before = actionCalls();
    const was = p.data().actions.find((a: { name: string }) => a.name === 'cameraOn').on;
    const sw = p.query('.action-cameraOn').querySelector('.t-switch__body');
    sw.dispatchEvent('tap');
    sw.dispatchEvent('tap');
    await p.until(() => p.data().actions.find((a: { name: string }) => a.name === 'cameraOn').busy === true);
    await p.until(() => !p.data().actions.find((a: { name: string }) => a.name === 'cameraOn').busy);
    expect(actionCalls()).toBe(before + 1);
    expect(p.data().actions.find((a: { name: string }) => a.name === 'cameraOn').on).toBe(!was);
  });

  test('an offline device says when it was last online (the platform\'s login time), an online one does not', async () => {
    expect(p.data().lastOnline).toBe('');
    const off = devices.find((d) => d.name === '车库摄像头')!;
    const q = await renderPage('pages/device/index', { deviceId: off.deviceId, name: encodeURIComponent(off.name) });
    try {
      await q.until(() => !q.data().loading && (q.data().writable.length > 0 || q.data().error.show));
      expect(q.data().online).toBe(false);
      expect(q.data().lastOnline).toMatch(/^最近上线 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    } finally {
      q.unload();
    }
  });

  test('the alarm list is one tap away', async () => {
    await p.tap('.open-alarms');
    expect(env.ui.navigations[env.ui.navigations.length - 1].url).toBe(`/pages/events/index?deviceId=${devices[0].deviceId}&mode=alarm`);
  });
});
