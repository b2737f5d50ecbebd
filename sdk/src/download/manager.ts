/**
 * DownloadManager: many AliMediaDownloader items behind one queue (the demo's AliyunDownloadManager, made better):
 * `maxConcurrent` running (default 2, max 5), the rest waiting; states wait / downloading / processing / stopped /
 * completed / error; persistence through each item's checkpoint plus a small item list in storage; progress for
 * setData at most 4 times a second per item, as path-based patches (`{'items[2].percent': 40}`), on the adapter's clock.
 */
import { getDefaultAdapter } from '../platform';
import type { PlatformAdapter } from '../platform/types';
import { AliMediaDownloader, DownloaderOptions, DownloadCheckpoint } from './downloader';
import { DownloaderError } from './errors';
import type { ErrorModel } from './errors';
import type { SecureKeySource } from './secure';
import type { DownloadSource, MediaInfo, TrackInfo } from './playinfo';

export type ItemState = 'wait' | 'downloading' | 'processing' | 'stopped' | 'completed' | 'error';

export interface DownloadItem {
  id: string;
  vid: string;
  title: string;
  coverUrl: string;
  definition: string;
  format: string;
  trackIndex: number;
  size: number;
  state: ItemState;
  percent: number;
  /** Bytes a second over the last few seconds (0 when idle). */
  speed: number;
  /** Seconds left (undefined when unknown). */
  eta?: number;
  filePath?: string;
  error?: { code: number; name: string; message: string };
  stopReason?: string;
}

export interface DownloadManagerOptions extends DownloaderOptions {
  saveDir: string;
  /** Items downloading at once (default 2, 1..5). */
  maxConcurrent?: number;
  /** The source for an item (called when it starts, so credentials are fresh), e.g. (vid) => ({vid, appClient}). */
  source: (vid: string) => DownloadSource;
  /** Path-based patches for setData, at most 4 per second per item (progress) or at once (state changes). */
  onChange?: (patch: Record<string, unknown>, items: DownloadItem[]) => void;
  /** ms between progress patches of one item (default 250 = 4/s). */
  throttleMs?: number;
}

const LIST_KEY = 'mp-media-kit:download-manager';

export class DownloadManager {
  readonly items: DownloadItem[] = [];
  private readonly adapter: PlatformAdapter;
  private readonly maxConcurrent: number;
  private readonly throttleMs: number;
  private readonly downloaders = new Map<string, AliMediaDownloader>();
  private readonly lastPatch = new Map<string, number>();
  private readonly pendingPatch = new Map<string, unknown>();
  private readonly timers = new Map<string, unknown>();
  private readonly samples = new Map<string, Array<[number, number]>>();

  constructor(private readonly options: DownloadManagerOptions) {
    this.adapter = options.adapter || getDefaultAdapter();
    this.maxConcurrent = Math.max(1, Math.min(options.maxConcurrent || 2, 5));
    this.throttleMs = options.throttleMs === undefined ? 250 : options.throttleMs;
  }

  /** Tracks of a video (a probe prepare), for the "pick a definition" step. */
  async tracks(vid: string): Promise<MediaInfo> {
    const d = new AliMediaDownloader({ ...this.options, adapter: this.adapter });
    try {
      return await d.prepare(this.options.source(vid));
    } finally {
      d.destroy();
    }
  }

  /** Items a previous run left: completed ones from the list, unfinished ones from their checkpoints (stopped). */
  async restore(): Promise<DownloadItem[]> {
    const saved = this.adapter.storage.get<DownloadItem[]>(LIST_KEY) || [];
    const unfinished = await AliMediaDownloader.restoreUnfinished({ ...this.options, adapter: this.adapter, source: (c: DownloadCheckpoint) => this.options.source(c.vid) });
    for (const s of saved) {
      if (this.items.some((x) => x.id === s.id)) continue;
      const d = unfinished.find((u) => this.idOf(u.mediaInfo!.vid, u.selectedTrack!.vodFormat, u.selectedTrack!.trackIndex) === s.id);
      if (d) {
        const item: DownloadItem = { ...s, state: 'stopped', speed: 0, eta: undefined, percent: d.progress.total ? Math.floor((d.progress.written * 100) / d.progress.total) : s.percent, stopReason: 'restored' };
        this.items.push(item);
        this.attach(item, d);
      } else if (s.state === 'completed' && s.filePath && (await this.adapter.fs.exists(s.filePath))) {
        this.items.push({ ...s, speed: 0, eta: undefined });
      }
    }
    for (const d of unfinished) {
      const id = this.idOf(d.mediaInfo!.vid, d.selectedTrack!.vodFormat, d.selectedTrack!.trackIndex);
      if (this.items.some((x) => x.id === id)) continue;
      const t = d.selectedTrack!;
      const item: DownloadItem = { id, vid: d.mediaInfo!.vid, title: d.mediaInfo!.title, coverUrl: d.mediaInfo!.coverUrl, definition: t.vodDefinition, format: t.vodFormat, trackIndex: t.trackIndex, size: t.vodFileSize, state: 'stopped', percent: d.progress.total ? Math.floor((d.progress.written * 100) / d.progress.total) : 0, speed: 0, stopReason: 'restored' };
      this.items.push(item);
      this.attach(item, d);
    }
    this.persist();
    this.change({ items: this.items.slice() });
    return this.items;
  }

  private idOf(vid: string, format: string, index: number): string {
    return `${vid}_${format}_${index}`;
  }

  /** Queue a track of a prepared video; starts when a slot is free. */
  add(info: MediaInfo, track: TrackInfo): DownloadItem {
    const id = this.idOf(info.vid, track.vodFormat, track.trackIndex);
    const existing = this.items.find((x) => x.id === id);
    if (existing) return existing;
    const item: DownloadItem = { id, vid: info.vid, title: info.title, coverUrl: info.coverUrl, definition: track.vodDefinition, format: track.vodFormat, trackIndex: track.trackIndex, size: track.vodFileSize, state: 'wait', percent: 0, speed: 0 };
    this.items.push(item);
    this.persist();
    this.change({ items: this.items.slice() });
    this.pump();
    return item;
  }

  private attach(item: DownloadItem, d: AliMediaDownloader): void {
    this.downloaders.set(item.id, d);
    d.setDelegate({
      onDownloadingProgress: (_d, p) => this.progress(item, p, d.progress.written, d.progress.total),
      onProcessingProgress: () => {
        if (item.state !== 'processing') this.set(item, { state: 'processing' });
      },
      onCompletion: () => {
        this.set(item, { state: 'completed', percent: 100, speed: 0, eta: undefined, filePath: d.getFilePath() });
        this.downloaders.delete(item.id);
        d.destroy();
        this.pump();
      },
      onError: (_d, e: ErrorModel) => {
        this.set(item, { state: 'error', speed: 0, eta: undefined, error: { code: e.code, name: e.name, message: e.message } });
        this.pump();
      },
    });
  }

  private index(item: DownloadItem): number {
    return this.items.indexOf(item);
  }

  private set(item: DownloadItem, patch: Partial<DownloadItem>): void {
    Object.assign(item, patch);
    const i = this.index(item);
    if (i < 0) return;
    // a state change carries the pending progress with it (one patch, not two)
    const pending = this.pendingPatch.get(item.id) as Record<string, unknown> | undefined;
    this.pendingPatch.delete(item.id);
    const h = this.timers.get(item.id);
    if (h !== undefined) {
      this.adapter.clearTimeout(h);
      this.timers.delete(item.id);
    }
    const p: Record<string, unknown> = Object.assign({}, pending || {});
    for (const k of Object.keys(patch)) p[`items[${i}].${k}`] = (patch as Record<string, unknown>)[k];
    this.persist();
    this.change(p);
  }

  private progress(item: DownloadItem, percent: number, written: number, total: number): void {
    const now = this.adapter.now();
    const s = this.samples.get(item.id) || [];
    s.push([now, written]);
    while (s.length > 2 && now - s[0][0] > 3000) s.shift();
    this.samples.set(item.id, s);
    const dt = (s[s.length - 1][0] - s[0][0]) / 1000;
    const speed = dt > 0 ? Math.max(0, (s[s.length - 1][1] - s[0][1]) / dt) : 0;
    Object.assign(item, { percent, speed: Math.round(speed), eta: speed > 0 && total ? Math.ceil((total - written) / speed) : undefined });
    const i = this.index(item);
    if (i < 0) return;
    this.pendingPatch.set(item.id, { [`items[${i}].percent`]: item.percent, [`items[${i}].speed`]: item.speed, [`items[${i}].eta`]: item.eta });
    const last = this.lastPatch.get(item.id) || -Infinity;
    if (now - last >= this.throttleMs) this.flushPending(item);
    else if (!this.timers.has(item.id)) {
      this.timers.set(
        item.id,
        this.adapter.setTimeout(() => {
          this.timers.delete(item.id);
          this.flushPending(item);
        }, this.throttleMs - (now - last)),
      );
    }
  }

  private flushPending(item: DownloadItem): void {
    const p = this.pendingPatch.get(item.id) as Record<string, unknown> | undefined;
    const h = this.timers.get(item.id);
    if (h !== undefined) {
      this.adapter.clearTimeout(h);
      this.timers.delete(item.id);
    }
    if (!p) return;
    this.pendingPatch.delete(item.id);
    this.lastPatch.set(item.id, this.adapter.now());
    this.change(p);
  }

  private change(patch: Record<string, unknown>): void {
    if (this.options.onChange) this.options.onChange(patch, this.items);
  }

  private persist(): void {
    try {
      this.adapter.storage.set(
        LIST_KEY,
        this.items.map((x) => ({ ...x, speed: 0, eta: undefined })),
      );
    } catch (e) {
      this.adapter.warn('download list not saved', e);
    }
  }

  /** Start waiting items while fewer than maxConcurrent run. */
  private pump(): void {
    let running = this.items.filter((x) => x.state === 'downloading' || x.state === 'processing').length;
    for (const item of this.items) {
      if (running >= this.maxConcurrent) break;
      if (item.state !== 'wait') continue;
      running++;
      void this.run(item);
    }
  }

  private async run(item: DownloadItem): Promise<void> {
    let d = this.downloaders.get(item.id);
    this.set(item, { state: 'downloading', error: undefined, stopReason: undefined });
    try {
      if (!d) {
        d = new AliMediaDownloader({ ...this.options, adapter: this.adapter });
        d.setSaveDirectory(this.options.saveDir);
        this.attach(item, d);
        await d.prepare(this.options.source(item.vid));
        d.selectTrack(item.trackIndex);
      } else {
        d.updateSource(this.options.source(item.vid));
      }
      await d.start();
    } catch (_) {
      // errors arrive through onError; a stop leaves the item stopped
      if (d && d.state === 'stopped' && item.state === 'downloading') this.set(item, { state: 'stopped', speed: 0, eta: undefined, stopReason: d.stopReason });
      if (d && d.state === 'stopped' && d.stopReason === 'background') {
        // it continues by itself on onAppShow
      }
      this.pump();
    }
  }

  /**
   * A path `<video>` can play for a completed item: its file, or for a secure download (`secure: true`, a `.enc`
   * file) a decrypted temp copy; remove that with AliMediaDownloader.closeSecure(path) when playback ends.
   */
  async playablePath(id: string): Promise<string> {
    const item = this.items.find((x) => x.id === id);
    if (!item || item.state !== 'completed' || !item.filePath) throw new DownloaderError('DOWNLOAD_ERROR_FILE_NOT_EXIST', `Item ${id} is not a completed download.`);
    if (!/\.enc$/.test(item.filePath)) return item.filePath;
    const key = this.options.secureKey || (this.options.source(item.vid) as { appClient?: SecureKeySource }).appClient;
    return AliMediaDownloader.openSecure(item.filePath, { key: key!, adapter: this.adapter, storageQuota: this.options.storageQuota });
  }

  /** Pause an item (keeps its bytes). */
  pause(id: string): void {
    const item = this.items.find((x) => x.id === id);
    if (!item) return;
    const d = this.downloaders.get(id);
    if (item.state === 'wait') this.set(item, { state: 'stopped', stopReason: 'user' });
    else if (d && (item.state === 'downloading' || item.state === 'processing')) {
      d.stop();
      this.set(item, { state: 'stopped', speed: 0, eta: undefined, stopReason: 'user' });
    }
    this.pump();
  }

  /** Resume a stopped or failed item (queued if all slots are busy). */
  resume(id: string): void {
    const item = this.items.find((x) => x.id === id);
    if (!item || (item.state !== 'stopped' && item.state !== 'error')) return;
    this.set(item, { state: 'wait', error: undefined });
    this.pump();
  }

  /** Remove an item and its files. */
  async remove(id: string): Promise<void> {
    const i = this.items.findIndex((x) => x.id === id);
    if (i < 0) return;
    const item = this.items[i];
    const d = this.downloaders.get(id);
    if (d) {
      d.stop();
      await d.deleteFile().catch(() => undefined);
      d.destroy();
      this.downloaders.delete(id);
    }
    await AliMediaDownloader.deleteFile(this.options.saveDir, item.vid, item.format, item.trackIndex, this.adapter);
    this.items.splice(i, 1);
    this.persist();
    this.change({ items: this.items.slice() });
    this.pump();
  }

  /** Bytes used by user files (for "storage used / 200 MB"). */
  async storageUsed(): Promise<number> {
    const fs = this.adapter.fs;
    return fs.usage ? fs.usage(fs.userDataPath).catch(() => 0) : 0;
  }

  destroy(): void {
    for (const d of this.downloaders.values()) d.destroy();
    this.downloaders.clear();
    for (const h of this.timers.values()) this.adapter.clearTimeout(h);
    this.timers.clear();
  }
}
