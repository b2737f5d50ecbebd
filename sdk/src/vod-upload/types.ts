/**
 * Public types of the VODUpload port: the official Aliyun mini-program / browser upload SDK's surface
 * (option, callback, method and field names kept, including the official `Stoped` spelling), plus our additions.
 */
import type { PlatformAdapter } from '../platform/types';

/** File states, spelled as the official SDK spells them (`Stoped` included) so existing code keeps working. */
export const VODUploadFileState = {
  Ready: 'Ready',
  Uploading: 'Uploading',
  Success: 'Success',
  Failure: 'Failure',
  Canceled: 'Canceled',
  Stoped: 'Stoped',
} as const;
export type VODUploadFileStateValue = (typeof VODUploadFileState)[keyof typeof VODUploadFileState];

/** The uploader's own state (official VODSTATE). */
export const VODUploaderState = {
  Init: 'Init',
  Start: 'Start',
  Stop: 'Stop',
  Failure: 'Failure',
  Expire: 'Expire',
  End: 'End',
} as const;
export type VODUploaderStateValue = (typeof VODUploaderState)[keyof typeof VODUploaderState];

/** What `addFile` takes: the wx temp path (`url`) and optionally a cover; extra fields help identify the file. */
export interface VODUploadFile {
  /** The temp file path from wx.chooseMedia / chooseVideo / chooseImage. */
  url: string;
  coverUrl?: string;
  /** A stable display name (e.g. the original file name); used for the title / FileName fallback and resume identity. */
  name?: string;
  /** Video duration from chooseMedia: part of the resume fingerprint (temp paths are not stable on phones). */
  duration?: number;
  /** 'video' | 'image' (otherwise guessed from the extension). */
  fileType?: 'video' | 'image';
}

/** The resume checkpoint kept in wx storage (small: no part list — ListParts is the truth). */
export interface VODUploadCheckpoint {
  v: 1;
  /** Fingerprint of the local file's content: size, CRC-64 of the first and last 64 KiB, name/duration when given. */
  file: string;
  /** Fingerprint of the upload target: file + bucket/object + partSize. */
  fp: string;
  size: number;
  partSize: number;
  endpoint: string;
  bucket: string;
  object: string;
  uploadId: string;
  videoId?: string;
  /** ms since the epoch of the last write. */
  ts: number;
}

/**
 * One queued file. Official field names (`url`, `coverUrl`, `state`, `isImage`, `videoInfo`, `userData`, `ri`,
 * `fileHash`, `fileSize`, `retry`, `endpoint`, `bucket`, `object`, `region`, `videoId`, `loaded`, `checkpoint`),
 * plus `file` for browser-style samples and byte-level progress fields.
 */
export interface VODUploadInfo {
  url: string;
  coverUrl?: string;
  _endpoint?: string | null;
  _bucket?: string | null;
  _object?: string | null;
  state: VODUploadFileStateValue;
  isImage: boolean;
  /** `JSON.parse(paramData).Vod` (Title, CateId, Tags, Description, UserData, …). */
  videoInfo: Record<string, unknown>;
  /** base64(paramData) — the x-oss-notification value. */
  userData?: string;
  /** Request id of the current attempt. */
  ri: string;
  /** Unused (kept for compatibility; the official SDK MD5s the whole file for it, we do not). */
  fileHash?: string;
  /** Bytes; known once the file has been stat'ed (addFile starts that, the upload waits for it). */
  fileSize?: number;
  retry: boolean;
  endpoint?: string;
  bucket?: string;
  object?: string;
  region?: string;
  videoId?: string;
  /** Images (from CreateUploadImage / getUploadAuth). */
  imageId?: string;
  imageURL?: string;
  fileURL?: string;
  /** Progress as a fraction 0..1 (the official mini SDK uses 0–100 here). */
  loaded: number;
  /** Bytes confirmed uploaded. */
  loadedBytes: number;
  /** Bytes per second (recent average), 0 when unknown. */
  speed: number;
  /** Seconds left at the current speed, undefined when unknown. */
  eta?: number;
  checkpoint?: VODUploadCheckpoint | null;
  /** The OSS multipart UploadId while a multipart upload is active. */
  uploadId?: string;
  /** The object's CRC-64 (decimal) after success, as OSS reported and we verified. */
  crc64?: string;
  /** Browser-style alias so `uploadInfo.file.name` does not crash. */
  file: { name: string; size: number; path: string };
  /** The last failure of this file. */
  error?: { code: string; message: string };
}

/** What a `getUploadAuth` hook may resolve with: UploadAuth mode or STS mode (camelCase or Aliyun's PascalCase). */
export type VODUploadAuthResult =
  | { uploadAuth: string; uploadAddress: string; videoId?: string; imageId?: string; imageURL?: string }
  | { UploadAuth: string; UploadAddress: string; VideoId?: string; ImageId?: string; ImageURL?: string }
  | { accessKeyId: string; accessKeySecret: string; securityToken: string; expiration?: string }
  | { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration?: string }
  | { SecurityTokenInfo: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration?: string } };

export interface VODUploadCallbacks {
  addFileSuccess?(uploadInfo: VODUploadInfo): void;
  onUploadstarted?(uploadInfo: VODUploadInfo): void;
  onUploadSucceed?(uploadInfo: VODUploadInfo): void;
  onUploadFailed?(uploadInfo: VODUploadInfo, code: string, message: string): void;
  /** `loadedPercent` is a fraction 0..1 (exactly 1 only on success). */
  onUploadProgress?(uploadInfo: VODUploadInfo, totalSize: number, loadedPercent: number): void;
  onUploadTokenExpired?(uploadInfo: VODUploadInfo, error: { code: string; message: string }): void;
  onUploadEnd?(uploadInfo?: VODUploadInfo): void;
  onUploadCanceled?(uploadInfo: VODUploadInfo, error: { code: string; message: string }): void;
}

export interface VODUploadOptions extends VODUploadCallbacks {
  /** Your Aliyun account id (any non-empty value works; required, as the docs say). */
  userId: string | number;
  /** VOD region, default 'cn-shanghai' (UploadAuth.Region wins when present). */
  region?: string;
  /** Bytes per part, default 1 MiB, at least 100 KB; raised automatically so a file needs at most 10,000 parts. */
  partSize?: number;
  /** Parts in flight at once, default 5, at most 10 (WeChat's limit for concurrent requests). */
  parallel?: number;
  /** Retries per failed request, default 3. */
  retryCount?: number;
  /** Seconds between retries, default 2. */
  retryDuration?: number;
  /** Per-request timeout in ms (default: the platform's, 60 s in WeChat). */
  timeout?: number;
  /** Accepted for compatibility; this port sends no telemetry. */
  enableUploadProgress?: boolean;
  /** Accepted for compatibility (the checkpoint is always local here). */
  localCheckpoint?: boolean;
  /** Accepted for compatibility (CNAME endpoints are not used). */
  cname?: boolean;

  /** Platform adapter (default: the global wx adapter). */
  adapter?: PlatformAdapter;
  /** STS mode: where VOD RPC calls go, default `https://vod.{region}.aliyuncs.com`. */
  vodEndpoint?: string;
  /** OSS request signature version, default 'v1'. */
  signatureVersion?: 'v1' | 'v4';
  /**
   * Promise-friendly alternative to calling setUploadAuthAndAddress / setSTSToken in onUploadstarted (and
   * resumeUploadWith* in onUploadTokenExpired): called when a file starts and when its token expires (then
   * `uploadInfo.videoId` is set: refresh it). A rejection is reported through onUploadFailed (GetUploadAuthFailed).
   */
  getUploadAuth?(uploadInfo: VODUploadInfo): Promise<VODUploadAuthResult>;
  /** How long a resume checkpoint stays valid, ms (default 7 days). */
  checkpointTtl?: number;
}

/** Credentials used against OSS (VOD-issued STS credentials in both modes). */
export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
  /** ms since the epoch when known. */
  expireAt?: number;
}

/** STS credentials supplied by the app for STS mode (used to call VOD). */
export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expireTime?: string;
}
