/**
 * The AppServer's Polyv client: video info (main account get-video-msg / sub-account v3 get-video-info) and play
 * tokens (v1/token / create-child), with Polyv's error envelopes mapped onto clear API errors.
 */
import { HttpError } from '../../http';
import type { PolyvConfig } from './config';
import { polyvSignedForm } from './sign';
import { ownGet } from '../../safe-input';

export interface PolyvDefinitionInfo {
  label: string;
  url: string;
}

export interface PolyvVideoInfo {
  videoId: string;
  title: string;
  cover: string;
  /** seconds */
  duration: number;
  definitions: PolyvDefinitionInfo[];
  /** Polyv status code: 60/61 published. */
  status: number;
}

export interface PolyvTokenInfo {
  token: string;
  /** ms since the epoch (Polyv's clock) */
  expiredTime: number;
  /** ms */
  ttl: number;
  createdTime: number;
}

/** API error codes of /api/polyv/* (also listed in docs/polyv.md). */
export const PolyvApiErrorCode = {
  InvalidVideoId: 'InvalidVideoId',
  VideoNotFound: 'PolyvVideoNotFound',
  VideoNotReady: 'PolyvVideoNotReady',
  NoHls: 'PolyvNoHls',
  AuthFailed: 'PolyvAuthFailed',
  ClockSkew: 'PolyvClockSkew',
  Forbidden: 'PolyvForbidden',
  RateLimited: 'PolyvRateLimited',
  Unavailable: 'PolyvUnavailable',
  BadResponse: 'PolyvBadResponse',
  Error: 'PolyvError',
  NotConfigured: 'PolyvNotConfigured',
} as const;

const DEFINITION_LABELS: Record<string, string> = { '1': '流畅', '2': '高清', '3': '超清', LD: '流畅', SD: '流畅', HD: '高清', FHD: '超清' };

interface PolyvEnvelope {
  code?: number | string;
  status?: string;
  message?: string;
  error?: { code?: number | string; desc?: string } | string | null;
  data?: unknown;
  requestId?: string;
}

/** The human text of a Polyv failure: `message`, else sub-account `error.desc`, else a string `data`. */
export function polyvErrorText(body: PolyvEnvelope): string {
  const parts: string[] = [];
  if (body.message) parts.push(String(body.message));
  if (body.error && typeof body.error === 'object' && body.error.desc) parts.push(String(body.error.desc));
  if (typeof body.data === 'string' && body.data) parts.push(body.data);
  return parts.join(': ') || 'no message';
}

/** Maps a Polyv error envelope onto an HttpError with a stable code. */
export function mapPolyvError(api: string, httpStatus: number, body: PolyvEnvelope): HttpError {
  const text = polyvErrorText(body);
  const t = text.toLowerCase();
  const subCode = body.error && typeof body.error === 'object' ? body.error.code : undefined;
  const details = { api, httpStatus, polyvCode: body.code, polyvStatus: body.status, polyvMessage: text, polyvErrorCode: subCode, requestId: body.requestId };
  const say = (m: string) => `${m} (Polyv ${api}: code ${body.code ?? httpStatus}, ${text})`;
  if (/sign/.test(t) && /(invalid|not right|not_found|not found|empty)/.test(t)) {
    return new HttpError(502, PolyvApiErrorCode.AuthFailed, say('Polyv rejected the signature: check the Polyv secret configured on the AppServer.'), details);
  }
  // Before the account rule: "user children expired" (sub-account code 103) is a 403, not an unknown account.
  if (/forbidden|permission limited|children expired/.test(t)) {
    return new HttpError(403, PolyvApiErrorCode.Forbidden, say('Polyv refused access to this video.'), details);
  }
  if (/user_not_found|app_not_found|could not find user|application not exist|user children|secretkey not found/.test(t)) {
    return new HttpError(502, PolyvApiErrorCode.AuthFailed, say('Polyv does not know the configured account: check POLYV_APP_ID / POLYV_USER_ID.'), details);
  }
  if (/\bts\b|ts_|ptime|timestamp/.test(t)) {
    return new HttpError(502, PolyvApiErrorCode.ClockSkew, say("Polyv rejected the request time: the AppServer's clock is off (run NTP)."), details);
  }
  if (/video_not_found|cannot find the video|video not found|vid is blank/.test(t)) {
    return new HttpError(404, PolyvApiErrorCode.VideoNotFound, say('No such Polyv video for this account.'), details);
  }
  if (/qps|exceeds|rate/.test(t) || httpStatus === 429) {
    return new HttpError(429, PolyvApiErrorCode.RateLimited, say('Polyv rate limit reached: try again later.'), details);
  }
  return new HttpError(502, PolyvApiErrorCode.Error, say('Polyv returned an error.'), details);
}

function parseDuration(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const m = /^(\d+):(\d{1,2}):(\d{1,2})$/.exec(v.trim());
    if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return 0;
}

export class PolyvClient {
  constructor(private readonly config: PolyvConfig, private readonly now: () => number, private readonly timeoutMs = 10000) {}

  private async call(api: string, url: string, init: { method: 'GET' | 'POST'; form?: Record<string, string> }): Promise<{ status: number; body: PolyvEnvelope }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: init.method,
        headers: init.form ? { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' } : undefined,
        body: init.form ? new URLSearchParams(init.form).toString() : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      throw new HttpError(502, PolyvApiErrorCode.Unavailable, `Polyv ${api} is unreachable: ${err.cause?.code || err.name}: ${err.message}`, { api });
    }
    const text = await res.text();
    let body: PolyvEnvelope;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(502, PolyvApiErrorCode.BadResponse, `Polyv ${api} answered HTTP ${res.status} without JSON.`, { api, httpStatus: res.status });
    }
    if (!body || typeof body !== 'object') throw new HttpError(502, PolyvApiErrorCode.BadResponse, `Polyv ${api} answered HTTP ${res.status} with unexpected JSON.`, { api });
    return { status: res.status, body };
  }

  private static ok(body: PolyvEnvelope): boolean {
    return Number(body.code) === 200 && (body.status === undefined || body.status === 'success');
  }

  async getVideoInfo(videoId: string): Promise<PolyvVideoInfo> {
    return this.config.account === 'sub' ? this.getVideoInfoSub(videoId) : this.getVideoInfoMain(videoId);
  }

  /** Main account: GET api.polyv.net/v2/video/{userid}/get-video-msg (SHA1 sign). */
  private async getVideoInfoMain(videoId: string): Promise<PolyvVideoInfo> {
    const c = this.config;
    const form = polyvSignedForm({ format: 'json', ptime: this.now(), vid: videoId }, c.secretKey!, 'sha1');
    const url = `${c.apiBase}/v2/video/${encodeURIComponent(c.userId!)}/get-video-msg?${new URLSearchParams(form)}`;
    const { status, body } = await this.call('get-video-msg', url, { method: 'GET' });
    if (!PolyvClient.ok(body)) throw mapPolyvError('get-video-msg', status, body);
    const list = Array.isArray(body.data) ? body.data : body.data ? [body.data] : [];
    const v = list[0] as Record<string, unknown> | undefined;
    if (!v) throw new HttpError(404, PolyvApiErrorCode.VideoNotFound, `No such Polyv video: ${videoId}.`, { api: 'get-video-msg' });
    const definitions: PolyvDefinitionInfo[] = [];
    const hls = Array.isArray(v.hls) ? (v.hls as unknown[]).map(String) : [];
    for (const df of ['1', '2', '3']) {
      const url = v[`hls_${df}`];
      if (typeof url === 'string' && url) definitions.push({ label: DEFINITION_LABELS[df], url });
    }
    if (!definitions.length) hls.forEach((u, i) => u && definitions.push({ label: ownGet(DEFINITION_LABELS, String(i + 1)) || `清晰度${i + 1}`, url: u }));
    return {
      videoId,
      title: String(v.title ?? ''),
      cover: String(v.first_image ?? ''),
      duration: parseDuration(v.duration),
      definitions,
      status: Number(v.status),
    };
  }

  /** Sub-account: GET api.polyv.net/v3/video/get-video-info (MD5 sign, v3 envelope with error.desc). */
  private async getVideoInfoSub(videoId: string): Promise<PolyvVideoInfo> {
    const c = this.config;
    const form = polyvSignedForm({ appId: c.appId, timestamp: this.now(), vids: videoId, filter: 'basicInfo,transcodeInfo' }, c.appSecret!);
    const url = `${c.apiBase}/v3/video/get-video-info?${new URLSearchParams(form)}`;
    const { status, body } = await this.call('get-video-info', url, { method: 'GET' });
    if (!PolyvClient.ok(body)) throw mapPolyvError('get-video-info', status, body);
    const list = Array.isArray(body.data) ? (body.data as Array<Record<string, any>>) : [];
    const v = list.find((x) => x && x.vid === videoId);
    if (!v) throw new HttpError(404, PolyvApiErrorCode.VideoNotFound, `No such Polyv video for this sub-account: ${videoId}.`, { api: 'get-video-info' });
    const basic = (v.basicInfo || {}) as Record<string, unknown>;
    const transcodes = Array.isArray(v.transcodeInfos) ? (v.transcodeInfos as Array<Record<string, unknown>>) : [];
    const definitions = transcodes
      .filter((t) => typeof t.playUrl === 'string' && (/m3u8/i.test(String(t.format || '')) || /\.m3u8(\?|$)/.test(String(t.playUrl))))
      .map((t) => ({ label: ownGet(DEFINITION_LABELS, String(t.definition)) || String(t.definition || '默认'), url: String(t.playUrl) }));
    return {
      videoId,
      title: String(basic.title ?? ''),
      cover: String(basic.coverURL ?? ''),
      duration: parseDuration(basic.duration),
      definitions,
      status: Number(basic.status),
    };
  }

  /** create-child (sub-account) or v1/token (main account), iswxa=1, reusable (disposable=false). */
  async createToken(p: { videoId: string; viewerId: string; viewerIp: string; disposable?: boolean }): Promise<PolyvTokenInfo> {
    const c = this.config;
    const sub = c.account === 'sub';
    const api = sub ? 'create-child' : 'v1/token';
    const form = polyvSignedForm(
      {
        [sub ? 'appId' : 'userId']: sub ? c.appId : c.userId,
        videoId: p.videoId,
        viewerId: p.viewerId,
        viewerIp: p.viewerIp,
        expires: c.expiresSec,
        disposable: p.disposable ? 'true' : 'false',
        iswxa: 1,
        ts: this.now(),
      },
      sub ? c.appSecret! : c.secretKey!,
    );
    const url = `${c.tokenBase}${sub ? '/service/v2/token/create-child' : '/service/v1/token'}`;
    const { status, body } = await this.call(api, url, { method: 'POST', form });
    if (!PolyvClient.ok(body)) throw mapPolyvError(api, status, body);
    const d = (body.data || {}) as Record<string, unknown>;
    if (typeof d.token !== 'string' || !d.token || typeof d.expiredTime !== 'number') {
      throw new HttpError(502, PolyvApiErrorCode.BadResponse, `Polyv ${api} answered without data.token / data.expiredTime.`, { api });
    }
    return { token: d.token, expiredTime: d.expiredTime, ttl: Number(d.ttl) || c.expiresSec * 1000, createdTime: Number(d.createdTime) || this.now() };
  }
}
