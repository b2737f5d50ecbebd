/**
 * The local Tencent Cloud VOD (云点播), one listener standing for three real hosts:
 *   - vod2.qcloud.com  `POST /v3/index.php?Action=PrepareUploadUGC|ApplyUploadUGC|CommitUploadUGC` (client upload,
 *     signature-verified, one-time signatures, 24 h sessions resumable by vodSessionKey, temporary COS credentials
 *     scoped to the session's objects) and the COS proxy: any request with `Vod-Forward-Cos: <cos host>` is a COS
 *     request (server/cloud/tencent-cos), as vod-wx-sdk-v2 sends it;
 *   - vod.tencentcloudapi.com  API 3.0 (`POST /` with TC3-HMAC-SHA256; the service is read from the credential scope,
 *     as tencentcloud-sdk-nodejs signs `endpoint.split('.')[0]`): PullEvents, ConfirmEvents, DescribeEventsState,
 *     ModifyEventConfig, DescribeEventConfig, DescribeMediaInfos, ProcessMediaByProcedure;
 *   - <appId>.vod2.myqcloud.com  media URLs: `GET /media/<storage path>` (Range-capable) serves what was uploaded.
 * Events (NewFileUpload, ProcedureStateChanged) go to the PULL queue (reliable mode, the default: 30 s confirm
 * window, redelivery) or are PUSHed to NotificationUrl with retries and Sign/T when a SignKey is set.
 * Dev hooks under /_admin (loopback only): info, settings, sessions (age them), requests, events, procedures.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CloudContext, CloudProvider } from '../context';
import { DEV_CREDENTIALS } from '../../dev-credentials';
import { tc3Verify } from '../iot/tc3';
import { noteSignature } from '../request-log';
import { checkJsonShape, nullRecord, ownGet } from '../../safe-input';
import { cosProvider, CosCredential, installRawBody, rawBodyFastify, readJsonBody, sendObject, TencentShared } from '../tencent-cos';
import { verifyUgcSignature, VerifiedUgcSignature } from './ugc-signature';

/** The local account: VOD appId, the COS appid of the VOD bucket, region. */
export const LOCAL_TENCENT = {
  appId: 1400000001,
  cosAppId: 1250000001,
  region: 'ap-guangzhou',
  regionShort: 'gz',
  /** Key of verify_content (on real VOD it is requested from Tencent). */
  verifyKey: 'local-dev-vod-verify-key-0000000000',
};

export const SESSION_TTL_MS = 24 * 3600 * 1000;

/** Bounds of the JSON bodies (vod2 v3 and API 3.0): checked before anything reads or logs them. */
export const JSON_LIMITS = { maxDepth: 32, maxBytes: 1024 * 1024 };

const VIDEO_TYPES = 'WMV RM MOV MPEG MP4 3GP FLV AVI RMVB TS ASF MPG WEBM MKV M3U8 WM ASX RAM MPE VOB DAT MP4V M4V F4V MXF QT OGG MP3 M4A FLAC WAV RA AAC AMR'.split(' ');
const COVER_TYPES = 'JPG JPEG PNG GIF BMP TIFF AI CDR EPS TIF HEIF WEBP'.split(' ');

interface Session {
  key: string;
  createdAt: number;
  /** MAC of the one-time signature that opened it. */
  openedBy: string;
  fileId: string;
  videoName: string;
  videoType: string;
  videoSize?: number;
  videoKey: string;
  coverType?: string;
  coverKey?: string;
  /** Cover-only session for an existing file. */
  coverOnlyFor?: string;
  sig: Omit<VerifiedUgcSignature, 'original' | 'mac' | 'currentTimeStamp' | 'expireTime' | 'random'>;
  committed?: { at: number };
}

interface Media {
  fileId: string;
  name: string;
  type: string;
  videoKey: string;
  coverKey?: string;
  size: number;
  createTime: number;
  updateTime: number;
  classId: number;
  sourceContext: string;
  sessionContext: string;
  procedure?: string;
  subAppId?: number;
  procedureTaskId?: string;
}

export interface VodEvent {
  EventHandle?: string;
  EventType: 'NewFileUpload' | 'ProcedureStateChanged';
  FileUploadEvent?: Record<string, unknown>;
  ProcedureStateChangeEvent?: Record<string, unknown>;
}

interface QueuedEvent {
  id: string;
  event: VodEvent;
  createdAt: number;
  /** Handle of the current delivery and when it was pulled (unconfirmed after 30 s → delivered again). */
  handle?: string;
  pulledAt?: number;
}

interface PushAttempt {
  id: string;
  eventType: string;
  fileId?: string;
  attempt: number;
  status?: number;
  error?: string;
  at: number;
}

interface State {
  sessions: Record<string, Session>;
  oneTime: Record<string, string>;
  media: Record<string, Media>;
  events: QueuedEvent[];
  eventConfig: { Mode: 'PUSH' | 'PULL'; NotificationUrl: string; UploadMediaCompleteEventSwitch: 'ON' | 'OFF'; SignKey: string };
  nextFileId: number;
}

export interface VodLogEntry {
  at: number;
  action: string;
  host: string;
  body: Record<string, unknown>;
  code: number;
  message: string;
}

const bucketShort = `${randomHex(8, 'local')}vod${LOCAL_TENCENT.regionShort}${LOCAL_TENCENT.appId}`;
export const LOCAL_VOD_BUCKET = `${bucketShort}-${LOCAL_TENCENT.cosAppId}`;
export const LOCAL_COS_HOST = `${LOCAL_VOD_BUCKET}.cos.${LOCAL_TENCENT.region}.myqcloud.com`;

function randomHex(n: number, seed?: string): string {
  return seed ? createHash('sha1').update(seed).digest('hex').slice(0, n) : randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

/** Both Tencent listeners (vod + cos) sharing credentials and the object store. */
export function tencentProviders(): CloudProvider[] {
  const temp = new Map<string, CosCredential>();
  const account = DEV_CREDENTIALS.tencent;
  const shared: TencentShared = {
    credential: (id) => (id === account.secretId ? { secretId: id, secretKey: account.secretKey } : temp.get(id)),
    buckets: () => [LOCAL_VOD_BUCKET],
  };
  return [tencentVodProvider(shared, temp), cosProvider(shared)];
}

function tencentVodProvider(shared: TencentShared, temp: Map<string, CosCredential>): CloudProvider {
  return {
    name: 'tvod',
    async build(ctx: CloudContext) {
      const app = rawBodyFastify();
      const file = path.join(ctx.dataDir, 'state.json');
      const state: State = existsSync(file)
        ? JSON.parse(readFileSync(file, 'utf8'))
        : { sessions: {}, oneTime: {}, media: {}, events: [], eventConfig: { Mode: 'PULL', NotificationUrl: '', UploadMediaCompleteEventSwitch: 'ON', SignKey: '' }, nextFileId: 0 };
      // Session keys, file ids and MACs arrive from clients: the tables are null-prototype records and every read goes
      // through ownGet, so `__proto__` / `constructor` / `toString` are unknown keys like any other.
      state.sessions = Object.assign(nullRecord<Session>(), state.sessions);
      state.oneTime = Object.assign(nullRecord<string>(), state.oneTime);
      state.media = Object.assign(nullRecord<Media>(), state.media);
      const settings = { credentialLifetimeSec: 7200, procedureMode: 'auto' as 'auto' | 'manual', procedureDelayMs: 1500, pushRetryDelaysMs: [200, 1000, 3000, 10000, 30000], accelerateHost: '' };
      const log: VodLogEntry[] = [];
      const pushLog: PushAttempt[] = [];
      /** Every event emitted (newest last, 200 kept) and what became of it: for the dev console (GET /_admin/events). */
      const eventHistory: Array<{ id: string; eventType: string; fileId?: string; createdAt: number; pulls: number; confirmedAt?: number }> = [];
      const timers = new Set<NodeJS.Timeout>();
      const waiters = new Set<() => void>();
      let closed = false;
      const nowSec = () => Math.floor(ctx.now() / 1000);
      const save = () => {
        const tmp = `${file}.${randomBytes(3).toString('hex')}.tmp`;
        writeFileSync(tmp, JSON.stringify(state));
        renameSync(tmp, file);
      };
      const later = (ms: number, fn: () => void) => {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!closed) fn();
        }, ms);
        timers.add(t);
      };
      // preClose: end long polls before fastify waits for in-flight requests
      app.addHook('preClose', async () => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        for (const w of [...waiters]) w();
      });
      const secrets: ReadonlyMap<string, string> = new Map([[DEV_CREDENTIALS.tencent.secretId, DEV_CREDENTIALS.tencent.secretKey]]);
      const media = (key: string) => `${ctx.urls.tvod}/media/${key}`;

      // ---- vod2 v3 client upload

      type V3 = { code: number; message: string; data?: Record<string, unknown> };
      const bad = (message: string): V3 => ({ code: 10001, message: `ugc upload | invalid request: ${message}` });

      function issueCredential(s: Session) {
        const secretId = `AKIDtmp${randomBytes(12).toString('hex')}`;
        const cred: CosCredential = {
          secretId,
          secretKey: randomBytes(20).toString('base64').replace(/[^A-Za-z0-9]/g, 'x'),
          token: randomBytes(96).toString('base64'),
          expiredTime: nowSec() + settings.credentialLifetimeSec,
          bucket: LOCAL_VOD_BUCKET,
          keys: [s.videoKey, ...(s.coverKey ? [s.coverKey] : [])].filter(Boolean),
        };
        temp.set(secretId, cred);
        return cred;
      }

      function applyResponse(s: Session): V3 {
        const cred = issueCredential(s);
        const data: Record<string, unknown> = {
          video: s.coverOnlyFor ? undefined : { storageSignature: '', storagePath: `/${s.videoKey}` },
          cover: s.coverKey ? { storageSignature: '', storagePath: `/${s.coverKey}` } : undefined,
          storageAppId: LOCAL_TENCENT.cosAppId,
          storageBucket: bucketShort,
          storageRegion: LOCAL_TENCENT.regionShort,
          storageRegionV5: LOCAL_TENCENT.region,
          StorageRegionV5: LOCAL_TENCENT.region,
          domain: 'vod2.qcloud.com',
          vodSessionKey: s.key,
          tempCertificate: { secretId: cred.secretId, secretKey: cred.secretKey, token: cred.token, expiredTime: cred.expiredTime },
          appId: LOCAL_TENCENT.appId,
          timestamp: nowSec(),
          cosAcc: { isOpen: 0, domain: '' },
        };
        if (settings.accelerateHost) data.MiniProgramAccelerateHost = settings.accelerateHost;
        return { code: 0, message: '成功', data: JSON.parse(JSON.stringify(data)) };
      }

      function liveSession(key: unknown, sig: VerifiedUgcSignature): Session | V3 {
        const s = typeof key === 'string' ? ownGet(state.sessions, key) : undefined;
        if (!s || ctx.now() - s.createdAt >= SESSION_TTL_MS) {
          if (s) delete state.sessions[s.key];
          return bad('vodSessionKey is unknown or expired (sessions last 1 day)');
        }
        if (sig.oneTimeValid && ownGet(state.oneTime, sig.mac) && ownGet(state.oneTime, sig.mac) !== s.key) return { code: 10004, message: 'ugc upload | invalid signature: duplicate vod signature' };
        if (sig.oneTimeValid) state.oneTime[sig.mac] = s.key;
        return s;
      }

      const ext = (t: unknown) => (typeof t === 'string' ? t.replace(/^\./, '') : '');

      function apply(body: Record<string, unknown>, sig: VerifiedUgcSignature): V3 {
        if (body.vodSessionKey !== undefined && body.vodSessionKey !== '') {
          const s = liveSession(body.vodSessionKey, sig);
          if ('code' in s) return s;
          if (s.committed) return bad('the session is already committed');
          save();
          return applyResponse(s);
        }
        if (sig.oneTimeValid && ownGet(state.oneTime, sig.mac)) return { code: 10004, message: 'ugc upload | invalid signature: duplicate vod signature' };
        const coverOnly = typeof body.fileId === 'string' && body.fileId !== '' ? body.fileId : undefined;
        const videoType = ext(body.videoType);
        const coverType = ext(body.coverType);
        if (!coverOnly) {
          if (!videoType) return bad('videoType is required');
          if (!VIDEO_TYPES.includes(videoType.toUpperCase())) return bad(`videoType ${videoType} is not a supported media format`);
        } else if (!ownGet(state.media, coverOnly)) {
          return bad(`fileId ${coverOnly} does not exist`);
        }
        if (coverType && !COVER_TYPES.includes(coverType.toUpperCase())) return bad(`coverType ${coverType} is not a supported image format`);
        if (coverOnly && !coverType) return bad('coverType is required with fileId');
        const name = typeof body.videoName === 'string' ? body.videoName : '';
        if (name.length > 200 || /[\\/:*?"<>|]/.test(name)) return bad('videoName is longer than 200 characters or has one of \\ / : * ? " < > |');
        for (const k of ['videoSize', 'coverSize'] as const) {
          if (body[k] !== undefined && !(Number.isInteger(Number(body[k])) && Number(body[k]) >= 0)) return bad(`${k} must be a non-negative integer`);
        }
        const fileId = coverOnly || String(5285890800000000000n + BigInt(++state.nextFileId) * 2n + BigInt(Math.floor(ctx.now() / 1000) % 100000) * 100000n);
        const folder = `${randomHex(8)}${fileId}`;
        const s: Session = {
          key: randomBytes(192).toString('base64'),
          createdAt: ctx.now(),
          openedBy: sig.mac,
          fileId,
          videoName: name || (coverOnly ? ownGet(state.media, coverOnly)!.name : '来自小程序'),
          videoType: coverOnly ? ownGet(state.media, coverOnly)!.type : videoType.toLowerCase(),
          videoSize: body.videoSize !== undefined ? Number(body.videoSize) : undefined,
          videoKey: coverOnly ? '' : `${bucketShort}/${folder}/${randomBytes(9).toString('base64').replace(/[^A-Za-z0-9]/g, 'x')}.${videoType.toLowerCase()}`,
          coverType: coverType ? coverType.toLowerCase() : undefined,
          coverKey: coverType ? `${bucketShort}/${folder}/${BigInt(fileId) + 1n}.${coverType.toLowerCase()}` : undefined,
          coverOnlyFor: coverOnly,
          sig: {
            secretId: sig.secretId, classId: sig.classId, procedure: sig.procedure, taskPriority: sig.taskPriority, taskNotifyMode: sig.taskNotifyMode,
            sourceContext: sig.sourceContext, sessionContext: sig.sessionContext, oneTimeValid: sig.oneTimeValid, vodSubAppId: sig.vodSubAppId, storageRegion: sig.storageRegion,
          },
        };
        state.sessions[s.key] = s;
        if (sig.oneTimeValid) state.oneTime[sig.mac] = s.key;
        save();
        return applyResponse(s);
      }

      function commit(body: Record<string, unknown>, sig: VerifiedUgcSignature): V3 {
        const s = liveSession(body.vodSessionKey, sig);
        if ('code' in s) return s;
        const cos = shared.cos!;
        const video = s.videoKey ? cos.object(LOCAL_VOD_BUCKET, s.videoKey) : undefined;
        if (s.videoKey && !video) return bad('the media file has not been uploaded to its storagePath');
        if (s.coverKey && !cos.object(LOCAL_VOD_BUCKET, s.coverKey)) return bad('the cover has not been uploaded to its storagePath');
        const expTime = nowSec() + 3600;
        const verify = (fileId: string) => {
          const plain = Buffer.from(`ExpTime=${expTime}&FileId=${fileId}`);
          return Buffer.concat([createHmac('sha1', LOCAL_TENCENT.verifyKey).update(plain).digest(), plain]).toString('base64');
        };
        const firstCommit = !s.committed;
        if (firstCommit) {
          s.committed = { at: ctx.now() };
          if (s.coverOnlyFor) {
            const m = ownGet(state.media, s.coverOnlyFor)!;
            m.coverKey = s.coverKey;
            m.updateTime = ctx.now();
          } else {
            const m: Media = {
              fileId: s.fileId, name: s.videoName, type: s.videoType, videoKey: s.videoKey, coverKey: s.coverKey, size: video ? video.size : 0,
              createTime: ctx.now(), updateTime: ctx.now(), classId: s.sig.classId, sourceContext: s.sig.sourceContext || '', sessionContext: s.sig.sessionContext || '',
              procedure: s.sig.procedure, subAppId: s.sig.vodSubAppId,
            };
            if (m.procedure) m.procedureTaskId = `${LOCAL_TENCENT.appId}-Procedure-${randomHex(32)}t0`;
            state.media[m.fileId] = m;
            emit({ EventType: 'NewFileUpload', FileUploadEvent: fileUploadEvent(m) });
            if (m.procedure) {
              if ((s.sig.taskNotifyMode || 'Finish') === 'Change') later(0, () => procedureEvent(m, 'PROCESSING'));
              if (settings.procedureMode === 'auto') later(settings.procedureDelayMs, () => procedureEvent(m, 'FINISH'));
            }
          }
          delete state.sessions[s.key];
          state.sessions[s.key] = s; // kept until it ages out: a retried Commit gets the same answer
          save();
        }
        const m = ownGet(state.media, s.fileId)!;
        return {
          code: 0,
          message: '成功',
          data: JSON.parse(
            JSON.stringify({
              fileId: s.fileId,
              video: s.coverOnlyFor ? undefined : { url: media(m.videoKey), verify_content: verify(s.fileId) },
              cover: s.coverKey ? { url: media(s.coverKey), verify_content: verify(s.fileId) } : undefined,
            }),
          ),
        };
      }

      // ---- events

      function basicInfo(m: Media) {
        return {
          Name: m.name, Description: '', CreateTime: new Date(m.createTime).toISOString().replace(/\.\d+Z$/, 'Z'), UpdateTime: new Date(m.updateTime).toISOString().replace(/\.\d+Z$/, 'Z'),
          ExpireTime: '9999-12-31T23:59:59Z', ClassId: m.classId, ClassName: '其他', ClassPath: '其他', CoverUrl: m.coverKey ? media(m.coverKey) : '', Type: m.type,
          MediaUrl: media(m.videoKey), SourceInfo: { SourceType: 'Upload', SourceContext: m.sourceContext }, StorageRegion: LOCAL_TENCENT.region, StoragePath: `/${m.videoKey}`,
          TagSet: [], Vid: '', Category: /^(mp3|m4a|flac|wav|ra|aac|amr)$/i.test(m.type) ? 'Audio' : 'Video', Status: 'Normal', StorageClass: 'STANDARD',
        };
      }
      function metaData(m: Media) {
        return { Size: m.size, Container: m.type, Bitrate: 0, Height: 0, Width: 0, Duration: 0, Rotate: 0, VideoStreamSet: [], AudioStreamSet: [], VideoDuration: 0, AudioDuration: 0, Md5: '' };
      }
      function fileUploadEvent(m: Media) {
        return { FileId: m.fileId, MediaBasicInfo: basicInfo(m), ProcedureTaskId: m.procedureTaskId || '', ReviewAudioVideoTaskId: '', MetaData: metaData(m) };
      }
      function procedureEvent(m: Media, status: 'PROCESSING' | 'FINISH') {
        emit({
          EventType: 'ProcedureStateChanged',
          ProcedureStateChangeEvent: {
            TaskId: m.procedureTaskId, Status: status, ErrCode: 0, Message: 'SUCCESS', FileId: m.fileId, FileName: m.name, FileUrl: media(m.videoKey), MetaData: metaData(m),
            MediaProcessResultSet: [], AiContentReviewResultSet: [], AiAnalysisResultSet: [], AiRecognitionResultSet: [], TasksPriority: 0, TasksNotifyMode: 'Finish',
            SessionContext: m.sessionContext, SessionId: '', Operator: '', OperationType: '',
          },
        });
      }
      function emit(event: VodEvent) {
        if (state.eventConfig.UploadMediaCompleteEventSwitch === 'OFF' && event.EventType === 'NewFileUpload') return;
        const q: QueuedEvent = { id: randomHex(16), event, createdAt: ctx.now() };
        eventHistory.push({ id: q.id, eventType: event.EventType, fileId: (event.FileUploadEvent?.FileId || event.ProcedureStateChangeEvent?.FileId) as string | undefined, createdAt: q.createdAt, pulls: 0 });
        if (eventHistory.length > 200) eventHistory.splice(0, eventHistory.length - 200);
        if (state.eventConfig.Mode === 'PUSH' && state.eventConfig.NotificationUrl) {
          push(q, state.eventConfig.NotificationUrl, 0);
          return;
        }
        state.events.push(q);
        save();
        for (const w of [...waiters]) w();
      }
      function push(q: QueuedEvent, url: string, attempt: number) {
        const body: Record<string, unknown> = { ...q.event };
        if (state.eventConfig.SignKey) {
          const t = nowSec() + 600;
          body.T = String(t);
          body.Sign = createHash('md5').update(`${state.eventConfig.SignKey}${t}`).digest('hex');
        }
        const rec: PushAttempt = { id: q.id, eventType: q.event.EventType, fileId: (q.event.FileUploadEvent?.FileId || q.event.ProcedureStateChangeEvent?.FileId) as string, attempt: attempt + 1, at: ctx.now() };
        pushLog.push(rec);
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10000) })
          .then(async (res) => {
            rec.status = res.status;
            await res.arrayBuffer().catch(() => undefined);
            if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          })
          .catch((e) => {
            rec.error = (e as Error).message;
            const d = settings.pushRetryDelaysMs[attempt];
            if (d !== undefined) later(d, () => push(q, url, attempt + 1));
            else ctx.log(`PUSH of ${q.event.EventType} to ${url} gave up after ${attempt + 1} attempts`);
          });
      }
      /** Events ready for a PullEvents: never pulled, or pulled over 30 s ago and not confirmed. */
      function pullable(): QueuedEvent[] {
        const now = ctx.now();
        return state.events.filter((e) => !e.pulledAt || now - e.pulledAt >= 30000);
      }

      // ---- API 3.0

      type Api = Record<string, unknown>;
      class ApiError extends Error {
        constructor(public code: string, message: string) {
          super(message);
        }
      }
      const describe = (m: Media) => ({
        FileId: m.fileId, BasicInfo: basicInfo(m), MetaData: metaData(m), TranscodeInfo: null, AnimatedGraphicsInfo: null, SampleSnapshotInfo: null, ImageSpriteInfo: null,
        SnapshotByTimeOffsetInfo: null, KeyFrameDescInfo: null, AdaptiveDynamicStreamingInfo: null, MiniProgramReviewInfo: null, SubtitleInfo: null, ReviewInfo: null,
      });
      async function api(action: string, p: Api): Promise<Api> {
        switch (action) {
          case 'PullEvents': {
            const deadline = ctx.now() + 5000;
            for (;;) {
              const ready = pullable().slice(0, 16);
              if (ready.length) {
                const now = ctx.now();
                for (const e of ready) {
                  e.handle = randomHex(24);
                  e.pulledAt = now;
                  const hist = eventHistory.find((x) => x.id === e.id);
                  if (hist) hist.pulls++;
                }
                save();
                return { EventSet: ready.map((e) => ({ EventHandle: e.handle, ...e.event })) };
              }
              if (closed || ctx.now() >= deadline) throw new ApiError('ResourceNotFound.NoEvents', 'There are no events to pull (long poll ended).');
              await new Promise<void>((resolve) => {
                const done = () => {
                  waiters.delete(done);
                  clearTimeout(t);
                  resolve();
                };
                const t = setTimeout(done, Math.max(1, Math.min(1000, deadline - ctx.now())));
                waiters.add(done);
              });
            }
          }
          case 'ConfirmEvents': {
            const handles = p.EventHandles;
            if (!Array.isArray(handles) || !handles.length || handles.length > 16 || handles.some((h) => typeof h !== 'string')) throw new ApiError('InvalidParameterValue.EventHandles', 'EventHandles must be 1 to 16 strings.');
            const now = ctx.now();
            for (const h of handles) {
              const i = state.events.findIndex((e) => e.handle === h && e.pulledAt !== undefined && now - e.pulledAt < 30000);
              if (i < 0) throw new ApiError('InvalidParameter', `EventHandle ${h} is invalid or its 30-second confirmation window has passed (the event will be delivered again).`);
            }
            for (const e of state.events) {
              const hist = handles.includes(e.handle) ? eventHistory.find((x) => x.id === e.id) : undefined;
              if (hist) hist.confirmedAt = now;
            }
            state.events = state.events.filter((e) => !handles.includes(e.handle));
            save();
            return {};
          }
          case 'DescribeEventsState':
            return { CountOfEventsToPull: pullable().length };
          case 'ModifyEventConfig': {
            const c = state.eventConfig;
            if (p.Mode !== undefined) {
              if (p.Mode !== 'PUSH' && p.Mode !== 'PULL') throw new ApiError('InvalidParameterValue.Mode', 'Mode must be PUSH or PULL.');
              c.Mode = p.Mode;
            }
            if (p.NotificationUrl !== undefined) {
              if (typeof p.NotificationUrl !== 'string' || (p.NotificationUrl && !/^https?:\/\//.test(p.NotificationUrl))) throw new ApiError('InvalidParameterValue.NotificationUrl', 'NotificationUrl must be an http(s) URL.');
              c.NotificationUrl = p.NotificationUrl;
            }
            if (p.UploadMediaCompleteEventSwitch !== undefined) c.UploadMediaCompleteEventSwitch = p.UploadMediaCompleteEventSwitch === 'OFF' ? 'OFF' : 'ON';
            if (p.SignKey !== undefined) {
              if (typeof p.SignKey !== 'string' || !/^[A-Za-z0-9]{0,32}$/.test(p.SignKey)) throw new ApiError('InvalidParameterValue.SignKey', 'SignKey is up to 32 letters and digits.');
              c.SignKey = p.SignKey;
            }
            save();
            return {};
          }
          case 'DescribeEventConfig':
            return { ...state.eventConfig, DeleteMediaCompleteEventSwitch: 'OFF' };
          case 'DescribeMediaInfos': {
            const ids = p.FileIds;
            if (!Array.isArray(ids) || !ids.length || ids.length > 20) throw new ApiError('InvalidParameterValue.FileIds', 'FileIds must list 1 to 20 file ids.');
            if (ids.some((id) => typeof id !== 'string')) throw new ApiError('InvalidParameterValue.FileIds', 'FileIds must be strings.');
            const found = (ids as string[]).filter((id) => ownGet(state.media, id));
            return { MediaInfoSet: found.map((id) => describe(ownGet(state.media, id)!)), NotExistFileIdSet: ids.filter((id) => !ownGet(state.media, id as string)) };
          }
          case 'ProcessMediaByProcedure': {
            const m = typeof p.FileId === 'string' ? ownGet(state.media, p.FileId) : undefined;
            if (!m) throw new ApiError('InvalidParameterValue.FileId', 'FileId does not exist.');
            if (typeof p.ProcedureName !== 'string' || !p.ProcedureName) throw new ApiError('MissingParameter', 'ProcedureName is required.');
            m.procedure = p.ProcedureName;
            m.procedureTaskId = `${LOCAL_TENCENT.appId}-Procedure-${randomHex(32)}t0`;
            if (typeof p.SessionContext === 'string') m.sessionContext = p.SessionContext;
            save();
            if (settings.procedureMode === 'auto') later(settings.procedureDelayMs, () => procedureEvent(m, 'FINISH'));
            return { TaskId: m.procedureTaskId, ReviewAudioVideoTaskId: '' };
          }
        }
        throw new ApiError('InvalidAction', `The action ${action} is not implemented by the local VOD.`);
      }

      // ---- routes

      await app.register(async (scope) => {
        installRawBody(scope);
        scope.post('/v3/index.php', async (req, reply) => {
          const action = String((req.query as Record<string, string>).Action || '');
          const read = await readJsonBody(req, JSON_LIMITS.maxBytes).catch((e: { code?: string }) => {
            if (e.code === 'BodyTooLarge') return undefined;
            throw e;
          });
          const json = read?.json;
          const shape = json && typeof json === 'object' ? checkJsonShape(json, JSON_LIMITS) : undefined;
          const body = (json && typeof json === 'object' && !Array.isArray(json) && shape?.ok ? json : {}) as Record<string, unknown>;
          let out: V3;
          const v = verifyUgcSignature(body.signature, { secrets, nowSec: nowSec() });
          if (!read) out = bad(`the body is larger than ${JSON_LIMITS.maxBytes} bytes`);
          else if (shape && !shape.ok) out = bad(`the body: ${shape.message}`);
          else if (!json || typeof json !== 'object' || Array.isArray(json)) out = bad('the body is not a JSON object');
          else if (!v.ok) out = { code: v.code, message: v.message };
          else if (action === 'ApplyUploadUGC') out = apply(body, v.sig);
          else if (action === 'CommitUploadUGC') out = commit(body, v.sig);
          else if (action === 'PrepareUploadUGC') out = { code: 0, message: '成功', data: { appId: LOCAL_TENCENT.appId, cosRegionList: [{ region: LOCAL_TENCENT.region, domain: LOCAL_COS_HOST }] } };
          else out = bad(`unknown Action ${JSON.stringify(action)}`);
          log.push({ at: ctx.now(), action, host: String(req.headers.host || ''), body: redact(body), code: out.code, message: out.message });
          if (log.length > 2000) log.splice(0, log.length - 2000);
          return reply.type('application/json').send(out);
        });
        scope.route({
          method: ['GET', 'HEAD'],
          url: '/media/*',
          exposeHeadRoute: false,
          handler: async (req, reply) => {
            if (req.headers['vod-forward-cos']) return shared.cos!.handle(req, reply, String(req.headers['vod-forward-cos']));
            const key = decodeURIComponent(req.url.split('?')[0].replace(/^\/media\//, ''));
            const meta = shared.cos!.object(LOCAL_VOD_BUCKET, key);
            const known = Object.values(state.media).some((m) => m.videoKey === key || m.coverKey === key);
            if (!meta || !known) return reply.status(404).type('text/plain').send('Not Found');
            return sendObject(shared.cos!.store, req, reply, meta, req.method === 'HEAD');
          },
        });
        const cosOrApi = async (req: FastifyRequest, reply: FastifyReply) => {
          const fwd = req.headers['vod-forward-cos'];
          if (fwd) return shared.cos!.handle(req, reply, String(fwd));
          if (req.method === 'POST' && req.url.split('?')[0] === '/' && req.headers['x-tc-action']) return apiRoute(req, reply);
          return reply.status(404).type('application/json').send({ code: 10001, message: `No route ${req.method} ${req.url.split('?')[0]}` });
        };
        scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/*', exposeHeadRoute: false, handler: cosOrApi });
        scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/', exposeHeadRoute: false, handler: cosOrApi });
      });

      async function apiRoute(req: FastifyRequest, reply: FastifyReply) {
        const requestId = `${randomHex(8)}-${randomHex(4)}-${randomHex(4)}-${randomHex(4)}-${randomHex(12)}`;
        const send = (r: Api) => reply.type('application/json').send({ Response: { ...r, RequestId: requestId } });
        const read = await readJsonBody(req, JSON_LIMITS.maxBytes).catch((e: { code?: string }) => {
          if (e.code === 'BodyTooLarge') return undefined;
          throw e;
        });
        if (!read) return send({ Error: { Code: 'RequestSizeLimitExceeded', Message: `The request body is larger than ${JSON_LIMITS.maxBytes} bytes.` } });
        const { raw, json } = read;
        const auth = String(req.headers.authorization || '');
        const v = tc3Verify({ method: req.method, path: '/', query: req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '', headers: req.headers, body: raw }, { secrets, nowSec: nowSec() });
        if (!v.ok && v.stringToSign) noteSignature(req.raw, { stringToSign: v.stringToSign, canonicalRequest: v.canonicalRequest });
        if (!v.ok) return send({ Error: { Code: v.code, Message: v.message } });
        if (v.version !== '2018-07-17') return send({ Error: { Code: 'InvalidParameterValue.Version', Message: `Version ${v.version} is not 2018-07-17.` } });
        if (!json || typeof json !== 'object' || Array.isArray(json)) return send({ Error: { Code: 'InvalidParameter', Message: 'The body is not a JSON object.' } });
        const shape = checkJsonShape(json, JSON_LIMITS);
        if (!shape.ok) return send({ Error: { Code: 'InvalidParameter', Message: `The request body: ${shape.message}.` } });
        try {
          return send(await api(v.action, json as Api));
        } catch (e) {
          if (e instanceof ApiError) return send({ Error: { Code: e.code, Message: e.message } });
          throw e;
        }
      }

      // ---- admin

      app.get('/_admin/info', async () => ({ appId: LOCAL_TENCENT.appId, bucket: LOCAL_VOD_BUCKET, cosHost: LOCAL_COS_HOST, region: LOCAL_TENCENT.region, secretId: DEV_CREDENTIALS.tencent.secretId, verifyKey: LOCAL_TENCENT.verifyKey, settings }));
      app.post('/_admin/settings', async (req) => {
        const b = (req.body || {}) as Partial<typeof settings>;
        if (typeof b.credentialLifetimeSec === 'number' && b.credentialLifetimeSec > 0) settings.credentialLifetimeSec = b.credentialLifetimeSec;
        if (b.procedureMode === 'auto' || b.procedureMode === 'manual') settings.procedureMode = b.procedureMode;
        if (typeof b.procedureDelayMs === 'number' && b.procedureDelayMs >= 0) settings.procedureDelayMs = b.procedureDelayMs;
        if (Array.isArray(b.pushRetryDelaysMs)) settings.pushRetryDelaysMs = b.pushRetryDelaysMs.filter((n) => typeof n === 'number');
        if (typeof b.accelerateHost === 'string') settings.accelerateHost = b.accelerateHost;
        return settings;
      });
      app.get('/_admin/sessions', async () => ({ sessions: Object.values(state.sessions).map((s) => ({ key: s.key, createdAt: s.createdAt, fileId: s.fileId, videoKey: s.videoKey, coverKey: s.coverKey, committed: !!s.committed })) }));
      /** Age sessions by `ms` (the 1-day rule without moving the cloud clock). */
      app.post('/_admin/sessions/age', async (req) => {
        const b = (req.body || {}) as { ms?: number; key?: string };
        let n = 0;
        for (const s of Object.values(state.sessions)) {
          if (b.key && s.key !== b.key) continue;
          s.createdAt -= Number(b.ms) || 0;
          n++;
        }
        save();
        return { aged: n };
      });
      app.get('/_admin/requests', async () => ({ requests: log }));
      app.delete('/_admin/requests', async () => {
        log.length = 0;
        return { ok: true };
      });
      app.get('/_admin/events', async () => ({ queued: state.events, pushes: pushLog, config: state.eventConfig, history: eventHistory }));
      app.get('/_admin/media', async () => ({ media: Object.values(state.media) }));
      app.post('/_admin/procedures/:fileId/finish', async (req, reply) => {
        const m = ownGet(state.media, (req.params as { fileId: string }).fileId);
        if (!m || !m.procedureTaskId) return reply.status(404).send({ error: 'no procedure for that file' });
        procedureEvent(m, 'FINISH');
        return { ok: true };
      });
      return app;
    },
  };
}

function redact(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) out[k] = k === 'signature' && typeof v === 'string' ? `${v.slice(0, 12)}…` : v;
  return out;
}
