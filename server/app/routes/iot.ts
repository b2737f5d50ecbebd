/**
 * /api/iot/*: one route per IVVAS call and per IVMessageMgr call, answering the seed's JSON
 * `{code, msg, data, requestId}` with HTTP 200 — including business codes such as 10010 (no records), 8003 (the
 * device is not bound to this user), 8605, 21008. Malformed bodies are 400 `{error: {code: 'InvalidParameter'}}`;
 * an unreachable or refusing IoT platform is 502 `{error: {code: 'IoTCloudError'}}`.
 * The user id sent to the platform is the logged-in openid, so bindings decide what each user may reach.
 *
 * Env (all optional): IOT_BACKEND ('local'), IOT_API_URL (default: the local cloud's iot URL), IOT_SECRET_ID,
 * IOT_SECRET_KEY (default: server/dev-credentials.ts), IOT_REGION (default ap-guangzhou).
 */
import type { FastifyInstance } from 'fastify';
import { HttpError, parseBody, z } from '../../http';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import type { AppDeps } from '../deps';
import type { IoTBackend, IoTResult } from '../iot/backend';
import { IoTBackendError } from '../iot/backend';
import { createLocalIoTBackend } from '../iot/local';

export const IOT_MAX_DATA_SIZE = 30000;

/**
 * The IoT backend, or why there is none. Configuration mistakes (half a key pair, an unknown backend) stop the
 * AppServer at start; a backend that is simply not configured (no local cloud, no IOT_API_URL, or production without
 * IOT_SECRET_ID/KEY) leaves the other products running and answers the IoT routes 503 IoTNotConfigured.
 */
export function createIoTBackend(deps: AppDeps): IoTBackend | { unavailable: string } {
  const env = deps.env;
  const kind = env.IOT_BACKEND || 'local';
  if (kind !== 'local') {
    throw new Error(`IOT_BACKEND=${kind} is not supported yet (only "local"; a Tencent Cloud adapter implements server/app/iot/backend().ts later).`);
  }
  if ((env.IOT_SECRET_ID && !env.IOT_SECRET_KEY) || (!env.IOT_SECRET_ID && env.IOT_SECRET_KEY)) throw new Error('Set both IOT_SECRET_ID and IOT_SECRET_KEY (or neither).');
  if (!env.IOT_API_URL && !deps.cloud) return { unavailable: 'IoT Video is not configured on this AppServer: set IOT_API_URL (and IOT_SECRET_ID / IOT_SECRET_KEY), or run with the local cloud.' };
  if (env.NODE_ENV === 'production' && !env.IOT_SECRET_ID) return { unavailable: 'IoT Video is not configured: set IOT_SECRET_ID / IOT_SECRET_KEY (the local development credentials are refused in production).' };
  return createLocalIoTBackend({
    // Read at call time: the cloud's URLs are filled in once it listens.
    apiUrl: () => env.IOT_API_URL || (deps.cloud && deps.cloud.iot) || '',
    secretId: env.IOT_SECRET_ID || DEV_CREDENTIALS.tencent.secretId,
    secretKey: env.IOT_SECRET_KEY || DEV_CREDENTIALS.tencent.secretKey,
    region: env.IOT_REGION || 'ap-guangzhou',
  });
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

/** The seed's 21008 answer when a message is over MAX_DATA_SIZE (30,000 bytes), else undefined. */
function overMaxDataSize(bytes: number): { code: number; msg: string; data: null } | undefined {
  return bytes > IOT_MAX_DATA_SIZE ? { code: 21008, msg: `消息长度超出上限(MAX_DATA_SIZE): ${bytes} > ${IOT_MAX_DATA_SIZE} bytes`, data: null } : undefined;
}

export default async function iotRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const made = createIoTBackend(deps);
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
      if (e instanceof IoTBackendError) throw new HttpError(502, 'IoTCloudError', e.message, { cloudCode: e.code, requestId: e.requestId });
      throw e;
    }
  };

  app.post('/api/iot/devices/list', async (req) => {
    parseBody(bodies.devices, req.body ?? {});
    return answer(() => backend().listDevices(req.user.openid));
  });

  // ---- IVVAS ----
  app.post('/api/iot/vas/cloudstorage/describe', async (req) => {
    const b = parseBody(bodies.describe, req.body);
    return answer(() => backend().getServiceDetailInfo(req.user.openid, b.deviceId, b.sourceId));
  });
  app.post('/api/iot/vas/playback/datelist', async (req) => {
    const b = parseBody(bodies.datelist, req.body);
    return answer(() => backend().getVideoDateList(req.user.openid, b.deviceId, b.timezone));
  });
  app.post('/api/iot/vas/playback/list', async (req) => {
    const b = parseBody(bodies.range, req.body);
    if (b.endTime < b.startTime) throw new HttpError(400, 'InvalidParameter', 'endTime must not be before startTime.');
    return answer(() => backend().getVideoPlayList(req.user.openid, b.deviceId, b.startTime, b.endTime));
  });
  app.post('/api/iot/vas/playback/play', async (req) => {
    const b = parseBody(bodies.range, req.body);
    if (b.endTime !== 0 && b.endTime <= b.startTime) throw new HttpError(400, 'InvalidParameter', 'endTime must be after startTime (or 0 for "up to now").');
    return answer(() => backend().getVideoPlayAddress(req.user.openid, b.deviceId, b.startTime, b.endTime));
  });
  app.post('/api/iot/vas/event/list', async (req) => {
    const b = parseBody(bodies.events, req.body);
    if (b.endTime < b.startTime) throw new HttpError(400, 'InvalidParameter', 'endTime must not be before startTime.');
    const typeMasks = Array.isArray(b.filterTypeMask) ? b.filterTypeMask : [];
    return answer(() =>
      backend().getEventList(req.user.openid, b.deviceId, { startTime: b.startTime, endTime: b.endTime, pageSize: b.pageSize, typeMasks, validCloudStorage: !!b.validCloudStorage }),
    );
  });
  app.post('/api/iot/vas/event/remove', async (req) => {
    const b = parseBody(bodies.remove, req.body);
    return answer(() => backend().deleteEvents(req.user.openid, b.deviceId, Array.from(new Set(b.eventIds))));
  });

  // ---- IVMessageMgr ----
  app.post('/api/iot/message/property/read', async (req) => {
    const b = parseBody(bodies.read, req.body);
    return answer(() => backend().readProperty(req.user.openid, b.deviceId, b.path));
  });
  app.post('/api/iot/message/property/write', async (req) => {
    const b = parseBody(bodies.write, req.body);
    return overMaxDataSize(Buffer.byteLength(b.json, 'utf8')) || (checkJsonText(b.json), answer(() => backend().writeProperty(req.user.openid, b.deviceId, b.path, b.json)));
  });
  app.post('/api/iot/message/action', async (req) => {
    const b = parseBody(bodies.write, req.body);
    return overMaxDataSize(Buffer.byteLength(b.json, 'utf8')) || (checkJsonText(b.json), answer(() => backend().takeAction(req.user.openid, b.deviceId, b.path, b.json)));
  });
  app.post('/api/iot/message/property/add', async (req) => {
    const b = parseBody(bodies.write, req.body);
    return overMaxDataSize(Buffer.byteLength(b.json, 'utf8')) || (checkJsonText(b.json), answer(() => backend().addProperty(req.user.openid, b.deviceId, b.path, b.json)));
  });
  app.post('/api/iot/message/property/delete', async (req) => {
    const b = parseBody(bodies.remove_prop, req.body);
    return answer(() => backend().deleteProperty(req.user.openid, b.deviceId, b.path));
  });
  app.post('/api/iot/message/data/send', async (req) => {
    const b = parseBody(bodies.send, req.body);
    return overMaxDataSize(Buffer.from(b.data, 'base64').length) || answer(() => backend().sendDataToDevice(req.user.openid, b.deviceId, b.data, !!b.expectResponse));
  });
}
