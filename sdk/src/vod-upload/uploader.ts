/**
 * VODUpload: a drop-in port of Aliyun's VOD upload SDK for WeChat mini-programs, with real chunked upload
 * (OSS multipart over wx.request PUT of ranged reads), PostObject for small files, retries, clock-skew correction,
 * token renewal that keeps finished parts, resume after restart, cancel / stop that really stop, CRC-64 checks and
 * a report for every failure. See docs/vod-upload.md.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import { AbortControllerLike, AbortSignalLike } from '../platform/abort';
import { getDefaultAdapter } from '../platform';
import type { FileStat, PlatformAdapter } from '../platform/types';
import { utf8ToBase64 } from '../util/bytes';
import { crc64, crc64Combine } from '../aliyun/crc64';
import { decodeUploadAddress, decodeUploadAuth, parseOssEndpoint, uploadAuthExpiresAt } from '../aliyun/credentials';
import { rpcNonce } from '../aliyun/rpc-signature';
import { CheckpointStore, edgeCrcs, fileFingerprint, targetFingerprint } from './checkpoint';
import { VODUploadErrorCode as E } from './errors';
import { choosePartSize, PartSpec, runParts, splitParts } from './multipart';
import {
  abortMultipart,
  completeMultipart,
  headObject,
  initiateMultipart,
  listParts,
  OssContext,
  OssTarget,
  PartInfo,
  postObject,
  uploadPart,
} from './oss';
import { ProgressMeter } from './progress';
import { classifyError, errorCode, reportCode, RetryOptions, withRetry } from './retry';
import {
  OssCredentials,
  StsCredentials,
  VODUploadAuthResult,
  VODUploadCallbacks,
  VODUploadFile,
  VODUploadFileState as S,
  VODUploaderState as VS,
  VODUploaderStateValue,
  VODUploadInfo,
  VODUploadOptions,
} from './types';
import { vodCall, VodUploadResponse } from './vod';

/** Per-file state that must not live on uploadInfo (credentials) or survives stop/start. */
interface FileState {
  name: string;
  /** file.name as given to addFile (part of the fingerprint; the temp path's basename is not). */
  given?: string;
  duration?: number;
  notify?: string;
  stat?: FileStat;
  fileFp?: string;
  partSize?: number;
  sts?: StsCredentials;
  creds?: OssCredentials;
  target?: OssTarget;
  uploadId?: string;
  done: Map<number, PartInfo>;
  meter?: ProgressMeter;
}

interface Job {
  info: VODUploadInfo;
  fs: FileState;
  ctl: AbortControllerLike;
  /** prepare → auth (waiting for set*) → vod (STS: calling VOD) → upload; expired while waiting for a new token. */
  phase: 'prepare' | 'auth' | 'vod' | 'upload' | 'expired';
  /** Token expiries since the last successful OSS request. */
  expiries: number;
}

interface Normalized {
  region: string;
  partSize: number;
  parallel: number;
  retryCount: number;
  retryDuration: number;
  timeout?: number;
  v4: boolean;
  checkpointTtl: number;
}

const MIME: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  flv: 'video/x-flv',
  mkv: 'video/x-matroska',
  ts: 'video/mp2t',
  '3gp': 'video/3gpp',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  heic: 'image/heic',
};

function ext(name: string): string {
  const m = /\.([a-z0-9]+)$/i.exec(name);
  return m ? m[1].toLowerCase() : '';
}

function contentType(name: string, url: string): string {
  return MIME[ext(name)] || MIME[ext(url)] || 'application/octet-stream';
}

function basename(path: string): string {
  return path.replace(/[?#].*$/, '').split('/').pop() || path;
}

function defaultTitle(image: boolean | undefined, ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => (n < 10 ? '0' : '') + n;
  return `${image ? '图片' : '视频'} ${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.join(',');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function invalid(code: string, message: string): MediaKitError {
  return new MediaKitError(code, message);
}

/** The options that must be functions when given. */
const FUNCTION_OPTIONS = [
  'getUploadAuth',
  'addFileSuccess',
  'onUploadstarted',
  'onUploadSucceed',
  'onUploadFailed',
  'onUploadProgress',
  'onUploadTokenExpired',
  'onUploadEnd',
  'onUploadCanceled',
];

export class VODUpload {
  readonly options: VODUploadOptions;
  /** The error behind the last method call that returned false (or the last failure reported). */
  lastError: MediaKitError | undefined;
  private readonly o: Normalized;
  private readonly adapter: PlatformAdapter;
  private readonly store: CheckpointStore;
  private readonly list: VODUploadInfo[] = [];
  private readonly states = new Map<VODUploadInfo, FileState>();
  private job: Job | undefined;
  private vodState: VODUploaderStateValue = VS.Init;
  private clockOffset = 0;
  private hidden = false;
  private showWaiters: Array<() => void> = [];
  private unwatch: (() => void) | undefined;

  constructor(options: VODUploadOptions) {
    if (!options || typeof options !== 'object') throw invalid(E.InvalidOption, 'VODUpload options must be an object.');
    const uid = options.userId;
    if (uid === undefined || uid === null || String(uid).trim() === '') {
      throw invalid(E.InvalidUserId, 'VODUpload needs a non-empty userId (your Aliyun account id).');
    }
    const opt = options as unknown as Record<string, unknown>;
    const bad = (name: string, want: string): never => {
      throw invalid(E.InvalidOption, `Option ${name} must be ${want}, got ${JSON.stringify(opt[name])}.`);
    };
    const num = (name: keyof VODUploadOptions, def: number, min: number): number => {
      const v = opt[name];
      if (v === undefined || v === null) return def;
      if (typeof v !== 'number' || !isFinite(v) || v < 0) bad(name, 'a non-negative number');
      return Math.max(min, v as number);
    };
    for (const f of FUNCTION_OPTIONS) if (opt[f] !== undefined && typeof opt[f] !== 'function') bad(f, 'a function');
    const sv = options.signatureVersion;
    if (sv !== undefined && sv !== 'v1' && sv !== 'v4') bad('signatureVersion', "'v1' or 'v4'");
    if (options.vodEndpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(String(options.vodEndpoint))) bad('vodEndpoint', 'an http(s) URL');
    if (options.region !== undefined && (typeof options.region !== 'string' || !/^[a-z0-9-]+$/.test(options.region))) {
      bad('region', "a region id such as 'cn-shanghai'");
    }
    this.options = options;
    this.adapter = options.adapter || getDefaultAdapter();
    const parallel = Math.floor(num('parallel', 5, 1));
    if (parallel > 10) this.adapter.warn(`VODUpload: parallel ${parallel} capped at 10 (WeChat's limit).`);
    const partSize = Math.floor(num('partSize', 1024 * 1024, 1));
    if (partSize < 102400) this.adapter.warn(`VODUpload: partSize ${partSize} raised to 102400 (the OSS minimum).`);
    this.o = {
      region: options.region || 'cn-shanghai',
      partSize: Math.max(102400, partSize),
      parallel: Math.min(10, parallel),
      retryCount: Math.floor(num('retryCount', 3, 0)),
      retryDuration: num('retryDuration', 2, 0),
      timeout: options.timeout === undefined ? undefined : num('timeout', 0, 1),
      v4: options.signatureVersion === 'v4',
      checkpointTtl: num('checkpointTtl', 7 * 24 * 3600 * 1000, 0),
    };
    this.store = new CheckpointStore(this.adapter.storage, () => this.adapter.now(), this.o.checkpointTtl, (m, ...a) => this.adapter.warn(m, ...a));
  }

  /** Follow onAppHide / onAppShow while the queue runs (requests cut in the background wait for the foreground). */
  private watchApp(on: boolean): void {
    if (on && !this.unwatch) {
      const offHide = this.adapter.onAppHide(() => {
        this.hidden = true;
      });
      const offShow = this.adapter.onAppShow(() => {
        this.hidden = false;
        const w = this.showWaiters;
        this.showWaiters = [];
        for (const f of w) f();
      });
      this.unwatch = () => {
        offHide();
        offShow();
      };
    } else if (!on && this.unwatch) {
      this.unwatch();
      this.unwatch = undefined;
      this.hidden = false;
    }
  }

  // ------------------------------------------------------------------ queue

  /**
   * Queue a file. `file = {url: tempFilePath, coverUrl?, name?, duration?}`; `endpoint/bucket/object` override the
   * UploadAddress; `paramData` is the JSON string `{"Vod":{"Title":…,"CateId":…,"UserData":…}}`.
   * Returns false (see `lastError`) for a missing url, a duplicate or bad paramData.
   */
  addFile(file: VODUploadFile, endpoint?: string | null, bucket?: string | null, object?: string | null, paramData?: string | null): boolean {
    if (!file || typeof file.url !== 'string' || !file.url) return this.refuse(E.InvalidFile, 'addFile needs a file object {url: tempFilePath}.');
    if (this.list.some((i) => i.url === file.url)) return this.refuse(E.FileDuplication, `${file.url} is already in the upload list.`);
    if (endpoint && !/^https?:\/\/[^\s/]+/.test(String(endpoint))) return this.refuse(E.InvalidOption, `addFile: endpoint must be an http(s) URL such as https://oss-cn-shanghai.aliyuncs.com, got ${JSON.stringify(endpoint)}.`);
    let videoInfo: Record<string, unknown> = {};
    let userData: string | undefined;
    let notify: string | undefined;
    if (paramData !== undefined && paramData !== null && paramData !== '') {
      let p: Record<string, unknown> | undefined;
      try {
        p = typeof paramData === 'string' ? JSON.parse(paramData) : paramData;
      } catch (_) {
        /* refused below */
      }
      if (!p || typeof p !== 'object' || Array.isArray(p) || (p.Vod !== undefined && (typeof p.Vod !== 'object' || !p.Vod))) {
        return this.refuse(E.InvalidParamData, 'paramData must be a JSON object string such as {"Vod":{"Title":"…"}}.');
      }
      videoInfo = (p.Vod as Record<string, unknown>) || {};
      userData = utf8ToBase64(typeof paramData === 'string' ? paramData : JSON.stringify(paramData));
      if (videoInfo.UserData !== undefined || p.UserData !== undefined || p.callback !== undefined || p.Callback !== undefined) notify = userData;
    }
    const name = file.name || basename(file.url);
    const info: VODUploadInfo = {
      url: file.url,
      coverUrl: file.coverUrl,
      _endpoint: endpoint || null,
      _bucket: bucket || null,
      _object: object || null,
      state: S.Ready,
      isImage: file.fileType ? file.fileType === 'image' : /^image/.test(MIME[ext(file.url)]),
      videoInfo,
      userData,
      ri: rpcNonce(),
      retry: false,
      loaded: 0,
      loadedBytes: 0,
      speed: 0,
      file: { name, size: 0, path: file.url },
    };
    this.list.push(info);
    this.states.set(info, { name, given: file.name, duration: file.duration, notify, done: new Map() });
    this.adapter.fs.stat(file.url).then(
      (st) => {
        info.fileSize = st.size;
        info.file.size = st.size;
      },
      () => undefined /* reported when the file's upload starts */,
    );
    this.emit('addFileSuccess', info);
    return true;
  }

  /** The live list of uploadInfo objects. */
  listFiles(): VODUploadInfo[] {
    return this.list;
  }

  /**
   * Stop, then empty the list. Unfinished files' multipart uploads are aborted on OSS (best effort, failures logged
   * through adapter.warn) and their checkpoints forgotten, so no parts are left behind to be billed.
   */
  cleanList(): void {
    this.stopUpload();
    for (const info of this.list) {
      const fs = this.states.get(info);
      if (!fs || info.state === S.Success) continue;
      this.abortUpload(fs, fs.target);
      if (fs.fileFp) this.store.remove(fs.fileFp);
    }
    this.list.length = 0;
    this.states.clear();
  }

  /** Best-effort AbortMultipartUpload of the file's open upload at `t` (with the credentials it has now). */
  private abortUpload(fs: FileState, t: OssTarget | undefined): void {
    if (fs.uploadId && fs.creds && t) {
      abortMultipart(this.ossCtx(fs), t, fs.uploadId).then(undefined, (e: Error) => this.adapter.warn(`AbortMultipartUpload failed: ${e.message}`));
    }
  }

  /** Cancel (if needed) and remove the file at `index`. */
  deleteFile(index: number): boolean {
    const info = this.at(index);
    if (!info) return false;
    if (info.state !== S.Success && info.state !== S.Canceled) this.cancelFile(index);
    this.list.splice(this.list.indexOf(info), 1);
    this.states.delete(info);
    return true;
  }

  /**
   * Cancel the file at `index`: aborts its in-flight requests and the multipart upload (AbortMultipartUpload),
   * forgets its checkpoint, fires onUploadCanceled and moves on to the next file.
   */
  cancelFile(index: number): boolean {
    const info = this.at(index);
    if (!info) return false;
    if (info.state === S.Success || info.state === S.Canceled) return this.refuse(E.InvalidState, `File ${index} is ${info.state}: nothing to cancel.`);
    const job = this.job && this.job.info === info ? this.job : undefined;
    if (job) {
      job.ctl.abort('cancel');
      this.job = undefined;
    }
    info.state = S.Canceled;
    const fs = this.states.get(info) as FileState;
    this.abortUpload(fs, fs.target);
    if (fs.fileFp) this.store.remove(fs.fileFp);
    fs.uploadId = undefined;
    fs.done = new Map();
    fs.meter = undefined;
    info.checkpoint = null;
    info.uploadId = undefined;
    this.emit('onUploadCanceled', info, { code: 'Canceled', message: 'Canceled by cancelFile.' });
    if (job && (this.vodState === VS.Start || this.vodState === VS.Expire)) {
      this.vodState = VS.Start;
      this.scheduleNext();
    }
    return true;
  }

  /** Canceled (or failed / stopped) → Ready; the next startUpload or queue step picks it up. */
  resumeFile(index: number): boolean {
    const info = this.at(index);
    if (!info) return false;
    if (info.state !== S.Canceled && info.state !== S.Failure && info.state !== S.Stoped) {
      return this.refuse(E.InvalidState, `File ${index} is ${info.state}: only Canceled, Failure or Stoped files can be resumed.`);
    }
    info.state = S.Ready;
    return true;
  }

  /** The stored resume checkpoint of a queued file (by uploadInfo or {url}), or null. */
  getCheckpoint(file: { url: string }): VODUploadInfo['checkpoint'] {
    const info = file ? this.list.find((i) => i.url === file.url) : undefined;
    if (!info) return null;
    const fs = this.states.get(info);
    return (fs && fs.fileFp && this.store.get(fs.fileFp)) || info.checkpoint || null;
  }

  // ------------------------------------------------------------------ start / stop

  /** Start (or continue) the queue: Failure and Stoped files become Ready again, one file uploads at a time. */
  startUpload(): boolean {
    if (this.vodState === VS.Start || this.vodState === VS.Expire) return this.refuse(E.UploadAlreadyStarted, 'startUpload: already running.');
    if (typeof this.options.getUploadAuth !== 'function' && typeof this.options.onUploadstarted !== 'function') {
      return this.refuse(E.InvalidOption, 'startUpload: give getUploadAuth, or onUploadstarted calling setUploadAuthAndAddress / setSTSToken: nothing else can give the files credentials.');
    }
    for (const i of this.list) if (i.state === S.Failure || i.state === S.Stoped) i.state = S.Ready;
    this.vodState = VS.Start;
    this.next();
    return true;
  }

  /** Stop the current file (state Stoped) and abort its requests; startUpload continues it, keeping finished parts. */
  stopUpload(): void {
    const job = this.job;
    if (job) {
      job.ctl.abort('stop');
      this.job = undefined;
      job.info.state = S.Stoped;
    }
    this.vodState = VS.Stop;
    this.watchApp(false);
  }

  // ------------------------------------------------------------------ credentials

  /** In onUploadstarted: the UploadAuth / UploadAddress (/ VideoId) your AppServer got from CreateUploadVideo. */
  setUploadAuthAndAddress(uploadInfo: VODUploadInfo, uploadAuth: string, uploadAddress: string, videoId?: string): boolean {
    const job = this.waiting(uploadInfo, 'setUploadAuthAndAddress');
    return !!job && this.authAndBegin(job, uploadAuth, uploadAddress, videoId);
  }

  /** In onUploadstarted (STS mode): the SDK calls CreateUploadVideo / RefreshUploadVideo / CreateUploadImage itself. */
  setSTSToken(uploadInfo: VODUploadInfo, accessKeyId: string, accessKeySecret: string, securityToken: string): boolean {
    const job = this.waiting(uploadInfo, 'setSTSToken');
    if (!job) return false;
    return this.useSts(job, accessKeyId, accessKeySecret, securityToken);
  }

  /** After onUploadTokenExpired: a refreshed UploadAuth (RefreshUploadVideo); the same UploadId continues. */
  resumeUploadWithAuth(uploadAuth: string): boolean {
    const job = this.expired('resumeUploadWithAuth');
    if (!job) return false;
    if (!job.fs.target) return this.refuse(E.InvalidState, 'resumeUploadWithAuth: no upload address yet (STS mode: use resumeUploadWithSTSToken).');
    return this.authAndBegin(job, uploadAuth);
  }

  /** After onUploadTokenExpired (STS mode): new STS credentials; the SDK refreshes the UploadAuth and continues. */
  resumeUploadWithSTSToken(accessKeyId: string, accessKeySecret: string, securityToken: string, expireTime?: string): boolean {
    const job = this.expired('resumeUploadWithSTSToken');
    if (!job) return false;
    return this.useSts(job, accessKeyId, accessKeySecret, securityToken, expireTime);
  }

  // ------------------------------------------------------------------ internals: queue

  private at(index: number): VODUploadInfo | undefined {
    const info = typeof index === 'number' && index >= 0 && index % 1 === 0 ? this.list[index] : undefined;
    if (!info) this.refuse(E.InvalidIndex, `No file at index ${JSON.stringify(index)} (list length ${this.list.length}).`);
    return info;
  }

  private refuse(code: string, message: string): false {
    this.lastError = new MediaKitError(code, message);
    this.adapter.warn(`VODUpload ${code}: ${message}`);
    return false;
  }

  /** Calls the app's callback; a throw is reported (adapter.warn) and returned, never propagated. */
  private emit(name: keyof VODUploadCallbacks, ...args: unknown[]): unknown {
    const fn = this.options[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') return undefined;
    const report = (e: unknown) => this.adapter.warn(`VODUpload: your ${name} callback threw: ${(e as Error) && (e as Error).message}`, e);
    try {
      const r = fn.apply(this.options, args) as { then?: unknown } | undefined;
      if (r && typeof r.then === 'function') (r as Promise<unknown>).then(undefined, report);
    } catch (e) {
      report(e);
      return e || new Error(String(e));
    }
    return undefined;
  }

  /** The app's credentials callback threw and nothing else will give the file credentials: fail it, do not wait forever. */
  private callbackThrew(job: Job, name: string, e: unknown, phase: Job['phase']): void {
    if (!e || this.options.getUploadAuth || !this.live(job) || job.phase !== phase) return;
    this.fail(job, new MediaKitError(E.CallbackError, `Your ${name} callback threw before giving credentials: ${(e as Error).message || String(e)}`, { cause: e }));
  }

  private scheduleNext(): void {
    this.adapter.setTimeout(() => this.next(), 0);
  }

  private next(): void {
    if (this.vodState !== VS.Start || this.job) return;
    const info = this.list.find((i) => i.state === S.Ready);
    if (!info) {
      this.vodState = VS.End;
      this.watchApp(false);
      this.emit('onUploadEnd');
      return;
    }
    this.watchApp(true);
    const fs = this.states.get(info) as FileState;
    const job: Job = { info, fs, ctl: new AbortControllerLike(), phase: 'prepare', expiries: 0 };
    this.job = job;
    info.state = S.Uploading;
    info.ri = rpcNonce();
    info.error = undefined;
    info.speed = 0;
    info.eta = undefined;
    this.prepare(job).then(undefined, (e) => this.onError(job, e));
  }

  private live(job: Job): boolean {
    return this.job === job;
  }

  private async prepare(job: Job): Promise<void> {
    const { info, fs } = job;
    const st = await this.adapter.fs.stat(info.url);
    if (!this.live(job)) return;
    if (st.isFile === false) throw new MediaKitError(E.InvalidFile, `${info.url} is a directory, not a file.`, { path: info.url });
    fs.stat = st;
    info.fileSize = info.file.size = st.size;
    fs.partSize = choosePartSize(st.size, this.o.partSize);
    if (!fs.meter || fs.meter.total !== st.size) fs.meter = new ProgressMeter(st.size, () => this.adapter.now());
    // multipart files only (small ones are one PostObject, never checkpointed): content, not temp path / mtime
    fs.fileFp =
      st.size > fs.partSize
        ? fileFingerprint({ size: st.size, edges: await edgeCrcs(st.size, (p, n) => this.read(info.url, p, n)), name: fs.given, duration: fs.duration })
        : undefined;
    if (!this.live(job)) return;
    const fp = fs.fileFp;
    const cp = fp ? this.store.get(fp) || (info.checkpoint && info.checkpoint.file === fp ? info.checkpoint : undefined) : undefined;
    info.checkpoint = cp || null;
    if (cp && cp.videoId && !info.videoId && !info.isImage) info.videoId = cp.videoId;
    job.phase = 'auth';
    this.callbackThrew(job, 'onUploadstarted', this.emit('onUploadstarted', info), 'auth');
    if (this.options.getUploadAuth && job.phase === 'auth' && this.live(job)) await this.fetchAuth(job, false);
  }

  /** The getUploadAuth hook: at start (resume=false) and after a token expiry (resume=true). */
  private async fetchAuth(job: Job, resume: boolean): Promise<void> {
    let res: VODUploadAuthResult;
    try {
      res = await (this.options.getUploadAuth as (i: VODUploadInfo) => Promise<VODUploadAuthResult>)(job.info);
    } catch (e) {
      const err = e as MediaKitError;
      throw new MediaKitError(E.GetUploadAuthFailed, `getUploadAuth failed: ${(err && err.message) || String(e)}`, { cause: e, causeCode: err && err.code });
    }
    if (!this.live(job) || job.phase !== (resume ? 'expired' : 'auth')) return;
    const raw = (res || {}) as Record<string, unknown>;
    const r = (raw.SecurityTokenInfo || raw) as Record<string, string | undefined>;
    const auth = r.uploadAuth || r.UploadAuth;
    const ak = r.accessKeyId || r.AccessKeyId;
    if (auth) {
      const imageId = r.imageId || r.ImageId;
      if (imageId) job.info.imageId = imageId;
      if (r.imageURL || r.ImageURL) job.info.imageURL = r.imageURL || r.ImageURL;
      this.authAndBegin(job, auth, r.uploadAddress || r.UploadAddress, r.videoId || r.VideoId);
    } else if (ak) {
      this.useSts(job, ak, (r.accessKeySecret || r.AccessKeySecret) as string, (r.securityToken || r.SecurityToken) as string, r.expiration || r.Expiration);
    } else {
      throw new MediaKitError(E.GetUploadAuthFailed, 'getUploadAuth resolved with neither {uploadAuth, uploadAddress} nor {accessKeyId, accessKeySecret, securityToken}.');
    }
  }

  private waiting(uploadInfo: VODUploadInfo, method: string): Job | undefined {
    const job = this.job;
    if (job && job.phase === 'auth' && uploadInfo && (uploadInfo === job.info || uploadInfo.url === job.info.url)) return job;
    this.refuse(E.InvalidState, `${method}: call it in onUploadstarted, for the file waiting for credentials.`);
    return undefined;
  }

  private expired(method: string): Job | undefined {
    const job = this.job;
    if (job && job.phase === 'expired') return job;
    this.refuse(E.InvalidState, `${method}: no upload is waiting for a new token (see onUploadTokenExpired).`);
    return undefined;
  }

  /** applyAuth, then upload; a bad UploadAuth / UploadAddress fails the file (false). */
  private authAndBegin(job: Job, uploadAuth: string, uploadAddress?: string, videoId?: string): boolean {
    try {
      this.applyAuth(job, uploadAuth, uploadAddress, videoId);
    } catch (e) {
      this.fail(job, e);
      return false;
    }
    this.begin(job);
    return true;
  }

  /** Decode and apply UploadAuth (+ UploadAddress): throws InvalidUploadAuth / InvalidUploadAddress. */
  private applyAuth(job: Job, uploadAuth: string, uploadAddress?: string, videoId?: string): void {
    const { info, fs } = job;
    const auth = decodeUploadAuth(uploadAuth);
    const addr = uploadAddress !== undefined ? decodeUploadAddress(uploadAddress) : undefined;
    if (addr) {
      const endpoint = info._endpoint || addr.Endpoint;
      const region = auth.Region || this.o.region;
      const t: OssTarget = {
        endpoint,
        bucket: info._bucket || addr.Bucket,
        object: info._object || addr.FileName,
        region: parseOssEndpoint(endpoint).region || region,
      };
      const old = fs.target;
      if (old && (old.endpoint !== t.endpoint || old.bucket !== t.bucket || old.object !== t.object)) {
        // a new address (e.g. an image whose token was renewed gets a new ImageId): drop the old upload's parts
        this.abortUpload(fs, old);
        fs.uploadId = undefined;
        fs.done = new Map();
      }
      fs.target = t;
      info.endpoint = t.endpoint;
      info.bucket = t.bucket;
      info.object = t.object;
      info.region = region;
    }
    fs.creds = {
      accessKeyId: auth.AccessKeyId,
      accessKeySecret: auth.AccessKeySecret,
      securityToken: auth.SecurityToken,
      expireAt: uploadAuthExpiresAt(auth, this.now()),
    };
    if (videoId) info.videoId = videoId;
  }

  private useSts(job: Job, accessKeyId: string, accessKeySecret: string, securityToken: string, expireTime?: string): boolean {
    const ok = (v: unknown) => typeof v === 'string' && v.length > 0;
    if (!ok(accessKeyId) || !ok(accessKeySecret) || !ok(securityToken)) {
      this.fail(job, invalid(E.InvalidSTSToken, 'STS mode needs non-empty accessKeyId, accessKeySecret and securityToken.'));
      return false;
    }
    job.fs.sts = { accessKeyId, accessKeySecret, securityToken, expireTime };
    job.phase = 'vod';
    this.vodState = VS.Start;
    const run = async () => {
      const r = await this.callVod(job);
      if (!this.live(job) || job.phase !== 'vod') return;
      this.applyAuth(job, r.UploadAuth, r.UploadAddress, r.VideoId);
      if (r.ImageId) job.info.imageId = r.ImageId;
      if (r.ImageURL) job.info.imageURL = r.ImageURL;
      if (r.FileURL) job.info.fileURL = r.FileURL;
      this.begin(job);
    };
    run().then(undefined, (e) => this.onError(job, e));
    return true;
  }

  /** STS mode: CreateUploadImage for images, RefreshUploadVideo when a VideoId is known, else CreateUploadVideo. */
  private async callVod(job: Job): Promise<VodUploadResponse> {
    const { info, fs } = job;
    const v = info.videoInfo;
    const region = info.region || this.o.region;
    const ctx = {
      adapter: this.adapter,
      // read at call time: an app may learn its VOD endpoint after constructing the uploader
      endpoint: this.options.vodEndpoint || `https://vod.${region}.aliyuncs.com`,
      sts: fs.sts as StsCredentials,
      now: () => this.now(),
      timeout: this.o.timeout,
      signal: job.ctl.signal,
    };
    const ro = this.retryOpts(job);
    // no Title in paramData: the name the app gave, else "视频 / 图片 <local date time>" — never the temp file's name
    const title = (str(v.Title) || (fs.given || '').replace(/\.[^.]*$/, '') || defaultTitle(info.isImage, this.now())).slice(0, 128);
    const common = {
      Title: title,
      Tags: str(v.Tags),
      CateId: str(v.CateId),
      Description: str(v.Description),
      StorageLocation: str(v.StorageLocation),
      UserData: str(v.UserData),
      AppId: str(v.AppId),
    };
    if (info.isImage) {
      return withRetry(() => vodCall(ctx, 'CreateUploadImage', Object.assign({}, common, { ImageType: str(v.ImageType) || 'default', ImageExt: str(v.ImageExt) || ext(fs.name) || undefined })), ro);
    }
    if (info.videoId) {
      try {
        return await withRetry(() => vodCall(ctx, 'RefreshUploadVideo', { VideoId: info.videoId }), ro);
      } catch (e) {
        if (errorCode(e) !== 'InvalidVideo.NotFound') throw e;
        this.adapter.warn(`VideoId ${info.videoId} no longer exists; creating a new video.`);
        if (fs.fileFp) this.store.remove(fs.fileFp);
        info.videoId = undefined;
        info.checkpoint = null;
      }
    }
    return withRetry(
      () =>
        vodCall(
          ctx,
          'CreateUploadVideo',
          Object.assign({}, common, {
            FileName: str(v.FileName) || fs.name,
            FileSize: info.fileSize,
            CoverURL: str(v.CoverURL),
            TemplateGroupId: str(v.TemplateGroupId),
            WorkflowId: str(v.WorkflowId),
          }),
        ),
      ro,
    );
  }

  // ------------------------------------------------------------------ internals: upload

  private now(): number {
    return this.adapter.now() + this.clockOffset;
  }

  private ossCtx(fs: FileState): OssContext {
    return { adapter: this.adapter, creds: fs.creds as OssCredentials, now: () => this.now(), v4: this.o.v4, timeout: this.o.timeout };
  }

  private retryOpts(job: Job, signal: AbortSignalLike = job.ctl.signal): RetryOptions {
    return {
      adapter: this.adapter,
      retryCount: this.o.retryCount,
      retryDelayMs: this.o.retryDuration * 1000,
      signal,
      usingSecurityToken: true,
      onSkew: (e) => {
        const t = Date.parse(String(e.details.serverTime || ''));
        if (isNaN(t)) return false;
        this.clockOffset = t - this.adapter.now();
        this.adapter.warn(`VODUpload: device clock off by ${Math.round(-this.clockOffset / 1000)} s; using server time.`);
        return true;
      },
      waitForeground: (sig) =>
        this.hidden
          ? new Promise<boolean>((resolve) => {
              const off = sig ? sig.onAbort(() => resolve(false)) : () => undefined;
              this.showWaiters.push(() => {
                off();
                resolve(true);
              });
            })
          : Promise.resolve(false),
    };
  }

  private begin(job: Job): void {
    job.phase = 'upload';
    this.vodState = VS.Start;
    const fs = job.fs;
    const run = (fs.stat as FileStat).size <= (fs.partSize as number) ? this.uploadSmall(job) : this.uploadMultipart(job);
    run.then(
      () => this.succeed(job),
      (e) => this.onError(job, e),
    );
  }

  private async read(path: string, position: number, length: number): Promise<ArrayBuffer> {
    const data = await this.adapter.fs.readRange(path, position, length);
    if (!data || data.byteLength !== length) {
      throw new MediaKitError(E.ReadFileError, `Read ${data ? data.byteLength : 0} of ${length} bytes of ${path} at ${position}: file changed?`, {
        final: true,
      });
    }
    return data;
  }

  private progress(job: Job): void {
    if (!this.live(job)) return;
    const m = job.fs.meter as ProgressMeter;
    const info = job.info;
    info.loadedBytes = m.loadedBytes;
    info.loaded = m.fraction();
    info.speed = m.speed();
    info.eta = m.eta();
    this.emit('onUploadProgress', info, m.total, info.loaded);
  }

  /** Files up to partSize: one PostObject through wx.uploadFile, CRC-64 compared with the file's. */
  private async uploadSmall(job: Job): Promise<void> {
    const { info, fs } = job;
    const size = (fs.stat as FileStat).size;
    const t = fs.target as OssTarget;
    const ctx = this.ossCtx(fs);
    const signal = job.ctl.signal;
    const meter = fs.meter as ProgressMeter;
    const local = size > 0 ? crc64(await this.read(info.url, 0, size)) : '0';
    meter.resetSpeed();
    const ro = this.retryOpts(job);
    info.crc64 = await withRetry(async () => {
      const r = await postObject(ctx, t, {
        filePath: info.url,
        size,
        contentType: contentType(fs.name, info.url),
        notification: fs.notify,
        signal,
        onProgress: (p) => {
          // totalBytesSent counts the multipart form around the file too: scale to the file's bytes
          const all = p.totalBytesExpectedToSend;
          meter.set(Math.min(size - 1, all > 0 ? Math.floor((p.totalBytesSent / all) * size) : 0));
          this.progress(job);
        },
      });
      job.expiries = 0;
      let crc = r.crc;
      // No x-oss-hash-crc64ecma on the PostObject answer (some hosts drop it): HEAD the object. The upload itself
      // succeeded, so a HEAD we may not make (403) or that keeps failing only leaves the CRC unverified.
      if (crc === undefined) {
        try {
          crc = (await withRetry(() => headObject(ctx, t, signal), ro)).crc;
        } catch (e) {
          if (errorCode(e) === PlatformErrorCode.Aborted) throw e;
          this.adapter.warn(`VODUpload: CRC unverified for ${t.object} (HEAD failed: ${(e as Error).message}).`);
        }
      }
      if (crc !== undefined && crc !== local) {
        throw new MediaKitError(E.Crc64Mismatch, `PostObject: CRC-64 ${crc} from OSS, ${local} local.`, { object: t.object });
      }
      return crc || local;
    }, ro);
  }

  /** Larger files: OSS multipart, resuming from ListParts when a checkpoint or an earlier run left an UploadId. */
  private async uploadMultipart(job: Job): Promise<void> {
    const { info, fs } = job;
    const size = (fs.stat as FileStat).size;
    const partSize = fs.partSize as number;
    const t = fs.target as OssTarget;
    const ctx = this.ossCtx(fs);
    const signal = job.ctl.signal;
    const ro = this.retryOpts(job);
    const meter = fs.meter as ProgressMeter;
    const parts = splitParts(size, partSize);
    const fp = targetFingerprint(fs.fileFp as string, t.bucket, t.object, partSize);
    const cp = info.checkpoint;
    if (!fs.uploadId && cp && cp.fp === fp) fs.uploadId = cp.uploadId;
    if (fs.uploadId) {
      const id = fs.uploadId;
      try {
        const listed = await withRetry(() => listParts(ctx, t, id, signal), ro);
        fs.done = new Map();
        for (const p of listed) {
          const spec = parts[p.number - 1];
          if (spec && spec.size === p.size) fs.done.set(p.number, p);
        }
        job.expiries = 0;
      } catch (e) {
        if (errorCode(e) !== 'NoSuchUpload') throw e;
        fs.uploadId = undefined;
      }
    }
    if (!fs.uploadId) {
      fs.done = new Map();
      fs.uploadId = await withRetry(() => initiateMultipart(ctx, t, contentType(fs.name, info.url), fs.notify, signal), ro);
      job.expiries = 0;
      const record = {
        v: 1 as const,
        file: fs.fileFp as string,
        fp,
        size,
        partSize,
        endpoint: t.endpoint,
        bucket: t.bucket,
        object: t.object,
        uploadId: fs.uploadId,
        videoId: info.isImage ? undefined : info.videoId,
        ts: this.adapter.now(),
      };
      this.store.set(record);
      info.checkpoint = record;
    }
    const uploadId = fs.uploadId;
    info.uploadId = uploadId;
    let doneBytes = 0;
    fs.done.forEach((p) => (doneBytes += p.size));
    meter.set(doneBytes);
    meter.resetSpeed();
    this.progress(job);

    await runParts<PartInfo>({
      parts: parts.filter((p) => !fs.done.has(p.number)),
      parallel: this.o.parallel,
      signal,
      uploadOne: (p, sig) => withRetry(() => this.sendPart(ctx, t, uploadId, p, info.url, sig), this.retryOpts(job, sig)),
      onDone: (p, r) => {
        if (fs.uploadId !== uploadId || fs.done.has(p.number)) return;
        fs.done.set(p.number, r);
        job.expiries = 0;
        doneBytes += p.size;
        meter.set(doneBytes);
        this.progress(job);
      },
    });

    const list = parts.map((p) => fs.done.get(p.number) as PartInfo);
    let combined: string | undefined = '0';
    for (const p of list) combined = combined !== undefined && p.crc !== undefined ? crc64Combine(combined, p.crc, p.size) : undefined;
    let tries = 0;
    let crc: string | undefined;
    try {
      crc = (
        await withRetry(() => {
          tries++;
          return completeMultipart(ctx, t, uploadId, list, signal);
        }, ro)
      ).crc;
    } catch (e) {
      // A Complete whose answer was lost may have succeeded: the retry then sees NoSuchUpload; check the object.
      if (errorCode(e) !== 'NoSuchUpload' || tries < 2) throw e;
      const h = await withRetry(() => headObject(ctx, t, signal), ro);
      if (h.size !== size) throw e;
      crc = h.crc;
    }
    fs.uploadId = undefined;
    if (crc !== undefined && combined !== undefined && crc !== combined) {
      throw new MediaKitError(E.Crc64Mismatch, `CompleteMultipartUpload: CRC-64 ${crc} from OSS, ${combined} from the parts.`, {
        final: true,
        object: t.object,
      });
    }
    info.crc64 = crc || combined;
  }

  private async sendPart(ctx: OssContext, t: OssTarget, uploadId: string, p: PartSpec, path: string, signal: AbortSignalLike): Promise<PartInfo> {
    const data = await this.read(path, p.offset, p.size);
    // hand the part to the network first, hash it while it is on the way (wx.request sends on WeChat's own threads)
    const sending = uploadPart(ctx, t, uploadId, p.number, data, signal);
    let local: string;
    try {
      local = crc64(data);
    } finally {
      // whatever happens, the request's outcome is observed (no unhandled rejection)
      sending.catch(() => undefined);
    }
    const r = await sending;
    if (r.crc !== undefined && r.crc !== local) {
      throw new MediaKitError(E.Crc64Mismatch, `UploadPart ${p.number}: CRC-64 ${r.crc} from OSS, ${local} local.`, { part: p.number });
    }
    return { number: p.number, etag: r.etag, size: p.size, crc: local };
  }

  // ------------------------------------------------------------------ internals: outcomes

  private succeed(job: Job): void {
    if (!this.live(job)) return;
    const { info, fs } = job;
    const size = (fs.stat as FileStat).size;
    if (fs.fileFp) this.store.remove(fs.fileFp);
    info.checkpoint = null;
    info.state = S.Success;
    info.loaded = (fs.meter as ProgressMeter).fraction(true);
    info.loadedBytes = size;
    info.eta = 0;
    this.job = undefined;
    this.emit('onUploadProgress', info, size, 1);
    this.emit('onUploadSucceed', info);
    this.scheduleNext();
  }

  private onError(job: Job, e: unknown): void {
    if (!this.live(job)) return;
    const kind = classifyError(e, true);
    if (kind === 'aborted') return;
    if (kind === 'expired') return this.expire(job, e as MediaKitError);
    this.fail(job, e);
  }

  /** Token expired: pause (the part scheduler already stopped its other parts), ask once, wait for resume*. */
  private expire(job: Job, e: MediaKitError): void {
    job.expiries++;
    const hook = this.options.getUploadAuth;
    if (job.expiries > 1 || (!hook && typeof this.options.onUploadTokenExpired !== 'function')) {
      return this.fail(
        job,
        new MediaKitError(
          E.TokenExpired,
          job.expiries > 1
            ? `The renewed credentials were rejected as well (${e.code}: ${e.message}).`
            : `The upload token expired (${e.code}); no onUploadTokenExpired or getUploadAuth to renew it.`,
          { causeCode: e.code },
        ),
      );
    }
    job.ctl.abort('token expired');
    job.ctl = new AbortControllerLike();
    job.phase = 'expired';
    this.vodState = VS.Expire;
    this.callbackThrew(job, 'onUploadTokenExpired', this.emit('onUploadTokenExpired', job.info, { code: e.code, message: e.message }), 'expired');
    if (hook && this.live(job) && job.phase === 'expired') this.fetchAuth(job, true).then(undefined, (x) => this.onError(job, x));
  }

  private fail(job: Job, e: unknown): void {
    if (!this.live(job)) return;
    job.ctl.abort('failed');
    this.job = undefined;
    const code = reportCode(e);
    const message = (e as Error) && (e as Error).message ? (e as Error).message : String(e);
    const info = job.info;
    info.state = S.Failure;
    info.error = { code, message };
    this.lastError = new MediaKitError(code, message, e instanceof MediaKitError ? e.details : {});
    if (this.vodState === VS.Expire) this.vodState = VS.Start;
    this.emit('onUploadFailed', info, code, message);
    this.scheduleNext();
  }
}
