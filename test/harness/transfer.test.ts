/**
 * wx.uploadFile and wx.downloadFile in the Node wx runtime against a real local HTTP server (multipart parsed
 * with busboy): part order, streamed body with real progress, any status → success, abort, temp / user paths.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import Busboy from '@fastify/busboy';
import { createWxRuntime, WxRuntime } from './wx-runtime';
import { startTestServer, TestServer, wxCall } from './test-server';

interface Part {
  kind: 'field' | 'file';
  name: string;
  value?: string;
  filename?: string;
  mime?: string;
  sha1?: string;
  size?: number;
}

let server: TestServer;
let rt: WxRuntime;
const parsed: Part[][] = [];
let releaseSlow: (() => void) | undefined;

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

beforeAll(async () => {
  server = await startTestServer((req, res) => {
    const u = new URL(req.url || '/', 'http://x');
    if (u.pathname === '/upload' || u.pathname === '/upload-500') {
      const parts: Part[] = [];
      const bb = Busboy({ headers: req.headers as { 'content-type': string } });
      bb.on('field', (name: string, value: string) => parts.push({ kind: 'field', name, value }));
      bb.on('file', (name: string, stream: NodeJS.ReadableStream, filename: string, _enc: string, mime: string) => {
        const h = createHash('sha1');
        let size = 0;
        stream.on('data', (c: Buffer) => {
          h.update(c);
          size += c.length;
        });
        stream.on('end', () => parts.push({ kind: 'file', name, filename, mime, sha1: h.digest('hex'), size }));
      });
      bb.on('finish', () => {
        parsed.push(parts);
        const code = u.pathname === '/upload-500' ? 500 : 200;
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ ok: code === 200, parts: parts.length }));
      });
      req.pipe(bb);
      return;
    }
    if (u.pathname === '/upload-hold') return; // reads (the test server drains bodies) but never answers
    const m = u.pathname.match(/^\/file\/(\d+)(\.\w+)?$/);
    if (m) {
      const body = pattern(parseInt(m[1], 10));
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(body.length) });
      return res.end(body);
    }
    if (u.pathname === '/missing.mp4') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      return res.end('{"error":"NoSuchKey"}');
    }
    if (u.pathname === '/slow') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(1 << 20) });
      res.write(pattern(64 * 1024));
      releaseSlow = () => res.end(pattern((1 << 20) - 64 * 1024));
      return;
    }
    res.writeHead(404);
    res.end();
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  rt = createWxRuntime();
});
afterEach(async () => {
  await rt.close();
});

describe('wx.uploadFile', () => {
  test('multipart/form-data: formData fields before the file part, part name = name, filename from the path, exact bytes', async () => {
    const size = 700 * 1024;
    const filePath = rt.files.writeTempSized('clip.mp4', size, 7);
    const expectedSha = createHash('sha1').update(nodeFs.readFileSync(rt.files.realPath(filePath))).digest('hex');
    const progress: Array<{ progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }> = [];
    const { task, result } = wxCall(rt.wx.uploadFile, {
      url: `${server.url}/upload`,
      filePath,
      name: 'file',
      formData: { key: 'videos/a.mp4', policy: 'cG9saWN5', success_action_status: 200 },
      header: { 'X-Auth': 't1', 'Content-Type': 'text/plain' },
    });
    task.onProgressUpdate((p: (typeof progress)[0]) => progress.push(p));
    const heads: Array<{ header: Record<string, string> }> = [];
    task.onHeadersReceived((h: (typeof heads)[0]) => heads.push(h));
    const r = await result;
    expect(r.ok).toBe(true);
    expect(r.res.statusCode).toBe(200);
    expect(r.res.data).toBe('{"ok":true,"parts":4}'); // uploadFile data is always a string
    expect(r.res.errMsg).toBe('uploadFile:ok');
    // as in WeChat: success carries data + statusCode only; the response headers come through onHeadersReceived
    expect(Object.keys(r.res).sort()).toEqual(['data', 'errMsg', 'statusCode']);
    expect(heads).toHaveLength(1);
    expect(Object.keys(heads[0])).toEqual(['header']); // UploadTask.onHeadersReceived gives {header} only
    expect(Object.keys(heads[0].header).map((k) => k.toLowerCase())).toContain('content-type');
    expect(parsed[parsed.length - 1]).toEqual([
      { kind: 'field', name: 'key', value: 'videos/a.mp4' },
      { kind: 'field', name: 'policy', value: 'cG9saWN5' },
      { kind: 'field', name: 'success_action_status', value: '200' },
      { kind: 'file', name: 'file', filename: 'clip.mp4', mime: 'video/mp4', sha1: expectedSha, size },
    ]);
    const seen = server.seen[server.seen.length - 1];
    expect(seen.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen.headers['x-auth']).toBe('t1');
    // progress: real byte counts, monotonic, ending at the exact body length the server received
    expect(progress.length).toBeGreaterThan(2);
    for (let i = 1; i < progress.length; i++) expect(progress[i].totalBytesSent).toBeGreaterThan(progress[i - 1].totalBytesSent);
    const last = progress[progress.length - 1];
    expect(last.totalBytesExpectedToSend).toBe(seen.body.length);
    expect(last.totalBytesSent).toBe(seen.body.length);
    expect(last.progress).toBe(100);
    expect(progress[0].progress).toBeLessThan(100);
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ api: 'uploadFile', method: 'POST', status: 200, bytesSent: seen.body.length });
  });

  test('HTTP 500 still calls success, with the body as a string', async () => {
    const filePath = rt.files.writeTemp('a.jpg', 'jpegbytes');
    const r = await wxCall(rt.wx.uploadFile, { url: `${server.url}/upload-500`, filePath, name: 'f' }).result;
    expect(r.ok).toBe(true);
    expect(r.res.statusCode).toBe(500);
    expect(typeof r.res.data).toBe('string');
    expect(parsed[parsed.length - 1][0]).toMatchObject({ kind: 'file', name: 'f', filename: 'a.jpg', mime: 'image/jpeg', size: 9 });
  });

  test('abort() mid-upload → fail "uploadFile:fail abort"; the server never gets the whole body', async () => {
    const filePath = rt.files.writeTempSized('big.mp4', 8 << 20);
    const before = server.seen.length;
    const { task, result } = wxCall(rt.wx.uploadFile, { url: `${server.url}/upload-hold`, filePath, name: 'file' });
    let aborted = false;
    task.onProgressUpdate(() => {
      if (!aborted) {
        aborted = true;
        task.abort();
      }
    });
    const r = await result;
    expect(r.res.errMsg).toBe('uploadFile:fail abort');
    await server.waitFor(before + 1);
    await server.seen[before].done;
    expect(server.seen[before].complete).toBe(false);
    expect(server.seen[before].body.length).toBeLessThan(8 << 20);
  });

  test('bad input: a file that does not exist, a missing name', async () => {
    const a = await wxCall(rt.wx.uploadFile, { url: `${server.url}/upload`, filePath: 'http://tmp/nope.mp4', name: 'file' }).result;
    expect(a.ok).toBe(false);
    expect(a.res.errMsg).toBe('uploadFile:fail createUploadTask:fail file not found, open http://tmp/nope.mp4');
    const filePath = rt.files.writeTemp('x.txt', 'x');
    const b = await wxCall(rt.wx.uploadFile, { url: `${server.url}/upload`, filePath }).result;
    expect(b.res.errMsg).toMatch(/^uploadFile:fail parameter error: parameter.name should be String/);
  });
});

describe('wx.downloadFile', () => {
  test('GET → a temp file with the bytes, statusCode, and progress up to the Content-Length', async () => {
    const progress: Array<{ progress: number; totalBytesWritten: number; totalBytesExpectedToWrite: number }> = [];
    const { task, result } = wxCall(rt.wx.downloadFile, { url: `${server.url}/file/300000.mp4` });
    task.onProgressUpdate((p: (typeof progress)[0]) => progress.push(p));
    const r = await result;
    expect(r.ok).toBe(true);
    expect(r.res.statusCode).toBe(200);
    expect(r.res.tempFilePath).toMatch(/^http:\/\/tmp\/\w+\.mp4$/);
    expect(r.res.filePath).toBeUndefined();
    expect(nodeFs.readFileSync(rt.files.realPath(r.res.tempFilePath)).equals(pattern(300000))).toBe(true);
    const last = progress[progress.length - 1];
    expect(last).toEqual({ progress: 100, totalBytesWritten: 300000, totalBytesExpectedToWrite: 300000 });
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ api: 'downloadFile', method: 'GET', status: 200, bytesReceived: 300000 });
    // the temp file is readable through the FileSystemManager
    const fsm = rt.wx.getFileSystemManager();
    const head = fsm.readFileSync(r.res.tempFilePath, undefined, 0, 4) as ArrayBuffer;
    expect([...new Uint8Array(head)]).toEqual([...pattern(4)]);
  });

  test('HTTP 404 still calls success with statusCode 404 and a temp file holding the error body', async () => {
    const r = await wxCall(rt.wx.downloadFile, { url: `${server.url}/missing.mp4` }).result;
    expect(r.ok).toBe(true);
    expect(r.res.statusCode).toBe(404);
    expect(nodeFs.readFileSync(rt.files.realPath(r.res.tempFilePath), 'utf8')).toBe('{"error":"NoSuchKey"}');
  });

  test('filePath under USER_DATA_PATH → saved there and returned as filePath; a temp filePath is refused', async () => {
    const dest = `${rt.wx.env.USER_DATA_PATH}/d.mp4`;
    const r = await wxCall(rt.wx.downloadFile, { url: `${server.url}/file/1000`, filePath: dest }).result;
    expect(r.ok).toBe(true);
    expect(r.res.filePath).toBe(dest);
    expect(r.res.tempFilePath).toBeUndefined();
    expect(nodeFs.statSync(rt.files.realPath(dest)).size).toBe(1000);
    const bad = await wxCall(rt.wx.downloadFile, { url: `${server.url}/file/10`, filePath: 'http://tmp/x.mp4' }).result;
    expect(bad.ok).toBe(false);
    expect(bad.res.errMsg).toBe('downloadFile:fail permission denied, open http://tmp/x.mp4');
  });

  test('abort() mid-download → fail "downloadFile:fail abort" and no partial temp file is left', async () => {
    const before = nodeFs.readdirSync(rt.files.tempDir);
    const { task, result } = wxCall(rt.wx.downloadFile, { url: `${server.url}/slow` });
    let n = 0;
    task.onProgressUpdate((p: { totalBytesWritten: number }) => {
      if (n++ === 0) {
        expect(p.totalBytesWritten).toBeGreaterThan(0);
        task.abort();
      }
    });
    const r = await result;
    releaseSlow && releaseSlow();
    expect(r.res.errMsg).toBe('downloadFile:fail abort');
    expect(nodeFs.readdirSync(rt.files.tempDir)).toEqual(before);
  });
});
