/**
 * /api/iot/*: one route per IVVAS call and per IVMessageMgr call, answering the seed's JSON
 * `{code, msg, data, requestId}` with HTTP 200 — including business codes such as 10010 (no records), 8003 (the
 * device is not bound to this user), 8605, 21008. Malformed bodies are 400 `{error: {code: 'InvalidParameter'}}`;
 * an unreachable or refusing IoT platform is 502 `{error: {code: 'IoTCloudError'}}`, a platform still over its rate
 * limit after retries 503 `IoTCloudBusy`. Which user may reach which device is the AppServer's own table
 * (server/app/iot/bindings.ts); the platform is Tencent Cloud's IoT API 3.0 (server/app/iot/tencent.ts).
 *
 * Env (README "IoT Video"): IOT_FLAVOUR (iotexplorer | iotvideo), IOT_API_URL (default https://<flavour>.tencentcloudapi.com,
 * or the local cloud), IOT_SECRET_ID / IOT_SECRET_KEY (default: the local dev credentials, refused in production),
 * IOT_REGION (ap-guangzhou), IOT_PRODUCT_ID (for IOT_BINDINGS_FILE entries without one), IOT_BINDINGS_FILE,
 * IOT_TIMEOUT_SEC (10).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HttpError, parseBody, z } from '../../http';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import { appStore, type AppDeps } from '../deps';
import type { IoTBackend, IoTResult } from '../iot/backend';
import { IoTBackendError } from '../iot/backend';
import { IoTBinding, IoTBindings } from '../iot/bindings';
import { createTencentIoTBackend, IoTFlavour } from '../iot/tencent';

export const IOT_MAX_DATA_SIZE = 30000;

/**
 * The IoT backend, or why there is none. Configuration mistakes (half a key pair, an unknown flavour, a malformed
 * bindings file) stop the AppServer at start; a backend that is simply not configured (no local cloud and no
 * IOT_API_URL, or production without IOT_SECRET_ID/KEY) leaves the other products running and answers the IoT routes
 * 503 IoTNotConfigured.
 */
export async function createIoTBackend(deps: AppDeps): Promise<IoTBackend | { unavailable: string }> {
  const env = deps.env;
  // One backend now (Tencent Cloud's IoT API, local or real); "local" from older configurations means the same.
  if (env.IOT_BACKEND && env.IOT_BACKEND !== 'tencent' && env.IOT_BACKEND !== 'local') throw new Error(`IOT_BACKEND=${env.IOT_BACKEND} is not supported (the one backend is Tencent Cloud's IoT API; leave IOT_BACKEND unset).`);
  const flavour = (env.IOT_FLAVOUR || 'iotexplorer') as IoTFlavour;
  if (flavour !== 'iotexplorer' && flavour !== 'iotvideo') throw new Error(`IOT_FLAVOUR=${env.IOT_FLAVOUR}: use iotexplorer (IoT Explorer 2019-04-23) or iotvideo (IoT Video 2021-11-25).`);
  if ((env.IOT_SECRET_ID && !env.IOT_SECRET_KEY) || (!env.IOT_SECRET_ID && env.IOT_SECRET_KEY)) throw new Error('Set both IOT_SECRET_ID and IOT_SECRET_KEY (or neither).');
  if (env.IOT_API_URL && !/^https?:\/\/[^/?#]+\/?$/.test(env.IOT_API_URL)) throw new Error(`IOT_API_URL must be a base URL such as https://${flavour}.tencentcloudapi.com (got ${env.IOT_API_URL}).`);
  const timeoutSec = env.IOT_TIMEOUT_SEC ? Number(env.IOT_TIMEOUT_SEC) : 10;
  if (!Number.isInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 60) throw new Error('IOT_TIMEOUT_SEC: whole seconds, 1..60.');
  if (env.IOT_PRODUCT_ID && !/^[A-Za-z0-9]{1,32}$/.test(env.IOT_PRODUCT_ID)) throw new Error('IOT_PRODUCT_ID: letters and digits, as the console shows it.');
  const localCloud = !env.IOT_API_URL && !env.IOT_SECRET_ID && deps.cloud ? deps.cloud : undefined;
  if (!env.IOT_API_URL && !env.IOT_SECRET_ID && !localCloud) return { unavailable: 'IoT Video is not configured on this AppServer: set IOT_SECRET_ID / IOT_SECRET_KEY (and IOT_FLAVOUR, IOT_PRODUCT_ID), or run with the local cloud.' };
  if (env.NODE_ENV === 'production' && !env.IOT_SECRET_ID) return { unavailable: 'IoT Video is not configured: set IOT_SECRET_ID / IOT_SECRET_KEY (the local development credentials are refused in production).' };
  let seed: unknown;
  if (env.IOT_BINDINGS_FILE) {
    try {
      seed = JSON.parse(readFileSync(env.IOT_BINDINGS_FILE, 'utf8'));
    } catch (e) {
      throw new Error(`IOT_BINDINGS_FILE ${env.IOT_BINDINGS_FILE}: ${(e as Error).message}`);
    }
  }
  const bindings = new IoTBindings(appStore(deps), seed, env.IOT_PRODUCT_ID, deps.now);
  await bindings.importLegacy(path.join(deps.dataDir, 'iot-bindings.json'));
  return createTencentIoTBackend({
    flavour,
    // Read at first call: the local cloud's URLs are filled in once it listens.
    apiUrl: () => env.IOT_API_URL || (localCloud && localCloud.iot) || `https://${flavour}.tencentcloudapi.com`,
    secretId: env.IOT_SECRET_ID || DEV_CREDENTIALS.tencent.secretId,
    secretKey: env.IOT_SECRET_KEY || DEV_CREDENTIALS.tencent.secretKey,
    region: env.IOT_REGION || 'ap-guangzhou',
    timeoutSec,
    bindings,
    // Development: the local cloud makes four demo devices for a new user; the AppServer binds them in its table.
    provision: localCloud ? (openid) => provisionDemo(localCloud.iot, openid) : undefined,
  });
}

async function provisionDemo(cloudUrl: string, openid: string): Promise<IoTBinding[]> {
  const res = await fetch(`${cloudUrl}/_admin/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }), signal: AbortSignal.timeout(10000) });
  if (res.status !== 200) throw new IoTBackendError('ProvisionFailed', `The local cloud refused demo provisioning (HTTP ${res.status}).`);
  const j = (await res.json()) as { productId: string; devices: Array<{ deviceName: string; name: string }> };
  return j.devices.map((d) => ({ deviceId: d.deviceName, deviceName: d.deviceName, productId: j.productId, name: d.name }));
}

const deviceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'deviceId: 1-64 letters, digits, _ or -');
const time = z.number().int().min(0).max(0xffffffff);
/** Segment names that would reach Object.prototype through a plain-object lookup: never a model name. */
const RESERVED_SEGMENTS = /(^|\.)(__proto__|constructor|prototype)(\.|$)/;
const modelPath = z
  .string()
  .max(256)
  .regex(/^$|^(ProReadonly|ProWritable|ProUser|Action)(\.[A-Za-z0-9_]{1,64}){0,4}$/, 'path: a model path such as ProWritable._logLevel')
  .refine((p) => !RESERVED_SEGMENTS.test(p), 'path: __proto__, constructor and prototype are not model names');
/** Nesting allowed in the free-form JSON of write / action / add (the device refuses deeper values too). */
export const IOT_MAX_JSON_DEPTH = 32;
// The 30,000-byte limit is checked in UTF-8 bytes after parsing and answered with the seed's 21008, not a 400.
const jsonText = z.string().max(512 * 1024, 'json: at most 512 KiB');

/**
 * Refuses (400) free-form JSON nesting deeper than IOT_MAX_JSON_DEPTH, before anything is sent.
 * Size is checked first by the caller (21008), so this never parses more than 30,000 bytes.
 */
function checkJsonText(text: string): void {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return; // the device itself answers unparsable JSON with the seed's 20102
  }
  // Iterative walk: hostile nesting cannot overflow the stack.
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [node, d] = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    if (d + 1 > IOT_MAX_JSON_DEPTH) throw new HttpError(400, 'InvalidParameter', `json: nested deeper than ${IOT_MAX_JSON_DEPTH} levels`);
    for (const c of Array.isArray(node) ? node : Object.values(node as object)) stack.push([c, d + 1]);
  }
}

const bodies = {
  devices: z.object({}).strict(),
  bind: z.object({ deviceId, productId: z.string().regex(/^[A-Za-z0-9]{1,32}$/).optional() }).strict(),
  describe: z.object({ deviceId, sourceId: z.number().int().min(0).max(255).optional() }).strict(),
  datelist: z.object({ deviceId, timezone: z.number().int().min(-43200).max(50400) }).strict(),
  range: z.object({ deviceId, startTime: time, endTime: time }).strict(),
  events: z
    .object({
      deviceId,
      startTime: time,
      endTime: time,
      pageSize: z.number().int().min(1, 'pageSize: 1..50').max(50, 'pageSize: 1..50'),
      filterTypeMask: z
        .union([z.array(z.number().int().min(1, 'filterTypeMask: masks are 1..4294967295').max(0xffffffff)).max(32), z.literal(0), z.null()])
        .optional(),
      validCloudStorage: z.boolean().optional(),
    })
    .strict(),
  remove: z.object({ deviceId, eventIds: z.array(z.string().min(1).max(64)).min(1, 'eventIds: at least one').max(100, 'eventIds: at most 100') }).strict(),
  read: z.object({ deviceId, path: modelPath }).strict(),
  write: z.object({ deviceId, path: modelPath.min(1), json: jsonText }).strict(),
  remove_prop: z.object({ deviceId, path: modelPath.min(1) }).strict(),
  send: z
    .object({
      deviceId,
      data: z.string().min(1, 'data: base64, not empty').max(512 * 1024, 'data: at most 512 KiB of base64').regex(/^[A-Za-z0-9+/]*={0,2}$/, 'data: base64'),
      expectResponse: z.boolean().optional(),
    })
    .strict(),
};

// ---- Reply schemas (server/app/openapi.ts: they check replies and make /api/openapi.json) ----
// HTTP 200 carries the platform's business result {code, msg, data, requestId}: code 0 success; 10010 no records,
// 8003 device not bound to this user, 8000 device offline, 21008 over MAX_DATA_SIZE, … with data null.
const ivReply = (data: z.ZodType, what: string) =>
  z
    .object({
      code: z.number().int().describe('0 = success; otherwise an IoT Video code (10010 no records, 8003 not your device, 21008 too long, …)'),
      msg: z.string(),
      data: data.nullable().describe(`${what} (null unless code is 0)`),
      requestId: z.string().optional(),
    })
    .describe('IoT business result (HTTP 200)');
const cloudStorageStatus = z.number().int().describe('1 in use, 2 awaiting renewal, 3 expired');
const orderPkgType = z.number().int().describe('1 full-time, 2 event');
const iotEvent = z.object({ alarmId: z.string(), firstAlarmType: z.number(), alarmType: z.number().describe('bit mask; bit15 = has video'), startTime: z.number(), endTime: z.number(), imgUrlSuffix: z.string() });
const replies = {
  devices: ivReply(
    z.object({
      list: z.array(
        z.object({
          deviceId: z.string(),
          name: z.string(),
          productId: z.string(),
          online: z.boolean(),
          cloudStorage: z.object({ status: cloudStorageStatus, curOrderPkgType: orderPkgType, endTime: z.number() }),
        }),
      ),
    }),
    'the devices bound to the caller',
  ),
  describe: ivReply(
    z.object({
      status: cloudStorageStatus,
      startTime: z.number(),
      endTime: z.number(),
      curOrderPkgType: orderPkgType,
      curOrderStorageDays: z.number(),
      curOrderStartTime: z.number(),
      curOrderEndTime: z.number(),
      playbackStartTime: z.number().describe('earliest searchable time'),
      playbackDays: z.number().optional(),
    }),
    'cloud-storage service (IVVAS getServiceDetailInfo)',
  ),
  datelist: ivReply(z.object({ list: z.array(z.number()).describe('one UTC-seconds timestamp per day with video') }), 'days with cloud video'),
  playlist: ivReply(z.object({ list: z.array(z.object({ start: z.number(), end: z.number() })) }), 'recorded segments'),
  play: ivReply(z.object({ url: z.string().describe('m3u8'), startTime: z.number(), endTime: z.number(), endflag: z.boolean().describe('false: request again from endTime') }), 'an m3u8 covering part of the range'),
  events: ivReply(
    z.object({
      imgUrlPrefix: z.string(),
      thumbUrlSuffix: z.string(),
      list: z.array(iotEvent),
      validVideoStartTime: z.number(),
      validStartTime: z.number().optional(),
      pageEnd: z.boolean(),
    }),
    'one page of events',
  ),
  remove: ivReply(z.unknown(), 'the platform answer'),
  bind: ivReply(z.null(), 'nothing (8002 no such device in the local cloud, 8022 already bound)'),
  model: ivReply(z.unknown(), 'the thing-model value or result JSON'),
  send: ivReply(z.object({ data: z.string().describe("the device's answer, base64 (empty without expectResponse)") }), 'the pass-through answer'),
};

/** The seed's 21008 answer when a message is over MAX_DATA_SIZE (30,000 bytes), else undefined. */
function overMaxDataSize(bytes: number): { code: number; msg: string; data: null } | undefined {
  return bytes > IOT_MAX_DATA_SIZE ? { code: 21008, msg: `消息长度超出上限(MAX_DATA_SIZE): ${bytes} > ${IOT_MAX_DATA_SIZE} bytes`, data: null } : undefined;
}

export default async function iotRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const made = await createIoTBackend(deps);
  if (!('unavailable' in made)) app.addHook('onClose', async () => made.close());
  const backend = (): IoTBackend => {
    if ('unavailable' in made) throw new HttpError(503, 'IoTNotConfigured', made.unavailable);
    return made;
  };

  const answer = async (work: () => Promise<IoTResult>) => {
    try {
      const r = await work();
      return { code: r.code, msg: r.msg, data: r.data, requestId: r.requestId };
    } catch (e) {
      if (e instanceof IoTBackendError && e.code.startsWith('RequestLimitExceeded')) throw new HttpError(503, 'IoTCloudBusy', e.message, { cloudCode: e.code, requestId: e.requestId });
      if (e instanceof IoTBackendError) throw new HttpError(502, 'IoTCloudError', e.message, { cloudCode: e.code, requestId: e.requestId });
      throw e;
    }
  };

  app.post('/api/iot/devices/list', { schema: { body: bodies.devices, response: { 200: replies.devices } } }, async (req) => {
    parseBody(bodies.devices, req.body ?? {});
    return answer(() => backend().listDevices(req.user.openid));
  });

  // Development only (the local cloud's demo provisioning is on): bind an existing device to the caller, what
  // device provisioning (配网) does in a product. Not registered against Tencent Cloud.
  if (!('unavailable' in made) && made.bindDevice && !deps.env.IOT_API_URL && !deps.env.IOT_SECRET_ID && deps.cloud && deps.env.NODE_ENV !== 'production') {
    const bindDevice = made.bindDevice.bind(made);
    app.post('/api/iot/devices/bind', { schema: { body: bodies.bind, response: { 200: replies.bind } } }, async (req) => {
      const b = parseBody(bodies.bind, req.body);
      return answer(() => bindDevice(req.user.openid, b.deviceId, b.productId || 'LOCALCAM01'));
    });
  }

  // ---- IVVAS ----
  app.post('/api/iot/vas/cloudstorage/describe', { schema: { body: bodies.describe, response: { 200: replies.describe } } }, async (req) => {
    const b = parseBody(bodies.describe, req.body);
    return answer(() => backend().getServiceDetailInfo(req.user.openid, b.deviceId, b.sourceId));
  });
  app.post('/api/iot/vas/playback/datelist', { schema: { body: bodies.datelist, response: { 200: replies.datelist } } }, async (req) => {
    const b = parseBody(bodies.datelist, req.body);
    return answer(() => backend().getVideoDateList(req.user.openid, b.deviceId, b.timezone));
  });
  app.post('/api/iot/vas/playback/list', { schema: { body: bodies.range, response: { 200: replies.playlist } } }, async (req) => {
    const b = parseBody(bodies.range, req.body);
    if (b.endTime < b.startTime) throw new HttpError(400, 'InvalidParameter', 'endTime must not be before startTime.');
    return answer(() => backend().getVideoPlayList(req.user.openid, b.deviceId, b.startTime, b.endTime));
  });
  app.post('/api/iot/vas/playback/play', { schema: { body: bodies.range, response: { 200: replies.play } } }, async (req) => {
    const b = parseBody(bodies.range, req.body);
    if (b.endTime !== 0 && b.endTime <= b.startTime) throw new HttpError(400, 'InvalidParameter', 'endTime must be after startTime (or 0 for "up to now").');
    return answer(() => backend().getVideoPlayAddress(req.user.openid, b.deviceId, b.startTime, b.endTime));
  });
  app.post('/api/iot/vas/event/list', { schema: { body: bodies.events, response: { 200: replies.events } } }, async (req) => {
    const b = parseBody(bodies.events, req.body);
    if (b.endTime < b.startTime) throw new HttpError(400, 'InvalidParameter', 'endTime must not be before startTime.');
    const typeMasks = Array.isArray(b.filterTypeMask) ? b.filterTypeMask : [];
    return answer(() =>
      backend().getEventList(req.user.openid, b.deviceId, { startTime: b.startTime, endTime: b.endTime, pageSize: b.pageSize, typeMasks, validCloudStorage: !!b.validCloudStorage }),
    );
  });
  app.post('/api/iot/vas/event/remove', { schema: { body: bodies.remove, response: { 200: replies.remove } } }, async (req) => {
    const b = parseBody(bodies.remove, req.body);
    return answer(() => backend().deleteEvents(req.user.openid, b.deviceId, Array.from(new Set(b.eventIds))));
  });

  // ---- IVMessageMgr ----
  app.post('/api/iot/message/property/read', { schema: { body: bodies.read, response: { 200: replies.model } } }, async (req) => {
    const b = parseBody(bodies.read, req.body);
    return answer(() => backend().readProperty(req.user.openid, b.deviceId, b.path));
  });
  app.post('/api/iot/message/property/write', { schema: { body: bodies.write, response: { 200: replies.model } } }, async (req) => {
    const b = parseBody(bodies.write, req.body);
    return overMaxDataSize(Buffer.byteLength(b.json, 'utf8')) || (checkJsonText(b.json), answer(() => backend().writeProperty(req.user.openid, b.deviceId, b.path, b.json)));
  });
  app.post('/api/iot/message/action', { schema: { body: bodies.write, response: { 200: replies.model } } }, async (req) => {
    const b = parseBody(bodies.write, req.body);
    return overMaxDataSize(Buffer.byteLength(b.json, 'utf8')) || (checkJsonText(b.json), answer(() => backend().takeAction(req.user.openid, b.deviceId, b.path, b.json)));
  });
  app.post('/api/iot/message/property/add', { schema: { body: bodies.write, response: { 200: replies.model } } }, async (req) => {
    const b = parseBody(bodies.write, req.body);
    return overMaxDataSize(Buffer.byteLength(b.json, 'utf8')) || (checkJsonText(b.json), answer(() => backend().addProperty(req.user.openid, b.deviceId, b.path, b.json)));
  });
  app.post('/api/iot/message/property/delete', { schema: { body: bodies.remove_prop, response: { 200: replies.model } } }, async (req) => {
    const b = parseBody(bodies.remove_prop, req.body);
    return answer(() => backend().deleteProperty(req.user.openid, b.deviceId, b.path));
  });
  app.post('/api/iot/message/data/send', { schema: { body: bodies.send, response: { 200: replies.send } } }, async (req) => {
    const b = parseBody(bodies.send, req.body);
    return overMaxDataSize(Buffer.from(b.data, 'base64').length) || answer(() => backend().sendDataToDevice(req.user.openid, b.deviceId, b.data, !!b.expectResponse));
  });
}
