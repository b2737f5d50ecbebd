/**
 * AliMediaDownloader for WeChat mini-programs: the flow and names of Aliyun's native downloader (seed 000):
 *
 *   const d = new AliMediaDownloader();
 *   d.setSaveDirectory(`${wx.env.USER_DATA_PATH}/downloads`);
 *   d.setDelegate({ onPrepared, onError, onDownloadingProgress, onProcessingProgress, onCompletion });
 *   const info = await d.prepare({ vid, appClient });      // or VidSts / VidAuth
 *   d.selectTrack(info.tracks[0].trackIndex);
 *   d.updateWithVid(freshSource);                            // optional: fresh credentials before start
 *   const filePath = await d.start();
 *   d.destroy();
 *
 * MP4 / MP3: HTTP Range chunks (several in flight, within a shared network budget) appended in order to
 * `${saveDir}/${vid}_${format}_${index}.mp4.part`, checked against Content-Range, the size and the ETag; a checkpoint
 * per item (wx storage) records the committed bytes; the .part becomes the final file only when complete.
 * A 403 (URL expired) gets fresh play info and continues from the committed byte. "interrupted" (background) stops
 * the item (reason 'background') and it continues on onAppShow. See docs/download.md.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import { AbortControllerLike } from '../platform/abort';
import { getDefaultAdapter } from '../platform';
import { Limiter } from '../platform/limiter';
import { getHeader, PlatformAdapter } from '../platform/types';
import { DownloaderError, DownloaderErrorName, ErrorModel, httpStatusName } from './errors';
import { buildMediaInfo, DownloadSource, fetchPlayInfo, MediaInfo, sourceKind, TrackInfo } from './playinfo';
import { decryptAes128Cbc, HlsSegment, parsePlaylist, segmentIv, TsToMp4 } from './hls';
import { cipherFor, cleanupSecurePlayback, closeSecureFile, CtrCipher, decodeHeader, encodeHeader, fetchSecureKey, newSecureFile, openSecureFile, SECURE_HEADER_SIZE, SecureKeySource } from './secure';

export type DownloaderState = 'idle' | 'preparing' | 'prepared' | 'downloading' | 'stopped' | 'processing' | 'completed' | 'error' | 'released';

/** The iOS AMDDelegate (all optional). */
export interface AMDDelegate {
  onPrepared?(downloader: AliMediaDownloader, mediaInfo: MediaInfo): void;
  onError?(downloader: AliMediaDownloader, errorModel: ErrorModel): void;
  onDownloadingProgress?(downloader: AliMediaDownloader, percent: number): void;
  onProcessingProgress?(downloader: AliMediaDownloader, percent: number): void;
  onCompletion?(downloader: AliMediaDownloader): void;
}

export interface DownloaderConfig {
  /** Per-request timeout in ms (iOS timeoutMs, default 15000; WeChat caps at 60000). */
  timeoutMs?: number;
  /** Range chunk size in bytes (default 2 MiB). */
  chunkSize?: number;
  /** Chunks in flight per item (default 3). */
  parallel?: number;
  /** Retries of a failed chunk (network / 5xx) before the item fails (default 3). */
  retryCount?: number;
  retryDelayMs?: number;
  /** Continue an item stopped by the background on wx.onAppShow (default true). */
  resumeOnShow?: boolean;
  /** Bytes of user-file storage the mini-program has (WeChat: 200 MB for user files + saved files). */
  storageQuota?: number;
  /**
   * Secure download: the file is AES-128-CTR encrypted at rest with the user's key for this video (AppServer
   * `POST /api/vod/download-key`) and saved as `<name>.mp4.enc`; play it through getPlayablePath() / openSecure().
   */
  secure?: boolean;
}

export interface DownloaderOptions extends DownloaderConfig {
  adapter?: PlatformAdapter;
  /** Where secure mode gets its key: an AppClient, or (vid) => {key, keyId}. Default: the source's appClient. */
  secureKey?: SecureKeySource;
}

/** The checkpoint of one item (wx storage key `mp-media-kit:download:<vid>_<format>_<index>`). */
export interface DownloadCheckpoint {
  v: 1;
  vid: string;
  title: string;
  coverUrl: string;
  duration: number;
  saveDir: string;
  trackIndex: number;
  definition: string;
  format: string;
  jobId?: string;
  size: number;
  etag?: string;
  committed: number;
  partPath: string;
  filePath: string;
  sourceKind: 'sts' | 'auth' | 'app';
  /** Secure download (encrypted at rest). */
  secure?: boolean;
  state: 'downloading' | 'stopped' | 'error';
  updatedAt: number;
}

export const DOWNLOAD_CHECKPOINT_PREFIX = 'mp-media-kit:download:';
const MB = 1024 * 1024;
export const WECHAT_USER_STORAGE_QUOTA = 200 * MB;

/** One network budget for every downloader (the adapter's own limiter keeps uploads + downloads ≤ 10). */
const downloadBudget = new Limiter(6);
/** Set the most download requests in flight for all downloaders together (default 6 of WeChat's 10). */
export function setDownloadNetworkBudget(max: number): void {
  downloadBudget.max = Math.max(1, Math.min(10, Math.floor(max) || 1));
}

function isQuotaError(e: unknown): boolean {
  const d = e instanceof MediaKitError ? e.details : {};
  return d.errno === 1300202 || /maximum size of the file storage|storage limit is exceeded|1300202/i.test(String(d.errMsg || (e as Error).message));
}

/** Numeric options: wrong types, NaN, negative or zero sizes are refused (INVALID_OPTION) rather than defaulted. */
function validateConfig(c: DownloaderConfig): void {
  const rules: Array<[keyof DownloaderConfig, number, string]> = [
    ['chunkSize', 1, 'a whole number of bytes ≥ 1 (default 2 MiB)'],
    ['parallel', 1, 'a whole number ≥ 1 (at most 6 are used)'],
    ['timeoutMs', 1, 'milliseconds ≥ 1 (WeChat caps at 60000)'],
    ['retryCount', 0, 'a whole number ≥ 0'],
    ['retryDelayMs', 0, 'milliseconds ≥ 0'],
    ['storageQuota', 1, 'bytes ≥ 1'],
  ];
  for (const [k, min, what] of rules) {
    const v = c[k] as unknown;
    if (v === undefined) continue;
    const whole = k !== 'timeoutMs' && k !== 'retryDelayMs';
    if (typeof v !== 'number' || !isFinite(v) || v < min || (whole && Math.floor(v) !== v)) {
      throw new MediaKitError('INVALID_OPTION', `AliMediaDownloader ${k}: ${what}; got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}.`, { option: k });
    }
  }
}

function itemName(vid: string, format: string, index: number): string {
  return `${vid}_${format}_${index}`;
}

export class AliMediaDownloader {
  private readonly adapter: PlatformAdapter;
  private readonly config: Required<DownloaderConfig>;
  private saveDir: string | undefined;
  private delegate: AMDDelegate | undefined;
  private listeners: {
    prepared?: (info: MediaInfo) => void;
    error?: (e: ErrorModel) => void;
    downloading?: (p: number) => void;
    processing?: (p: number) => void;
    completion?: () => void;
  } = {};
  private source: DownloadSource | undefined;
  private sourceUpdated = false;
  private info: MediaInfo | undefined;
  private infoAt = 0;
  private selected: TrackInfo | undefined;
  private ctl: AbortControllerLike | undefined;
  private running: Promise<string> | undefined;
  private filePath = '';
  private lastPercent = -1;
  private lastEmit = 0;
  private progressTimer: unknown = undefined;
  private offShow: (() => void) | undefined;
  private restored: DownloadCheckpoint | undefined;
  /** Why the item is stopped: 'user' (stop()), 'background' (interrupted), 'restored' (after an app restart). */
  stopReason: 'user' | 'background' | 'restored' | undefined;
  private _state: DownloaderState = 'idle';
  /** Bytes committed to the file / total, for UIs that show sizes and speed. */
  progress = { written: 0, total: 0 };
  /** The last error reported. */
  lastError: ErrorModel | undefined;

  constructor(options: DownloaderOptions = {}) {
    if (options === null || typeof options !== 'object') throw new MediaKitError('INVALID_OPTION', 'AliMediaDownloader options must be an object.');
    validateConfig(options);
    this.adapter = options.adapter || getDefaultAdapter();
    this.config = {
      timeoutMs: options.timeoutMs || 15000,
      chunkSize: options.chunkSize || 2 * MB,
      parallel: Math.max(1, Math.min(options.parallel || 3, 6)),
      retryCount: options.retryCount === undefined ? 3 : options.retryCount,
      retryDelayMs: options.retryDelayMs === undefined ? 1000 : options.retryDelayMs,
      resumeOnShow: options.resumeOnShow !== false,
      storageQuota: options.storageQuota || WECHAT_USER_STORAGE_QUOTA,
      secure: !!options.secure,
    };
    this.secureKey = options.secureKey;
  }

  private secureKey: SecureKeySource | undefined;
  /** The content cipher of the running secure download (header nonce + the user's key). */
  private cipher: CtrCipher | undefined;

  /** Secure download on / off (before start()); `key` as DownloaderOptions.secureKey. */
  setSecureMode(on: boolean, key?: SecureKeySource): void {
    if (this.running) throw this.fail(new DownloaderError('DOWNLOAD_ERROR_CLEAN_WRONG_STATUS', 'Change the secure mode before start() (or after stop()).'), this._state);
    this.config.secure = !!on;
    if (key) this.secureKey = key;
  }
  get secure(): boolean {
    return this.config.secure;
  }

  private keySource(): SecureKeySource | undefined {
    return this.secureKey || (this.source && (this.source as { appClient?: SecureKeySource }).appClient);
  }

  /**
   * A path `<video>` can play: the file itself for a normal download; for a secure one, a decrypted temp copy
   * (openSecure). Remove it with AliMediaDownloader.closeSecure(path) when playback ends.
   */
  async getPlayablePath(): Promise<string> {
    if (!this.filePath) throw new DownloaderError('DOWNLOAD_ERROR_FILE_NOT_EXIST', 'Nothing downloaded yet.', { videoId: this.source && this.source.vid });
    if (!this.config.secure) return this.filePath;
    return openSecureFile(this.filePath, { adapter: this.adapter, key: this.keySource()!, storageQuota: this.config.storageQuota });
  }

  /** Decrypts a secure download (a `.enc` file) to a temp file for `<video>`; DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH for another user's key. */
  static openSecure(filePath: string, options: { key: SecureKeySource; adapter?: PlatformAdapter; storageQuota?: number }): Promise<string> {
    return openSecureFile(filePath, { adapter: options.adapter || getDefaultAdapter(), key: options.key, storageQuota: options.storageQuota || WECHAT_USER_STORAGE_QUOTA });
  }
  /** Removes a decrypted copy made by openSecure / getPlayablePath. */
  static closeSecure(path: string, adapter: PlatformAdapter = getDefaultAdapter()): Promise<void> {
    return closeSecureFile(adapter, path);
  }
  /** Removes every decrypted copy (restoreUnfinished and DownloadManager.restore call it at launch). */
  static cleanupSecurePlayback(adapter: PlatformAdapter = getDefaultAdapter()): Promise<number> {
    return cleanupSecurePlayback(adapter);
  }

  /** AliDownloaderFactory.create */
  static create(options?: DownloaderOptions): AliMediaDownloader {
    return new AliMediaDownloader(options);
  }

  get state(): DownloaderState {
    return this._state;
  }
  get mediaInfo(): MediaInfo | undefined {
    return this.info;
  }
  get selectedTrack(): TrackInfo | undefined {
    return this.selected;
  }
  /** iOS property name. */
  get downloadedFilePath(): string {
    return this.filePath;
  }

  // ------------------------------------------------------------------ configuration

  setSaveDirectory(dir: string): void {
    this.saveDir = dir ? String(dir).replace(/\/+$/, '') : undefined;
  }
  setSaveDir(dir: string): void {
    this.setSaveDirectory(dir);
  }
  setDelegate(d: AMDDelegate | undefined): void {
    this.delegate = d;
  }
  setConfig(c: DownloaderConfig): void {
    if (c === null || typeof c !== 'object') throw new MediaKitError('INVALID_OPTION', 'setConfig() needs an object.');
    validateConfig(c);
    const cfg = this.config as unknown as Record<string, unknown>;
    for (const k of Object.keys(c)) if ((c as Record<string, unknown>)[k] !== undefined) cfg[k] = (c as Record<string, unknown>)[k];
    this.config.parallel = Math.min(this.config.parallel, 6);
  }
  setDownloaderConfig(c: DownloaderConfig): void {
    this.setConfig(c);
  }
  getConfig(): DownloaderConfig {
    return { ...this.config };
  }
  setOnPreparedListener(l: ((info: MediaInfo) => void) | { onPrepared(info: MediaInfo): void } | undefined): void {
    this.listeners.prepared = typeof l === 'function' ? l : l ? (i) => l.onPrepared(i) : undefined;
  }
  setOnErrorListener(l: ((e: ErrorModel) => void) | { onError(e: ErrorModel): void } | undefined): void {
    this.listeners.error = typeof l === 'function' ? l : l ? (e) => l.onError(e) : undefined;
  }
  setOnProgressListener(l: { onDownloadingProgress?(p: number): void; onProcessingProgress?(p: number): void } | undefined): void {
    this.listeners.downloading = l && l.onDownloadingProgress ? (p) => l.onDownloadingProgress!(p) : undefined;
    this.listeners.processing = l && l.onProcessingProgress ? (p) => l.onProcessingProgress!(p) : undefined;
  }
  setOnCompletionListener(l: (() => void) | { onCompletion(): void } | undefined): void {
    this.listeners.completion = typeof l === 'function' ? l : l ? () => l.onCompletion() : undefined;
  }

  // ------------------------------------------------------------------ events (always asynchronous, errors in user code reported)

  private emit(kind: 'prepared' | 'error' | 'downloading' | 'processing' | 'completion', arg?: unknown): void {
    Promise.resolve().then(() => {
      const call = (fn: (() => void) | undefined) => {
        if (!fn) return;
        try {
          fn();
        } catch (e) {
          this.adapter.warn(`AliMediaDownloader ${kind} callback threw`, e);
        }
      };
      const d = this.delegate;
      switch (kind) {
        case 'prepared':
          call(d && d.onPrepared && (() => d.onPrepared!(this, arg as MediaInfo)));
          call(this.listeners.prepared && (() => this.listeners.prepared!(arg as MediaInfo)));
          break;
        case 'error':
          call(d && d.onError && (() => d.onError!(this, arg as ErrorModel)));
          call(this.listeners.error && (() => this.listeners.error!(arg as ErrorModel)));
          break;
        case 'downloading':
          call(d && d.onDownloadingProgress && (() => d.onDownloadingProgress!(this, arg as number)));
          call(this.listeners.downloading && (() => this.listeners.downloading!(arg as number)));
          break;
        case 'processing':
          call(d && d.onProcessingProgress && (() => d.onProcessingProgress!(this, arg as number)));
          call(this.listeners.processing && (() => this.listeners.processing!(arg as number)));
          break;
        case 'completion':
          call(d && d.onCompletion && (() => d.onCompletion!(this)));
          call(this.listeners.completion && (() => this.listeners.completion!()));
          break;
      }
    });
  }

  /** Reports `e` once (onError) and returns the DownloaderError to reject with. */
  private fail(e: unknown, state: DownloaderState = 'error'): DownloaderError {
    const err = e instanceof DownloaderError ? e : new DownloaderError('ERROR_UNKNOWN', (e as Error).message || String(e), { cause: e });
    if (!err.model.videoId && this.source) err.model.videoId = this.source.vid;
    this._state = state;
    this.lastError = err.model;
    this.emit('error', err.model);
    return err;
  }

  private reject<T>(name: DownloaderErrorName, message: string): Promise<T> {
    return Promise.reject(this.fail(new DownloaderError(name, message, { videoId: this.source && this.source.vid }), this._state === 'released' ? 'released' : this._state === 'idle' ? 'idle' : this._state));
  }

  // ------------------------------------------------------------------ prepare

  /** Prepare a source (VidSts, VidAuth or {vid, appClient}); one terminal event: onPrepared or onError. */
  prepare(source: DownloadSource): Promise<MediaInfo> {
    if (this._state === 'released') return this.reject('ERROR_UNKNOWN', 'The downloader was released.');
    if (this._state === 'downloading' || this._state === 'processing') return this.reject('DOWNLOAD_ERROR_CLEAN_WRONG_STATUS', 'Stop the download before preparing another source.');
    if (!source) return this.reject('DOWNLOAD_ERROR_STS_SOURCE_NULL', 'prepare() needs a source.');
    this.source = source;
    this.sourceUpdated = false;
    this._state = 'preparing';
    return fetchPlayInfo({ adapter: this.adapter, now: () => this.adapter.now(), timeout: this.config.timeoutMs }, source).then(
      (r) => {
        const info = buildMediaInfo(r, true);
        this.info = info;
        this.infoAt = this.adapter.now();
        if (this.selected) this.selected = info.tracks.find((t) => t.trackIndex === this.selected!.trackIndex);
        if (!info.tracks.some((t) => t.supported)) {
          const allPrivate = info.tracks.every((t) => t.encryptType === 'AliyunVoDEncryption');
          throw this.fail(new DownloaderError(allPrivate ? 'DOWNLOAD_ERROR_ENCRYPTION_NOT_SUPPORT' : 'DOWNLOAD_ERROR_NO_DOWNLOAD_ITEM', 'No track of this video can be downloaded here.', { videoId: source.vid }), 'error');
        }
        this._state = this.restored ? 'stopped' : 'prepared';
        this.emit('prepared', info);
        return info;
      },
      (e) => {
        throw this.fail(e, 'error');
      },
    );
  }
  prepareWithVid(source: DownloadSource): Promise<MediaInfo> {
    return this.prepare(source);
  }
  prepareWithPlayAuth(source: DownloadSource): Promise<MediaInfo> {
    return this.prepare(source);
  }

  /** Pick the track to download (TrackInfo.trackIndex). Throws DOWNLOAD_ERROR_INVALID_ITEM for an unknown index. */
  selectTrack(trackIndex: number): void {
    const t = this.info && this.info.tracks.find((x) => x.trackIndex === trackIndex);
    if (!t) throw this.fail(new DownloaderError('DOWNLOAD_ERROR_INVALID_ITEM', `No track ${trackIndex}: prepare first and pick one of mediaInfo.tracks.`), this._state);
    this.selected = t;
  }
  selectItem(trackIndex: number): void {
    this.selectTrack(trackIndex);
  }

  /** New credentials (or a new PlayAuth) for the same vid: the next start() asks for fresh play info. */
  updateSource(source: DownloadSource): void {
    if (!source || !source.vid) throw this.fail(new DownloaderError('DOWNLOAD_ERROR_STS_SOURCE_NULL', 'updateSource() needs a source with a vid.'), this._state);
    if (this.source && source.vid !== this.source.vid) throw this.fail(new DownloaderError('DOWNLOAD_ERROR_INVALID_ITEM', 'updateSource() must keep the vid (create another downloader for another video).'), this._state);
    this.source = source;
    this.sourceUpdated = true;
  }
  updateWithVid(source: DownloadSource): void {
    this.updateSource(source);
  }
  updateWithPlayAuth(source: DownloadSource): void {
    this.updateSource(source);
  }

  getFilePath(): string {
    return this.filePath;
  }

  // ------------------------------------------------------------------ start / stop / delete

  /** Start (or continue) the selected track; resolves with the file path; one terminal event (onCompletion / onError). */
  start(): Promise<string> {
    if (this._state === 'released') return this.reject('ERROR_UNKNOWN', 'The downloader was released.');
    if (this.running) return this.running;
    if (!this.saveDir) return this.reject('DOWNLOAD_ERROR_NOT_SET_SAVE_DIR', 'Call setSaveDirectory() before start().');
    if (!this.source) return this.reject(this.restored && this.restored.sourceKind === 'auth' ? 'DOWNLOAD_ERROR_AUTH_SOURCE_NULL' : 'DOWNLOAD_ERROR_STS_SOURCE_NULL', 'No source: prepare() (or updateSource() for a restored item) first.');
    if (!this.selected) return this.reject('DOWNLOAD_ERROR_NOT_SELECT_ITEM', 'Select a track (selectTrack) before start().');
    if (!this.selected.supported) {
      const t = this.selected;
      return this.reject(t.encryptType === 'AliyunVoDEncryption' ? 'DOWNLOAD_ERROR_ENCRYPTION_NOT_SUPPORT' : 'DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT', t.unsupportedReason || 'This track cannot be downloaded.');
    }
    if (this._state === 'completed') return Promise.resolve(this.filePath);
    const ctl = new AbortControllerLike();
    this.ctl = ctl;
    this.stopReason = undefined;
    this._state = 'downloading';
    const run = this.run(ctl).then(
      (path) => {
        this.running = undefined;
        return path;
      },
      (e) => {
        this.running = undefined;
        if (ctl.signal.aborted || (e instanceof MediaKitError && e.code === PlatformErrorCode.Aborted)) {
          // stop(), release() or background: not an error; the promise rejects with ABORTED, no onError
          if (this._state !== 'released') this._state = 'stopped';
          throw e instanceof MediaKitError ? e : new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
        }
        throw this.fail(e, 'error');
      },
    );
    this.running = run;
    return run;
  }

  /** Pause: aborts requests in flight, keeps the checkpoint and the committed bytes; start() continues. */
  stop(): void {
    if (this._state === 'downloading' || this._state === 'processing') {
      this.stopReason = 'user';
      this._state = 'stopped';
      if (this.ctl) this.ctl.abort('stop');
      this.saveCheckpoint({ state: 'stopped' });
    }
    if (this.offShow) {
      this.offShow();
      this.offShow = undefined;
    }
  }

  /** Delete this item's file, part file and checkpoint; only when not downloading (DOWNLOAD_ERROR_CLEAN_WRONG_STATUS). */
  async deleteFile(): Promise<void> {
    if (this._state === 'downloading' || this._state === 'processing' || this.running) {
      throw this.fail(new DownloaderError('DOWNLOAD_ERROR_CLEAN_WRONG_STATUS', 'Only stopped, completed or failed items can be deleted: stop() first.'), this._state);
    }
    const n = this.names();
    if (!n) throw this.fail(new DownloaderError('DOWNLOAD_ERROR_CLEAN_INVALID_PARAM', 'Nothing to delete: no save directory or no selected track.'), this._state);
    for (const p of [n.partPath, n.filePath]) if (await this.adapter.fs.exists(p)) await this.adapter.fs.unlink(p);
    this.adapter.storage.remove(n.key);
    this.filePath = '';
    this.progress = { written: 0, total: this.progress.total };
    if (this._state === 'completed' || this._state === 'error') this._state = this.info ? 'prepared' : 'idle';
  }

  /** Static delete by (saveDir, vid, format, index), as AliDownloaderFactory.deleteFile; resolves 0, or 11 on failure. */
  static async deleteFile(saveDir: string, vid: string, format: string, index: number, adapter: PlatformAdapter = getDefaultAdapter()): Promise<number> {
    try {
      const base = `${saveDir.replace(/\/+$/, '')}/${itemName(vid, format, index)}`;
      for (const ext of ['mp4', 'mp3', 'mp4.enc', 'mp3.enc']) for (const p of [`${base}.${ext}.part`, `${base}.${ext}`]) if (await adapter.fs.exists(p)) await adapter.fs.unlink(p);
      adapter.storage.remove(`${DOWNLOAD_CHECKPOINT_PREFIX}${itemName(vid, format, index)}`);
      return 0;
    } catch (_) {
      return 11;
    }
  }

  /** Abort and free; keeps files and the checkpoint (a later restoreUnfinished() finds an unfinished item). */
  destroy(): void {
    if (this.ctl) this.ctl.abort('release');
    if (this._state === 'downloading' || this._state === 'processing') this.saveCheckpoint({ state: 'stopped' });
    if (this.offShow) this.offShow();
    this.offShow = undefined;
    this._state = 'released';
    this.delegate = undefined;
    this.listeners = {};
  }
  release(): void {
    this.destroy();
  }

  // ------------------------------------------------------------------ restore after an app kill

  /**
   * Items left unfinished by a stop, a kill or a crash (≈ the 3.x onUnFinished): one stopped downloader each, track
   * selected. Give `source(item)` to bind a source (e.g. `{vid, appClient}`); otherwise call updateSource() before
   * start(). start() then continues from the committed bytes.
   */
  static async restoreUnfinished(options: DownloaderOptions & { source?: (c: DownloadCheckpoint) => DownloadSource | undefined } = {}): Promise<AliMediaDownloader[]> {
    const adapter = options.adapter || getDefaultAdapter();
    const out: AliMediaDownloader[] = [];
    // launch: decrypted playback copies a kill left behind go first
    await cleanupSecurePlayback(adapter).catch(() => 0);
    for (const key of adapter.storage.keys()) {
      if (key.indexOf(DOWNLOAD_CHECKPOINT_PREFIX) !== 0) continue;
      const c = adapter.storage.get<DownloadCheckpoint>(key);
      if (!c || c.v !== 1 || !c.vid) continue;
      const d = new AliMediaDownloader({ ...options, secure: !!c.secure });
      d.restored = c;
      d.saveDir = c.saveDir;
      d.info = { vid: c.vid, title: c.title, coverUrl: c.coverUrl, duration: c.duration, tracks: [] };
      d.selected = {
        trackIndex: c.trackIndex,
        index: c.trackIndex,
        vodDefinition: c.definition,
        vodFormat: c.format,
        vodFileSize: c.size,
        vodPlayUrl: '',
        bitrate: 0,
        width: 0,
        height: 0,
        encrypt: false,
        jobId: c.jobId,
        supported: true,
      };
      d.info.tracks.push(d.selected);
      let written = c.committed;
      if (c.format !== 'm3u8') {
        // the part file's length (the checkpoint's figure may be up to a second old)
        const st = await adapter.fs.stat(c.partPath).catch(() => undefined);
        if (st) written = Math.max(0, Math.min(c.size, st.size - (c.secure ? SECURE_HEADER_SIZE : 0)));
      }
      d.progress = { written, total: c.size };
      d._state = 'stopped';
      d.stopReason = 'restored';
      const s = options.source ? options.source(c) : undefined;
      if (s) {
        d.source = s;
        d.sourceUpdated = true;
      }
      out.push(d);
    }
    return out;
  }

  /** The item's checkpoint, if any. */
  get checkpoint(): DownloadCheckpoint | undefined {
    const n = this.names();
    return n ? this.adapter.storage.get<DownloadCheckpoint>(n.key) : undefined;
  }

  // ------------------------------------------------------------------ internals

  private names(): { key: string; partPath: string; filePath: string } | undefined {
    if (!this.saveDir || !this.selected || !this.info) return undefined;
    const name = itemName(this.info.vid, this.selected.vodFormat, this.selected.trackIndex);
    const ext = this.selected.vodFormat === 'mp3' ? 'mp3' : 'mp4';
    const filePath = `${this.saveDir}/${name}.${ext}${this.config.secure ? '.enc' : ''}`;
    return { key: `${DOWNLOAD_CHECKPOINT_PREFIX}${name}`, partPath: `${filePath}.part`, filePath };
  }

  private saveCheckpoint(patch: Partial<DownloadCheckpoint>): void {
    const n = this.names();
    if (!n || !this.info || !this.selected || !this.source) return;
    const prev = this.adapter.storage.get<DownloadCheckpoint>(n.key);
    const c: DownloadCheckpoint = Object.assign(
      {
        v: 1 as const,
        vid: this.info.vid,
        title: this.info.title,
        coverUrl: this.info.coverUrl,
        duration: this.info.duration,
        saveDir: this.saveDir!,
        trackIndex: this.selected.trackIndex,
        definition: this.selected.vodDefinition,
        format: this.selected.vodFormat,
        jobId: this.selected.jobId,
        size: this.selected.vodFileSize,
        committed: 0,
        partPath: n.partPath,
        filePath: n.filePath,
        sourceKind: sourceKind(this.source),
        secure: this.config.secure,
        state: 'downloading' as const,
        updatedAt: this.adapter.now(),
      },
      prev || {},
      patch,
      { updatedAt: this.adapter.now() },
    );
    try {
      this.adapter.storage.set(n.key, c);
    } catch (e) {
      this.adapter.warn('download checkpoint not saved', e);
    }
  }

  private emitProgress(written: number, total: number, force = false): void {
    this.progress = { written, total };
    const pct = total > 0 ? Math.min(100, Math.floor((written * 100) / total)) : 0;
    const now = this.adapter.now();
    if (pct === this.lastPercent) return;
    // ≤ 4 updates a second (a page can setData that often), but 100 always goes out; a throttled percent goes out
    // when the 250 ms are over (a trailing update), so the last figure shown is never older than that
    if (!force && pct < 100 && now - this.lastEmit < 250) {
      if (this.progressTimer === undefined) {
        this.progressTimer = this.adapter.setTimeout(() => {
          this.progressTimer = undefined;
          if (this._state === 'downloading') this.emitProgress(this.progress.written, this.progress.total);
        }, 250 - (now - this.lastEmit));
      }
      return;
    }
    if (this.progressTimer !== undefined) {
      this.adapter.clearTimeout(this.progressTimer);
      this.progressTimer = undefined;
    }
    this.lastPercent = pct;
    this.lastEmit = now;
    this.emit('downloading', pct);
  }

  /** Fresh play info for the same track (URL expired, source updated); checks it is still the same stream. */
  private async refreshTrack(): Promise<TrackInfo> {
    const r = await fetchPlayInfo({ adapter: this.adapter, now: () => this.adapter.now(), timeout: this.config.timeoutMs, signal: this.ctl && this.ctl.signal }, this.source!);
    const info = buildMediaInfo(r, true);
    const old = this.selected!;
    const t =
      info.tracks.find((x) => (old.jobId && x.jobId === old.jobId) || (!old.jobId && x.vodDefinition === old.vodDefinition && x.vodFormat === old.vodFormat)) ||
      info.tracks.find((x) => x.vodDefinition === old.vodDefinition && x.vodFormat === old.vodFormat);
    if (!t) throw new DownloaderError('DOWNLOAD_ERROR_INVALID_ITEM', `The ${old.vodDefinition} ${old.vodFormat} track is gone from the video's play info.`, { videoId: info.vid });
    if (this.info && this.info.tracks.length) {
      this.info = Object.assign({}, info, { title: info.title || this.info.title });
    } else this.info = info;
    this.infoAt = this.adapter.now();
    // keep the index the item was created with (file names and checkpoint keys use it)
    this.selected = Object.assign({}, t, { trackIndex: old.trackIndex, index: old.trackIndex });
    this.sourceUpdated = false;
    return this.selected;
  }

  private async run(ctl: AbortControllerLike): Promise<string> {
    const fs = this.adapter.fs;
    const n = this.names()!;
    // save directory
    try {
      if (!(await fs.exists(this.saveDir!))) await fs.mkdir(this.saveDir!);
    } catch (e) {
      throw new DownloaderError('DOWNLOAD_ERROR_CANNOT_CREATE_SAVE_DIR', `Cannot create ${this.saveDir}: ${(e as Error).message}`, { cause: e });
    }
    if (!fs.appendFile || !fs.truncate || !fs.rename) throw new DownloaderError('DOWNLOAD_ERROR_WRITE_ERROR', 'The platform adapter has no appendFile / truncate / rename (base library >= 2.16.1 needed).');
    // already complete?
    const cp = this.adapter.storage.get<DownloadCheckpoint>(n.key);
    const secure = this.config.secure;
    const HDR = secure ? SECURE_HEADER_SIZE : 0;
    if (!cp && (await fs.exists(n.filePath)) && !(await fs.exists(n.partPath))) {
      const st = await fs.stat(n.filePath);
      if (st.size === this.selected!.vodFileSize + HDR && this.selected!.vodFormat !== 'm3u8') return this.finish(n, false);
    }
    // fresh play info when the source changed, the item was restored, or the URL is old
    const maxAge = 600 * 1000;
    if (this.sourceUpdated || !this.selected!.vodPlayUrl || this.adapter.now() - this.infoAt > maxAge) await this.refreshTrack();
    // secure: the user's key for this video (before any byte), then the part file's own header if it can go on
    const key = secure ? await fetchSecureKey(this.keySource(), this.info!.vid) : undefined;
    this.cipher = undefined;
    const partExists = await fs.exists(n.partPath);
    const track = this.selected!;
    const size = track.vodFileSize;
    let resumable = !!cp && partExists && cp.size === size && (!cp.jobId || !track.jobId || cp.jobId === track.jobId) && !!cp.secure === secure;
    let header = undefined as ReturnType<typeof decodeHeader>;
    if (resumable && key) {
      const st = await fs.stat(n.partPath);
      header = st.size >= HDR ? decodeHeader(await fs.readRange(n.partPath, 0, HDR)) : undefined;
      try {
        this.cipher = header && header.vid === this.info!.vid ? cipherFor(header, key) : undefined;
      } catch (_) {
        this.cipher = undefined; // encrypted with another key (another user): what is there cannot be continued
      }
      if (!this.cipher) resumable = false;
    }
    const freshHeader = (): ArrayBuffer => {
      const f = newSecureFile(key!, this.info!.vid, track.vodFormat, this.adapter.now());
      this.cipher = f.cipher;
      return encodeHeader(f.header);
    };
    if (track.vodFormat === 'm3u8') {
      if (secure && !resumable) {
        // the segments on disk (if any) are not under this header: the HLS branch drops them
        await this.writeOp(() => fs.writeFile(n.partPath, freshHeader()));
        return this.runHls(ctl, n, undefined, true);
      }
      return this.runHls(ctl, n, cp, false);
    }
    // committed bytes: the checkpoint, checked against the part file (a kill may leave more bytes than committed)
    let committed = 0;
    let etag: string | undefined;
    if (resumable) {
      const st = await fs.stat(n.partPath);
      // every byte in the part file was appended in order after its checks: its length is the committed byte
      // (the checkpoint's own figure is written at most once a second)
      committed = Math.max(0, Math.min(size, st.size - HDR));
      etag = cp!.etag;
      if (st.size !== committed + HDR) await this.writeOp(() => fs.truncate!(n.partPath, committed + HDR));
    } else {
      if (partExists) await fs.unlink(n.partPath);
      if (await fs.exists(n.filePath)) await fs.unlink(n.filePath);
    }
    // storage: fail at once, before any byte, when the rest will not fit
    const need = size - committed + 2 * MB;
    const used = fs.usage ? await fs.usage(fs.userDataPath).catch(() => 0) : 0;
    if (used + need > this.config.storageQuota) {
      throw new DownloaderError('DOWNLOAD_ERROR_NO_SPACE', `Not enough storage: ${(size - committed) / MB | 0} MB more needed, ${Math.max(0, this.config.storageQuota - used) / MB | 0} MB left of ${this.config.storageQuota / MB | 0} MB.`, { extra: `used=${used} need=${need}` });
    }
    if (!resumable || committed === 0) await this.writeOp(() => fs.writeFile(n.partPath, secure ? freshHeader() : new ArrayBuffer(0)));
    this.saveCheckpoint({ committed, etag, size, jobId: track.jobId, secure, state: 'downloading' });
    this.lastPercent = -1;
    this.emitProgress(committed, size, true);
    this.watchBackground();

    const chunk = this.config.chunkSize;
    let next = committed; // next byte to request
    const done = new Map<number, ArrayBuffer>(); // start → bytes, waiting for their turn to be appended
    let refreshing: Promise<unknown> | undefined;
    let expiries = 0;
    let appendChain = Promise.resolve();
    let lastCheckpoint = this.adapter.now();
    // workers waiting for the window to move (the chunk at `committed` is still on the wire)
    let waiters: Array<() => void> = [];
    const wake = () => {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    };

    const fetchChunk = async (start: number, end: number): Promise<ArrayBuffer> => {
      let failures = 0;
      for (;;) {
        if (ctl.signal.aborted) throw new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
        if (refreshing) await refreshing;
        const url = this.selected!.vodPlayUrl;
        let res;
        try {
          res = await downloadBudget.run(() =>
            this.adapter.request<ArrayBuffer>({
              url,
              method: 'GET',
              header: { Range: `bytes=${start}-${end}` },
              responseType: 'arraybuffer',
              dataType: 'text',
              timeout: this.config.timeoutMs,
              signal: ctl.signal,
            }),
          );
        } catch (e) {
          const code = e instanceof MediaKitError ? e.code : '';
          if (code === PlatformErrorCode.Aborted || ctl.signal.aborted) throw new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
          if (code === PlatformErrorCode.Interrupted) throw e;
          if (code === PlatformErrorCode.DomainNotAllowed) throw new DownloaderError('DOWNLOAD_ERROR_URL_CANNOT_REACH', (e as Error).message, { cause: e });
          if (failures++ < this.config.retryCount) {
            await this.sleep(this.config.retryDelayMs * failures, ctl);
            continue;
          }
          throw new DownloaderError(code === PlatformErrorCode.Timeout ? 'ERROR_NETWORK_CONNECT_TIMEOUT' : 'DOWNLOAD_ERROR_NET_ERROR', (e as Error).message, { cause: e, extra: code });
        }
        if (res.statusCode === 403) {
          // the signed URL expired (or was revoked): fresh play info, same byte. One revocation refuses every chunk
          // in flight: only the first of them refreshes (and counts); the others retry with the URL it brings.
          if (refreshing) {
            await refreshing;
            continue;
          }
          if (url !== this.selected!.vodPlayUrl) continue;
          if (expiries++ >= 2) throw new DownloaderError('ERROR_NETWORK_HTTP_403', 'The play URL is refused (403) even after fresh play info.', { extra: url.split('?')[0] });
          const p = this.refreshTrack().then(
            () => {
              refreshing = undefined;
            },
            (e) => {
              refreshing = undefined;
              throw e;
            },
          );
          refreshing = p;
          await p;
          continue;
        }
        if (res.statusCode >= 500 && failures++ < this.config.retryCount) {
          await this.sleep(this.config.retryDelayMs * failures, ctl);
          continue;
        }
        const body = res.data;
        const bytes = body instanceof ArrayBuffer ? body : new ArrayBuffer(0);
        const gotEtag = getHeader(res.header, 'etag');
        if (res.statusCode === 200) {
          // the server ignored Range: acceptable only as the whole file from byte 0
          if (start === 0 && bytes.byteLength === size) return bytes;
          throw new DownloaderError('ERROR_NETWORK_HTTP_RANGE', `The server ignored the Range request (HTTP 200 for bytes=${start}-${end}).`);
        }
        if (res.statusCode === 416) throw new DownloaderError('ERROR_NETWORK_HTTP_RANGE', `Range bytes=${start}-${end} not satisfiable (size ${size}).`);
        if (res.statusCode !== 206) throw new DownloaderError(httpStatusName(res.statusCode), `HTTP ${res.statusCode} for bytes=${start}-${end}.`);
        const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(getHeader(res.header, 'content-range') || '').trim());
        if (!cr || Number(cr[1]) !== start || Number(cr[2]) !== end || (cr[3] !== '*' && Number(cr[3]) !== size) || bytes.byteLength !== end - start + 1) {
          if (failures++ < this.config.retryCount) continue;
          throw new DownloaderError('ERROR_NETWORK_HTTP_RANGE', `Content-Range ${getHeader(res.header, 'content-range')} / ${bytes.byteLength} bytes do not match bytes=${start}-${end} of ${size}.`);
        }
        if (gotEtag && etag && gotEtag !== etag) {
          throw Object.assign(new DownloaderError('ERROR_NETWORK_HTTP_RANGE', 'The file changed on the server (ETag differs): restarting from 0.'), { etagChanged: gotEtag });
        }
        if (gotEtag && !etag) {
          etag = gotEtag;
          this.saveCheckpoint({ etag });
        }
        expiries = 0;
        return bytes;
      }
    };

    const flush = () => {
      appendChain = appendChain.then(async () => {
        while (done.has(committed)) {
          const b = done.get(committed)!;
          done.delete(committed);
          if (ctl.signal.aborted) return;
          // secure: encrypted in place (the buffer is ours) at its plaintext offset
          if (this.cipher) this.cipher.xor(0, committed, new Uint8Array(b));
          await this.writeOp(() => fs.appendFile!(n.partPath, b));
          committed += b.byteLength;
          // the checkpoint (a synchronous storage write on WeChat) at most once a second: a restore counts the
          // part file's length, which appends in order keep right, so a stale `committed` costs nothing
          const now = this.adapter.now();
          if (now - lastCheckpoint >= 1000 || committed === size) {
            lastCheckpoint = now;
            this.saveCheckpoint({ committed });
          }
          this.emitProgress(committed, size);
          wake();
        }
      });
      return appendChain;
    };

    let restarts = 0;
    for (;;) {
      let failed = false;
      try {
        const workers: Promise<void>[] = [];
        const worker = async () => {
          while (next < size && !failed) {
            if (ctl.signal.aborted) throw new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
            // window: never hold more than `parallel` chunks beyond the committed byte in memory
            if (next - committed >= this.config.parallel * chunk) {
              await appendChain;
              if (next - committed >= this.config.parallel * chunk) await flush();
              // woken when a chunk is committed, or when another worker fails
              if (next - committed >= this.config.parallel * chunk) await new Promise<void>((r) => waiters.push(r));
              // other workers moved on meanwhile: look at `next`, `failed` and the window again (the last chunk may
              // already be taken: never ask for bytes=<size>-…)
              continue;
            }
            const start = next;
            const end = Math.min(size, start + chunk) - 1;
            next = end + 1;
            // the worker's frame must not keep the chunk alive while it waits for the append chain / the window
            done.set(start, await fetchChunk(start, end));
            await flush();
          }
        };
        for (let i = 0; i < this.config.parallel; i++)
          workers.push(
            worker().catch((e) => {
              failed = true; // the other workers finish the chunk they hold and take no more
              wake();
              throw e;
            }),
          );
        const results = await Promise.all(workers.map((w) => w.then(() => undefined, (e: unknown) => ({ e }))));
        await appendChain;
        const bad = results.find((r) => r !== undefined);
        if (bad) throw bad.e;
        break;
      } catch (e) {
        await appendChain.catch(() => undefined);
        const changed = (e as { etagChanged?: string }).etagChanged;
        if (changed && restarts++ < 2 && !ctl.signal.aborted) {
          // the stream was re-transcoded: what we have is from another file; start over
          done.clear();
          committed = 0;
          next = 0;
          etag = changed;
          // a new nonce too: the new bytes never share a keystream with the old ones
          await this.writeOp(() => (secure ? fs.writeFile(n.partPath, freshHeader()) : fs.truncate!(n.partPath, 0)));
          this.saveCheckpoint({ committed: 0, etag });
          this.lastPercent = -1;
          this.emitProgress(0, size, true);
          continue;
        }
        if (e instanceof MediaKitError && e.code === PlatformErrorCode.Interrupted) {
          // WeChat cut the requests (background): stop, continue when the app is shown again
          this.stopReason = 'background';
          this.saveCheckpoint({ committed, state: 'stopped' });
          ctl.abort('background');
          throw new MediaKitError(PlatformErrorCode.Aborted, 'interrupted (background)', { reason: 'background' });
        }
        if (!ctl.signal.aborted) this.saveCheckpoint({ committed, state: 'error' });
        throw e;
      }
    }
    if (committed !== size) throw new DownloaderError('DOWNLOAD_ERROR_WRITE_ERROR', `Wrote ${committed} of ${size} bytes.`);
    return this.finish(n, true);
  }

  /** GET with the download budget, retries for network errors / 5xx, and one play-info refresh on 403. */
  private async getBytes(ctl: AbortControllerLike, url: () => string, what: string, text = false): Promise<{ status: number; data: ArrayBuffer | string }> {
    let failures = 0;
    let expiries = 0;
    for (;;) {
      if (ctl.signal.aborted) throw new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
      let res;
      try {
        res = await downloadBudget.run(() =>
          this.adapter.request<ArrayBuffer | string>({ url: url(), method: 'GET', responseType: text ? 'text' : 'arraybuffer', dataType: 'text', timeout: this.config.timeoutMs, signal: ctl.signal }),
        );
      } catch (e) {
        const code = e instanceof MediaKitError ? e.code : '';
        if (code === PlatformErrorCode.Aborted || ctl.signal.aborted) throw new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
        if (code === PlatformErrorCode.Interrupted) throw e;
        if (code === PlatformErrorCode.DomainNotAllowed) throw new DownloaderError('DOWNLOAD_ERROR_URL_CANNOT_REACH', (e as Error).message, { cause: e });
        if (failures++ < this.config.retryCount) {
          await this.sleep(this.config.retryDelayMs * failures, ctl);
          continue;
        }
        throw new DownloaderError('DOWNLOAD_ERROR_NET_ERROR', `${what}: ${(e as Error).message}`, { cause: e, extra: code });
      }
      if (res.statusCode === 403 && what !== 'key' && expiries++ < 2) {
        await this.refreshTrack();
        return { status: 403, data: '' };
      }
      if (res.statusCode >= 500 && failures++ < this.config.retryCount) {
        await this.sleep(this.config.retryDelayMs * failures, ctl);
        continue;
      }
      return { status: res.statusCode, data: res.data };
    }
  }

  /**
   * HLS: playlist → key (once per key URI, kept in memory only) → segments (parallel, decrypted, each saved as
   * `<part>.seg<i>` by write-then-rename, so a kill never leaves a torn one) → processing: remux into one progressive
   * MP4 (onProcessingProgress per segment) → rename; the segments are removed once the MP4 is complete.
   */
  private async runHls(ctl: AbortControllerLike, n: { key: string; partPath: string; filePath: string }, cp: DownloadCheckpoint | undefined, freshSecure = false): Promise<string> {
    const fs = this.adapter.fs;
    if (!fs.writeAt) throw new DownloaderError('DOWNLOAD_ERROR_WRITE_ERROR', 'The platform adapter has no writeAt (base library >= 2.16.1 needed).');
    this.watchBackground();
    // playlist (a 403 refreshes the play info once and tries the new URL)
    let pl: ReturnType<typeof parsePlaylist> | undefined;
    let plUrl = '';
    for (let attempt = 0; !pl && attempt < 3; attempt++) {
      plUrl = this.selected!.vodPlayUrl;
      const r = await this.getBytes(ctl, () => plUrl, 'playlist', true);
      if (r.status === 403) continue;
      if (r.status !== 200) throw new DownloaderError(httpStatusName(r.status), `Playlist: HTTP ${r.status}.`);
      pl = parsePlaylist(String(r.data), plUrl);
      if (pl.variant) {
        plUrl = pl.variant;
        const v = await this.getBytes(ctl, () => plUrl, 'playlist', true);
        if (v.status !== 200) throw new DownloaderError(httpStatusName(v.status), `Variant playlist: HTTP ${v.status}.`);
        pl = parsePlaylist(String(v.data), plUrl);
      }
    }
    if (!pl) throw new DownloaderError('ERROR_NETWORK_HTTP_403', 'The playlist is refused (403) even after fresh play info.');
    const segs = pl.segments;
    const size = this.selected!.vodFileSize || 0;
    const segPath = (i: number) => `${n.partPath}.seg${i}`;
    // secure: segments are encrypted under the part file's header (written by run()); a new header drops the old ones
    const cipher = this.cipher;
    const header = cipher ? await fs.readRange(n.partPath, 0, SECURE_HEADER_SIZE) : undefined;
    if (freshSecure || (!cipher && cp && cp.secure) || (cp && (cp.size !== size || (cp.jobId && this.selected!.jobId && cp.jobId !== this.selected!.jobId)))) {
      for (let i = 0; i < segs.length; i++) if (await fs.exists(segPath(i))) await fs.unlink(segPath(i));
    }
    // storage: the segments and the MP4 coexist until the MP4 is complete
    const used = fs.usage ? await fs.usage(fs.userDataPath).catch(() => 0) : 0;
    const need = size * 2 + 2 * MB;
    if (used + need > this.config.storageQuota) {
      throw new DownloaderError('DOWNLOAD_ERROR_NO_SPACE', `Not enough storage: about ${(need / MB) | 0} MB needed (segments + MP4), ${(Math.max(0, this.config.storageQuota - used) / MB) | 0} MB left.`);
    }
    const done: boolean[] = [];
    // progress in bytes (the track's Size from play info), so speed / ETA mean bytes; 100 only once every segment is in
    const segBytes: number[] = [];
    for (let i = 0; i < segs.length; i++) {
      done[i] = await fs.exists(segPath(i));
      segBytes[i] = done[i] ? (await fs.stat(segPath(i))).size : 0;
    }
    const count = () => done.filter(Boolean).length;
    const bytesDone = () => segBytes.reduce((a, b) => a + b, 0);
    const progress = (force = false) => {
      if (size > 0) this.emitProgress(count() === segs.length ? size : Math.min(bytesDone(), size - 1), size, force);
      else this.emitProgress(count(), segs.length, force); // no Size in the play info: segments
    };
    this.saveCheckpoint({ size, jobId: this.selected!.jobId, committed: bytesDone(), secure: !!cipher, state: 'downloading' });
    this.lastPercent = -1;
    progress(true);
    const keys = new Map<string, Promise<Uint8Array>>();
    // one request per key URI, shared by the workers: the token is single-use
    const keyFor = (seg: HlsSegment): Promise<Uint8Array | undefined> => {
      if (!seg.key) return Promise.resolve(undefined);
      const uri = seg.key.uri;
      let k = keys.get(uri);
      if (!k) {
        k = this.getBytes(ctl, () => uri, 'key').then((r) => {
          const bytes = r.data instanceof ArrayBuffer ? new Uint8Array(r.data) : new Uint8Array(0);
          if (r.status !== 200 || bytes.length !== 16) {
            throw new DownloaderError('DOWNLOAD_ERROR_GET_AES_KEY_FAIL', `The AES key request answered HTTP ${r.status} with ${bytes.length} bytes (a valid, unused MtsHlsUriToken is needed).`, { extra: `HTTP ${r.status}` });
          }
          return bytes;
        });
        keys.set(uri, k);
      }
      return k;
    };
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed) {
        while (next < segs.length && done[next]) next++;
        if (next >= segs.length) return;
        const i = next++;
        const seg = segs[i];
        const key = await keyFor(seg);
        let r = await this.getBytes(ctl, () => seg.uri, 'segment');
        if (r.status === 403) {
          // fresh play info gives a new playlist URL whose segment URLs carry a fresh auth_key
          throw Object.assign(new DownloaderError('ERROR_NETWORK_HTTP_403', 'segment URL expired'), { replay: true });
        }
        if (r.status !== 200) throw new DownloaderError(httpStatusName(r.status), `Segment ${i}: HTTP ${r.status}.`);
        let bytes: Uint8Array = new Uint8Array(r.data as ArrayBuffer);
        const received = bytes.length;
        r = { status: 0, data: '' };
        if (key) {
          try {
            bytes = decryptAes128Cbc(bytes, key, segmentIv(seg));
          } catch (e) {
            throw e instanceof DownloaderError ? e : new DownloaderError('DOWNLOAD_ERROR_ENCRYPT_ERROR', (e as Error).message);
          }
        }
        if (cipher) bytes = cipher.xor(i + 1, 0, bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : bytes.slice());
        const tmp = `${segPath(i)}.tmp`;
        const ab = (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
        await this.writeOp(() => fs.writeFile(tmp, ab));
        await this.writeOp(() => fs.rename!(tmp, segPath(i)));
        done[i] = true;
        segBytes[i] = received;
        this.saveCheckpoint({ committed: bytesDone() });
        progress();
      }
    };
    for (let round = 0; ; round++) {
      failed = false;
      next = 0;
      const results = await Promise.all(
        Array.from({ length: Math.min(this.config.parallel, segs.length) }, () =>
          worker().then(
            () => undefined,
            (e: unknown) => {
              failed = true;
              return { e };
            },
          ),
        ),
      );
      const bad = results.find((x) => x !== undefined);
      if (!bad) break;
      const e = bad.e as { replay?: boolean };
      if (e.replay && round < 2 && !ctl.signal.aborted) {
        // URLs expired mid-way: new play info, new playlist, continue with the missing segments
        await this.refreshTrack();
        return this.runHls(ctl, n, this.adapter.storage.get<DownloadCheckpoint>(n.key), false);
      }
      if (e instanceof MediaKitError && e.code === PlatformErrorCode.Interrupted) {
        this.stopReason = 'background';
        this.saveCheckpoint({ state: 'stopped' });
        ctl.abort('background');
        throw new MediaKitError(PlatformErrorCode.Aborted, 'interrupted (background)', { reason: 'background' });
      }
      if (!ctl.signal.aborted) this.saveCheckpoint({ state: 'error' });
      throw bad.e;
    }
    // processing: remux into the .part, then rename
    this._state = 'processing';
    this.emit('processing', 0);
    await this.writeOp(() => fs.writeFile(n.partPath, header || new ArrayBuffer(0)));
    const HDR = header ? SECURE_HEADER_SIZE : 0;
    let length = 0;
    let pending: Array<{ data: Uint8Array; position: number }> = [];
    const mux = new TsToMp4((data, position) => pending.push({ data: data.slice(), position }));
    const flushWrites = async () => {
      const list = pending;
      pending = [];
      for (const w of list) {
        if (cipher) cipher.xor(0, w.position, w.data); // our own copy (sliced in the mux callback)
        const ab = w.data.buffer as ArrayBuffer;
        if (w.position === length) {
          await this.writeOp(() => fs.appendFile!(n.partPath, ab));
          length += w.data.length;
        } else if (w.position + w.data.length <= length) {
          await this.writeOp(() => fs.writeAt!(n.partPath, HDR + w.position, ab));
        } else {
          throw new DownloaderError('DOWNLOAD_ERROR_WRITE_ERROR', `Unexpected write at ${w.position} (file has ${length} bytes).`);
        }
      }
    };
    let lastPct = 0;
    for (let i = 0; i < segs.length; i++) {
      if (ctl.signal.aborted) throw new MediaKitError(PlatformErrorCode.Aborted, 'stopped');
      const st = await fs.stat(segPath(i));
      const data = st.size ? await fs.readRange(segPath(i), 0, st.size) : new ArrayBuffer(0);
      mux.push(cipher ? cipher.xor(i + 1, 0, new Uint8Array(data)) : new Uint8Array(data));
      await flushWrites();
      const pct = Math.floor(((i + 1) * 99) / segs.length);
      if (pct !== lastPct && pct < 100) {
        lastPct = pct;
        this.emit('processing', pct);
      }
    }
    mux.finish();
    await flushWrites();
    if (await fs.exists(n.filePath)) await fs.unlink(n.filePath);
    await this.writeOp(() => fs.rename!(n.partPath, n.filePath));
    for (let i = 0; i < segs.length; i++) if (await fs.exists(segPath(i))) await fs.unlink(segPath(i));
    this.adapter.storage.remove(n.key);
    this.filePath = n.filePath;
    if (this.offShow) this.offShow();
    this.offShow = undefined;
    if (size > 0) this.emitProgress(size, size, true);
    else this.emitProgress(segs.length, segs.length, true);
    this.emit('processing', 100);
    this._state = 'completed';
    this.emit('completion');
    return n.filePath;
  }

  /** Processing: verify the size, rename .part → final, drop the checkpoint. */
  private async finish(n: { key: string; partPath: string; filePath: string }, fromPart: boolean): Promise<string> {
    const fs = this.adapter.fs;
    this._state = 'processing';
    this.emit('processing', 0);
    if (fromPart) {
      const st = await fs.stat(n.partPath);
      const hdr = this.config.secure ? SECURE_HEADER_SIZE : 0;
      if (st.size !== this.selected!.vodFileSize + hdr) throw new DownloaderError('DOWNLOAD_ERROR_WRITE_ERROR', `The file has ${st.size - hdr} bytes, expected ${this.selected!.vodFileSize}.`);
      if (await fs.exists(n.filePath)) await fs.unlink(n.filePath);
      await this.writeOp(() => fs.rename!(n.partPath, n.filePath));
    }
    this.adapter.storage.remove(n.key);
    this.filePath = n.filePath;
    if (this.offShow) this.offShow();
    this.offShow = undefined;
    this.emitProgress(this.selected!.vodFileSize, this.selected!.vodFileSize, true);
    this.emit('processing', 100);
    this._state = 'completed';
    this.emit('completion');
    return n.filePath;
  }

  private async writeOp<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (isQuotaError(e)) throw new DownloaderError('DOWNLOAD_ERROR_NO_SPACE', `Storage is full: ${(e as Error).message}`, { cause: e });
      throw new DownloaderError('DOWNLOAD_ERROR_WRITE_ERROR', (e as Error).message, { cause: e });
    }
  }

  private sleep(ms: number, ctl: AbortControllerLike): Promise<void> {
    return new Promise((resolve, reject) => {
      const h = this.adapter.setTimeout(() => {
        off();
        resolve();
      }, ms);
      const off = ctl.signal.onAbort(() => {
        this.adapter.clearTimeout(h);
        reject(new MediaKitError(PlatformErrorCode.Aborted, 'stopped'));
      });
    });
  }

  private watchBackground(): void {
    if (this.offShow || !this.config.resumeOnShow) return;
    this.offShow = this.adapter.onAppShow(() => {
      if (this._state === 'stopped' && this.stopReason === 'background' && !this.running) {
        this.start().catch(() => undefined); // the outcome is reported through the events
      }
    });
  }
}
