/**
 * The one error type every part of the SDK throws or reports.
 * `code` is stable and documented per module; `message` is for humans; `details` carries context
 * (HTTP status, provider request id, the wx errMsg, …).
 */
export class MediaKitError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MediaKitError';
    this.code = code;
    this.details = details;
    // Keep `instanceof` working when compiled to ES5-ish targets.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isMediaKitError(e: unknown, code?: string): e is MediaKitError {
  return e instanceof MediaKitError && (code === undefined || e.code === code);
}

/** Error codes produced by the platform layer (every adapter maps its host errors onto these). */
export const PlatformErrorCode = {
  /** The connection failed: DNS, refused, reset, TLS. Retryable. */
  Network: 'NETWORK_ERROR',
  /**
   * WeChat refused the URL: its host is not in the mini program's 合法域名 list ("url not in domain list"). Not
   * retryable: whitelist the host (mp.weixin.qq.com → 开发管理 → 服务器域名) or tick 不校验合法域名 in DevTools.
   */
  DomainNotAllowed: 'DOMAIN_NOT_ALLOWED',
  /** The request took longer than its timeout. Retryable. */
  Timeout: 'TIMEOUT',
  /** Aborted by our own code (cancel / stop). Not an error the user needs to see. */
  Aborted: 'ABORTED',
  /** The app went to the background and WeChat cut the request ("fail interrupted"). Retry on show. */
  Interrupted: 'INTERRUPTED',
  /** A file path does not exist or cannot be read. */
  FileNotFound: 'FILE_NOT_FOUND',
  /** Any other file-system failure. */
  FileSystem: 'FILE_SYSTEM_ERROR',
  /** wx storage refused the write (1 MB per key / 10 MB in total). */
  StorageQuota: 'STORAGE_QUOTA_EXCEEDED',
  /** The host lacks an API the SDK needs (e.g. base library < 2.10.0 for ranged reads). */
  Unsupported: 'UNSUPPORTED_PLATFORM',
} as const;
