/**
 * The local IoT Video cloud. The legacy IVVAS backend has no public HTTP protocol (its vas/* paths ride the P2P
 * library), so this platform exposes the same operations the way Tencent Cloud exposes its APIs: POST / with a JSON
 * body, `X-TC-Action` / `X-TC-Version: 2021-11-25`, service `iotvideo`, signed with TC3-HMAC-SHA256 (verified here
 * against the dev SecretId/SecretKey). Answers are Cloud API envelopes: `{Response: {Error: {Code, Message},
 * RequestId}}` for request-level failures (signature, parameters), and `{Response: {Code, Msg, Data, RequestId}}`
 * carrying the IVVAS business result (0, 10010, 8003 …) otherwise.
 *
 * Media is served like COS / the timeshift host would: signed, expiring URLs for event images and thumbnails
 * (`/cos/<deviceId>/events/<alarmId>.png?t=&sign=` + `&imageMogr2/thumbnail/WxH`), and HLS timeshift playlists
 * (`/timeshift/live/<deviceId>/timeshift.m3u8?starttime=yyyyMMddHHmmss&endtime=…` in Beijing time) whose segments
 * are real H.264/AAC MPEG-TS.
 *
 * Dev endpoints (no auth, local only) under /_admin: see docs/iot-video.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createFastify, z } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import { tc3Verify } from './tc3';
import { DeviceRecord, IotCloudState, IvResult, ok, fail } from './service';
import { paintSnapshot } from './png';
import { beijingStamp, buildM3u8, loadSampleClip, parseBeijingStamp, renderSegment, SampleClip, SEGMENT_SECONDS } from './hls';

export const IOT_API_SERVICE = 'iotvideo';
export const IOT_API_VERSION = '2021-11-25';
/** Lifetime of image and playlist URLs. */
export const MEDIA_URL_TTL_SECONDS = 2 * 3600;
const FULL_IMAGE = { w: 640, h: 360 };

export interface IotCloudOptions {
  /** SecretId → SecretKey accepted for TC3 (default: the dev credentials). */
  secrets?: Record<string, string>;
}

const uint = z.number().int().min(0).max(0xffffffff);
const userId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'UserId: 1-128 letters, digits, _ or -');
const deviceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'DeviceId: 1-64 letters, digits, _ or -');
const modelPath = z.string().max(256);

const SCHEMAS = {
  DescribeUserDevices: z.object({ UserId: userId }).strict(),
  DescribeCloudStorageService: z.object({ UserId: userId, DeviceId: deviceId, SourceId: z.number().int().min(0).max(255).optional() }).strict(),
  DescribeVideoDateList: z.object({ UserId: userId, DeviceId: deviceId, Timezone: z.number().int().min(-43200).max(50400) }).strict(),
  DescribeVideoPlayList: z.object({ UserId: userId, DeviceId: deviceId, StartTime: uint, EndTime: uint }).strict(),
  DescribeVideoPlayAddress: z.object({ UserId: userId, DeviceId: deviceId, StartTime: uint, EndTime: uint }).strict(),
  DescribeEventList: z
    .object({
      UserId: userId,
      DeviceId: deviceId,
      StartTime: uint,
      EndTime: uint,
      PageSize: z.number().int().min(1, 'PageSize must be 1..50').max(50, 'PageSize must be 1..50'),
      TypeMasks: z.array(z.number().int().min(1).max(0xffffffff)).max(32).optional(),
      ValidCloudStorage: z.boolean().optional(),
    })
    .strict(),
  DeleteEvents: z.object({ UserId: userId, DeviceId: deviceId, EventIds: z.array(z.string().min(1).max(64)).min(1).max(100) }).strict(),
  ReadProperty: z.object({ UserId: userId, DeviceId: deviceId, Path: modelPath }).strict(),
  WriteProperty: z.object({ UserId: userId, DeviceId: deviceId, Path: modelPath.min(1), Json: z.string().max(30000) }).strict(),
  TakeAction: z.object({ UserId: userId, DeviceId: deviceId, Path: modelPath.min(1), Json: z.string().max(30000) }).strict(),
  AddProperty: z.object({ UserId: userId, DeviceId: deviceId, Path: modelPath.min(1), Json: z.string().max(30000) }).strict(),
  DeleteProperty: z.object({ UserId: userId, DeviceId: deviceId, Path: modelPath.min(1) }).strict(),
  SendDataToDevice: z
    .object({ UserId: userId, DeviceId: deviceId, Data: z.string().max(60000).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'Data must be base64'), ExpectResponse: z.boolean().optional() })
    .strict(),
} as const;
type Action = keyof typeof SCHEMAS;

export function iotProvider(options: IotCloudOptions = {}): CloudProvider {
  // A Map: a SecretId such as "constructor" or "__proto__" must not find Object.prototype's members.
  const secrets = new Map<string, string>(Object.entries(options.secrets || { [DEV_CREDENTIALS.tencent.secretId]: DEV_CREDENTIALS.tencent.secretKey }));
  return {
    name: 'iot',
    async build(ctx: CloudContext) {
      const app = createFastify({ name: 'iot', bodyLimit: 256 * 1024 });
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

      const sign = (...parts: Array<string | number>) => createHmac('sha256', urlKey).update(parts.join('|')).digest('hex').slice(0, 32);
      const checkSign = (given: unknown, expires: unknown, ...parts: Array<string | number>): string | undefined => {
        if (typeof given !== 'string' || typeof expires !== 'string' || !/^\d+$/.test(expires)) return 'missing t / sign';
        const want = sign(...parts, expires);
        if (given.length !== want.length || !timingSafeEqual(Buffer.from(given), Buffer.from(want))) return 'bad signature';
        if (parseInt(expires, 10) < st.now()) return 'URL expired';
        return undefined;
      };
      const base = () => ctx.urls.iot;

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

      const requestId = () => `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(6).toString('hex')}`;
      const apiError = (reply: FastifyReply, code: string, message: string) => reply.send({ Response: { Error: { Code: code, Message: message }, RequestId: requestId() } });

      // ---- the signed API ----------------------------------------------------------------------------------------
      app.post('/', async (req: FastifyRequest, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : '');
        const [p, q = ''] = req.url.split('?');
        const v = tc3Verify({ method: req.method, path: p, query: q, headers: req.headers, body: raw }, { secrets, service: IOT_API_SERVICE, nowSec: st.now() });
        if (!v.ok) return apiError(reply, v.code, v.message);
        if (v.version !== IOT_API_VERSION) return apiError(reply, 'InvalidParameterValue', `X-TC-Version ${v.version} is not supported; use ${IOT_API_VERSION}.`);
        if (!(v.action in SCHEMAS)) return apiError(reply, 'InvalidAction', `The action ${v.action} does not exist.`);
        let body: unknown;
        try {
          body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        } catch (e) {
          return apiError(reply, 'InvalidParameter', `The body is not JSON: ${(e as Error).message}`);
        }
        const parsed = SCHEMAS[v.action as Action].safeParse(body);
        if (!parsed.success) {
          return apiError(reply, 'InvalidParameter', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
        }
        const r = handle(v.action as Action, parsed.data as Record<string, unknown>);
        return reply.send({ Response: { Code: r.code, Msg: r.msg, Data: r.data ?? null, RequestId: requestId() } });
      });

      function withDevice(p: Record<string, unknown>, fn: (d: DeviceRecord) => IvResult): IvResult {
        const d = st.access(p.UserId as string, p.DeviceId as string);
        if ('code' in d) return d;
        return fn(d);
      }

      function imageUrls(d: DeviceRecord) {
        const exp = st.now() + MEDIA_URL_TTL_SECONDS;
        return {
          imgUrlPrefix: `${base()}/cos/`,
          thumbUrlSuffix: '&imageMogr2/thumbnail/160x90',
          suffix: (alarmId: string) => `${d.deviceId}/events/${alarmId}.png?t=${exp}&sign=${sign('img', d.deviceId, alarmId, exp)}`,
        };
      }

      function handle(action: Action, p: Record<string, unknown>): IvResult {
        switch (action) {
          case 'DescribeUserDevices':
            return st.listDevices(p.UserId as string);
          case 'DescribeCloudStorageService':
            return withDevice(p, (d) => st.serviceDetail(d));
          case 'DescribeVideoDateList':
            return withDevice(p, (d) => st.videoDateList(d, p.Timezone as number));
          case 'DescribeVideoPlayList':
            return withDevice(p, (d) => {
              if ((p.EndTime as number) < (p.StartTime as number)) return fail(21031, '参数错误: EndTime is before StartTime');
              return st.videoPlayList(d, p.StartTime as number, p.EndTime as number);
            });
          case 'DescribeVideoPlayAddress':
            return withDevice(p, (d) => {
              const end = p.EndTime as number;
              if (end !== 0 && end <= (p.StartTime as number)) return fail(21031, '参数错误: EndTime must be after StartTime (or 0)');
              const r = st.playAddress(d, p.StartTime as number, end);
              if (r.code !== 0 || !r.data) return r;
              const exp = st.now() + MEDIA_URL_TTL_SECONDS;
              const s = beijingStamp(r.data.startTime);
              const e = beijingStamp(r.data.endTime);
              const url = `${base()}/timeshift/live/${d.deviceId}/timeshift.m3u8?starttime=${s}&endtime=${e}&t=${exp}&sign=${sign('m3u8', d.deviceId, s, e, exp)}`;
              return ok({ url, startTime: r.data.startTime, endTime: r.data.endTime, endflag: r.data.endflag });
            });
          case 'DescribeEventList':
            return withDevice(p, (d) => {
              if ((p.EndTime as number) < (p.StartTime as number)) return fail(21031, '参数错误: EndTime is before StartTime');
              const r = st.eventList(d, {
                startTime: p.StartTime as number,
                endTime: p.EndTime as number,
                pageSize: p.PageSize as number,
                typeMasks: (p.TypeMasks as number[] | undefined) || [],
                validCloudStorage: !!p.ValidCloudStorage,
              });
              if (r.code !== 0) return r;
              const data = r.data as { page: Array<{ alarmId: string; firstAlarmType: number; alarmType: number; startTime: number; endTime: number }>; pageEnd: boolean; validVideoStartTime: number };
              const u = imageUrls(d);
              return ok({
                imgUrlPrefix: u.imgUrlPrefix,
                thumbUrlSuffix: u.thumbUrlSuffix,
                list: data.page.map((e) => ({
                  alarmId: e.alarmId,
                  firstAlarmType: e.firstAlarmType,
                  alarmType: e.alarmType,
                  startTime: e.startTime,
                  endTime: e.endTime,
                  imgUrlSuffix: u.suffix(e.alarmId),
                })),
                validVideoStartTime: data.validVideoStartTime,
                validStartTime: data.validVideoStartTime,
                pageEnd: data.pageEnd,
              });
            });
          case 'DeleteEvents':
            return withDevice(p, (d) => st.deleteEvents(d, p.EventIds as string[]));
          case 'ReadProperty':
            return withDevice(p, (d) => st.modelOp(d, 'read', p.Path as string, ''));
          case 'WriteProperty':
            return withDevice(p, (d) => st.modelOp(d, 'write', p.Path as string, p.Json as string));
          case 'TakeAction':
            return withDevice(p, (d) => st.modelOp(d, 'action', p.Path as string, p.Json as string));
          case 'AddProperty':
            return withDevice(p, (d) => st.modelOp(d, 'add', p.Path as string, p.Json as string));
          case 'DeleteProperty':
            return withDevice(p, (d) => st.modelOp(d, 'delete', p.Path as string, ''));
          case 'SendDataToDevice':
            return withDevice(p, (d) => st.passthrough(d, Buffer.from(p.Data as string, 'base64'), !!p.ExpectResponse));
        }
      }

      // ---- media: event images -------------------------------------------------------------------------------------
      app.get('/cos/:deviceId/events/:file', async (req, reply) => {
        const { deviceId: id, file } = req.params as { deviceId: string; file: string };
        const q = req.query as Record<string, string | undefined>;
        const m = /^(\d{10,24})\.png$/.exec(file);
        if (!m) return reply.status(404).type('application/xml').send('<Error><Code>NoSuchKey</Code></Error>');
        const bad = checkSign(q.sign, q.t, 'img', id, m[1]);
        if (bad) return reply.status(403).type('application/xml').send(`<Error><Code>AccessDenied</Code><Message>${bad}</Message></Error>`);
        const d = st.device(id);
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
        const key = `${e.alarmId}|${w}x${h}`;
        const png =
          imageCache.get(key) ||
          remember(imageCache, key, paintSnapshot(w, h, { seed: e.imgSeed, firstAlarmType: e.firstAlarmType, alarmType: e.alarmType, secondOfDay: (e.startTime + 8 * 3600) % 86400 }), 300);
        return reply.type('image/png').header('cache-control', 'private, max-age=3600').send(png);
      });

      // ---- media: HLS timeshift ----------------------------------------------------------------------------------
      app.get('/timeshift/live/:deviceId/timeshift.m3u8', async (req, reply) => {
        const { deviceId: id } = req.params as { deviceId: string };
        const q = req.query as Record<string, string | undefined>;
        const bad = checkSign(q.sign, q.t, 'm3u8', id, q.starttime || '', q.endtime || '');
        if (bad) return reply.status(403).type('text/plain').send(bad);
        const s = parseBeijingStamp(q.starttime || '');
        const e = parseBeijingStamp(q.endtime || '');
        const d = st.device(id);
        if (s === undefined || e === undefined || e <= s || !d) return reply.status(404).type('text/plain').send('no such recording');
        const ts = new Set<number>();
        for (const seg of st.recordings(d, s - SEGMENT_SECONDS, e)) {
          for (let t = Math.floor(Math.max(seg.start, s) / SEGMENT_SECONDS) * SEGMENT_SECONDS; t < Math.min(seg.end, e); t += SEGMENT_SECONDS) ts.add(t);
        }
        if (ts.size === 0) return reply.status(404).type('text/plain').send('no recording in range');
        const list = Array.from(ts).sort((a, b) => a - b);
        const body = buildM3u8(list.map((t) => ({ t, url: `seg/${t}.ts?t=${q.t}&sign=${sign('seg', id, t, q.t as string)}` })));
        return reply.type('application/vnd.apple.mpegurl').header('cache-control', 'private, max-age=60').send(body);
      });

      app.get('/timeshift/live/:deviceId/seg/:file', async (req, reply) => {
        const { deviceId: id, file } = req.params as { deviceId: string; file: string };
        const q = req.query as Record<string, string | undefined>;
        const m = /^(\d{1,12})\.ts$/.exec(file);
        if (!m || parseInt(m[1], 10) % SEGMENT_SECONDS !== 0) return reply.status(404).type('text/plain').send('no such segment');
        const t = parseInt(m[1], 10);
        const bad = checkSign(q.sign, q.t, 'seg', id, t);
        if (bad) return reply.status(403).type('text/plain').send(bad);
        const d = st.device(id);
        if (!d || st.recordings(d, t, t + SEGMENT_SECONDS).length === 0) return reply.status(404).type('text/plain').send('not recorded');
        const buf = segCache.get(t) || remember(segCache, t, renderSegment(getClip(), t), 64);
        return reply.type('video/mp2t').header('cache-control', 'private, max-age=3600').send(buf);
      });

      // ---- dev endpoints -----------------------------------------------------------------------------------------
      const openidSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
      const adminBad = (reply: FastifyReply, issues: string) => reply.status(400).send({ code: 21031, msg: `参数错误: ${issues}`, data: null });
      const parse = <T>(schema: z.ZodType<T>, body: unknown, reply: FastifyReply): T | undefined => {
        const r = schema.safeParse(body ?? {});
        if (!r.success) {
          adminBad(reply, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
          return undefined;
        }
        return r.data;
      };

      app.get('/_admin/users/:openid/devices', async (req, reply) => {
        const openid = (req.params as { openid: string }).openid;
        if (!openidSchema.safeParse(openid).success) return adminBad(reply, 'openid');
        return st.listDevices(openid);
      });

      app.post('/_admin/users/:openid/devices', async (req, reply) => {
        const openid = (req.params as { openid: string }).openid;
        if (!openidSchema.safeParse(openid).success) return adminBad(reply, 'openid');
        const o = parse(
          z
            .object({
              name: z.string().min(1).max(32).optional(),
              deviceId: deviceId.optional(),
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
        st.ensureUser(openid);
        if (o.deviceId && st.device(o.deviceId)) return reply.status(409).send(fail(8022, `device ${o.deviceId} exists; bind it instead`));
        const d = st.createDevice(openid, o);
        return ok({ deviceId: d.deviceId, name: d.name });
      });

      app.post('/_admin/bind', async (req, reply) => {
        const o = parse(z.object({ openid: openidSchema, deviceId }).strict(), req.body, reply);
        if (!o) return reply;
        st.ensureUser(o.openid);
        return st.bind(o.openid, o.deviceId);
      });

      app.post('/_admin/unbind', async (req, reply) => {
        const o = parse(z.object({ openid: openidSchema, deviceId }).strict(), req.body, reply);
        if (!o) return reply;
        return st.unbind(o.openid, o.deviceId);
      });

      const withAdminDevice = (req: FastifyRequest, reply: FastifyReply): DeviceRecord | undefined => {
        const d = st.device((req.params as { deviceId: string }).deviceId);
        if (!d) reply.status(404).send(fail(8002, '目标不存在'));
        return d;
      };

      app.post('/_admin/devices/:deviceId/events', async (req, reply) => {
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
        return ok({ list: st.injectEvents(d, o) });
      });

      app.get('/_admin/devices/:deviceId/events', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const q = req.query as Record<string, string | undefined>;
        const from = q.startTime ? parseInt(q.startTime, 10) : 0;
        const to = q.endTime ? parseInt(q.endTime, 10) : st.now();
        return ok({ list: st.visibleEvents(d, from, to).map(({ imgSeed: _s, ...e }) => e) });
      });

      app.post('/_admin/devices/:deviceId/online', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const o = parse(z.object({ online: z.boolean() }).strict(), req.body, reply);
        if (!o) return reply;
        st.setOnline(d.deviceId, o.online);
        return ok({ online: o.online });
      });

      app.post('/_admin/devices/:deviceId/order', async (req, reply) => {
        const d = withAdminDevice(req, reply);
        if (!d) return reply;
        const o = parse(
          z.object({ pkgType: z.union([z.literal(1), z.literal(2)]).optional(), storageDays: z.number().int().min(1).max(365).optional(), startTime: uint.optional(), endTime: uint.optional() }).strict(),
          req.body,
          reply,
        );
        if (!o) return reply;
        st.setOrder(d.deviceId, o);
        return st.serviceDetail(st.device(d.deviceId)!);
      });

      app.setNotFoundHandler((req, reply) => {
        reply.status(404).send({ Response: { Error: { Code: 'ResourceNotFound', Message: `No route ${req.method} ${req.url.split('?')[0]}` }, RequestId: requestId() } });
      });
      return app;
    },
  };
}
