/**
 * IoT Video SDK helpers: mask semantics (unsigned 32-bit), image URLs, pageSize validation, day ranges for a
 * timezone offset, endflag parsing, base64/UTF-8, the error table, and the pager's boundary handling against an
 * in-memory event source with the server's paging rule (inclusive endTime, newest first, equal startTimes).
 */
import {
  AppClient,
  describeIoTError,
  IOT_ALARM_MASK,
  IOT_ERROR_TABLE,
  IOT_HAS_VIDEO_BIT,
  IoTError,
  IoTEventPager,
  iotCheckPageSize,
  iotDayKey,
  iotDayRange,
  iotDayStart,
  iotDayStartFromKey,
  iotDaysOf,
  iotFormatTime,
  iotFromBase64,
  iotImageUrl,
  iotMatchTypeMasks,
  iotNormalizeMasks,
  iotParseEndflag,
  iotThumbUrl,
  iotToBase64,
  iotTypeLabels,
  iotUtf8Decode,
  iotUtf8Length,
  isMediaKitError,
  IVVAS,
  createInjectedAdapter,
  IVMessageMgr,
  isIoTError,
} from 'mp-media-sdk';

describe('iotMatchTypeMasks: OR within a mask, AND across masks, unsigned 32-bit', () => {
  const MOTION = 1;
  const PERSON = 2;
  const SOUND = 4;
  it('a single mask matches events having any of its bits ([3] = bit0 or bit1)', () => {
    expect(iotMatchTypeMasks(MOTION, [3])).toBe(true);
    expect(iotMatchTypeMasks(PERSON, [3])).toBe(true);
    expect(iotMatchTypeMasks(MOTION | PERSON, [3])).toBe(true);
    expect(iotMatchTypeMasks(SOUND, [3])).toBe(false);
  });
  it('several masks must all match ([1, 2] = bit0 and bit1)', () => {
    expect(iotMatchTypeMasks(MOTION | PERSON, [1, 2])).toBe(true);
    expect(iotMatchTypeMasks(MOTION, [1, 2])).toBe(false);
    expect(iotMatchTypeMasks(PERSON | SOUND, [1, 2])).toBe(false);
    expect(iotMatchTypeMasks(MOTION | SOUND, [MOTION | PERSON, SOUND])).toBe(true);
  });
  it('bit15 (0x8000) selects events with video, combinable with a type mask', () => {
    expect(iotMatchTypeMasks(MOTION | IOT_HAS_VIDEO_BIT, [IOT_HAS_VIDEO_BIT])).toBe(true);
    expect(iotMatchTypeMasks(MOTION, [IOT_HAS_VIDEO_BIT])).toBe(false);
    expect(iotMatchTypeMasks(PERSON | IOT_HAS_VIDEO_BIT, [MOTION | PERSON, IOT_HAS_VIDEO_BIT])).toBe(true);
    expect(iotMatchTypeMasks(SOUND | IOT_HAS_VIDEO_BIT, [MOTION | PERSON, IOT_HAS_VIDEO_BIT])).toBe(false);
  });
  it('high custom bits above 2^31 (the Android sample alarm types 2202231976 and 1547968515)', () => {
    const a = 2202231976; // bit31 set
    const b = 1547968515; // bit31 clear
    expect(iotMatchTypeMasks(a, [0x80000000])).toBe(true);
    expect(iotMatchTypeMasks(b, [0x80000000])).toBe(false);
    expect(iotMatchTypeMasks(a, [0xffffffff])).toBe(true);
    // The same type delivered as a signed int32 (what `x | 0` produces) is read as unsigned.
    expect(iotMatchTypeMasks(a | 0, [0x80000000])).toBe(true);
    expect((a | 0) < 0).toBe(true);
    expect(iotMatchTypeMasks(a, [0x80000000, a & 0xff])).toBe(true);
  });
  it('no masks (null, 0, []) match everything', () => {
    expect(iotMatchTypeMasks(SOUND, null)).toBe(true);
    expect(iotMatchTypeMasks(SOUND, 0)).toBe(true);
    expect(iotMatchTypeMasks(SOUND, [])).toBe(true);
    expect(iotNormalizeMasks(0)).toEqual([]);
    expect(iotNormalizeMasks(0x80000000)).toEqual([0x80000000]);
  });
  it.each([[[-1]], [[0x100000000]], [[1.5]], [[0]], [['3' as unknown as number]]])('bad input: rejects mask %p with IOT_INVALID_PARAMETER', (masks) => {
    expect(() => iotMatchTypeMasks(1, masks)).toThrow(expect.objectContaining({ code: 'IOT_INVALID_PARAMETER' }));
  });
  it('labels every set bit, unknown bits as "事件 bitN", bit15 only on request', () => {
    expect(iotTypeLabels(0x8003)).toEqual(['移动侦测', '人形侦测']);
    expect(iotTypeLabels(0x8003, true)).toEqual(['移动侦测', '人形侦测', '有视频']);
    expect(iotTypeLabels((1 << 7) >>> 0)).toEqual(['事件 bit7']);
    expect(iotTypeLabels(0x80000000)).toEqual(['自定义告警']);
    expect(((IOT_ALARM_MASK & 0x80000000) >>> 0) !== 0).toBe(true);
    expect(IOT_ALARM_MASK & IOT_HAS_VIDEO_BIT).toBe(0);
  });
});

describe('image URLs', () => {
  it('imgUrl = prefix + suffix; thumbUrl = imgUrl + thumbUrlSuffix', () => {
    expect(iotImageUrl('https://cos.example/', 'dev/1.png?sign=x')).toBe('https://cos.example/dev/1.png?sign=x');
    expect(iotThumbUrl('https://cos.example/', 'dev/1.png?sign=x', '&imageMogr2/thumbnail/160x90')).toBe('https://cos.example/dev/1.png?sign=x&imageMogr2/thumbnail/160x90');
    const item = IVVAS.eventItem({ imgUrlPrefix: 'p/', thumbUrlSuffix: '&t' }, { alarmId: 'a', alarmType: 1, firstAlarmType: 1, startTime: 1, endTime: 2, imgUrlSuffix: 's' });
    expect([item.imgUrl, item.thumbUrl]).toEqual(['p/s', 'p/s&t']);
  });
  it('an event without an image suffix has no URLs (the page shows its fallback)', () => {
    expect(iotImageUrl('https://cos.example/', '')).toBe('');
    expect(iotThumbUrl('https://cos.example/', undefined, '&x')).toBe('');
  });
});

describe('pageSize', () => {
  it('accepts 1..50', () => {
    expect(iotCheckPageSize(1)).toBe(1);
    expect(iotCheckPageSize(50)).toBe(50);
  });
  it.each([0, 51, 1.5, -3, NaN, '10'])('bad input: rejects pageSize %p', (n) => {
    expect(() => iotCheckPageSize(n)).toThrow(/pageSize must be an integer in 1\.\.50/);
  });
});

describe('day ranges for a timezone offset', () => {
  const BJ = 28800;
  it('UTC+8: 23:59:59 and 00:00:00 Beijing fall on different days', () => {
    const lastSecond = Date.UTC(2020, 8, 21, 15, 59, 59) / 1000; // 2020-09-21 23:59:59 +08:00
    const range = iotDayRange(lastSecond, BJ);
    expect(range.startTime).toBe(Date.UTC(2020, 8, 20, 16, 0, 0) / 1000);
    expect(range.endTime).toBe(lastSecond);
    expect(iotDayKey(lastSecond, BJ)).toBe('2020-09-21');
    expect(iotDayKey(lastSecond + 1, BJ)).toBe('2020-09-22');
    expect(iotDayStart(lastSecond + 1, BJ)).toBe(lastSecond + 1);
    expect(iotFormatTime(lastSecond, BJ)).toBe('23:59:59');
  });
  it('the same instant is a different day in UTC-5 and UTC+8; the seed sample is 2020-09-21 in Beijing', () => {
    const t = 1600653494; // 2020-09-21 09:58:14 +08:00 = 2020-09-21 01:58:14 UTC = 2020-09-20 20:58:14 -05:00
    expect(iotDayKey(t, BJ)).toBe('2020-09-21');
    expect(iotDayKey(t, 0)).toBe('2020-09-21');
    expect(iotDayKey(t, -5 * 3600)).toBe('2020-09-20');
    expect(iotDayStart(t, -5 * 3600)).toBe(Date.UTC(2020, 8, 20, 5, 0, 0) / 1000);
    expect(iotFormatTime(t, BJ)).toBe('09:58:14');
  });
  it('day keys round-trip and the date list collapses to distinct days, newest first', () => {
    for (const tz of [28800, 0, -18000, 19800, 50400, -43200]) {
      const start = iotDayStartFromKey('2024-02-29', tz);
      expect(iotDayKey(start, tz)).toBe('2024-02-29');
      expect(iotDayKey(start - 1, tz)).toBe('2024-02-28');
      expect(iotDayRange(start + 43200, tz)).toEqual({ startTime: start, endTime: start + 86399 });
    }
    const d1 = iotDayStartFromKey('2024-03-01', BJ);
    expect(iotDaysOf([d1 + 5, d1 + 80000, d1 - 10, d1 + 86400], BJ)).toEqual([d1 + 86400, d1, d1 - 86400]);
  });
});

describe('endflag, base64 and UTF-8', () => {
  it('parses endflag defensively (booleans, "true，" with a full-width comma, numbers)', () => {
    expect(iotParseEndflag(true)).toBe(true);
    expect(iotParseEndflag('true，')).toBe(true);
    expect(iotParseEndflag('false')).toBe(false);
    expect(iotParseEndflag(1)).toBe(true);
    expect(iotParseEndflag(undefined)).toBe(false);
  });
  it('base64 round-trips bytes and UTF-8 text like Buffer does', () => {
    for (const s of ['', 'a', 'ab', 'abc', '设备 ✓ 😀', JSON.stringify({ cmd: 'ptz', v: [1, 2, 3] })]) {
      expect(iotToBase64(s)).toBe(Buffer.from(s, 'utf8').toString('base64'));
      expect(iotUtf8Decode(iotFromBase64(iotToBase64(s)))).toBe(s);
      expect(iotUtf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
    const bytes = new Uint8Array([0, 255, 128, 7, 64]);
    expect(iotToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect(Array.from(iotFromBase64(iotToBase64(bytes.buffer)))).toEqual(Array.from(bytes));
  });
});

describe('error table', () => {
  const seedCodes = [
    8000, 8002, 8003, 8022, 8023, 8024,
    20001, 20002, 20003, 20004, 20005, 20006, 20007, 20008, 20009, 20010, 20011, 20012, 20013, 20014, 20015, 20016, 20017, 20018,
    20100, 20101, 20102, 20103, 20104, 20105, 20135, 20136, 20137, 20138, 20140, 20141, 20142, 20143, 20145, 20146,
    21000, 21001, 21002, 21003, 21004, 21005, 21006, 21007, 21008,
    21020, 21021, 21022, 21023, 21024, 21025, 21026,
    21030, 21031, 21032, 21033, 21034, 21035, 21036, 21037, 21038, 21039, 21040, 21041,
    21060, 21061, 21062, 21063, 21064, 21065, 21070, 21071, 21072,
    21080, 21081, 21082, 21083, 21084,
    21100, 21101, 21102, 21103,
  ];
  it('holds every code of the seed tables with a name, a Chinese message and a category', () => {
    for (const code of seedCodes) {
      const e = IOT_ERROR_TABLE[code];
      expect(e).toBeDefined();
      expect(e.code).toBe(code);
      expect(e.name).toMatch(/^IV[A-Za-z]+_/);
      expect(e.message).toMatch(/[\u4e00-\u9fa5]|token|calling|cmd|saas/);
      expect(['retryable', 'auth', 'device', 'user']).toContain(e.category);
    }
    expect(Object.keys(IOT_ERROR_TABLE).length).toBe(seedCodes.length + 2); // + 8605 and 10010
    expect(IOT_ERROR_TABLE[8003]).toMatchObject({ name: 'IVASrvErr_dst_error_relation', message: '非法关系链', category: 'auth' });
    expect(IOT_ERROR_TABLE[20002]).toMatchObject({ category: 'retryable' });
    expect(IOT_ERROR_TABLE[21008]).toMatchObject({ name: 'IVMessageError_ExceedsMaxLength', category: 'user' });
    expect(IOT_ERROR_TABLE[8605].category).toBe('user');
    expect(IOT_ERROR_TABLE[10010].message).toBe('没有记录');
  });
  it('unknown codes fall back to their range; IoTError carries the typed fields', () => {
    expect(describeIoTError(14007)).toMatchObject({ name: 'IVErr_14007', category: 'device', message: '云存相关错误（14007）' });
    expect(describeIoTError(99999).message).toBe('未知错误（99999）');
    const e = new IoTError(20002, 'hangup');
    expect(e).toBeInstanceOf(Error);
    expect(isMediaKitError(e, 'IOT_20002')).toBe(true);
    expect(isIoTError(e, 20002)).toBe(true);
    expect([e.iotCode, e.iotName, e.category, e.retryable, e.message, e.serverMsg]).toEqual([
      20002, 'IVTermErr_msg_calling_dev_hangup', 'retryable', true, '普通挂断，即设备端主动断开，APP可尝试重连', 'hangup',
    ]);
  });
});

/**
 * An AppClient whose `call` answers /api/iot/vas/event/list from an in-memory list with the local cloud's rule
 * (inclusive range, newest first, ties by alarmId desc, pageEnd when nothing is left, 10010 when empty).
 */
function fakeEventServer(events: Array<{ alarmId: string; startTime: number }>) {
  const sorted = events.slice().sort((a, b) => b.startTime - a.startTime || (a.alarmId < b.alarmId ? 1 : -1));
  const calls: Array<{ endTime: number; pageSize: number }> = [];
  const client = {
    call: async (_m: string, path: string, body: { startTime: number; endTime: number; pageSize: number }) => {
      expect(path).toBe('/api/iot/vas/event/list');
      calls.push({ endTime: body.endTime, pageSize: body.pageSize });
      const all = sorted.filter((e) => e.startTime >= body.startTime && e.startTime <= body.endTime);
      if (!all.length) return { code: 10010, msg: 'no records' };
      const page = all.slice(0, body.pageSize).map((e) => ({ ...e, firstAlarmType: 1, alarmType: 1, endTime: e.startTime + 5, imgUrlSuffix: `${e.alarmId}.png` }));
      return { code: 0, msg: 'Success', data: { imgUrlPrefix: 'p/', thumbUrlSuffix: '&t', list: page, validVideoStartTime: 0, pageEnd: all.length <= body.pageSize } };
    },
  } as unknown as AppClient;
  return { client, calls };
}

describe('IoTEventPager (in-memory source)', () => {
  it('pages through a burst larger than a page at one second without duplicates or gaps', async () => {
    const events = [];
    for (let i = 0; i < 7; i++) events.push({ alarmId: `A${i}`, startTime: 1000 });
    for (let i = 0; i < 5; i++) events.push({ alarmId: `B${i}`, startTime: 990 - i });
    const { client, calls } = fakeEventServer(events);
    const pager = new IoTEventPager(new IVVAS({ appClient: client }), { deviceId: 'dev1', startTime: 0, endTime: 2000, pageSize: 3 });
    const got = await pager.all();
    expect(got.map((e) => e.alarmId).sort()).toEqual(events.map((e) => e.alarmId).sort());
    expect(new Set(got.map((e) => e.alarmId)).size).toBe(got.length);
    expect(pager.skippedSeconds).toBe(0);
    expect(got[0].thumbUrl).toBe('p/A6.png&t');
    // The second request asks again from second 1000 with room for the 3 already seen there.
    expect(calls[1]).toEqual({ endTime: 1000, pageSize: 6 });
  });
  it('steps over a second holding more than 50 events and reports it (skippedSeconds)', async () => {
    const events = [];
    for (let i = 0; i < 60; i++) events.push({ alarmId: `S${String(i).padStart(2, '0')}`, startTime: 500 });
    events.push({ alarmId: 'older', startTime: 400 });
    const { client } = fakeEventServer(events);
    const pager = new IoTEventPager(new IVVAS({ appClient: client }), { deviceId: 'dev1', startTime: 0, endTime: 600, pageSize: 50 });
    const got = await pager.all();
    expect(got.length).toBe(51);
    expect(got[got.length - 1].alarmId).toBe('older');
    expect(pager.skippedSeconds).toBe(1);
  });
  it('an empty range (10010) ends at once', async () => {
    const { client } = fakeEventServer([]);
    const pager = new IoTEventPager(new IVVAS({ appClient: client }), { deviceId: 'dev1', startTime: 0, endTime: 600 });
    expect(await pager.next()).toEqual({ events: [], pageEnd: true });
    expect(pager.pageEnd).toBe(true);
  });
  it('bad input: pageSize 0 and 51 are refused before any request', () => {
    const { client, calls } = fakeEventServer([]);
    expect(() => new IoTEventPager(new IVVAS({ appClient: client }), { deviceId: 'd', startTime: 0, endTime: 1, pageSize: 51 })).toThrow(/pageSize/);
    expect(() => new IoTEventPager(new IVVAS({ appClient: client }), { deviceId: 'd', startTime: 0, endTime: 1, pageSize: 0 })).toThrow(/pageSize/);
    expect(calls.length).toBe(0);
  });
});

describe('IVVAS / IVMessageMgr local validation (no request is made)', () => {
  const adapter = createInjectedAdapter({ name: 'none', request: () => Promise.reject(new Error('no request expected')) });
  const appClient = new AppClient({ baseUrl: 'http://127.0.0.1:1', adapter });
  const vas = new IVVAS({ appClient });
  const msg = new IVMessageMgr({ appClient });
  it('bad input: getEventList with pageSize 60 rejects, and reports through responseHandler(null, error)', async () => {
    await expect(vas.getEventList('dev1', 0, 10, 60, [], false)).rejects.toMatchObject({ code: 'IOT_INVALID_PARAMETER' });
    const seen: unknown[] = [];
    const r = await vas.getEventList('dev1', 0, 10, 60, [], false, (json, err) => seen.push(json, err && err.code));
    expect(r).toBeNull();
    expect(seen).toEqual([null, 'IOT_INVALID_PARAMETER']);
  });
  it('bad input: deviceId with a slash, endTime before startTime, timezone out of range, no eventIds', async () => {
    await expect(vas.getServiceDetailInfo('a/b')).rejects.toThrow(/deviceId/);
    await expect(vas.getVideoPlayList('dev1', 10, 5)).rejects.toThrow(/endTime/);
    await expect(vas.getVideoDateList('dev1', 90000)).rejects.toThrow(/timezone/);
    await expect(vas.deleteEvents('dev1', [])).rejects.toThrow(/eventIds/);
  });
  it('bad input: a user property starting with "_" is 8605; data over 30000 bytes is 21008; bad paths and JSON', async () => {
    await expect(msg.addProperty('dev1', 'ProUser._secret', '1')).rejects.toMatchObject({ iotCode: 8605, category: 'user' });
    await expect(msg.deleteProperty('dev1', 'ProUser._buildIn')).rejects.toMatchObject({ iotCode: 8605 });
    await expect(msg.sendDataToDevice('dev1', 'x'.repeat(30001))).rejects.toMatchObject({ iotCode: 21008 });
    await expect(msg.sendDataToDevice('dev1', '设'.repeat(10001))).rejects.toMatchObject({ iotCode: 21008 }); // 30003 UTF-8 bytes
    await expect(msg.readProperty('dev1', 'Foo.bar')).rejects.toMatchObject({ code: 'IOT_INVALID_PARAMETER' });
    await expect(msg.writeProperty('dev1', 'ProWritable._logLevel', '{setVal:1}')).rejects.toThrow(/not valid JSON/);
  });
});
