/**
 * The local IoT Video platform's state and business logic: devices and their user bindings, cloud-storage orders,
 * events (generated + injected − deleted), recordings, the thing model. Persisted as JSON in ctx.dataDir.
 * Every operation answers an IVVAS-style result `{code, msg, data}`; HTTP, signing and URLs live in index.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  alarmIdFor,
  clipSegments,
  CloudStorageOrder,
  compareEvents,
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
import { addUserProperty, defaultModel, deleteUserProperty, Json, ModelError, readPath, runAction, ThingModel, writePath } from './thing-model';

export interface IvResult<T = unknown> {
  code: number;
  msg: string;
  data?: T | null;
}

export const ok = <T>(data: T): IvResult<T> => ({ code: 0, msg: 'Success', data });
export const fail = (code: number, msg: string): IvResult<never> => ({ code, msg, data: null });

/** After the order ends, history is kept this long (status 2, 待续费) before it is gone (status 3, 已过期). */
export const RENEW_GRACE_SECONDS = 7 * 86400;
/** One m3u8 covers at most this much; longer ranges answer endflag=false. */
export const PLAY_CHUNK_SECONDS = 3600;
export const MAX_DATA_SIZE = 30000;

export interface DeviceRecord {
  deviceId: string;
  name: string;
  productId: string;
  seed: number;
  idPrefix: string;
  createdAt: number;
  /** Creation order (the device list keeps it). */
  seq: number;
  online: boolean;
  offlineSince?: number;
  order: CloudStorageOrder;
  owners: string[];
  model: ThingModel;
}

interface StoredEvent extends GenEvent {
  injected: true;
}

interface State {
  version: 1;
  users: Record<string, { provisionedAt: number }>;
  devices: Record<string, DeviceRecord>;
  deleted: Record<string, string[]>;
  injected: Record<string, StoredEvent[]>;
}

export interface DeviceSummary {
  deviceId: string;
  name: string;
  productId: string;
  online: boolean;
  cloudStorage: { status: 1 | 2 | 3; curOrderPkgType: 1 | 2; endTime: number };
}

export interface EventQuery {
  startTime: number;
  endTime: number;
  pageSize: number;
  typeMasks: number[];
  validCloudStorage: boolean;
}

export interface NewDeviceOptions {
  name?: string;
  deviceId?: string;
  pkgType?: 1 | 2;
  storageDays?: number;
  /** Order start/end relative to now, in days (default -30 / +335). */
  orderStartDays?: number;
  orderEndDays?: number;
  online?: boolean;
  sdCard?: boolean;
}

/** The demo devices every user gets on first contact: one per cloud-storage situation. */
const DEMO_DEVICES: Array<Required<Omit<NewDeviceOptions, 'deviceId'>> & { offlineHoursAgo?: number }> = [
  { name: '客厅摄像头', pkgType: 1, storageDays: 7, orderStartDays: -40, orderEndDays: 325, online: true, sdCard: true },
  { name: '门口门铃', pkgType: 2, storageDays: 14, orderStartDays: -20, orderEndDays: 5, online: true, sdCard: false },
  { name: '车库摄像头', pkgType: 2, storageDays: 7, orderStartDays: -100, orderEndDays: -2, online: false, sdCard: true, offlineHoursAgo: 3 },
  { name: '仓库摄像头', pkgType: 1, storageDays: 3, orderStartDays: -400, orderEndDays: -30, online: true, sdCard: true },
];

/** A null-prototype copy of a record (keys such as "__proto__" become plain own keys). */
function dict<T>(src?: Record<string, T>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (src) for (const k of Object.keys(src)) out[k] = src[k];
  return out;
}

export class IotCloudState {
  private state: State;
  private readonly file: string;

  constructor(dataDir: string, private readonly nowMs: () => number) {
    this.file = path.join(dataDir, 'iot-state.json');
    const loaded = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as State) : undefined;
    // Every map keyed by a caller's string (openid, DeviceId) is a null-prototype object: "constructor" or
    // "__proto__" is then just a key that is not there, never Object.prototype's member.
    this.state = {
      version: 1,
      users: dict(loaded?.users),
      devices: dict(loaded?.devices),
      deleted: dict(loaded?.deleted),
      injected: dict(loaded?.injected),
    };
  }

  now(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  private save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.file);
  }

  // ---- devices and bindings -------------------------------------------------------------------------------------

  /** Gives a user the demo devices the first time the platform sees them. */
  ensureUser(openid: string): void {
    if (this.state.users[openid]) return;
    const now = this.now();
    this.state.users[openid] = { provisionedAt: now };
    DEMO_DEVICES.forEach((d, i) => {
      const deviceId = createHash('sha256').update(`iot-demo|${openid}|${i}`).digest('hex').slice(0, 24);
      this.createDevice(openid, { ...d, deviceId }, d.offlineHoursAgo, false);
    });
    this.save();
  }

  createDevice(openid: string, o: NewDeviceOptions, offlineHoursAgo?: number, persist = true): DeviceRecord {
    const now = this.now();
    const deviceId = o.deviceId || randomBytes(12).toString('hex');
    if (this.state.devices[deviceId]) throw new ModelError(8022, `Device ${deviceId} already exists.`);
    const seed = hash32('device', deviceId);
    const pkgType = o.pkgType || 1;
    const order: CloudStorageOrder = {
      pkgType,
      storageDays: o.storageDays || 7,
      startTime: now + Math.round((o.orderStartDays ?? -30) * 86400),
      endTime: now + Math.round((o.orderEndDays ?? 335) * 86400),
    };
    const online = o.online !== false;
    const rec: DeviceRecord = {
      deviceId,
      name: o.name || `摄像头 ${deviceId.slice(0, 4)}`,
      productId: 'IVDEMO01',
      seed,
      idPrefix: String(seed % 1000000000).padStart(9, '0'),
      createdAt: now,
      seq: Object.keys(this.state.devices).length,
      online,
      offlineSince: online ? undefined : now - Math.round((offlineHoursAgo ?? 1) * 3600),
      order,
      owners: [openid],
      model: defaultModel(o.name || deviceId, now, { sdCard: o.sdCard !== false, cloud: { serviceType: pkgType, utcExpire: order.endTime } }),
    };
    if (!online) rec.model.ProReadonly._online = { t: rec.offlineSince!, stVal: 0 };
    this.state.devices[deviceId] = rec;
    if (persist) this.save();
    return rec;
  }

  device(deviceId: string): DeviceRecord | undefined {
    return this.state.devices[deviceId];
  }

  /** 8002 when the device does not exist, 8003 when the user is not bound to it. */
  access(openid: string, deviceId: string): DeviceRecord | IvResult<never> {
    this.ensureUser(openid);
    const d = this.state.devices[deviceId];
    if (!d) return fail(8002, `目标不存在: no device ${deviceId}`);
    if (!d.owners.includes(openid)) return fail(8003, '非法关系链: the device is not bound to this user');
    return d;
  }

  bind(openid: string, deviceId: string): IvResult<null> {
    const d = this.state.devices[deviceId];
    if (!d) return fail(8002, `目标不存在: no device ${deviceId}`);
    if (d.owners.includes(openid)) return fail(8022, '设备已经绑定此用户');
    d.owners.push(openid);
    this.state.users[openid] = this.state.users[openid] || { provisionedAt: this.now() };
    this.save();
    return ok(null);
  }

  unbind(openid: string, deviceId: string): IvResult<null> {
    const d = this.state.devices[deviceId];
    if (!d) return fail(8002, `目标不存在: no device ${deviceId}`);
    if (!d.owners.includes(openid)) return fail(8003, '非法关系链');
    d.owners = d.owners.filter((o) => o !== openid);
    this.save();
    return ok(null);
  }

  setOnline(deviceId: string, online: boolean): void {
    const d = this.state.devices[deviceId];
    if (!d) return;
    const now = this.now();
    d.online = online;
    d.offlineSince = online ? undefined : now;
    d.model.ProReadonly._online = { t: now, stVal: online ? 1 : 0 };
    this.save();
  }

  setOrder(deviceId: string, patch: Partial<CloudStorageOrder>): void {
    const d = this.state.devices[deviceId];
    if (!d) return;
    d.order = { ...d.order, ...patch };
    d.model.ProWritable._cloudStoage.stVal = { serviceType: d.order.pkgType, utcExpire: d.order.endTime, pause: 0 };
    this.save();
  }

  status(d: DeviceRecord): 1 | 2 | 3 {
    const now = this.now();
    if (now <= d.order.endTime && now >= d.order.startTime) return 1;
    if (now <= d.order.endTime + RENEW_GRACE_SECONDS) return 2;
    return 3;
  }

  listDevices(openid: string): IvResult<{ list: DeviceSummary[] }> {
    this.ensureUser(openid);
    const list = Object.values(this.state.devices)
      .filter((d) => d.owners.includes(openid))
      .sort((a, b) => a.seq - b.seq)
      .map((d) => ({
        deviceId: d.deviceId,
        name: d.name,
        productId: d.productId,
        online: d.online,
        cloudStorage: { status: this.status(d), curOrderPkgType: d.order.pkgType, endTime: d.order.endTime },
      }));
    return ok({ list });
  }

  // ---- events ------------------------------------------------------------------------------------------------

  private activity(d: DeviceRecord): DeviceActivity {
    return { deviceId: d.deviceId, seed: d.seed, idPrefix: d.idPrefix, order: d.order, offlineSince: d.offlineSince };
  }

  /** Every event currently visible (ended, within retention, not deleted) with startTime in [from, to], newest first. */
  visibleEvents(d: DeviceRecord, from: number, to: number): GenEvent[] {
    const now = this.now();
    const lo = Math.max(from, now - EVENT_RETENTION_SECONDS);
    const hi = Math.min(to, now);
    if (hi < lo) return [];
    const deleted = new Set(this.state.deleted[d.deviceId] || []);
    const act = this.activity(d);
    const gen = generatedEvents(act, lo, hi).filter((e) => e.endTime <= now && (d.offlineSince === undefined || e.startTime <= d.offlineSince));
    const inj = (this.state.injected[d.deviceId] || []).filter((e) => e.startTime >= lo && e.startTime <= hi && e.endTime <= now);
    return gen.concat(inj).filter((e) => !deleted.has(e.alarmId)).sort(compareEvents);
  }

  /** One event by alarmId (visible only). */
  findEvent(d: DeviceRecord, alarmId: string): GenEvent | undefined {
    const m = /^(\d{9})(\d)(\d{9,11})$/.exec(alarmId);
    if (!m || m[1] !== d.idPrefix) return undefined;
    const startTime = parseInt(m[3], 10);
    return this.visibleEvents(d, startTime, startTime).find((e) => e.alarmId === alarmId);
  }

  /** Video availability window of a device whose order is in use; undefined otherwise. */
  playbackWindow(d: DeviceRecord): Segment | undefined {
    if (this.status(d) !== 1) return undefined;
    const now = this.now();
    const start = Math.max(now - d.order.storageDays * 86400, d.order.startTime);
    const end = Math.min(now, d.order.endTime, d.offlineSince ?? Infinity);
    return end > start ? { start, end } : undefined;
  }

  eventList(d: DeviceRecord, q: EventQuery): IvResult<unknown> {
    const win = this.playbackWindow(d);
    let list = this.visibleEvents(d, q.startTime, q.endTime);
    if (q.typeMasks.length) list = list.filter((e) => q.typeMasks.every((m) => ((e.alarmType & m) >>> 0) !== 0));
    if (q.validCloudStorage) list = win ? list.filter((e) => e.startTime >= win.start) : [];
    if (list.length === 0) return fail(10010, 'no records');
    const page = list.slice(0, q.pageSize);
    return ok({ page, pageEnd: list.length <= q.pageSize, validVideoStartTime: win ? win.start : 0 });
  }

  deleteEvents(d: DeviceRecord, ids: string[]): IvResult<{ deleted: number }> {
    const set = new Set(this.state.deleted[d.deviceId] || []);
    let n = 0;
    for (const id of ids) {
      if (set.has(id)) continue;
      if (this.findEvent(d, id)) {
        set.add(id);
        n++;
      }
    }
    // Forget deletions of events past retention so the file does not grow for ever.
    const horizon = this.now() - EVENT_RETENTION_SECONDS - 86400;
    this.state.deleted[d.deviceId] = Array.from(set).filter((id) => parseInt(id.slice(10), 10) >= horizon);
    this.state.injected[d.deviceId] = (this.state.injected[d.deviceId] || []).filter((e) => e.startTime >= horizon);
    this.save();
    return ok({ deleted: n });
  }

  /** Device-side alarm: new events now (or at the given time); count > 1 makes a same-second burst. */
  injectEvents(d: DeviceRecord, o: { startTime?: number; duration?: number; firstAlarmType?: number; alarmType?: number; count?: number }): GenEvent[] {
    const now = this.now();
    const duration = o.duration ?? 8;
    const startTime = o.startTime ?? now - duration;
    const first = (o.firstAlarmType ?? 1) >>> 0;
    const type = ((o.alarmType ?? first) | first) >>> 0;
    const act = this.activity(d);
    const existing = new Set([
      ...slotEvents(act, Math.floor(startTime / SLOT_SECONDS)).map((e) => e.alarmId),
      ...(this.state.injected[d.deviceId] || []).map((e) => e.alarmId),
    ]);
    const out: StoredEvent[] = [];
    for (let k = 9; k >= 0 && out.length < (o.count ?? 1); k--) {
      const alarmId = alarmIdFor(act, k, startTime);
      if (existing.has(alarmId)) continue;
      const recorded = eventRecorded(act, startTime, startTime + duration, 0);
      out.push({
        alarmId,
        firstAlarmType: first,
        alarmType: ((type & ~HAS_VIDEO) | (recorded ? HAS_VIDEO : 0)) >>> 0,
        startTime,
        endTime: startTime + duration,
        imgSeed: hash32(d.seed, 'inj', alarmId),
        injected: true,
      });
    }
    this.state.injected[d.deviceId] = (this.state.injected[d.deviceId] || []).concat(out);
    this.save();
    return out;
  }

  // ---- recordings ----------------------------------------------------------------------------------------------

  /** Recorded segments within [from, to] (already clipped to the playback window), merged, oldest first. */
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
    // Event storage: the recorded events (deleting an event record does not delete its video).
    const now = this.now();
    const gen = generatedEvents(act, lo - 60, hi).filter((e) => e.endTime <= now);
    const inj = (this.state.injected[d.deviceId] || []).filter((e) => e.endTime >= lo && e.startTime <= hi);
    for (const e of gen.concat(inj)) if (e.alarmType & HAS_VIDEO) raw.push({ start: e.startTime, end: e.endTime });
    return clipSegments(mergeSegments(raw), lo, hi);
  }

  serviceDetail(d: DeviceRecord): IvResult<unknown> {
    const status = this.status(d);
    const win = this.playbackWindow(d);
    return ok({
      status,
      startTime: d.order.startTime,
      endTime: d.order.endTime,
      curOrderPkgType: d.order.pkgType,
      curOrderStorageDays: d.order.storageDays,
      curOrderStartTime: d.order.startTime,
      curOrderEndTime: d.order.endTime,
      playbackStartTime: win ? win.start : 0,
      playbackDays: d.order.storageDays,
    });
  }

  /** Days (local midnights for the offset) that have recordings, oldest first. */
  videoDateList(d: DeviceRecord, timezone: number): IvResult<{ list: number[] }> {
    const win = this.playbackWindow(d);
    if (!win) return fail(10010, 'no records: cloud storage is not in use');
    const list: number[] = [];
    const first = Math.floor((win.start + timezone) / 86400) * 86400 - timezone;
    for (let day = first; day <= win.end; day += 86400) {
      if (this.recordings(d, day, day + 86399).length) list.push(day);
    }
    return list.length ? ok({ list }) : fail(10010, 'no records');
  }

  videoPlayList(d: DeviceRecord, startTime: number, endTime: number): IvResult<{ list: Array<{ start: number; end: number }> }> {
    if (!this.playbackWindow(d)) return fail(10010, 'no records: cloud storage is not in use');
    // "超过一天只返回一天": a range over one day answers its first day.
    const end = Math.min(endTime, startTime + 86400);
    const list = this.recordings(d, startTime, end).map((s) => ({ start: s.start, end: s.end }));
    return list.length ? ok({ list }) : fail(10010, 'no records');
  }

  /** The part of [startTime, endTime] one m3u8 covers: from the first recorded second, at most one hour. */
  playAddress(d: DeviceRecord, startTime: number, endTime: number): IvResult<{ startTime: number; endTime: number; endflag: boolean }> {
    const win = this.playbackWindow(d);
    if (!win) return fail(10010, 'no records: cloud storage is not in use');
    const to = endTime === 0 ? win.end : Math.min(endTime, win.end);
    if (to <= startTime) return fail(10010, 'no records in range');
    // Find the first recording at or after startTime, a day at a time.
    let first: Segment | undefined;
    for (let from = startTime; from < to && !first; from += 86400) first = this.recordings(d, from, Math.min(to, from + 86400))[0];
    if (!first) return fail(10010, 'no records in range');
    // Chunks start on the 2-second segment grid, so consecutive m3u8s never share a segment.
    const s = Math.floor(first.start / 2) * 2;
    const e = Math.min(to, s + PLAY_CHUNK_SECONDS);
    let more = false;
    for (let from = e; from < to && !more; from += 86400) more = this.recordings(d, from + 1, Math.min(to, from + 86400)).length > 0;
    return ok({ startTime: s, endTime: e, endflag: !more });
  }

  // ---- thing model -----------------------------------------------------------------------------------------------

  modelOp(d: DeviceRecord, op: 'read' | 'write' | 'action' | 'add' | 'delete', p: string, json: string): IvResult<Json> {
    const now = this.now();
    if ((op === 'write' || op === 'action') && !d.online) return fail(8000, '目标离线: the device is offline');
    try {
      let data: Json = null;
      if (op === 'read') data = readPath(d.model, p);
      else if (op === 'write') data = writePath(d.model, p, json, now);
      else if (op === 'action') data = runAction(d.model, p, json, now);
      else if (op === 'add') data = addUserProperty(d.model, p, json, now);
      else deleteUserProperty(d.model, p);
      if (op !== 'read') this.save();
      return ok(data);
    } catch (e) {
      if (e instanceof ModelError) return fail(e.code, e.message);
      throw e;
    }
  }

  /** Pass-through: the device answers '{"ack":1,"bytes":n}' when a reply is expected. */
  passthrough(d: DeviceRecord, data: Buffer, expectResponse: boolean): IvResult<{ data: string }> {
    if (!d.online) return fail(8000, '目标离线: the device is offline');
    if (data.length > MAX_DATA_SIZE) return fail(21008, `消息长度超出上限(MAX_DATA_SIZE): ${data.length} > ${MAX_DATA_SIZE}`);
    const reply = expectResponse ? Buffer.from(JSON.stringify({ ack: 1, bytes: data.length })).toString('base64') : '';
    return ok({ data: reply });
  }
}
