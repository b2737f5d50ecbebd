/**
 * Error classification and the retry loop shared by every request VODUpload makes.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import type { AbortSignalLike } from '../platform/abort';
import type { PlatformAdapter } from '../platform/types';
import { TOKEN_EXPIRED_CODES, VODUploadErrorCode } from './errors';

/**
 * - `aborted`: our own stop / cancel / pause — never reported.
 * - `retry`: network error, timeout, 5xx, CRC mismatch of a part — try again after retryDuration.
 * - `interrupted`: WeChat cut the request (background) — wait for the foreground, then retry.
 * - `skew`: RequestTimeTooSkewed — correct the clock from the server time and retry at once.
 * - `expired`: the credentials expired — pause, renew, continue.
 * - `fatal`: anything else (4xx, file errors) — report.
 */
export type ErrorKind = 'aborted' | 'retry' | 'interrupted' | 'skew' | 'expired' | 'fatal';

const RETRY_CODES = [
  PlatformErrorCode.Network,
  PlatformErrorCode.Timeout,
  VODUploadErrorCode.Crc64Mismatch,
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'Throttling',
];

export function errorCode(e: unknown): string {
  return e instanceof MediaKitError ? e.code : 'UnknownError';
}

export function classifyError(e: unknown, usingSecurityToken: boolean): ErrorKind {
  if (!(e instanceof MediaKitError)) return 'fatal';
  const code = e.code;
  if (code === PlatformErrorCode.Aborted) return 'aborted';
  if (code === PlatformErrorCode.Interrupted) return 'interrupted';
  if (code === 'RequestTimeTooSkewed' || code === 'InvalidTimeStamp.Expired') return 'skew';
  if (TOKEN_EXPIRED_CODES.indexOf(code) >= 0 && (code !== 'InvalidAccessKeyId' || usingSecurityToken)) return 'expired';
  if (e.details.final) return 'fatal';
  if (RETRY_CODES.indexOf(code) >= 0) return 'retry';
  const status = e.details.status as number | undefined;
  if (typeof status === 'number' && (status >= 500 || status === 429 || status === 408)) return 'retry';
  return 'fatal';
}

/** Platform codes → the codes VODUpload reports (others pass through unchanged). */
export function reportCode(e: unknown): string {
  const code = errorCode(e);
  switch (code) {
    case PlatformErrorCode.Network:
      return VODUploadErrorCode.NetworkError;
    case PlatformErrorCode.DomainNotAllowed:
      return VODUploadErrorCode.DomainNotAllowed;
    case PlatformErrorCode.Timeout:
      return VODUploadErrorCode.RequestTimeout;
    case PlatformErrorCode.Interrupted:
      return VODUploadErrorCode.Interrupted;
    case PlatformErrorCode.FileNotFound:
      return VODUploadErrorCode.FileNotFound;
    case PlatformErrorCode.FileSystem:
      return VODUploadErrorCode.ReadFileError;
    default:
      return code;
  }
}

export function abortError(reason: unknown): MediaKitError {
  return new MediaKitError(PlatformErrorCode.Aborted, `aborted (${String(reason)})`, { reason });
}

/** Resolves after `ms`, rejects with ABORTED when the signal fires first. */
export function sleep(adapter: PlatformAdapter, ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(abortError(signal.reason));
    let off = () => undefined as void;
    const h = adapter.setTimeout(() => {
      off();
      resolve();
    }, ms);
    if (signal)
      off = signal.onAbort((r) => {
        adapter.clearTimeout(h);
        reject(abortError(r));
      });
  });
}

export interface RetryOptions {
  adapter: PlatformAdapter;
  retryCount: number;
  retryDelayMs: number;
  signal?: AbortSignalLike;
  usingSecurityToken: boolean;
  /** Correct the clock from a RequestTimeTooSkewed error; false when it cannot. */
  onSkew(e: MediaKitError): boolean;
  /** Resolves when the app is (back) in the foreground; true when it had to wait. */
  waitForeground(signal?: AbortSignalLike): Promise<boolean>;
}

/**
 * Runs `fn` until it succeeds, retrying retryable failures up to `retryCount` times `retryDelayMs` apart.
 * Clock-skew corrections (at most 2), waits for the foreground and up to 3 "interrupted" failures that arrive after
 * the app is back in the foreground do not count as retries.
 */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  let failures = 0;
  let skews = 0;
  let lateInterrupts = 0;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (o.signal && o.signal.aborted) throw abortError(o.signal.reason);
      const kind = classifyError(e, o.usingSecurityToken);
      if (kind === 'skew' && skews < 2 && o.onSkew(e as MediaKitError)) {
        skews++;
        continue;
      }
      if (kind === 'interrupted') {
        if (await o.waitForeground(o.signal)) continue;
        // Already in the foreground: a phone suspends the JS thread in the background, so the "interrupted" failure
        // can arrive only after onAppShow. Retry at once without spending the retry budget (up to 3 times per request).
        if (lateInterrupts < 3) {
          lateInterrupts++;
          continue;
        }
      }
      if ((kind === 'retry' || kind === 'interrupted') && failures < o.retryCount) {
        failures++;
        await sleep(o.adapter, o.retryDelayMs, o.signal);
        continue;
      }
      throw e;
    }
  }
}
