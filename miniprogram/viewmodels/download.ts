/**
 * 下载 (download) tab view-model: library (playable videos first; ones still uploading / transcoding shown disabled
 * with a Chinese tag) → pick a definition (size shown) → queue with progress, speed, ETA, pause / resume / delete
 * (asks first) → play offline from the local file → 保存到相册 (MP4); storage used / 200 MB; items a kill left
 * unfinished come back (上次未完成) on launch. Plain TS over the SDK's DownloadManager; the page only binds it.
 * Raw errors go to `debug` (the page's 调试 section); the user reads Chinese.
 */
import { AppClient, DownloadItem, DownloadManager, MediaInfo, PlatformAdapter, WECHAT_USER_STORAGE_QUOTA } from 'mp-media-sdk';

export interface LibraryVideo {
  videoId: string;
  title: string;
  duration: number;
  coverUrl: string;
  /** VOD's status (Normal, Uploading, UploadSucc, Transcoding, …). */
  status: string;
  mine: boolean;
}

/** A library row as shown: the VOD status as a Chinese tag, and whether it can be downloaded now. */
export interface LibraryRow extends LibraryVideo {
  statusText: string;
  tagTheme: string;
  downloadable: boolean;
  durationText: string;
}

export interface TrackChoice {
  trackIndex: number;
  label: string;
  sizeText: string;
  supported: boolean;
  reason: string;
}

export type ItemView = DownloadItem & { sizeText: string; speedText: string; etaText: string; stateText: string; tagTheme: string; definitionText: string; errorText: string };

export interface DownloadState {
  status: 'loading' | 'ready' | 'error';
  error: string;
  videos: LibraryRow[];
  picking: { videoId: string; title: string; tracks: TrackChoice[] } | null;
  items: ItemView[];
  storageText: string;
  /** 0..100 of the 200 MB WeChat gives a mini-program. */
  storagePercent: number;
  /** The item a 删除 is waiting on the user for ('' when none). */
  confirmingId: string;
  /** Developer details (调试): the last raw error. */
  debug: string;
  playing: { id: string; src: string; title: string; poster: string } | null;
  notice: string;
}

const MB = 1024 * 1024;
const DEF: Record<string, string> = { FD: '流畅', LD: '标清', SD: '高清', HD: '超清', OD: '原画', '2K': '2K', '4K': '4K' };
const STATE: Record<string, string> = { wait: '等待中', downloading: '下载中', processing: '处理中', stopped: '已暂停', completed: '已完成', error: '失败' };
const STATE_THEME: Record<string, string> = { wait: 'default', downloading: 'primary', processing: 'primary', stopped: 'warning', completed: 'success', error: 'danger' };
/** VOD statuses (GetVideoInfo's Status) → what the user reads; only Normal can be downloaded. */
const VOD_STATUS: Record<string, [string, string]> = {
  Normal: ['可下载', 'success'],
  Uploading: ['上传中', 'default'],
  UploadSucc: ['转码中', 'primary'],
  Transcoding: ['转码中', 'primary'],
  Checking: ['审核中', 'default'],
  UploadFail: ['上传失败', 'danger'],
  TranscodeFail: ['转码失败', 'danger'],
  Blocked: ['已屏蔽', 'danger'],
};

export function libraryRow(v: LibraryVideo): LibraryRow {
  const [statusText, tagTheme] = VOD_STATUS[v.status] || ['暂不可用', 'default'];
  const d = Math.round(v.duration || 0);
  return { ...v, statusText, tagTheme, downloadable: v.status === 'Normal', durationText: d ? `${Math.floor(d / 60)}:${String(d % 60).padStart(2, '0')}` : '' };
}

/** Why a video cannot be downloaded, in Chinese (the raw message goes to 调试). */
export function whyNot(e: { code?: unknown; name?: unknown; message?: string }): string {
  const s = `${String(e.code || '')} ${String(e.name || '')} ${e.message || ''}`;
  if (/AliyunVoDEncryption|private/i.test(s)) return '该视频只有阿里云私有加密版本，小程序不能离线保存';
  if (/IllegalStatus|Transcod/i.test(s)) return '视频还在处理中，稍后再试';
  if (/NoneStream|no (playable )?stream|NO_TRACK/i.test(s)) return '这个视频没有可下载的清晰度';
  if (/space|quota|NO_SPACE/i.test(s)) return '手机上给小程序的空间不够了，先删除一些下载';
  if (/network|timeout|request:fail/i.test(s)) return '网络连接失败，请稍后重试';
  return '暂时无法下载，请稍后重试';
}

export function sizeText(bytes: number): string {
  if (!bytes) return '—';
  return bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function speedText(bps: number): string {
  return bps > 0 ? `${sizeText(bps)}/s` : '';
}

function etaText(s: number | undefined): string {
  if (s === undefined || !isFinite(s)) return '';
  return s >= 60 ? `剩余 ${Math.floor(s / 60)} 分 ${s % 60} 秒` : `剩余 ${s} 秒`;
}

function stateText(i: DownloadItem): string {
  if (i.state === 'stopped' && i.stopReason === 'background') return '已暂停（后台）';
  if (i.state === 'stopped' && i.stopReason === 'restored') return '上次未完成';
  return STATE[i.state] || i.state;
}

function view(i: DownloadItem): ItemView {
  return {
    ...i,
    sizeText: sizeText(i.size),
    speedText: speedText(i.speed),
    etaText: etaText(i.eta),
    stateText: stateText(i),
    tagTheme: STATE_THEME[i.state] || 'default',
    definitionText: `${DEF[i.definition] || i.definition}${i.format && i.format !== 'mp4' ? ` · ${i.format.toUpperCase()}` : ''}`,
    errorText: i.state === 'error' && i.error ? whyNot(i.error) : '',
  };
}

export class DownloadViewModel {
  state: DownloadState = { status: 'loading', error: '', videos: [], picking: null, items: [], storageText: '', storagePercent: 0, playing: null, notice: '', confirmingId: '', debug: '' };
  readonly manager: DownloadManager;
  private readonly app: AppClient;
  private readonly adapter: PlatformAdapter;
  private readonly onChange: (patch: Record<string, unknown>) => void;
  private destroyed = false;

  private readonly confirm: ((title: string, content: string, confirmText: string) => Promise<boolean>) | undefined;

  constructor(o: {
    appClient: AppClient;
    adapter: PlatformAdapter;
    onChange: (patch: Record<string, unknown>) => void;
    saveDir?: string;
    maxConcurrent?: number;
    /** Asks before 删除 (the page passes one that calls wx.showModal); without it the step runs. */
    confirm?: (title: string, content: string, confirmText: string) => Promise<boolean>;
  }) {
    this.app = o.appClient;
    this.confirm = o.confirm;
    this.adapter = o.adapter;
    this.onChange = o.onChange;
    this.manager = new DownloadManager({
      adapter: o.adapter,
      saveDir: o.saveDir || `${o.adapter.fs.userDataPath}/downloads`,
      maxConcurrent: o.maxConcurrent || 2,
      source: (vid) => ({ vid, appClient: this.app }),
      onChange: (patch, items) => this.onManager(patch, items),
    });
  }

  private set(patch: Partial<DownloadState> & Record<string, unknown>): void {
    if (this.destroyed) return;
    Object.assign(this.state, patch);
    this.onChange(patch);
  }

  /** Manager patches → page patches (with the display texts next to the raw numbers). */
  private onManager(patch: Record<string, unknown>, items: DownloadItem[]): void {
    if (this.destroyed) return;
    if ('items' in patch) {
      this.set({ items: items.map(view) });
      return;
    }
    const out: Record<string, unknown> = {};
    const touched = new Set<number>();
    for (const k of Object.keys(patch)) {
      out[k] = patch[k];
      const m = /^items\[(\d+)\]\.(\w+)$/.exec(k);
      if (m) touched.add(Number(m[1]));
    }
    for (const i of touched) {
      const v = view(items[i]);
      this.state.items[i] = v;
      out[`items[${i}].speedText`] = v.speedText;
      out[`items[${i}].etaText`] = v.etaText;
      out[`items[${i}].stateText`] = v.stateText;
      out[`items[${i}].tagTheme`] = v.tagTheme;
      out[`items[${i}].errorText`] = v.errorText;
      for (const k of Object.keys(patch)) {
        const m = /^items\[(\d+)\]\.(\w+)$/.exec(k);
        if (m && Number(m[1]) === i) (this.state.items[i] as unknown as Record<string, unknown>)[m[2]] = patch[k];
      }
      if (items[i].state === 'completed' || items[i].state === 'error') void this.refreshStorage();
    }
    if (this.destroyed) return;
    this.onChange(out);
  }

  async init(): Promise<void> {
    try {
      await this.manager.restore();
      await this.refreshStorage();
      const r = await this.app.call<{ videos: LibraryVideo[] }>('GET', '/api/vod/library');
      // what can be downloaded first; uploads still in progress and videos being transcoded follow, disabled
      const rows = r.videos.map(libraryRow);
      const videos = rows.filter((v) => v.downloadable).concat(rows.filter((v) => !v.downloadable));
      this.set({ status: 'ready', videos, error: '' });
    } catch (e) {
      this.set({ status: 'error', error: '视频库加载失败，请检查网络后重试', debug: (e as Error).message });
    }
  }

  async refreshStorage(): Promise<void> {
    const used = await this.manager.storageUsed();
    this.set({ storageText: `${used ? sizeText(used) : '0 MB'} / ${WECHAT_USER_STORAGE_QUOTA / MB} MB`, storagePercent: Math.min(100, Math.round((used * 100) / WECHAT_USER_STORAGE_QUOTA)) });
  }

  /** Show the tracks of a video to pick one. */
  async pick(videoId: string): Promise<void> {
    const v = this.state.videos.find((x) => x.videoId === videoId);
    if (v && !v.downloadable) {
      this.set({ notice: `「${v.title}」${v.statusText}，完成后才能下载` });
      return;
    }
    try {
      const info: MediaInfo = await this.manager.tracks(videoId);
      const tracks = info.tracks.map((t) => ({
        trackIndex: t.trackIndex,
        label: `${DEF[t.vodDefinition] || t.vodDefinition}${t.height ? ` ${t.height}P` : ''}${t.vodFormat === 'mp4' ? '' : ` · ${t.vodFormat.toUpperCase()}`}${t.encrypt ? ' · 加密' : ''}`,
        sizeText: sizeText(t.vodFileSize),
        supported: t.supported,
        reason: t.supported ? '' : '小程序不能离线保存这种格式',
      }));
      this.pickInfo = info;
      this.set({ picking: { videoId, title: info.title || (v ? v.title : videoId), tracks }, notice: '' });
    } catch (e) {
      const err = e as { code?: unknown; name?: unknown; message?: string };
      this.set({ notice: `无法下载：${whyNot(err)}`, debug: `${String(err.name || err.code || 'Error')}: ${err.message || String(e)}` });
    }
  }
  private pickInfo: MediaInfo | undefined;

  /** Queue the picked track. */
  choose(trackIndex: number): void {
    const info = this.pickInfo;
    const t = info && info.tracks.find((x) => x.trackIndex === trackIndex);
    if (!info || !t) return;
    if (!t.supported) {
      this.set({ notice: t.unsupportedReason || '该清晰度不支持下载' });
      return;
    }
    this.manager.add(info, t);
    this.set({ picking: null, notice: '' });
  }

  cancelPick(): void {
    this.set({ picking: null });
  }

  pause(id: string): void {
    this.manager.pause(id);
  }
  resume(id: string): void {
    this.manager.resume(id);
  }
  /** 删除: asks first (the file and the progress are gone), then removes the item and its files. */
  async remove(id: string): Promise<boolean> {
    const i = this.state.items.find((x) => x.id === id);
    if (!i || this.state.confirmingId) return false;
    if (this.confirm) {
      this.set({ confirmingId: id });
      const what = i.state === 'completed' ? '下载好的文件会从手机上删除。' : '已下载的部分会被丢弃。';
      const ok = await this.confirm('删除下载？', `「${i.title}」${what}`, '删除');
      this.set({ confirmingId: '' });
      if (!ok || this.destroyed) return false;
    }
    if (this.state.playing && this.state.playing.id === id) this.set({ playing: null });
    await this.manager.remove(id);
    await this.refreshStorage();
    return true;
  }

  /** Play a completed item from its local file. */
  play(id: string): void {
    const i = this.state.items.find((x) => x.id === id);
    if (!i || i.state !== 'completed' || !i.filePath) return;
    this.set({ playing: { id, src: i.filePath, title: i.title, poster: i.coverUrl || '' } });
  }
  closePlayer(): void {
    this.set({ playing: null });
  }

  async saveToAlbum(id: string): Promise<void> {
    const i = this.state.items.find((x) => x.id === id);
    if (!i || !i.filePath || !this.adapter.saveVideoToPhotosAlbum) return;
    try {
      await this.adapter.saveVideoToPhotosAlbum(i.filePath);
      this.set({ notice: '已保存到相册' });
    } catch (e) {
      const msg = (e as Error).message || String(e);
      this.set({ notice: /auth|deny|denied/i.test(msg) ? '保存失败：请在设置中允许小程序访问相册' : '保存失败，请稍后重试', debug: msg });
    }
  }

  destroy(): void {
    this.destroyed = true;
    this.manager.destroy();
  }
}
