/**
 * Errors of TencentVodUploader: one shape for every failure (`error(e)` and `done()` rejections), a MediaKitError
 * with the stage it happened in and whether trying again may help.
 */
import { MediaKitError } from '../errors';

export type TencentVodStage = 'sign' | 'apply' | 'cos' | 'commit';

export const TencentVodErrorCode = {
  /** start(): an option is missing or has the wrong type (mediaFile, getSignature, callbacks, mediaName…). */
  InvalidOption: 'INVALID_OPTION',
  /** The media or cover file does not exist or cannot be read. */
  FileNotFound: 'FILE_NOT_FOUND',
  /** getSignature threw, rejected, returned something that is not a non-empty string, or never answered. */
  SignatureFailed: 'SIGNATURE_FAILED',
  /** VOD refused the signature (code 10004: invalid, expired, or a one-time signature used twice) even after fresh ones. */
  InvalidSignature: 'INVALID_SIGNATURE',
  /** ApplyUploadUGC answered code != 0 (details.vodCode, details.vodMessage). */
  ApplyFailed: 'APPLY_FAILED',
  /** COS refused a request (details.cosCode: AccessDenied, NoSuchUpload, …; details.requestId). */
  CosError: 'COS_ERROR',
  /** CommitUploadUGC answered code != 0. */
  CommitFailed: 'COMMIT_FAILED',
  /** A part's CRC-64 from COS differs from ours after every retry. */
  Crc64Mismatch: 'CRC64_MISMATCH',
  /** Connection failures / timeouts after every retry and host failover. */
  NetworkError: 'NETWORK_ERROR',
  /** WeChat refused the host: add vod2.qcloud.com (and vod2.dnsv1.com) to the request 合法域名. */
  DomainNotAllowed: 'DOMAIN_NOT_ALLOWED',
  /** An answer without what it must carry (no ETag, no UploadId, not JSON…). */
  UnexpectedResponse: 'UNEXPECTED_RESPONSE',
  /** cancel() was called (reported once). */
  Canceled: 'CANCELED',
} as const;

export class TencentVodError extends MediaKitError {
  readonly stage: TencentVodStage;
  readonly retryable: boolean;
  /** COS / VOD request id when there is one. */
  readonly reqid?: string;
  constructor(code: string, message: string, stage: TencentVodStage, retryable: boolean, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'TencentVodError';
    this.stage = stage;
    this.retryable = retryable;
    this.reqid = typeof details.requestId === 'string' ? details.requestId : undefined;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
