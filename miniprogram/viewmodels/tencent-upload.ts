/**
 * View-model of the upload page's 腾讯云 tab: TencentVodUploader with signatures from our AppServer, one item per
 * chosen video (optional cover), progress / pause / resume / cancel, then the file's state as the AppServer learnt it
 * from Tencent's event notifications (uploaded → processing → ready), then its play URL. The page only forwards
 * `onChange` patches to setData.
 */
import { AppClient, PlatformAdapter, TencentVodUploader, TencentVodUploadOptions, TencentVodError } from 'mp-media-sdk';

export interface TencentChosen {
  tempFilePath: string;
  size?: number;
  /** wx.chooseMedia's thumbnail of a video: the row's picture until the cover URL is known. */
  thumbTempFilePath?: string;
}

export interface TencentUploadItemView {
  name: string;
  size: string;
  /** uploading / paused / uploaded / failed / canceled */
  state: string;
  stateText: string;
  /** TDesign tag theme of what the tag says (the upload's state, then the VOD state). */
  tagTheme: string;
  /** The picked video's thumbnail ('' → drawn placeholder). */
  thumb: string;
  /** 0..100 */
  percent: number;
  speed: string;
  fileId: string;
  /** From the AppServer (event notifications): '' until known, then uploaded / processing / ready / failed. */
  vodState: string;
  vodStateText: string;
  playUrl: string;
  coverUrl: string;
  /** For the user (Chinese); the SDK's code, stage and message are in errorDetail (调试). */
  error: string;
  errorDetail: string;
  canPause: boolean;
  canResume: boolean;
  canCancel: boolean;
}

export interface TencentUploadViewState {
  titems: TencentUploadItemView[];
  tcover: string;
  tmessage: string;
}

export interface TencentUploadViewModelOptions {
  appClient: AppClient;
  adapter: PlatformAdapter;
  onChange: (patch: Record<string, unknown>) => void;
  chooseVideo?: () => Promise<TencentChosen[]>;
  chooseCover?: () => Promise<TencentChosen | undefined>;
  /** ms between two state polls of an uploaded file (default 1000). */
  pollIntervalMs?: number;
  uploader?: Partial<TencentVodUploadOptions>;
}

const STATE_TEXT: Record<string, string> = { uploading: '上传中', paused: '已暂停', uploaded: '已上传', failed: '失败', canceled: '已取消' };
const VOD_TEXT: Record<string, string> = { '': '', uploaded: '处理中', processing: '处理中', ready: '可播放', failed: '处理失败' };
const STATE_THEME: Record<string, string> = { uploading: 'primary', paused: 'warning', uploaded: 'success', failed: 'danger', canceled: 'default' };
const VOD_THEME: Record<string, string> = { uploaded: 'primary', processing: 'primary', ready: 'success', failed: 'danger' };

function friendly(code: string, message: string): string {
  const s = `${code} ${message}`;
  if (/network|timeout|request:fail|ECONN|reset/i.test(s)) return '网络连接中断，请检查网络后重试';
  if (/sign|auth|expired|forbidden/i.test(s)) return '上传签名无效或已过期，请重试';
  return '上传失败，请重试';
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export class TencentUploadViewModel {
  readonly state: TencentUploadViewState = { titems: [], tcover: '', tmessage: '' };
  private uploads: TencentVodUploader[] = [];
  private timers: unknown[] = [];
  private vodHost: Promise<string | undefined> | undefined;
  private destroyed = false;

  constructor(private o: TencentUploadViewModelOptions) {}

  private patch(p: Record<string, unknown>): void {
    if (this.destroyed) return;
    for (const [k, v] of Object.entries(p)) {
      const m = /^titems\[(\d+)\]\.(\w+)$/.exec(k);
      if (m) (this.state.titems[Number(m[1])] as unknown as Record<string, unknown>)[m[2]] = v;
      else (this.state as unknown as Record<string, unknown>)[k] = v;
    }
    this.o.onChange(p);
  }

  private set(i: number, fields: Partial<TencentUploadItemView>): void {
    const p: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) p[`titems[${i}].${k}`] = v;
    this.patch(p);
  }

  private host(): Promise<string | undefined> {
    if (!this.vodHost) {
      this.vodHost = this.o.appClient.call<{ vodHost?: string }>('GET', '/api/tencent-vod/config').then(
        (c) => c.vodHost,
        () => undefined,
      );
    }
    return this.vodHost;
  }

  async chooseCover(): Promise<void> {
    if (!this.o.chooseCover) return;
    try {
      const c = await this.o.chooseCover();
      this.patch({ tcover: c ? c.tempFilePath : '' });
    } catch {
      /* picker canceled */
    }
  }

  async choose(): Promise<void> {
    if (!this.o.chooseVideo) return;
    let picked: TencentChosen[];
    try {
      picked = await this.o.chooseVideo();
    } catch {
      return; // picker canceled
    }
    for (const f of picked) await this.start(f);
  }

  async start(f: TencentChosen): Promise<void> {
    const vodHost = await this.host();
    const i = this.state.titems.length;
    const cover = this.state.tcover;
    // VOD refuses \ / : * ? " < > | in names, so no "12:30"
    const d = new Date(this.o.adapter.now());
    const two = (n: number) => (n < 10 ? `0${n}` : String(n));
    const name = `视频 ${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}时${two(d.getMinutes())}分`;
    const item: TencentUploadItemView = {
      name, size: f.size !== undefined ? formatBytes(f.size) : '', state: 'uploading', stateText: STATE_TEXT.uploading, tagTheme: STATE_THEME.uploading, thumb: f.thumbTempFilePath || '', percent: 0, speed: '', fileId: '', vodState: '', vodStateText: '',
      playUrl: '', coverUrl: '', error: '', errorDetail: '', canPause: true, canResume: false, canCancel: true,
    };
    this.state.titems[i] = item;
    if (!this.destroyed) this.o.onChange({ [`titems[${i}]`]: item });
    this.patch({ tcover: '' });
    const up = TencentVodUploader.start({
      adapter: this.o.adapter,
      mediaFile: f,
      coverFile: cover ? { tempFilePath: cover } : undefined,
      mediaName: name,
      vodHost,
      vodBackupHost: vodHost,
      getSignature: () => this.o.appClient.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature),
      progress: (p) => this.set(i, { percent: Math.floor(p.percent * 100), speed: p.speed ? `${formatBytes(p.speed)}/s` : '' }),
      ...(this.o.uploader || {}),
    });
    this.uploads[i] = up;
    try {
      const r = await up.done();
      this.set(i, { state: 'uploaded', stateText: STATE_TEXT.uploaded, tagTheme: STATE_THEME.uploaded, percent: 100, fileId: r.fileId, coverUrl: r.coverUrl || '', canPause: false, canResume: false, canCancel: false });
      this.watch(i, r.fileId);
    } catch (e) {
      const err = e as TencentVodError;
      const canceled = err.code === 'CANCELED';
      this.set(i, {
        state: canceled ? 'canceled' : 'failed',
        stateText: canceled ? STATE_TEXT.canceled : STATE_TEXT.failed,
        tagTheme: canceled ? STATE_THEME.canceled : STATE_THEME.failed,
        error: canceled ? '' : friendly(String(err.code), String(err.message)),
        errorDetail: canceled ? '' : `${err.code} (${err.stage}): ${err.message}`,
        canPause: false, canResume: false, canCancel: false });
    }
  }

  /** Poll the AppServer until the event notifications made the file ready (or failed). */
  private watch(i: number, fileId: string): void {
    const tick = async () => {
      if (this.destroyed) return;
      try {
        const v = await this.o.appClient.call<{ state: string; mediaUrl?: string; coverUrl?: string }>('GET', `/api/tencent-vod/videos/${fileId}`);
        this.set(i, { vodState: v.state, vodStateText: VOD_TEXT[v.state] || v.state, tagTheme: VOD_THEME[v.state] || STATE_THEME.uploaded, ...(v.state === 'ready' && v.mediaUrl ? { playUrl: v.mediaUrl } : {}), ...(v.coverUrl ? { coverUrl: v.coverUrl } : {}) });
        if (v.state === 'ready' || v.state === 'failed') return;
      } catch {
        /* try again */
      }
      if (!this.destroyed) this.timers.push(this.o.adapter.setTimeout(() => void tick(), this.o.pollIntervalMs || 1000));
    };
    void tick();
  }

  pause(i: number): void {
    const up = this.uploads[i];
    if (up && up.pause()) this.set(i, { state: 'paused', stateText: STATE_TEXT.paused, tagTheme: STATE_THEME.paused, canPause: false, canResume: true });
  }

  resume(i: number): void {
    const up = this.uploads[i];
    if (up && up.restart()) this.set(i, { state: 'uploading', stateText: STATE_TEXT.uploading, tagTheme: STATE_THEME.uploading, canPause: true, canResume: false });
  }

  cancel(i: number): void {
    const up = this.uploads[i];
    if (up) up.cancel();
  }

  destroy(): void {
    this.destroyed = true;
    for (const t of this.timers) this.o.adapter.clearTimeout(t);
    this.timers = [];
  }
}
