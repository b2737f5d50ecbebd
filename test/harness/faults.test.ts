/**
 * Host mapping (production URLs onto local servers, Host header kept) and fault injection (TCP reset, local
 * status, delay, hold at a test-controlled gate, cut after N bytes) in the Node wx runtime, against a real local HTTP server.
 */
import { Buffer } from 'node:buffer';
import * as nodeFs from 'node:fs';
import { createWxAdapter } from '../../sdk/src/platform/wx';
import { createGate, createWxRuntime, WxRuntime } from './wx-runtime';
import { startTestServer, TestServer, wxCall } from './test-server';

let server: TestServer;
let rt: WxRuntime;

beforeAll(async () => {
  server = await startTestServer((req, res, seen) => {
    void seen.done.then(() => {
      if (!seen.complete) return; // the client went away mid-body
      const u = new URL(req.url || '/', 'http://x');
      const big = u.pathname.match(/^\/big\/(\d+)$/);
      if (big) {
        const body = Buffer.alloc(parseInt(big[1], 10), 7);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
        return res.end(body);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ host: req.headers.host, url: req.url, method: req.method, bytes: seen.body.length }));
    });
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  rt = createWxRuntime({
    hostMap: {
      '*.aliyuncs.com': server.url,
      'api.weixin.qq.com': server.url,
      'cdn.example.com': `${server.url}/prefix`,
    },
  });
});
afterEach(async () => {
  await rt.close();
});

const last = () => server.seen[server.seen.length - 1];

describe('host mapping', () => {
  test('https://<bucket>.oss-<region>.aliyuncs.com goes to the local server over http with the original Host header', async () => {
    const r = await wxCall(rt.wx.request, { url: 'https://media-bucket.oss-cn-shanghai.aliyuncs.com/videos/a.mp4?uploads', method: 'POST', data: 'x' }).result;
    expect(r.ok).toBe(true);
    expect(r.res.data).toEqual({ host: 'media-bucket.oss-cn-shanghai.aliyuncs.com', url: '/videos/a.mp4?uploads', method: 'POST', bytes: 1 });
  });

  test('exact host mapping keeps a non-default port in Host; a target path prefix is prepended', async () => {
    const a = await wxCall(rt.wx.request, { url: 'http://api.weixin.qq.com:8080/sns/x?a=1' }).result;
    expect(a.res.data).toMatchObject({ host: 'api.weixin.qq.com:8080', url: '/sns/x?a=1' });
    const b = await wxCall(rt.wx.request, { url: 'https://cdn.example.com/v/1.m3u8' }).result;
    expect(b.res.data).toMatchObject({ host: 'cdn.example.com', url: '/prefix/v/1.m3u8' });
  });

  test('uploadFile and downloadFile are mapped too', async () => {
    const filePath = rt.files.writeTemp('f.bin', 'abc');
    const up = await wxCall(rt.wx.uploadFile, { url: 'https://b.oss-cn-hangzhou.aliyuncs.com/', filePath, name: 'file' }).result;
    expect(up.ok).toBe(true);
    expect(JSON.parse(up.res.data).host).toBe('b.oss-cn-hangzhou.aliyuncs.com');
    const down = await wxCall(rt.wx.downloadFile, { url: 'https://b.oss-cn-hangzhou.aliyuncs.com/big/10' }).result;
    expect(down.res.statusCode).toBe(200);
    expect(nodeFs.statSync(rt.files.realPath(down.res.tempFilePath)).size).toBe(10);
  });

  test('keys may carry a scheme or trailing slash; bad input: a target that is not an http(s) URL is refused at creation', async () => {
    const other = createWxRuntime({ hostMap: { 'https://vod.cn-shanghai.aliyuncs.com/': server.url } });
    try {
      const r = await wxCall(other.wx.request, { url: 'https://vod.cn-shanghai.aliyuncs.com/?Action=x' }).result;
      expect(r.res.data).toMatchObject({ host: 'vod.cn-shanghai.aliyuncs.com', url: '/?Action=x' });
    } finally {
      await other.close();
    }
    expect(() => createWxRuntime({ hostMap: { '*.aliyuncs.com': '127.0.0.1:9000' } })).toThrow(/hostMap\["\*\.aliyuncs\.com"\] must be an http\(s\) base URL/);
  });

  test('unmapped public hosts (and the bare apex of a wildcard) fail ERR_NAME_NOT_RESOLVED without touching the network', async () => {
    for (const url of ['https://aliyuncs.com/', 'https://vod.example.org/x']) {
      const r = await wxCall(rt.wx.request, { url }).result;
      expect(r.res.errMsg).toBe('request:fail errcode:-105 cronet_error_code:-105 error_msg:net::ERR_NAME_NOT_RESOLVED');
    }
  });
});

describe('fault: reset', () => {
  test('reset mid-request: the client sees a connection reset, the server only part of the body; the SDK adapter classifies it NETWORK_ERROR', async () => {
    rt.faults.add({ match: { url: '/upload-part' }, action: { type: 'reset' } });
    const before = server.seen.length;
    const r = await wxCall(rt.wx.request, { url: `${server.url}/upload-part`, method: 'PUT', data: new Uint8Array(100000).buffer }).result;
    expect(r.ok).toBe(false);
    expect(r.res.errMsg).toBe('request:fail errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET');
    await server.waitFor(before + 1);
    await last().done;
    expect(last().complete).toBe(false);
    expect(last().body.length).toBe(50000);
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ fault: 'reset', error: r.res.errMsg });
    // times defaults to 1: the next call goes through
    const ok = await wxCall(rt.wx.request, { url: `${server.url}/upload-part`, method: 'PUT', data: 'x' }).result;
    expect(ok.ok).toBe(true);
    // through the SDK's own adapter
    rt.faults.add({ match: { url: '/upload-part' }, action: { type: 'reset' } });
    await expect(createWxAdapter(rt.wx).request({ url: `${server.url}/upload-part`, method: 'PUT', data: 'abc' })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });

  test('reset on a request without a body: the server never receives a complete request', async () => {
    rt.faults.add({ match: { method: 'GET' }, action: { type: 'reset' } });
    const before = server.seen.length;
    const r = await wxCall(rt.wx.request, { url: `${server.url}/get-me` }).result;
    expect(r.res.errMsg).toMatch(/ERR_CONNECTION_RESET/);
    const ok = await wxCall(rt.wx.request, { url: `${server.url}/after` }).result;
    expect(ok.ok).toBe(true);
    expect(server.seen.slice(before).map((s) => s.url)).toEqual(['/after']);
  });

  test("reset with when: 'response': the server handles the whole request, the answer is lost", async () => {
    rt.faults.add({ match: { url: '/commit' }, action: { type: 'reset', when: 'response' } });
    const before = server.seen.length;
    const r = await wxCall(rt.wx.request, { url: `${server.url}/commit`, method: 'POST', data: { a: 1 } }).result;
    expect(r.res.errMsg).toMatch(/ERR_CONNECTION_RESET/);
    await server.waitFor(before + 1);
    expect(last().complete).toBe(true);
    expect(last().body.toString()).toBe('{"a":1}');
  });
});

describe('fault: status', () => {
  test('answers locally with the status, body and headers; the server is never reached', async () => {
    const before = server.seen.length;
    rt.faults.add({ match: { api: 'request' }, action: { type: 'status', status: 503, body: '{"error":"busy"}', headers: { 'Retry-After': '1' } } });
    const { task, result } = wxCall(rt.wx.request, { url: `${server.url}/x` });
    let headers: Record<string, string> | undefined;
    task.onHeadersReceived((h: { header: Record<string, string> }) => (headers = h.header));
    const r = await result;
    expect(r.ok).toBe(true);
    expect(r.res.statusCode).toBe(503);
    expect(r.res.data).toEqual({ error: 'busy' });
    expect(r.res.header['Retry-After']).toBe('1');
    expect(headers && headers['Retry-After']).toBe('1');
    expect(server.seen.length).toBe(before);
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ status: 503, fault: 'status:503', bytesSent: 0 });
  });

  test('applies to uploadFile (no bytes sent) and downloadFile (the body lands in the temp file)', async () => {
    const before = server.seen.length;
    rt.faults.add({ match: { api: 'uploadFile' }, action: { type: 'status', status: 403, body: '<Error><Code>AccessDenied</Code></Error>' } });
    rt.faults.add({ match: { api: 'downloadFile' }, action: { type: 'status', status: 404, body: 'gone' } });
    const filePath = rt.files.writeTemp('f.bin', 'abc');
    const up = await wxCall(rt.wx.uploadFile, { url: `${server.url}/u`, filePath, name: 'file' }).result;
    expect(up.res).toMatchObject({ statusCode: 403, data: '<Error><Code>AccessDenied</Code></Error>' });
    const down = await wxCall(rt.wx.downloadFile, { url: `${server.url}/d.mp4` }).result;
    expect(down.res.statusCode).toBe(404);
    expect(nodeFs.readFileSync(rt.files.realPath(down.res.tempFilePath), 'utf8')).toBe('gone');
    expect(server.seen.length).toBe(before);
  });
});

describe('fault: delay', () => {
  test('holds the task before sending; the delay counts toward the timeout', async () => {
    rt.faults.add({ match: { url: /\/slow$/ }, times: 2, action: { type: 'delay', ms: 400 } });
    const r = await wxCall(rt.wx.request, { url: `${server.url}/slow`, timeout: 100 }).result;
    expect(r.res.errMsg).toBe('request:fail timeout');
    const ok = await wxCall(rt.wx.request, { url: `${server.url}/slow` }).result;
    expect(ok.ok).toBe(true);
    expect(rt.requests[rt.requests.length - 1].fault).toBe('delay:400');
    const plain = await wxCall(rt.wx.request, { url: `${server.url}/slow` }).result; // times: 2 used up
    expect(plain.ok).toBe(true);
    expect(rt.requests[rt.requests.length - 1].fault).toBeUndefined();
  });
});

describe('fault: hold (a gate the test controls)', () => {
  test('the task waits at the gate without contacting the server until released; release(n) lets the oldest through; open() lets all through', async () => {
    const gate = createGate('h');
    rt.faults.add({ match: { url: /\/held\// }, times: Infinity, action: { type: 'hold', gate } });
    const before = server.seen.length;
    const order: string[] = [];
    const calls = ['a', 'b', 'c'].map((n) => wxCall(rt.wx.request, { url: `${server.url}/held/${n}` }).result.then((r) => (order.push(n), r)));
    await gate.waiting(3);
    expect(server.seen.length).toBe(before); // nothing reached the server while held
    expect(rt.inflight().active).toBe(3);
    gate.release(1);
    expect((await calls[0]).res.data).toMatchObject({ url: '/held/a' });
    expect(gate.held).toBe(2);
    gate.open();
    await Promise.all(calls);
    expect(order[0]).toBe('a'); // b and c were let through together: their order is the network's
    expect([...order].sort()).toEqual(['a', 'b', 'c']);
    expect(gate).toMatchObject({ arrived: 3, passedCount: 3, held: 0 });
    expect(rt.requests[rt.requests.length - 1].fault).toBe('hold:h');
    // an open gate lets later arrivals through at once
    expect((await wxCall(rt.wx.request, { url: `${server.url}/held/d` }).result).ok).toBe(true);
  });

  test('a held task that is aborted fails "abort" and never connects; release credits carry over to the next arrival', async () => {
    const gate = createGate();
    rt.faults.add({ match: { url: /\/gated$/ }, times: Infinity, action: { type: 'hold', gate } });
    const before = server.seen.length;
    const { task, result } = wxCall(rt.wx.request, { url: `${server.url}/gated` });
    await gate.waiting(1);
    task.abort();
    const r = await result;
    expect(r.res.errMsg).toBe('request:fail abort');
    expect(gate.held).toBe(0);
    expect(server.seen.length).toBe(before);
    gate.release(1); // nobody waits: the next arrival passes at once
    expect((await wxCall(rt.wx.request, { url: `${server.url}/gated` }).result).ok).toBe(true);
    expect(() => rt.faults.add({ action: { type: 'hold' } as never })).toThrow(/invalid action/);
  });

  test('the time held counts toward the task timeout', async () => {
    const gate = createGate();
    rt.faults.add({ match: { url: /\/never$/ }, action: { type: 'hold', gate } });
    const r = await wxCall(rt.wx.request, { url: `${server.url}/never`, timeout: 50 }).result;
    expect(r.res.errMsg).toBe('request:fail timeout');
    expect(gate.held).toBe(0);
  });
});

describe('fault: fail', () => {
  test('the host fails the task itself with "<api>:fail <reason>" and never connects', async () => {
    const before = server.seen.length;
    rt.faults.add({ match: { api: 'request' }, action: { type: 'fail', reason: 'abort' } });
    rt.faults.add({ match: { api: 'uploadFile' }, action: { type: 'fail', reason: 'url not in domain list' } });
    const r = await wxCall(rt.wx.request, { url: `${server.url}/x` }).result;
    expect(r.ok).toBe(false);
    expect(r.res.errMsg).toBe('request:fail abort');
    const u = await wxCall(rt.wx.uploadFile, { url: `${server.url}/u`, filePath: rt.files.writeTemp('ff.bin', 'abc'), name: 'file' }).result;
    expect(u.res.errMsg).toBe('uploadFile:fail url not in domain list');
    expect(server.seen.length).toBe(before);
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ fault: 'fail:url not in domain list', bytesSent: 0 });
    expect(() => rt.faults.add({ action: { type: 'fail', reason: '' } })).toThrow(/invalid action/);
  });
});

describe('fault: cutAfter', () => {
  test('uploadFile: the server receives exactly N body bytes, then the connection resets', async () => {
    const filePath = rt.files.writeTempSized('v.mp4', 300000);
    rt.faults.add({ match: { api: 'uploadFile' }, action: { type: 'cutAfter', bytes: 1000 } });
    const before = server.seen.length;
    const r = await wxCall(rt.wx.uploadFile, { url: `${server.url}/u`, filePath, name: 'file' }).result;
    expect(r.res.errMsg).toBe('uploadFile:fail errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET');
    await server.waitFor(before + 1);
    await last().done;
    expect(last().complete).toBe(false);
    expect(last().body.length).toBe(1000);
  });

  test('request: a PUT body is cut after N bytes', async () => {
    rt.faults.add({ match: { method: 'PUT' }, action: { type: 'cutAfter', bytes: 1234 } });
    const before = server.seen.length;
    const r = await wxCall(rt.wx.request, { url: `${server.url}/part`, method: 'PUT', data: new Uint8Array(5000).buffer }).result;
    expect(r.res.errMsg).toMatch(/ERR_CONNECTION_RESET/);
    await server.waitFor(before + 1);
    await last().done;
    expect(last().body.length).toBe(1234);
  });

  test('downloadFile: the response is cut after N body bytes; no partial temp file is left', async () => {
    rt.faults.add({ match: { api: 'downloadFile', url: '/big/' }, action: { type: 'cutAfter', bytes: 5000 } });
    const progress: number[] = [];
    const { task, result } = wxCall(rt.wx.downloadFile, { url: `${server.url}/big/200000` });
    task.onProgressUpdate((p: { totalBytesWritten: number }) => progress.push(p.totalBytesWritten));
    const r = await result;
    expect(r.res.errMsg).toBe('downloadFile:fail errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET');
    expect(progress[progress.length - 1]).toBe(5000);
    expect(rt.requests[rt.requests.length - 1]).toMatchObject({ bytesReceived: 5000, fault: 'cutAfter:5000', status: 200 });
    expect(nodeFs.readdirSync(rt.files.tempDir)).toEqual([]);
  });
});

describe('fault rules', () => {
  test('match by api / method / url string / RegExp; times Infinity; the remover and clear() stop a rule', async () => {
    const remove = rt.faults.add({ match: { api: 'request', method: 'POST', url: /\/only-post\// }, times: Infinity, action: { type: 'status', status: 418 } });
    const post = () => wxCall(rt.wx.request, { url: `${server.url}/only-post/x`, method: 'POST', data: {} }).result;
    expect((await post()).res.statusCode).toBe(418);
    expect((await post()).res.statusCode).toBe(418);
    expect((await wxCall(rt.wx.request, { url: `${server.url}/only-post/x` }).result).res.statusCode).toBe(200); // GET does not match
    remove();
    expect((await post()).res.statusCode).toBe(200);
    rt.faults.add({ times: Infinity, action: { type: 'status', status: 500 } });
    expect((await post()).res.statusCode).toBe(500);
    rt.faults.clear();
    expect((await post()).res.statusCode).toBe(200);
  });

  test('bad input: invalid actions and times are rejected when added', () => {
    expect(() => rt.faults.add({ action: { type: 'explode' } as never })).toThrow(/invalid action/);
    expect(() => rt.faults.add({ action: { type: 'status', status: 42 } })).toThrow(/invalid action/);
    expect(() => rt.faults.add({ action: { type: 'cutAfter', bytes: -1 } })).toThrow(/invalid action/);
    expect(() => rt.faults.add({ times: 0, action: { type: 'reset' } })).toThrow(/times must be > 0/);
  });
});
