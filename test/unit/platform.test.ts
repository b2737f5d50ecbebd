/**
 * The platform layer on its own: errMsg classification, the wx adapter's mapping of callbacks to promises and
 * errors, abort wiring, the concurrency limiter, and the injected adapter. (The same adapter runs over real sockets
 * in the end-to-end tests through the Node wx runtime.)
 */
import { AbortControllerLike, anySignal, classifyErrMsg, createInjectedAdapter, createTaroAdapter, createWxAdapter, Limiter, MediaKitError, PlatformErrorCode, getHeader, WxLike } from '../../sdk/src';

type Call = { api: string; opts: any; task: { aborted: boolean; abort(): void; onHeadersReceived?: (cb: any) => void; onProgressUpdate?: (cb: any) => void } };

/** The fake file system's one file (10 bytes, 10..19), so a ranged read can be checked byte by byte. */
const FILE_BYTES = Uint8Array.from({ length: 10 }, (_, i) => 10 + i);

/** readFile over FILE_BYTES with WeChat's ranges: position in [0, size-1], length in [1, size-position]. */
function fakeReadFile(o: any): void {
  if (o.filePath === 'http://tmp/missing') return o.fail({ errMsg: 'readFile:fail no such file or directory, open http://tmp/missing' });
  const size = FILE_BYTES.length;
  const pos = o.position === undefined ? 0 : o.position;
  const len = o.length === undefined ? size - pos : o.length;
  if (!Number.isInteger(pos) || pos < 0 || pos > size - 1) return o.fail({ errMsg: `readFile:fail the value of "position" is out of range. Received ${pos}` });
  if (!Number.isInteger(len) || len < 1 || pos + len > size) return o.fail({ errMsg: `readFile:fail the value of "length" is out of range. Received ${len}` });
  o.success({ data: FILE_BYTES.slice(pos, pos + len).buffer });
}

function fakeWx(overrides: Partial<Record<string, unknown>> = {}) {
  const calls: Call[] = [];
  const storage = new Map<string, unknown>();
  const task = (api: string, opts: any) => {
    const t: Call['task'] = {
      aborted: false,
      abort() {
        t.aborted = true;
        opts.fail && opts.fail({ errMsg: `${api}:fail abort` });
      },
      onHeadersReceived: () => undefined,
      onProgressUpdate: () => undefined,
    };
    calls.push({ api, opts, task: t });
    return t;
  };
  const wx: WxLike = {
    request: (o: any) => task('request', o),
    uploadFile: (o: any) => task('uploadFile', o),
    downloadFile: (o: any) => task('downloadFile', o),
    getFileSystemManager: () => ({
      stat: (o: any) => o.success({ stats: { size: 10, lastModifiedTime: 1700000000, isFile: () => true } }),
      readFile: fakeReadFile,
    }),
    getStorageSync: (k: string) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k: string, v: unknown) => {
      if (k === 'huge') throw new Error('setStorageSync:fail exceed storage item max size 1MB');
      storage.set(k, v);
    },
    removeStorageSync: (k: string) => storage.delete(k),
    login: (o: any) => o.success({ code: 'c0de' }),
    getAppBaseInfo: () => ({ SDKVersion: '3.4.0' }),
    env: { USER_DATA_PATH: 'http://usr' },
    ...overrides,
  } as WxLike;
  return { wx, calls };
}

describe('classifyErrMsg', () => {
  it.each([
    ['request:fail interrupted', PlatformErrorCode.Interrupted],
    ['network api interrupted in suspend state', PlatformErrorCode.Interrupted],
    ['request:fail abort', PlatformErrorCode.Aborted],
    ['request:fail timeout', PlatformErrorCode.Timeout],
    ['uploadFile:fail socket time out', PlatformErrorCode.Timeout],
    ['request:fail errcode:-101 error_msg:net::ERR_CONNECTION_RESET', PlatformErrorCode.Network],
    ['request:fail url not in domain list', PlatformErrorCode.DomainNotAllowed],
    ['uploadFile:fail createUploadTask:fail url not in domain list', PlatformErrorCode.DomainNotAllowed],
    ['request:fail https://oss.example.com 不在以下 request 合法域名列表中，请参考文档', PlatformErrorCode.DomainNotAllowed],
    ['readFile:fail no such file or directory', PlatformErrorCode.FileNotFound],
    ['', PlatformErrorCode.Network],
  ])('%s → %s', (msg, code) => expect(classifyErrMsg(msg)).toBe(code));
});

describe('createWxAdapter', () => {
  it('resolves success for any HTTP status and passes method, header, data, dataType and responseType through', async () => {
    const { wx, calls } = fakeWx();
    const a = createWxAdapter(wx);
    const p = a.request({ url: 'https://x/y', method: 'PUT', header: { 'Content-Type': 'application/octet-stream' }, data: new ArrayBuffer(3), responseType: 'text', dataType: 'text', timeout: 500 });
    await Promise.resolve();
    expect(calls[0].opts).toMatchObject({ url: 'https://x/y', method: 'PUT', dataType: 'text', responseType: 'text', timeout: 500 });
    calls[0].opts.success({ statusCode: 503, header: { ETag: '"abc"' }, data: 'busy' });
    const res = await p;
    expect(res.statusCode).toBe(503);
    expect(getHeader(res.header, 'etag')).toBe('"abc"');
  });

  it('rejects a fail with a MediaKitError whose code is classified from errMsg', async () => {
    const { wx, calls } = fakeWx();
    const p = createWxAdapter(wx).request({ url: 'https://x' });
    await Promise.resolve();
    calls[0].opts.fail({ errMsg: 'request:fail timeout' });
    await expect(p).rejects.toMatchObject({ code: PlatformErrorCode.Timeout, message: 'request:fail timeout' });
  });

  it('aborts the wx task when the signal aborts, and reports ABORTED', async () => {
    const { wx, calls } = fakeWx();
    const c = new AbortControllerLike();
    const p = createWxAdapter(wx).uploadFile({ url: 'https://x', filePath: 'http://tmp/a', name: 'file', signal: c.signal });
    await Promise.resolve();
    c.abort();
    await expect(p).rejects.toMatchObject({ code: PlatformErrorCode.Aborted });
    expect(calls[0].task.aborted).toBe(true);
  });

  it('a "fail abort" WeChat reports on its own (our signal did not abort) is a retryable NETWORK_ERROR, for request, uploadFile and downloadFile', async () => {
    const { wx, calls } = fakeWx();
    const a = createWxAdapter(wx);
    const c = new AbortControllerLike(); // a signal that never aborts
    const ps = [
      a.request({ url: 'https://x', signal: c.signal }),
      a.uploadFile({ url: 'https://x', filePath: 'http://tmp/a', name: 'file', signal: c.signal }),
      a.downloadFile({ url: 'https://x' }),
    ];
    await Promise.resolve();
    expect(calls).toHaveLength(3);
    for (const call of calls) call.opts.fail({ errMsg: `${call.api}:fail abort` });
    for (const [i, p] of ps.entries()) {
      await expect(p).rejects.toMatchObject({ code: PlatformErrorCode.Network, message: `${calls[i].api}:fail abort` });
    }
  });

  it("uploadFile: WeChat's success has only data + statusCode; the response headers come from UploadTask.onHeadersReceived", async () => {
    const heads: Array<(res: any) => void> = [];
    const progress: Array<(res: any) => void> = [];
    const { wx, calls } = fakeWx({
      uploadFile: (o: any) => {
        calls.push({ api: 'uploadFile', opts: o, task: undefined as never });
        return { abort: () => undefined, onHeadersReceived: (f: any) => heads.push(f), onProgressUpdate: (f: any) => progress.push(f) };
      },
    });
    const seen: unknown[] = [];
    const p = createWxAdapter(wx).uploadFile({ url: 'https://x', filePath: 'http://tmp/a', name: 'file', onProgress: (x) => seen.push(x) });
    await Promise.resolve();
    expect(heads).toHaveLength(1);
    expect(progress).toHaveLength(1);
    progress[0]({ progress: 100, totalBytesSent: 3, totalBytesExpectedToSend: 3 });
    heads[0]({ header: { 'x-oss-hash-crc64ecma': '123', ETag: '"e"' } });
    calls[0].opts.success({ data: '', statusCode: 200, errMsg: 'uploadFile:ok' });
    const res = await p;
    expect(res).toEqual({ statusCode: 200, header: { 'x-oss-hash-crc64ecma': '123', ETag: '"e"' }, data: '' });
    expect(seen).toEqual([{ progress: 100, totalBytesSent: 3, totalBytesExpectedToSend: 3 }]);
  });

  it('a host outside the 合法域名 list → DOMAIN_NOT_ALLOWED whose message names the host and how to whitelist it', async () => {
    const { wx, calls } = fakeWx();
    const p = createWxAdapter(wx).request({ url: 'https://outin-x.oss-cn-shanghai.aliyuncs.com/k?uploads', method: 'POST' });
    await Promise.resolve();
    calls[0].opts.fail({ errMsg: 'request:fail url not in domain list' });
    const e = await p.then(() => undefined, (x: MediaKitError) => x);
    expect(e).toMatchObject({ code: PlatformErrorCode.DomainNotAllowed, details: { errMsg: 'request:fail url not in domain list' } });
    expect(e?.message).toContain('https://outin-x.oss-cn-shanghai.aliyuncs.com');
    expect(e?.message).toContain('合法域名');
    expect(e?.message).toContain('不校验合法域名');
  });

  it('never starts a request whose signal is already aborted', async () => {
    const { wx, calls } = fakeWx();
    const c = new AbortControllerLike();
    c.abort();
    await expect(createWxAdapter(wx).request({ url: 'https://x', signal: c.signal })).rejects.toMatchObject({ code: PlatformErrorCode.Aborted });
    expect(calls).toHaveLength(0);
  });

  it('holds at most maxConcurrent network tasks (capped at 10) and queues the rest in order', async () => {
    const { wx, calls } = fakeWx();
    const a = createWxAdapter(wx, { maxConcurrent: 50 });
    const ps = Array.from({ length: 12 }, (_, i) => a.request({ url: `https://x/${i}` }));
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toHaveLength(10);
    calls[0].opts.success({ statusCode: 200, header: {}, data: '' });
    await ps[0];
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.map((c) => c.opts.url)).toContain('https://x/10');
    calls.slice(1).forEach((c) => c.opts.success({ statusCode: 200, header: {}, data: '' }));
    await new Promise((r) => setTimeout(r, 0));
    calls.slice(11).forEach((c) => c.opts.success({ statusCode: 200, header: {}, data: '' }));
    await Promise.all(ps);
    expect(calls).toHaveLength(12);
  });

  it('ranged reads return exactly the bytes at [position, position+length) (first, middle, last byte, whole file); length 0 reads nothing without calling readFile', async () => {
    const { wx } = fakeWx();
    const a = createWxAdapter(wx);
    const bytes = async (pos: number, len: number) => Array.from(new Uint8Array(await a.fs.readRange('http://tmp/a', pos, len)));
    expect(await bytes(2, 4)).toEqual([12, 13, 14, 15]);
    expect(await bytes(0, 1)).toEqual([10]);
    expect(await bytes(9, 1)).toEqual([19]);
    expect(await bytes(0, 10)).toEqual(Array.from(FILE_BYTES));
    expect(await bytes(5, 5)).toEqual([15, 16, 17, 18, 19]);
    const spy = jest.fn(fakeReadFile);
    const b = createWxAdapter(fakeWx({ getFileSystemManager: () => ({ readFile: spy }) }).wx);
    expect((await b.fs.readRange('http://tmp/a', 10, 0)).byteLength).toBe(0);
    expect(spy).not.toHaveBeenCalled();
  });

  it('maps file-system failures: missing file → FILE_NOT_FOUND; ranged reads refused below base library 2.10.0', async () => {
    const { wx } = fakeWx();
    const a = createWxAdapter(wx);
    await expect(a.fs.readRange('http://tmp/missing', 0, 4)).rejects.toMatchObject({ code: PlatformErrorCode.FileNotFound });
    expect((await a.fs.readRange('http://tmp/a', 2, 4)).byteLength).toBe(4);
    expect(await a.fs.stat('http://tmp/a')).toEqual({ size: 10, lastModifiedTime: 1700000000, isFile: true });
    const old = createWxAdapter(fakeWx({ getAppBaseInfo: () => ({ SDKVersion: '2.9.4' }) }).wx);
    await expect(old.fs.readRange('http://tmp/a', 0, 4)).rejects.toMatchObject({ code: PlatformErrorCode.Unsupported });
  });

  it('storage: missing key → undefined; a refused write → STORAGE_QUOTA_EXCEEDED', () => {
    const a = createWxAdapter(fakeWx().wx);
    expect(a.storage.get('nope')).toBeUndefined();
    a.storage.set('k', { a: 1 });
    expect(a.storage.get('k')).toEqual({ a: 1 });
    expect(() => a.storage.set('huge', 'x')).toThrow(MediaKitError);
    try {
      a.storage.set('huge', 'x');
    } catch (e) {
      expect((e as MediaKitError).code).toBe(PlatformErrorCode.StorageQuota);
    }
  });

  it('login resolves the code; a global-less adapter explains how to inject one', async () => {
    expect(await createWxAdapter(fakeWx().wx).login()).toEqual({ code: 'c0de' });
    expect(() => createWxAdapter().storage.get('x')).toThrow(/No `wx` object/);
  });

  it('createTaroAdapter refuses something that is not Taro', () => {
    expect(() => createTaroAdapter({})).toThrow(/pass the Taro object/);
    expect(createTaroAdapter(fakeWx().wx).name).toBe('taro');
  });
});

describe('createInjectedAdapter', () => {
  it('uses the parts given and reports UNSUPPORTED_PLATFORM for missing ones when there is no wx', async () => {
    const a = createInjectedAdapter({ name: 'custom', now: () => 42 });
    expect(a.name).toBe('custom');
    expect(a.now()).toBe(42);
    expect(() => a.login()).toThrow(MediaKitError);
  });
});

describe('Limiter and abort signals', () => {
  it('runs at most max tasks at once, FIFO', async () => {
    const l = new Limiter(2);
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        l.run(async () => {
          running++;
          peak = Math.max(peak, running);
          order.push(i);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it('anySignal aborts when any source aborts; late listeners run at once', () => {
    const a = new AbortControllerLike();
    const b = new AbortControllerLike();
    const s = anySignal([a.signal, undefined, b.signal]);
    const seen: unknown[] = [];
    s.onAbort((r) => seen.push(r));
    b.abort('stop');
    expect(s.aborted).toBe(true);
    expect(seen).toEqual(['stop']);
    s.onAbort((r) => seen.push(`late:${r}`));
    expect(seen).toEqual(['stop', 'late:stop']);
  });
});
