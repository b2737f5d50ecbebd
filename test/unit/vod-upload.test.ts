/**
 * VODUpload state machine, scheduler, retry and checkpoint behaviour with an injected adapter whose request /
 * uploadFile answer like OSS (an in-memory fake, no signature checks — the end-to-end tests cover the real
 * protocol against the local cloud) and whose fs / storage are in memory.
 */
import { createInjectedAdapter, MediaKitError, PlatformAdapter, RequestOptions, UploadFileOptions, VODUpload, VODUploadErrorCode } from 'mp-media-sdk';
import VODUploadDefault from 'mp-media-sdk';
import type { VODUploadInfo, VODUploadOptions } from 'mp-media-sdk';
import { crc64, encodeUploadAddress, encodeUploadAuth, computeRpcSignature } from '../../sdk/src/aliyun';
import { CHECKPOINT_STORAGE_KEY } from '../../sdk/src/vod-upload/checkpoint';

const PS = 102400;
const ENDPOINT = 'http://127.0.0.1:9';
const BUCKET = 'outin-test';

type Fault = (req: { method: string; url: URL; partNumber?: number; token?: string }) => { status: number; body?: string; header?: Record<string, string> } | Error | 'hang' | undefined;

interface Upload {
  key: string;
  parts: Map<number, { data: Buffer; etag: string }>;
}

function xmlError(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n<Code>${code}</Code>\n<Message>${message}</Message>\n<RequestId>RID</RequestId>${extra}\n</Error>`;
}

/** In-memory OSS + VOD + wx fs/storage behind createInjectedAdapter. */
class FakeCloud {
  objects = new Map<string, Buffer>();
  uploads = new Map<string, Upload>();
  files = new Map<string, { data: Buffer; mtime: number }>();
  storageMap = new Map<string, unknown>();
  log: Array<{ method: string; url: string; partNumber?: number; status?: number; headers: Record<string, string> }> = [];
  faults: Fault[] = [];
  expiredTokens = new Set<string>();
  inFlightParts = 0;
  peakInFlightParts = 0;
  liveBuffers = 0;
  peakLiveBuffers = 0;
  badCrcParts = new Map<number, number>();
  warnings: string[] = [];
  serverSkewMs = 0;
  vodCalls: Array<Record<string, string>> = [];
  nextId = 1;
  videoKey = '';
  /** PostObject answers carry x-oss-hash-crc64ecma (else the SDK falls back to HEAD). */
  postCrcHeader = false;
  /** A latch each part PUT waits on (to hold parts in flight). */
  partGate: Promise<void> | undefined;

  adapter(over: Partial<PlatformAdapter> = {}): PlatformAdapter {
    return createInjectedAdapter({
      name: 'fake',
      request: (o) => this.request(o) as never,
      uploadFile: (o) => this.uploadFile(o),
      fs: {
        userDataPath: 'wxfile://usr',
        stat: async (p) => {
          const f = this.files.get(p);
          if (!f) throw new MediaKitError('FILE_NOT_FOUND', `stat:fail no such file or directory ${p}`);
          return { size: f.data.length, lastModifiedTime: f.mtime, isFile: true };
        },
        readRange: async (p, pos, len) => {
          const f = this.files.get(p);
          if (!f) throw new MediaKitError('FILE_NOT_FOUND', `readFile:fail no such file ${p}`);
          this.liveBuffers++;
          this.peakLiveBuffers = Math.max(this.peakLiveBuffers, this.liveBuffers);
          const b = f.data.subarray(pos, pos + len);
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
        },
        readText: async () => '',
        writeFile: async () => undefined,
        unlink: async () => undefined,
        exists: async (p) => this.files.has(p),
        mkdir: async () => undefined,
        saveFile: async (p) => p,
      },
      storage: {
        get: <T>(k: string) => (this.storageMap.has(k) ? (JSON.parse(JSON.stringify(this.storageMap.get(k))) as T) : undefined),
        set: (k, v) => void this.storageMap.set(k, JSON.parse(JSON.stringify(v))),
        remove: (k) => void this.storageMap.delete(k),
        keys: () => [...this.storageMap.keys()],
      },
      warn: (m) => void this.warnings.push(m),
      ...over,
    });
  }

  addFile(path: string, size: number, seed = 1): Buffer {
    const data = Buffer.alloc(size);
    let x = seed * 2654435761;
    for (let i = 0; i < size; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      data[i] = x >>> 24;
    }
    this.files.set(path, { data, mtime: 1700000000 });
    return data;
  }

  auth(token = 'TOKEN-1', over: Record<string, unknown> = {}) {
    return encodeUploadAuth({ AccessKeyId: 'STS.ak', AccessKeySecret: 'sk', SecurityToken: token, Expiration: '3000', Region: 'cn-shanghai', ...over } as never);
  }

  address(key = 'sv/1/video.mp4') {
    return encodeUploadAddress({ Endpoint: ENDPOINT, Bucket: BUCKET, FileName: key });
  }

  partPuts(n?: number) {
    return this.log.filter((l) => l.method === 'PUT' && (n === undefined || l.partNumber === n));
  }

  private async request(o: RequestOptions): Promise<{ statusCode: number; header: Record<string, string>; data: unknown }> {
    const url = new URL(o.url);
    const method = o.method || 'GET';
    const headers = Object.fromEntries(Object.entries(o.header || {}).map(([k, v]) => [k.toLowerCase(), v]));
    const partNumber = url.searchParams.has('partNumber') ? Number(url.searchParams.get('partNumber')) : undefined;
    const entry: FakeCloud['log'][number] = { method, url: o.url, partNumber, headers };
    this.log.push(entry);
    const respond = (status: number, data: unknown = '', header: Record<string, string> = {}) => {
      entry.status = status;
      return { statusCode: status, header: { 'x-oss-request-id': 'RID', ...header }, data };
    };
    if (url.hostname.startsWith('vod.')) return respond(...this.vod(url));
    if (partNumber !== undefined) {
      this.inFlightParts++;
      this.peakInFlightParts = Math.max(this.peakInFlightParts, this.inFlightParts);
    }
    try {
      for (const f of this.faults) {
        const r = f({ method, url, partNumber, token: headers['x-oss-security-token'] });
        if (r === 'hang') {
          await new Promise<void>((_resolve, reject) => o.signal && o.signal.onAbort(() => reject(new MediaKitError('ABORTED', 'request:fail abort'))));
        }
        if (r instanceof Error) throw r;
        if (r && typeof r === 'object') return respond(r.status, r.body || '', r.header);
      }
      if (partNumber !== undefined && this.partGate) await this.partGate;
      if (o.signal && o.signal.aborted) throw new MediaKitError('ABORTED', 'request:fail abort');
      if (!headers.authorization || !headers['x-oss-date'] || !headers['content-type']) return respond(400, xmlError('InvalidArgument', 'missing headers'));
      if (headers['x-oss-security-token'] && this.expiredTokens.has(headers['x-oss-security-token'])) {
        return respond(403, xmlError('SecurityTokenExpired', 'The security token you provided has expired.'));
      }
      const date = Date.parse(headers['x-oss-date']);
      const serverNow = Date.now() + this.serverSkewMs;
      if (Math.abs(date - serverNow) > 15 * 60 * 1000) {
        return respond(403, xmlError('RequestTimeTooSkewed', 'too skewed', `<ServerTime>${new Date(serverNow).toISOString()}</ServerTime>`));
      }
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts.shift() !== BUCKET) return respond(404, xmlError('NoSuchBucket', 'no bucket'));
      const key = decodeURIComponent(parts.join('/'));
      const q = url.searchParams;
      if (method === 'POST' && q.has('uploads')) {
        const id = `UP${this.nextId++}`;
        this.uploads.set(id, { key, parts: new Map() });
        return respond(200, `<InitiateMultipartUploadResult><Bucket>${BUCKET}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      const up = q.get('uploadId') ? this.uploads.get(q.get('uploadId') as string) : undefined;
      if (q.get('uploadId') && !up) return respond(404, xmlError('NoSuchUpload', 'The specified upload does not exist.'));
      if (method === 'PUT' && up && partNumber) {
        const data = Buffer.from(o.data as ArrayBuffer);
        this.liveBuffers--;
        const etag = `"${partNumber}-${data.length}-${crc64(data)}"`;
        up.parts.set(partNumber, { data, etag });
        const bad = this.badCrcParts.get(partNumber) || 0;
        if (bad > 0) this.badCrcParts.set(partNumber, bad - 1);
        return respond(200, '', { ETag: etag, 'x-oss-hash-crc64ecma': bad > 0 ? '1' : crc64(data) });
      }
      if (method === 'GET' && up) {
        const xs = [...up.parts.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([n, p]) => `<Part><PartNumber>${n}</PartNumber><ETag>${p.etag.replace(/"/g, '&quot;')}</ETag><HashCrc64ecma>${crc64(p.data)}</HashCrc64ecma><Size>${p.data.length}</Size></Part>`)
          .join('');
        return respond(200, `<ListPartsResult><IsTruncated>false</IsTruncated>${xs}</ListPartsResult>`);
      }
      if (method === 'POST' && up) {
        const body = String(o.data);
        const nums = [...body.matchAll(/<PartNumber>(\d+)<\/PartNumber>\n<ETag>([^<]*)<\/ETag>/g)].map((m) => [Number(m[1]), m[2].replace(/&quot;/g, '"')] as const);
        const bufs: Buffer[] = [];
        for (const [n, etag] of nums) {
          const p = up.parts.get(n);
          if (!p || p.etag !== etag) return respond(400, xmlError('InvalidPart', 'One or more of the specified parts could not be found'));
          bufs.push(p.data);
        }
        const obj = Buffer.concat(bufs);
        this.objects.set(up.key, obj);
        this.uploads.delete(q.get('uploadId') as string);
        return respond(200, `<CompleteMultipartUploadResult><Key>${up.key}</Key><ETag>"X-${nums.length}"</ETag></CompleteMultipartUploadResult>`, { 'x-oss-hash-crc64ecma': crc64(obj) });
      }
      if (method === 'DELETE' && up) {
        this.uploads.delete(q.get('uploadId') as string);
        return respond(204);
      }
      if (method === 'HEAD') {
        const obj = this.objects.get(key);
        if (!obj) return respond(404, '');
        return respond(200, '', { 'content-length': String(obj.length), 'x-oss-hash-crc64ecma': crc64(obj) });
      }
      return respond(400, xmlError('NotImplemented', 'fake'));
    } finally {
      if (partNumber !== undefined) this.inFlightParts--;
    }
  }

  private vod(url: URL): [number, unknown] {
    const p = Object.fromEntries(url.searchParams.entries());
    this.vodCalls.push(p);
    const { Signature, ...rest } = p;
    if (computeRpcSignature('GET', rest, 'sts-secret') !== Signature) return [400, { Code: 'SignatureDoesNotMatch', Message: 'bad signature', RequestId: 'R' }];
    if (!p.Timestamp) return [400, { Code: 'MissingTimestamp', Message: 'Timestamp is mandatory', RequestId: 'R' }];
    if (p.Action === 'CreateUploadVideo') {
      this.videoKey = `sv/vid-1/${p.FileName}`;
      return [200, { RequestId: 'R', VideoId: 'vid-1', UploadAuth: this.auth('TOKEN-V'), UploadAddress: this.address(this.videoKey) }];
    }
    if (p.Action === 'RefreshUploadVideo') {
      if (p.VideoId !== 'vid-1') return [404, { Code: 'InvalidVideo.NotFound', Message: 'The video does not exist.', RequestId: 'R' }];
      return [200, { RequestId: 'R', VideoId: 'vid-1', UploadAuth: this.auth('TOKEN-R'), UploadAddress: this.address(this.videoKey) }];
    }
    if (p.Action === 'CreateUploadImage')
      return [200, { RequestId: 'R', ImageId: 'img-1', ImageURL: 'https://img.example/x.png', UploadAuth: this.auth('TOKEN-I'), UploadAddress: this.address('image/default/x.png') }];
    return [400, { Code: 'InvalidAction', Message: p.Action, RequestId: 'R' }];
  }

  private async uploadFile(o: UploadFileOptions): Promise<{ statusCode: number; header: Record<string, string>; data: string }> {
    const f = this.files.get(o.filePath);
    this.log.push({ method: 'POSTOBJECT', url: o.url, headers: { ...(o.header || {}) } });
    const fd = o.formData || {};
    if (!f) throw new MediaKitError('FILE_NOT_FOUND', 'uploadFile:fail file not found');
    for (const fault of this.faults) {
      const r = fault({ method: 'POSTOBJECT', url: new URL(o.url), token: fd['x-oss-security-token'] });
      if (r instanceof Error) throw r;
      if (r && typeof r === 'object' && r !== null) return { statusCode: r.status, header: r.header || {}, data: r.body || '' };
    }
    if (!fd.policy || !(fd.Signature || fd['x-oss-signature']) || !fd.key) return { statusCode: 400, header: {}, data: xmlError('InvalidArgument', 'form') };
    if (fd['x-oss-security-token'] && this.expiredTokens.has(fd['x-oss-security-token'])) {
      return { statusCode: 403, header: {}, data: xmlError('SecurityTokenExpired', 'expired') };
    }
    const half = Math.floor(f.data.length / 2);
    o.onProgress?.({ progress: 50, totalBytesSent: half, totalBytesExpectedToSend: f.data.length });
    o.onProgress?.({ progress: 100, totalBytesSent: f.data.length, totalBytesExpectedToSend: f.data.length });
    this.objects.set(fd.key, Buffer.from(f.data));
    return { statusCode: 200, header: this.postCrcHeader ? { 'x-oss-hash-crc64ecma': crc64(f.data) } : {}, data: '' };
  }
}

interface Recorded {
  events: Array<[string, ...unknown[]]>;
  progress: number[];
  done: Promise<void>;
}

/** Callbacks that record every event and resolve `done` at onUploadEnd. */
function recorder(extra: Partial<VODUploadOptions> = {}, auth?: (up: () => VODUpload, info: VODUploadInfo) => void) {
  const rec: Recorded = { events: [], progress: [], done: undefined as unknown as Promise<void> };
  let end!: () => void;
  rec.done = new Promise<void>((r) => (end = r));
  let self!: VODUpload;
  const opts: Partial<VODUploadOptions> = {
    addFileSuccess: (i) => rec.events.push(['addFileSuccess', i.url]),
    onUploadstarted: (i) => {
      rec.events.push(['onUploadstarted', i.url, i.videoId]);
      if (auth) auth(() => self, i);
    },
    onUploadSucceed: (i) => rec.events.push(['onUploadSucceed', i.url]),
    onUploadFailed: (i, code, message) => rec.events.push(['onUploadFailed', i.url, code, message]),
    onUploadProgress: (_i, _total, p) => rec.progress.push(p),
    onUploadTokenExpired: (i, e) => rec.events.push(['onUploadTokenExpired', i.url, e.code]),
    onUploadCanceled: (i) => rec.events.push(['onUploadCanceled', i.url]),
    onUploadEnd: () => {
      rec.events.push(['onUploadEnd']);
      end();
    },
    ...extra,
  };
  return { rec, opts, bind: (u: VODUpload) => (self = u) };
}

function names(rec: Recorded) {
  return rec.events.map((e) => e[0]);
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Polls cond; the 20 s deadline is only a guard against hanging (it was 500 polls ≈ 1 s: tight on a loaded machine). */
async function until(cond: () => boolean, what = 'condition') {
  const deadline = Date.now() + 20000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

describe('VODUpload surface', () => {
  test('default export and named export are the same class; official method names and state spellings exist', () => {
    expect(VODUploadDefault).toBe(VODUpload);
    const cloud = new FakeCloud();
    const up = new VODUpload({ userId: '1', adapter: cloud.adapter() });
    for (const m of ['addFile', 'startUpload', 'stopUpload', 'resumeFile', 'cancelFile', 'deleteFile', 'listFiles', 'cleanList', 'setUploadAuthAndAddress', 'setSTSToken', 'resumeUploadWithAuth', 'resumeUploadWithSTSToken', 'getCheckpoint']) {
      expect(typeof (up as unknown as Record<string, unknown>)[m]).toBe('function');
    }
    expect(up.addFile({ url: 'http://tmp/a.mp4' }, null, null, null, '{"Vod":{"Title":"t"}}')).toBe(true);
    const [info] = up.listFiles();
    expect(info).toMatchObject({ url: 'http://tmp/a.mp4', state: 'Ready', isImage: false, videoInfo: { Title: 't' }, loaded: 0, file: { name: 'a.mp4', path: 'http://tmp/a.mp4' } });
    expect(Buffer.from(info.userData as string, 'base64').toString()).toBe('{"Vod":{"Title":"t"}}');
  });

  test('bad options: empty userId → InvalidUserId (thrown); wrong types → InvalidOption; partSize < 100 KB and parallel > 10 are clamped with a warning', () => {
    const cloud = new FakeCloud();
    const adapter = cloud.adapter();
    for (const userId of ['', '  ', undefined, null]) {
      expect(() => new VODUpload({ userId, adapter } as unknown as VODUploadOptions)).toThrow(expect.objectContaining({ code: 'InvalidUserId' }));
    }
    expect(() => new VODUpload({ userId: 1, adapter, partSize: 'big' } as unknown as VODUploadOptions)).toThrow(expect.objectContaining({ code: 'InvalidOption' }));
    expect(() => new VODUpload({ userId: 1, adapter, signatureVersion: 'v3' } as unknown as VODUploadOptions)).toThrow(expect.objectContaining({ code: 'InvalidOption' }));
    expect(() => new VODUpload({ userId: 1, adapter, onUploadFailed: 'x' } as unknown as VODUploadOptions)).toThrow(expect.objectContaining({ code: 'InvalidOption' }));
    expect(() => new VODUpload({ userId: 1, adapter, vodEndpoint: 'vod.example' })).toThrow(expect.objectContaining({ code: 'InvalidOption' }));
    new VODUpload({ userId: 1, adapter, partSize: 1000, parallel: 50 });
    expect(cloud.warnings.join('\n')).toMatch(/partSize 1000 raised to 102400/);
    expect(cloud.warnings.join('\n')).toMatch(/parallel 50 capped at 10/);
  });

  test('bad inputs: missing url → InvalidFile, duplicate add → FileDuplication, bad paramData → InvalidParamData, invalid index → InvalidIndex', () => {
    const cloud = new FakeCloud();
    const up = new VODUpload({ userId: 1, adapter: cloud.adapter() });
    expect(up.addFile({} as never)).toBe(false);
    expect(up.lastError?.code).toBe(VODUploadErrorCode.InvalidFile);
    expect(up.addFile({ url: 'http://tmp/a.mp4' })).toBe(true);
    expect(up.addFile({ url: 'http://tmp/a.mp4' })).toBe(false);
    expect(up.lastError?.code).toBe('FileDuplication');
    expect(up.addFile({ url: 'http://tmp/b.mp4' }, null, null, null, '{not json')).toBe(false);
    expect(up.lastError?.code).toBe('InvalidParamData');
    expect(up.addFile({ url: 'http://tmp/b.mp4' }, null, null, null, '{"Vod":3}')).toBe(false);
    expect(up.lastError?.code).toBe('InvalidParamData');
    for (const i of [5, -1, 0.5, NaN]) {
      expect(up.cancelFile(i)).toBe(false);
      expect(up.lastError?.code).toBe('InvalidIndex');
      expect(up.resumeFile(i)).toBe(false);
      expect(up.deleteFile(i)).toBe(false);
    }
    expect(up.resumeFile(0)).toBe(false); // Ready: nothing to resume
    expect(up.lastError?.code).toBe('InvalidState');
    expect(up.listFiles()).toHaveLength(1);
  });

  test('set* outside onUploadstarted → InvalidState; resume* without an expired token → InvalidState', () => {
    const cloud = new FakeCloud();
    const up = new VODUpload({ userId: 1, adapter: cloud.adapter() });
    up.addFile({ url: 'http://tmp/a.mp4' });
    const info = up.listFiles()[0];
    expect(up.setUploadAuthAndAddress(info, cloud.auth(), cloud.address())).toBe(false);
    expect(up.lastError?.code).toBe('InvalidState');
    expect(up.setSTSToken(info, 'a', 'b', 'c')).toBe(false);
    expect(up.lastError?.code).toBe('InvalidState');
    expect(up.resumeUploadWithAuth(cloud.auth())).toBe(false);
    expect(up.lastError?.code).toBe('InvalidState');
    expect(up.resumeUploadWithSTSToken('a', 'b', 'c')).toBe(false);
    expect(up.lastError?.code).toBe('InvalidState');
  });
});

describe('VODUpload uploads (fake OSS)', () => {
  const authMode = (cloud: FakeCloud, key?: string) => (up: () => VODUpload, info: VODUploadInfo) => {
    setTimeout(() => up().setUploadAuthAndAddress(info, cloud.auth(), cloud.address(key || `sv/${info.file.name}`), 'vid-1'), 1);
  };

  test('small file → one PostObject; progress 0..1, monotonic, exactly 1 only at the end; onUploadSucceed then onUploadEnd', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/small.mp4', 99 * 1024);
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, ...opts }));
    up.addFile({ url: 'http://tmp/small.mp4' });
    expect(up.startUpload()).toBe(true);
    expect(up.startUpload()).toBe(false);
    expect(up.lastError?.code).toBe('UploadAlreadyStarted');
    await rec.done;
    expect(names(rec)).toEqual(['addFileSuccess', 'onUploadstarted', 'onUploadSucceed', 'onUploadEnd']);
    expect(cloud.objects.get('sv/small.mp4')?.equals(data)).toBe(true);
    expect(cloud.log.filter((l) => l.method === 'POSTOBJECT')).toHaveLength(1);
    expect(rec.progress[rec.progress.length - 1]).toBe(1);
    expect(rec.progress.filter((p) => p === 1)).toHaveLength(1);
    for (let i = 1; i < rec.progress.length; i++) expect(rec.progress[i]).toBeGreaterThanOrEqual(rec.progress[i - 1]);
    const info = up.listFiles()[0];
    expect(info).toMatchObject({ state: 'Success', loaded: 1, loadedBytes: data.length, videoId: 'vid-1', crc64: crc64(data), fileSize: data.length });
  });

  test('small file CRC: from the PostObject response header without a HEAD; header missing → HEAD fallback; a HEAD answered 403 warns "CRC unverified" and the upload succeeds', async () => {
    const cloud = new FakeCloud();
    const a = cloud.addFile('http://tmp/a.mp4', 5000, 1);
    const b = cloud.addFile('http://tmp/b.mp4', 6000, 2);
    const c = cloud.addFile('http://tmp/c.mp4', 7000, 3);
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), retryDuration: 0, ...opts }));
    cloud.faults.push(({ method, url }) => (method === 'HEAD' && url.pathname.endsWith('/c.mp4') ? { status: 403, body: xmlError('AccessDenied', 'no HEAD for you') } : undefined));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.addFile({ url: 'http://tmp/b.mp4' });
    up.addFile({ url: 'http://tmp/c.mp4' });
    cloud.postCrcHeader = true;
    up.options.onUploadSucceed = (i) => {
      rec.events.push(['onUploadSucceed', i.url]);
      cloud.postCrcHeader = false; // b and c: a host without the header
    };
    up.startUpload();
    await rec.done;
    expect(up.listFiles().map((i) => [i.state, i.crc64])).toEqual([
      ['Success', crc64(a)],
      ['Success', crc64(b)],
      ['Success', crc64(c)],
    ]);
    const heads = cloud.log.filter((l) => l.method === 'HEAD').map((l) => [new URL(l.url).pathname.split('/').pop(), l.status]);
    expect(heads).toEqual([
      ['b.mp4', 200],
      ['c.mp4', 403],
    ]);
    expect(cloud.warnings.filter((w) => /CRC unverified/.test(w))).toEqual([expect.stringContaining('c.mp4')]);
    expect(cloud.log.filter((l) => l.method === 'POSTOBJECT')).toHaveLength(3);
  });

  test('multipart: never more than `parallel` parts in flight or part buffers in memory; bytes identical; CRC verified', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/big.mp4', PS * 9 + 777);
    let release!: () => void;
    cloud.partGate = new Promise<void>((r) => (release = r));
    const auth = authMode(cloud);
    const { rec, opts, bind } = recorder({}, (u, info) => {
      // count part buffers only: the fingerprint's two 64 KiB edge reads before onUploadstarted are already dropped
      cloud.liveBuffers = cloud.peakLiveBuffers = 0;
      auth(u, info);
    });
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 3, ...opts }));
    up.addFile({ url: 'http://tmp/big.mp4' });
    up.startUpload();
    await until(() => cloud.inFlightParts === 3, '3 parts in flight');
    await tick(10);
    expect(cloud.inFlightParts).toBe(3);
    cloud.partGate = undefined;
    release();
    await rec.done;
    expect(names(rec)).toContain('onUploadSucceed');
    expect(cloud.peakInFlightParts).toBe(3);
    expect(cloud.peakLiveBuffers).toBeLessThanOrEqual(3);
    expect(cloud.objects.get('sv/big.mp4')?.equals(data)).toBe(true);
    expect(cloud.partPuts()).toHaveLength(10);
    expect(up.listFiles()[0].crc64).toBe(crc64(data));
    // explicit Content-Type, x-oss-date and the security token on every OSS request
    for (const l of cloud.log.filter((x) => x.method !== 'POSTOBJECT')) {
      expect(l.headers['content-type']).toBeTruthy();
      expect(l.headers['x-oss-date']).toBeTruthy();
      expect(l.headers['x-oss-security-token']).toBe('TOKEN-1');
    }
    expect(cloud.storageMap.has(CHECKPOINT_STORAGE_KEY)).toBe(false); // removed on success
  });

  test('retries: network errors and 500s on a part are retried retryDuration apart; the object is byte-exact', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/r.mp4', PS * 3 + 5);
    let n = 0;
    cloud.faults.push(({ partNumber }) => {
      if (partNumber !== 2 || n >= 3) return undefined;
      n++;
      return n === 1 ? new MediaKitError('NETWORK_ERROR', 'request:fail socket hang up') : { status: 500, body: xmlError('InternalError', 'oops') };
    });
    const delays: number[] = [];
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const adapter = cloud.adapter({ setTimeout: (fn, ms) => (ms > 0 && delays.push(ms), setTimeout(fn, 0)) });
    const up = bind(new VODUpload({ userId: 1, adapter, partSize: PS, retryCount: 3, retryDuration: 2, ...opts }));
    up.addFile({ url: 'http://tmp/r.mp4' });
    up.startUpload();
    await rec.done;
    expect(names(rec)).toContain('onUploadSucceed');
    expect(delays).toEqual([2000, 2000, 2000]);
    expect(cloud.partPuts(2)).toHaveLength(4);
    expect(cloud.objects.get('sv/r.mp4')?.equals(data)).toBe(true);
  });

  test('retries exhausted → onUploadFailed(NetworkError) and onUploadEnd even though the last file failed', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/a.mp4', PS * 2 + 1);
    cloud.faults.push(({ partNumber }) => (partNumber === 1 ? new MediaKitError('NETWORK_ERROR', 'request:fail') : undefined));
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, retryCount: 2, retryDuration: 0, ...opts }));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.startUpload();
    await rec.done;
    expect(rec.events.find((e) => e[0] === 'onUploadFailed')?.slice(2, 3)).toEqual(['NetworkError']);
    expect(names(rec).slice(-2)).toEqual(['onUploadFailed', 'onUploadEnd']);
    expect(cloud.partPuts(1)).toHaveLength(3);
    expect(up.listFiles()[0].state).toBe('Failure');
    expect(up.lastError?.code).toBe('NetworkError');
  });

  test('a fatal OSS error (403 AccessDenied) is reported with the OSS code at once, then the next file uploads', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/a.mp4', PS * 2);
    cloud.addFile('http://tmp/b.mp4', 10);
    cloud.faults.push(({ method, url }) => (method === 'POST' && url.searchParams.has('uploads') ? { status: 403, body: xmlError('AccessDenied', 'You have no right to access this object.') } : undefined));
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, retryDuration: 0, ...opts }));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.addFile({ url: 'http://tmp/b.mp4' });
    up.startUpload();
    await rec.done;
    const failed = rec.events.find((e) => e[0] === 'onUploadFailed') as unknown[];
    expect(failed[2]).toBe('AccessDenied');
    expect(failed[3]).toMatch(/no right/);
    expect(cloud.log.filter((l) => l.url.includes('?uploads'))).toHaveLength(1);
    expect(up.listFiles().map((i) => i.state)).toEqual(['Failure', 'Success']);
  });

  test('clock skew: RequestTimeTooSkewed → the clock is corrected from ServerTime and the request retried', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/a.mp4', PS * 2);
    cloud.serverSkewMs = 3 * 3600 * 1000; // the device clock is 3 h behind
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, retryCount: 0, ...opts }));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.startUpload();
    await rec.done;
    expect(names(rec)).toContain('onUploadSucceed');
    expect(cloud.log.filter((l) => l.status === 403)).toHaveLength(1);
    expect(cloud.objects.get('sv/a.mp4')?.equals(data)).toBe(true);
  });

  test('part CRC-64 mismatch → the part is re-sent; a persistent mismatch fails with Crc64Mismatch', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/a.mp4', PS * 2 + 3);
    cloud.badCrcParts.set(2, 1);
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, retryDuration: 0, ...opts }));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.startUpload();
    await rec.done;
    expect(cloud.partPuts(2)).toHaveLength(2);
    expect(cloud.objects.get('sv/a.mp4')?.equals(data)).toBe(true);

    const c2 = new FakeCloud();
    c2.addFile('http://tmp/a.mp4', PS * 2 + 3);
    c2.badCrcParts.set(1, 99);
    const r2 = recorder({}, authMode(c2));
    const up2 = r2.bind(new VODUpload({ userId: 1, adapter: c2.adapter(), partSize: PS, retryCount: 1, retryDuration: 0, ...r2.opts }));
    up2.addFile({ url: 'http://tmp/a.mp4' });
    up2.startUpload();
    await r2.rec.done;
    expect((r2.rec.events.find((e) => e[0] === 'onUploadFailed') as unknown[])[2]).toBe('Crc64Mismatch');
  });

  test('token expiry mid-upload: in-flight parts pause, onUploadTokenExpired fires ONCE, resumeUploadWithAuth continues the same UploadId keeping finished parts', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/t.mp4', PS * 8);
    let expired = false;
    const { rec, opts, bind } = recorder(
      {
        onUploadProgress: () => {
          if (!expired && cloud.partPuts().filter((l) => l.status === 200).length >= 3) {
            expired = true;
            cloud.expiredTokens.add('TOKEN-1');
          }
        },
        onUploadTokenExpired: (i, e) => {
          rec.events.push(['onUploadTokenExpired', i.url, e.code]);
          setTimeout(() => up.resumeUploadWithAuth(cloud.auth('TOKEN-2')), 5);
        },
      },
      authMode(cloud),
    );
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 3, retryDuration: 0, ...opts }));
    up.addFile({ url: 'http://tmp/t.mp4' });
    up.startUpload();
    await rec.done;
    expect(names(rec).filter((n) => n === 'onUploadTokenExpired')).toHaveLength(1);
    expect(rec.events.find((e) => e[0] === 'onUploadTokenExpired')?.[2]).toBe('SecurityTokenExpired');
    expect(names(rec)).toContain('onUploadSucceed');
    expect(cloud.log.filter((l) => l.url.includes('?uploads'))).toHaveLength(1); // same UploadId
    // every part that succeeded before the expiry was sent exactly once
    const okBefore = new Set(cloud.log.filter((l) => l.method === 'PUT' && l.status === 200 && l.headers['x-oss-security-token'] === 'TOKEN-1').map((l) => l.partNumber));
    expect(okBefore.size).toBeGreaterThanOrEqual(3);
    for (const n of okBefore) expect(cloud.partPuts(n)).toHaveLength(1);
    expect(cloud.objects.get('sv/t.mp4')?.equals(data)).toBe(true);
  });

  test('token expiry with no onUploadTokenExpired / getUploadAuth → TokenExpired failure (no silent stall)', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/t.mp4', PS * 2);
    cloud.expiredTokens.add('TOKEN-1');
    const { rec, opts, bind } = recorder({ onUploadTokenExpired: undefined }, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, ...opts }));
    up.addFile({ url: 'http://tmp/t.mp4' });
    up.startUpload();
    await rec.done;
    expect((rec.events.find((e) => e[0] === 'onUploadFailed') as unknown[])[2]).toBe('TokenExpired');
  });

  test('getUploadAuth option: used at start and again on expiry (with uploadInfo.videoId); a rejection → GetUploadAuthFailed', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/g.mp4', PS * 4);
    const calls: Array<string | undefined> = [];
    let expireOnce = true;
    const { rec, opts, bind } = recorder({
      onUploadProgress: () => {
        if (expireOnce && cloud.partPuts().some((l) => l.status === 200)) {
          expireOnce = false;
          cloud.expiredTokens.add('TOKEN-1');
        }
      },
      getUploadAuth: async (info) => {
        calls.push(info.videoId);
        return info.videoId
          ? { UploadAuth: cloud.auth('TOKEN-2'), UploadAddress: cloud.address('sv/g.mp4'), VideoId: info.videoId }
          : { uploadAuth: cloud.auth('TOKEN-1'), uploadAddress: cloud.address('sv/g.mp4'), videoId: 'vid-g' };
      },
    });
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 1, ...opts }));
    up.addFile({ url: 'http://tmp/g.mp4' });
    up.startUpload();
    await rec.done;
    expect(calls).toEqual([undefined, 'vid-g']);
    expect(names(rec)).toEqual(['addFileSuccess', 'onUploadstarted', 'onUploadTokenExpired', 'onUploadSucceed', 'onUploadEnd']);
    expect(cloud.objects.get('sv/g.mp4')?.equals(data)).toBe(true);

    const c2 = new FakeCloud();
    c2.addFile('http://tmp/g.mp4', 10);
    const r2 = recorder({ getUploadAuth: async () => Promise.reject(new MediaKitError('HTTP_500', 'AppServer down')) });
    const up2 = r2.bind(new VODUpload({ userId: 1, adapter: c2.adapter(), ...r2.opts }));
    up2.addFile({ url: 'http://tmp/g.mp4' });
    up2.startUpload();
    await r2.rec.done;
    const f = r2.rec.events.find((e) => e[0] === 'onUploadFailed') as string[];
    expect(f[2]).toBe('GetUploadAuthFailed');
    expect(f[3]).toMatch(/AppServer down/);

    const c3 = new FakeCloud();
    c3.addFile('http://tmp/g.mp4', 10);
    const r3 = recorder({ getUploadAuth: async () => ({ nothing: true }) as never });
    const up3 = r3.bind(new VODUpload({ userId: 1, adapter: c3.adapter(), ...r3.opts }));
    up3.addFile({ url: 'http://tmp/g.mp4' });
    up3.startUpload();
    await r3.rec.done;
    expect((r3.rec.events.find((e) => e[0] === 'onUploadFailed') as string[])[2]).toBe('GetUploadAuthFailed');
  });

  test('malformed UploadAuth / UploadAddress, missing file → onUploadFailed with InvalidUploadAuth / InvalidUploadAddress / FileNotFound', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/a.mp4', 10);
    cloud.addFile('http://tmp/b.mp4', 10);
    const results: boolean[] = [];
    const { rec, opts, bind } = recorder({}, (up, info) => {
      if (info.url.endsWith('a.mp4')) results.push(up().setUploadAuthAndAddress(info, 'not base64 at all!', cloud.address()));
      if (info.url.endsWith('b.mp4')) results.push(up().setUploadAuthAndAddress(info, cloud.auth(), Buffer.from('{"Endpoint":"x"}').toString('base64')));
    });
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), ...opts }));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.addFile({ url: 'http://tmp/b.mp4' });
    up.addFile({ url: 'http://tmp/missing.mp4' });
    up.startUpload();
    await rec.done;
    expect(results).toEqual([false, false]);
    expect(rec.events.filter((e) => e[0] === 'onUploadFailed').map((e) => e[2])).toEqual(['InvalidUploadAuth', 'InvalidUploadAddress', 'FileNotFound']);
    expect(names(rec).slice(-1)).toEqual(['onUploadEnd']);
  });

  test('an exception thrown in a user callback is logged through adapter.warn, and the upload continues', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/a.mp4', 10);
    const { rec, opts, bind } = recorder({}, (up, info) => {
      up().setUploadAuthAndAddress(info, cloud.auth(), cloud.address());
      throw new Error('boom in onUploadstarted');
    });
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), ...opts, onUploadProgress: () => Promise.reject(new Error('async boom')) as never }));
    up.addFile({ url: 'http://tmp/a.mp4' });
    up.startUpload();
    await rec.done;
    await until(() => /onUploadProgress callback threw: async boom/.test(cloud.warnings.join('\n')), 'the async callback failure to be logged');
    expect(names(rec)).toContain('onUploadSucceed');
    expect(cloud.warnings.join('\n')).toMatch(/onUploadstarted callback threw: boom in onUploadstarted/);
    expect(cloud.warnings.join('\n')).toMatch(/onUploadProgress callback threw: async boom/);
  });

  test('stop / start: stop aborts the parts in flight (state Stoped); start asks for auth again (videoId set) and keeps finished parts', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/s.mp4', PS * 6);
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 2, ...opts }));
    up.addFile({ url: 'http://tmp/s.mp4' });
    cloud.faults.push(({ partNumber }) => (partNumber !== undefined && partNumber > 2 && up.listFiles()[0].state === 'Uploading' && !stopped ? 'hang' : undefined));
    let stopped = false;
    up.startUpload();
    await until(() => cloud.partPuts().filter((l) => l.status === 200).length === 2 && cloud.inFlightParts === 2, 'two parts done, two hanging');
    up.stopUpload();
    stopped = true;
    expect(up.listFiles()[0].state).toBe('Stoped');
    await until(() => cloud.inFlightParts === 0, 'in-flight parts aborted');
    const before = cloud.partPuts().length;
    await tick(10);
    expect(cloud.partPuts().length).toBe(before); // really stopped
    expect(up.startUpload()).toBe(true);
    await rec.done;
    expect(rec.events.filter((e) => e[0] === 'onUploadstarted').map((e) => e[2])).toEqual([undefined, 'vid-1']);
    expect(cloud.partPuts(1)).toHaveLength(1);
    expect(cloud.partPuts(2)).toHaveLength(1);
    expect(cloud.log.filter((l) => l.url.includes('?uploads'))).toHaveLength(1);
    expect(cloud.objects.get('sv/s.mp4')?.equals(data)).toBe(true);
  });

  test('cancel: aborts in-flight parts, sends AbortMultipartUpload, fires onUploadCanceled, the next file uploads; resumeFile re-queues it', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/c.mp4', PS * 4);
    cloud.addFile('http://tmp/d.mp4', 10);
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 2, ...opts }));
    cloud.faults.push(({ partNumber }) => (partNumber !== undefined && up.listFiles()[0].state === 'Uploading' ? 'hang' : undefined));
    up.addFile({ url: 'http://tmp/c.mp4' });
    up.addFile({ url: 'http://tmp/d.mp4' });
    up.startUpload();
    await until(() => cloud.inFlightParts === 2, 'parts in flight');
    expect(up.cancelFile(0)).toBe(true);
    await rec.done;
    await until(() => cloud.log.some((l) => l.method === 'DELETE'), 'AbortMultipartUpload');
    expect(cloud.inFlightParts).toBe(0);
    expect(cloud.uploads.size).toBe(0);
    expect(names(rec)).toEqual(['addFileSuccess', 'addFileSuccess', 'onUploadstarted', 'onUploadCanceled', 'onUploadstarted', 'onUploadSucceed', 'onUploadEnd']);
    expect(up.listFiles().map((i) => i.state)).toEqual(['Canceled', 'Success']);
    expect(up.cancelFile(0)).toBe(false);
    expect(up.lastError?.code).toBe('InvalidState');
    expect(up.resumeFile(0)).toBe(true);
    expect(up.listFiles()[0].state).toBe('Ready');
    expect(up.deleteFile(1)).toBe(true);
    expect(up.listFiles()).toHaveLength(1);
    up.cleanList();
    expect(up.listFiles()).toHaveLength(0);
  });

  test('leftover uploads: a new address for the file (e.g. a renewed image token) aborts the old UploadId; cleanList aborts unfinished files\' uploads and forgets their checkpoints; a failed abort is logged', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/n.mp4', PS * 6);
    let key = 'sv/first.mp4';
    const { rec, opts, bind } = recorder({}, (u, info) => setTimeout(() => u().setUploadAuthAndAddress(info, cloud.auth(), cloud.address(key)), 1));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 2, ...opts }));
    let hold = true;
    cloud.faults.push(({ partNumber }) => (partNumber !== undefined && partNumber > 2 && hold ? 'hang' : undefined));
    up.addFile({ url: 'http://tmp/n.mp4' });
    up.startUpload();
    await until(() => cloud.partPuts().filter((l) => l.status === 200).length === 2 && cloud.inFlightParts === 2, 'two parts done');
    up.stopUpload();
    expect([...cloud.uploads.keys()]).toEqual(['UP1']);
    key = 'sv/second.mp4'; // the next credentials come with another address
    hold = false;
    up.startUpload();
    await rec.done;
    expect(names(rec)).toContain('onUploadSucceed');
    expect(cloud.objects.get('sv/second.mp4')?.equals(data)).toBe(true);
    await until(() => cloud.log.some((l) => l.method === 'DELETE'), 'AbortMultipartUpload of UP1');
    expect(cloud.log.filter((l) => l.method === 'DELETE').map((l) => [new URL(l.url).pathname, new URL(l.url).searchParams.get('uploadId'), l.status])).toEqual([
      [`/${BUCKET}/sv/first.mp4`, 'UP1', 204],
    ]);
    expect(cloud.uploads.size).toBe(0); // nothing left behind

    // cleanList: the stopped file's upload is aborted, the checkpoint forgotten; a failing abort only warns
    const c2 = new FakeCloud();
    c2.addFile('http://tmp/p.mp4', PS * 4);
    c2.addFile('http://tmp/q.mp4', PS * 4);
    const r2 = recorder({}, authMode(c2));
    const up2 = r2.bind(new VODUpload({ userId: 1, adapter: c2.adapter(), partSize: PS, parallel: 1, ...r2.opts }));
    c2.faults.push(({ partNumber, url }) => (partNumber === 2 && url.pathname.endsWith('/p.mp4') ? 'hang' : undefined));
    up2.addFile({ url: 'http://tmp/p.mp4' });
    up2.addFile({ url: 'http://tmp/q.mp4' });
    up2.startUpload();
    await until(() => c2.inFlightParts === 1 && c2.partPuts(1).some((l) => l.status === 200), 'p.mp4 part 1 done, part 2 hanging');
    expect(c2.storageMap.has(CHECKPOINT_STORAGE_KEY)).toBe(true);
    up2.cleanList();
    expect(up2.listFiles()).toHaveLength(0);
    await until(() => c2.uploads.size === 0, 'p.mp4 upload aborted');
    expect(c2.log.filter((l) => l.method === 'DELETE')).toHaveLength(1);
    expect(c2.storageMap.has(CHECKPOINT_STORAGE_KEY)).toBe(false);

    const c3 = new FakeCloud();
    c3.addFile('http://tmp/r.mp4', PS * 4);
    const r3 = recorder({}, authMode(c3));
    const up3 = r3.bind(new VODUpload({ userId: 1, adapter: c3.adapter(), partSize: PS, parallel: 1, ...r3.opts }));
    c3.faults.push(({ partNumber, method }) => (partNumber === 2 ? 'hang' : method === 'DELETE' ? { status: 500, body: xmlError('InternalError', 'try later') } : undefined));
    up3.addFile({ url: 'http://tmp/r.mp4' });
    up3.startUpload();
    await until(() => c3.inFlightParts === 1, 'part 2 hanging');
    up3.cleanList();
    await until(() => c3.warnings.some((w) => /AbortMultipartUpload failed/.test(w)), 'the failed abort logged');
    expect(c3.warnings.join('\n')).toMatch(/AbortMultipartUpload failed: .*try later/);
  });

  test('resume after restart: a NEW VODUpload on the same storage finds the checkpoint (videoId), ListParts is the truth, finished parts are not re-sent', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/x.mp4', PS * 6 + 11);
    const first = recorder({}, authMode(cloud));
    const up1 = first.bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 2, ...first.opts }));
    cloud.faults.push(({ partNumber }) => (partNumber !== undefined && partNumber > 3 && !restarted ? 'hang' : undefined));
    let restarted = false;
    up1.addFile({ url: 'http://tmp/x.mp4' });
    up1.startUpload();
    await until(() => cloud.partPuts().filter((l) => l.status === 200).length === 3 && cloud.inFlightParts === 2, '3 parts done');
    const stored = cloud.storageMap.get(CHECKPOINT_STORAGE_KEY) as Record<string, { uploadId: string; videoId: string }>;
    expect(Object.values(stored)).toEqual([expect.objectContaining({ uploadId: 'UP1', videoId: 'vid-1', size: data.length, partSize: PS })]);
    expect(JSON.stringify(stored)).not.toContain('TOKEN'); // no secrets in storage
    up1.stopUpload(); // the "app" dies; nothing is aborted on the server
    restarted = true;
    await until(() => cloud.inFlightParts === 0);

    const second = recorder({}, authMode(cloud));
    const up2 = second.bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 2, ...second.opts }));
    up2.addFile({ url: 'http://tmp/x.mp4' });
    expect(up2.getCheckpoint({ url: 'http://tmp/x.mp4' })).toBeNull(); // not stat'ed yet
    up2.startUpload();
    await second.rec.done;
    expect(second.rec.events.find((e) => e[0] === 'onUploadstarted')?.[2]).toBe('vid-1');
    expect(cloud.log.filter((l) => l.url.includes('?uploads'))).toHaveLength(1);
    expect(cloud.log.filter((l) => l.method === 'GET' && l.url.includes('uploadId=UP1'))).toHaveLength(1);
    for (const n of [1, 2, 3]) expect(cloud.partPuts(n)).toHaveLength(1);
    expect(cloud.objects.get('sv/x.mp4')?.equals(data)).toBe(true);
    expect(cloud.storageMap.has(CHECKPOINT_STORAGE_KEY)).toBe(false);
  });

  test('resume with a checkpoint whose upload is gone (NoSuchUpload) starts a new multipart upload', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/x.mp4', PS * 2 + 1);
    const first = recorder({}, authMode(cloud));
    const up1 = first.bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, ...first.opts }));
    cloud.faults.push(({ partNumber }) => (partNumber === 3 && cloud.uploads.has('UP1') ? 'hang' : undefined));
    up1.addFile({ url: 'http://tmp/x.mp4' });
    up1.startUpload();
    await until(() => cloud.inFlightParts === 1 && cloud.partPuts().filter((l) => l.status === 200).length === 2);
    up1.stopUpload();
    cloud.uploads.delete('UP1'); // e.g. a lifecycle rule removed it
    const second = recorder({}, authMode(cloud));
    const up2 = second.bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, ...second.opts }));
    up2.addFile({ url: 'http://tmp/x.mp4' });
    up2.startUpload();
    await second.rec.done;
    expect(names(second.rec)).toContain('onUploadSucceed');
    expect(cloud.log.filter((l) => l.url.includes('?uploads'))).toHaveLength(2);
    expect(cloud.objects.get('sv/x.mp4')?.equals(data)).toBe(true);
  });

  test('STS mode, no Title in paramData (the fallback): the VOD Title is never the temp path — phone (wxfile://tmp_…) and DevTools (http://tmp/…) paths; FileName keeps the extension', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('wxfile://tmp_8f7e6d5c.mp4', 1000);
    cloud.addFile('http://tmp/wx4a3b2c1d.png', 1000);
    const { rec, opts, bind } = recorder({}, (up, info) => up().setSTSToken(info, 'STS.app', 'sts-secret', 'APP-TOKEN'));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), ...opts }));
    up.addFile({ url: 'wxfile://tmp_8f7e6d5c.mp4' }, null, null, null, JSON.stringify({ Vod: { CateId: 7 } }));
    up.addFile({ url: 'http://tmp/wx4a3b2c1d.png' });
    up.startUpload();
    await rec.done;
    expect(names(rec).filter((n) => n === 'onUploadSucceed')).toHaveLength(2);
    const [video, image] = cloud.vodCalls;
    expect(video).toMatchObject({ Action: 'CreateUploadVideo', CateId: '7', FileName: 'tmp_8f7e6d5c.mp4' });
    expect(image).toMatchObject({ Action: 'CreateUploadImage', ImageExt: 'png' });
    expect(video.Title).toMatch(/^视频 \d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(image.Title).toMatch(/^图片 \d{4}-\d\d-\d\d \d\d:\d\d$/);
    for (const t of [video.Title, image.Title]) {
      for (const bad of ['tmp', 'wxfile', 'http', '8f7e6d5c', '4a3b2c1d']) expect(t).not.toContain(bad);
    }
    // a name the app gives is the fallback title (without its extension)
    const c2 = new FakeCloud();
    c2.addFile('wxfile://tmp_1.mp4', 1000);
    const r2 = recorder({}, (u, info) => u().setSTSToken(info, 'STS.app', 'sts-secret', 'APP-TOKEN'));
    const up2 = r2.bind(new VODUpload({ userId: 1, adapter: c2.adapter(), ...r2.opts }));
    up2.addFile({ url: 'wxfile://tmp_1.mp4', name: '毕业典礼.mp4' });
    up2.startUpload();
    await r2.rec.done;
    expect(c2.vodCalls[0]).toMatchObject({ Title: '毕业典礼', FileName: '毕业典礼.mp4' });
  });

  test('STS mode: CreateUploadVideo signed with Timestamp, Title/CateId/Tags/UserData from paramData', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/wx_8f7e6d.mp4', PS + 1);
    const { rec, opts, bind } = recorder({}, (up, info) => up().setSTSToken(info, 'STS.app', 'sts-secret', 'APP-TOKEN'));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, ...opts }));
    up.addFile({ url: 'http://tmp/wx_8f7e6d.mp4' }, null, null, null, JSON.stringify({ Vod: { Title: '我的视频', CateId: 7, Tags: ['a', 'b'], UserData: { Extend: { x: 1 } } } }));
    up.startUpload();
    await rec.done;
    expect(names(rec)).toContain('onUploadSucceed');
    const call = cloud.vodCalls[0];
    expect(call).toMatchObject({ Action: 'CreateUploadVideo', Title: '我的视频', CateId: '7', Tags: 'a,b', UserData: '{"Extend":{"x":1}}', FileName: 'wx_8f7e6d.mp4', SecurityToken: 'APP-TOKEN', AccessKeyId: 'STS.app', Version: '2017-03-21' });
    expect(call.Timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(call.Title).not.toContain('tmp');
    expect(up.listFiles()[0].videoId).toBe('vid-1');
    expect(cloud.objects.get('sv/vid-1/wx_8f7e6d.mp4')?.equals(data)).toBe(true);
    // x-oss-notification carries base64(paramData) because paramData has UserData
    const init = cloud.log.find((l) => l.url.includes('?uploads'));
    expect(Buffer.from(init?.headers['x-oss-notification'] as string, 'base64').toString()).toContain('"UserData"');
  });

  test('STS mode images: CreateUploadImage, ImageId / ImageURL kept on uploadInfo; bad STS input → InvalidSTSToken', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/p.png', 2000);
    cloud.addFile('http://tmp/q.png', 2000);
    const { rec, opts, bind } = recorder({}, (up, info) => up().setSTSToken(info, 'STS.app', info.url.endsWith('q.png') ? '' : 'sts-secret', 'APP-TOKEN'));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), ...opts }));
    up.addFile({ url: 'http://tmp/p.png' }, null, null, null, '{"Vod":{"Title":"pic"}}');
    up.addFile({ url: 'http://tmp/q.png' });
    up.startUpload();
    await rec.done;
    expect(cloud.vodCalls[0]).toMatchObject({ Action: 'CreateUploadImage', ImageType: 'default', ImageExt: 'png', Title: 'pic' });
    expect(up.listFiles()[0]).toMatchObject({ state: 'Success', isImage: true, imageId: 'img-1', imageURL: 'https://img.example/x.png' });
    expect(cloud.objects.has('image/default/x.png')).toBe(true);
    expect((rec.events.find((e) => e[0] === 'onUploadFailed') as string[])[2]).toBe('InvalidSTSToken');
  });

  test('STS mode token expiry: resumeUploadWithSTSToken → RefreshUploadVideo with the VideoId, same UploadId continues', async () => {
    const cloud = new FakeCloud();
    const data = cloud.addFile('http://tmp/e.mp4', PS * 5);
    let armed = true;
    const { rec, opts, bind } = recorder(
      {
        onUploadProgress: () => {
          if (armed && cloud.partPuts().some((l) => l.status === 200)) {
            armed = false;
            cloud.expiredTokens.add('TOKEN-V');
          }
        },
        onUploadTokenExpired: () => {
          rec.events.push(['onUploadTokenExpired']);
          setTimeout(() => up.resumeUploadWithSTSToken('STS.app', 'sts-secret', 'APP-TOKEN-2', '2099-01-01T00:00:00Z'), 1);
        },
      },
      (u, info) => u().setSTSToken(info, 'STS.app', 'sts-secret', 'APP-TOKEN'),
    );
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), partSize: PS, parallel: 1, ...opts }));
    up.addFile({ url: 'http://tmp/e.mp4' });
    up.startUpload();
    await rec.done;
    expect(cloud.vodCalls.map((c) => c.Action)).toEqual(['CreateUploadVideo', 'RefreshUploadVideo']);
    expect(cloud.vodCalls[1]).toMatchObject({ VideoId: 'vid-1', SecurityToken: 'APP-TOKEN-2' });
    expect(cloud.log.filter((l) => l.url.includes('?uploads'))).toHaveLength(1);
    expect(cloud.objects.get('sv/vid-1/e.mp4')?.equals(data)).toBe(true);
  });

  test('zero-byte file uploads (PostObject) and reports progress exactly 1 at the end', async () => {
    const cloud = new FakeCloud();
    cloud.addFile('http://tmp/z.mp4', 0);
    const { rec, opts, bind } = recorder({}, authMode(cloud));
    const up = bind(new VODUpload({ userId: 1, adapter: cloud.adapter(), ...opts }));
    up.addFile({ url: 'http://tmp/z.mp4' });
    up.startUpload();
    await rec.done;
    expect(cloud.objects.get('sv/z.mp4')?.length).toBe(0);
    expect(rec.progress.filter((p) => p !== 0)).toEqual([1]);
  });
});
