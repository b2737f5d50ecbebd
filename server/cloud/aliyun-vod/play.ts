/**
 * The play side of the local VOD (API 2017-03-21): GetPlayInfo, GetVideoPlayAuth, and GetVideoInfo for the sample
 * library, plus the stream catalog the local CDN (server/cloud/vod-cdn) serves PlayURLs from.
 *
 *  - GetPlayInfo: VideoId, Formats, Definition, StreamType, ResultType (Single | Multiple), OutputType (oss | cdn),
 *    AuthTimeout (PlayURL validity, type-A `auth_key`), PlayConfig (JSON: MtsHlsUriToken appended to m3u8 URLs,
 *    EncryptType filter, PlayDomain ignored), AuthInfo (for PlayAuth-derived callers). Errors as documented:
 *    InvalidVideo.NotFound, Forbidden.IllegalStatus, InvalidVideo.NoneStream, Forbidden.AliyunVoDEncryption,
 *    InvalidParameter, and (undocumented names, see reference §2.4) InvalidAuth.MediaId / InvalidAuthInfo.ExpireTime.
 *    JSON types as real responses carry them: Size / Width / Height / Encrypt numbers; Duration / Bitrate / Fps strings.
 *  - GetVideoPlayAuth: AuthInfoTimeout 100..3000 (default 100); PlayAuth = base64(JSON {AccessKeyId, AccessKeySecret,
 *    SecurityToken, AuthInfo, Region, PlayDomain, CustomerId, VideoMeta}) where the temporary credentials may call
 *    GetPlayInfo for that one VideoId and nothing else (not OSS either), until AuthInfo expires.
 *  - Library: the committed sample clip (server/cloud/media/clip-6s) as LD + SD MP4 and an SD HLS track with HLS
 *    standard encryption (AES-128; the key answers only to a valid single-use MtsHlsUriToken), a video still
 *    Transcoding, one with only Aliyun private encryption; and every video uploaded through VODUpload gets an OD MP4
 *    track (the uploaded object, fetched from the local OSS) once its upload completes (for playback: Transcoding,
 *    then Normal; the upload record itself keeps UploadSucc, which the upload tests rely on).
 */
import { nullRecord, ownGet } from '../../safe-input';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CloudContext } from '../context';
import { getAliyunShared, isoSeconds, LOCAL_REGION } from '../aliyun-common';
import { required, RpcError, type RpcAction, type RpcCaller, type RpcParams } from '../aliyun-common/rpc';
import { DEV_CREDENTIALS } from '../../dev-credentials';

export const MEDIA_DIR = path.resolve(__dirname, '../media');

/** Public sample videos every user may play and download (fixed ids). */
export const SAMPLE_VIDEO_IDS = {
  clip: '5aed81b74ba84920be578cdfe004af4b',
  transcoding: '7c1f0d2e9a8b4c3d8e6f5a4b3c2d1e0f',
  privateOnly: '9b8a7c6d5e4f4a3b9c2d1e0f1a2b3c4d',
} as const;

export const DEFINITIONS = ['FD', 'LD', 'SD', 'HD', 'OD', '2K', '4K', 'SQ', 'HQ', 'AUTO'];
export const FORMATS = ['mp4', 'm3u8', 'mp3', 'mpd', 'flv'];

export interface PlayStream {
  jobId: string;
  definition: string;
  format: 'mp4' | 'm3u8' | 'mp3';
  /** The file the CDN serves (absolute); for m3u8 the playlist (segments beside it). */
  file: string;
  size: number;
  width: number;
  height: number;
  bitrate: string;
  fps: string;
  duration: string;
  encrypt: 0 | 1;
  encryptType?: 'HLSEncryption' | 'AliyunVoDEncryption';
  specification: string;
  creationTime: string;
  streamType: 'video' | 'audio';
}

export interface PlayVideo {
  VideoId: string;
  Title: string;
  Status: string;
  Duration: string;
  CoverURL?: string;
  CreationTime: string;
  /** Public samples vs uploads. */
  sample: boolean;
  streams: PlayStream[];
}

interface Persisted {
  /** Streams of uploaded videos (vid → streams). */
  uploads: Record<string, PlayStream[]>;
  cdnKey: string;
  hlsKeyHex: string;
  hlsCiphertext: string;
}

export interface CdnFault {
  id: number;
  /** Matches the request path (string = substring). */
  path?: string;
  type: 'dropAfter' | 'ignoreRange' | 'expireAfter' | 'changeEtag' | 'hold' | 'status';
  bytes?: number;
  status?: number;
  /** hold: only requests whose Range start is >= this. */
  minStart?: number;
  times: number;
  hits: number;
}

/**
 * State the VOD (issuing PlayURLs) and the CDN (serving them) share, one per cloud data dir (like AliyunShared).
 */
export class PlayCatalog {
  readonly samples = new Map<string, PlayVideo>();
  readonly uploads: Record<string, PlayStream[]>;
  /** Type-A auth_key private key of the play domain. */
  readonly cdnKey: string;
  /** The HLS content key (16 bytes) and its "KMS" ciphertext as it appears in EXT-X-KEY. */
  readonly hlsKey: Buffer;
  readonly hlsCiphertext: string;
  /** auth_key rand values revoked through the admin API or an expireAfter fault. */
  readonly revoked = new Set<string>();
  readonly issued: Array<{ vid: string; rand: string }> = [];
  readonly faults: CdnFault[] = [];
  readonly etagGen = new Map<string, number>();
  readonly servedBytes = new Map<string, number>();
  readonly usedTokens = new Set<string>();
  readonly log: Array<{ time: string; path: string; range?: string; status: number; bytes: number; fault?: string }> = [];
  holds: Array<() => void> = [];
  private readonly file: string;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, 'play-catalog.json');
    let p: Persisted | undefined;
    if (existsSync(this.file)) {
      try {
        p = JSON.parse(readFileSync(this.file, 'utf8')) as Persisted;
      } catch {
        p = undefined;
      }
    }
    this.uploads = Object.assign(nullRecord<PlayStream[]>(), p?.uploads);
    this.cdnKey = p?.cdnKey || randomBytes(16).toString('hex');
    this.hlsKey = Buffer.from(p?.hlsKeyHex || randomBytes(16).toString('hex'), 'hex');
    this.hlsCiphertext = p?.hlsCiphertext || randomBytes(24).toString('base64').replace(/[+/=]/g, '');
    if (!p) this.save();
    this.addSamples();
  }

  save(): void {
    const data: Persisted = { uploads: this.uploads, cdnKey: this.cdnKey, hlsKeyHex: this.hlsKey.toString('hex'), hlsCiphertext: this.hlsCiphertext };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.file);
  }

  private addSamples(): void {
    const clip = path.join(MEDIA_DIR, 'clip-6s');
    const created = '2026-01-01T00:00:00Z';
    const mp4 = (definition: string, rel: string, width: number, height: number, bitrate: string): PlayStream => ({
      jobId: createHash('md5').update(`${SAMPLE_VIDEO_IDS.clip}:${definition}:mp4`).digest('hex'),
      definition,
      format: 'mp4',
      file: path.join(clip, rel),
      size: statSync(path.join(clip, rel)).size,
      width,
      height,
      bitrate,
      fps: '25',
      duration: '6.0',
      encrypt: 0,
      specification: `H264.${definition}`,
      creationTime: created,
      streamType: 'video',
    });
    const hlsFile = path.join(clip, '270p', 'index.m3u8');
    const hlsSize = ['seg0.ts', 'seg1.ts', 'seg2.ts'].reduce((n, s) => n + statSync(path.join(clip, '270p', s)).size, 0);
    /** The encrypted SD HLS rendition of the clip, as one sample video's stream (standard or Aliyun private encryption). */
    const hls = (vid: string, encryptType: 'HLSEncryption' | 'AliyunVoDEncryption'): PlayStream => ({
      jobId: createHash('md5').update(`${vid}:SD:m3u8`).digest('hex'),
      definition: 'SD',
      format: 'm3u8',
      file: hlsFile,
      size: hlsSize,
      width: 480,
      height: 270,
      bitrate: '345.6',
      fps: '25',
      duration: '6.0',
      encrypt: 1,
      encryptType,
      specification: 'H264.SD',
      creationTime: created,
      streamType: 'video',
    });
    this.samples.set(SAMPLE_VIDEO_IDS.clip, {
      VideoId: SAMPLE_VIDEO_IDS.clip,
      Title: '示例短片（6 秒）',
      Status: 'Normal',
      Duration: '6.0',
      CreationTime: created,
      sample: true,
      streams: [
        mp4('LD', '180p.mp4', 320, 180, '168.5'),
        mp4('SD', '270p.mp4', 480, 270, '307.2'),
        hls(SAMPLE_VIDEO_IDS.clip, 'HLSEncryption'),
      ],
    });
    this.samples.set(SAMPLE_VIDEO_IDS.transcoding, {
      VideoId: SAMPLE_VIDEO_IDS.transcoding,
      Title: '转码中的示例',
      Status: 'Transcoding',
      Duration: '6.0',
      CreationTime: created,
      sample: true,
      streams: [],
    });
    this.samples.set(SAMPLE_VIDEO_IDS.privateOnly, {
      VideoId: SAMPLE_VIDEO_IDS.privateOnly,
      Title: '仅阿里云私有加密的示例',
      Status: 'Normal',
      Duration: '6.0',
      CreationTime: created,
      sample: true,
      streams: [
        hls(SAMPLE_VIDEO_IDS.privateOnly, 'AliyunVoDEncryption'),
      ],
    });
  }

  /** A bench / test sample: any local file as an MP4 track of a new public video (admin API). */
  addSample(title: string, files: Array<{ definition: string; file: string; width?: number; height?: number }>, status = 'Normal'): PlayVideo {
    const vid = randomBytes(16).toString('hex');
    const now = isoSeconds(Date.now());
    const v: PlayVideo = {
      VideoId: vid,
      Title: title,
      Status: status,
      Duration: '60.0',
      CreationTime: now,
      sample: true,
      streams: files.map((f) => ({
        jobId: createHash('md5').update(`${vid}:${f.definition}:mp4`).digest('hex'),
        definition: f.definition,
        format: 'mp4' as const,
        file: path.resolve(f.file),
        size: statSync(f.file).size,
        width: f.width || 1280,
        height: f.height || 720,
        bitrate: '2000.0',
        fps: '25',
        duration: '60.0',
        encrypt: 0 as const,
        specification: `H264.${f.definition}`,
        creationTime: now,
        streamType: 'video' as const,
      })),
    };
    this.samples.set(vid, v);
    return v;
  }

  /** The stream a CDN path `/{vid}/{jobId}.{ext}` (or a segment beside an m3u8) names. */
  streamFor(vid: string, jobId: string): PlayStream | undefined {
    const v = this.samples.get(vid);
    const list = v ? v.streams : ownGet(this.uploads, vid) || [];
    return list.find((s) => s.jobId === jobId);
  }

  /** Strong ETag of a file: md5 of its bytes (cached by path+size+mtime) plus the changeEtag generation. */
  private etags = new Map<string, string>();
  etagOf(file: string): Promise<string> {
    const st = statSync(file);
    const k = `${file}\n${st.size}\n${st.mtimeMs}`;
    const gen = this.etagGen.get(file) || 0;
    const hit = this.etags.get(k);
    const finish = (md5: string) => `"${md5.toUpperCase()}${gen ? `-${gen}` : ''}"`;
    if (hit) return Promise.resolve(finish(hit));
    return new Promise((resolve, reject) => {
      const h = createHash('md5');
      createReadStream(file)
        .on('data', (c) => h.update(c))
        .on('error', reject)
        .on('end', () => {
          const d = h.digest('hex');
          this.etags.set(k, d);
          resolve(finish(d));
        });
    });
  }

  /** Type-A signing: auth_key={timestamp}-{rand}-{uid}-md5("{uri}-{timestamp}-{rand}-{uid}-{key}"); timestamp = expiry. */
  sign(uri: string, expiresAtSec: number, rand: string, uid = '0'): string {
    const md5 = createHash('md5').update(`${uri}-${expiresAtSec}-${rand}-${uid}-${this.cdnKey}`).digest('hex');
    return `${expiresAtSec}-${rand}-${uid}-${md5}`;
  }

  /** Checks an auth_key for a URI: 'ok' or why not. */
  verify(uri: string, authKey: string | undefined, nowSec: number): 'ok' | 'missing' | 'malformed' | 'expired' | 'mismatch' | 'revoked' {
    if (!authKey) return 'missing';
    const m = /^(\d{1,12})-([0-9a-zA-Z]{1,64})-([0-9a-zA-Z]{1,64})-([0-9a-f]{32})$/.exec(authKey);
    if (!m) return 'malformed';
    const expected = this.sign(uri, Number(m[1]), m[2], m[3]).split('-')[3];
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(m[4]))) return 'mismatch';
    if (Number(m[1]) < nowSec) return 'expired';
    if (this.revoked.has(m[2])) return 'revoked';
    return 'ok';
  }

  revokeAll(vid?: string): number {
    let n = 0;
    for (const i of this.issued) {
      if (vid && i.vid !== vid) continue;
      if (!this.revoked.has(i.rand)) {
        this.revoked.add(i.rand);
        n++;
      }
    }
    return n;
  }
}

const catalogs = new Map<string, PlayCatalog>();

/** The play catalog for this cloud (keyed by its data dir; the VOD and the CDN provider share it). */
export function getPlayCatalog(ctx: Pick<CloudContext, 'rootDataDir'>): PlayCatalog {
  const key = path.resolve(ctx.rootDataDir);
  let c = catalogs.get(key);
  if (!c) {
    c = new PlayCatalog(path.join(key, 'vod-play'));
    catalogs.set(key, c);
  }
  return c;
}

/** Transcodes (OSS reads) in flight per cloud: aborted when the cloud closes, so no close waits on them. */
const transcodes = new Map<string, Set<AbortController>>();

export function releasePlayCatalog(ctx: Pick<CloudContext, 'rootDataDir'>): void {
  const key = path.resolve(ctx.rootDataDir);
  catalogs.delete(key);
  for (const c of transcodes.get(key) || []) c.abort();
  transcodes.delete(key);
}

/**
 * The HLS token secret shared by the business token service (our AppServer) and its decrypt service (the local CDN's
 * /decrypt stands in for it). Production: HLS_TOKEN_SECRET in both.
 */
export function hlsTokenSecret(env: NodeJS.ProcessEnv = process.env): string {
  return env.HLS_TOKEN_SECRET || createHash('sha256').update(`hls-token:${DEV_CREDENTIALS.aliyun.accessKeySecret}`).digest('hex');
}

/** MtsHlsUriToken = `${expiresAtSec}.${nonce}.${hmac}` (HMAC-SHA256 over "expires.nonce.videoId"). */
export function mintHlsToken(secret: string, videoId: string, expiresAtSec: number): string {
  const nonce = randomBytes(9).toString('base64url');
  const mac = createHmac('sha256', secret).update(`${expiresAtSec}.${nonce}.${videoId}`).digest('base64url');
  return `${expiresAtSec}.${nonce}.${mac}`;
}

export function checkHlsToken(secret: string, token: string | undefined, videoId: string, nowSec: number): 'ok' | 'missing' | 'malformed' | 'expired' | 'mismatch' {
  if (!token) return 'missing';
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{6,32})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return 'malformed';
  const mac = createHmac('sha256', secret).update(`${m[1]}.${m[2]}.${videoId}`).digest('base64url');
  if (mac.length !== m[3].length || !timingSafeEqual(Buffer.from(mac), Buffer.from(m[3]))) return 'mismatch';
  if (Number(m[1]) < nowSec) return 'expired';
  return 'ok';
}

// ---------------------------------------------------------------------------------------------------- RPC actions

/** What play.ts needs from the VOD provider's own library (uploads). */
export interface UploadLibrary {
  videos: Record<string, { VideoId: string; Title: string; Status: string; CoverURL?: string; CreationTime: string; bucket: string; key: string; Size?: number; FileName: string }>;
}

interface AuthInfo {
  MediaId: string;
  ExpireTime: string;
  Caller: string;
  CI: string;
  PlayDomain: string;
  Signature: string;
}

const PLAY_SESSION = 'vod-playauth';

function authInfoSignature(secret: string, a: Omit<AuthInfo, 'Signature'>): string {
  return createHmac('sha1', secret).update(`${a.MediaId}|${a.ExpireTime}|${a.Caller}|${a.CI}|${a.PlayDomain}`).digest('base64');
}

/**
 * Adds GetPlayInfo / GetVideoPlayAuth (and sample-aware GetVideoInfo) to the VOD's actions, and keeps PlayAuth
 * credentials (object-scoped on a bucket that does not exist, so OSS refuses them everything) away from every other
 * action. The VOD mounts its RPC service with rejectObjectScoped:false; upload credentials are refused here instead,
 * exactly as before.
 */
export function withPlayActions(ctx: CloudContext, lib: UploadLibrary, base: Record<string, RpcAction>): Record<string, RpcAction> {
  const catalog = getPlayCatalog(ctx);
  const shared = getAliyunShared(ctx);
  const authSecret = createHash('sha256').update(`authinfo:${shared.account.accessKeySecret}`).digest('hex');
  const playDomain = () => (ctx.urls.cdn || '').replace(/^https?:\/\//, '');
  const isPlayAuthCaller = (c: RpcCaller) => !!c.temp && c.temp.roleSessionName === PLAY_SESSION;
  const guard = (name: string, fn: RpcAction): RpcAction => (p, caller, rid) => {
    if (caller.temp && caller.temp.scope.kind === 'object') {
      throw new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM.");
    }
    return fn(p, caller, rid);
  };

  const videoOf = (vid: string): PlayVideo | undefined => {
    const s = catalog.samples.get(vid);
    if (s) return s;
    const v = ownGet(lib.videos, vid);
    if (!v) return undefined;
    // The upload side's record keeps its own status (UploadSucc); for playback an upload is Normal once its OD
    // stream exists, Transcoding while it is being made.
    const ready = !!ownGet(catalog.uploads, vid);
    const status = v.Status === 'UploadSucc' || v.Status === 'Normal' ? (ready ? 'Normal' : 'Transcoding') : v.Status;
    return { VideoId: v.VideoId, Title: v.Title, Status: status, Duration: '0.0', CoverURL: v.CoverURL, CreationTime: v.CreationTime, sample: false, streams: ownGet(catalog.uploads, vid) || [] };
  };

  const list = (p: RpcParams, name: string, allowed: string[]): string[] | undefined => {
    const v = p[name];
    if (v === undefined || v === '') return undefined;
    const items = v.split(',').map((x) => x.trim()).filter(Boolean);
    for (const i of items) if (!allowed.includes(i)) throw new RpcError(400, 'InvalidParameter', `The specified parameter ${name} is not valid: ${JSON.stringify(i)}.`);
    return items;
  };

  const out: Record<string, RpcAction> = {};
  for (const [name, fn] of Object.entries(base)) out[name] = guard(name, fn);

  out.GetVideoInfo = (p, caller, rid) => {
    const s = catalog.samples.get(p.VideoId || '');
    if (!s) return guard('GetVideoInfo', base.GetVideoInfo)(p, caller, rid);
    if (caller.temp && caller.temp.scope.kind === 'object') throw new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM.");
    return {
      Video: {
        VideoId: s.VideoId,
        Title: s.Title,
        Status: s.Status,
        Duration: Number(s.Duration),
        CreationTime: s.CreationTime,
        ModificationTime: s.CreationTime,
        Size: s.streams.reduce((n, x) => Math.max(n, x.size), 0),
        CoverURL: `${ctx.urls.cdn}/cover/clip-6s.jpg`,
        RegionId: LOCAL_REGION,
        DownloadSwitch: 'on',
        Snapshots: { Snapshot: [] },
      },
    };
  };

  out.GetVideoPlayAuth = (p, caller) => {
    if (caller.temp && caller.temp.scope.kind === 'object') throw new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM.");
    const vid = required(p, 'VideoId');
    let timeout = 100;
    if (p.AuthInfoTimeout !== undefined && p.AuthInfoTimeout !== '') {
      timeout = /^\d{1,6}$/.test(p.AuthInfoTimeout) ? Number(p.AuthInfoTimeout) : NaN;
      if (!(timeout >= 100 && timeout <= 3000)) throw new RpcError(400, 'InvalidParameter', 'The specified parameter AuthInfoTimeout is not valid (100-3000 seconds).');
    }
    if (p.ApiVersion !== undefined && p.ApiVersion !== '' && p.ApiVersion !== '1.0.0') throw new RpcError(400, 'InvalidParameter', 'The specified parameter ApiVersion is not valid.');
    const v = videoOf(vid);
    if (!v) throw new RpcError(404, 'InvalidVideo.NotFound', 'The video does not exist.');
    if (v.Status !== 'Normal') throw new RpcError(403, 'Forbidden.IllegalStatus', `Status of the video is illegal. Current Status is ${v.Status}.`);
    const now = ctx.now();
    // the credentials outlive the AuthInfo a little, so an expired AuthInfo is reported as such
    const cred = shared.issueTemporary({ now, durationSeconds: timeout + 300, scope: { kind: 'object', bucket: '__vod-play__', key: vid }, source: 'vod', mediaId: vid, roleSessionName: PLAY_SESSION });
    const info: Omit<AuthInfo, 'Signature'> = { MediaId: vid, ExpireTime: isoSeconds(now + timeout * 1000), Caller: cred.accessKeyId, CI: randomBytes(12).toString('base64'), PlayDomain: playDomain() };
    const authInfo: AuthInfo = { ...info, Signature: authInfoSignature(authSecret, info) };
    const meta = { VideoId: v.VideoId, Title: v.Title, Duration: Number(v.Duration), CoverURL: v.CoverURL || `${ctx.urls.cdn}/cover/clip-6s.jpg`, Status: v.Status };
    const playAuth = Buffer.from(
      JSON.stringify({
        SecurityToken: cred.securityToken,
        AuthInfo: JSON.stringify(authInfo),
        AccessKeyId: cred.accessKeyId,
        AccessKeySecret: cred.accessKeySecret,
        Region: LOCAL_REGION,
        PlayDomain: playDomain(),
        CustomerId: Number(shared.account.accountId),
        VideoMeta: meta,
      }),
      'utf8',
    ).toString('base64');
    return { PlayAuth: playAuth, VideoMeta: meta };
  };

  out.GetPlayInfo = (p, caller) => {
    const vid = required(p, 'VideoId');
    if (caller.temp && caller.temp.scope.kind === 'object' && !isPlayAuthCaller(caller)) {
      throw new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM.");
    }
    if (isPlayAuthCaller(caller)) {
      // PlayAuth callers must present the AuthInfo issued with their credentials, for this VideoId, unexpired.
      let a: AuthInfo | undefined;
      try {
        a = JSON.parse(required(p, 'AuthInfo')) as AuthInfo;
      } catch (e) {
        if (e instanceof RpcError) throw e;
        throw new RpcError(400, 'InvalidParameter', 'The specified parameter AuthInfo is not valid JSON.');
      }
      if (!a || typeof a !== 'object' || typeof a.Signature !== 'string' || authInfoSignature(authSecret, a) !== a.Signature || a.Caller !== caller.accessKeyId) {
        throw new RpcError(403, 'InvalidAuthInfo.Signature', 'The AuthInfo signature is not valid.');
      }
      if (a.MediaId !== vid || caller.temp!.mediaId !== vid) throw new RpcError(403, 'InvalidAuth.MediaId', 'The AuthInfo does not match the VideoId.');
      if (Date.parse(a.ExpireTime) <= ctx.now()) throw new RpcError(403, 'InvalidAuthInfo.ExpireTime', 'The AuthInfo has expired.');
    }
    const formats = list(p, 'Formats', FORMATS);
    const definitions = list(p, 'Definition', DEFINITIONS);
    const streamTypes = list(p, 'StreamType', ['video', 'audio']);
    const resultType = p.ResultType || 'Single';
    if (resultType !== 'Single' && resultType !== 'Multiple') throw new RpcError(400, 'InvalidParameter', 'The specified parameter ResultType is not valid (Single or Multiple).');
    const outputType = p.OutputType || 'cdn';
    if (outputType !== 'cdn' && outputType !== 'oss') throw new RpcError(400, 'InvalidParameter', 'The specified parameter OutputType is not valid (oss or cdn).');
    let authTimeout = 1800;
    if (p.AuthTimeout !== undefined && p.AuthTimeout !== '') {
      authTimeout = /^\d{1,8}$/.test(p.AuthTimeout) ? Number(p.AuthTimeout) : NaN;
      if (!(authTimeout >= 1 && (outputType === 'cdn' || authTimeout <= 2592000))) throw new RpcError(400, 'InvalidParameter', 'The specified parameter AuthTimeout is not valid.');
    }
    let playConfig: Record<string, unknown> = {};
    if (p.PlayConfig !== undefined && p.PlayConfig !== '') {
      try {
        const pc = JSON.parse(p.PlayConfig);
        if (!pc || typeof pc !== 'object' || Array.isArray(pc)) throw new Error('not an object');
        playConfig = pc;
      } catch {
        throw new RpcError(400, 'InvalidParameter', 'The specified parameter PlayConfig is not a JSON object string.');
      }
    }
    const encryptFilter = playConfig.EncryptType === undefined ? undefined : String(playConfig.EncryptType);
    if (encryptFilter !== undefined && !['Unencrypted', 'AliyunVoDEncryption', 'HLSEncryption'].includes(encryptFilter)) {
      throw new RpcError(400, 'InvalidParameter', 'The specified parameter PlayConfig.EncryptType is not valid.');
    }
    const hlsToken = playConfig.MtsHlsUriToken === undefined ? undefined : String(playConfig.MtsHlsUriToken);
    const v = videoOf(vid);
    if (!v) throw new RpcError(404, 'InvalidVideo.NotFound', 'The video does not exist.');
    if (v.Status !== 'Normal') throw new RpcError(403, 'Forbidden.IllegalStatus', `Status of the video is illegal. Current Status is ${v.Status}.`);
    const noneStream = () =>
      new RpcError(
        404,
        'InvalidVideo.NoneStream',
        `The video has no stream to play for the request parameter 'Formats : ${formats ? formats.join(', ') : 'all'}, Definition : ${definitions ? definitions.join(', ') : 'all'}, StreamType : ${streamTypes ? streamTypes.join(', ') : 'all'}'.`,
      );
    if (!v.streams.length) throw noneStream();
    if (resultType === 'Single' && v.streams.every((s) => s.encryptType === 'AliyunVoDEncryption')) {
      throw new RpcError(403, 'Forbidden.AliyunVoDEncryption', 'Currently only the AliyunVoDEncryption stream exists, you must use the Aliyun player to play or set the value of ResultType to Multiple.');
    }
    let streams = v.streams.filter(
      (s) =>
        (!formats || formats.includes(s.format)) &&
        (!definitions || definitions.includes(s.definition) || definitions.includes('AUTO')) &&
        (!streamTypes || streamTypes.includes(s.streamType)) &&
        (encryptFilter === undefined || (encryptFilter === 'Unencrypted' ? !s.encrypt : s.encryptType === encryptFilter)),
    );
    if (resultType === 'Single') streams = streams.filter((s) => s.encryptType !== 'AliyunVoDEncryption');
    if (outputType === 'oss') streams = streams.filter((s) => s.format === 'mp4');
    if (!streams.length) throw noneStream();
    const nowSec = Math.floor(ctx.now() / 1000);
    const expires = nowSec + authTimeout;
    const rand = randomBytes(8).toString('hex');
    catalog.issued.push({ vid, rand });
    if (catalog.issued.length > 10000) catalog.issued.splice(0, catalog.issued.length - 10000);
    const playInfo = streams.map((s) => {
      const ext = s.format;
      const uri = `/${vid}/${s.jobId}-${s.specification.split('.').pop()!.toLowerCase()}${s.encrypt ? '-encrypt-stream' : ''}.${ext}`;
      let url = `${ctx.urls.cdn}${uri}?auth_key=${catalog.sign(uri, expires, rand)}`;
      if (ext === 'm3u8' && hlsToken !== undefined) url += `&MtsHlsUriToken=${encodeURIComponent(hlsToken)}`;
      const info: Record<string, unknown> = {
        Bitrate: s.bitrate,
        CreationTime: s.creationTime,
        Definition: s.definition,
        Duration: s.duration,
        Encrypt: s.encrypt,
        Format: s.format,
        Fps: s.fps,
        Height: s.height,
        JobId: s.jobId,
        ModificationTime: s.creationTime,
        NarrowBandType: '0',
        PlayURL: url,
        PreprocessStatus: 'UnPreprocess',
        Size: s.size,
        Specification: s.specification,
        Status: 'Normal',
        StreamType: s.streamType,
        Width: s.width,
      };
      if (s.encryptType) info.EncryptType = s.encryptType;
      if (s.encryptType === 'AliyunVoDEncryption') {
        info.Rand = randomBytes(12).toString('base64');
        info.Plaintext = randomBytes(24).toString('base64');
      }
      return info;
    });
    return {
      VideoBase: {
        CoverURL: v.CoverURL || `${ctx.urls.cdn}/cover/clip-6s.jpg`,
        CreationTime: v.CreationTime,
        Duration: v.Duration,
        MediaType: 'video',
        OutputType: outputType,
        Status: v.Status,
        Title: v.Title,
        TranscodeMode: 'FastTranscode',
        VideoId: v.VideoId,
      },
      PlayInfoList: { PlayInfo: playInfo },
    };
  };
  return out;
}

/**
 * "Transcoding" of an upload: fetch the completed object from the local OSS (its loopback admin read), keep it as
 * the OD MP4 stream (GetPlayInfo reports the upload Normal from then on). Runs when the VOD sees UploadSucc.
 */
export async function transcodeUpload(ctx: CloudContext, lib: UploadLibrary, vid: string, _save?: () => void): Promise<void> {
  const catalog = getPlayCatalog(ctx);
  const v = ownGet(lib.videos, vid);
  if (!v) return;
  const ext = (/\.([a-z0-9]+)$/i.exec(v.FileName)?.[1] || 'mp4').toLowerCase();
  const key = path.resolve(ctx.rootDataDir);
  const ctl = new AbortController();
  if (!transcodes.has(key)) transcodes.set(key, new Set());
  transcodes.get(key)!.add(ctl);
  try {
    const dir = path.join(catalog.dataDir, 'streams');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${vid}-od.${ext === 'mp3' ? 'mp3' : 'mp4'}`);
    const res = await fetch(`${ctx.urls.oss}/_admin/object?bucket=${encodeURIComponent(v.bucket)}&key=${encodeURIComponent(v.key)}`, { signal: ctl.signal });
    if (!res.ok || !res.body) throw new Error(`read ${v.key}: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file), { signal: ctl.signal });
    const size = statSync(file).size;
    catalog.uploads[vid] = [
      {
        jobId: createHash('md5').update(`${vid}:OD:mp4`).digest('hex'),
        definition: 'OD',
        format: ext === 'mp3' ? 'mp3' : 'mp4',
        file,
        size,
        width: 0,
        height: 0,
        bitrate: '0',
        fps: '0',
        duration: '0.0',
        encrypt: 0,
        specification: 'Original',
        creationTime: isoSeconds(ctx.now()),
        streamType: ext === 'mp3' ? 'audio' : 'video',
      },
    ];
    catalog.save();
    ctx.log(`video ${vid} playable (OD ${size} bytes)`);
  } catch (e) {
    if (!ctl.signal.aborted) ctx.log(`video ${vid} transcode failed: ${(e as Error).message}`);
  } finally {
    transcodes.get(key)?.delete(ctl);
  }
}
