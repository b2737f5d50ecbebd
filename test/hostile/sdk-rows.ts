/**
 * SDK rows of the bad-input table (docs/errors.md "SDK"): options, files and throwing callbacks for VODUpload,
 * TencentVodUploader, AliMediaDownloader, PolyvPlayer and the IoT clients. Run by test/hostile/sdk-table.test.ts.
 * (Named sdk-rows.ts, not rows-sdk.ts: test/hostile/harness.ts loads every rows*.ts as HTTP rows.)
 */
import { AliMediaDownloader, IVMessageMgr, IVVAS, PolyvPlayer, TencentVodUploader, VODUpload } from '../../sdk/src';
import type { AppClient, IoTDevice, TencentVodUploadOptions, VODUploadAuthResult, VODUploadFile, VODUploadInfo, VODUploadOptions } from '../../sdk/src';
import { SAMPLE_VIDEO_IDS } from '../../server/cloud/aliyun-vod/play';
import { rejected, settles, thrown } from './sdk-harness';
import type { SdkCase, SdkCaseContext, SdkEnv, SdkOutcome, SdkRow } from './sdk-harness';

const KB = 1024;
const OK = 'OK';

// ---------------------------------------------------------------- VODUpload

type FileSpec = string | VODUploadFile | ((c: SdkCaseContext) => string | VODUploadFile);

function authFrom(app: AppClient) {
  return (info: VODUploadInfo) =>
    info.videoId
      ? app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { videoId: info.videoId })
      : app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { title: `sdk table ${info.file.name}`, fileName: info.file.name || 'x.mp4' });
}

/**
 * A VODUpload queue run to its end. Terminal events: `onUploadSucceed`, `onUploadFailed:<code>`, `onUploadEnd`.
 * `opts(c)` may override getUploadAuth and the callbacks (each wrapped: recorded first, then the case's own runs).
 * Outcome code: the first failure's code, or 'OK'; 'STUCK' when the runtime went idle without onUploadEnd.
 */
async function vodRun(c: SdkCaseContext, files: FileSpec[], opts: (c: SdkCaseContext, up: () => VODUpload) => Partial<VODUploadOptions> = () => ({})): Promise<SdkOutcome> {
  const terminal: string[] = [];
  let ended = false;
  let firstFailure: { code: string; message: string } | undefined;
  let up!: VODUpload;
  const o = opts(c, () => up);
  const call = (name: keyof VODUploadOptions, ...a: unknown[]) => {
    const f = o[name] as ((...x: unknown[]) => unknown) | undefined;
    if (typeof f === 'function') return f(...a);
    return undefined;
  };
  up = new VODUpload({
    userId: 'sdk-table',
    adapter: c.adapter,
    partSize: 100 * KB,
    parallel: 2,
    retryCount: 1,
    retryDuration: 0,
    getUploadAuth: authFrom(c.app),
    ...o,
    onUploadSucceed: (i) => {
      terminal.push('onUploadSucceed');
      return call('onUploadSucceed', i);
    },
    onUploadFailed: (i, code, message) => {
      terminal.push(`onUploadFailed:${code}`);
      if (!firstFailure) firstFailure = { code, message };
      return call('onUploadFailed', i, code, message);
    },
    onUploadEnd: (i) => {
      terminal.push('onUploadEnd');
      ended = true;
      return call('onUploadEnd', i);
    },
  } as VODUploadOptions);
  for (const f of files) {
    const spec = typeof f === 'function' ? f(c) : f;
    if (!up.addFile(typeof spec === 'string' ? { url: spec } : spec)) {
      terminal.push(`addFile:false:${up.lastError?.code}`);
      if (!firstFailure) firstFailure = { code: String(up.lastError?.code), message: String(up.lastError?.message || '') };
    }
  }
  if (!up.listFiles().length) return { code: firstFailure?.code, message: firstFailure?.message || '', terminal };
  if (!up.startUpload()) return { code: up.lastError?.code, message: up.lastError?.message || '', terminal: [...terminal, `startUpload:false:${up.lastError?.code}`] };
  const ok = await settles(c.rt, () => ended);
  if (!ok) {
    up.cleanList();
    return { code: 'STUCK', message: 'the runtime went idle without onUploadEnd', terminal };
  }
  return firstFailure ? { code: firstFailure.code, message: firstFailure.message, terminal } : { code: OK, message: '', terminal };
}

const small = (name = 'table.mp4', size = 10 * KB) => (c: SdkCaseContext) => c.rt.files.writeTempSized(name, size, 3);
const ctor = (opts: Record<string, unknown>) => (_e: SdkEnv, c: SdkCaseContext) => Promise.resolve(thrown(() => new VODUpload({ userId: 'u', adapter: c.adapter, ...opts } as unknown as VODUploadOptions)));
const vodCtorCase = (name: string, opts: Record<string, unknown>, code = 'InvalidOption'): SdkCase => ({ name, expect: { code }, run: ctor(opts) });

const vodOptions: SdkRow = {
  name: 'VODUpload options',
  cases: [
    { name: 'options null', expect: { code: 'InvalidOption' }, run: async () => thrown(() => new VODUpload(null as unknown as VODUploadOptions)) },
    vodCtorCase('userId missing', { userId: undefined }, 'InvalidUserId'),
    vodCtorCase('userId "   "', { userId: '   ' }, 'InvalidUserId'),
    vodCtorCase('partSize -1', { partSize: -1 }),
    vodCtorCase('partSize NaN', { partSize: NaN }),
    vodCtorCase('partSize "1MB" (a string)', { partSize: '1MB' }),
    vodCtorCase('partSize Infinity', { partSize: Infinity }),
    vodCtorCase('parallel NaN', { parallel: NaN }),
    vodCtorCase('retryCount "3" (a string)', { retryCount: '3' }),
    vodCtorCase('timeout -5', { timeout: -5 }),
    vodCtorCase('onUploadSucceed "yes" (not a function)', { onUploadSucceed: 'yes' }),
    vodCtorCase('getUploadAuth {} (not a function)', { getUploadAuth: {} }),
    vodCtorCase('region "cn shanghai"', { region: 'cn shanghai' }),
    vodCtorCase('region 42', { region: 42 }),
    vodCtorCase('vodEndpoint "ftp://vod.example.com"', { vodEndpoint: 'ftp://vod.example.com' }),
    vodCtorCase('signatureVersion "v3"', { signatureVersion: 'v3' }),
    {
      name: 'no getUploadAuth and no onUploadstarted (nothing can give credentials): startUpload refuses',
      expect: { code: 'InvalidOption', terminal: ['startUpload:false:InvalidOption'] },
      run: async (_e, c) => vodRun(c, [small()], () => ({ getUploadAuth: undefined })),
    },
    {
      name: 'addFile endpoint "not a url" (override of the UploadAddress)',
      expect: { code: 'InvalidOption', terminal: ['addFile:false:InvalidOption'] },
      run: async (_e, c) => {
        const up = new VODUpload({ userId: 'u', adapter: c.adapter, getUploadAuth: authFrom(c.app) });
        const ok = up.addFile({ url: small()(c) }, 'not a url', 'b', 'k');
        return { code: ok ? OK : up.lastError?.code, message: up.lastError?.message || '', terminal: ok ? [] : [`addFile:false:${up.lastError?.code}`] };
      },
    },
  ],
};

const vodFiles: SdkRow = {
  name: 'VODUpload files',
  cases: [
    { name: 'addFile(null)', expect: { code: 'InvalidFile', terminal: ['addFile:false:InvalidFile'] }, run: async (_e, c) => vodRun(c, [null as unknown as string]) },
    { name: 'addFile({url: 42})', expect: { code: 'InvalidFile', terminal: ['addFile:false:InvalidFile'] }, run: async (_e, c) => vodRun(c, [{ url: 42 } as unknown as VODUploadFile]) },
    { name: 'paramData "not json"', expect: { code: 'InvalidParamData' }, run: async (_e, c) => {
      const up = new VODUpload({ userId: 'u', adapter: c.adapter, getUploadAuth: authFrom(c.app) });
      const ok = up.addFile({ url: small()(c) }, null, null, null, 'not json');
      return { code: ok ? OK : up.lastError?.code, message: up.lastError?.message || '', terminal: [] };
    } },
    { name: 'missing file (http://tmp/gone.mp4), then a good one', expect: { code: 'FileNotFound', terminal: ['onUploadFailed:FileNotFound', 'onUploadSucceed', 'onUploadEnd'] }, run: async (_e, c) => vodRun(c, ['http://tmp/gone.mp4', small()]) },
    { name: '0 B file', expect: { code: OK, terminal: ['onUploadSucceed', 'onUploadEnd'] }, run: async (_e, c) => vodRun(c, [small('zero.mp4', 0)]) },
    {
      name: 'a directory (USER_DATA_PATH/adir)',
      expect: { code: 'InvalidFile', terminal: ['onUploadFailed:InvalidFile', 'onUploadEnd'] },
      run: async (_e, c) => {
        const dir = `${c.rt.wx.env.USER_DATA_PATH}/adir.mp4`;
        c.rt.wx.getFileSystemManager().mkdirSync(dir);
        return vodRun(c, [dir]);
      },
    },
    { name: 'a path outside the sandbox (/etc/passwd)', expect: { code: 'FileNotFound', terminal: ['onUploadFailed:FileNotFound', 'onUploadEnd'] }, run: async (_e, c) => vodRun(c, ['/etc/passwd']) },
    { name: 'a temp path that climbs out (http://tmp/../../etc/passwd): "permission denied"', expect: { code: 'ReadFileError', terminal: ['onUploadFailed:ReadFileError', 'onUploadEnd'] }, run: async (_e, c) => vodRun(c, ['http://tmp/../../etc/passwd']) },
  ],
};

const throwing = (name: string) => () => {
  throw new Error(`the app's ${name} broke`);
};

const vodCallbacks: SdkRow = {
  name: 'VODUpload callbacks that throw',
  cases: [
    {
      name: 'onUploadProgress throws (a 350 KB multipart file)',
      expect: { code: OK, terminal: ['onUploadSucceed', 'onUploadEnd'], warn: /onUploadProgress callback threw: the app's onUploadProgress broke/ },
      run: async (_e, c) => vodRun(c, [small('p.mp4', 350 * KB)], () => ({ onUploadProgress: throwing('onUploadProgress') })),
    },
    {
      name: 'onUploadSucceed throws: the next file still uploads',
      expect: { code: OK, terminal: ['onUploadSucceed', 'onUploadSucceed', 'onUploadEnd'], warn: /onUploadSucceed callback threw/ },
      run: async (_e, c) => vodRun(c, [small('s1.mp4'), small('s2.mp4')], () => ({ onUploadSucceed: throwing('onUploadSucceed') })),
    },
    {
      name: 'onUploadFailed throws: the next file still uploads',
      expect: { code: 'FileNotFound', terminal: ['onUploadFailed:FileNotFound', 'onUploadSucceed', 'onUploadEnd'], warn: /onUploadFailed callback threw/ },
      run: async (_e, c) => vodRun(c, ['http://tmp/gone.mp4', small()], () => ({ onUploadFailed: throwing('onUploadFailed') })),
    },
    {
      name: 'onUploadEnd throws',
      expect: { code: OK, terminal: ['onUploadSucceed', 'onUploadEnd'], warn: /onUploadEnd callback threw/ },
      run: async (_e, c) => vodRun(c, [small()], () => ({ onUploadEnd: throwing('onUploadEnd') })),
    },
    {
      name: 'onUploadstarted throws (getUploadAuth gives the credentials)',
      expect: { code: OK, terminal: ['onUploadSucceed', 'onUploadEnd'], warn: /onUploadstarted callback threw/ },
      run: async (_e, c) => vodRun(c, [small()], () => ({ onUploadstarted: throwing('onUploadstarted') })),
    },
    {
      name: 'onUploadstarted throws before setUploadAuthAndAddress (no getUploadAuth): the file fails instead of waiting forever',
      expect: { code: 'CallbackError', terminal: ['onUploadFailed:CallbackError', 'onUploadEnd'], warn: /onUploadstarted callback threw/ },
      run: async (_e, c) => vodRun(c, [small()], () => ({ getUploadAuth: undefined, onUploadstarted: throwing('onUploadstarted') })),
    },
    {
      name: 'getUploadAuth throws synchronously',
      expect: { code: 'GetUploadAuthFailed', terminal: ['onUploadFailed:GetUploadAuthFailed', 'onUploadEnd'] },
      run: async (_e, c) => vodRun(c, [small()], () => ({ getUploadAuth: throwing('getUploadAuth') as never })),
    },
    {
      name: 'getUploadAuth rejects',
      expect: { code: 'GetUploadAuthFailed', terminal: ['onUploadFailed:GetUploadAuthFailed', 'onUploadEnd'] },
      run: async (_e, c) => vodRun(c, [small()], () => ({ getUploadAuth: () => Promise.reject(new Error('AppServer down')) })),
    },
    {
      name: 'getUploadAuth resolves {} (no credentials)',
      expect: { code: 'GetUploadAuthFailed', terminal: ['onUploadFailed:GetUploadAuthFailed', 'onUploadEnd'] },
      run: async (_e, c) => vodRun(c, [small()], () => ({ getUploadAuth: async () => ({}) as VODUploadAuthResult })),
    },
    {
      name: 'getUploadAuth resolves a malformed UploadAuth',
      expect: { code: 'InvalidUploadAuth', terminal: ['onUploadFailed:InvalidUploadAuth', 'onUploadEnd'] },
      run: async (_e, c) => vodRun(c, [small()], () => ({ getUploadAuth: async () => ({ UploadAuth: 'bm90IGpzb24=', UploadAddress: 'bm90IGpzb24=' }) })),
    },
    {
      name: 'onUploadTokenExpired throws on an expired token (no getUploadAuth): the file fails instead of waiting forever',
      expect: { code: 'CallbackError', terminal: ['onUploadFailed:CallbackError', 'onUploadEnd'], warn: /onUploadTokenExpired callback threw/ },
      run: async (e, c) =>
        vodRun(c, [small()], (_c, up) => ({
          getUploadAuth: undefined,
          onUploadstarted: (info: VODUploadInfo) => {
            void c.app.call<{ UploadAuth: string; UploadAddress: string; VideoId: string }>('POST', '/api/vod/upload-video', { title: 'expired', fileName: 'expired.mp4' }).then(async (r) => {
              await fetch(`${e.stack.cloud!.oss}/_admin/credentials/expire`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mediaId: r.VideoId }) });
              up().setUploadAuthAndAddress(info, r.UploadAuth, r.UploadAddress, r.VideoId);
            });
          },
          onUploadTokenExpired: throwing('onUploadTokenExpired'),
        })),
    },
  ],
};

// ---------------------------------------------------------------- TencentVodUploader

/** A TencentVodUploader run to its end: terminal `finish` / `error:<code>`; code = error code or 'OK'. */
async function tvodRun(c: SdkCaseContext, opts: (c: SdkCaseContext) => Partial<TencentVodUploadOptions> | null, wrap = true): Promise<SdkOutcome> {
  const terminal: string[] = [];
  const o = opts(c);
  const sig = () => c.app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature);
  const full =
    o === null
      ? (null as unknown as TencentVodUploadOptions)
      : ({
          adapter: c.adapter,
          getSignature: sig,
          retryDelays: [10, 10, 10],
          ...o,
          ...(wrap
            ? {
                finish: (r: unknown) => {
                  terminal.push('finish');
                  if (typeof o.finish === 'function') o.finish(r as never);
                },
                error: (e: { code: string }) => {
                  terminal.push(`error:${e.code}`);
                  if (typeof o.error === 'function') o.error(e as never);
                },
              }
            : {}),
        } as TencentVodUploadOptions);
  let up: TencentVodUploader;
  try {
    up = TencentVodUploader.start(full);
  } catch (e) {
    return { code: `start() threw ${(e as Error).message}`, message: '', terminal };
  }
  let settled = false;
  const res = rejected(up.done().finally(() => (settled = true)));
  if (!(await settles(c.rt, () => settled))) {
    up.cancel();
    return { code: 'STUCK', message: 'the runtime went idle without finish / error', terminal };
  }
  const r = await res;
  return { ...r, terminal };
}

const video = (size = 4 * KB) => (c: SdkCaseContext) => ({ tempFilePath: c.rt.files.writeTempSized('tv.mp4', size, 5), size });
const tvOpt = (name: string, extra: (c: SdkCaseContext) => Record<string, unknown>, code = 'INVALID_OPTION'): SdkCase => ({
  name,
  expect: { code, terminal: [`error:${code}`] },
  run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), ...extra(cc) }) as Partial<TencentVodUploadOptions>),
});

const tvodOptions: SdkRow = {
  name: 'TencentVodUploader options',
  cases: [
    { name: 'options null (done() rejects, nothing thrown)', expect: { code: 'INVALID_OPTION', terminal: [] }, run: async (_e, c) => tvodRun(c, () => null) },
    tvOpt('getSignature missing', () => ({ getSignature: undefined })),
    tvOpt('getSignature "sig" (not a function)', () => ({ getSignature: 'sig' })),
    tvOpt('progress 5 (not a function)', () => ({ progress: 5 })),
    tvOpt('mediaFile missing', () => ({ mediaFile: undefined })),
    tvOpt('mediaFile {} (no tempFilePath)', () => ({ mediaFile: {} })),
    tvOpt('fileId "abc" (cover replacement)', (c) => ({ mediaFile: undefined, fileId: 'abc', coverFile: { tempFilePath: c.rt.files.writeTemp('c.jpg', 'x') } })),
    tvOpt('mediaName "a/b"', () => ({ mediaName: 'a/b' })),
    tvOpt('chunkSize NaN', () => ({ chunkSize: NaN })),
    tvOpt('chunkSize -1', () => ({ chunkSize: -1 })),
    tvOpt('chunkParallelLimit NaN', () => ({ chunkParallelLimit: NaN })),
    tvOpt('chunkRetryTimes -1', () => ({ chunkRetryTimes: -1 })),
    tvOpt('retryDelays "1000" (not an array)', () => ({ retryDelays: '1000' })),
    tvOpt('requestTimeout -5', () => ({ requestTimeout: -5 })),
    tvOpt('vodHost "not a url"', () => ({ vodHost: 'not a url' })),
    tvOpt('cosRoute "sideways"', () => ({ cosRoute: 'sideways' })),
  ],
};

const tvodFiles: SdkRow = {
  name: 'TencentVodUploader files',
  cases: [
    { name: 'missing file (http://tmp/gone.mp4)', expect: { code: 'FILE_NOT_FOUND', terminal: ['error:FILE_NOT_FOUND'] }, run: async (_e, c) => tvodRun(c, () => ({ mediaFile: { tempFilePath: 'http://tmp/gone.mp4' } })) },
    { name: '0 B file', expect: { code: OK, terminal: ['finish'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video(0)(cc) })) },
    {
      name: 'a directory (USER_DATA_PATH/adir)',
      expect: { code: 'FILE_NOT_FOUND', terminal: ['error:FILE_NOT_FOUND'] },
      run: async (_e, c) => {
        const dir = `${c.rt.wx.env.USER_DATA_PATH}/adir.mp4`;
        c.rt.wx.getFileSystemManager().mkdirSync(dir);
        return tvodRun(c, () => ({ mediaFile: { tempFilePath: dir } }));
      },
    },
    { name: 'a path outside the sandbox (/etc/passwd)', expect: { code: 'FILE_NOT_FOUND', terminal: ['error:FILE_NOT_FOUND'] }, run: async (_e, c) => tvodRun(c, () => ({ mediaFile: { tempFilePath: '/etc/passwd' } })) },
    { name: 'size claim 10 TB for a 4 KB file (the real size is used)', expect: { code: OK, terminal: ['finish'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: { tempFilePath: video()(cc).tempFilePath, size: 1e13 } })) },
    { name: 'size claim -1 / "big" (the real size is used)', expect: { code: OK, terminal: ['finish'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: { tempFilePath: video()(cc).tempFilePath, size: 'big' } })) },
    { name: 'coverFile missing on disk', expect: { code: 'FILE_NOT_FOUND', terminal: ['error:FILE_NOT_FOUND'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), coverFile: { tempFilePath: 'http://tmp/no-cover.jpg' } })) },
  ],
};

const tvodCallbacks: SdkRow = {
  name: 'TencentVodUploader callbacks that throw',
  cases: [
    { name: 'getSignature throws', expect: { code: 'SIGNATURE_FAILED', terminal: ['error:SIGNATURE_FAILED'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), getSignature: throwing('getSignature') })) },
    { name: 'getSignature rejects', expect: { code: 'SIGNATURE_FAILED', terminal: ['error:SIGNATURE_FAILED'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), getSignature: () => Promise.reject(new Error('AppServer down')) })) },
    { name: 'getSignature resolves ""', expect: { code: 'SIGNATURE_FAILED', terminal: ['error:SIGNATURE_FAILED'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), getSignature: async () => '' })) },
    { name: 'getSignature resolves a forged signature', expect: { code: 'INVALID_SIGNATURE', terminal: ['error:INVALID_SIGNATURE'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), getSignature: async () => 'Zm9yZ2Vk' })) },
    { name: 'getSignature never answers (signatureTimeout 20 ms)', expect: { code: 'SIGNATURE_FAILED', terminal: ['error:SIGNATURE_FAILED'] }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), signatureTimeout: 20, getSignature: () => new Promise<string>(() => undefined) })) },
    { name: 'progress throws', expect: { code: OK, terminal: ['finish'], warn: /progress/ }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video(2 * 1024 * KB)(cc), progress: throwing('progress') })) },
    { name: 'finish throws (done() still resolves)', expect: { code: OK, terminal: ['finish'], warn: /finish/ }, run: async (_e, c) => tvodRun(c, (cc) => ({ mediaFile: video()(cc), finish: throwing('finish') })) },
    { name: 'error throws (done() still rejects with the cause)', expect: { code: 'FILE_NOT_FOUND', terminal: ['error:FILE_NOT_FOUND'], warn: /error/ }, run: async (_e, c) => tvodRun(c, () => ({ mediaFile: { tempFilePath: 'http://tmp/gone.mp4' }, error: throwing('error') })) },
  ],
};

// ---------------------------------------------------------------- AliMediaDownloader

const CLIP = SAMPLE_VIDEO_IDS.clip;

/** prepare → select the LD mp4 → start, with a delegate; terminal: prepared / completion / error:<name>. */
async function dlRun(c: SdkCaseContext, o: { options?: Record<string, unknown>; delegate?: Record<string, unknown>; vid?: string; saveDir?: boolean; select?: (tracks: Array<{ trackIndex: number; vodDefinition?: string; vodFormat?: string }>) => number } = {}): Promise<SdkOutcome> {
  const terminal: string[] = [];
  let d: AliMediaDownloader;
  try {
    d = new AliMediaDownloader({ adapter: c.adapter, chunkSize: 64 * KB, retryDelayMs: 5, ...(o.options || {}) });
  } catch (e) {
    return { code: (e as { code?: string }).code || String(e), message: (e as Error).message, terminal };
  }
  const dg = o.delegate || {};
  const wrapCb = (name: string, rec?: (...a: any[]) => void) => (...a: any[]) => {
    if (rec) rec(...a);
    const f = dg[name];
    if (typeof f === 'function') f(...a);
  };
  d.setDelegate({
    onPrepared: wrapCb('onPrepared', () => terminal.push('prepared')),
    onError: wrapCb('onError', (_d, e) => terminal.push(`error:${e.name}`)),
    onDownloadingProgress: wrapCb('onDownloadingProgress'),
    onProcessingProgress: wrapCb('onProcessingProgress'),
    onCompletion: wrapCb('onCompletion', () => terminal.push('completion')),
  });
  if (o.saveDir !== false) d.setSaveDirectory(`${c.rt.wx.env.USER_DATA_PATH}/downloads`);
  let settled = false;
  const flow = (async () => {
    const info = await d.prepare({ vid: o.vid || CLIP, appClient: c.app as never });
    const pick = o.select ? o.select(info.tracks) : (info.tracks.find((t) => t.vodDefinition === 'LD' && t.vodFormat === 'mp4') || info.tracks[0]).trackIndex;
    d.selectTrack(pick);
    return d.start();
  })().finally(() => (settled = true));
  const r = rejected(flow);
  const ok = await settles(c.rt, () => settled);
  if (!ok) {
    d.release();
    return { code: 'STUCK', message: 'the runtime went idle without completion / error', terminal };
  }
  const out = await r;
  // the events are delivered asynchronously: let the ones already queued arrive
  await settles(c.rt, () => terminal.some((t) => t === 'completion' || t.startsWith('error:')));
  d.release();
  return { ...out, terminal };
}

const dlOpt = (name: string, options: Record<string, unknown>): SdkCase => ({
  name,
  expect: { code: 'INVALID_OPTION' },
  run: async (_e, c) => thrown(() => new AliMediaDownloader({ adapter: c.adapter, ...options } as never)),
});

const dlOptions: SdkRow = {
  name: 'AliMediaDownloader options',
  cases: [
    dlOpt('chunkSize -1', { chunkSize: -1 }),
    dlOpt('chunkSize "2MB" (a string)', { chunkSize: '2MB' }),
    dlOpt('timeoutMs -1', { timeoutMs: -1 }),
    dlOpt('retryCount NaN', { retryCount: NaN }),
    dlOpt('retryDelayMs -10', { retryDelayMs: -10 }),
    { name: 'prepare(null)', expect: { code: 'DOWNLOAD_ERROR_STS_SOURCE_NULL' }, run: async (_e, c) => rejected(new AliMediaDownloader({ adapter: c.adapter }).prepare(null as never)) },
    { name: 'start() without setSaveDirectory', expect: { code: 'DOWNLOAD_ERROR_NOT_SET_SAVE_DIR', terminal: ['prepared', 'error:DOWNLOAD_ERROR_NOT_SET_SAVE_DIR'] }, run: async (_e, c) => dlRun(c, { saveDir: false }) },
    { name: 'selectTrack(99) (no such track)', expect: { code: 'DOWNLOAD_ERROR_INVALID_ITEM', terminal: ['prepared', 'error:DOWNLOAD_ERROR_INVALID_ITEM'] }, run: async (_e, c) => dlRun(c, { select: () => 99 }) },
    { name: 'vid "ffff…" (no such video: the AppServer answers "neither yours nor public")', expect: { code: 'ERROR_SERVER_POP_FORBIDDEN', terminal: ['error:ERROR_SERVER_POP_FORBIDDEN'] }, run: async (_e, c) => dlRun(c, { vid: 'ffffffffffffffffffffffffffffffff' }) },
    { name: 'updateSource({}) (no vid)', expect: { code: 'DOWNLOAD_ERROR_STS_SOURCE_NULL' }, run: async (_e, c) => thrown(() => new AliMediaDownloader({ adapter: c.adapter }).updateSource({} as never)) },
  ],
};

const dlCallbacks: SdkRow = {
  name: 'AliMediaDownloader delegate callbacks that throw',
  cases: [
    { name: 'onPrepared throws', expect: { code: OK, terminal: ['prepared', 'completion'], warn: /prepared callback threw/ }, run: async (_e, c) => dlRun(c, { delegate: { onPrepared: throwing('onPrepared') } }) },
    { name: 'onDownloadingProgress throws', expect: { code: OK, terminal: ['prepared', 'completion'], warn: /downloading callback threw/ }, run: async (_e, c) => dlRun(c, { delegate: { onDownloadingProgress: throwing('onDownloadingProgress') } }) },
    { name: 'onCompletion throws', expect: { code: OK, terminal: ['prepared', 'completion'], warn: /completion callback threw/ }, run: async (_e, c) => dlRun(c, { delegate: { onCompletion: throwing('onCompletion') } }) },
    { name: 'onError throws', expect: { code: 'ERROR_SERVER_POP_FORBIDDEN', terminal: ['error:ERROR_SERVER_POP_FORBIDDEN'], warn: /error callback threw/ }, run: async (_e, c) => dlRun(c, { vid: 'ffffffffffffffffffffffffffffffff', delegate: { onError: throwing('onError') } }) },
  ],
};

// ---------------------------------------------------------------- PolyvPlayer

async function polyvSamples(c: SdkCaseContext): Promise<string> {
  const r = await c.app.call<{ samples: Array<{ videoId: string; playable: boolean }> }>('GET', '/api/polyv/samples');
  return (r.samples.find((s) => s.playable) || r.samples[0]).videoId;
}

const polyv: SdkRow = {
  name: 'PolyvPlayer options, inputs and listeners',
  cases: [
    { name: 'no appClient', expect: { code: 'INVALID_OPTION' }, run: async (_e, c) => thrown(() => new PolyvPlayer({ adapter: c.adapter } as never)) },
    { name: 'appClient {call: 1}', expect: { code: 'INVALID_OPTION' }, run: async (_e, c) => thrown(() => new PolyvPlayer({ appClient: { call: 1 }, adapter: c.adapter } as never)) },
    { name: 'refreshMarginMs NaN', expect: { code: 'INVALID_OPTION' }, run: async (_e, c) => thrown(() => new PolyvPlayer({ appClient: c.app, adapter: c.adapter, refreshMarginMs: NaN })) },
    { name: 'maxRecoveries -1', expect: { code: 'INVALID_OPTION' }, run: async (_e, c) => thrown(() => new PolyvPlayer({ appClient: c.app, adapter: c.adapter, maxRecoveries: -1 })) },
    { name: 'playPath "api/polyv/play" (not a path)', expect: { code: 'INVALID_OPTION' }, run: async (_e, c) => thrown(() => new PolyvPlayer({ appClient: c.app, adapter: c.adapter, playPath: 'api/polyv/play' })) },
    {
      name: 'load("   ") / load(42)',
      expect: { code: 'POLYV_EMPTY_VID' },
      run: async (_e, c) => {
        const p = new PolyvPlayer({ appClient: c.app, adapter: c.adapter, autoRefresh: false });
        const a = await rejected(p.load('   '));
        const b = await rejected(p.load(42 as never));
        p.destroy();
        return a.code === b.code ? a : { ...a, code: `${a.code} / ${b.code}` };
      },
    },
    {
      name: 'switchDefinition(0) before load',
      expect: { code: 'POLYV_NOT_LOADED' },
      run: async (_e, c) => {
        const p = new PolyvPlayer({ appClient: c.app, adapter: c.adapter, autoRefresh: false });
        const r = await rejected(p.switchDefinition(0));
        p.destroy();
        return r;
      },
    },
    {
      name: 'switchDefinition(99) after load',
      expect: { code: 'POLYV_NO_DEFINITION' },
      run: async (_e, c) => {
        const p = new PolyvPlayer({ appClient: c.app, adapter: c.adapter, autoRefresh: false });
        await p.load(await polyvSamples(c));
        const r = await rejected(p.switchDefinition(99));
        p.destroy();
        return r;
      },
    },
    {
      name: 'appClient.call throws synchronously',
      expect: { code: 'POLYV_TOKEN_LOAD_FAILED' },
      run: async (_e, c) => {
        const p = new PolyvPlayer({ appClient: { call: throwing('call') } as never, adapter: c.adapter, autoRefresh: false });
        const r = await rejected(p.load('abc123'));
        p.destroy();
        return r;
      },
    },
    {
      name: 'appClient.call resolves {} (no token)',
      expect: { code: 'POLYV_TOKEN_LOAD_FAILED' },
      run: async (_e, c) => {
        const p = new PolyvPlayer({ appClient: { call: async () => ({}) } as never, adapter: c.adapter, autoRefresh: false });
        const r = await rejected(p.load('abc123'));
        p.destroy();
        return r;
      },
    },
    {
      name: "a 'source' listener throws (load still resolves)",
      expect: { code: OK, warn: /source listener threw/ },
      run: async (_e, c) => {
        const p = new PolyvPlayer({ appClient: c.app, adapter: c.adapter, autoRefresh: false });
        p.on('source', throwing('source listener'));
        const r = await rejected(p.load(await polyvSamples(c)));
        p.destroy();
        return r;
      },
    },
  ],
};

// ---------------------------------------------------------------- IoT (IVVAS / IVMessageMgr)

async function firstDevice(c: SdkCaseContext): Promise<IoTDevice> {
  const list = await new IVVAS({ appClient: c.app }).getDeviceList();
  return (list.data as unknown as { list: IoTDevice[] }).list[0];
}

/** A responseHandler call: the promise must resolve (null on failure) and the handler must get the error. */
async function handled(c: SdkCaseContext, call: (h: (json: unknown, err: { code?: string | number; message?: string } | null) => void) => Promise<unknown>, handlerThrows = false): Promise<SdkOutcome> {
  let seen: { code?: string | number; message?: string } | null | undefined;
  const p = call((json, err) => {
    seen = err;
    if (handlerThrows) throw new Error("the app's responseHandler broke");
  });
  const r = await rejected(p);
  if (r.code !== OK) return { ...r, code: `the promise rejected (${r.code}) although a responseHandler was given` };
  return { code: seen ? seen.code : OK, message: (seen && seen.message) || '', terminal: [] };
}

const iot: SdkRow = {
  name: 'IVVAS / IVMessageMgr options, inputs and handlers',
  cases: [
    { name: 'IVVAS without appClient', expect: { code: 'INVALID_OPTION' }, run: async () => thrown(() => new IVVAS({} as never)) },
    { name: 'IVMessageMgr appClient {call: "x"}', expect: { code: 'INVALID_OPTION' }, run: async () => thrown(() => new IVMessageMgr({ appClient: { call: 'x' } } as never)) },
    { name: 'deviceId "" ', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVVAS({ appClient: c.app }).getServiceDetailInfo('')) },
    { name: 'deviceId "../admin"', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVVAS({ appClient: c.app }).getServiceDetailInfo('../admin')) },
    { name: 'timezone NaN', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVVAS({ appClient: c.app }).getVideoDateList('dev1', NaN)) },
    { name: 'startTime -1', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVVAS({ appClient: c.app }).getVideoPlayList('dev1', -1, 10)) },
    { name: 'pageSize 0', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVVAS({ appClient: c.app }).getEventList('dev1', 0, 10, 0, null, false)) },
    { name: 'eventIds [] ', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVVAS({ appClient: c.app }).deleteEvents('dev1', [])) },
    { name: 'property path "ProWritable.a b"', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVMessageMgr({ appClient: c.app }).readProperty('dev1', 'ProWritable.a b')) },
    { name: 'json "{not json"', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => rejected(new IVMessageMgr({ appClient: c.app }).writeProperty('dev1', 'ProWritable._logLevel', '{not json')) },
    { name: 'json over the size limit', expect: { code: 'IOT_21008' }, run: async (_e, c) => rejected(new IVMessageMgr({ appClient: c.app }).writeProperty('dev1', 'ProWritable._logLevel', JSON.stringify('x'.repeat(IVMessageMgr.MAX_DATA_SIZE + 1)))) },
    { name: 'responseHandler gets a bad-input error (the promise resolves null)', expect: { code: 'IOT_INVALID_PARAMETER' }, run: async (_e, c) => handled(c, (h) => new IVVAS({ appClient: c.app }).getServiceDetailInfo('', h as never)) },
    { name: 'responseHandler throws on an error', expect: { code: 'IOT_INVALID_PARAMETER', warn: /responseHandler threw/ }, run: async (_e, c) => handled(c, (h) => new IVVAS({ appClient: c.app, adapter: c.adapter }).getServiceDetailInfo('', h as never), true) },
    {
      name: 'responseHandler throws on a success',
      expect: { code: OK, warn: /responseHandler threw/ },
      run: async (_e, c) => {
        const dev = await firstDevice(c);
        return handled(c, (h) => new IVVAS({ appClient: c.app, adapter: c.adapter }).getServiceDetailInfo(dev.deviceId, h as never), true);
      },
    },
  ],
};

export const sdkRows: SdkRow[] = [vodOptions, vodFiles, vodCallbacks, tvodOptions, tvodFiles, tvodCallbacks, dlOptions, dlCallbacks, polyv, iot];
