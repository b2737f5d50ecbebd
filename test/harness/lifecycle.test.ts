/**
 * The runtime's scheduling and host behaviour: the 10-task cap with a FIFO queue, app hide/show with
 * "fail interrupted", chooseMedia/chooseVideo driven by the test, wx.login against the real local cloud,
 * system info, install/close.
 */
import { Buffer } from 'node:buffer';
import http from 'node:http';
import * as nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWxAdapter } from '../../sdk/src/platform/wx';
import { startCloud, RunningCloud } from '../../server/cloud';
import { wechatProvider } from '../../server/cloud/wechat';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { createWxRuntime, WxRuntime } from './wx-runtime';
import { startTestServer, TestServer, wxCall } from './test-server';

let server: TestServer;
const held = new Map<string, http.ServerResponse>();

beforeAll(async () => {
  server = await startTestServer((req, res) => {
    const u = new URL(req.url || '/', 'http://x');
    if (u.pathname === '/hold') {
      held.set(u.searchParams.get('id') || '', res);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  });
});
afterAll(async () => {
  await server.close();
});

function release(id: string): void {
  const res = held.get(id);
  if (!res) throw new Error(`no held request ${id}`);
  held.delete(id);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ id }));
}
function releaseAll(): void {
  for (const id of [...held.keys()]) release(id);
}

describe('concurrency: at most 10 request + uploadFile + downloadFile tasks in flight', () => {
  let rt: WxRuntime;
  beforeEach(() => {
    rt = createWxRuntime();
  });
  afterEach(async () => {
    releaseAll();
    await rt.close();
  });

  test('the 11th task waits in the queue until a slot frees, then runs', async () => {
    const base = server.seen.length;
    const filePath = rt.files.writeTemp('u.txt', 'u');
    const calls = [];
    for (let i = 0; i < 8; i++) calls.push(wxCall(rt.wx.request, { url: `${server.url}/hold?id=c${i}` }));
    calls.push(wxCall(rt.wx.uploadFile, { url: `${server.url}/hold?id=c8`, filePath, name: 'f' }));
    calls.push(wxCall(rt.wx.downloadFile, { url: `${server.url}/hold?id=c9` }));
    calls.push(wxCall(rt.wx.request, { url: `${server.url}/hold?id=c10` }));
    await server.waitFor(base + 10);
    // the 11th is in the runtime's queue, so it was never dispatched (a task opens a connection only when dispatched)
    expect(rt.inflight()).toEqual({ active: 10, queued: 1 });
    expect(server.seen.length).toBe(base + 10);
    expect(server.seen.slice(base).map((s) => s.url)).not.toContain('/hold?id=c10');
    release('c3');
    await server.waitFor(base + 11);
    expect(server.seen[base + 10].url).toBe('/hold?id=c10');
    expect((await calls[3].result).res.data).toEqual({ id: 'c3' });
    releaseAll();
    const results = await Promise.all(calls.map((c) => c.result));
    expect(results.every((r) => r.ok)).toBe(true);
    const log = rt.requests.slice(-11);
    expect(log[10].startedAt).toBeGreaterThanOrEqual(log[3].endedAt!);
  });

  test('an aborted queued task fails "request:fail abort" and is never sent', async () => {
    const base = server.seen.length;
    const calls = [];
    for (let i = 0; i < 10; i++) calls.push(wxCall(rt.wx.request, { url: `${server.url}/hold?id=q${i}` }));
    const doomed = wxCall(rt.wx.request, { url: `${server.url}/hold?id=doomed` });
    const next = wxCall(rt.wx.request, { url: `${server.url}/hold?id=next` });
    await server.waitFor(base + 10);
    expect(rt.inflight()).toEqual({ active: 10, queued: 2 });
    doomed.task.abort();
    const d = await doomed.result;
    expect(d.res.errMsg).toBe('request:fail abort');
    expect(rt.inflight()).toEqual({ active: 10, queued: 1 });
    release('q0');
    await server.waitFor(base + 11);
    release('next');
    expect((await next.result).ok).toBe(true);
    releaseAll();
    await Promise.all(calls.map((c) => c.result));
    expect(server.seen.map((s) => s.url)).not.toContain('/hold?id=doomed');
    const entry = rt.requests.find((e) => e.url.endsWith('id=doomed'))!;
    expect(entry).toMatchObject({ error: 'request:fail abort', bytesSent: 0 });
    expect(entry.header).toBeUndefined(); // never reached the wire
  });

  test('maxConcurrent is configurable', async () => {
    const small = createWxRuntime({ maxConcurrent: 2 });
    try {
      const base = server.seen.length;
      const calls = [0, 1, 2].map((i) => wxCall(small.wx.request, { url: `${server.url}/hold?id=m${i}` }));
      await server.waitFor(base + 2);
      expect(small.inflight()).toEqual({ active: 2, queued: 1 });
      releaseAll();
      await server.waitFor(base + 3);
      releaseAll();
      await Promise.all(calls.map((c) => c.result));
    } finally {
      await small.close();
    }
  });
});

describe('app hide / show', () => {
  test('hide → listeners fire; new calls fail "interrupted" at once; in-flight tasks fail "interrupted" after backgroundInterruptMs', async () => {
    const rt = createWxRuntime({ backgroundInterruptMs: 100 });
    try {
      const base = server.seen.length;
      const events: string[] = [];
      rt.wx.onAppHide(() => events.push('hide'));
      rt.wx.onAppShow((res: { scene: number }) => events.push(`show:${res.scene}`));
      const filePath = rt.files.writeTemp('u.bin', 'data');
      const req = wxCall(rt.wx.request, { url: `${server.url}/hold?id=h1` });
      const up = wxCall(rt.wx.uploadFile, { url: `${server.url}/hold?id=h2`, filePath, name: 'f' });
      const down = wxCall(rt.wx.downloadFile, { url: `${server.url}/hold?id=h3` });
      await server.waitFor(base + 3);
      rt.app.hide();
      expect(events).toEqual(['hide']);
      expect(rt.app.hidden).toBe(true);
      // while hidden, network APIs cannot be called: immediate failure, nothing sent
      const during = await wxCall(rt.wx.request, { url: `${server.url}/never` }).result;
      expect(during.res.errMsg).toBe('request:fail interrupted');
      const during2 = await wxCall(rt.wx.downloadFile, { url: `${server.url}/never` }).result;
      expect(during2.res.errMsg).toBe('downloadFile:fail interrupted');
      expect(rt.inflight().active).toBe(3); // the in-flight ones are still running inside the grace period
      expect((await req.result).res.errMsg).toBe('request:fail interrupted');
      expect((await up.result).res.errMsg).toBe('uploadFile:fail interrupted');
      expect((await down.result).res.errMsg).toBe('downloadFile:fail interrupted');
      expect(server.seen.map((s) => s.url)).not.toContain('/never');
      rt.app.show();
      expect(events).toEqual(['hide', 'show:1001']);
      const after = await wxCall(rt.wx.request, { url: `${server.url}/ok` }).result;
      expect(after.ok).toBe(true);
    } finally {
      held.clear();
      await rt.close();
    }
  });

  test('showing again within the grace period keeps in-flight tasks alive; offAppHide removes a listener', async () => {
    const rt = createWxRuntime({ backgroundInterruptMs: 60000 });
    try {
      const base = server.seen.length;
      let hides = 0;
      const onHide = () => hides++;
      rt.wx.onAppHide(onHide);
      const req = wxCall(rt.wx.request, { url: `${server.url}/hold?id=g1` });
      await server.waitFor(base + 1);
      rt.app.hide();
      rt.app.show();
      rt.wx.offAppHide(onHide);
      rt.app.hide();
      rt.app.show();
      expect(hides).toBe(1);
      release('g1');
      expect((await req.result).res.data).toEqual({ id: 'g1' });
    } finally {
      await rt.close();
    }
  });
});

describe('chooseMedia / chooseVideo / chooseImage', () => {
  test('return what the test queued, in WeChat\'s result shapes; nothing queued → fail cancel', async () => {
    const rt = createWxRuntime();
    try {
      const v = rt.files.writeTemp('pick.mp4', Buffer.alloc(1234));
      rt.media.enqueue([{ tempFilePath: v, fileType: 'video', duration: 6.5, width: 640, height: 360 }]);
      const r = await wxCall(rt.wx.chooseMedia, { count: 1, mediaType: ['video'] }).result;
      expect(r.res).toEqual({
        type: 'video',
        errMsg: 'chooseMedia:ok',
        tempFiles: [{ tempFilePath: v, size: 1234, duration: 6.5, width: 640, height: 360, thumbTempFilePath: '', fileType: 'video' }],
      });
      const none = await wxCall(rt.wx.chooseMedia, {}).result;
      expect(none.ok).toBe(false);
      expect(none.res.errMsg).toBe('chooseMedia:fail cancel');
      rt.media.enqueue([{ tempFilePath: v, fileType: 'video', duration: 3, size: 99, thumbTempFilePath: 'http://tmp/t.jpg' }]);
      const cv = await rt.wx.chooseVideo({ sourceType: ['album'] }); // Promise form
      expect(cv).toEqual({ tempFilePath: v, duration: 3, size: 99, width: 1280, height: 720, thumbTempFilePath: 'http://tmp/t.jpg', errMsg: 'chooseVideo:ok' });
      await expect(rt.wx.chooseVideo({})).rejects.toEqual({ errMsg: 'chooseVideo:fail cancel' });
      const img = rt.files.writeTemp('i.jpg', 'img');
      rt.media.enqueue([{ tempFilePath: img, fileType: 'image' }, { tempFilePath: v, fileType: 'video' }]);
      expect((await rt.wx.chooseMedia({ count: 9 })).type).toBe('mix');
      expect(() => rt.media.enqueue([{ tempFilePath: img } as never])).toThrow(/fileType/);
    } finally {
      await rt.close();
    }
  });
});

describe('wx.login against the local cloud', () => {
  let cloud: RunningCloud;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'wx-login-'));
    cloud = await startCloud({ dataDir, providers: [wechatProvider()], quiet: true });
  });
  afterAll(async () => {
    await cloud.close();
    nodeFs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function code2Session(code: string): Promise<{ openid?: string; errcode?: number }> {
    const qs = new URLSearchParams({ appid: DEV_CREDENTIALS.wechat.appId, secret: DEV_CREDENTIALS.wechat.secret, js_code: code, grant_type: 'authorization_code' });
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(`${cloud.urls.wechat}/sns/jscode2session?${qs}`, { agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    return JSON.parse(body);
  }

  test('wx.login gets a one-time code for the runtime\'s openid; setOpenid switches identity', async () => {
    const rt = createWxRuntime({ wechatUrl: cloud.urls.wechat, openid: 'oUserAlpha01' });
    try {
      const r = await wxCall(rt.wx.login, {}).result;
      expect(r.ok).toBe(true);
      expect(r.res.errMsg).toBe('login:ok');
      expect(r.res.code).toMatch(/^[0-9a-f]{32}$/);
      expect((await code2Session(r.res.code)).openid).toBe('oUserAlpha01');
      expect((await code2Session(r.res.code)).errcode).toBe(40163); // single use
      rt.setOpenid('oUserBeta002');
      const again = await rt.wx.login(); // Promise form
      expect((await code2Session(again.code)).openid).toBe('oUserBeta002');
      // the same through the SDK's wx adapter
      const { code } = await createWxAdapter(rt.wx).login();
      expect((await code2Session(code)).openid).toBe('oUserBeta002');
    } finally {
      await rt.close();
    }
  });

  test('without wechatUrl, or with an openid the emulator rejects, wx.login fails', async () => {
    const rt = createWxRuntime();
    const bad = createWxRuntime({ wechatUrl: cloud.urls.wechat, openid: 'x' });
    try {
      const r = await wxCall(rt.wx.login, {}).result;
      expect(r.ok).toBe(false);
      expect(r.res.errMsg).toMatch(/^login:fail no WeChat service/);
      const b = await wxCall(bad.wx.login, {}).result;
      expect(b.res.errMsg).toMatch(/^login:fail 400 invalid args/);
    } finally {
      await rt.close();
      await bad.close();
    }
  });
});

describe('system info, install and close', () => {
  test('getSystemInfoSync / getAppBaseInfo report the configured SDKVersion; the adapter reads it', async () => {
    const rt = createWxRuntime({ sdkVersion: '2.9.0' });
    try {
      expect(rt.wx.getSystemInfoSync()).toMatchObject({ SDKVersion: '2.9.0', platform: 'devtools', windowWidth: 390 });
      expect(rt.wx.getAppBaseInfo()).toMatchObject({ SDKVersion: '2.9.0' });
      expect(rt.wx.getWindowInfo()).toMatchObject({ pixelRatio: 3, windowHeight: 844 });
      expect(rt.wx.canIUse('getFileSystemManager.readFile.position')).toBe(true);
      const adapter = createWxAdapter(rt.wx);
      expect(adapter.sdkVersion()).toBe('2.9.0');
      // the adapter refuses ranged reads below 2.10.0, which this runtime reports
      const p = rt.files.writeTemp('r.bin', 'abcdef');
      await expect(adapter.fs.readRange(p, 0, 2)).rejects.toMatchObject({ code: 'UNSUPPORTED_PLATFORM' });
    } finally {
      await rt.close();
    }
  });

  test('install() sets globalThis.wx; close() restores what was there and removes its own sandbox', async () => {
    const g = globalThis as unknown as { wx?: unknown };
    const before = g.wx;
    const rt = createWxRuntime();
    rt.install();
    expect(g.wx).toBe(rt.wx);
    const dir = rt.files.sandboxDir;
    expect(nodeFs.existsSync(dir)).toBe(true);
    await rt.close();
    expect(g.wx).toBe(before);
    expect(nodeFs.existsSync(dir)).toBe(false);
  });

  test('close() fails whatever is still in flight with "abort"', async () => {
    const rt = createWxRuntime();
    const base = server.seen.length;
    const r = wxCall(rt.wx.request, { url: `${server.url}/hold?id=closing` });
    await server.waitFor(base + 1);
    await rt.close();
    expect((await r.result).res.errMsg).toBe('request:fail abort');
    held.delete('closing');
  });
});

describe('kill(): the app is killed — nothing reaches it any more', () => {
  test('no success / fail / complete / progress / header callbacks (in flight, queued, delayed, already scheduled, or called later), no timers, no onAppHide / onAppShow; sockets destroyed; storage and file writes after the kill are not persisted', async () => {
    const sandboxDir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'wx-kill-'));
    const LATEST_APP_TIMER_MS = 20; // backgroundInterruptMs below; the app timers in this test are 5 ms and 0 ms
    const rt = createWxRuntime({ sandboxDir, maxConcurrent: 3, backgroundInterruptMs: LATEST_APP_TIMER_MS });
    const calls: string[] = [];
    const cb = (name: string) => ({
      success: () => calls.push(`${name}:success`),
      fail: () => calls.push(`${name}:fail`),
      complete: () => calls.push(`${name}:complete`),
    });
    try {
      const base = server.seen.length;
      rt.wx.setStorageSync('before', 1);
      const file = rt.files.writeTemp('k.bin', Buffer.alloc(4 * 1024 * 1024, 7));
      // in flight: a held request, an upload whose body is still streaming to a held response, a held download
      rt.wx.request({ url: `${server.url}/hold?id=k1`, ...cb('request') });
      const up = rt.wx.uploadFile({ url: `${server.url}/hold?id=k2`, filePath: file, name: 'f', ...cb('uploadFile') });
      up.onProgressUpdate(() => calls.push('upload:progress'));
      up.onHeadersReceived(() => calls.push('upload:headers'));
      rt.wx.downloadFile({ url: `${server.url}/hold?id=k3`, ...cb('downloadFile') });
      // queued behind the cap
      rt.wx.request({ url: `${server.url}/hold?id=k4`, ...cb('queued') });
      await server.waitFor(base + 3);
      const sockets = ['k1', 'k3'].map((id) => held.get(id)!.socket!);
      const upSocket = held.get('k2')!.socket!;
      // app-side listeners and timers
      rt.wx.onAppHide(() => calls.push('onAppHide'));
      rt.wx.onAppShow(() => calls.push('onAppShow'));
      rt.timers.setTimeout(() => calls.push('timer'), 5);
      // a delivery already scheduled (storage / fs callbacks come on the next tick)
      rt.wx.getStorage({ key: 'before', ...cb('getStorage') });
      rt.wx.getFileSystemManager().access({ path: file, ...cb('access') });
      const atKill = calls.length; // upload progress before the kill is fine
      expect(calls.filter((c) => c !== 'upload:progress')).toEqual([]);
      const killing = rt.kill();
      expect(rt.killed).toBe(true);
      // after the kill: new calls of every kind, lifecycle, writes
      rt.wx.request({ url: `${server.url}/ok`, ...cb('afterRequest') });
      rt.wx.login(cb('afterLogin'));
      rt.wx.setStorage({ key: 'x', data: 1, ...cb('afterSetStorage') });
      rt.wx.setStorageSync('after', 2);
      rt.wx.removeStorageSync('before');
      rt.wx.getFileSystemManager().writeFileSync(`${rt.wx.env.USER_DATA_PATH}/after.txt`, 'x', 'utf8');
      rt.wx.getFileSystemManager().writeFile({ filePath: `${rt.wx.env.USER_DATA_PATH}/after2.txt`, data: 'x', ...cb('afterWriteFile') });
      rt.timers.setTimeout(() => calls.push('timerAfter'), 0);
      rt.app.hide();
      rt.app.show();
      await killing;
      // Node runs timers in due order: once a timer due after every app timer (5 ms, 0 ms), the scheduled deliveries
      // (0 ms) and the interrupt grace period (20 ms) has fired, each of them has had its chance to call back
      await new Promise<void>((r) => setTimeout(r, LATEST_APP_TIMER_MS + 1));
      expect(calls.slice(atKill)).toEqual([]);
      expect(rt.app.hidden).toBe(false);
      // the server saw no new request, and the held connections were destroyed
      expect(server.seen.slice(base).map((s) => s.url).sort()).toEqual(['/hold?id=k1', '/hold?id=k2', '/hold?id=k3']);
      for (const s of [...sockets, upSocket]) expect(s.destroyed).toBe(true);
      expect(server.seen[base + 1].complete).toBe(false);
      expect(rt.inflight()).toEqual({ active: 0, queued: 0 });
      expect(rt.requests.every((r) => r.endedAt !== undefined)).toBe(true);
      // storage written before the kill survives; writes after it do not
      await rt.close();
      expect(nodeFs.existsSync(path.join(sandboxDir, 'usr', 'after.txt'))).toBe(false);
      expect(nodeFs.existsSync(path.join(sandboxDir, 'usr', 'after2.txt'))).toBe(false);
      const rt2 = createWxRuntime({ sandboxDir });
      try {
        expect(rt2.wx.getStorageSync('before')).toBe(1);
        expect(rt2.wx.getStorageSync('after')).toBe('');
      } finally {
        await rt2.close();
      }
    } finally {
      for (const id of ['k1', 'k2', 'k3', 'k4']) held.delete(id);
      await rt.close();
      nodeFs.rmSync(sandboxDir, { recursive: true, force: true });
    }
  });
});
