/**
 * The local IoT cloud's state and device behaviour, in Tencent Cloud's terms: devices addressed by
 * (ProductId, DeviceName), cloud-storage packages, cloud-storage events (EventId, StartTime, EndTime, Thumbnail,
 * UploadStatus, Data), recordings per day, and the thing model's property values. Persisted as JSON in ctx.dataDir.
 * HTTP, signing, field checks and the response shapes live in index.ts.
 *
 * Events come from the deterministic generator (generator.ts) plus the ones injected through the dev endpoints,
 * minus deletions. The generator thinks in IVVAS type bits; this module turns them into what Tencent stores: the
 * triggering type as the thing-model EventId, the other detected types in Data (`{"types":[…]}`), and
 * UploadStatus Finished / Failed from whether the interval was recorded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  alarmIdFor,
  clipSegments,
  CloudStorageOrder,
  DeviceActivity,
  EVENT_RETENTION_SECONDS,
  eventRecorded,
  gapHour,
  generatedEvents,
  GenEvent,
  HAS_VIDEO,
  hash32,
  mergeSegments,
  recordedAt,
  Segment,
  slotEvents,
  SLOT_SECONDS,
} from './generator';
import { bitEventId, CUSTOM_BIT, encodeAlarmId, EVENT_TYPE_TABLE } from '../../app/iot/events';
import { defaultProps, DEMO_PRODUCT_ID, dict, PropValues } from './product';

/** After the package ends, history is kept this long before it is gone (what IVVAS calls 待续费). */
export const RENEW_GRACE_SECONDS = 7 * 86400;
const BJ = 8 * 3600;

export interface DeviceRecord {
  deviceName: string;
  name: string;
  productId: string;
  seed: number;
  idPrefix: string;
  createdAt: number;
  seq: number;
  online: boolean;
  offlineSince?: number;
  loginTime: number;
  order: CloudStorageOrder;
  props: PropValues;
}

/** One cloud-storage event as the platform stores it (plus what the image endpoint paints). */
export interface CloudEvent {
  /** Internal key (never on the API; it names the thumbnail object). */
  key: string;
  EventId: string;
  StartTime: number;
  EndTime: number;
  UploadStatus: 'Finished' | 'Partial' | 'Failed';
  Data: string;
  imgSeed: number;
  /** The IVVAS view of the same event (dev endpoints only). */
  firstAlarmType: number;
  alarmType: number;
}

interface StoredEvent extends GenEvent {
  injected: true;
}

interface State {
  version: 2;
  /** openid → DeviceNames the dev provisioning endpoint made for that user (demo data, not an ACL). */
  provisioned: Record<string, string[]>;
  devices: Record<string, DeviceRecord>;
  deleted: Record<string, string[]>;
  injected: Record<string, StoredEvent[]>;
}

export interface NewDeviceOptions {
  name?: string;
  deviceName?: string;
  pkgType?: 1 | 2;
  storageDays?: number;
  orderStartDays?: number;
  orderEndDays?: number;
  online?: boolean;
  sdCard?: boolean;
}

/** The demo devices a user gets from the dev provisioning endpoint: one per cloud-storage situation. */
const DEMO_DEVICES: Array<Required<Omit<NewDeviceOptions, 'deviceName'>> & { offlineHoursAgo?: number }> = [
  { name: '客厅摄像头', pkgType: 1, storageDays: 7, orderStartDays: -40, orderEndDays: 325, online: true, sdCard: true },
  { name: '门口门铃', pkgType: 2, storageDays: 14, orderStartDays: -20, orderEndDays: 5, online: true, sdCard: false },
  { name: '车库摄像头', pkgType: 2, storageDays: 7, orderStartDays: -100, orderEndDays: -2, online: false, sdCard: true, offlineHoursAgo: 3 },
  { name: '仓库摄像头', pkgType: 1, storageDays: 3, orderStartDays: -400, orderEndDays: -30, online: true, sdCard: true },
];

/** The Beijing calendar date (yyyy-MM-dd) of t, the day boundary Tencent's cloud storage uses. */
export function beijingDate(t: number): string {
  return new Date((t + BJ) * 1000).toISOString().slice(0, 10);
}
/** [start, end) of a Beijing date, or undefined for a malformed one. */
export function beijingDay(date: string): { start: number; end: number } | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  const ms = Date.parse(`${date}T00:00:00+08:00`);
  if (!Number.isFinite(ms) || beijingDate(ms / 1000) !== date) return undefined;
  return { start: ms / 1000, end: ms / 1000 + 86400 };
}

function otherTypeIds(type: number, first: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < 32; b++) {
    const v = (1 << b) >>> 0;
    if (b === 15 || (type & v) === 0 || v === first) continue;
    out.push(bitEventId(v) || EVENT_TYPE_TABLE.find((r) => r.bit === CUSTOM_BIT)!.eventId);
  }
  return out;
}

export class IotCloudState {
  private state: State;
  private readonly file: string;

  constructor(dataDir: string, private readonly nowMs: () => number) {
    this.file = path.join(dataDir, 'iot-state.json');
    const raw = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Partial<State>) : undefined;
    const loaded = raw && raw.version === 2 ? raw : undefined; // older layouts were demo data: start again
    this.state = {
      version: 2,
      provisioned: dict(loaded?.provisioned),
      devices: dict(loaded?.devices),
      deleted: dict(loaded?.deleted),
      injected: dict(loaded?.injected),
    };
    for (const d of Object.values(this.state.devices)) d.props = dict(d.props);
  }

  now(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.file);
  }

  // ---- devices ---------------------------------------------------------------------------------------------------

  /** Dev provisioning: the demo devices for a user (made once, deterministic names). */
  provision(openid: string): DeviceRecord[] {
    if (!this.state.provisioned[openid]) {
      const names: string[] = [];
      DEMO_DEVICES.forEach((d, i) => {
        const deviceName = createHash('sha256').update(`iot-demo|${openid}|${i}`).digest('hex').slice(0, 24);
        if (!this.state.devices[deviceName]) this.createDevice({ ...d, deviceName }, d.offlineHoursAgo, false);
        names.push(deviceName);
      });
      this.state.provisioned[openid] = names;
      this.save();
    }
    return this.state.provisioned[openid].map((n) => this.state.devices[n]).filter(Boolean);
  }

  createDevice(o: NewDeviceOptions, offlineHoursAgo?: number, persist = true): DeviceRecord {
    const now = this.now();
    const deviceName = o.deviceName || randomBytes(12).toString('hex');
    if (this.state.devices[deviceName]) throw new Error(`Device ${deviceName} already exists.`);
    const seed = hash32('device', deviceName);
    const pkgType = o.pkgType || 1;
    const order: CloudStorageOrder = {
      pkgType,
      storageDays: o.storageDays || 7,
      startTime: now + Math.round((o.orderStartDays ?? -30) * 86400),
      endTime: now + Math.round((o.orderEndDays ?? 335) * 86400),
    };
    const online = o.online !== false;
    const name = o.name || `摄像头 ${deviceName.slice(0, 4)}`;
    const rec: DeviceRecord = {
      deviceName,
      name,
      productId: DEMO_PRODUCT_ID,
      seed,
      idPrefix: String(seed % 1000000000).padStart(9, '0'),
      createdAt: now,
      seq: Object.keys(this.state.devices).length,
      online,
      offlineSince: online ? undefined : now - Math.round((offlineHoursAgo ?? 1) * 3600),
      loginTime: now - 3600,
      order,
      props: defaultProps(name, now * 1000, o.sdCard !== false),
    };
    this.state.devices[deviceName] = rec;
    if (persist) this.save();
    return rec;
  }

  device(deviceName: string): DeviceRecord | undefined {
    return this.state.devices[deviceName];
  }

  /** The device when (ProductId, DeviceName) names one. */
  find(productId: string, deviceName: string): DeviceRecord | undefined {
    const d = this.state.devices[deviceName];
    return d && d.productId === productId ? d : undefined;
  }

  allDevices(): DeviceRecord[] {
    return Object.values(this.state.devices).sort((a, b) => a.seq - b.seq);
  }

  setOnline(deviceName: string, online: boolean): void {
    const d = this.state.devices[deviceName];
    if (!d) return;
    const now = this.now();
    d.online = online;
    d.offlineSince = online ? undefined : now;
    if (online) d.loginTime = now;
    this.save();
  }

  setOrder(deviceName: string, patch: Partial<CloudStorageOrder>): void {
    const d = this.state.devices[deviceName];
    if (!d) return;
    d.order = { ...d.order, ...patch };
    this.save();
  }

  /** 1 in use, 2 ended but history kept (grace), 3 gone. */
  status(d: DeviceRecord): 1 | 2 | 3 {
    const now = this.now();
    if (now <= d.order.endTime && now >= d.order.startTime) return 1;
    if (now <= d.order.endTime + RENEW_GRACE_SECONDS) return 2;
    return 3;
  }

  // ---- events ----------------------------------------------------------------------------------------------------

  private activity(d: DeviceRecord): DeviceActivity {
    return { deviceId: d.deviceName, seed: d.seed, idPrefix: d.idPrefix, order: d.order, offlineSince: d.offlineSince };
  }

  private toCloud(e: GenEvent): CloudEvent {
    const EventId = bitEventId(e.firstAlarmType) || 'custom_alarm';
    const types = otherTypeIds(e.alarmType, e.firstAlarmType);
    return {
      key: e.alarmId,
      EventId,
      StartTime: e.startTime,
      EndTime: e.endTime,
      UploadStatus: e.alarmType & HAS_VIDEO ? 'Finished' : 'Failed',
      Data: types.length ? JSON.stringify({ types }) : '',
      imgSeed: e.imgSeed,
      firstAlarmType: e.firstAlarmType,
      alarmType: e.alarmType,
    };
  }

  /** Every visible event (ended, within retention, not deleted) with StartTime in [from, to], newest first. */
  visibleEvents(d: DeviceRecord, from: number, to: number): CloudEvent[] {
    const now = this.now();
    const lo = Math.max(from, now - EVENT_RETENTION_SECONDS);
    const hi = Math.min(to, now);
    if (hi < lo) return [];
    const deleted = new Set(this.state.deleted[d.deviceName] || []);
    const act = this.activity(d);
    const gen = generatedEvents(act, lo, hi).filter((e) => e.endTime <= now && (d.offlineSince === undefined || e.startTime <= d.offlineSince));
    const inj = (this.state.injected[d.deviceName] || []).filter((e) => e.startTime >= lo && e.startTime <= hi && e.endTime <= now);
    return gen
      .concat(inj)
      .filter((e) => !deleted.has(e.alarmId))
      .map((e) => this.toCloud(e))
      .sort((a, b) => b.StartTime - a.StartTime || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  }

  /** How many deleted events fall in the window (the "internal" part of DescribeCloudStorageEvents' Total). */
  deletedCount(d: DeviceRecord, from: number, to: number): number {
    return (this.state.deleted[d.deviceName] || []).filter((k) => {
      const t = parseInt(k.slice(10), 10);
      return t >= from && t <= to;
    }).length;
  }

  findEvent(d: DeviceRecord, key: string): CloudEvent | undefined {
    const m = /^(\d{9})(\d)(\d{9,11})$/.exec(key);
    if (!m || m[1] !== d.idPrefix) return undefined;
    const startTime = parseInt(m[3], 10);
    return this.visibleEvents(d, startTime, startTime).find((e) => e.key === key);
  }

  /** DeleteCloudStorageEvent: every visible event with exactly this (EventId, StartTime, EndTime). */
  deleteEvent(d: DeviceRecord, eventId: string, startTime: number, endTime: number): number {
    const victims = this.visibleEvents(d, startTime, startTime).filter((e) => e.EventId === eventId && e.EndTime === endTime);
    if (victims.length === 0) return 0;
    const set = new Set(this.state.deleted[d.deviceName] || []);
    for (const v of victims) set.add(v.key);
    const horizon = this.now() - EVENT_RETENTION_SECONDS - 86400;
    this.state.deleted[d.deviceName] = Array.from(set).filter((id) => parseInt(id.slice(10), 10) >= horizon);
    this.state.injected[d.deviceName] = (this.state.injected[d.deviceName] || []).filter((e) => e.startTime >= horizon);
    this.save();
    return victims.length;
  }

  /** Device-side alarm: new events now (or at the given time); count > 1 makes a same-second burst. */
  injectEvents(d: DeviceRecord, o: { startTime?: number; duration?: number; firstAlarmType?: number; alarmType?: number; count?: number }): CloudEvent[] {
    const now = this.now();
    const duration = o.duration ?? 8;
    const startTime = o.startTime ?? now - duration;
    const first = (o.firstAlarmType ?? 1) >>> 0;
    const type = ((o.alarmType ?? first) | first) >>> 0;
    const act = this.activity(d);
    const slotGen = slotEvents(act, Math.floor(startTime / SLOT_SECONDS));
    const prior: GenEvent[] = [...(this.state.injected[d.deviceName] || []), ...slotGen];
    const keys = new Set(prior.map((e) => e.alarmId));
    const triples = new Set(prior.map((e) => `${e.firstAlarmType}|${e.startTime}|${e.endTime}`));
    const out: StoredEvent[] = [];
    for (let k = 9; k >= 0 && out.length < (o.count ?? 1); k--) {
      const alarmId = alarmIdFor(act, k, startTime);
      if (keys.has(alarmId)) continue;
      // (EventId, StartTime, EndTime) names an event on Tencent's API: a burst's events end a second apart.
      let endTime = startTime + duration;
      while (triples.has(`${first}|${startTime}|${endTime}`)) endTime++;
      if (endTime > now) break;
      triples.add(`${first}|${startTime}|${endTime}`);
      const recorded = eventRecorded(act, startTime, endTime, 0);
      out.push({
        alarmId,
        firstAlarmType: first,
        alarmType: ((type & ~HAS_VIDEO) | (recorded ? HAS_VIDEO : 0)) >>> 0,
        startTime,
        endTime,
        imgSeed: hash32(d.seed, 'inj', alarmId),
        injected: true,
      });
    }
    this.state.injected[d.deviceName] = (this.state.injected[d.deviceName] || []).concat(out);
    this.save();
    return out.map((e) => this.toCloud(e));
  }

  /** The IVVAS view of an event, as the AppServer names it (dev endpoints report "truth" in the app's terms). */
  static ivvasView(e: CloudEvent) {
    return { alarmId: encodeAlarmId(e), firstAlarmType: e.firstAlarmType, alarmType: e.alarmType, startTime: e.StartTime, endTime: e.EndTime };
  }

  // ---- recordings ------------------------------------------------------------------------------------------------

  /** Video availability window of a device whose package is in use; undefined otherwise. */
  playbackWindow(d: DeviceRecord): Segment | undefined {
    if (this.status(d) !== 1) return undefined;
    const now = this.now();
    const start = Math.max(now - d.order.storageDays * 86400, d.order.startTime);
    const end = Math.min(now, d.order.endTime, d.offlineSince ?? Infinity);
    return end > start ? { start, end } : undefined;
  }

  /** Recorded segments within [from, to] (clipped to the playback window), merged, oldest first. */
  recordings(d: DeviceRecord, from: number, to: number): Segment[] {
    const win = this.playbackWindow(d);
    if (!win) return [];
    const lo = Math.max(from, win.start);
    const hi = Math.min(to, win.end);
    if (hi <= lo) return [];
    const act = this.activity(d);
    const raw: Segment[] = [];
    if (d.order.pkgType === 1) {
      for (let h = Math.floor(lo / 3600); h <= Math.floor(hi / 3600); h++) {
        if (!gapHour(act, h * 3600)) raw.push({ start: h * 3600, end: h * 3600 + 3600 });
      }
      return clipSegments(mergeSegments(raw), lo, hi).filter((s) => recordedAt(act, s.start));
    }
    const now = this.now();
    const gen = generatedEvents(act, lo - 60, hi).filter((e) => e.endTime <= now);
    const inj = (this.state.injected[d.deviceName] || []).filter((e) => e.endTime >= lo && e.startTime <= hi);
    for (const e of gen.concat(inj)) if (e.alarmType & HAS_VIDEO) raw.push({ start: e.startTime, end: e.endTime });
    return clipSegments(mergeSegments(raw), lo, hi);
  }

  /** DescribeCloudStorageDate: Beijing dates with recordings, oldest first. */
  recordedDates(d: DeviceRecord): string[] {
    const win = this.playbackWindow(d);
    if (!win) return [];
    const out: string[] = [];
    for (let t = beijingDay(beijingDate(win.start))!.start; t <= win.end; t += 86400) {
      if (this.recordings(d, t, t + 86400).length) out.push(beijingDate(t));
    }
    return out;
  }
}
