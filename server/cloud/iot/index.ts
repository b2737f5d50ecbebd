/**
 * The local IoT cloud: Tencent Cloud API 3.0 for IoT cameras, as Tencent serves it.
 *   POST / with a JSON body, `X-TC-Action`, `X-TC-Version`, `X-TC-Timestamp`, TC3-HMAC-SHA256 `Authorization`
 *   (verified with the service named in the credential scope and the Host without its port).
 *   X-TC-Version 2019-04-23 = IoT Explorer (iotexplorer), 2021-11-25 = IoT Video consumer (iotvideo).
 *   Answers are HTTP 200 `{"Response": {…fields…, "RequestId": uuid}}`, or `{"Response": {"Error": {Code, Message},
 *   "RequestId"}}`; unknown fields are UnknownParameter, missing ones MissingParameter, wrong types InvalidParameter.
 * Actions (both versions unless noted): DescribeCloudStorage, DescribeCloudStorageDate, DescribeCloudStorageTime,
 * DescribeCloudStorageEvents, DescribeCloudStorageThumbnail, DescribeCloudStorageThumbnailList,
 * DeleteCloudStorageEvent, GenerateSignedVideoURL, DescribeDeviceData, ControlDeviceData, CallDeviceActionSync,
 * PublishMessage, DescribeDevice (flat `Online` on iotvideo, `Device{Status}` on iotexplorer), DescribeModelDefinition,
 * DescribeDevices + DescribeDeviceEventHistory (iotvideo), GetDeviceList + ListEventHistory (iotexplorer).
 * Field names, types and error codes: /work/shared/reference/tencent-iot-cloud-api.md §3–§5 (sources cited there).
 *
 * Media as Tencent serves it: thumbnails are COS-style object keys resolved to signed, expiring URLs; recordings are
 * HLS at `/timeshift/live/<id>/timeshift.m3u8?starttime_epoch=&endtime_epoch=` (the base URL from
 * DescribeCloudStorageTime / …Events), playable once GenerateSignedVideoURL has added `t` and `sign`.
 *
 * Dev endpoints (no auth, local only) under /_admin: see docs/iot-video.md.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createFastify, z } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import { tc3Verify } from './tc3';
import { noteSignature } from '../request-log';
import { beijingDate, beijingDay, CloudEvent, DeviceRecord, IotCloudState } from './service';
import { checkControlData, DEMO_PRODUCT_ID, DEMO_PRODUCT_NAME, MODEL, ProductError, runDeviceAction } from './product';
import { paintSnapshot } from './png';
import { buildM3u8, loadSampleClip, renderSegment, SampleClip, SEGMENT_SECONDS } from './hls';
import { EVENT_RETENTION_SECONDS } from './generator';

export const IOT_EXPLORER_VERSION = '2019-04-23';
export const IOT_VIDEO_VERSION = '2021-11-25';
/** Thumbnail URL lifetime (Tencent's presigned COS URLs last an hour). */
export const THUMBNAIL_TTL_SECONDS = 3600;
/** Largest page DescribeCloudStorageEvents / event history return, whatever Size asks (an emulator choice). */
export const MAX_EVENT_PAGE = 100;
const FULL_IMAGE = { w: 640, h: 360 };
/** When the demo product's thing model was "published" (epoch seconds). */
const MODEL_TIME = 1767196800;

export interface IotCloudOptions {
  /** SecretId → SecretKey accepted for TC3 (default: the dev credentials). */
  secrets?: Record<string, string>;
}

// ---- request field checks, Tencent style ----------------------------------------------------------------------------

type FieldType = 'String' | 'UInt' | 'Int' | 'Boolean' | 'String[]';
type Spec = Record<string, [FieldType, boolean]>;
const S = (req = false): [FieldType, boolean] => ['String', req];
const U = (req = false): [FieldType, boolean] => ['UInt', req];
const DEVICE: Spec = { ProductId: S(true), DeviceName: S(true) };
const CS: Spec = { ...DEVICE, UserId: S(), ChannelId: U() };
const EXPLORER_DEVICE: Spec = { ProductId: S(), DeviceName: S(), DeviceId: S() };

type Flavour = 'iotexplorer' | 'iotvideo';
const COMMON: Record<string, Spec> = {
  DescribeCloudStorage: CS,
  DescribeCloudStorageDate: CS,
  DescribeCloudStorageTime: { ...CS, Date: S(true), StartTime: U(), EndTime: U() },
  DescribeCloudStorageEvents: { ...CS, StartTime: U(), EndTime: U(), Context: S(), Size: U(), EventId: S() },
  DescribeCloudStorageThumbnail: { ...DEVICE, Thumbnail: S(true) },
  DescribeCloudStorageThumbnailList: { ...DEVICE, ThumbnailList: ['String[]', true] },
  DeleteCloudStorageEvent: { ...CS, EventId: S(true), StartTime: U(true), EndTime: U(true) },
  GenerateSignedVideoURL: { VideoURL: S(true), ExpireTime: U(true), ChannelId: U() },
  CallDeviceActionSync: { ...DEVICE, ActionId: S(true), InputParams: S() },
  PublishMessage: { ...DEVICE, Topic: S(true), Payload: S(true), Qos: U(), PayloadEncoding: S() },
  DescribeModelDefinition: { ProductId: S(true) },
  DescribeDevicePackages: { ...DEVICE, Limit: U(true), Offset: U(true), CSUserId: S(), ChannelId: U() },
};
const EVENT_HISTORY: Spec = { ...DEVICE, Type: S(), StartTime: U(), EndTime: U(), Context: S(), Size: U(), EventId: S() };
const ACTIONS: Record<string, Record<string, Spec>> = {
  [IOT_VIDEO_VERSION]: {
    ...COMMON,
    DescribeDeviceData: DEVICE,
    ControlDeviceData: { ...DEVICE, Data: S(true), Method: S(), DataTimestamp: ['Int', false] },
    DescribeDevice: DEVICE,
    DescribeDevices: { ProductId: S(true), Offset: U(true), Limit: U(true), DeviceName: S() },
    DescribeDeviceEventHistory: EVENT_HISTORY,
  },
  [IOT_EXPLORER_VERSION]: {
    ...COMMON,
    DescribeDeviceData: EXPLORER_DEVICE,
    ControlDeviceData: { ...EXPLORER_DEVICE, Data: S(true), Method: S(), DataTimestamp: ['Int', false] },
    DescribeDevice: EXPLORER_DEVICE,
    GetDeviceList: { ProductId: S(true), Offset: U(), Limit: U(), FirmwareVersion: S(), DeviceName: S(), ProjectId: S() },
    ListEventHistory: EVENT_HISTORY,
  },
};
const FLAVOUR: Record<string, Flavour> = { [IOT_VIDEO_VERSION]: 'iotvideo', [IOT_EXPLORER_VERSION]: 'iotexplorer' };

class ApiError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function checkFields(spec: Spec, body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('InvalidParameter', 'The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!Object.prototype.hasOwnProperty.call(spec, k)) throw new ApiError('UnknownParameter', `The parameter \`${k}\` is not recognized.`);
  }
  for (const [k, [type, req]] of Object.entries(spec)) {
    const present = Object.prototype.hasOwnProperty.call(b, k) && b[k] !== null && b[k] !== undefined;
    if (!present) {
      if (req) throw new ApiError('MissingParameter', `The request is missing a required parameter \`${k}\`.`);
      continue;
    }
    const v = b[k];
    const ok =
      type === 'String'
        ? typeof v === 'string'
        : type === 'Boolean'
          ? typeof v === 'boolean'
          : type === 'String[]'
            ? Array.isArray(v) && v.every((x) => typeof x === 'string')
            : typeof v === 'number' && Number.isSafeInteger(v) && (type === 'Int' || v >= 0);
    if (!ok) throw new ApiError('InvalidParameter', `The parameter \`${k}\` must be ${type === 'UInt' ? 'an unsigned integer' : type === 'Int' ? 'an integer' : type === 'String[]' ? 'an array of strings' : `a ${type.toLowerCase()}`}.`);
    if (typeof v === 'string' && v.length > 64 * 1024) throw new ApiError('InvalidParameterValue', `The parameter \`${k}\` is too long.`);
  }
  return b;
}

// ---- faults --------------------------------------------------------------------------------------------------------

interface Fault {
  /** An action name, or undefined for every action. */
  action?: string;
  /** 'error': answer Error{code}; 'hang': hold the answer until the faults are cleared. */
  kind: 'error' | 'hang';
  code: string;
  message: string;
  times: number;
}

export function iotProvider(options: IotCloudOptions = {}): CloudProvider {
  // A Map: a SecretId such as "constructor" or "__proto__" must not find Object.prototype's members.
  const secrets = new Map<string, string>(Object.entries(options.secrets || { [DEV_CREDENTIALS.tencent.secretId]: DEV_CREDENTIALS.tencent.secretKey }));
  return {
    name: 'iot',
    async build(ctx: CloudContext) {
      const app = createFastify({ name: 'iot', bodyLimit: 1024 * 1024 });
      const st = new IotCloudState(ctx.dataDir, () => ctx.now());
      const keyFile = path.join(ctx.dataDir, 'url-key');
      if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
      const urlKey = readFileSync(keyFile, 'utf8').trim();
      let clip: SampleClip | undefined;
      const getClip = () => (clip = clip || loadSampleClip());
      const imageCache = new Map<string, Buffer>();
      const segCache = new Map<number, Buffer>();
      const remember = <K, V>(m: Map<K, V>, k: K, v: V, max: number) => {
        m.set(k, v);
        if (m.size > max) m.delete(m.keys().next().value as K);
        return v;
      };
      let faults: Fault[] = [];
      /** Devices that take too long to answer actions (CallDeviceActionSync answers RequestId only). */
      const deviceTimeouts = new Set<string>();
      const held = new Set<() => void>();
      const stats = new Map<string, number>();

      const sign = (...parts: Array<string | number>) => createHmac('sha256', urlKey).update(parts.join('|')).digest('hex').slice(0, 32);
      const checkSign = (given: unknown, expires: unknown, ...parts: Array<string | number>): string | undefined => {
        if (typeof given !== 'string' || typeof expires !== 'string' || !/^\d+$/.test(expires)) return 'missing t / sign';
        const want = sign(...parts, expires);
        if (given.length !== want.length || !timingSafeEqual(Buffer.from(given), Buffer.from(want))) return 'bad signature';
        if (parseInt(expires, 10) < st.now()) return 'URL expired';
        return undefined;
      };
      const base = () => ctx.urls.iot;
      const videoKey = (d: DeviceRecord) => createHash('sha256').update(`video|${d.productId}/${d.deviceName}`).digest('hex').slice(0, 32);
      const byVideoKey = new Map<string, string>();
      const deviceByVideoKey = (key: string): DeviceRecord | undefined => {
        if (!byVideoKey.has(key)) for (const d of st.allDevices()) byVideoKey.set(videoKey(d), d.deviceName);
        const n = byVideoKey.get(key);
        return n === undefined ? undefined : st.device(n);
      };
      const videoUrl = (d: DeviceRecord) => `${base()}/timeshift/live/${videoKey(d)}/timeshift.m3u8`;
      const thumbnailKey = (d: DeviceRecord, e: CloudEvent) => `/${d.productId}/${d.deviceName}/events/${e.key}.png`;

      // The signed API needs the exact bytes (the signature covers their hash); the dev endpoints take plain JSON.
      app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
        if (req.url.split('?')[0] === '/') return done(null, body);
        try {
          done(null, (body as Buffer).length ? JSON.parse((body as Buffer).toString('utf8')) : {});
        } catch (e) {
          const err = new Error(`The body is not JSON: ${(e as Error).message}`) as Error & { statusCode: number };
          err.statusCode = 400;
          done(err, undefined);
        }
      });

      const apiError = (reply: FastifyReply, code: string, message: string) => reply.send({ Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() } });

      // ---- the signed API ----------------------------------------------------------------------------------------
      app.post('/', async (req: FastifyRequest, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : '');
        const [p, q = ''] = req.url.split('?');
        const v = tc3Verify({ method: req.method, path: p, query: q, headers: req.headers, body: raw }, { secrets, nowSec: st.now() });
        if (!v.ok && v.stringToSign) noteSignature(req.raw, { stringToSign: v.stringToSign, canonicalRequest: v.canonicalRequest });
        if (!v.ok) return apiError(reply, v.code, v.message);
        const actions = Object.prototype.hasOwnProperty.call(ACTIONS, v.version) ? ACTIONS[v.version] : undefined;
        if (!actions) return apiError(reply, 'NoSuchVersion', `The API version ${v.version} does not exist (this endpoint serves ${IOT_EXPLORER_VERSION} iotexplorer and ${IOT_VIDEO_VERSION} iotvideo).`);
        if (!Object.prototype.hasOwnProperty.call(actions, v.action)) return apiError(reply, 'InvalidAction', `The action ${v.action} does not exist in version ${v.version}.`);
        stats.set(v.action, (stats.get(v.action) || 0) + 1);
        const fault = faults.find((f) => f.times > 0 && (!f.action || f.action === v.action));
        if (fault) {
          fault.times--;
          if (fault.kind === 'hang') {
            await new Promise<void>((resolve) => held.add(resolve));
            return apiError(reply, 'InternalError', 'The request was held by a fault switch and released.');
          }
          return apiError(reply, fault.code, fault.message);
        }
        let body: unknown;
        try {
          body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        } catch (e) {
          return apiError(reply, 'InvalidParameter', `The body is not JSON: ${(e as Error).message}`);
        }
        try {
          const params = checkFields(actions[v.action], body);
          const out = handle(FLAVOUR[v.version], v.action, params);
          return reply.send({ Response: { ...out, RequestId: randomUUID() } });
        } catch (e) {
          if (e instanceof ApiError || e instanceof ProductError) return apiError(reply, e.code, e.message);
          throw e;
        }
      });

      function device(p: Record<string, unknown>): DeviceRecord {
        let pid = p.ProductId as string | undefined;
        let dn = p.DeviceName as string | undefined;
        if (typeof p.DeviceId === 'string') {
          const m = /^([A-Za-z0-9]{1,32})\/([^/]{1,64})$/.exec(p.DeviceId);
          if (!m) throw new ApiError('InvalidParameterValue', 'DeviceId is "ProductId/DeviceName".');
          [, pid, dn] = m;
        }
        if (!pid || !dn) throw new ApiError('MissingParameter', 'The request is missing a required parameter `ProductId` / `DeviceName`.');
        if (pid !== DEMO_PRODUCT_ID) throw new ApiError('ResourceNotFound.StudioProductNotExist', `产品不存在: ${pid}`);
        const d = st.find(pid, dn);
        if (!d) throw new ApiError('ResourceNotFound.DeviceNotExist', `设备不存在: ${pid}/${dn}`);
        return d;
      }

      /** An opaque, signed, expiring cursor bound to its query. */
      /** The cursor holds the query (as sent), the window it resolved to (StartTime/EndTime 0 are relative to the first call) and the last event. */
      type Cursor = { q: string; f: number; t: number; s: number; k: string; x: number };
      const cursor = {
        make(c: Omit<Cursor, 'x'>): string {
          const body = Buffer.from(JSON.stringify({ ...c, x: st.now() + 600 })).toString('base64url');
          return `${body}.${sign('ctx', body)}`;
        },
        read(ctxStr: string, query: string): Cursor {
          const [body, mac] = ctxStr.split('.');
          if (!body || !mac || mac !== sign('ctx', body)) throw new ApiError('InvalidParameterValue', 'Context is not valid.');
          const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Cursor;
          if (c.q !== query) throw new ApiError('InvalidParameterValue', 'Context belongs to another query (same filters are required).');
          if (c.x < st.now()) throw new ApiError('InvalidParameterValue', 'Context has expired; query again by time.');
          return c;
        },
      };

      /** The query's window, and where a Context says to continue. */
      function paging(p: Record<string, unknown>, query: string): { from: number; to: number; after?: { s: number; k: string } } {
        if (typeof p.Context === 'string' && p.Context !== '') {
          const c = cursor.read(p.Context, query);
          return { from: c.f, to: c.t, after: { s: c.s, k: c.k } };
        }
        return window(p);
      }

      /** Events newest first, continued after `after` (StartTime, key), N of them with ceil(Size/2) <= N <= Size. */
      function pageOf<T extends { StartTime: number; key: string }>(list: T[], p: Record<string, unknown>, query: string, w: { from: number; to: number; after?: { s: number; k: string } }) {
        let start = 0;
        const after = w.after;
        if (after) {
          start = list.findIndex((e) => e.StartTime < after.s || (e.StartTime === after.s && e.key < after.k));
          if (start < 0) start = list.length;
        }
        const size = Math.min(MAX_EVENT_PAGE, (p.Size as number) || 10);
        const span = size - Math.ceil(size / 2) + 1;
        const n = size - (parseInt(createHash('sha256').update(`${query}|${start}`).digest('hex').slice(0, 8), 16) % span);
        const page = list.slice(start, start + n);
        const rest = list.length - start - page.length;
        const last = page[page.length - 1];
        return { page, Listover: rest <= 0, Context: rest > 0 && last ? cursor.make({ q: query, f: w.from, t: w.to, s: last.StartTime, k: last.key }) : '' };
      }

      function window(p: Record<string, unknown>): { from: number; to: number } {
        const now = st.now();
        const to = (p.EndTime as number) || now;
        const from = (p.StartTime as number) || now - 86400;
        if (to < from) throw new ApiError('InvalidParameterValue', 'EndTime must not be before StartTime.');
        return { from, to };
      }

      function handle(flavour: Flavour, action: string, p: Record<string, unknown>): Record<string, unknown> {
        const now = st.now();
        switch (action) {
          case 'DescribeCloudStorage': {
            const d = device(p);
            return { Status: st.status(d) === 1 ? 1 : 0, Type: d.order.pkgType, ExpireTime: d.order.endTime, ShiftDuration: d.order.storageDays * 86400, UserId: (p.UserId as string) || '' };
          }
          case 'DescribeCloudStorageDate':
            return { Data: st.recordedDates(device(p)) };
          case 'DescribeCloudStorageTime': {
            const d = device(p);
            const day = beijingDay(p.Date as string);
            if (!day) throw new ApiError('InvalidParameterValue', 'Date is "yyyy-MM-dd".');
            const from = Math.max(day.start, (p.StartTime as number) || 0);
            const to = Math.min(day.end, (p.EndTime as number) || day.end);
            const list = to > from ? st.recordings(d, from, to) : [];
            return { Data: { TimeList: list.map((s) => ({ StartTime: s.start, EndTime: s.end })), VideoURL: videoUrl(d) } };
          }
          case 'DescribeCloudStorageEvents': {
            const d = device(p);
            const query = JSON.stringify(['cse', d.deviceName, p.StartTime ?? 0, p.EndTime ?? 0, p.EventId || '', p.UserId || '', p.ChannelId ?? '']);
            const w = paging(p, query);
            const { from, to } = w;
            let list = st.visibleEvents(d, from, to);
            if (typeof p.EventId === 'string' && p.EventId) list = list.filter((e) => e.EventId === p.EventId);
            const r = pageOf(list, p, query, w);
            return {
              Events: r.page.map((e) => ({ StartTime: e.StartTime, EndTime: e.EndTime, Thumbnail: thumbnailKey(d, e), EventId: e.EventId, UploadStatus: e.UploadStatus, Data: e.Data })),
              Context: r.Context,
              Listover: r.Listover,
              // "内部结果数量，并不等同于事件总数": an internal count (here: matches plus deleted records), not the event count.
              Total: list.length + st.deletedCount(d, from, to),
              VideoURL: videoUrl(d),
            };
          }
          case 'DescribeCloudStorageThumbnail': {
            const d = device(p);
            return thumbnail(d, p.Thumbnail as string);
          }
          case 'DescribeCloudStorageThumbnailList': {
            const d = device(p);
            const keys = p.ThumbnailList as string[];
            if (keys.length > 100) throw new ApiError('InvalidParameterValue', 'ThumbnailList: at most 100 keys.');
            return { ThumbnailURLInfoList: keys.map((k) => thumbnail(d, k)) };
          }
          case 'DeleteCloudStorageEvent': {
            const d = device(p);
            st.deleteEvent(d, p.EventId as string, p.StartTime as number, p.EndTime as number);
            return {};
          }
          case 'GenerateSignedVideoURL': {
            const exp = p.ExpireTime as number;
            if (exp <= now) throw new ApiError('InvalidParameterValue', 'ExpireTime is an epoch time in the future.');
            let u: URL;
            try {
              u = new URL(p.VideoURL as string);
            } catch {
              throw new ApiError('InvalidParameterValue', 'VideoURL is not a URL.');
            }
            const m = /^\/timeshift\/live\/([0-9a-f]{32})\/timeshift\.m3u8$/.exec(u.pathname);
            if (u.origin !== new URL(base()).origin || !m || !deviceByVideoKey(m[1])) throw new ApiError('InvalidParameterValue', 'VideoURL is not a cloud-storage URL of this account.');
            u.searchParams.delete('t');
            u.searchParams.delete('sign');
            const s = u.searchParams.get('starttime_epoch') || '';
            const e = u.searchParams.get('endtime_epoch') || '';
            u.searchParams.set('t', String(exp));
            u.searchParams.set('sign', sign('m3u8', m[1], s, e, exp));
            return { SignedVideoURL: u.toString() };
          }
          case 'DescribeDeviceData': {
            const d = device(p);
            return { Data: JSON.stringify(d.props) };
          }
          case 'ControlDeviceData': {
            const d = device(p);
            const data = checkControlData(p.Data as string);
            if (p.Method !== undefined && p.Method !== 'desired' && p.Method !== 'reported') throw new ApiError('InvalidParameterValue', 'Method is desired or reported.');
            if (!d.online && p.Method !== 'reported') return { Data: '', Result: JSON.stringify({ Sent: 0, pushResult: 23101 }) };
            const t = p.Method === 'reported' && typeof p.DataTimestamp === 'number' ? p.DataTimestamp : now * 1000;
            for (const [k, val] of Object.entries(data)) d.props[k] = { Value: val, LastUpdate: t };
            st.save();
            return { Data: '', Result: JSON.stringify({ Sent: 1, pushResult: 0 }) };
          }
          case 'CallDeviceActionSync': {
            const d = device(p);
            // Tencent answers an unreachable device and a device that does not reply in time inside a normal response
            // (tccli examples 2 and 3 of CallDeviceActionSync): Status carries the failure, or nothing but RequestId.
            if (!d.online) return { ClientToken: '', OutputParams: '', Status: 'FailedOperation.ActionUnreachable|动作消息不可达' };
            if (deviceTimeouts.has(d.deviceName)) return {};
            const r = runDeviceAction(d.props, p.ActionId as string, p.InputParams as string | undefined, now * 1000);
            st.save();
            return { ClientToken: randomUUID(), OutputParams: r.OutputParams, Status: r.Status };
          }
          case 'PublishMessage': {
            const d = device(p);
            if (!(p.Topic as string).startsWith(`${d.productId}/${d.deviceName}/`)) throw new ApiError('InvalidParameterValue', `Topic must be ${d.productId}/${d.deviceName}/<name>.`);
            if (p.PayloadEncoding !== undefined && p.PayloadEncoding !== '' && p.PayloadEncoding !== 'base64') throw new ApiError('InvalidParameterValue', 'PayloadEncoding is "base64" or empty.');
            if (p.Qos !== undefined && p.Qos !== 0 && p.Qos !== 1) throw new ApiError('InvalidParameterValue', 'Qos is 0 or 1.');
            if (!d.online) throw new ApiError('FailedOperation.DeviceOffline', '设备处于离线状态');
            return {};
          }
          case 'DescribeDevicePackages': {
            const d = device(p);
            if ((p.Limit as number) < 1 || (p.Limit as number) > 100) throw new ApiError('InvalidParameterValue', 'Limit is 1..100.');
            const o = d.order;
            // One package per device here. Status as the API documents it: 2 in effect, 1 expired, 0 not started.
            const pkg = {
              Status: now < o.startTime ? 0 : now <= o.endTime ? 2 : 1,
              CSType: o.pkgType,
              CSShiftDuration: o.storageDays * 86400,
              CSExpiredTime: o.endTime,
              CreatedAt: o.startTime,
              UpdatedAt: o.startTime,
              PackageId: `${o.pkgType === 1 ? 'yc' : 'ye'}1y${o.storageDays}d`,
              OrderId: sign('order', d.deviceName).slice(0, 20),
              ChannelId: 0,
              CSUserId: (p.CSUserId as string) || '',
            };
            return { TotalCount: 1, Packages: [pkg].slice(p.Offset as number, (p.Offset as number) + (p.Limit as number)) };
          }
          case 'DescribeModelDefinition': {
            if (p.ProductId !== DEMO_PRODUCT_ID) throw new ApiError('ResourceNotFound.StudioProductNotExist', `产品不存在: ${p.ProductId}`);
            return { Model: { ProductId: DEMO_PRODUCT_ID, ModelDefine: JSON.stringify(MODEL), UpdateTime: MODEL_TIME, CreateTime: MODEL_TIME, CategoryModel: '{}', NetTypeModel: '{}' } };
          }
          case 'DescribeDevice': {
            const d = device(p);
            return flavour === 'iotvideo' ? { ...videoDeviceInfo(d) } : { Device: explorerDeviceInfo(d) };
          }
          case 'DescribeDevices': {
            if (p.ProductId !== DEMO_PRODUCT_ID) throw new ApiError('ResourceNotFound.StudioProductNotExist', `产品不存在: ${p.ProductId}`);
            if ((p.Limit as number) < 1 || (p.Limit as number) > 100) throw new ApiError('InvalidParameterValue', 'Limit is 1..100.');
            const all = st.allDevices().filter((d) => !p.DeviceName || d.deviceName.includes(p.DeviceName as string));
            return { TotalCount: all.length, Devices: all.slice(p.Offset as number, (p.Offset as number) + (p.Limit as number)).map(videoDeviceInfo) };
          }
          case 'GetDeviceList': {
            if (p.ProductId !== DEMO_PRODUCT_ID) throw new ApiError('ResourceNotFound.StudioProductNotExist', `产品不存在: ${p.ProductId}`);
            const limit = (p.Limit as number | undefined) ?? 10;
            if (limit < 10 || limit > 100) throw new ApiError('InvalidParameterValue', 'Limit is 10..100.');
            const all = st.allDevices().filter((d) => !p.DeviceName || d.deviceName.includes(p.DeviceName as string));
            const off = (p.Offset as number | undefined) ?? 0;
            return { Devices: all.slice(off, off + limit).map((d) => ({ ...explorerDeviceInfo(d), DevicePsk: '' })), Total: all.length };
          }
          case 'DescribeDeviceEventHistory':
          case 'ListEventHistory': {
            const d = device(p);
            const query = JSON.stringify(['evh', d.deviceName, p.StartTime ?? 0, p.EndTime ?? 0, p.EventId || '', p.Type || '']);
            const w = paging(p, query);
            const types = new Map(MODEL.events.map((e) => [e.id, e.type]));
            let list = st.visibleEvents(d, w.from, w.to).map((e) => ({ ...e, Type: types.get(e.EventId) || 'alert' }));
            if (p.Type) list = list.filter((e) => e.Type === p.Type);
            if (p.EventId) list = list.filter((e) => e.EventId === p.EventId);
            const r = pageOf(list, p, query, w);
            return {
              Context: r.Context,
              Total: list.length,
              Listover: r.Listover,
              EventHistory: r.page.map((e) => ({ TimeStamp: e.StartTime * 1000, ProductId: d.productId, DeviceName: d.deviceName, EventId: e.EventId, Type: e.Type, Data: e.Data || '{}' })),
            };
          }
        }
        throw new ApiError('InvalidAction', `The action ${action} does not exist.`);
      }

      function thumbnail(d: DeviceRecord, key: string) {
        const prefix = `/${d.productId}/${d.deviceName}/events/`;
        if (!key.startsWith(prefix) || !/^\d{10,24}\.png$/.test(key.slice(prefix.length))) throw new ApiError('InvalidParameterValue', `Thumbnail ${key} is not an object of this device.`);
        const exp = st.now() + THUMBNAIL_TTL_SECONDS;
        return { ThumbnailURL: `${base()}/cos${key}?t=${exp}&sign=${sign('img', key, exp)}`, ExpireTime: exp };
      }

      function videoDeviceInfo(d: DeviceRecord) {
        return {
          DeviceName: d.deviceName,
          Online: d.online ? 1 : 0,
          LoginTime: d.loginTime,
          DevicePsk: sign('psk', d.deviceName).slice(0, 24),
          EnableState: 1,
          ExpireTime: 0,
          LogLevel: Number(d.props._logLevel?.Value ?? 0),
        };
      }
      function explorerDeviceInfo(d: DeviceRecord) {
        return {
          DeviceName: d.deviceName,
          Status: d.online ? 1 : 0,
          DevicePsk: sign('psk', d.deviceName).slice(0, 24),
          FirstOnlineTime: d.createdAt,
          LoginTime: d.loginTime,
          CreateTime: d.createdAt,
          Version: String(d.props._ver?.Value ?? ''),
          DeviceCert: '',
          LogLevel: Number(d.props._logLevel?.Value ?? 0),
          EnableState: 1,
          ProductId: d.productId,
          ProductName: DEMO_PRODUCT_NAME,
          DevEUI: '',
          AppKey: '',
          DevAddr: '',
          AppSKey: '',
          NwkSKey: '',
          CreatorNickName: '',
          CreateUserId: 0,
          DeviceType: '设备',
          IsLora: false,
        };
      }

      // ---- media: thumbnails (COS-style signed URLs; `&imageMogr2/thumbnail/WxH` scales) --------------------------
      app.get('/cos/:productId/:deviceName/events/:file', async (req, reply) => {
        const { productId, deviceName, file } = req.params as { productId: string; deviceName: string; file: string };
        const q = req.query as Record<string, string | undefined>;
        const m = /^(\d{10,24})\.png$/.exec(file);
        if (!m) return reply.status(404).type('application/xml').send('<Error><Code>NoSuchKey</Code></Error>');
        const key = `/${productId}/${deviceName}/events/${file}`;
        const bad = checkSign(q.sign, q.t, 'img', key);
        if (bad) return reply.status(403).type('application/xml').send(`<Error><Code>AccessDenied</Code><Message>${bad}</Message></Error>`);
        const d = st.find(productId, deviceName);
        const e = d && st.findEvent(d, m[1]);
        if (!d || !e) return reply.status(404).type('application/xml').send('<Error><Code>NoSuchKey</Code><Message>The event image does not exist (deleted or expired).</Message></Error>');
        let { w, h } = FULL_IMAGE;
        const thumbKey = Object.keys(q).find((k) => k.startsWith('imageMogr2/thumbnail/'));
        if (thumbKey) {
          const tm = /^imageMogr2\/thumbnail\/(\d{1,4})x(\d{1,4})$/.exec(thumbKey);
          if (!tm) return reply.status(400).type('application/xml').send('<Error><Code>InvalidArgument</Code><Message>thumbnail is WxH</Message></Error>');
          w = Math.max(16, Math.min(FULL_IMAGE.w, +tm[1]));
          h = Math.max(9, Math.min(FULL_IMAGE.h, +tm[2]));
        }
        const ck = `${e.key}|${w}x${h}`;
        const png =
          imageCache.get(ck) ||
          remember(imageCache, ck, paintSnapshot(w, h, { seed: e.imgSeed, firstAlarmType: e.firstAlarmType, alarmType: e.alarmType, secondOfDay: (e.StartTime + 8 * 3600) % 86400 }), 300);
        return reply.type('image/png').header('cache-control', 'private, max-age=3600').send(png);
      });

      // ---- media: HLS timeshift ----------------------------------------------------------------------------------
      app.get('/timeshift/live/:key/timeshift.m3u8', async (req, reply) => {
        const { key } = req.params as { key: string };
        const q = req.query as Record<string, string | undefined>;
        const bad = checkSign(q.sign, q.t, 'm3u8', key, q.starttime_epoch || '', q.endtime_epoch || '');
        if (bad) return reply.status(403).type('text/plain').send(bad);
        const s = /^\d{1,12}$/.test(q.starttime_epoch || '') ? parseInt(q.starttime_epoch!, 10) : undefined;
        const e = /^\d{1,12}$/.test(q.endtime_epoch || '') ? parseInt(q.endtime_epoch!, 10) : undefined;
        const d = deviceByVideoKey(key);
        if (s === undefined || e === undefined || e <= s || !d) return reply.status(404).type('text/plain').send('no such recording');
        // A segment [t, t+2) belongs to the window holding its midpoint: back-to-back windows share no segment.
        const ts = new Set<number>();
        for (const seg of st.recordings(d, s - SEGMENT_SECONDS, e + SEGMENT_SECONDS)) {
          for (let t = Math.floor(seg.start / SEGMENT_SECONDS) * SEGMENT_SECONDS; t < seg.end; t += SEGMENT_SECONDS) {
            const mid = t + SEGMENT_SECONDS / 2;
            if (mid >= s && mid < e) ts.add(t);
          }
        }
        if (ts.size === 0) return reply.status(404).type('text/plain').send('no recording in range');
        const list = Array.from(ts).sort((a, b) => a - b);
        const body = buildM3u8(list.map((t) => ({ t, url: `seg/${t}.ts?t=${q.t}&sign=${sign('seg', key, t, q.t as string)}` })));
        return reply.type('application/vnd.apple.mpegurl').header('cache-control', 'private, max-age=60').send(body);
      });

      app.get('/timeshift/live/:key/seg/:file', async (req, reply) => {
        const { key, file } = req.params as { key: string; file: string };
        const q = req.query as Record<string, string | undefined>;
        const m = /^(\d{1,12})\.ts$/.exec(file);
        if (!m || parseInt(m[1], 10) % SEGMENT_SECONDS !== 0) return reply.status(404).type('text/plain').send('no such segment');
        const t = parseInt(m[1], 10);
        const bad = checkSign(q.sign, q.t, 'seg', key, t);
        if (bad) return reply.status(403).type('text/plain').send(bad);
        const d = deviceByVideoKey(key);
        if (!d || st.recordings(d, t, t + SEGMENT_SECONDS).length === 0) return reply.status(404).type('text/plain').send('not recorded');
        const buf = segCache.get(t) || remember(segCache, t, renderSegment(getClip(), t), 64);
        return reply.type('video/mp2t').header('cache-control', 'private, max-age=3600').send(buf);
      });

      // ---- dev endpoints -----------------------------------------------------------------------------------------
      const uint = z.number().int().min(0).max(0xffffffff);
      const deviceName = z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, 'deviceName: 1-48 letters, digits, _ or -');
      const openidSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
      const adminBad = (reply: FastifyReply, issues: string) => reply.status(400).send({ error: { code: 'InvalidParameter', message: issues } });
      const parse = <T>(schema: z.ZodType<T>, body: unknown, reply: FastifyReply): T | undefined => {
        const r = schema.safeParse(body ?? {});
        if (!r.success) {
          adminBad(reply, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
          return undefined;
        }
        return r.data;
      };
      const summary = (d: DeviceRecord) => ({ productId: d.productId, deviceName: d.deviceName, name: d.name, online: d.online });

      /** Demo data for a user: the four demo devices (made once; deterministic names). The AppServer binds them. */
      app.post('/_admin/provision', async (req, reply) => {
        const o = parse(z.object({ openid: openidSchema }).strict(), req.body, reply);
        if (!o) return reply;
        return { productId: DEMO_PRODUCT_ID, devices: st.provision(o.openid).map(summary) };
      });

      app.get('/_admin/devices', async () => ({ devices: st.allDevices().map(summary) }));

      app.post('/_admin/devices', async (req, reply) => {
        const o = parse(
          z
            .object({
              name: z.string().min(1).max(32).optional(),
              deviceName: deviceName.optional(),
              pkgType: z.union([z.literal(1), z.literal(2)]).optional(),
              storageDays: z.number().int().min(1).max(365).optional(),
              orderStartDays: z.number().min(-3650).max(0).optional(),
              orderEndDays: z.number().min(-3650).max(3650).optional(),
              online: z.boolean().optional(),
              sdCard: z.boolean().optional(),
            })
            .strict(),
          req.body,
          reply,
        );
        if (!o) return reply;
        if (o.deviceName && st.device(o.deviceName)) return reply.status(409).send({ error: { code: 'ResourceInUse', message: `device ${o.deviceName} exists` } });
        return summary(st.createDevice(o));
      });

      const withAdminDevice = (req: FastifyRequest, reply: FastifyReply): DeviceRecord | undefined => {
        const d = st.device((req.params as { deviceName: string }).deviceName);
        if (!d) reply.status(404).send({ error: { code: 'ResourceNotFound.DeviceNotExist', message: '设备不存在' } });
        return d;
      };

      /** A device reports alarms (cloud-storage events) now or at a past time; answers them as the AppServer lists them. */
      app.post('/_admin/devices/:deviceName/events', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const o = parse(
          z
            .object({
              startTime: uint.optional(),
              duration: z.number().int().min(1).max(3600).optional(),
              firstAlarmType: z.number().int().min(1).max(0xffffffff).optional(),
              alarmType: z.number().int().min(1).max(0xffffffff).optional(),
              count: z.number().int().min(1).max(10).optional(),
            })
            .strict(),
          req.body,
          reply,
        );
        if (!o) return reply;
        if (o.startTime !== undefined && o.startTime + (o.duration ?? 8) > st.now()) return adminBad(reply, 'startTime + duration must be in the past (events are reported when they end)');
        const list = st.injectEvents(d, o);
        return { data: { list: list.map((e) => ({ ...IotCloudState.ivvasView(e), EventId: e.EventId, UploadStatus: e.UploadStatus, Data: e.Data })) } };
      });

      /** The platform's own view ("truth"), newest first, with the IVVAS fields the AppServer derives. */
      app.get('/_admin/devices/:deviceName/events', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const q = req.query as Record<string, string | undefined>;
        const from = q.startTime ? parseInt(q.startTime, 10) : st.now() - EVENT_RETENTION_SECONDS;
        const to = q.endTime ? parseInt(q.endTime, 10) : st.now();
        // ThumbnailURL: the signed image URL DescribeCloudStorageThumbnail would give (the dev console shows it)
        const list = st.visibleEvents(d, from, to).map((e) => ({ ...IotCloudState.ivvasView(e), EventId: e.EventId, UploadStatus: e.UploadStatus, Data: e.Data, ThumbnailURL: thumbnail(d, thumbnailKey(d, e)).ThumbnailURL }));
        list.sort((a, b) => b.startTime - a.startTime || (a.alarmId < b.alarmId ? 1 : a.alarmId > b.alarmId ? -1 : 0));
        return { data: { list } };
      });

      app.post('/_admin/devices/:deviceName/online', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const o = parse(z.object({ online: z.boolean() }).strict(), req.body, reply);
        if (!o) return reply;
        st.setOnline(d.deviceName, o.online);
        return { online: o.online };
      });

      app.post('/_admin/devices/:deviceName/action-timeout', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const o = parse(z.object({ timeout: z.boolean() }).strict(), req.body, reply);
        if (!o) return reply;
        if (o.timeout) deviceTimeouts.add(d.deviceName);
        else deviceTimeouts.delete(d.deviceName);
        return { timeout: o.timeout };
      });

      app.post('/_admin/devices/:deviceName/order', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const o = parse(
          z.object({ pkgType: z.union([z.literal(1), z.literal(2)]).optional(), storageDays: z.number().int().min(1).max(365).optional(), startTime: uint.optional(), endTime: uint.optional() }).strict(),
          req.body,
          reply,
        );
        if (!o) return reply;
        st.setOrder(d.deviceName, o);
        return { order: st.device(d.deviceName)!.order, date: beijingDate(st.now()) };
      });

      /** Fault switches: {action?, kind: 'error' | 'hang', code?, message?, times?}. DELETE clears them and releases held requests. */
      app.post('/_admin/faults', async (req, reply) => {
        const o = parse(
          z
            .object({
              action: z.string().regex(/^[A-Za-z]{1,64}$/).optional(),
              kind: z.enum(['error', 'hang']).optional(),
              code: z.string().regex(/^[A-Za-z.]{1,80}$/).optional(),
              message: z.string().max(200).optional(),
              times: z.number().int().min(1).max(1000).optional(),
            })
            .strict(),
          req.body,
          reply,
        );
        if (!o) return reply;
        const code = o.code || 'RequestLimitExceeded';
        faults.push({ action: o.action, kind: o.kind || 'error', code, message: o.message || `${code} (fault switch)`, times: o.times ?? 1 });
        return { faults: faults.length };
      });
      app.delete('/_admin/faults', async () => {
        faults = [];
        for (const r of held) r();
        held.clear();
        return { faults: 0 };
      });
      /** How many signed requests each action received (reset with DELETE). */
      app.get('/_admin/stats', async () => ({ actions: Object.fromEntries(stats) }));
      app.delete('/_admin/stats', async () => {
        stats.clear();
        return { actions: {} };
      });

      app.addHook('onClose', async () => {
        for (const r of held) r();
        held.clear();
      });

      app.setNotFoundHandler((req, reply) => {
        reply.status(404).send({ Response: { Error: { Code: 'ResourceNotFound', Message: `No route ${req.method} ${req.url.split('?')[0]}` }, RequestId: randomUUID() } });
      });
      return app;
    },
  };
}
