/**
 * Part layout and the bounded part scheduler. At most `parallel` parts are in flight — and therefore at most
 * `parallel` part buffers are in memory, since a worker reads its slice right before sending it and drops it after.
 */
import { AbortControllerLike, AbortSignalLike } from '../platform/abort';
import { MediaKitError, PlatformErrorCode } from '../errors';
import { VODUploadErrorCode } from './errors';
import { abortError } from './retry';

export const MIN_PART_SIZE = 100 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10000;

export interface PartSpec {
  number: number;
  offset: number;
  size: number;
}

/** At least 100 KB, and raised (to an integer) so the file needs at most 10,000 parts. */
export function choosePartSize(fileSize: number, requested: number): number {
  let ps = Math.max(MIN_PART_SIZE, Math.floor(requested));
  if (Math.ceil(fileSize / ps) > MAX_PARTS) ps = Math.ceil(fileSize / MAX_PARTS);
  if (ps > MAX_PART_SIZE) {
    throw new MediaKitError(VODUploadErrorCode.FileTooLarge, `A ${fileSize}-byte file exceeds OSS's limit of ${MAX_PARTS} parts of 5 GB.`, { fileSize });
  }
  return ps;
}

export function splitParts(fileSize: number, partSize: number): PartSpec[] {
  const parts: PartSpec[] = [];
  for (let off = 0, n = 1; off < fileSize; off += partSize, n++) parts.push({ number: n, offset: off, size: Math.min(partSize, fileSize - off) });
  return parts;
}

export interface RunPartsOptions<R> {
  parts: PartSpec[];
  parallel: number;
  /** Outer signal (stop / cancel / token expiry). */
  signal: AbortSignalLike;
  /** Read + send one part (retries included); must honour `signal`. */
  uploadOne(part: PartSpec, signal: AbortSignalLike): Promise<R>;
  onDone(part: PartSpec, result: R): void;
}

/**
 * Uploads `parts` with at most `parallel` in flight. The first failure aborts the others and rejects with that
 * failure (parts not finished stay pending for the caller); an outer abort rejects with ABORTED. A part that
 * finishes while the others are being aborted is still reported through onDone (its bytes are on the server).
 */
export function runParts<R>(o: RunPartsOptions<R>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const inner = new AbortControllerLike();
    const offOuter = o.signal.onAbort((r) => inner.abort(r));
    let next = 0;
    let running = 0;
    let firstError: unknown;
    const finish = () => {
      offOuter();
      if (o.signal.aborted) reject(abortError(o.signal.reason));
      else if (firstError !== undefined) reject(firstError);
      else resolve();
    };
    const pump = () => {
      while (running < o.parallel && next < o.parts.length && !inner.signal.aborted) {
        const part = o.parts[next++];
        running++;
        o.uploadOne(part, inner.signal).then(
          (r) => {
            running--;
            o.onDone(part, r);
            pump();
          },
          (e) => {
            running--;
            const aborted = e instanceof MediaKitError && e.code === PlatformErrorCode.Aborted;
            if (firstError === undefined && !(aborted && inner.signal.aborted)) {
              firstError = e;
              inner.abort('part failed');
            }
            pump();
          },
        );
      }
      if (running === 0 && (next >= o.parts.length || inner.signal.aborted)) finish();
    };
    pump();
  });
}
