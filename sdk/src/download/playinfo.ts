/**
 * Where play info comes from: VOD GetPlayInfo (2017-03-21), signed on the phone (VidSts, VidAuth) with the same RPC
 * signer as the upload SDK, or asked of the AppServer (the recommended `{vid, appClient}` source: no credential on
 * the phone). All three give the same typed response and the same tracks.
 */
import type { AppClient } from '../app-client';
import { MediaKitError, PlatformErrorCode } from '../errors';
import type { AbortSignalLike } from '../platform/abort';
import type { PlatformAdapter } from '../platform/types';
import { signRpcRequest } from '../aliyun/rpc-signature';
import { base64ToUtf8 } from '../util/bytes';
import { DownloaderError, serverCodeName } from './errors';

interface SourceOptions {
  /** GetPlayInfo Formats (comma list), e.g. 'mp4,m3u8'. */
  formats?: string;
  /** GetPlayInfo Definition (comma list), e.g. 'LD,SD'. */
  definitions?: string;
  /** GetPlayInfo PlayConfig (JSON string or object), e.g. {MtsHlsUriToken}. */
  playConfig?: string | Record<string, unknown>;
  /** PlayURL validity in seconds (GetPlayInfo AuthTimeout; native default 3600). */
  authTimeout?: number;
  resultType?: 'Single' | 'Multiple';
  outputType?: 'oss' | 'cdn';
  streamType?: string;
  /** The VOD API base URL (default https://vod.{region}.aliyuncs.com); the local cloud's URL in development. */
  endpoint?: string;
}

/** STS source (AVPVidStsSource / VidSts): the SDK signs GetPlayInfo with these temporary credentials. */
export interface VidSts extends SourceOptions {
  vid: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
}

/** PlayAuth source (AVPVidAuthSource / VidAuth): the PlayAuth from GetVideoPlayAuth. */
export interface VidAuth extends SourceOptions {
  vid: string;
  playAuth: string;
  region?: string;
}

/** The recommended source: the AppServer calls GetPlayInfo (POST /api/vod/play-info) for the logged-in user. */
export interface VidAppServer {
  vid: string;
  appClient: AppClient;
  formats?: string;
  definition?: string;
}

export type DownloadSource = VidSts | VidAuth | VidAppServer;

export function sourceKind(s: DownloadSource): 'sts' | 'auth' | 'app' {
  if ((s as VidAppServer).appClient) return 'app';
  if ((s as VidAuth).playAuth !== undefined) return 'auth';
  return 'sts';
}

export interface PlayInfoItem {
  Bitrate?: string | number;
  Definition: string;
  Duration?: string | number;
  Encrypt?: number | string;
  EncryptType?: string;
  Format: string;
  Fps?: string | number;
  Height?: number | string;
  Width?: number | string;
  JobId?: string;
  PlayURL: string;
  Size?: number | string;
  Status?: string;
  StreamType?: string;
  Specification?: string;
}

export interface GetPlayInfoResponse {
  RequestId?: string;
  VideoBase: { VideoId: string; Title?: string; CoverURL?: string; Duration?: string | number; Status?: string; MediaType?: string };
  PlayInfoList: { PlayInfo: PlayInfoItem[] };
}

export interface TrackInfo {
  /** Stable position after sorting (definition FD<LD<SD<HD<OD<2K<4K…, then mp4<m3u8<mp3); pass it to selectTrack. */
  trackIndex: number;
  /** Android's name for trackIndex. */
  index: number;
  vodDefinition: string;
  vodFormat: string;
  /** Bytes (for m3u8: the sum of the segments as VOD reports it). */
  vodFileSize: number;
  vodPlayUrl: string;
  /** kbit/s. */
  bitrate: number;
  width: number;
  height: number;
  encrypt: boolean;
  encryptType?: string;
  jobId?: string;
  streamType?: string;
  supported: boolean;
  unsupportedReason?: string;
}

export interface MediaInfo {
  vid: string;
  title: string;
  coverUrl: string;
  /** Seconds. */
  duration: number;
  status?: string;
  tracks: TrackInfo[];
}

const DEF_ORDER = ['FD', 'LD', 'SD', 'HD', 'OD', '2K', '4K', 'SQ', 'HQ', 'AUTO'];
const FMT_ORDER = ['mp4', 'm3u8', 'mp3', 'mpd', 'flv'];

const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : parseFloat(String(v === undefined ? '' : v));
  return isFinite(n) ? n : 0;
};

/** Whether this SDK can download a stream, and why not. */
export function supportOf(p: PlayInfoItem, hlsSupported: boolean): { supported: boolean; reason?: string } {
  if (p.EncryptType === 'AliyunVoDEncryption') return { supported: false, reason: 'Aliyun private encryption (AliyunVoDEncryption) plays only in Aliyun native players; it cannot be downloaded in a mini-program.' };
  const f = String(p.Format).toLowerCase();
  if (f === 'mp4' || f === 'mp3') return { supported: true };
  if (f === 'm3u8') return hlsSupported ? { supported: true } : { supported: false, reason: 'HLS (m3u8) download is not available in this build.' };
  return { supported: false, reason: `The ${f} format cannot be downloaded (mp4, mp3 and m3u8 can).` };
}

export function buildMediaInfo(r: GetPlayInfoResponse, hlsSupported: boolean): MediaInfo {
  const list = (r.PlayInfoList && Array.isArray(r.PlayInfoList.PlayInfo) ? r.PlayInfoList.PlayInfo : []).slice();
  const rank = (arr: string[], v: string) => {
    const i = arr.indexOf(v);
    return i < 0 ? arr.length : i;
  };
  list.sort((a, b) => rank(DEF_ORDER, a.Definition) - rank(DEF_ORDER, b.Definition) || rank(FMT_ORDER, String(a.Format).toLowerCase()) - rank(FMT_ORDER, String(b.Format).toLowerCase()));
  const tracks = list.map((p, i) => {
    const s = supportOf(p, hlsSupported);
    const t: TrackInfo = {
      trackIndex: i,
      index: i,
      vodDefinition: p.Definition,
      vodFormat: String(p.Format).toLowerCase(),
      vodFileSize: num(p.Size),
      vodPlayUrl: p.PlayURL,
      bitrate: num(p.Bitrate),
      width: num(p.Width),
      height: num(p.Height),
      encrypt: num(p.Encrypt) === 1,
      encryptType: p.EncryptType || undefined,
      jobId: p.JobId,
      streamType: p.StreamType,
      supported: s.supported,
    };
    if (s.reason) t.unsupportedReason = s.reason;
    return t;
  });
  const vb = r.VideoBase || ({} as GetPlayInfoResponse['VideoBase']);
  return { vid: vb.VideoId, title: vb.Title || '', coverUrl: vb.CoverURL || '', duration: num(vb.Duration), status: vb.Status, tracks };
}

interface DecodedPlayAuth {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  AuthInfo: string;
  Region?: string;
}

/** The marker of the obfuscated PlayAuth form, at index floor(year / 100) (= 20 this century). */
const PLAYAUTH_MARK = '493vpa';
const PLAYAUTH_MARK_AT = 20;

/**
 * The obfuscated PlayAuth form (what some GetVideoPlayAuth answers carry; the players undo it): the marker
 * "493vpa" inserted at index 20, an optional "ZZ" suffix, and every character shifted by +1 except those whose code
 * is 40–59 (digits, '+', '/' stay). Base64 text has no character that the shift moves into 40–59, so the reverse is
 * exact. Returns the plain base64 form; a plain PlayAuth comes back unchanged.
 */
export function unobfuscatePlayAuth(playAuth: string): string {
  const s = String(playAuth || '').trim();
  if (s.length <= PLAYAUTH_MARK_AT + PLAYAUTH_MARK.length || s.substr(PLAYAUTH_MARK_AT, PLAYAUTH_MARK.length) !== PLAYAUTH_MARK) return s;
  let body = s.slice(0, PLAYAUTH_MARK_AT) + s.slice(PLAYAUTH_MARK_AT + PLAYAUTH_MARK.length);
  if (body.slice(-2) === 'ZZ') body = body.slice(0, -2);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    out += String.fromCharCode(Math.floor(c / 20) === 2 ? c : c - 1);
  }
  return out;
}

/** PlayAuth (plain form: base64 of JSON; or the obfuscated form of it) → temporary credentials + AuthInfo. */
export function decodePlayAuth(playAuth: string): DecodedPlayAuth {
  let o: Partial<DecodedPlayAuth> | undefined;
  try {
    o = JSON.parse(base64ToUtf8(unobfuscatePlayAuth(playAuth))) as Partial<DecodedPlayAuth>;
  } catch (_) {
    o = undefined;
  }
  if (!o || typeof o !== 'object' || !o.AccessKeyId || !o.AccessKeySecret || !o.SecurityToken || !o.AuthInfo) {
    throw new DownloaderError('DOWNLOAD_ERROR_AUTH_SOURCE_WRONG', 'The PlayAuth is malformed (expected base64 JSON with AccessKeyId, AccessKeySecret, SecurityToken and AuthInfo).');
  }
  return o as DecodedPlayAuth;
}

function playConfigString(pc: SourceOptions['playConfig']): string | undefined {
  if (pc === undefined || pc === null) return undefined;
  return typeof pc === 'string' ? pc : JSON.stringify(pc);
}

export interface FetchContext {
  adapter: PlatformAdapter;
  now(): number;
  timeout?: number;
  signal?: AbortSignalLike;
}

/** GetPlayInfo for any source; rejects with DownloaderError (native codes). */
export async function fetchPlayInfo(ctx: FetchContext, source: DownloadSource): Promise<GetPlayInfoResponse> {
  const kind = sourceKind(source);
  if (!source || !source.vid) throw new DownloaderError(kind === 'auth' ? 'DOWNLOAD_ERROR_AUTH_SOURCE_NULL' : 'DOWNLOAD_ERROR_STS_SOURCE_NULL', 'The source has no vid.');
  let body: unknown;
  if (kind === 'app') {
    const s = source as VidAppServer;
    try {
      body = await s.appClient.call('POST', '/api/vod/play-info', { videoId: s.vid, formats: s.formats, definition: s.definition });
    } catch (e) {
      const err = e as MediaKitError;
      if (err.code === PlatformErrorCode.Aborted) throw err;
      if (err instanceof MediaKitError && (err.code === PlatformErrorCode.Network || err.code === PlatformErrorCode.Timeout || err.code === PlatformErrorCode.Interrupted || err.code === PlatformErrorCode.DomainNotAllowed)) {
        throw new DownloaderError('ERROR_SERVER_NO_RESPONSE', `AppServer play-info: ${err.message}`, { videoId: s.vid, cause: err, extra: err.code });
      }
      const status = err.details && (err.details.statusCode as number | undefined);
      throw new DownloaderError(serverCodeName(err.code, status), `AppServer play-info: ${err.message}`, { videoId: s.vid, extra: err.code, cause: err });
    }
  } else {
    let creds: { accessKeyId: string; accessKeySecret: string; securityToken: string };
    let region: string;
    const extra: Record<string, string | number | undefined> = {};
    const s = source as VidSts & VidAuth;
    if (kind === 'auth') {
      const pa = decodePlayAuth(s.playAuth);
      creds = { accessKeyId: pa.AccessKeyId, accessKeySecret: pa.AccessKeySecret, securityToken: pa.SecurityToken };
      region = s.region || pa.Region || 'cn-shanghai';
      extra.AuthInfo = pa.AuthInfo;
    } else {
      if (!s.accessKeyId || !s.accessKeySecret || !s.securityToken) throw new DownloaderError('DOWNLOAD_ERROR_STS_SOURCE_NULL', 'VidSts needs accessKeyId, accessKeySecret and securityToken.', { videoId: s.vid });
      creds = { accessKeyId: s.accessKeyId, accessKeySecret: s.accessKeySecret, securityToken: s.securityToken };
      region = s.region || 'cn-shanghai';
    }
    const endpoint = (s.endpoint || `https://vod.${region}.aliyuncs.com`).replace(/\/+$/, '');
    const { query } = signRpcRequest({
      accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.accessKeySecret,
      securityToken: creds.securityToken,
      params: {
        Action: 'GetPlayInfo',
        Version: '2017-03-21',
        VideoId: s.vid,
        Formats: s.formats,
        Definition: s.definitions,
        AuthTimeout: s.authTimeout === undefined ? 3600 : s.authTimeout,
        ResultType: s.resultType,
        OutputType: s.outputType,
        StreamType: s.streamType,
        PlayConfig: playConfigString(s.playConfig),
        ...extra,
      },
      timestampMs: ctx.now(),
    });
    let res;
    try {
      res = await ctx.adapter.request<unknown>({ url: `${endpoint}/?${query}`, method: 'GET', dataType: 'json', timeout: ctx.timeout, signal: ctx.signal });
    } catch (e) {
      const err = e as MediaKitError;
      if (err.code === PlatformErrorCode.Aborted) throw err;
      throw new DownloaderError('ERROR_SERVER_NO_RESPONSE', `GetPlayInfo: ${err.message}`, { videoId: s.vid, extra: err.code, cause: err });
    }
    let b = res.data as unknown;
    if (typeof b === 'string') {
      try {
        b = JSON.parse(b);
      } catch (_) {
        throw new DownloaderError('ERROR_SERVER_WRONG_JSON', `GetPlayInfo: HTTP ${res.statusCode}, the body is not JSON.`, { videoId: s.vid });
      }
    }
    const o = (b && typeof b === 'object' ? b : {}) as { Code?: string; Message?: string; RequestId?: string };
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new DownloaderError(serverCodeName(o.Code, res.statusCode), `GetPlayInfo: ${o.Code || `HTTP ${res.statusCode}`}: ${o.Message || ''}`.trim(), { videoId: s.vid, requestId: o.RequestId, extra: o.Code });
    }
    body = b;
  }
  const r = body as GetPlayInfoResponse;
  if (!r || typeof r !== 'object' || !r.PlayInfoList || !Array.isArray(r.PlayInfoList.PlayInfo) || !r.VideoBase) {
    throw new DownloaderError('ERROR_SERVER_WRONG_JSON', 'GetPlayInfo: the response has no VideoBase / PlayInfoList.PlayInfo.', { videoId: source.vid });
  }
  if (!r.PlayInfoList.PlayInfo.length) throw new DownloaderError('ERROR_NO_PLAY_INFO', 'GetPlayInfo returned no stream.', { videoId: source.vid, requestId: r.RequestId });
  return r;
}
