/**
 * TencentVodUploader: Tencent Cloud VOD client upload (客户端上传) for mini-programs, a drop-in for vod-wx-sdk-v2
 * (`TencentVodUploader.start({mediaFile, getSignature, mediaName, coverFile, progress, finish, error, …})`) that fixes
 * what the official one gets wrong:
 * - getSignature may be callback- or Promise-style, and is called for every Apply / Commit (one-time signatures);
 * - one error shape (TencentVodError: code, message, stage sign/apply/cos/commit, retryable, reqid);
 * - network failures retried with backoff, Apply / Commit fail over to the backup host;
 * - pause / restart (resume) / cancel in every phase; cancel reports once; progress is monotone and counts the cover;
 * - the cover may be a chooseImage result, a chooseMedia item or a plain {tempFilePath, size};
 * - temporary COS credentials are renewed (Apply with the vodSessionKey) before they expire, and on expiry errors;
 * - resume after an app restart within Tencent's 1-day rule, keyed on the file's content; stale sessions are dropped
 *   and the upload starts fresh (no error loop);
 * - parts are read by range and sent with wx.request, at most `chunkParallelLimit` in memory at once; every request
 *   goes through the platform adapter, so WeChat's 10-task limit is shared with the other SDK modules;
 * - no telemetry.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import { getDefaultAdapter } from '../platform';
import { AbortControllerLike, AbortSignalLike } from '../platform/abort';
import { getHeader, PlatformAdapter } from '../platform/types';
import { crc64 } from '../aliyun/crc64';
import { utf8Encode } from '../util/bytes';
import { edgeCrcs } from '../vod-upload/checkpoint';
import { runParts, splitParts, PartSpec } from '../vod-upload/multipart';
import { CosClient, CosCredentials, xmlAll, xmlEscape, xmlTag } from './cos-client';
import { TencentVodError, TencentVodErrorCode, TencentVodStage } from './errors';

/** A picked file in any of WeChat's shapes: chooseVideo result, chooseMedia item / result, chooseImage result / item. */
export interface TencentVodFileLike {
  tempFilePath?: string;
  path?: string;
  size?: number | string;
  tempFilePaths?: string[];
  tempFiles?: Array<{ tempFilePath?: string; path?: string; size?: number | string }>;
}

export interface TencentVodProgress {
  /** Bytes of video + cover confirmed by COS. */
  loaded: number;
  total: number;
  /** Bytes per second since the last (re)start. */
  speed: number;
  /** 0..1 with two decimals (as vod-wx-sdk-v2); 1 only once the upload is committed. */
  percent: number;
}

export interface TencentVodResult {
  fileId: string;
  videoName: string;
  videoUrl?: string;
  coverUrl?: string;
  verify_content?: string;
}

export type TencentVodGetSignature = ((callback: (signature: string) => void) => unknown) | (() => Promise<string> | string);

export interface TencentVodUploadOptions {
  /** The video (alias videoFile). Not needed with `fileId` (cover-only replacement). */
  mediaFile?: TencentVodFileLike;
  videoFile?: TencentVodFileLike;
  /** Fetches a client-upload signature from your AppServer: `cb => …cb(sig)` or `() => Promise<sig>`. Called for every Apply and Commit. */
  getSignature: TencentVodGetSignature;
  /** Media name (alias fileName); default "来自小程序". Mini-programs cannot read real file names. */
  mediaName?: string;
  fileName?: string;
  coverFile?: TencentVodFileLike;
  /** Replace the cover of this existing file (needs coverFile, no mediaFile). */
  fileId?: string;
  /** Accepted for compatibility; nothing is reported anywhere. */
  reportId?: string | number;
  appId?: number;
  progress?(info: TencentVodProgress): void;
  finish?(result: TencentVodResult): void;
  error?(err: TencentVodError): void;
  /** Part size (default 8 MiB, at least 1 MiB, raised so a file needs at most 10,000 parts). */
  chunkSize?: number;
  /** Parts in flight at once (default 6; never more than WeChat's 10, shared with every SDK request). */
  chunkParallelLimit?: number;
  /** Retries per request for network errors / 5xx / CRC mismatches (default 3). */
  chunkRetryTimes?: number;
  /** Files up to this size go in one PutObject (default 1 MiB). */
  sliceSize?: number;
  /** Minimum ms between progress calls (default 200; the final call always comes). */
  progressInterval?: number;
  /** Resume interrupted uploads of the same content within a day (default true). */
  enableResume?: boolean;
  /** VOD signalling host (default https://vod2.qcloud.com) and backup (https://vod2.dnsv1.com). */
  vodHost?: string;
  vodBackupHost?: string;
  /** 'vod-proxy' (default, as the official SDK: COS requests go to the vod2 / accelerate host) or 'direct'. */
  cosRoute?: 'vod-proxy' | 'direct';
  /** Per-request timeout ms (default 60000). */
  requestTimeout?: number;
  /** Backoff between retries, ms (default [1000, 2000, 4000]). */
  retryDelays?: number[];
  /** ms to wait for getSignature (default 30000). */
  signatureTimeout?: number;
  /** Check each part's CRC-64 against COS's x-cos-hash-crc64ecma (default true). */
  verifyCrc64?: boolean;
  adapter?: PlatformAdapter;
}

export type TencentVodUploadState = 'running' | 'paused' | 'canceled' | 'done' | 'failed';

interface LocalFile {
  path: string;
  size: number;
  ext: string;
}

interface ObjectState {
  key: string;
  file: LocalFile;
  uploadId?: string;
  listed: boolean;
  parts: Map<number, { etag: string; size: number }>;
  done: boolean;
}

interface Session {
  vodSessionKey: string;
  video?: ObjectState;
  cover?: ObjectState;
  cos: CosClient;
  creds: CosCredentials;
  /** adapter.now() when the credential arrived, and its lifetime in ms (renewed at 90 %). */
  credsAt: number;
  credsLifetimeMs: number;
}

export interface TencentVodCheckpoint {
  v: 1;
  vodSessionKey: string;
  /** When the session was opened (device ms): dropped after 24 h, Tencent's resume rule. */
  createdAt: number;
  partSize: number;
  coverType: string;
  videoUploadId?: string;
  coverUploadId?: string;
}

export const TENCENT_VOD_CHECKPOINT_KEY = 'mp-media-sdk:tencent-vod:sessions';
export const TENCENT_VOD_RESUME_TTL_MS = 24 * 3600 * 1000;
const MIB = 1024 * 1024;
const MAX_PARTS = 10000;
const NAME_RE = /[\\/:*?"<>|]/;

function toError(e: unknown, stage: TencentVodStage): TencentVodError {
  if (e instanceof TencentVodError) return e;
  if (e instanceof MediaKitError) {
    const c = e.code;
    const map: Record<string, string> = {
      [PlatformErrorCode.Network]: TencentVodErrorCode.NetworkError,
      [PlatformErrorCode.Timeout]: TencentVodErrorCode.NetworkError,
      [PlatformErrorCode.Interrupted]: TencentVodErrorCode.NetworkError,
      [PlatformErrorCode.DomainNotAllowed]: TencentVodErrorCode.DomainNotAllowed,
      [PlatformErrorCode.FileNotFound]: TencentVodErrorCode.FileNotFound,
      [PlatformErrorCode.FileSystem]: TencentVodErrorCode.FileNotFound,
    };
    if (map[c]) return new TencentVodError(map[c], e.message, stage, map[c] === TencentVodErrorCode.NetworkError, e.details);
    if (e.details.cosCode) {
      const status = Number(e.details.status) || 0;
      return new TencentVodError(TencentVodErrorCode.CosError, e.message, 'cos', status >= 500 || status === 429, e.details);
    }
    if (c === TencentVodErrorCode.Crc64Mismatch) return new TencentVodError(c, e.message, 'cos', true, e.details);
    return new TencentVodError(c, e.message, stage, false, e.details);
  }
  return new TencentVodError(TencentVodErrorCode.UnexpectedResponse, String((e as Error)?.message || e), stage, false);
}

const isAbort = (e: unknown) => e instanceof MediaKitError && e.code === PlatformErrorCode.Aborted;
const isInterrupted = (e: unknown) => e instanceof MediaKitError && e.code === PlatformErrorCode.Interrupted;

function retryable(e: unknown): boolean {
  if (!(e instanceof MediaKitError)) return false;
  const c = e.code;
  if (c === PlatformErrorCode.Network || c === PlatformErrorCode.Timeout || c === PlatformErrorCode.Interrupted || c === TencentVodErrorCode.Crc64Mismatch) return true;
  if (['InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout'].indexOf(c) >= 0) return true;
  const s = Number(e.details.status) || 0;
  return s >= 500 || s === 429;
}

function expiredCredential(e: unknown): boolean {
  if (!(e instanceof MediaKitError)) return false;
  return (e.code === 'AccessDenied' && /expired/i.test(e.message)) || e.code === 'ExpiredToken' || e.code === 'InvalidAccessKeyId' || e.code === 'RequestTimeTooSkewed' || e.code === 'InvalidToken';
}

/** The path and size of a picked file, whatever shape WeChat returned it in. */
export function normalizeFile(f: TencentVodFileLike | undefined): { path: string; size?: number } | undefined {
  if (!f || typeof f !== 'object') return undefined;
  const item = f.tempFiles && f.tempFiles[0];
  const path = f.tempFilePath || f.path || (f.tempFilePaths && f.tempFilePaths[0]) || (item && (item.tempFilePath || item.path));
  if (!path || typeof path !== 'string') return undefined;
  const rawSize = f.size !== undefined ? f.size : item ? item.size : undefined;
  const n = typeof rawSize === 'string' ? Number(rawSize) : rawSize;
  return { path, size: typeof n === 'number' && isFinite(n) && n >= 0 ? n : undefined };
}

function extOf(path: string, fallback: string): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(path.split('?')[0]);
  return m ? m[1].toLowerCase() : fallback;
}

export class TencentVodUploader {
  /** vod-wx-sdk-v2's entry point: validates, starts at once, returns the upload handle. */
  static start(options: TencentVodUploadOptions): TencentVodUploader {
    return new TencentVodUploader(options);
  }

  private readonly o: TencentVodUploadOptions;
  private readonly adapter: PlatformAdapter;
  private readonly hosts: string[];
  private readonly partSizeWanted: number;
  private readonly parallel: number;
  private readonly retries: number;
  private readonly delays: number[];
  private readonly timeout: number;
  private stateValue: TencentVodUploadState = 'running';
  private stage: TencentVodStage = 'sign';
  private ctrl = new AbortControllerLike();
  private resumeWaiter: (() => void) | undefined;
  private video?: LocalFile;
  private cover?: LocalFile;
  private fingerprint?: string;
  private session?: Session;
  private renewing?: Promise<void>;
  private mediaName: string;
  private settled = false;
  private readonly donePromise: Promise<TencentVodResult>;
  private resolveDone!: (r: TencentVodResult) => void;
  private rejectDone!: (e: TencentVodError) => void;
  private best = 0;
  private bestLoaded = 0;
  private hidden = false;
  private showWaiters: Array<() => void> = [];
  private offHide: () => void = () => undefined;
  private offShow: () => void = () => undefined;
  private lastEmit = -Infinity;
  private runStart = { at: 0, loaded: 0 };

  constructor(options: TencentVodUploadOptions) {
    this.o = options || ({} as TencentVodUploadOptions);
    this.donePromise = new Promise<TencentVodResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.donePromise.catch(() => undefined); // reported through error(); done() callers still see the rejection
    if (!options || typeof options !== 'object') {
      // reported first (the first failure wins): the missing adapter below is a consequence
      this.deferFail(new TencentVodError(TencentVodErrorCode.InvalidOption, 'TencentVodUploader.start needs an options object {mediaFile, getSignature, …}.', 'apply', false));
    }
    let adapter: PlatformAdapter | undefined;
    try {
      adapter = this.o.adapter || getDefaultAdapter();
    } catch (e) {
      adapter = undefined;
      this.deferFail(toError(e, 'apply'));
    }
    this.adapter = adapter as PlatformAdapter;
    const o = this.o;
    this.hosts = [o.vodHost || 'https://vod2.qcloud.com', o.vodBackupHost || 'https://vod2.dnsv1.com'].map((h) => String(h).replace(/\/+$/, ''));
    this.partSizeWanted = Math.max(MIB, Math.floor(o.chunkSize || 8 * MIB));
    this.parallel = Math.max(1, Math.min(10, Math.floor(o.chunkParallelLimit || 6)));
    this.retries = o.chunkRetryTimes === undefined ? 3 : Math.max(0, Math.floor(o.chunkRetryTimes));
    this.delays = o.retryDelays && o.retryDelays.length ? o.retryDelays : [1000, 2000, 4000];
    this.timeout = o.requestTimeout || 60000;
    this.mediaName = o.mediaName || o.fileName || '来自小程序';
    if (!adapter) return;
    this.offHide = adapter.onAppHide(() => (this.hidden = true));
    this.offShow = adapter.onAppShow(() => {
      this.hidden = false;
      const w = this.showWaiters;
      this.showWaiters = [];
      w.forEach((f) => f());
    });
    const invalid = this.validate();
    if (invalid) {
      this.deferFail(new TencentVodError(TencentVodErrorCode.InvalidOption, invalid, 'apply', false));
      return;
    }
    Promise.resolve().then(() => this.drive());
  }

  /** 'running' | 'paused' | 'canceled' | 'done' | 'failed' */
  get state(): TencentVodUploadState {
    return this.stateValue;
  }

  /** Resolves with the finish() result; rejects with the TencentVodError given to error() (CANCELED included). */
  done(): Promise<TencentVodResult> {
    return this.donePromise;
  }

  /** Stops sending (in-flight requests are aborted; finished parts are kept). Returns false when not running. */
  pause(): boolean {
    if (this.stateValue !== 'running') return false;
    this.stateValue = 'paused';
    this.ctrl.abort('pause');
    return true;
  }

  /** Continues a paused upload where it stopped. Returns false when not paused. */
  restart(): boolean {
    if (this.stateValue !== 'paused') return false;
    this.stateValue = 'running';
    const w = this.resumeWaiter;
    this.resumeWaiter = undefined;
    if (w) w();
    return true;
  }

  /** Alias of restart(). */
  resume(): boolean {
    return this.restart();
  }

  /** vod-wx-sdk-v2's demo calls start() again to resume: same as restart(). */
  start(): boolean {
    return this.restart();
  }

  /**
   * Stops for good in any phase: in-flight requests are aborted, the multipart uploads are aborted on COS (best
   * effort), the resume record is dropped, and error() gets one CANCELED. Returns false when already finished.
   */
  cancel(): boolean {
    if (this.stateValue === 'canceled' || this.stateValue === 'done' || this.stateValue === 'failed') return false;
    this.stateValue = 'canceled';
    this.ctrl.abort('cancel');
    const w = this.resumeWaiter;
    this.resumeWaiter = undefined;
    if (w) w();
    this.cleanupAfterCancel();
    this.deferFail(new TencentVodError(TencentVodErrorCode.Canceled, 'The upload was canceled.', this.stage, false));
    return true;
  }

  // ---------------------------------------------------------------- validation / lifecycle

  private validate(): string | undefined {
    const o = this.o;
    if (typeof o.getSignature !== 'function') return 'getSignature must be a function (callback or Promise style).';
    for (const k of ['progress', 'finish', 'error'] as const) if (o[k] !== undefined && typeof o[k] !== 'function') return `${k} must be a function.`;
    if (o.fileId !== undefined) {
      if (typeof o.fileId !== 'string' || !/^\d+$/.test(o.fileId)) return 'fileId must be a VOD file id (digits).';
      if (!normalizeFile(o.coverFile)) return 'fileId (cover replacement) needs coverFile.';
    } else if (!normalizeFile(o.mediaFile || o.videoFile)) {
      return 'mediaFile needs a tempFilePath (a chooseMedia / chooseVideo result).';
    }
    if (o.coverFile !== undefined && !normalizeFile(o.coverFile)) return 'coverFile needs tempFilePath (chooseMedia) or tempFilePaths[0] (chooseImage).';
    if (typeof this.mediaName !== 'string' || this.mediaName.length > 200 || NAME_RE.test(this.mediaName)) return 'mediaName must be at most 200 characters without \\ / : * ? " < > |.';
    // numbers: absent, or finite and in range (NaN / negative / strings used to be coerced silently)
    const num = (k: keyof TencentVodUploadOptions, min: number): string | undefined => {
      const v = o[k] as unknown;
      return v === undefined || (typeof v === 'number' && isFinite(v) && v >= min) ? undefined : `${k} must be a number ≥ ${min} (got ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v)}).`;
    };
    const bad =
      num('chunkSize', 1) || num('chunkParallelLimit', 1) || num('chunkRetryTimes', 0) || num('sliceSize', 0) || num('progressInterval', 0) || num('requestTimeout', 1) || num('signatureTimeout', 1);
    if (bad) return bad;
    if (o.retryDelays !== undefined && !(Array.isArray(o.retryDelays) && o.retryDelays.every((d) => typeof d === 'number' && isFinite(d) && d >= 0))) return 'retryDelays must be an array of ms ≥ 0, e.g. [1000, 2000, 4000].';
    for (const k of ['vodHost', 'vodBackupHost'] as const) if (o[k] !== undefined && !/^https?:\/\/[^\s/]+/.test(String(o[k]))) return `${k} must be an http(s) URL such as https://vod2.qcloud.com (got ${JSON.stringify(o[k])}).`;
    if (o.cosRoute !== undefined && o.cosRoute !== 'vod-proxy' && o.cosRoute !== 'direct') return `cosRoute must be 'vod-proxy' or 'direct' (got ${JSON.stringify(o.cosRoute)}).`;
    return undefined;
  }

  private deferFail(e: TencentVodError): void {
    Promise.resolve().then(() => this.fail(e));
  }

  private unsubscribe(): void {
    try {
      this.offHide();
      this.offShow();
    } catch {
      /* adapter without lifecycle events */
    }
  }

  private fail(e: TencentVodError): void {
    if (this.settled) return;
    this.settled = true;
    this.unsubscribe();
    if (this.stateValue !== 'canceled') this.stateValue = 'failed';
    this.rejectDone(e);
    if (this.o.error) this.safeCall(() => this.o.error!(e));
  }

  private succeed(r: TencentVodResult): void {
    if (this.settled) return;
    this.settled = true;
    this.unsubscribe();
    this.stateValue = 'done';
    this.emitProgress(true);
    this.resolveDone(r);
    if (this.o.finish) this.safeCall(() => this.o.finish!(r));
  }

  private safeCall(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.adapter.warn('A TencentVodUploader callback threw', e);
    }
  }

  private async drive(): Promise<void> {
    for (;;) {
      if (this.stateValue === 'canceled' || this.settled) return;
      if (this.stateValue === 'paused') {
        await new Promise<void>((r) => (this.resumeWaiter = r));
        continue;
      }
      this.ctrl = new AbortControllerLike();
      this.runStart = { at: this.adapter.now(), loaded: this.loaded() };
      try {
        const r = await this.runOnce(this.ctrl.signal);
        if ((this.stateValue as TencentVodUploadState) === 'running') this.succeed(r);
        return;
      } catch (e) {
        if ((this.stateValue as TencentVodUploadState) === 'canceled') return;
        // stopped by pause(): wait for restart() at the top of the loop (or go on at once if it already came)
        if (this.ctrl.signal.aborted && this.ctrl.signal.reason === 'pause') continue;
        this.dropCheckpointOnFatal(e);
        this.fail(toError(e, this.stage));
        return;
      }
    }
  }

  private async runOnce(signal: AbortSignalLike): Promise<TencentVodResult> {
    if (!this.video && !this.cover) await this.prepareFiles();
    if (!this.session) this.session = await this.openSession(signal);
    this.stage = 'cos';
    const s = this.session;
    for (const obj of [s.cover, s.video]) if (obj) await this.uploadObject(obj, signal);
    this.stage = 'commit';
    const data = await this.vodCall('CommitUploadUGC', (sig) => ({ signature: sig, vodSessionKey: s.vodSessionKey }), signal);
    const video = data.video as { url?: string; verify_content?: string } | undefined;
    const cover = data.cover as { url?: string; verify_content?: string } | undefined;
    if (typeof data.fileId !== 'string' && typeof data.fileId !== 'number') throw new TencentVodError(TencentVodErrorCode.UnexpectedResponse, 'CommitUploadUGC answered without fileId.', 'commit', true);
    this.removeCheckpoint();
    return {
      fileId: String(data.fileId),
      videoName: this.mediaName,
      videoUrl: video && video.url,
      coverUrl: cover && cover.url,
      verify_content: (video && video.verify_content) || (cover && cover.verify_content),
    };
  }

  private async prepareFiles(): Promise<void> {
    this.stage = 'apply';
    const fs = this.adapter.fs;
    const load = async (f: TencentVodFileLike | undefined, fallbackExt: string): Promise<LocalFile | undefined> => {
      const n = normalizeFile(f);
      if (!n) return undefined;
      const st = await fs.stat(n.path); // the truth: some Android clients report size as a string or wrongly
      if (st.isFile === false) throw new TencentVodError(TencentVodErrorCode.FileNotFound, `${n.path} is a directory, not a file.`, 'apply', false, { path: n.path });
      return { path: n.path, size: st.size, ext: extOf(n.path, fallbackExt) };
    };
    this.video = this.o.fileId ? undefined : await load(this.o.mediaFile || this.o.videoFile, 'mp4');
    this.cover = await load(this.o.coverFile, 'jpg');
    if (this.video && this.o.enableResume !== false) {
      const v = this.video;
      const edges = await edgeCrcs(v.size, (p, l) => fs.readRange(v.path, p, l));
      this.fingerprint = crc64(utf8Encode(`tencent-vod|${v.size}|${edges}`));
    }
    this.emitProgress(false, true);
  }

  private partSize(size: number): number {
    let ps = this.partSizeWanted;
    if (Math.ceil(size / ps) > MAX_PARTS) ps = Math.ceil(size / MAX_PARTS);
    return ps;
  }

  // ---------------------------------------------------------------- signature + vod2

  /** One signature from the app, whichever style getSignature has. */
  private signature(signal: AbortSignalLike): Promise<string> {
    const prevStage = this.stage;
    this.stage = 'sign';
    return new Promise<string>((resolve, reject) => {
      let finished = false;
      const end = (err: unknown, sig?: string) => {
        if (finished) return;
        finished = true;
        this.adapter.clearTimeout(timer);
        off();
        if (err) return reject(err);
        if (typeof sig !== 'string' || !sig) return reject(new TencentVodError(TencentVodErrorCode.SignatureFailed, `getSignature gave ${sig === '' ? 'an empty string' : typeof sig}, not a signature string.`, 'sign', true));
        this.stage = prevStage;
        resolve(sig);
      };
      const off = signal.onAbort((r) => end(new MediaKitError(PlatformErrorCode.Aborted, `aborted (${String(r)})`)));
      const timer = this.adapter.setTimeout(() => end(new TencentVodError(TencentVodErrorCode.SignatureFailed, 'getSignature did not answer in time.', 'sign', true)), this.o.signatureTimeout || 30000);
      try {
        const ret = (this.o.getSignature as (cb: (s: string) => void) => unknown)((s: string) => end(undefined, s));
        if (ret && typeof (ret as Promise<string>).then === 'function') {
          (ret as Promise<string>).then(
            (s) => end(undefined, s),
            (e) => end(new TencentVodError(TencentVodErrorCode.SignatureFailed, `getSignature failed: ${(e && (e as Error).message) || e}`, 'sign', true, { cause: e })),
          );
        } else if (typeof ret === 'string') {
          end(undefined, ret);
        }
      } catch (e) {
        end(new TencentVodError(TencentVodErrorCode.SignatureFailed, `getSignature threw: ${(e as Error).message || e}`, 'sign', true, { cause: e }));
      }
    });
  }

  /**
   * WeChat cuts requests ("fail interrupted") a few seconds after the app goes to the background. While hidden, wait
   * for onAppShow instead of spending retries; true when it waited (the caller retries at once).
   */
  private waitForeground(signal: AbortSignalLike): Promise<boolean> {
    if (!this.hidden) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const off = signal.onAbort((r) => reject(new MediaKitError(PlatformErrorCode.Aborted, `aborted (${String(r)})`)));
      this.showWaiters.push(() => {
        off();
        resolve(true);
      });
    });
  }

  private sleep(ms: number, signal: AbortSignalLike): Promise<void> {
    return new Promise((resolve, reject) => {
      const h = this.adapter.setTimeout(() => {
        off();
        resolve();
      }, ms);
      const off = signal.onAbort((r) => {
        this.adapter.clearTimeout(h);
        reject(new MediaKitError(PlatformErrorCode.Aborted, `aborted (${String(r)})`));
      });
    });
  }

  /**
   * POST /v3/index.php?Action=… with a fresh signature per attempt. Network errors / 5xx: backoff and the other
   * host. code 10004 (signature refused): up to 2 fresh signatures. Any other code ≠ 0: thrown.
   */
  private async vodCall(action: 'ApplyUploadUGC' | 'CommitUploadUGC', body: (sig: string) => Record<string, unknown>, signal: AbortSignalLike): Promise<Record<string, unknown>> {
    const stage: TencentVodStage = action === 'CommitUploadUGC' ? 'commit' : 'apply';
    let host = 0;
    let failures = 0;
    let sigRetries = 0;
    let late = 0;
    for (;;) {
      const sig = await this.signature(signal);
      this.stage = stage;
      let status = 0;
      let data: unknown;
      let reqErr: unknown;
      try {
        const res = await this.adapter.request({ url: `${this.hosts[host]}/v3/index.php?Action=${action}`, method: 'POST', header: { 'content-type': 'application/json' }, data: JSON.stringify(body(sig)), timeout: this.timeout, signal });
        status = res.statusCode;
        data = res.data;
        if (typeof data === 'string') {
          try {
            data = JSON.parse(data);
          } catch {
            /* not JSON */
          }
        }
      } catch (e) {
        if (signal.aborted || isAbort(e)) throw e;
        reqErr = e;
      }
      if (reqErr && !retryable(reqErr)) throw toError(reqErr, stage);
      if (reqErr && isInterrupted(reqErr)) {
        if (await this.waitForeground(signal)) continue;
        if (late < 3) {
          late++;
          continue;
        }
      }
      const d = data as { code?: number; message?: string; data?: Record<string, unknown> } | undefined;
      const transient = reqErr ? retryable(reqErr) : status >= 500 || status === 429 || !d || typeof d.code !== 'number';
      if (transient) {
        if (failures < this.delays.length && (!reqErr || retryable(reqErr))) {
          const delay = this.delays[failures++];
          host = (host + 1) % this.hosts.length;
          await this.sleep(delay, signal);
          continue;
        }
        if (reqErr) throw toError(reqErr, stage);
        throw new TencentVodError(TencentVodErrorCode.UnexpectedResponse, `${action} answered HTTP ${status} without a VOD result.`, stage, true, { status });
      }
      if (d!.code === 0 && d!.data && typeof d!.data === 'object') return d!.data;
      if (d!.code === 10004 && sigRetries < 2) {
        sigRetries++;
        continue;
      }
      const code = d!.code === 10004 ? TencentVodErrorCode.InvalidSignature : stage === 'commit' ? TencentVodErrorCode.CommitFailed : TencentVodErrorCode.ApplyFailed;
      throw new TencentVodError(code, `${action}: ${d!.message || 'failed'} (code ${d!.code})`, stage, false, { vodCode: d!.code, vodMessage: d!.message });
    }
  }

  private sessionFromApply(data: Record<string, unknown>, base?: Session): Session {
    const cert = data.tempCertificate as { secretId?: string; secretKey?: string; token?: string; expiredTime?: number } | undefined;
    const region = String(data.storageRegionV5 || data.StorageRegionV5 || '');
    if (!cert || !cert.secretId || !cert.secretKey || !cert.token || !cert.expiredTime || !data.vodSessionKey || !data.storageBucket || !data.storageAppId || !region) {
      throw new TencentVodError(TencentVodErrorCode.UnexpectedResponse, 'ApplyUploadUGC answered without tempCertificate / vodSessionKey / storage fields.', 'apply', false);
    }
    const startTime = Number(data.timestamp) || Math.floor(this.adapter.now() / 1000);
    const creds: CosCredentials = { secretId: cert.secretId, secretKey: cert.secretKey, token: cert.token, startTime, expiredTime: Number(cert.expiredTime) };
    if (base) {
      base.creds = creds;
      base.credsAt = this.adapter.now();
      base.credsLifetimeMs = Math.max(0, (creds.expiredTime - startTime) * 1000);
      return base;
    }
    const accel = typeof data.MiniProgramAccelerateHost === 'string' && data.MiniProgramAccelerateHost ? `https://${String(data.MiniProgramAccelerateHost).replace(/^https?:\/\//, '').replace(/\/+$/, '')}` : undefined;
    const s: Session = {
      vodSessionKey: String(data.vodSessionKey),
      cos: undefined as unknown as CosClient,
      creds,
      credsAt: this.adapter.now(),
      credsLifetimeMs: Math.max(0, (creds.expiredTime - startTime) * 1000),
    };
    s.cos = new CosClient(this.adapter, { bucket: `${data.storageBucket}-${data.storageAppId}`, region, proxyBase: this.o.cosRoute === 'direct' ? undefined : accel || this.hosts[0] }, () => s.creds);
    const obj = (f: LocalFile | undefined, part: unknown): ObjectState | undefined => {
      const p = part as { storagePath?: string } | undefined;
      if (!f) return undefined;
      if (!p || !p.storagePath) throw new TencentVodError(TencentVodErrorCode.UnexpectedResponse, 'ApplyUploadUGC answered without a storagePath for a file it was asked for.', 'apply', false);
      return { key: p.storagePath.replace(/^\/+/, ''), file: f, listed: false, parts: new Map(), done: false };
    };
    s.video = obj(this.video, data.video);
    s.cover = obj(this.cover, data.cover);
    return s;
  }

  private async openSession(signal: AbortSignalLike): Promise<Session> {
    this.stage = 'apply';
    const cp = this.readCheckpoint();
    const coverType = this.cover ? this.cover.ext : '';
    if (cp && cp.coverType === coverType) {
      try {
        const data = await this.vodCall('ApplyUploadUGC', (sig) => ({ signature: sig, vodSessionKey: cp.vodSessionKey }), signal);
        const s = this.sessionFromApply(data);
        const partSize = this.video ? this.partSize(this.video.size) : 0;
        if (s.video && cp.videoUploadId && cp.partSize === partSize) s.video.uploadId = cp.videoUploadId;
        if (s.cover && cp.coverUploadId) s.cover.uploadId = cp.coverUploadId;
        return s;
      } catch (e) {
        if (signal.aborted || isAbort(e) || retryable(e) || (e instanceof TencentVodError && e.code === TencentVodErrorCode.NetworkError)) throw e;
        // the session is gone (older than a day, unknown): start fresh instead of failing forever
        this.adapter.warn(`Dropping a stale VOD upload session and starting over: ${(e as Error).message}`);
        this.removeCheckpoint();
      }
    } else if (cp) {
      this.removeCheckpoint();
    }
    const v = this.video;
    const c = this.cover;
    const data = await this.vodCall(
      'ApplyUploadUGC',
      (sig) => {
        const b: Record<string, unknown> = { signature: sig };
        if (this.o.fileId) b.fileId = this.o.fileId;
        if (v) Object.assign(b, { videoName: this.mediaName, videoType: v.ext, videoSize: v.size });
        if (c) Object.assign(b, { coverName: this.mediaName, coverType: c.ext, coverSize: c.size });
        return b;
      },
      signal,
    );
    const s = this.sessionFromApply(data);
    if (this.fingerprint) this.writeCheckpoint({ v: 1, vodSessionKey: s.vodSessionKey, createdAt: this.adapter.now(), partSize: v ? this.partSize(v.size) : 0, coverType });
    return s;
  }

  /** Re-Apply with the session key: same paths, a fresh temporary credential. Single flight. */
  private renew(signal: AbortSignalLike): Promise<void> {
    if (!this.renewing) {
      const s = this.session!;
      this.renewing = this.vodCall('ApplyUploadUGC', (sig) => ({ signature: sig, vodSessionKey: s.vodSessionKey }), signal)
        .then((data) => {
          this.sessionFromApply(data, s);
        })
        .then(
          () => {
            this.renewing = undefined;
            this.stage = 'cos';
          },
          (e) => {
            this.renewing = undefined;
            throw e;
          },
        );
    }
    return this.renewing;
  }

  // ---------------------------------------------------------------- COS

  private async withCos<T>(fn: () => Promise<T>, signal: AbortSignalLike): Promise<T> {
    let failures = 0;
    let renews = 0;
    let late = 0;
    for (;;) {
      const s = this.session!;
      if (this.renewing) await this.renewing;
      else if (this.adapter.now() - s.credsAt >= s.credsLifetimeMs * 0.9) await this.renew(signal);
      this.stage = 'cos';
      try {
        return await fn();
      } catch (e) {
        if (signal.aborted || isAbort(e)) throw e;
        if (isInterrupted(e)) {
          if (await this.waitForeground(signal)) continue;
          // a phone suspends JS in the background: the "interrupted" failure may arrive only after onAppShow
          if (late < 3) {
            late++;
            continue;
          }
        }
        if (expiredCredential(e) && renews < 2) {
          renews++;
          await this.renew(signal);
          continue;
        }
        if (retryable(e) && failures < this.retries) {
          await this.sleep(this.delays[Math.min(failures, this.delays.length - 1)], signal);
          failures++;
          continue;
        }
        throw e;
      }
    }
  }

  private async uploadObject(obj: ObjectState, signal: AbortSignalLike): Promise<void> {
    if (obj.done) return;
    const cos = this.session!.cos;
    const f = obj.file;
    const sliceSize = this.o.sliceSize === undefined ? MIB : this.o.sliceSize;
    if (f.size === 0 || (f.size <= sliceSize && !obj.uploadId)) {
      await this.withCos(async () => {
        const body = f.size ? await this.adapter.fs.readRange(f.path, 0, f.size) : new ArrayBuffer(0);
        const pending = cos.call({ method: 'PUT', key: obj.key, body, signal, timeout: this.timeout });
        const local = this.o.verifyCrc64 === false ? undefined : crc64(body);
        this.checkCrc((await pending).header, local, obj.key);
      }, signal);
      obj.done = true;
      obj.parts.set(1, { etag: '', size: f.size });
      this.emitProgress();
      return;
    }
    const partSize = this.partSize(f.size);
    if (obj.uploadId && !obj.listed) {
      try {
        await this.listParts(obj, signal);
      } catch (e) {
        if (!(e instanceof MediaKitError && e.code === 'NoSuchUpload')) throw e;
        obj.uploadId = undefined;
        obj.parts.clear();
      }
    }
    if (!obj.uploadId) {
      const res = await this.withCos(() => cos.call({ method: 'POST', key: obj.key, query: { uploads: '' }, headers: { 'content-type': 'application/octet-stream' }, signal, timeout: this.timeout }), signal);
      const id = xmlTag(res.data || '', 'UploadId');
      if (!id) throw new TencentVodError(TencentVodErrorCode.UnexpectedResponse, 'InitiateMultipartUpload answered without UploadId.', 'cos', true);
      obj.uploadId = id;
      obj.listed = true;
      obj.parts.clear();
      this.saveUploadId(obj);
    }
    const specs = splitParts(f.size, partSize);
    for (const p of specs) {
      const have = obj.parts.get(p.number);
      if (have && have.size !== p.size) obj.parts.delete(p.number);
    }
    this.emitProgress();
    const todo = specs.filter((p) => !obj.parts.has(p.number));
    await runParts<{ etag: string; size: number }>({
      parts: todo,
      parallel: this.parallel,
      signal,
      uploadOne: (p, s) => this.uploadPart(obj, p, s),
      onDone: (p, r) => {
        obj.parts.set(p.number, r);
        this.emitProgress();
      },
    });
    const xml = `<CompleteMultipartUpload>${specs.map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${xmlEscape(obj.parts.get(p.number)!.etag)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    let attempt = 0;
    await this.withCos(async () => {
      attempt++;
      try {
        await cos.call({ method: 'POST', key: obj.key, query: { uploadId: obj.uploadId! }, headers: { 'content-type': 'application/xml' }, body: xml, signal, timeout: this.timeout });
      } catch (e) {
        // a retried Complete whose first answer was lost: the object is there
        if (attempt > 1 && e instanceof MediaKitError && e.code === 'NoSuchUpload') {
          const head = await cos.call({ method: 'HEAD', key: obj.key, signal, timeout: this.timeout });
          if (Number(getHeader(head.header, 'content-length')) === f.size) return;
        }
        throw e;
      }
    }, signal);
    obj.done = true;
  }

  private async listParts(obj: ObjectState, signal: AbortSignalLike): Promise<void> {
    const cos = this.session!.cos;
    let marker = '0';
    obj.parts.clear();
    for (let page = 0; page < 20; page++) {
      const res = await this.withCos(() => cos.call({ method: 'GET', key: obj.key, query: { uploadId: obj.uploadId!, 'part-number-marker': marker }, signal, timeout: this.timeout }), signal);
      const text = res.data || '';
      for (const p of xmlAll(text, 'Part')) {
        const n = Number(xmlTag(p, 'PartNumber'));
        const etag = (xmlTag(p, 'ETag') || '').replace(/&quot;/g, '"');
        const size = Number(xmlTag(p, 'Size'));
        if (n > 0 && etag) obj.parts.set(n, { etag, size });
      }
      if (xmlTag(text, 'IsTruncated') !== 'true') break;
      marker = xmlTag(text, 'NextPartNumberMarker') || marker;
    }
    obj.listed = true;
  }

  private uploadPart(obj: ObjectState, p: PartSpec, signal: AbortSignalLike): Promise<{ etag: string; size: number }> {
    const cos = this.session!.cos;
    return this.withCos(async () => {
      // read right before sending, drop right after: at most `parallel` parts in memory
      const body = await this.adapter.fs.readRange(obj.file.path, p.offset, p.size);
      const pending = cos.call({ method: 'PUT', key: obj.key, query: { partNumber: String(p.number), uploadId: obj.uploadId! }, body, signal, timeout: this.timeout });
      // our CRC-64 is computed while the part is on the wire, not after the answer
      const local = this.o.verifyCrc64 === false ? undefined : crc64(body);
      const res = await pending;
      const etag = getHeader(res.header, 'etag');
      if (!etag) throw new MediaKitError(PlatformErrorCode.Network, `UploadPart ${p.number} answered without an ETag.`, { status: res.statusCode });
      this.checkCrc(res.header, local, `${obj.key} part ${p.number}`);
      return { etag, size: p.size };
    }, signal);
  }

  private checkCrc(header: Record<string, string>, local: string | undefined, what: string): void {
    if (local === undefined) return;
    const remote = getHeader(header, 'x-cos-hash-crc64ecma');
    if (!remote) return;
    if (remote !== local) throw new MediaKitError(TencentVodErrorCode.Crc64Mismatch, `CRC-64 of ${what}: COS has ${remote}, we sent ${local}.`, { remote, local });
  }

  private cleanupAfterCancel(): void {
    const s = this.session;
    this.removeCheckpoint();
    if (!s) return;
    for (const obj of [s.video, s.cover]) {
      if (!obj || obj.done || !obj.uploadId) continue;
      const ctrl = new AbortControllerLike();
      s.cos
        .call({ method: 'DELETE', key: obj.key, query: { uploadId: obj.uploadId }, signal: ctrl.signal, timeout: this.timeout })
        .catch((e) => this.adapter.warn('Aborting the canceled multipart upload failed (COS lifecycle rules clean it up)', e));
    }
  }

  // ---------------------------------------------------------------- progress

  private loaded(): number {
    const s = this.session;
    if (!s) return 0;
    let n = 0;
    for (const obj of [s.video, s.cover]) if (obj) obj.parts.forEach((p) => (n += p.size));
    return n;
  }

  private total(): number {
    return (this.video ? this.video.size : 0) + (this.cover ? this.cover.size : 0);
  }

  private emitProgress(final = false, force = false): void {
    if (!this.o.progress) return;
    const total = this.total();
    const loaded = Math.max(this.bestLoaded, final ? total : Math.min(total, this.loaded()));
    let percent = final ? 1 : total ? Math.min(0.99, Math.floor((loaded / total) * 100) / 100) : 0;
    if (percent < this.best) percent = this.best;
    const now = this.adapter.now();
    const interval = this.o.progressInterval === undefined ? 200 : this.o.progressInterval;
    if (!final && !force && (loaded === this.bestLoaded || now - this.lastEmit < interval)) return;
    this.best = percent;
    this.bestLoaded = loaded;
    this.lastEmit = now;
    const dt = now - this.runStart.at;
    const speed = dt > 0 ? Math.max(0, ((loaded - this.runStart.loaded) * 1000) / dt) : 0;
    this.safeCall(() => this.o.progress!({ loaded, total, speed: Math.round(speed), percent }));
  }

  // ---------------------------------------------------------------- checkpoints

  private readAll(): Record<string, TencentVodCheckpoint> {
    try {
      const all = this.adapter.storage.get<Record<string, TencentVodCheckpoint>>(TENCENT_VOD_CHECKPOINT_KEY);
      return all && typeof all === 'object' ? all : {};
    } catch {
      return {};
    }
  }

  private writeAll(all: Record<string, TencentVodCheckpoint>): void {
    const now = this.adapter.now();
    const kept: Record<string, TencentVodCheckpoint> = {};
    Object.keys(all)
      .filter((k) => all[k] && now - all[k].createdAt < TENCENT_VOD_RESUME_TTL_MS)
      .sort((a, b) => all[b].createdAt - all[a].createdAt)
      .slice(0, 20)
      .forEach((k) => (kept[k] = all[k]));
    try {
      if (Object.keys(kept).length) this.adapter.storage.set(TENCENT_VOD_CHECKPOINT_KEY, kept);
      else this.adapter.storage.remove(TENCENT_VOD_CHECKPOINT_KEY);
    } catch (e) {
      this.adapter.warn('Saving the upload resume record failed (a restart will start over)', e);
    }
  }

  private readCheckpoint(): TencentVodCheckpoint | undefined {
    if (!this.fingerprint) return undefined;
    const all = this.readAll();
    const cp = all[this.fingerprint];
    if (!cp) return undefined;
    const age = this.adapter.now() - cp.createdAt;
    if (cp.v !== 1 || typeof cp.vodSessionKey !== 'string' || !(age < TENCENT_VOD_RESUME_TTL_MS) || age < -TENCENT_VOD_RESUME_TTL_MS) {
      delete all[this.fingerprint];
      this.writeAll(all);
      return undefined;
    }
    return cp;
  }

  private writeCheckpoint(cp: TencentVodCheckpoint): void {
    if (!this.fingerprint) return;
    const all = this.readAll();
    all[this.fingerprint] = cp;
    this.writeAll(all);
  }

  private saveUploadId(obj: ObjectState): void {
    if (!this.fingerprint || !this.session) return;
    const all = this.readAll();
    const cp = all[this.fingerprint];
    if (!cp || cp.vodSessionKey !== this.session.vodSessionKey) return;
    if (obj === this.session.video) cp.videoUploadId = obj.uploadId;
    else cp.coverUploadId = obj.uploadId;
    this.writeAll(all);
  }

  private removeCheckpoint(): void {
    if (!this.fingerprint) return;
    const all = this.readAll();
    if (!(this.fingerprint in all)) return;
    delete all[this.fingerprint];
    this.writeAll(all);
  }

  /** A fatal Apply / Commit refusal means the session is unusable: forget it so the next try starts fresh. */
  private dropCheckpointOnFatal(e: unknown): void {
    if (e instanceof TencentVodError && !e.retryable && (e.stage === 'apply' || e.stage === 'commit')) this.removeCheckpoint();
  }
}
