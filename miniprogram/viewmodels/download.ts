/**
 * 下载 (download) tab view-model: library → pick a definition (size shown) → queue with progress, speed, ETA,
 * pause / resume / delete → play offline from the local file → 保存到相册 (MP4); storage used / 200 MB; items a kill
 * left unfinished come back (stopped) on launch. Plain TS over the SDK's DownloadManager; the page only binds it.
 */
import { AppClient, DownloadItem, DownloadManager, MediaInfo, PlatformAdapter, WECHAT_USER_STORAGE_QUOTA } from 'mp-media-sdk';

export interface LibraryVideo {
  videoId: string;
  title: string;
  duration: number;
  coverUrl: string;
  status: string;
  mine: boolean;
}

export interface TrackChoice {
  trackIndex: number;
  label: string;
  sizeText: string;
  supported: boolean;
  reason: string;
}

export type ItemView = DownloadItem & { sizeText: string; speedText: string; etaText: string; stateText: string };

export interface DownloadState {
  status: 'loading' | 'ready' | 'error';
  error: string;
  videos: LibraryVideo[];
  picking: { videoId: string; title: string; tracks: TrackChoice[] } | null;
  items: ItemView[];
  storageText: string;
  playing: { id: string; src: string; title: string } | null;
  notice: string;
}

const MB = 1024 * 1024;
const DEF: Record<string, string> = { FD: '流畅 FD', LD: '标清 LD', SD: '高清 SD', HD: '超清 HD', OD: '原画 OD', '2K': '2K', '4K': '4K' };
const STATE: Record<string, string> = { wait: '等待中', downloading: '下载中', processing: '处理中', stopped: '已暂停', completed: '已完成', error: '失败' };

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

function view(i: DownloadItem): ItemView {
  return { ...i, sizeText: sizeText(i.size), speedText: speedText(i.speed), etaText: etaText(i.eta), stateText: i.state === 'stopped' && i.stopReason === 'background' ? '已暂停（后台）' : STATE[i.state] || i.state };
}

export class DownloadViewModel {
  state: DownloadState = { status: 'loading', error: '', videos: [], picking: null, items: [], storageText: '', playing: null, notice: '' };
  readonly manager: DownloadManager;
  private readonly app: AppClient;
  private readonly adapter: PlatformAdapter;
  private readonly onChange: (patch: Record<string, unknown>) => void;
  private destroyed = false;

  constructor(o: { appClient: AppClient; adapter: PlatformAdapter; onChange: (patch: Record<string, unknown>) => void; saveDir?: string; maxConcurrent?: number }) {
    this.app = o.appClient;
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
      this.set({ status: 'ready', videos: r.videos, error: '' });
    } catch (e) {
      this.set({ status: 'error', error: (e as Error).message });
    }
  }

  async refreshStorage(): Promise<void> {
    const used = await this.manager.storageUsed();
    this.set({ storageText: `${sizeText(used)} / ${WECHAT_USER_STORAGE_QUOTA / MB} MB` });
  }

  /** Show the tracks of a video to pick one. */
  async pick(videoId: string): Promise<void> {
    const v = this.state.videos.find((x) => x.videoId === videoId);
    try {
      const info: MediaInfo = await this.manager.tracks(videoId);
      const tracks = info.tracks.map((t) => ({
        trackIndex: t.trackIndex,
        label: `${DEF[t.vodDefinition] || t.vodDefinition} · ${t.vodFormat.toUpperCase()}${t.encrypt ? ' · 加密' : ''}`,
        sizeText: sizeText(t.vodFileSize),
        supported: t.supported,
        reason: t.unsupportedReason || '',
      }));
      this.pickInfo = info;
      this.set({ picking: { videoId, title: info.title || (v ? v.title : videoId), tracks }, notice: '' });
    } catch (e) {
      this.set({ notice: `无法下载：${(e as Error).message}` });
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
  async remove(id: string): Promise<void> {
    if (this.state.playing && this.state.playing.id === id) this.set({ playing: null });
    await this.manager.remove(id);
    await this.refreshStorage();
  }

  /** Play a completed item from its local file. */
  play(id: string): void {
    const i = this.state.items.find((x) => x.id === id);
    if (!i || i.state !== 'completed' || !i.filePath) return;
    this.set({ playing: { id, src: i.filePath, title: i.title } });
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
      this.set({ notice: `保存失败：${(e as Error).message}` });
    }
  }

  destroy(): void {
    this.destroyed = true;
    this.manager.destroy();
  }
}
