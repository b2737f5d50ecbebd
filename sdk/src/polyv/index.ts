/**
 * Polyv encrypted-video playback for the WeChat `<video>` component.
 *
 * The mini-program never sees a Polyv secret and never signs anything: it asks the AppServer
 * (`POST /api/polyv/play {videoId}`) for the play info — title, cover, duration, one m3u8 per definition and a
 * Playsafe token created with `iswxa=1` — and gives `<video>` the m3u8 URL with `token`, `iswxa=1` and `pid`
 * appended. Polyv checks the token when the player fetches the AES key.
 *
 * `PolyvPlayer` keeps that source valid: it refreshes the token before `expiredTime`, on a `<video>` error (once per
 * successful play, so a broken video cannot loop) and before a definition switch, keeping the playback position.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import { getDefaultAdapter } from '../platform';
import type { PlatformAdapter } from '../platform/types';
import type { AppClient } from '../app-client';

/** Error codes of this module (MediaKitError.code). Server-side codes are kept in `details.serverCode`. */
export const PolyvErrorCode = {
  /** load() without a video id. */
  EmptyVid: 'POLYV_EMPTY_VID',
  /** The AppServer refused or failed to give play info / a token (details.serverCode says why, e.g. PolyvVideoNotFound). */
  TokenLoadFailed: 'POLYV_TOKEN_LOAD_FAILED',
  /** The AppServer could not be reached (network, timeout, app in background). Retryable. */
  Network: 'POLYV_NETWORK_ERROR',
  /** The token expired and could not be renewed. */
  Expired: 'POLYV_TOKEN_EXPIRED',
  /** The definition index does not exist, or the video has no definition. */
  NoDefinition: 'POLYV_NO_DEFINITION',
  /** `<video>` kept failing after a fresh token (details.errMsg has the player's message). */
  PlaybackFailed: 'POLYV_PLAYBACK_FAILED',
  /** A method that needs load() first. */
  NotLoaded: 'POLYV_NOT_LOADED',
} as const;

export interface PolyvDefinition {
  label: string;
  url: string;
}

/** What the AppServer's POST /api/polyv/play answers. */
export interface PolyvPlayInfo {
  videoId: string;
  title: string;
  cover: string;
  /** seconds */
  duration: number;
  definitions: PolyvDefinition[];
  token: string;
  /** ms since the epoch */
  expiredTime: number;
  /** Play-session id sent along with the m3u8 (Polyv statistics). */
  pid: string;
}

/** A ready-to-bind `<video>` source. */
export interface PolyvSource {
  /** The tokenised m3u8 URL for `<video src>`. */
  src: string;
  definitionIndex: number;
  label: string;
  /** Seconds to start from (`<video initial-time>`), i.e. the position kept across reloads. */
  initialTime: number;
  token: string;
  expiredTime: number;
  reason: 'load' | 'switch' | 'refresh' | 'recover';
}

export interface PolyvPlayerOptions {
  /** The logged-in AppServer client (anything with AppClient's `call`). */
  appClient: Pick<AppClient, 'call'>;
  /** Clock, timers and app show events (default getDefaultAdapter()). */
  adapter?: PlatformAdapter;
  /** Refresh when less than this is left (ms, default 60000). */
  refreshMarginMs?: number;
  /** Refresh on a timer before expiry and when the app comes back to the foreground (default true). */
  autoRefresh?: boolean;
  /** The AppServer route (default '/api/polyv/play'). */
  playPath?: string;
  /** Token refreshes allowed by recover() between two successful plays (default 1). */
  maxRecoveries?: number;
}

export type PolyvPlayerEvent = 'source' | 'token' | 'error';
type Listener<E extends PolyvPlayerEvent> = E extends 'source'
  ? (s: PolyvSource) => void
  : E extends 'token'
    ? (t: { token: string; expiredTime: number }) => void
    : (e: MediaKitError) => void;

/**
 * `m3u8 + ('?' or '&') + token=…&iswxa=1&pid=…` (the polyv.js pattern). An existing token / iswxa / pid is replaced
 * and a `#fragment` stays at the end.
 */
export function polyvTokenizedUrl(m3u8Url: string, token: string, pid: string): string {
  if (!m3u8Url) throw new MediaKitError(PolyvErrorCode.NoDefinition, 'polyvTokenizedUrl: empty m3u8 URL.');
  if (!token) throw new MediaKitError(PolyvErrorCode.TokenLoadFailed, 'polyvTokenizedUrl: empty token.');
  let url = m3u8Url;
  let hash = '';
  const h = url.indexOf('#');
  if (h >= 0) {
    hash = url.slice(h);
    url = url.slice(0, h);
  }
  const q = url.indexOf('?');
  const base = q >= 0 ? url.slice(0, q) : url;
  const kept = (q >= 0 ? url.slice(q + 1) : '').split('&').filter((p) => p !== '' && !/^(token|iswxa|pid)(=|$)/.test(p));
  kept.push(`token=${encodeURIComponent(token)}`, 'iswxa=1', `pid=${encodeURIComponent(pid)}`);
  return `${base}?${kept.join('&')}${hash}`;
}

const NETWORK_CODES: string[] = [PlatformErrorCode.Network, PlatformErrorCode.Timeout, PlatformErrorCode.Interrupted];

function toPolyvError(e: unknown, videoId: string): MediaKitError {
  if (e instanceof MediaKitError) {
    if (e.code.indexOf('POLYV_') === 0) return e;
    if (NETWORK_CODES.indexOf(e.code) >= 0) {
      return new MediaKitError(PolyvErrorCode.Network, `Cannot reach the AppServer for the play token: ${e.message}`, { videoId, cause: e.code, retryable: true });
    }
    return new MediaKitError(PolyvErrorCode.TokenLoadFailed, e.message, {
      videoId,
      serverCode: e.code,
      statusCode: e.details && e.details.statusCode,
      retryable: e.code === 'PolyvUnavailable' || e.code === 'PolyvRateLimited' || e.code === 'PolyvClockSkew',
    });
  }
  return new MediaKitError(PolyvErrorCode.TokenLoadFailed, `Play info failed: ${(e as Error) && (e as Error).message}`, { videoId });
}

function validPlayInfo(x: unknown): x is PolyvPlayInfo & { serverTime?: number } {
  const o = x as PolyvPlayInfo;
  return (
    !!o &&
    typeof o.token === 'string' &&
    o.token.length > 0 &&
    typeof o.expiredTime === 'number' &&
    Array.isArray(o.definitions) &&
    o.definitions.every((d) => d && typeof d.url === 'string' && typeof d.label === 'string')
  );
}

export class PolyvPlayer {
  private readonly client: Pick<AppClient, 'call'>;
  private readonly adapter: PlatformAdapter;
  private readonly margin: number;
  private readonly autoRefresh: boolean;
  private readonly playPath: string;
  private readonly maxRecoveries: number;
  private readonly listeners: { [K in PolyvPlayerEvent]: Array<Listener<K>> } = { source: [], token: [], error: [] };
  private playInfo: PolyvPlayInfo | undefined;
  private current: PolyvSource | undefined;
  private position = 0;
  private recoveries = 0;
  /** serverTime − local time, when the AppServer tells its time (keeps the countdown right on a phone with a wrong clock). */
  private clockOffset = 0;
  private timer: unknown;
  private inflight: Promise<PolyvPlayInfo> | undefined;
  private generation = 0;
  private destroyed = false;
  private readonly unsubscribeShow: () => void;

  constructor(options: PolyvPlayerOptions) {
    if (!options || !options.appClient || typeof options.appClient.call !== 'function') {
      throw new MediaKitError('INVALID_OPTION', 'PolyvPlayer needs { appClient } (an AppClient logged in to your AppServer).');
    }
    for (const k of ['refreshMarginMs', 'maxRecoveries'] as const) {
      const v = options[k] as unknown;
      if (v !== undefined && !(typeof v === 'number' && isFinite(v) && v >= 0)) {
        throw new MediaKitError('INVALID_OPTION', `PolyvPlayer option ${k} must be a number ≥ 0 (got ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v)}).`, { [k]: v });
      }
    }
    if (options.playPath !== undefined && (typeof options.playPath !== 'string' || !options.playPath.startsWith('/'))) {
      throw new MediaKitError('INVALID_OPTION', `PolyvPlayer option playPath must be an AppServer path such as '/api/polyv/play' (got ${JSON.stringify(options.playPath)}).`);
    }
    this.client = options.appClient;
    this.adapter = options.adapter || getDefaultAdapter();
    this.margin = options.refreshMarginMs !== undefined ? Math.max(0, options.refreshMarginMs) : 60000;
    this.autoRefresh = options.autoRefresh !== false;
    this.playPath = options.playPath || '/api/polyv/play';
    this.maxRecoveries = options.maxRecoveries !== undefined ? options.maxRecoveries : 1;
    this.unsubscribeShow = this.autoRefresh
      ? this.adapter.onAppShow(() => {
          if (this.playInfo && !this.destroyed && this.timeLeftMs() <= this.margin) this.backgroundRefresh();
        })
      : () => undefined;
  }

  /** The last play info (title, cover, duration, definitions, token …). */
  get info(): PolyvPlayInfo | undefined {
    return this.playInfo;
  }

  /** The current `<video>` source. */
  get source(): PolyvSource | undefined {
    return this.current;
  }

  /** Playback position last reported through updatePosition(), in seconds. */
  get currentTime(): number {
    return this.position;
  }

  on<E extends PolyvPlayerEvent>(event: E, fn: Listener<E>): () => void {
    const list = this.listeners[event] as Array<Listener<E>>;
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  private emit<E extends PolyvPlayerEvent>(event: E, arg: Parameters<Listener<E>>[0]): void {
    for (const fn of (this.listeners[event] as Array<(a: unknown) => void>).slice()) {
      try {
        fn(arg);
      } catch (e) {
        this.adapter.warn(`PolyvPlayer ${event} listener threw`, e);
      }
    }
  }

  /** The AppServer's "now" as far as we can tell (local clock + the offset seen at the last play-info call). */
  now(): number {
    return this.adapter.now() + this.clockOffset;
  }

  /** ms until the token expires (negative when expired; 0 before load). */
  timeLeftMs(): number {
    return this.playInfo ? this.playInfo.expiredTime - this.now() : 0;
  }

  isExpired(): boolean {
    return !!this.playInfo && this.timeLeftMs() <= 0;
  }

  /** Feed `<video bindtimeupdate>` here (e.detail.currentTime); progress also resets the recovery budget. */
  updatePosition(currentTime: number): void {
    if (typeof currentTime === 'number' && currentTime >= 0 && isFinite(currentTime)) {
      if (currentTime > this.position) this.recoveries = 0;
      this.position = currentTime;
    }
  }

  /** Call on `<video bindplay>`: the source works, so a later error may be recovered from again. */
  markPlaying(): void {
    this.recoveries = 0;
  }

  private async fetchPlayInfo(videoId: string, fresh: boolean): Promise<PolyvPlayInfo> {
    const sentAt = this.adapter.now();
    let res: unknown;
    try {
      res = await this.client.call<unknown>('POST', this.playPath, fresh ? { videoId, refresh: true } : { videoId });
    } catch (e) {
      throw toPolyvError(e, videoId);
    }
    if (!validPlayInfo(res)) {
      throw new MediaKitError(PolyvErrorCode.TokenLoadFailed, 'The AppServer answered without token / expiredTime / definitions.', { videoId });
    }
    if (typeof res.serverTime === 'number') {
      const receivedAt = this.adapter.now();
      this.clockOffset = res.serverTime - Math.round((sentAt + receivedAt) / 2);
    }
    return { ...res, videoId: res.videoId || videoId };
  }

  private build(info: PolyvPlayInfo, index: number, initialTime: number, reason: PolyvSource['reason']): PolyvSource {
    const def = info.definitions[index];
    if (!def) {
      throw new MediaKitError(PolyvErrorCode.NoDefinition, `No definition #${index} (the video has ${info.definitions.length}).`, { videoId: info.videoId, index });
    }
    return {
      src: polyvTokenizedUrl(def.url, info.token, info.pid),
      definitionIndex: index,
      label: def.label,
      initialTime,
      token: info.token,
      expiredTime: info.expiredTime,
      reason,
    };
  }

  /**
   * Loads a video: play info from the AppServer, then the source for `definitionIndex` (default: the first, i.e. the
   * lowest definition; pass another to start higher).
   */
  async load(videoId: string, opts: { definitionIndex?: number; startTime?: number } = {}): Promise<PolyvSource> {
    this.assertAlive();
    const vid = typeof videoId === 'string' ? videoId.trim() : '';
    if (!vid) throw new MediaKitError(PolyvErrorCode.EmptyVid, 'Enter a Polyv video id (vid).');
    const gen = ++this.generation;
    this.clearTimer();
    const info = await this.fetchPlayInfo(vid, false);
    if (gen !== this.generation || this.destroyed) throw new MediaKitError(PlatformErrorCode.Aborted, 'Superseded by a newer load().', { videoId: vid });
    if (!info.definitions.length) throw new MediaKitError(PolyvErrorCode.NoDefinition, 'The video has no playable definition.', { videoId: vid });
    const index = opts.definitionIndex !== undefined ? Math.min(Math.max(0, opts.definitionIndex), info.definitions.length - 1) : 0;
    this.playInfo = info;
    this.position = opts.startTime && opts.startTime > 0 ? opts.startTime : 0;
    this.recoveries = 0;
    this.current = this.build(info, index, this.position, 'load');
    this.schedule();
    this.emit('source', this.current);
    return this.current;
  }

  /**
   * Gets a token again for the loaded video (the AppServer reuses and extends a live one). Emits 'token' always and
   * 'source' when the src changed (a new token): the page then re-binds src with initial-time = the position.
   */
  async refresh(opts: { fresh?: boolean; reason?: PolyvSource['reason'] } = {}): Promise<PolyvSource> {
    this.assertAlive();
    const loaded = this.playInfo;
    if (!loaded || !this.current) throw new MediaKitError(PolyvErrorCode.NotLoaded, 'Call load(videoId) first.');
    if (!this.inflight) {
      const gen = this.generation;
      this.inflight = this.fetchPlayInfo(loaded.videoId, !!opts.fresh).then(
        (info) => {
          this.inflight = undefined;
          if (gen !== this.generation) throw new MediaKitError(PlatformErrorCode.Aborted, 'Superseded by a newer load().');
          return info;
        },
        (e) => {
          this.inflight = undefined;
          throw e;
        },
      );
    }
    const info = await this.inflight;
    const before = this.current!;
    // Keep the pid of the play session, except in a recovery: the new pid makes the src differ even when Polyv gave
    // the same token back, so `<video>` really reloads. Definitions may have changed (rare): clamp the index.
    this.playInfo = { ...info, pid: opts.reason === 'recover' ? info.pid : loaded.pid };
    const index = Math.min(before.definitionIndex, Math.max(0, info.definitions.length - 1));
    const next = this.build(this.playInfo, index, this.position, opts.reason || 'refresh');
    this.schedule();
    this.emit('token', { token: info.token, expiredTime: info.expiredTime });
    if (next.src !== before.src || opts.reason === 'recover') {
      this.current = next;
      this.emit('source', next);
    } else {
      this.current = { ...before, token: next.token, expiredTime: next.expiredTime };
    }
    return this.current;
  }

  /** Refresh the token when it is about to expire (or has); returns true when a refresh happened. */
  async ensureFresh(): Promise<boolean> {
    if (!this.playInfo) throw new MediaKitError(PolyvErrorCode.NotLoaded, 'Call load(videoId) first.');
    if (this.timeLeftMs() > this.margin) return false;
    await this.refresh();
    return true;
  }

  /**
   * Switches definition, keeping the position (`currentTime` from the page, else the last updatePosition()).
   * Refreshes the token first when it is close to expiry, since the player will fetch the key again.
   */
  async switchDefinition(index: number, currentTime?: number): Promise<PolyvSource> {
    this.assertAlive();
    if (!this.playInfo || !this.current) throw new MediaKitError(PolyvErrorCode.NotLoaded, 'Call load(videoId) first.');
    if (!(index >= 0 && index < this.playInfo.definitions.length) || Math.floor(index) !== index) {
      throw new MediaKitError(PolyvErrorCode.NoDefinition, `No definition #${index} (the video has ${this.playInfo.definitions.length}).`, { index });
    }
    if (currentTime !== undefined) this.updatePosition(currentTime);
    if (this.timeLeftMs() <= this.margin) await this.refresh();
    this.current = this.build(this.playInfo, index, this.position, 'switch');
    this.emit('source', this.current);
    return this.current;
  }

  /**
   * Call from `<video binderror>`: a 403 on the key (expired / used-up token) looks like any other load error, so get
   * a token from the AppServer bypassing its cache and rebuild the source at the saved position. Once per successful
   * play; after that it rejects with POLYV_PLAYBACK_FAILED (the page shows the error with a retry button).
   */
  async recover(currentTime?: number, errMsg?: string): Promise<PolyvSource> {
    this.assertAlive();
    if (!this.playInfo) throw new MediaKitError(PolyvErrorCode.NotLoaded, 'Call load(videoId) first.');
    if (currentTime !== undefined && currentTime > 0) this.position = currentTime;
    if (this.recoveries >= this.maxRecoveries) {
      const err = new MediaKitError(PolyvErrorCode.PlaybackFailed, `The video cannot be played${errMsg ? `: ${errMsg}` : ''}.`, {
        videoId: this.playInfo.videoId,
        errMsg,
        recoveries: this.recoveries,
      });
      this.emit('error', err);
      throw err;
    }
    this.recoveries++;
    return this.refresh({ fresh: true, reason: 'recover' });
  }

  /** Stops timers and listeners. */
  destroy(): void {
    this.destroyed = true;
    this.generation++;
    this.clearTimer();
    this.unsubscribeShow();
    this.listeners.source = [];
    this.listeners.token = [];
    this.listeners.error = [];
  }

  private assertAlive(): void {
    if (this.destroyed) throw new MediaKitError(PlatformErrorCode.Aborted, 'This PolyvPlayer was destroyed.');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.adapter.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private schedule(delayMs?: number): void {
    this.clearTimer();
    if (!this.autoRefresh || this.destroyed || !this.playInfo) return;
    // Not sooner than 5 s from now, so a token shorter than the margin (or a wrong clock) cannot cause a busy loop.
    const wait = delayMs !== undefined ? delayMs : Math.max(5000, this.timeLeftMs() - this.margin);
    this.timer = this.adapter.setTimeout(() => {
      this.timer = undefined;
      this.backgroundRefresh();
    }, wait);
  }

  private backgroundRefresh(): void {
    if (this.destroyed || !this.playInfo) return;
    this.refresh().catch((e: MediaKitError) => {
      if (this.destroyed || e.code === PlatformErrorCode.Aborted) return;
      const left = this.timeLeftMs();
      if (left <= 0) {
        this.emit('error', new MediaKitError(PolyvErrorCode.Expired, `The play token expired and could not be renewed: ${e.message}`, { cause: e.code, details: e.details }));
      } else {
        this.emit('error', e);
        // Try again while the token still lives (the page may show a warning meanwhile).
        this.schedule(Math.max(5000, Math.min(30000, Math.floor(left / 2))));
      }
    });
  }
}
