/**
 * View-model of the 播放 (player) page: pick a Polyv vid (typed, or one of the local cloud's samples), get the play
 * info from the AppServer through the SDK's PolyvPlayer, bind the tokenised m3u8 to `<video>`, switch definition
 * keeping the position, recover once from a `<video>` error with a fresh token, show errors with a retry, and count
 * the token's lifetime down for developers. The page only forwards `onChange` patches to setData.
 */
import { AppClient, MediaKitError, PlatformAdapter, PolyvErrorCode, PolyvPlayer, PolyvSource } from 'mp-media-sdk';

export interface PlayerSampleView {
  videoId: string;
  title: string;
  playable: boolean;
  /** e.g. "流畅/高清 · 6 s" */
  note: string;
}

export type PlayerStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface PlayerViewState {
  vidInput: string;
  samples: PlayerSampleView[];
  /** Why the sample list is empty ('' when it is not). */
  samplesNote: string;
  status: PlayerStatus;
  /** The vid being played (or last tried). */
  videoId: string;
  title: string;
  cover: string;
  durationText: string;
  src: string;
  /** `<video initial-time>`: the position kept across source changes. */
  initialTime: number;
  definitions: string[];
  definitionIndex: number;
  /** Token countdown for developers: "09:58", "expired". */
  expiresText: string;
  /** Less than a minute left. */
  expiring: boolean;
  tokenShort: string;
  /** A one-line note, e.g. "token renewed" after a refresh or recovery. */
  notice: string;
  errorCode: string;
  errorMessage: string;
  /** The failure as the SDK / server put it (调试 only). */
  errorDetail: string;
  /** 重试 can help (a network or playback failure); false for a video that does not exist or a malformed vid. */
  retryable: boolean;
}

export interface PlayerViewModelOptions {
  appClient: AppClient;
  adapter: PlatformAdapter;
  onChange: (patch: Record<string, unknown>) => void;
  /** Countdown tick (ms, default 1000). */
  tickMs?: number;
  /** Passed to PolyvPlayer (tests use a short margin). */
  refreshMarginMs?: number;
}

const SAMPLE_LABELS: Record<string, string> = { LD: '流畅', SD: '流畅', HD: '高清', FHD: '超清' };

/** Errors a retry cannot fix: the page offers no 重试 for them. */
const FINAL_ERRORS = new Set<string>(['PolyvVideoNotFound', 'InvalidVideoId', 'InvalidParameter', PolyvErrorCode.EmptyVid]);

export function isRetryable(code: string): boolean {
  return !FINAL_ERRORS.has(code);
}

/**
 * User-facing text for the SDK's typed errors: Chinese, no identifiers. `detail` (the error's own message, e.g.
 * the <video> errMsg) is for developers and shown only in the 调试 section.
 */
export function playerErrorText(e: unknown): { code: string; message: string; detail: string } {
  if (!(e instanceof MediaKitError)) return { code: 'UNKNOWN', message: '出了点问题，请稍后重试。', detail: String((e as Error) && (e as Error).message) };
  const server = e.details && (e.details.serverCode as string | undefined);
  const detail = e.message;
  switch (e.code) {
    case PolyvErrorCode.EmptyVid:
      return { code: e.code, message: '请输入视频 vid，或点选示例视频。', detail };
    case PolyvErrorCode.Network:
      return { code: e.code, message: '网络不可用，请检查网络后重试。', detail };
    case PolyvErrorCode.Expired:
      return { code: e.code, message: '播放凭证已过期，请重试。', detail };
    case PolyvErrorCode.PlaybackFailed:
      return { code: e.code, message: '视频暂时无法播放，请重试。', detail: String((e.details && e.details.errMsg) || detail) };
    case PolyvErrorCode.TokenLoadFailed:
      if (server === 'PolyvVideoNotFound') return { code: server, message: '找不到这个视频，它可能已被删除。', detail };
      if (server === 'InvalidVideoId' || server === 'InvalidParameter') return { code: server, message: '视频 vid 格式不对。', detail };
      if (server === 'PolyvVideoNotReady') return { code: server, message: '视频还在处理中，请稍后再试。', detail };
      return { code: server || e.code, message: '视频加载失败，请重试。', detail };
    default:
      return { code: e.code, message: '出了点问题，请稍后重试。', detail };
  }
}

function fmtClock(ms: number): string {
  if (ms <= 0) return '已过期';
  const s = Math.floor(ms / 1000);
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  const h = Math.floor(s / 3600);
  return h > 0 ? `${h}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}` : `${p(Math.floor(s / 60))}:${p(s % 60)}`;
}

function fmtDuration(sec: number): string {
  const s = Math.round(sec || 0);
  return s >= 60 ? `${Math.floor(s / 60)} 分 ${s % 60} 秒` : `${s} 秒`;
}

export class PlayerViewModel {
  readonly state: PlayerViewState = {
    vidInput: '',
    samples: [],
    samplesNote: '',
    status: 'idle',
    videoId: '',
    title: '',
    cover: '',
    durationText: '',
    src: '',
    initialTime: 0,
    definitions: [],
    definitionIndex: 0,
    expiresText: '',
    expiring: false,
    tokenShort: '',
    notice: '',
    errorCode: '',
    errorMessage: '',
    retryable: false,
    errorDetail: '',
  };
  private readonly opts: PlayerViewModelOptions;
  private readonly player: PolyvPlayer;
  private tickHandle: unknown;
  private destroyed = false;
  /** What to do on 重试: reload the same vid at the same position. */
  private lastVid = '';
  private seq = 0;

  constructor(opts: PlayerViewModelOptions) {
    this.opts = opts;
    this.player = new PolyvPlayer({ appClient: opts.appClient, adapter: opts.adapter, refreshMarginMs: opts.refreshMarginMs });
    this.player.on('source', (s) => this.applySource(s));
    this.player.on('token', () => {
      this.set({ notice: '播放凭证已续期', tokenShort: this.shortToken() });
      this.tick();
    });
    this.player.on('error', (e) => {
      // Background refresh problems: the video may still play on the key it has, so warn unless it is fatal.
      if (e.code === PolyvErrorCode.Expired || e.code === PolyvErrorCode.PlaybackFailed) this.fail(e);
      else this.set({ notice: '播放凭证续期失败，稍后自动重试' });
    });
  }

  private set(patch: Partial<PlayerViewState>): void {
    if (this.destroyed) return;
    Object.assign(this.state, patch);
    this.opts.onChange(patch as Record<string, unknown>);
  }

  private shortToken(): string {
    const t = this.player.info ? this.player.info.token : '';
    return t ? `${t.slice(0, 8)}…` : '';
  }

  private fail(e: unknown): void {
    const { code, message, detail } = playerErrorText(e);
    this.set({ status: 'error', errorCode: code, errorMessage: message, errorDetail: detail, retryable: isRetryable(code) });
  }

  private applySource(s: PolyvSource): void {
    const info = this.player.info;
    if (!info) return;
    const meta: Partial<PlayerViewState> =
      s.reason === 'load'
        ? { title: info.title, cover: info.cover, durationText: fmtDuration(info.duration), definitions: info.definitions.map((d) => d.label) }
        : {};
    this.set({
      ...meta,
      status: 'ready',
      src: s.src,
      initialTime: s.initialTime,
      definitionIndex: s.definitionIndex,
      tokenShort: this.shortToken(),
      errorCode: '',
      errorMessage: '',
      notice: s.reason === 'recover' ? '已换新凭证，从断点继续播放' : s.reason === 'refresh' ? '播放凭证已更新' : '',
    });
    this.tick();
  }

  /** Loads the sample list (local cloud) and, with `vid` in the page query, starts playing it. */
  async init(query: { vid?: string } = {}): Promise<void> {
    const samples = this.loadSamples();
    if (query.vid) {
      this.set({ vidInput: query.vid });
      await this.play(query.vid);
    }
    await samples;
  }

  async loadSamples(): Promise<void> {
    try {
      const res = await this.opts.appClient.call<{ localCloud: boolean; samples: Array<{ videoId: string; title: string; duration: number; playable: boolean; definitions: string[] }> }>(
        'GET',
        '/api/polyv/samples',
      );
      const samples = (res.samples || []).map((s) => ({
        videoId: s.videoId,
        title: s.title,
        playable: s.playable,
        note: `${(s.definitions || []).map((d) => SAMPLE_LABELS[d] || d).join('/')} · ${fmtDuration(s.duration)}${s.playable ? '' : ' · 不可播放'}`,
      }));
      this.set({ samples, samplesNote: res.localCloud ? '' : '暂无示例视频：可在下方“调试”中输入保利威视频 vid。' });
    } catch (e) {
      this.set({ samples: [], samplesNote: '示例视频加载失败，请稍后再试。' });
    }
  }

  setVidInput(value: string): void {
    this.set({ vidInput: value });
  }

  /** Plays the typed vid (or `vid`). */
  async play(vid?: string, startTime = 0): Promise<void> {
    const videoId = (vid !== undefined ? vid : this.state.vidInput).trim();
    const mine = ++this.seq;
    this.lastVid = videoId;
    this.set({ status: 'loading', videoId, errorCode: '', errorMessage: '', notice: '' });
    try {
      // The 'source' event (applySource) fills title, cover, src … and sets status 'ready'.
      await this.player.load(videoId, { startTime });
    } catch (e) {
      if (mine !== this.seq || (e instanceof MediaKitError && e.code === 'ABORTED')) return;
      this.fail(e);
    }
  }

  async playSample(index: number): Promise<void> {
    const s = this.state.samples[index];
    if (!s) return;
    this.set({ vidInput: s.videoId });
    await this.play(s.videoId);
  }

  /** 重试: the same vid from the last known position. */
  async retry(): Promise<void> {
    await this.play(this.lastVid || this.state.vidInput, this.player.currentTime);
  }

  async selectDefinition(index: number, currentTime?: number): Promise<void> {
    if (this.state.status !== 'ready' || index === this.state.definitionIndex) return;
    try {
      await this.player.switchDefinition(index, currentTime);
    } catch (e) {
      this.fail(e);
    }
  }

  /** `<video bindtimeupdate>` */
  onTimeUpdate(currentTime: number): void {
    this.player.updatePosition(currentTime);
  }

  /** `<video bindplay>` */
  onPlay(): void {
    this.player.markPlaying();
  }

  /** `<video binderror>`: one recovery with a fresh token, then the error state. */
  async onVideoError(errMsg: string, currentTime?: number): Promise<void> {
    if (this.state.status !== 'ready') return;
    this.set({ notice: '播放出错，正在换新凭证重试…' });
    try {
      await this.player.recover(currentTime, errMsg);
    } catch (e) {
      this.fail(e);
    }
  }

  /** The token countdown (and a tick every second while a video is loaded). */
  private tick(): void {
    if (this.destroyed) return;
    if (this.tickHandle !== undefined) this.opts.adapter.clearTimeout(this.tickHandle);
    this.tickHandle = undefined;
    if (!this.player.info) return;
    const left = this.player.timeLeftMs();
    const expiresText = fmtClock(left);
    const expiring = left < 60000;
    if (expiresText !== this.state.expiresText || expiring !== this.state.expiring) this.set({ expiresText, expiring });
    this.tickHandle = this.opts.adapter.setTimeout(() => this.tick(), this.opts.tickMs || 1000);
  }

  destroy(): void {
    if (this.tickHandle !== undefined) this.opts.adapter.clearTimeout(this.tickHandle);
    this.tickHandle = undefined;
    this.player.destroy();
    this.destroyed = true;
  }
}
