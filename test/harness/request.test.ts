/**
 * wx.request in the Node wx runtime, against a real local HTTP server: body encodings, headers, dataType /
 * responseType, success for any status, timeout, abort, onHeadersReceived, invalid input.
 */
import { Buffer } from 'node:buffer';
import { createWxRuntime, WxRuntime } from './wx-runtime';
import { startTestServer, TestServer, wxCall } from './test-server';

let server: TestServer;
let rt: WxRuntime;

beforeAll(async () => {
  server = await startTestServer((req, res, seen) => {
    const u = new URL(req.url || '/', 'http://x');
    if (u.pathname === '/hold') return; // never answers (timeout / abort tests)
    void seen.done.then(() => {
      if (u.pathname === '/status') {
        const code = parseInt(u.searchParams.get('code') || '200', 10);
        res.writeHead(code, { 'Content-Type': 'application/json', 'X-Custom': 'yes' });
        return res.end(JSON.stringify({ code }));
      }
      if (u.pathname === '/text') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end('plain words, not json');
      }
      if (u.pathname === '/json') {
        res.writeHead(200, [['Content-Type', 'application/json'], ['Set-Cookie', 'a=1; Path=/'], ['Set-Cookie', 'b=2']]);
        return res.end('{"hello":"世界","n":1}');
      }
      if (u.pathname === '/bytes') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        return res.end(Buffer.from([0, 1, 2, 250, 255]));
      }
      // echo
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: seen.body.toString('base64') }));
    });
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

const echo = async (o: Record<string, unknown>) => {
  const { result } = wxCall(rt.wx.request, { url: `${server.url}/echo`, ...o });
  const r = await result;
  expect(r.ok).toBe(true);
  return r.res.data as { method: string; url: string; headers: Record<string, string>; body: string };
};

describe('wx.request body and headers', () => {
  test('object data on POST is JSON with the default content-type application/json, plus WeChat Referer', async () => {
    const d = await echo({ method: 'POST', data: { a: 1, b: '中文' } });
    expect(d.method).toBe('POST');
    expect(d.headers['content-type']).toBe('application/json');
    expect(JSON.parse(Buffer.from(d.body, 'base64').toString('utf8'))).toEqual({ a: 1, b: '中文' });
    expect(d.headers.referer).toMatch(/^https:\/\/servicewechat\.com\/\w+\/devtools\/page-frame\.html$/);
  });

  test('object data is form-encoded when content-type is application/x-www-form-urlencoded', async () => {
    const d = await echo({ method: 'POST', header: { 'Content-Type': 'application/x-www-form-urlencoded' }, data: { a: 'x y', b: '&=' } });
    expect(d.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Buffer.from(d.body, 'base64').toString()).toBe('a=x%20y&b=%26%3D');
  });

  test('object data on GET becomes the query string (appended to an existing one)', async () => {
    const d = await echo({ url: `${server.url}/echo?z=0`, data: { a: 1, s: 'a b' } });
    expect(d.url).toBe('/echo?z=0&a=1&s=a%20b');
    expect(d.body).toBe('');
  });

  test('string data is sent as-is; ArrayBuffer data is sent as raw bytes', async () => {
    const s = await echo({ method: 'PUT', data: 'raw text', header: { 'content-type': 'text/plain' } });
    expect(Buffer.from(s.body, 'base64').toString()).toBe('raw text');
    const bytes = new Uint8Array([1, 2, 3, 0, 255]);
    const b = await echo({ method: 'PUT', data: bytes.buffer, header: { 'content-type': 'application/octet-stream' } });
    expect([...Buffer.from(b.body, 'base64')]).toEqual([1, 2, 3, 0, 255]);
    expect(b.headers['content-length']).toBe('5');
  });

  test('a typed-array VIEW (Uint8Array, Buffer, DataView …) is not raw bytes: WeChat takes string / object / ArrayBuffer only, so a view goes as an object (JSON)', async () => {
    const view = new Uint8Array([1, 2, 3, 0, 255]);
    const v = await echo({ method: 'PUT', data: view, header: { 'content-type': 'application/octet-stream' } });
    expect(Buffer.from(v.body, 'base64').toString()).toBe(JSON.stringify(view));
    expect(Buffer.from(v.body, 'base64').toString()).toBe('{"0":1,"1":2,"2":3,"3":0,"4":255}');
    // a view over part of a buffer is not its bytes either
    const sub = new Uint8Array(new Uint8Array([9, 9, 7, 8, 9]).buffer, 2, 2);
    const w = await echo({ method: 'PUT', data: sub, header: { 'content-type': 'application/octet-stream' } });
    expect(Buffer.from(w.body, 'base64').toString()).toBe('{"0":7,"1":8}');
  });

  test('custom headers are sent; Referer cannot be overridden', async () => {
    const d = await echo({ header: { 'X-Token': 'abc', Referer: 'https://evil.example' } });
    expect(d.headers['x-token']).toBe('abc');
    expect(d.headers.referer).toContain('servicewechat.com');
  });
});

describe('wx.request responses', () => {
  test('dataType json parses a JSON body; response headers keep their case; cookies listed', async () => {
    const { result } = wxCall(rt.wx.request, { url: `${server.url}/json` });
    const r = await result;
    expect(r.ok).toBe(true);
    expect(r.completed).toBe(true);
    expect(r.res.statusCode).toBe(200);
    expect(r.res.data).toEqual({ hello: '世界', n: 1 });
    expect(r.res.header['Content-Type']).toBe('application/json');
    expect(r.res.cookies).toEqual(['a=1; Path=/', 'b=2']);
    expect(r.res.errMsg).toBe('request:ok');
  });

  test('dataType json leaves a non-JSON body as a string; dataType other than json never parses', async () => {
    const a = await wxCall(rt.wx.request, { url: `${server.url}/text` }).result;
    expect(a.res.data).toBe('plain words, not json');
    const b = await wxCall(rt.wx.request, { url: `${server.url}/json`, dataType: '其他' }).result;
    expect(b.res.data).toBe('{"hello":"世界","n":1}');
  });

  test('responseType arraybuffer gives an ArrayBuffer of the exact bytes', async () => {
    const r = await wxCall(rt.wx.request, { url: `${server.url}/bytes`, responseType: 'arraybuffer' }).result;
    expect(r.res.data).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(r.res.data)]).toEqual([0, 1, 2, 250, 255]);
  });

  test.each([404, 500, 503])('HTTP %i still calls success with the statusCode', async (code) => {
    const r = await wxCall(rt.wx.request, { url: `${server.url}/status?code=${code}` }).result;
    expect(r.ok).toBe(true);
    expect(r.res.statusCode).toBe(code);
    expect(r.res.data).toEqual({ code });
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ api: 'request', status: code });
  });

  test('onHeadersReceived fires with the status and headers before success; offHeadersReceived stops it', async () => {
    const events: string[] = [];
    const { task, result } = wxCall(rt.wx.request, { url: `${server.url}/status?code=201` });
    task.onHeadersReceived((h: { statusCode: number; header: Record<string, string> }) => events.push(`headers:${h.statusCode}:${h.header['X-Custom']}`));
    const removed = () => events.push('removed listener fired');
    task.onHeadersReceived(removed);
    task.offHeadersReceived(removed);
    const r = await result;
    events.push(`done:${r.res.statusCode}`);
    expect(events).toEqual(['headers:201:yes', 'done:201']);
  });
});

describe('wx.request chunks and app-wide timeout', () => {
  test('enableChunked: onChunkReceived delivers the body as ArrayBuffer chunks', async () => {
    const chunks: ArrayBuffer[] = [];
    const { task, result } = wxCall(rt.wx.request, { url: `${server.url}/bytes`, enableChunked: true, responseType: 'arraybuffer' });
    task.onChunkReceived((c: { data: ArrayBuffer }) => chunks.push(c.data));
    await result;
    expect(Buffer.concat(chunks.map((c) => Buffer.from(c)))).toEqual(Buffer.from([0, 1, 2, 250, 255]));
  });

  test('networkTimeout (app.json) applies when a call gives no timeout', async () => {
    const quick = createWxRuntime({ networkTimeout: { request: 120 } });
    try {
      const r = await wxCall(quick.wx.request, { url: `${server.url}/hold` }).result;
      expect(r.res.errMsg).toBe('request:fail timeout');
    } finally {
      await quick.close();
    }
  });
});

describe('wx.request failures', () => {
  test('timeout → fail "request:fail timeout"', async () => {
    const r = await wxCall(rt.wx.request, { url: `${server.url}/hold`, timeout: 150 }).result;
    expect(r.ok).toBe(false);
    expect(r.res.errMsg).toBe('request:fail timeout');
    expect(r.completed).toBe(true);
  });

  test('abort() → fail "request:fail abort" and the connection is closed', async () => {
    const before = server.seen.length;
    const { task, result } = wxCall(rt.wx.request, { url: `${server.url}/hold?abort` });
    await server.waitFor(before + 1);
    task.abort();
    const r = await result;
    expect(r.res.errMsg).toBe('request:fail abort');
    await server.seen[before].done; // the server saw the connection go away
  });

  test('connection refused → fail with ERR_CONNECTION_REFUSED', async () => {
    const dead = await startTestServer(() => undefined);
    const url = dead.url;
    await dead.close();
    const r = await wxCall(rt.wx.request, { url: `${url}/x` }).result;
    expect(r.ok).toBe(false);
    expect(r.res.errMsg).toMatch(/^request:fail .*ERR_CONNECTION_REFUSED/);
  });

  test('bad input: non-http URL, missing URL, unsupported method (PATCH) fail with parameter errors', async () => {
    const a = await wxCall(rt.wx.request, { url: 'ftp://127.0.0.1/x' }).result;
    expect(a.res.errMsg).toBe('request:fail invalid url "ftp://127.0.0.1/x"');
    const b = await wxCall(rt.wx.request, {}).result;
    expect(b.res.errMsg).toMatch(/^request:fail parameter error: parameter.url should be String/);
    const c = await wxCall(rt.wx.request, { url: `${server.url}/echo`, method: 'PATCH' }).result;
    expect(c.res.errMsg).toMatch(/^request:fail parameter error: parameter.method/);
  });

  test('a public host that is not mapped never leaves the machine: ERR_NAME_NOT_RESOLVED', async () => {
    const r = await wxCall(rt.wx.request, { url: 'https://example.com/' }).result;
    expect(r.res.errMsg).toMatch(/^request:fail .*ERR_NAME_NOT_RESOLVED/);
    expect(rt.requests[rt.requests.length - 1].error).toMatch(/ERR_NAME_NOT_RESOLVED/);
  });

  test('the request log records method, url, status, bytes and times', async () => {
    await echo({ method: 'POST', data: 'abcd', header: { 'content-type': 'text/plain' } });
    const e = rt.requests[rt.requests.length - 1];
    expect(e).toMatchObject({ api: 'request', method: 'POST', url: `${server.url}/echo`, status: 200, bytesSent: 4 });
    expect(e.bytesReceived).toBeGreaterThan(10);
    expect(e.endedAt).toBeGreaterThanOrEqual(e.startedAt);
  });
});
