/**
 * IoTBackend on Tencent Cloud's real IoT API 3.0, through Tencent's own Node client (CommonClient from
 * tencentcloud-sdk-nodejs-common). The same code talks to the local IoT cloud and to Tencent Cloud: only the endpoint
 * and the credentials differ. Flavours: IoT Explorer `iotexplorer` 2019-04-23 (default) and IoT Video `iotvideo`
 * 2021-11-25; their cloud-storage actions are identical, device actions differ only in DescribeDevice's shape.
 *
 * The seed's IVVAS semantics are built here (docs/iot-video.md has the mapping table):
 *   getEventList   DescribeCloudStorageEvents over time windows from the newest end (Context / Listover inside each
 *                  window; the API's order is not documented, so every window is read whole and sorted), type masks
 *                  evaluated here (events.ts), one DescribeCloudStorageThumbnailList per page.
 *   deleteEvents   DeleteCloudStorageEvent per event (alarmId encodes EventId, StartTime, EndTime).
 *   date lists     DescribeCloudStorageDate (Beijing dates) → local midnights; other time zones via each day's TimeList.
 *   play lists     DescribeCloudStorageTime per Beijing day; play addresses GenerateSignedVideoURL over the day's
 *                  VideoURL + starttime_epoch / endtime_epoch, at most one hour and one day per part (endflag).
 *   service        DescribeCloudStorage (+ DescribeDevicePackages for the package's start).
 *   thing model    DescribeDeviceData / ControlDeviceData / CallDeviceActionSync / PublishMessage.
 * Calls stay under Tencent's per-action rate limits (a client-side sliding-window limiter), RequestLimitExceeded is
 * retried with exponential backoff, identical concurrent reads are coalesced, thumbnails and service details cached.
 */
import http from 'node:http';
import https from 'node:https';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import type { IoTBackend, IoTEventQuery, IoTResult } from './backend';
import { IoTBackendError } from './backend';
import type { IoTBinding, IoTBindings } from './bindings';
import { alarmTypes, compareAlarms, decodeAlarmId, encodeAlarmId } from './events';

export type IoTFlavour = 'iotexplorer' | 'iotvideo';
export const IOT_VERSIONS: Record<IoTFlavour, string> = { iotexplorer: '2019-04-23', iotvideo: '2021-11-25' };

/** Documented per-action limits (requests per second; reference §8). Unlisted actions: 20. */
const RATE_LIMITS: Record<IoTFlavour, Record<string, number>> = {
  iotexplorer: {
    DescribeCloudStorage: 20,
    DescribeCloudStorageDate: 20,
    DescribeCloudStorageTime: 20,
    DescribeCloudStorageEvents: 20,
    DescribeCloudStorageThumbnail: 20,
    DescribeCloudStorageThumbnailList: 20,
    DeleteCloudStorageEvent: 20,
    GenerateSignedVideoURL: 20,
    DescribeDeviceData: 100,
    ControlDeviceData: 350,
    CallDeviceActionSync: 200,
    DescribeDevice: 50,
    ListEventHistory: 20,
    DescribeDevicePackages: 20,
  },
  iotvideo: {
    DescribeCloudStorage: 5000,
    DescribeCloudStorageDate: 5000,
    DescribeCloudStorageTime: 5000,
    DescribeCloudStorageEvents: 5000,
    DescribeCloudStorageThumbnail: 5000,
    DescribeCloudStorageThumbnailList: 5000,
    DeleteCloudStorageEvent: 5000,
    GenerateSignedVideoURL: 5000,
    DescribeDeviceData: 5000,
    ControlDeviceData: 5000,
    CallDeviceActionSync: 5000,
    DescribeDeviceEventHistory: 5000,
  },
};

export interface IoTClock {
  /** Milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}
export const realClock: IoTClock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** At most `limit` calls per action in any 1-second window. */
export class RateLimiter {
  private readonly sent = new Map<string, number[]>();
  private readonly chains = new Map<string, Promise<void>>();
  constructor(
    private readonly clock: IoTClock,
    private readonly limitOf: (action: string) => number,
  ) {}

  acquire(action: string): Promise<void> {
    const run = (this.chains.get(action) || Promise.resolve()).then(async () => {
      const limit = this.limitOf(action);
      const w = this.sent.get(action) || [];
      this.sent.set(action, w);
      for (;;) {
        const now = this.clock.now();
        while (w.length && w[0] <= now - 1000) w.shift();
        if (w.length < limit) {
          w.push(now);
          return;
        }
        await this.clock.sleep(w[0] + 1000 - now);
      }
    });
    this.chains.set(action, run.catch(() => undefined));
    return run;
  }
}

export interface TencentIoTBackendOptions {
  flavour: IoTFlavour;
  /** e.g. https://iotexplorer.tencentcloudapi.com, or the local cloud http://127.0.0.1:port (read at first call). */
  apiUrl: () => string;
  secretId: string;
  secretKey: string;
  region: string;
  bindings: IoTBindings;
  /** Development only: demo devices for a user who has none (the local cloud's provisioning endpoint). */
  provision?: (openid: string) => Promise<IoTBinding[]>;
  clock?: IoTClock;
  /** Override the documented per-action limits (requests per second). */
  rateLimits?: Record<string, number>;
  timeoutSec?: number;
  /** RequestLimitExceeded retries (default 4; backoff 250 ms × 2^n). */
  maxRetries?: number;
  /** `Size` of each DescribeCloudStorageEvents call (default 100; Tencent answers between half and all of it). */
  eventFetchSize?: number;
  /** Called as each request leaves (after the limiter): diagnostics and tests. */
  onRequest?: (action: string, atMs: number) => void;
  /** The product's conventions (docs/iot-video.md): user properties and the pass-through action. */
  userPropsProperty?: string;
  passthroughAction?: string;
}

type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const ok = <T>(data: T): IoTResult<T> => ({ code: 0, msg: 'Success', data });
const fail = (code: number, msg: string): IoTResult<never> => ({ code, msg, data: null });
const BJ = 8 * 3600;
const DAY = 86400;
/** One play address covers at most this much (endflag chains the rest). */
export const PLAY_CHUNK_SECONDS = 3600;
/** A remaining recording shorter than this is not worth another m3u8. */
const MIN_PART_SECONDS = 2;
/** Tencent keeps cloud-storage events at most 30 days: queries never reach further back than this. */
const EVENT_HORIZON_SECONDS = 32 * DAY;
const PAGE_FETCH_SIZE = 100;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const SEG = /^[A-Za-z0-9_]{1,64}$/;

export const beijingDate = (t: number): string => new Date((t + BJ) * 1000).toISOString().slice(0, 10);
const beijingDayStart = (t: number): number => Math.floor((t + BJ) / DAY) * DAY - BJ;
const own = (o: unknown, k: string): boolean => !!o && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k);

class CloudCallError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly requestId?: string,
  ) {
    super(message);
  }
}

/** Device-level cloud errors as the seed's codes; anything else is the platform failing (IoTBackendError). */
function businessCode(code: string): number | undefined {
  if (/^ResourceNotFound\.(DeviceNotExist|ProductOrDeviceNotExist|DeviceShadowNotExist)$/.test(code) || code === 'InvalidParameterValue.DeviceNotExist') return 8002;
  if (code === 'FailedOperation.DeviceOffline' || code === 'FailedOperation.ActionUnreachable') return 8000;
  if (code === 'FailedOperation.Timeout') return 21002;
  return undefined;
}

/**
 * CallDeviceActionSync reports an unreachable device inside a normal response (Status
 * "FailedOperation.ActionUnreachable|动作消息不可达") and a device that did not answer in time with RequestId only.
 */
function actionStatus(r: R): IoTResult | undefined {
  if (r.Status === undefined || r.Status === null) return fail(21002, '消息响应超时: the device did not answer the action in time.');
  const code = String(r.Status).split('|')[0];
  const mapped = businessCode(code);
  return mapped === undefined ? undefined : fail(mapped, `${String(r.Status)}`);
}

export function createTencentIoTBackend(o: TencentIoTBackendOptions): IoTBackend & {
  /** Requests sent per action (tests and diagnostics). */
  readonly sent: Map<string, number>;
} {
  const clock = o.clock || realClock;
  const version = IOT_VERSIONS[o.flavour];
  const limits = { ...RATE_LIMITS[o.flavour], ...(o.rateLimits || {}) };
  const limiter = new RateLimiter(clock, (a) => limits[a] ?? 20);
  const maxRetries = o.maxRetries ?? 4;
  const userProps = o.userPropsProperty || '_user';
  const passthrough = o.passthroughAction || '_passthrough';
  const sent = new Map<string, number>();
  let client: CommonClient | undefined;
  let agent: http.Agent | undefined;

  function getClient(): CommonClient {
    if (client) return client;
    const u = new URL(o.apiUrl());
    // An explicit agent: Tencent's client otherwise routes through any http_proxy in the environment.
    agent = u.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: false });
    client = new CommonClient(u.host, version, {
      credential: { secretId: o.secretId, secretKey: o.secretKey },
      region: o.region,
      profile: { httpProfile: { endpoint: u.host, protocol: `${u.protocol}//`, reqMethod: 'POST', reqTimeout: o.timeoutSec || 10, agent } },
    });
    return client;
  }

  const inflight = new Map<string, Promise<R>>();

  async function callOnce(action: string, params: R): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      await limiter.acquire(action);
      sent.set(action, (sent.get(action) || 0) + 1);
      if (o.onRequest) o.onRequest(action, clock.now());
      try {
        return (await getClient().request(action, params)) as R;
      } catch (e) {
        const err = e as Error & { code?: string; requestId?: string; httpCode?: number };
        if (err.code && err.code.startsWith('RequestLimitExceeded') && attempt < maxRetries) {
          await clock.sleep(250 * 2 ** attempt);
          continue;
        }
        const code = err.code || (err.httpCode ? `HTTP${err.httpCode}` : 'NetworkError');
        throw new CloudCallError(code, `IoT cloud ${action} failed: ${code}: ${err.message}`, err.requestId);
      }
    }
  }

  /** One call; identical concurrent reads share one request. */
  function call(action: string, params: R): Promise<R> {
    if (!/^(Describe|Get|List)/.test(action)) return callOnce(action, params);
    const key = `${action}|${JSON.stringify(params)}`;
    const hit = inflight.get(key);
    if (hit) return hit;
    const p = callOnce(action, params).finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  }

  // ---- small caches ------------------------------------------------------------------------------------------------
  const csCache = new Map<string, { at: number; v: R }>();
  async function cloudStorage(b: IoTBinding): Promise<R> {
    const key = `${b.productId}/${b.deviceName}`;
    const hit = csCache.get(key);
    if (hit && clock.now() - hit.at < 30000) return hit.v;
    const v = await call('DescribeCloudStorage', { ProductId: b.productId, DeviceName: b.deviceName });
    csCache.set(key, { at: clock.now(), v });
    return v;
  }
  const thumbCache = new Map<string, { url: string; until: number }>();
  async function thumbnails(b: IoTBinding, keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const nowS = clock.now() / 1000;
    const missing: string[] = [];
    for (const k of new Set(keys)) {
      if (!k) continue;
      const c = thumbCache.get(`${b.productId}/${b.deviceName}|${k}`);
      if (c && c.until > nowS) out.set(k, c.url);
      else missing.push(k);
    }
    for (let i = 0; i < missing.length; i += 100) {
      const chunk = missing.slice(i, i + 100);
      const r = await call('DescribeCloudStorageThumbnailList', { ProductId: b.productId, DeviceName: b.deviceName, ThumbnailList: chunk });
      const list = (r.ThumbnailURLInfoList || []) as Array<{ ThumbnailURL?: string; ExpireTime?: number }>;
      chunk.forEach((k, j) => {
        const info = list[j];
        if (!info || !info.ThumbnailURL) return;
        out.set(k, info.ThumbnailURL);
        // Cache until a minute before the URL expires.
        thumbCache.set(`${b.productId}/${b.deviceName}|${k}`, { url: info.ThumbnailURL, until: (info.ExpireTime || nowS + 600) - 60 });
      });
    }
    if (thumbCache.size > 5000) for (const k of Array.from(thumbCache.keys()).slice(0, 1000)) thumbCache.delete(k);
    return out;
  }
  let modelCache: { at: number; productId: string; v: R } | undefined;
  async function modelDefinition(productId: string): Promise<R> {
    if (modelCache && modelCache.productId === productId && clock.now() - modelCache.at < 600000) return modelCache.v;
    const r = await call('DescribeModelDefinition', { ProductId: productId });
    const v = JSON.parse((r.Model && r.Model.ModelDefine) || '{}') as R;
    modelCache = { at: clock.now(), productId, v };
    return v;
  }

  // ---- authorisation and error mapping ----------------------------------------------------------------------------
  async function devicesOf(openid: string): Promise<IoTBinding[]> {
    if (o.provision && !(await o.bindings.has(openid))) {
      const made = await o.provision(openid);
      for (const b of made) await o.bindings.bind(openid, b);
      await o.bindings.touch(openid);
    }
    return o.bindings.list(openid);
  }

  async function withDevice(openid: string, deviceId: string, fn: (b: IoTBinding) => Promise<IoTResult>): Promise<IoTResult> {
    await devicesOf(openid);
    const l = await o.bindings.lookup(openid, deviceId);
    if ('code' in l) return l.code === 8003 ? fail(8003, '非法关系链: the device is not bound to this user') : fail(8002, `目标不存在: no device ${deviceId}`);
    try {
      return await fn(l.binding);
    } catch (e) {
      if (e instanceof CloudCallError) {
        const code = businessCode(e.code);
        if (code !== undefined) return { ...fail(code, e.message), requestId: e.requestId };
        throw new IoTBackendError(e.code, e.message, e.requestId);
      }
      throw e;
    }
  }

  const dev = (b: IoTBinding) => ({ ProductId: b.productId, DeviceName: b.deviceName });

  function serviceStatus(cs: R, nowS: number): 1 | 2 | 3 {
    if (cs.Status === 1) return 1;
    return nowS < (cs.ExpireTime || 0) + (cs.ShiftDuration || 0) ? 2 : 3;
  }

  // ---- recordings ----------------------------------------------------------------------------------------------
  const videoUrls = new Map<string, string>();
  async function dayTimeline(b: IoTBinding, dayStart: number, from: number, to: number): Promise<Array<{ start: number; end: number }>> {
    const lo = Math.max(from, dayStart);
    const hi = Math.min(to, dayStart + DAY);
    if (hi <= lo) return [];
    const r = await call('DescribeCloudStorageTime', { ...dev(b), Date: beijingDate(dayStart), StartTime: lo, EndTime: hi });
    const data = (r.Data || {}) as { TimeList?: Array<{ StartTime: number; EndTime: number }>; VideoURL?: string };
    if (data.VideoURL) videoUrls.set(`${b.productId}/${b.deviceName}`, data.VideoURL);
    return (data.TimeList || [])
      .map((s) => ({ start: Math.max(lo, s.StartTime), end: Math.min(hi, s.EndTime) }))
      .filter((s) => s.end > s.start)
      .sort((x, y) => x.start - y.start);
  }
  const merge = (list: Array<{ start: number; end: number }>) => {
    const out: Array<{ start: number; end: number }> = [];
    for (const s of list.slice().sort((x, y) => x.start - y.start)) {
      const last = out[out.length - 1];
      if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
      else out.push({ ...s });
    }
    return out;
  };

  // ---- events --------------------------------------------------------------------------------------------------
  interface Item {
    alarmId: string;
    firstAlarmType: number;
    alarmType: number;
    startTime: number;
    endTime: number;
    thumbnail: string;
  }

  /** Every event with StartTime in [from, to] (inclusive), following Context until Listover. */
  async function eventsIn(b: IoTBinding, from: number, to: number): Promise<Item[]> {
    const nowS = Math.floor(clock.now() / 1000);
    const seen = new Set<string>();
    const out: Item[] = [];
    let context = '';
    for (let i = 0; i < 200; i++) {
      const r = await call('DescribeCloudStorageEvents', { ...dev(b), StartTime: from, EndTime: to, Size: o.eventFetchSize || PAGE_FETCH_SIZE, ...(context ? { Context: context } : {}) });
      const events = (r.Events || []) as Array<{ StartTime: number; EndTime: number; Thumbnail?: string; EventId: string; UploadStatus?: string; Data?: string }>;
      for (const e of events) {
        if (typeof e.StartTime !== 'number' || e.StartTime < from || e.StartTime > to || typeof e.EventId !== 'string') continue;
        // An event still in progress has EndTime 0 (Tencent's own demos substitute now).
        const end = e.EndTime > 0 ? e.EndTime : nowS;
        const alarmId = encodeAlarmId({ EventId: e.EventId, StartTime: e.StartTime, EndTime: e.EndTime });
        if (seen.has(alarmId)) continue;
        seen.add(alarmId);
        out.push({ alarmId, ...alarmTypes(e), startTime: e.StartTime, endTime: end, thumbnail: e.Thumbnail || '' });
      }
      if (r.Listover === true || !r.Context || r.Context === context || events.length === 0) break;
      context = r.Context;
    }
    return out.sort(compareAlarms);
  }

  const matches = (type: number, masks: number[]) => masks.every((m) => ((type & m) >>> 0) !== 0);

  // ---- thing model ---------------------------------------------------------------------------------------------
  interface ModelDef {
    readonly: string[];
    writable: string[];
    actions: string[];
  }
  async function model(b: IoTBinding): Promise<ModelDef> {
    const m = await modelDefinition(b.productId);
    const props = (Array.isArray(m.properties) ? m.properties : []) as Array<{ id: string; mode: string }>;
    const actions = ((Array.isArray(m.actions) ? m.actions : []) as Array<{ id: string }>).map((a) => a.id).filter((id) => id !== passthrough);
    return {
      readonly: props.filter((p) => p.mode !== 'rw' && !actions.includes(p.id)).map((p) => p.id),
      writable: props.filter((p) => p.mode === 'rw' && p.id !== userProps).map((p) => p.id),
      actions,
    };
  }
  async function deviceData(b: IoTBinding): Promise<Record<string, { Value: Json; LastUpdate: number }>> {
    const r = await call('DescribeDeviceData', dev(b));
    const parsed = JSON.parse(r.Data || '{}') as Record<string, { Value: Json; LastUpdate: number }>;
    const out = Object.create(null) as Record<string, { Value: Json; LastUpdate: number }>;
    for (const k of Object.keys(parsed)) out[k] = parsed[k];
    return out;
  }
  function userPropsOf(data: Record<string, { Value: Json }>): Record<string, { t: number; val: Json }> {
    const out = Object.create(null) as Record<string, { t: number; val: Json }>;
    const raw = data[userProps]?.Value;
    if (typeof raw !== 'string' || !raw) return out;
    try {
      const j = JSON.parse(raw) as Record<string, { t: number; val: Json }>;
      if (j && typeof j === 'object' && !Array.isArray(j)) for (const k of Object.keys(j)) if (!RESERVED.has(k)) out[k] = j[k];
    } catch {
      /* a device that stored something else: no user properties */
    }
    return out;
  }
  async function whole(b: IoTBinding): Promise<Record<string, Record<string, Json>>> {
    const nowS = Math.floor(clock.now() / 1000);
    const [m, data, info, cs] = await Promise.all([model(b), deviceData(b), call('DescribeDevice', dev(b)), cloudStorage(b)]);
    const online = o.flavour === 'iotvideo' ? info.Online === 1 : info.Device && info.Device.Status === 1;
    const loginTime = (o.flavour === 'iotvideo' ? info.LoginTime : info.Device && info.Device.LoginTime) || 0;
    const t = (id: string) => Math.floor((data[id]?.LastUpdate || 0) / 1000);
    const node = (): Record<string, Json> => Object.create(null);
    const ro = node();
    ro._online = { t: loginTime, stVal: online ? 1 : 0 };
    for (const id of m.readonly) if (own(data, id)) ro[id] = { t: t(id), stVal: data[id].Value };
    const rw = node();
    for (const id of m.writable) if (own(data, id)) rw[id] = { t: t(id), setVal: data[id].Value, stVal: data[id].Value };
    rw._cloudStoage = { t: nowS, setVal: null, stVal: { serviceType: cs.Type || 0, utcExpire: cs.ExpireTime || 0, pause: 0 } };
    const act = node();
    for (const id of m.actions) act[id] = { t: own(data, id) ? t(id) : 0, ctlVal: own(data, id) ? data[id].Value : null, stVal: own(data, id) ? data[id].Value : null };
    return { ProReadonly: ro, ProWritable: rw, ProUser: userPropsOf(data) as unknown as Record<string, Json>, Action: act };
  }
  function splitPath(p: string): string[] | IoTResult {
    const segs = p.split('.');
    if (segs.some((s) => !SEG.test(s) || RESERVED.has(s))) return fail(20101, `设备端校验叶子路径非法: "${p}" is not a model path.`);
    return segs;
  }
  function parseValue(json: string): { v: Json } | IoTResult {
    try {
      return { v: JSON.parse(json) as Json };
    } catch (e) {
      return fail(20102, `设备端解析JSON出错: ${(e as Error).message}`);
    }
  }
  /** ControlDeviceData → the seed's codes. */
  async function control(b: IoTBinding, data: Record<string, Json>): Promise<IoTResult | undefined> {
    try {
      const r = await call('ControlDeviceData', { ...dev(b), Data: JSON.stringify(data) });
      const res = JSON.parse(r.Result || '{}') as { pushResult?: number; Sent?: number };
      if (res.pushResult === 23101 || res.Sent === 0) return fail(8000, '目标离线: the device is offline or not subscribed (pushResult 23101)');
      if (res.pushResult) return fail(20103, `设备处理失败: pushResult ${res.pushResult}`);
      return undefined;
    } catch (e) {
      if (e instanceof CloudCallError && e.code === 'InvalidParameterValue.ModelPropertyNotExist') return fail(20101, e.message);
      if (e instanceof CloudCallError && e.code.startsWith('InvalidParameterValue')) return fail(21081, `设备端判定参数错误: ${e.message}`);
      throw e;
    }
  }
  async function writeUserProps(b: IoTBinding, edit: (props: Record<string, { t: number; val: Json }>) => IoTResult | Json): Promise<IoTResult> {
    const props = userPropsOf(await deviceData(b));
    const r = edit(props);
    if (r && typeof r === 'object' && !Array.isArray(r) && typeof (r as { code?: unknown }).code === 'number' && (r as { code: number }).code !== 0) return r as IoTResult;
    const plain: Record<string, unknown> = {};
    for (const k of Object.keys(props)) Object.defineProperty(plain, k, { value: props[k], enumerable: true });
    const bad = await control(b, { [userProps]: JSON.stringify(plain) });
    return bad || ok((r as IoTResult).data);
  }

  const backend = {
    name: `tencent-${o.flavour}`,
    sent,

    async listDevices(openid: string, again = true): Promise<IoTResult> {
      const list = await devicesOf(openid);
      const nowS = Math.floor(clock.now() / 1000);
      const rows = await Promise.all(
        list.map(async (b) => {
          try {
            const [info, cs] = await Promise.all([call('DescribeDevice', dev(b)), cloudStorage(b)]);
            const online = o.flavour === 'iotvideo' ? info.Online === 1 : !!info.Device && info.Device.Status === 1;
            return { deviceId: b.deviceId, name: b.name, productId: b.productId, online, cloudStorage: { status: serviceStatus(cs, nowS), curOrderPkgType: cs.Type || 0, endTime: cs.ExpireTime || 0 } };
          } catch (e) {
            if (e instanceof CloudCallError && businessCode(e.code) === 8002) return undefined; // deleted on the platform
            if (e instanceof CloudCallError) throw new IoTBackendError(e.code, e.message, e.requestId);
            throw e;
          }
        }),
      );
      // Development: the local cloud's state was reset under a kept binding table; provisioning recreates the demo devices.
      if (again && o.provision && list.length > 0 && rows.every((r) => r === undefined)) {
        await o.provision(openid);
        return backend.listDevices(openid, false);
      }
      return ok({ list: rows.filter(Boolean) });
    },

    getServiceDetailInfo: (openid: string, deviceId: string) =>
      withDevice(openid, deviceId, async (b) => {
        const nowS = Math.floor(clock.now() / 1000);
        const [cs, pkgs] = await Promise.all([cloudStorage(b), call('DescribeDevicePackages', { ...dev(b), Limit: 10, Offset: 0 })]);
        const status = serviceStatus(cs, nowS);
        const days = Math.round((cs.ShiftDuration || 0) / DAY);
        // The package start: the one in effect (Status 2), else the latest to expire.
        const list = ((pkgs.Packages || []) as Array<{ Status?: number; CSExpiredTime?: number; CreatedAt?: number }>).slice().sort((x, y) => (y.CSExpiredTime || 0) - (x.CSExpiredTime || 0));
        const pkg = list.find((x) => x.Status === 2) || list[0];
        const started = (pkg && pkg.CreatedAt) || 0;
        return ok({
          status,
          startTime: started,
          endTime: cs.ExpireTime || 0,
          curOrderPkgType: cs.Type || 0,
          curOrderStorageDays: days,
          curOrderStartTime: started,
          curOrderEndTime: cs.ExpireTime || 0,
          playbackStartTime: status === 1 ? nowS - (cs.ShiftDuration || 0) : 0,
          playbackDays: days,
        });
      }),

    getVideoDateList: (openid: string, deviceId: string, timezone: number) =>
      withDevice(openid, deviceId, async (b) => {
        const r = await call('DescribeCloudStorageDate', dev(b));
        const dates = ((r.Data || []) as string[]).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
        const days = new Set<number>();
        for (const date of dates) {
          const start = Date.parse(`${date}T00:00:00+08:00`) / 1000;
          if (timezone === BJ) {
            days.add(start);
            continue;
          }
          // Another time zone: the local days that this Beijing day's recordings touch.
          for (const s of await dayTimeline(b, start, start, start + DAY)) {
            for (let t = s.start; t < s.end; t = Math.floor((t + timezone) / DAY + 1) * DAY - timezone) days.add(Math.floor((t + timezone) / DAY) * DAY - timezone);
          }
        }
        const list = Array.from(days).sort((x, y) => x - y);
        return list.length ? ok({ list }) : fail(10010, '没有记录: no recordings');
      }),

    getVideoPlayList: (openid: string, deviceId: string, startTime: number, endTime: number) =>
      withDevice(openid, deviceId, async (b) => {
        // "超过一天只返回一天": a range over one day answers its first day.
        const to = Math.min(endTime, startTime + DAY);
        const parts: Array<{ start: number; end: number }> = [];
        for (let day = beijingDayStart(startTime); day < to; day += DAY) parts.push(...(await dayTimeline(b, day, startTime, to)));
        const list = merge(parts);
        return list.length ? ok({ list }) : fail(10010, '没有记录: no recordings in range');
      }),

    getVideoPlayAddress: (openid: string, deviceId: string, startTime: number, endTime: number) =>
      withDevice(openid, deviceId, async (b) => {
        const nowS = Math.floor(clock.now() / 1000);
        const to = endTime === 0 ? nowS : Math.min(endTime, nowS);
        // No recording is older than the horizon: startTime 0 means "from the oldest recording".
        const from = Math.max(startTime, nowS - EVENT_HORIZON_SECONDS);
        // The first recording at or after `from`, a Beijing day at a time.
        let first: { start: number; end: number } | undefined;
        let day = beijingDayStart(from);
        let timeline: Array<{ start: number; end: number }> = [];
        for (let i = 0; i < 34 && day < to && !first; i++, day += DAY) {
          timeline = await dayTimeline(b, day, from, to);
          first = timeline.find((s) => s.end - s.start >= MIN_PART_SECONDS);
          if (first) break;
        }
        if (!first) return fail(10010, '没有记录: no recordings in range');
        const s = first.start;
        const dayEnd = beijingDayStart(s) + DAY;
        const e = Math.min(to, s + PLAY_CHUNK_SECONDS, dayEnd);
        // More to play after e (within the request)? This day's timeline, then the next days'.
        let more = timeline.some((x) => Math.min(x.end, to) - Math.max(x.start, e) >= MIN_PART_SECONDS);
        for (let d = dayEnd, i = 0; !more && d < to && i < 33; d += DAY, i++) {
          more = (await dayTimeline(b, d, e, to)).some((x) => x.end - x.start >= MIN_PART_SECONDS);
        }
        const base = videoUrls.get(`${b.productId}/${b.deviceName}`);
        if (!base) throw new CloudCallError('InternalError', 'DescribeCloudStorageTime answered no VideoURL.');
        const sep = base.includes('?') ? '&' : '?';
        const signed = await call('GenerateSignedVideoURL', { VideoURL: `${base}${sep}starttime_epoch=${s}&endtime_epoch=${e}`, ExpireTime: nowS + 3600 });
        if (typeof signed.SignedVideoURL !== 'string') throw new CloudCallError('InternalError', 'GenerateSignedVideoURL answered no SignedVideoURL.');
        return ok({ url: signed.SignedVideoURL, startTime: s, endTime: e, endflag: !more });
      }),

    getEventList: (openid: string, deviceId: string, q: IoTEventQuery) =>
      withDevice(openid, deviceId, async (b) => {
        const nowS = Math.floor(clock.now() / 1000);
        const cs = await cloudStorage(b);
        const validStart = cs.Status === 1 ? nowS - (cs.ShiftDuration || 0) : 0;
        let lo = Math.max(q.startTime, nowS - EVENT_HORIZON_SECONDS, 1);
        if (q.validCloudStorage) {
          if (cs.Status !== 1) return fail(10010, '没有记录: cloud storage is not in use');
          lo = Math.max(lo, validStart);
        }
        const hi = Math.min(q.endTime, nowS);
        const collected: Item[] = [];
        // Windows from the newest end, growing until the page (plus one, for pageEnd) is full or the range is read.
        let span = Math.min(DAY, Math.max(3600, q.pageSize * 900));
        let windowEnd = hi;
        while (windowEnd >= lo && collected.length <= q.pageSize) {
          const windowStart = Math.max(lo, windowEnd - span + 1);
          for (const e of await eventsIn(b, windowStart, windowEnd)) if (!q.typeMasks.length || matches(e.alarmType, q.typeMasks)) collected.push(e);
          windowEnd = windowStart - 1;
          span *= 2;
        }
        if (collected.length === 0) return fail(10010, '没有记录: no events');
        const page = collected.slice(0, q.pageSize);
        const urls = await thumbnails(b, page.map((e) => e.thumbnail));
        return ok({
          imgUrlPrefix: '',
          thumbUrlSuffix: '&imageMogr2/thumbnail/160x90',
          list: page.map((e) => ({ alarmId: e.alarmId, firstAlarmType: e.firstAlarmType, alarmType: e.alarmType, startTime: e.startTime, endTime: e.endTime, imgUrlSuffix: urls.get(e.thumbnail) || '' })),
          validVideoStartTime: validStart,
          validStartTime: validStart,
          pageEnd: collected.length <= q.pageSize && windowEnd < lo,
        });
      }),

    deleteEvents: (openid: string, deviceId: string, eventIds: string[]) =>
      withDevice(openid, deviceId, async (b) => {
        const failed: string[] = [];
        let deleted = 0;
        await Promise.all(
          eventIds.map(async (id) => {
            const t = decodeAlarmId(id);
            if (!t) {
              failed.push(id);
              return;
            }
            await call('DeleteCloudStorageEvent', { ...dev(b), EventId: t.EventId, StartTime: t.StartTime, EndTime: t.EndTime });
            deleted++;
          }),
        );
        return ok({ deleted, failed });
      }),

    readProperty: (openid: string, deviceId: string, p: string) =>
      withDevice(openid, deviceId, async (b) => {
        const tree = await whole(b);
        if (p === '') return ok(tree);
        const segs = splitPath(p);
        if (!Array.isArray(segs)) return segs;
        let node: unknown = tree;
        for (const s of segs) {
          if (!own(node, s) || Array.isArray(node)) return fail(20101, `设备端校验叶子路径非法: no model node at "${p}".`);
          node = (node as Record<string, unknown>)[s];
        }
        return ok(node);
      }),

    writeProperty: (openid: string, deviceId: string, p: string, json: string) =>
      withDevice(openid, deviceId, async (b) => {
        const segs = splitPath(p);
        if (!Array.isArray(segs)) return segs;
        const parsed = parseValue(json);
        if (!('v' in parsed)) return parsed;
        const value = parsed.v;
        const nowS = Math.floor(clock.now() / 1000);
        if (segs[0] === 'ProWritable' && segs.length >= 2) {
          const name = segs[1];
          if (name === '_cloudStoage') return fail(21080, `设备端不支持该命令: ${name} is set by the platform.`);
          if (!(await model(b)).writable.includes(name)) return fail(20101, `设备端校验叶子路径非法: no writable property "${name}".`);
          let v: Json;
          if (segs.length === 2) {
            if (!value || typeof value !== 'object' || Array.isArray(value) || !own(value, 'setVal')) return fail(21081, `设备端判定参数错误: writing "${p}" takes '{"setVal":…}'.`);
            v = (value as Record<string, Json>).setVal;
          } else if (segs.length === 3 && segs[2] === 'setVal') v = value;
          else return fail(20101, `设备端校验叶子路径非法: "${p}" is not a writable leaf.`);
          const bad = await control(b, { [name]: v });
          return bad || ok({ t: nowS, setVal: v, stVal: v });
        }
        if (segs[0] === 'ProUser' && segs.length >= 3 && segs.length <= 4 && segs[2] === 'val') {
          return writeUserProps(b, (props) => {
            const node = props[segs[1]];
            if (!node) return fail(20101, `设备端校验叶子路径非法: no user property "${segs[1]}" (add it first).`);
            if (segs.length === 3) node.val = value;
            else {
              if (!node.val || typeof node.val !== 'object' || Array.isArray(node.val)) node.val = {};
              Object.defineProperty(node.val, segs[3], { value, enumerable: true, writable: true, configurable: true });
            }
            node.t = nowS;
            return ok(node) as unknown as Json;
          });
        }
        return fail(20101, `设备端校验叶子路径非法: "${p}" is not writable (ProWritable.<name>[.setVal] or ProUser.<name>.val[.<key>]).`);
      }),

    takeAction: (openid: string, deviceId: string, p: string, json: string) =>
      withDevice(openid, deviceId, async (b) => {
        const segs = splitPath(p);
        if (!Array.isArray(segs)) return segs;
        if (segs[0] !== 'Action' || segs.length !== 2) return fail(20101, `设备端校验叶子路径非法: "${p}" is not Action.<name>.`);
        if (!(await model(b)).actions.includes(segs[1])) return fail(20101, `设备端校验叶子路径非法: no action "${segs[1]}".`);
        const parsed = parseValue(json);
        if (!('v' in parsed)) return parsed;
        const value = parsed.v;
        if (!value || typeof value !== 'object' || Array.isArray(value) || !own(value, 'ctlVal')) return fail(21081, `设备端判定参数错误: an action takes '{"ctlVal":…}'.`);
        const ctlVal = (value as Record<string, Json>).ctlVal;
        let r: R;
        try {
          r = await call('CallDeviceActionSync', { ...dev(b), ActionId: segs[1], InputParams: JSON.stringify({ ctlVal }) });
        } catch (e) {
          if (e instanceof CloudCallError && e.code === 'InvalidParameter.ActionInputParamsInvalid') return fail(21081, `设备端判定参数错误: ${e.message}`);
          if (e instanceof CloudCallError && e.code === 'InvalidParameterValue.ActionNilOrNotExist') return fail(20101, e.message);
          throw e;
        }
        let out: Record<string, Json> = {};
        try {
          out = JSON.parse(r.OutputParams || '{}') as Record<string, Json>;
        } catch {
          /* a reply without JSON output */
        }
        const status = actionStatus(r);
        if (status) return status;
        if (!/^(success|succ|suc)$/i.test(String(r.Status))) return fail(20103, `设备处理ACtion失败: Status ${r.Status}${own(out, 'reason') ? ` (${String(out.reason)})` : ''}`);
        return ok({ t: Math.floor(clock.now() / 1000), ctlVal, stVal: own(out, 'stVal') ? out.stVal : ctlVal });
      }),

    addProperty: (openid: string, deviceId: string, p: string, json: string) =>
      withDevice(openid, deviceId, async (b) => {
        const segs = splitPath(p);
        if (!Array.isArray(segs)) return segs;
        if (segs[0] !== 'ProUser' || segs.length !== 2) return fail(20101, `设备端校验叶子路径非法: a user property path is ProUser.<name> (got "${p}").`);
        if (segs[1].startsWith('_')) return fail(8605, `User property names may not start with "_" ("${segs[1]}" is reserved for the built-in model).`);
        const parsed = parseValue(json);
        if (!('v' in parsed)) return parsed;
        return writeUserProps(b, (props) => {
          props[segs[1]] = { t: Math.floor(clock.now() / 1000), val: parsed.v };
          return ok(props[segs[1]]) as unknown as Json;
        });
      }),

    deleteProperty: (openid: string, deviceId: string, p: string) =>
      withDevice(openid, deviceId, async (b) => {
        const segs = splitPath(p);
        if (!Array.isArray(segs)) return segs;
        if (segs[0] !== 'ProUser' || segs.length !== 2) return fail(20101, `设备端校验叶子路径非法: a user property path is ProUser.<name> (got "${p}").`);
        if (segs[1].startsWith('_')) return fail(8605, `User property names may not start with "_".`);
        return writeUserProps(b, (props) => {
          if (!props[segs[1]]) return fail(20101, `设备端校验叶子路径非法: no user property "${segs[1]}".`);
          delete props[segs[1]];
          return ok(null) as unknown as Json;
        });
      }),

    sendDataToDevice: (openid: string, deviceId: string, data: string, expectResponse: boolean) =>
      withDevice(openid, deviceId, async (b) => {
        if (!expectResponse) {
          await call('PublishMessage', { ...dev(b), Topic: `${b.productId}/${b.deviceName}/data`, Payload: data, PayloadEncoding: 'base64' });
          return ok({ data: '' });
        }
        const r = await call('CallDeviceActionSync', { ...dev(b), ActionId: passthrough, InputParams: JSON.stringify({ data }) });
        const status = actionStatus(r);
        if (status) return status;
        if (!/^(success|succ|suc)$/i.test(String(r.Status))) return fail(20103, `设备处理失败: Status ${r.Status}`);
        let reply = '';
        try {
          const out = JSON.parse(r.OutputParams || '{}') as { data?: unknown };
          reply = typeof out.data === 'string' ? out.data : '';
        } catch {
          /* no reply */
        }
        return ok({ data: reply });
      }),

    /** Development: bind an existing device of the local cloud to a user (what device provisioning does). */
    async bindDevice(openid: string, deviceId: string, productId: string): Promise<IoTResult> {
      await devicesOf(openid);
      const b: IoTBinding = { deviceId, deviceName: deviceId, productId, name: deviceId };
      try {
        await call('DescribeDevice', dev(b));
      } catch (e) {
        if (e instanceof CloudCallError && businessCode(e.code) === 8002) return fail(8002, `目标不存在: no device ${deviceId}`);
        if (e instanceof CloudCallError) throw new IoTBackendError(e.code, e.message, e.requestId);
        throw e;
      }
      const named = await o.bindings.anyBinding(deviceId);
      return (await o.bindings.bind(openid, { ...b, name: named ? named.name : deviceId })) ? ok(null) : fail(8022, '设备已经绑定此用户');
    },

    async close() {
      if (agent) agent.destroy();
    },
  };
  return backend;
}
