/**
 * Unit tests of VODUpload's building blocks with fakes: part layout, the bounded part scheduler, error
 * classification + the retry loop, progress accounting, the checkpoint store.
 */
import { AbortControllerLike, createInjectedAdapter, MediaKitError, PlatformAdapter } from 'mp-media-sdk';
import { choosePartSize, runParts, splitParts, MIN_PART_SIZE } from '../../sdk/src/vod-upload/multipart';
import { classifyError, reportCode, withRetry } from '../../sdk/src/vod-upload/retry';
import { ProgressMeter } from '../../sdk/src/vod-upload/progress';
import { CheckpointStore, CHECKPOINT_STORAGE_KEY, EDGE_BYTES, edgeCrcs, fileFingerprint, targetFingerprint } from '../../sdk/src/vod-upload/checkpoint';
import { ossError } from '../../sdk/src/vod-upload/oss';
import { crc64 } from '../../sdk/src/aliyun/crc64';
import type { VODUploadCheckpoint } from '../../sdk/src/vod-upload/types';

function memStorage() {
  const m = new Map<string, unknown>();
  return {
    map: m,
    storage: {
      get: <T>(k: string) => (m.has(k) ? (JSON.parse(JSON.stringify(m.get(k))) as T) : undefined),
      set: (k: string, v: unknown) => void m.set(k, JSON.parse(JSON.stringify(v))),
      remove: (k: string) => void m.delete(k),
      keys: () => [...m.keys()],
    },
  };
}

function adapterWith(parts: Partial<PlatformAdapter> = {}): PlatformAdapter {
  return createInjectedAdapter({ warn: () => undefined, ...parts });
}

const deferred = <T = void>() => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
};

describe('part layout', () => {
  test('partSize is at least 100 KB and raised (as an integer) so a file never needs more than 10,000 parts', () => {
    expect(choosePartSize(10, 1000)).toBe(MIN_PART_SIZE);
    expect(choosePartSize(5 * 1024 * 1024, 1024 * 1024)).toBe(1024 * 1024);
    const big = 30 * 1024 * 1024 * 1024 + 7; // 30 GiB + 7 B with 1 MiB parts → 30,721 parts
    const ps = choosePartSize(big, 1024 * 1024);
    expect(Number.isInteger(ps)).toBe(true);
    expect(Math.ceil(big / ps)).toBeLessThanOrEqual(10000);
    expect(() => choosePartSize(10000 * 5 * 1024 ** 3 + 1, 1024 * 1024)).toThrow(expect.objectContaining({ code: 'FileTooLarge' }));
  });

  test('splitParts covers every byte once, the last part holds the remainder (partSize+1 → 2 parts)', () => {
    const ps = 102400;
    expect(splitParts(ps + 1, ps)).toEqual([
      { number: 1, offset: 0, size: ps },
      { number: 2, offset: ps, size: 1 },
    ]);
    expect(splitParts(ps, ps)).toHaveLength(1);
    expect(splitParts(0, ps)).toHaveLength(0);
    const parts = splitParts(10 * ps + 12345, ps);
    expect(parts.reduce((a, p) => a + p.size, 0)).toBe(10 * ps + 12345);
  });
});

describe('runParts: bounded scheduler', () => {
  test('never more than `parallel` parts in flight (so at most `parallel` buffers in memory); all parts done', async () => {
    const parts = splitParts(20 * 102400, 102400);
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await runParts({
      parts,
      parallel: 3,
      signal: new AbortControllerLike().signal,
      uploadOne: async (p) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, (p.number * 7) % 5));
        inFlight--;
        return p.number;
      },
      onDone: (_p, r) => done.push(r),
    });
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual(parts.map((p) => p.number));
  });

  test('the first failure aborts the parts in flight and rejects with that failure; finished parts are still reported', async () => {
    const parts = splitParts(6 * 102400, 102400);
    const aborted: number[] = [];
    const done: number[] = [];
    const started: number[] = [];
    const gate2 = deferred();
    const p = runParts({
      parts,
      parallel: 3,
      signal: new AbortControllerLike().signal,
      uploadOne: (part, signal) =>
        new Promise<number>((resolve, reject) => {
          started.push(part.number);
          if (part.number === 1) return resolve(1);
          if (part.number === 2) return void gate2.promise.then(() => reject(new MediaKitError('AccessDenied', 'denied', { status: 403 })));
          signal.onAbort(() => {
            aborted.push(part.number);
            reject(new MediaKitError('ABORTED', 'aborted'));
          });
        }),
      onDone: (part) => done.push(part.number),
    });
    // after one macrotask turn the promise-driven scheduler has settled: 1 done, 2 and 3 waiting, 4 started in 1's slot
    await new Promise<void>((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3, 4]);
    gate2.resolve();
    await expect(p).rejects.toMatchObject({ code: 'AccessDenied' });
    expect(done).toEqual([1]);
    expect(aborted.length).toBeGreaterThan(0);
    expect(started).not.toContain(6); // nothing new started after the failure
  });

  test('an outer abort (stop / cancel / token expiry) rejects with ABORTED and starts nothing new', async () => {
    const ctl = new AbortControllerLike();
    const started: number[] = [];
    const p = runParts({
      parts: splitParts(10 * 102400, 102400),
      parallel: 2,
      signal: ctl.signal,
      uploadOne: (part, signal) =>
        new Promise<number>((_resolve, reject) => {
          started.push(part.number);
          signal.onAbort(() => reject(new MediaKitError('ABORTED', 'aborted')));
        }),
      onDone: () => undefined,
    });
    ctl.abort('stop');
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(started).toEqual([1, 2]);
  });

  test('no parts → resolves at once', async () => {
    await expect(runParts({ parts: [], parallel: 5, signal: new AbortControllerLike().signal, uploadOne: async () => 1, onDone: () => undefined })).resolves.toBeUndefined();
  });
});

describe('error classification and retry', () => {
  const err = (code: string, details: Record<string, unknown> = {}) => new MediaKitError(code, code, details);

  test('classifies network / timeout / 5xx / CRC as retryable, interrupted, skew, expired, aborted and fatal 4xx', () => {
    expect(classifyError(err('NETWORK_ERROR'), true)).toBe('retry');
    expect(classifyError(err('TIMEOUT'), true)).toBe('retry');
    expect(classifyError(err('HttpError', { status: 500 }), true)).toBe('retry');
    expect(classifyError(err('InternalError', { status: 500 }), true)).toBe('retry');
    expect(classifyError(err('Crc64Mismatch'), true)).toBe('retry');
    expect(classifyError(err('Crc64Mismatch', { final: true }), true)).toBe('fatal');
    expect(classifyError(err('INTERRUPTED'), true)).toBe('interrupted');
    expect(classifyError(err('RequestTimeTooSkewed', { status: 403 }), true)).toBe('skew');
    expect(classifyError(err('SecurityTokenExpired', { status: 403 }), true)).toBe('expired');
    expect(classifyError(err('InvalidSecurityToken.Expired', { status: 403 }), true)).toBe('expired');
    expect(classifyError(err('InvalidAccessKeyId', { status: 403 }), true)).toBe('expired');
    expect(classifyError(err('InvalidAccessKeyId', { status: 403 }), false)).toBe('fatal');
    expect(classifyError(err('ABORTED'), true)).toBe('aborted');
    expect(classifyError(err('AccessDenied', { status: 403 }), true)).toBe('fatal');
    expect(classifyError(new Error('x'), true)).toBe('fatal');
    expect(reportCode(err('NETWORK_ERROR'))).toBe('NetworkError');
    expect(reportCode(err('TIMEOUT'))).toBe('RequestTimeout');
    expect(reportCode(err('FILE_NOT_FOUND'))).toBe('FileNotFound');
    expect(reportCode(err('NoSuchBucket'))).toBe('NoSuchBucket');
  });

  const opts = (adapter: PlatformAdapter, extra: Partial<Parameters<typeof withRetry>[1]> = {}) => ({
    adapter,
    retryCount: 3,
    retryDelayMs: 1,
    usingSecurityToken: true,
    onSkew: () => false,
    waitForeground: async () => false,
    ...extra,
  });

  test('retries a retryable failure up to retryCount times, retryDuration apart, then rethrows it', async () => {
    const delays: number[] = [];
    const adapter = adapterWith({ setTimeout: (fn, ms) => (delays.push(ms), setTimeout(fn, 0)) });
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw err('NETWORK_ERROR');
      }, opts(adapter, { retryDelayMs: 2000 })),
    ).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    expect(calls).toBe(4);
    expect(delays).toEqual([2000, 2000, 2000]);
    calls = 0;
    await expect(withRetry(async () => (++calls < 3 ? Promise.reject(err('HttpError', { status: 503 })) : 'ok'), opts(adapter))).resolves.toBe('ok');
    expect(calls).toBe(3);
  });

  test('fatal errors are not retried; skew is corrected without using up a retry; interrupted waits for the foreground', async () => {
    const adapter = adapterWith();
    let calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(err('AccessDenied', { status: 403 }))), opts(adapter))).rejects.toMatchObject({ code: 'AccessDenied' });
    expect(calls).toBe(1);
    calls = 0;
    let skews = 0;
    const r = await withRetry(async () => (++calls === 1 ? Promise.reject(err('RequestTimeTooSkewed')) : 'ok'), opts(adapter, { retryCount: 0, onSkew: () => (skews++, true) }));
    expect(r).toBe('ok');
    expect(skews).toBe(1);
    calls = 0;
    let waited = 0;
    await expect(
      withRetry(async () => (++calls <= 2 ? Promise.reject(err('INTERRUPTED')) : 'ok'), opts(adapter, { retryCount: 0, waitForeground: async () => (waited++, true) })),
    ).resolves.toBe('ok');
    expect(waited).toBe(2);
  });

  test('an "interrupted" failure that arrives after the app is back in the foreground (phones deliver it late) is retried without spending retryCount, at most 3 times per request', async () => {
    const adapter = adapterWith();
    let calls = 0;
    // retryCount 0: before the fix the first late interrupt failed the request.
    await expect(withRetry(async () => (++calls <= 3 ? Promise.reject(err('INTERRUPTED')) : 'ok'), opts(adapter, { retryCount: 0 }))).resolves.toBe('ok');
    expect(calls).toBe(4);
    calls = 0;
    // A host that keeps saying "interrupted" in the foreground is not retried forever.
    await expect(withRetry(async () => (calls++, Promise.reject(err('INTERRUPTED'))), opts(adapter, { retryCount: 1 }))).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(calls).toBe(5);
  });

  test('an abort during the retry delay rejects with ABORTED', async () => {
    const ctl = new AbortControllerLike();
    const adapter = adapterWith();
    const p = withRetry(async () => Promise.reject(err('NETWORK_ERROR')), opts(adapter, { retryDelayMs: 60000, signal: ctl.signal }));
    setTimeout(() => ctl.abort('stop'), 5);
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  test('ossError parses OSS error XML (Code, Message, RequestId, EC, ServerTime) and x-oss-err for body-less answers', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>RequestTimeTooSkewed</Code>\n  <Message>The difference between the request time and the current time is too large.</Message>\n  <RequestId>5C3D9175B6FC201293AD****</RequestId>\n  <HostId>b.oss-cn-shanghai.aliyuncs.com</HostId>\n  <MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>\n  <RequestTime>2018-01-01T00:00:00.000Z</RequestTime>\n  <ServerTime>2024-05-01T10:00:00.000Z</ServerTime>\n  <EC>0002-00000504</EC>\n</Error>';
    const e = ossError('UploadPart', 403, {}, xml);
    expect(e.code).toBe('RequestTimeTooSkewed');
    expect(e.details).toMatchObject({ status: 403, requestId: '5C3D9175B6FC201293AD****', ec: '0002-00000504', serverTime: '2024-05-01T10:00:00.000Z' });
    const head = ossError('HeadObject', 404, { 'x-oss-err': Buffer.from('<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>').toString('base64') }, '');
    expect(head.code).toBe('NoSuchKey');
    expect(ossError('UploadPart', 502, {}, '<html>bad gateway</html>').code).toBe('HttpError');
  });
});

describe('progress accounting', () => {
  test('fraction is 0..1, never backwards, capped below 1 until success, then exactly 1; speed and ETA from bytes over time', () => {
    let t = 0;
    const m = new ProgressMeter(1000, () => t);
    expect(m.fraction()).toBe(0);
    t = 1000;
    m.set(500);
    expect(m.fraction()).toBe(0.5);
    m.set(300); // a lower value never moves it back
    expect(m.fraction()).toBe(0.5);
    expect(m.loadedBytes).toBe(500);
    expect(m.speed()).toBe(500);
    expect(m.eta()).toBe(1);
    m.set(1000);
    expect(m.fraction()).toBeLessThan(1);
    expect(m.fraction(true)).toBe(1);
    const empty = new ProgressMeter(0, () => t);
    expect(empty.fraction()).toBe(0);
    expect(empty.fraction(true)).toBe(1);
  });
});

describe('checkpoint store', () => {
  const cp = (file: string, over: Partial<VODUploadCheckpoint> = {}): VODUploadCheckpoint => ({
    v: 1,
    file,
    fp: targetFingerprint(file, 'b', 'k', 102400),
    size: 1,
    partSize: 102400,
    endpoint: 'http://127.0.0.1:1',
    bucket: 'b',
    object: 'k',
    uploadId: 'U',
    ts: 0,
    ...over,
  });

  test('one namespaced key, expiring entries, at most 20 kept, small (no part list)', () => {
    const { map, storage } = memStorage();
    let now = 1_000_000;
    const store = new CheckpointStore(storage, () => now, 60_000, () => undefined);
    store.set(cp('f1'));
    expect([...map.keys()]).toEqual([CHECKPOINT_STORAGE_KEY]);
    expect(store.get('f1')).toMatchObject({ uploadId: 'U', ts: now });
    now += 61_000;
    expect(store.get('f1')).toBeUndefined();
    expect(map.has(CHECKPOINT_STORAGE_KEY)).toBe(false);
    for (let i = 0; i < 25; i++) {
      now += 1;
      store.set(cp(`f${i}`));
    }
    const all = map.get(CHECKPOINT_STORAGE_KEY) as Record<string, unknown>;
    expect(Object.keys(all)).toHaveLength(20);
    expect(store.get('f0')).toBeUndefined();
    expect(store.get('f24')).toBeDefined();
    expect(JSON.stringify(all).length).toBeLessThan(20 * 400);
    store.remove('f24');
    expect(store.get('f24')).toBeUndefined();
  });

  test('a storage quota error is logged, not thrown (resume just starts over)', () => {
    const warnings: unknown[] = [];
    const store = new CheckpointStore(
      {
        get: () => undefined,
        set: () => {
          throw new MediaKitError('STORAGE_QUOTA_EXCEEDED', 'full');
        },
        remove: () => undefined,
        keys: () => [],
      },
      () => 0,
      1000,
      (m) => warnings.push(m),
    );
    expect(() => store.set(cp('x'))).not.toThrow();
    expect(warnings).toHaveLength(1);
  });

  test('fingerprint: size + CRC-64 of the first / last 64 KiB + name / duration when given — no mtime, no temp path; target adds bucket/object/partSize', async () => {
    const bytes = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 255;
    const reads: Array<[number, number]> = [];
    const reader = (buf: Buffer) => async (pos: number, len: number) => {
      reads.push([pos, len]);
      return new Uint8Array(buf.subarray(pos, pos + len)).buffer;
    };
    const edges = await edgeCrcs(bytes.length, reader(bytes));
    expect(reads).toEqual([
      [0, EDGE_BYTES],
      [bytes.length - EDGE_BYTES, EDGE_BYTES],
    ]);
    expect(edges).toBe(`${crc64(bytes.subarray(0, EDGE_BYTES))}/${crc64(bytes.subarray(bytes.length - EDGE_BYTES))}`);
    const changed = (at: number) => {
      const b = Buffer.from(bytes);
      b[at] ^= 1;
      return edgeCrcs(b.length, reader(b));
    };
    expect(await changed(10)).not.toBe(edges); // first 64 KiB
    expect(await changed(bytes.length - 10)).not.toBe(edges); // last 64 KiB
    // under 128 KiB the tail starts after the head (no byte read twice)
    reads.length = 0;
    await edgeCrcs(100 * 1024, reader(bytes));
    expect(reads).toEqual([
      [0, EDGE_BYTES],
      [EDGE_BYTES, 100 * 1024 - EDGE_BYTES],
    ]);
    const a = fileFingerprint({ size: 10, edges });
    expect(fileFingerprint({ size: 10, edges })).toBe(a);
    expect(fileFingerprint({ size: 11, edges })).not.toBe(a);
    expect(fileFingerprint({ size: 10, edges: await changed(10) })).not.toBe(a);
    expect(fileFingerprint({ size: 10, edges, name: 'clip.mp4' })).not.toBe(a);
    expect(fileFingerprint({ size: 10, edges, duration: 3.2 })).toBe(fileFingerprint({ size: 10, edges, duration: 3.2 }));
    expect(fileFingerprint({ size: 10, edges, duration: 3.2 })).not.toBe(fileFingerprint({ size: 10, edges, duration: 3.3 }));
    const t = targetFingerprint(a, 'b', 'k', 102400);
    expect(targetFingerprint(a, 'b', 'k2', 102400)).not.toBe(t);
    expect(targetFingerprint(a, 'b2', 'k', 102400)).not.toBe(t);
    expect(targetFingerprint(a, 'b', 'k', 204800)).not.toBe(t);
  });
});
