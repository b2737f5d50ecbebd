/**
 * View-model of the 上传 (upload) page: a VODUpload queue fed by chooseMedia, credentials from our AppServer
 * (UploadAuth mode by default, STS mode behind the page's 调试 section), per-file title / thumbnail / state tag /
 * progress / speed / ETA, and 暂停 / 继续 / 取消上传 (asks first) / 移除. The page only forwards `onChange` patches to
 * setData.
 *
 * A row is named by its VOD title (what the user typed, else "视频 2026-12-02 14:03"), never by WeChat's temp file
 * name; its thumbnail is the picked video's thumbTempFilePath (or the picked image itself), else a drawn placeholder.
 * Ids (VideoId / ImageURL), temp file names and raw error codes are developer details: `fileName`, `result` and
 * `errorDetail` are shown only in the 调试 section.
 *
 * The uploader is built by load() from GET /api/vod/config: `userId` (the Aliyun account id VODUpload requires),
 * `region`, and with the local cloud the VOD endpoint. Nothing account-specific is hard-coded in the mini-program.
 *
 * Progress patches are small and path-based (`items[2].percent` …) and throttled to at most 4 per second per file.
 */
import { AppClient, PlatformAdapter, VODUpload, VODUploadAuthResult, VODUploadInfo, VODUploadOptions } from 'mp-media-sdk';

export type UploadMode = 'auth' | 'sts';

/** What the page's chooser returns (wx.chooseMedia tempFiles). */
export interface ChosenMedia {
  tempFilePath: string;
  size?: number;
  duration?: number;
  fileType: 'video' | 'image';
  thumbTempFilePath?: string;
}

export interface UploadItemView {
  /** The VOD title (what the row is called). */
  name: string;
  /** WeChat's temp file name (调试 only). */
  fileName: string;
  /** The picked video's thumbnail (thumbTempFilePath) or the picked image; '' → the page draws a placeholder. */
  thumb: string;
  kind: 'video' | 'image';
  size: string;
  /** Official VODUpload state: Ready / Uploading / Success / Failure / Canceled / Stoped. */
  state: string;
  stateText: string;
  /** TDesign tag theme of the state: default / primary / warning / success / danger. */
  tagTheme: string;
  /** 0..100 (integer) */
  percent: number;
  speed: string;
  eta: string;
  /** The line under the progress bar: "30% · 10.0 MB · 4.2 MB/s · 剩余 2秒", "等待上传", "2.0 MB · 已保存到点播". */
  metaText: string;
  /** VideoId or ImageURL after success (调试 only). */
  result: string;
  /** What went wrong, for the user (Chinese, no codes). */
  error: string;
  /** The SDK's code and message (调试 only). */
  errorDetail: string;
  canStop: boolean;
  canResume: boolean;
  /** 继续 / 重试 / 重新上传 by state. */
  resumeText: string;
  canCancel: boolean;
  /** 移除: only rows that are not running (finished, failed, canceled). */
  canRemove: boolean;
}

export interface UploadViewState {
  mode: UploadMode;
  items: UploadItemView[];
  running: boolean;
  message: string;
  /** The title the user typed for the next picked files ('' → a date title). */
  titleInput: string;
}

export interface UploadViewModelOptions {
  appClient: AppClient;
  adapter: PlatformAdapter;
  onChange: (patch: Record<string, unknown>) => void;
  /** Opens the picker; the page passes one that calls wx.chooseMedia. */
  chooseMedia?: (kind: 'video' | 'image') => Promise<ChosenMedia[]>;
  /** Minimum ms between two progress patches of one file (default 250 → at most 4 per second). */
  progressIntervalMs?: number;
  /** Extra VODUpload options (partSize, parallel, …). */
  uploader?: Partial<VODUploadOptions>;
  /** Asks before a destructive step (the page passes one that calls wx.showModal); without it the step runs. */
  confirm?: (title: string, content: string, confirmText: string) => Promise<boolean>;
}

const STATE_TEXT: Record<string, string> = {
  Ready: '等待中',
  Uploading: '上传中',
  Success: '已完成',
  Failure: '失败',
  Canceled: '已取消',
  Stoped: '已暂停',
};

const TAG_THEME: Record<string, string> = {
  Ready: 'default',
  Uploading: 'primary',
  Success: 'success',
  Failure: 'danger',
  Canceled: 'default',
  Stoped: 'warning',
};

/** The line under a row's progress bar. */
export function metaText(v: Pick<UploadItemView, 'state' | 'percent' | 'size' | 'speed' | 'eta'>): string {
  if (v.state === 'Success') return [v.size, '已保存到点播'].filter(Boolean).join(' · ');
  if (v.state === 'Ready' && !v.percent) return ['等待上传', v.size].filter(Boolean).join(' · ');
  return [`${v.percent}%`, v.size, v.speed, v.eta ? `剩余 ${v.eta}` : ''].filter(Boolean).join(' · ');
}

/** What the user reads when an upload failed (the code itself goes to 调试). */
export function friendlyError(code: string, message: string): string {
  const s = `${code} ${message}`;
  if (/AccessDenied|Forbidden\b|NoPermission/i.test(s)) return '没有上传权限，请联系应用管理员';
  if (/network|timeout|request:fail|ECONN|reset/i.test(s)) return '网络连接中断，请检查网络后重试';
  if (/auth|token|sign|forbidden|expired|credential|Sts/i.test(s)) return '上传凭证无效或已过期，请重试';
  if (/CRC|md5|mismatch/i.test(s)) return '文件校验失败，请重试';
  if (/size|too large|quota/i.test(s)) return '文件过大或空间不足';
  return '上传失败，请重试';
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

export function formatEta(s: number | undefined): string {
  if (s === undefined || !isFinite(s)) return '';
  const t = Math.ceil(s);
  return t >= 60 ? `${Math.floor(t / 60)}分${t % 60}秒` : `${t}秒`;
}

/**
 * The VOD title of a picked file: "视频 2026-11-21 14:03" / "图片 …" (local time). The temp file's name
 * (tmp_8f7e…, wx…) means nothing to the user, so it never becomes the title.
 */
export function defaultTitle(kind: 'video' | 'image', d: Date = new Date()): string {
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${kind === 'image' ? '图片' : '视频'} ${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** What GET /api/vod/config answers (the fields the page uses). */
export interface VodClientConfig {
  /** The Aliyun account id: VODUpload's `userId`. */
  userId: string;
  region?: string;
  /** Set when the AppServer runs against the local cloud: where the SDK calls VOD in STS mode. */
  vodEndpoint?: string;
  localCloud?: boolean;
  sts?: boolean;
}

export class UploadViewModel {
  readonly state: UploadViewState = { mode: 'auth', items: [], running: false, message: '', titleInput: '' };
  /** Per file url: its VOD title and thumbnail. */
  private readonly meta = new Map<string, { title: string; thumb: string }>();
  private readonly o: UploadViewModelOptions;
  private readonly interval: number;
  /** Per file url: last progress patch time, and a pending trailing patch. */
  private readonly throttle = new Map<string, { last: number; timer?: unknown }>();
  private destroyed = false;
  private up: VODUpload | undefined;
  private loadP: Promise<boolean> | undefined;
  /** The AppServer's VOD settings, once load() succeeded. */
  config: VodClientConfig | undefined;

  constructor(o: UploadViewModelOptions) {
    this.o = o;
    this.interval = o.progressIntervalMs === undefined ? 250 : o.progressIntervalMs;
  }

  /** The queue (after load()): VODUpload with the account id and region the AppServer reports. */
  get uploader(): VODUpload {
    if (!this.up) throw new Error('UploadViewModel: call load() first (the uploader needs userId from GET /api/vod/config).');
    return this.up;
  }

  get loaded(): boolean {
    return !!this.up;
  }

  /**
   * Reads GET /api/vod/config (userId = the Aliyun account id, region, the local cloud's VOD endpoint) and builds the
   * uploader from it. Resolves false (with the reason in `message`) when the AppServer cannot be read or reports no
   * account id; a later call (the next choose) tries again.
   */
  load(): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    if (!this.loadP) {
      this.emit({ message: (this.state.message = '正在读取上传配置…') });
      this.loadP = this.o.appClient.call<VodClientConfig>('GET', '/api/vod/config').then(
        (c) => {
          try {
            this.up = this.createUploader(c);
            this.config = c;
            this.emit({ message: (this.state.message = '') });
            return true;
          } catch (e) {
            this.loadP = undefined;
            this.emit({ message: (this.state.message = `上传配置无效：${(e as Error).message}（AppServer 的 ALIYUN_USER_ID）`) });
            return false;
          }
        },
        (e) => {
          this.loadP = undefined;
          this.emit({ message: (this.state.message = `无法读取上传配置：${(e as Error).message || String(e)}`) });
          return false;
        },
      );
    }
    return this.loadP;
  }

  private createUploader(c: VodClientConfig): VODUpload {
    return new VODUpload({
      userId: c.userId,
      adapter: this.o.adapter,
      region: c.region || 'cn-shanghai',
      ...(c.vodEndpoint ? { vodEndpoint: c.vodEndpoint } : {}),
      ...(this.o.uploader || {}),
      getUploadAuth: (info) => this.getUploadAuth(info),
      addFileSuccess: () => this.pushList(),
      onUploadstarted: (info) => this.patchItem(info),
      onUploadProgress: (info) => this.progress(info),
      onUploadSucceed: (info) => this.patchItem(info),
      onUploadFailed: (info) => this.patchItem(info),
      onUploadCanceled: (info) => this.patchItem(info),
      onUploadTokenExpired: (info) => this.patchItem(info, { message: `${info.file.name} 的上传凭证已过期，正在刷新…` }),
      onUploadEnd: () => this.emit({ running: (this.state.running = false), message: (this.state.message = '队列已完成') }),
    });
  }

  /** UploadAuth mode: /api/vod/upload-video (refresh when videoId is known) or /upload-image; STS mode: /api/vod/sts. */
  private getUploadAuth(info: VODUploadInfo): Promise<VODUploadAuthResult> {
    const app = this.o.appClient;
    if (this.state.mode === 'sts') return app.call<VODUploadAuthResult>('POST', '/api/vod/sts', {});
    if (info.isImage) {
      const ext = (/\.([a-z0-9]+)$/i.exec(info.file.name) || [])[1];
      return app.call<VODUploadAuthResult>('POST', '/api/vod/upload-image', { imageType: 'default', imageExt: ext ? ext.toLowerCase() : undefined, title: this.title(info) });
    }
    if (info.videoId) return app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { videoId: info.videoId });
    const title = this.title(info);
    return app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { title, fileName: info.file.name, fileSize: info.fileSize });
  }

  private title(info: VODUploadInfo): string {
    const t = info.videoInfo.Title;
    return typeof t === 'string' && t ? t : defaultTitle(info.isImage ? 'image' : 'video');
  }

  /** The title for the next picked files. */
  setTitle(title: string): void {
    this.emit({ titleInput: (this.state.titleInput = String(title || '').slice(0, 128)) });
  }

  setMode(mode: UploadMode): void {
    if (mode !== 'auth' && mode !== 'sts') return;
    this.state.mode = mode;
    this.emit({ mode });
  }

  /** Open the picker and queue what the user chose, then start. */
  async choose(kind: 'video' | 'image'): Promise<number> {
    if (!this.o.chooseMedia) throw new Error('No chooseMedia function was given to the view-model.');
    if (!(await this.load())) return 0;
    let files: ChosenMedia[];
    try {
      files = await this.o.chooseMedia(kind);
    } catch (e) {
      const msg = (e as { errMsg?: string; message?: string }).errMsg || (e as Error).message || String(e);
      if (/cancel/i.test(msg)) return 0;
      this.emit({ message: (this.state.message = `选择文件失败：${msg}`) });
      return 0;
    }
    return this.addFiles(files);
  }

  /** Queue chosen files (duplicates are skipped) and start the queue. */
  addFiles(files: ChosenMedia[]): number {
    if (!this.up) throw new Error('UploadViewModel: call load() before addFiles().');
    let added = 0;
    const typed = this.state.titleInput.trim();
    const n = files.length;
    for (const f of files) {
      const title = typed ? (n > 1 ? `${typed} ${added + 1}` : typed) : n > 1 ? `${defaultTitle(f.fileType)} (${added + 1})` : defaultTitle(f.fileType);
      // no `name`: the SDK shows / sends the temp file's name (right extension) as FileName but keeps it out of the
      // resume fingerprint, so the same video picked again after a restart (new temp path) still resumes
      const ok = this.uploader.addFile(
        { url: f.tempFilePath, coverUrl: f.thumbTempFilePath, duration: f.duration, fileType: f.fileType },
        null,
        null,
        null,
        JSON.stringify({ Vod: { Title: title, UserData: { Source: 'mp-media-kit-demo' } } }),
      );
      if (ok) {
        added++;
        this.meta.set(f.tempFilePath, { title, thumb: f.fileType === 'image' ? f.tempFilePath : f.thumbTempFilePath || '' });
      }
    }
    if (added && typed) this.emit({ titleInput: (this.state.titleInput = '') });
    // addFileSuccess pushed the list before the titles were known
    if (added) this.pushList();
    if (added) this.start();
    else if (files.length) this.emit({ message: (this.state.message = '文件已在队列中') });
    return added;
  }

  start(): void {
    if (this.state.running) return;
    this.state.running = true;
    this.state.message = '';
    this.emit({ running: true, message: '' });
    this.uploader.startUpload();
  }

  /** Pause the file uploading now (its finished parts are kept). */
  stop(index: number): void {
    if (!this.up) return;
    const info = this.up.listFiles()[index];
    if (!info || info.state !== 'Uploading') return;
    this.uploader.stopUpload();
    this.state.running = false;
    this.patchItem(info, { running: false });
  }

  /** Continue a paused / canceled / failed file. */
  resume(index: number): void {
    if (!this.up) return;
    const info = this.up.listFiles()[index];
    if (!info) return;
    if (info.state === 'Canceled' || info.state === 'Failure' || info.state === 'Stoped') {
      if (info.state === 'Canceled' || info.state === 'Failure') this.uploader.resumeFile(index);
      this.patchItem(info);
    }
    if (!this.state.running) this.start();
  }

  /** 取消上传: asks first (the parts sent so far are dropped from the queue's work); the row stays, 重新上传 restarts it. */
  async cancel(index: number): Promise<boolean> {
    if (!this.up) return false;
    const info = this.up.listFiles()[index];
    if (!info || !(info.state === 'Ready' || info.state === 'Uploading' || info.state === 'Stoped')) return false;
    const title = this.meta.get(info.url)?.title || '这个文件';
    if (this.o.confirm && !(await this.o.confirm('取消上传？', `「${title}」将停止上传，之后可以点「重新上传」再传。`, '取消上传'))) return false;
    const i = this.up.listFiles().indexOf(info); // the list may have changed while the dialog was open
    if (i < 0 || !this.uploader.cancelFile(i)) return false;
    this.patchItem(info);
    return true;
  }

  /** 移除: takes a row that is not running off the list (an uploaded video stays in VOD). */
  remove(index: number): void {
    if (!this.up) return;
    const info = this.up.listFiles()[index];
    if (!info || info.state === 'Uploading') return;
    if (this.up.deleteFile(index)) {
      this.meta.delete(info.url);
      this.pushList();
    }
  }

  destroy(): void {
    this.destroyed = true;
    if (this.up) this.up.stopUpload();
    this.throttle.forEach((t) => t.timer !== undefined && this.o.adapter.clearTimeout(t.timer));
    this.throttle.clear();
  }

  // ---------------------------------------------------------------- view mapping

  private view(info: VODUploadInfo): UploadItemView {
    const v = this.viewOf(info);
    v.metaText = metaText(v);
    return v;
  }

  private viewOf(info: VODUploadInfo): UploadItemView {
    const s = info.state;
    const m = this.meta.get(info.url);
    const err = s === 'Failure' && info.error ? info.error : undefined;
    return {
      name: m ? m.title : this.title(info),
      fileName: info.file.name,
      thumb: m ? m.thumb : '',
      kind: info.isImage ? 'image' : 'video',
      size: formatBytes(info.fileSize),
      state: s,
      stateText: STATE_TEXT[s] || s,
      tagTheme: TAG_THEME[s] || 'default',
      percent: Math.floor(info.loaded * 100),
      speed: s === 'Uploading' && info.speed > 0 ? `${formatBytes(Math.round(info.speed))}/s` : '',
      eta: s === 'Uploading' ? formatEta(info.eta) : '',
      metaText: '',
      result: s === 'Success' ? (info.isImage ? info.imageURL || info.imageId || '' : info.videoId || '') : '',
      error: err ? friendlyError(String(err.code), String(err.message)) : '',
      errorDetail: err ? `${err.code}: ${err.message}` : '',
      canStop: s === 'Uploading',
      canResume: s === 'Stoped' || s === 'Canceled' || s === 'Failure',
      resumeText: s === 'Failure' ? '重试' : s === 'Canceled' ? '重新上传' : '继续',
      canCancel: s === 'Ready' || s === 'Uploading' || s === 'Stoped',
      canRemove: s === 'Success' || s === 'Failure' || s === 'Canceled',
    };
  }

  private index(info: VODUploadInfo): number {
    return this.uploader.listFiles().indexOf(info);
  }

  private emit(patch: Record<string, unknown>): void {
    if (!this.destroyed) this.o.onChange(patch);
  }

  private pushList(): void {
    this.state.items = this.uploader.listFiles().map((i) => this.view(i));
    this.emit({ items: this.state.items });
  }

  /** A state change: the whole (small) item, at once; it also resets the file's progress window. */
  private patchItem(info: VODUploadInfo, extra: Record<string, unknown> = {}): void {
    const i = this.index(info);
    if (i < 0) return;
    const t = this.throttle.get(info.url);
    if (t && t.timer !== undefined) {
      this.o.adapter.clearTimeout(t.timer);
      t.timer = undefined;
    }
    this.throttle.set(info.url, { last: this.o.adapter.now() });
    const v = this.view(info);
    this.state.items[i] = v;
    for (const k of Object.keys(extra)) (this.state as unknown as Record<string, unknown>)[k] = extra[k];
    this.emit({ [`items[${i}]`]: v, ...extra });
  }

  /** Progress: percent / speed / eta only, at most one patch per interval per file (plus a trailing one). */
  private progress(info: VODUploadInfo): void {
    if (info.state === 'Success') return; // the success patch carries 100 %
    const now = this.o.adapter.now();
    const t = this.throttle.get(info.url) || { last: -Infinity };
    this.throttle.set(info.url, t);
    const send = () => {
      t.timer = undefined;
      t.last = this.o.adapter.now();
      const i = this.index(info);
      if (i < 0 || info.state !== 'Uploading') return;
      const v = this.view(info);
      const item = this.state.items[i];
      if (!item) return;
      item.percent = v.percent;
      item.speed = v.speed;
      item.eta = v.eta;
      item.metaText = v.metaText;
      this.emit({ [`items[${i}].percent`]: v.percent, [`items[${i}].speed`]: v.speed, [`items[${i}].eta`]: v.eta, [`items[${i}].metaText`]: v.metaText });
    };
    if (now - t.last >= this.interval) send();
    else if (t.timer === undefined) t.timer = this.o.adapter.setTimeout(send, this.interval - (now - t.last));
  }
}
