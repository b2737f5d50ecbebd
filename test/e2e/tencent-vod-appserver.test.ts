/**
 * The AppServer's /api/tencent-vod/* over real sockets with a task flow configured and PUSH events: signature
 * contents (server-chosen procedure / class / sub app / context, one-time, short validity), the PUSH receiver
 * (Sign/T checked, idempotent, retried by the cloud), the video states uploaded → processing → ready, playback of
 * what was uploaded, and owner-only access.
 */
import { createServer, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { AppClient, createWxAdapter, TencentVodUploader } from 'mp-media-sdk';
import type { TencentVodResult } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { until } from '../harness/until';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';

jest.setTimeout(120000);
const SIGN_KEY = 'pushKey123';
let stack: DevStack;
const runtimes: WxRuntime[] = [];
let relay: Server | undefined;

const api = () =>
  new vod.v20180717.Client({ credential: DEV_CREDENTIALS.tencent, region: '', profile: { httpProfile: { endpoint: stack.cloud!.tvod.replace(/^http:\/\//, ''), protocol: 'http://' } } });

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: { ...process.env, TENCENT_VOD_PROCEDURE: 'LongVideoPreset', TENCENT_VOD_CLASS_ID: '7', TENCENT_VOD_SUB_APP_ID: '1500000001', TENCENT_VOD_EVENTS: 'push', TENCENT_VOD_EVENT_SIGN_KEY: SIGN_KEY } });
  await api().ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: `${stack.appServerUrl}/api/tencent-vod/events`, SignKey: SIGN_KEY });
  await fetch(`${stack.cloud!.tvod}/_admin/settings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ procedureMode: 'manual', pushRetryDelaysMs: [20, 40, 80] }) });
});
afterAll(async () => {
  while (runtimes.length) await runtimes.pop()!.close();
  if (relay) await new Promise((r) => relay!.close(r));
  await stack.close();
});

function user(): { rt: WxRuntime; app: AppClient } {
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `oapp${randomBytes(6).toString('hex')}`, hostMap: { 'vod2.qcloud.com': stack.cloud!.tvod, 'vod2.dnsv1.com': stack.cloud!.tvod } });
  runtimes.push(rt);
  return { rt, app: new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) }) };
}


async function uploadAs(u: { rt: WxRuntime; app: AppClient }, size = 300000): Promise<{ res: TencentVodResult; path: string }> {
  const path = u.rt.files.writeTempSized(`a${randomBytes(3).toString('hex')}.mp4`, size, 5);
  const res = await TencentVodUploader.start({
    adapter: createWxAdapter(u.rt.wx),
    mediaFile: { tempFilePath: path },
    mediaName: 'push test',
    getSignature: () => u.app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature),
  }).done();
  return { res, path };
}

describe('AppServer /api/tencent-vod with a task flow and PUSH events', () => {
  it('signature: server-chosen procedure / classId / vodSubAppId, the user context, one-time, 600 s; client parameters refused; login required', async () => {
    const a = user();
    const s = await a.app.call<{ signature: string; expireTime: number }>('POST', '/api/tencent-vod/signature', {});
    const plain = new URLSearchParams(Buffer.from(s.signature, 'base64').subarray(20).toString('utf8'));
    expect(plain.get('secretId')).toBe(DEV_CREDENTIALS.tencent.secretId);
    expect(Number(plain.get('expireTime')) - Number(plain.get('currentTimeStamp'))).toBe(600);
    expect(Number(plain.get('expireTime'))).toBe(s.expireTime);
    expect(plain.get('procedure')).toBe('LongVideoPreset');
    expect(plain.get('classId')).toBe('7');
    expect(plain.get('vodSubAppId')).toBe('1500000001');
    expect(plain.get('oneTimeValid')).toBe('1');
    expect(plain.get('sourceContext')).toMatch(/^u1\.[A-Za-z0-9_-]{22}$/);
    expect(plain.get('sessionContext')).toBe(plain.get('sourceContext'));
    expect(plain.get('sourceContext')).not.toContain(a.rt.openid);
    const s2 = await a.app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {});
    expect(new URLSearchParams(Buffer.from(s2.signature, 'base64').subarray(20).toString()).get('random')).not.toBe(plain.get('random'));
    await expect(a.app.call('POST', '/api/tencent-vod/signature', { procedure: 'Evil' })).rejects.toMatchObject({ code: 'InvalidParameter' });
    const anon = await fetch(`${stack.appServerUrl}/api/tencent-vod/signature`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anon.status).toBe(401);
  });

  it('NewFileUpload by PUSH → processing; ProcedureStateChanged FINISH → ready; the owner plays it, another user gets 403', async () => {
    const a = user();
    const b = user();
    const { res, path } = await uploadAs(a);
    const state = async (u: typeof a) => (await u.app.call<{ videos: any[] }>('GET', '/api/tencent-vod/videos')).videos.find((v) => v.fileId === res.fileId)?.state;
    await until(async () => (await state(a)) === 'processing', 'processing (NewFileUpload with a ProcedureTaskId, pushed)');
    await fetch(`${stack.cloud!.tvod}/_admin/procedures/${res.fileId}/finish`, { method: 'POST' });
    await until(async () => (await state(a)) === 'ready', 'ready (ProcedureStateChanged FINISH, pushed)');
    expect(await state(b)).toBeUndefined();
    const detail = await a.app.call<any>('GET', `/api/tencent-vod/videos/${res.fileId}`);
    expect(detail).toMatchObject({ fileId: res.fileId, name: 'push test', state: 'ready', mediaUrl: res.videoUrl, size: 300000, type: 'mp4' });
    const media = await fetch(detail.mediaUrl, { headers: { range: 'bytes=0-' } });
    expect(media.status).toBe(206);
    expect(Buffer.compare(Buffer.from(await media.arrayBuffer()), readFileSync(a.rt.files.realPath(path)))).toBe(0);
    await expect(b.app.call('GET', `/api/tencent-vod/videos/${res.fileId}`)).rejects.toMatchObject({ code: 'Forbidden' });
    await expect(a.app.call('GET', '/api/tencent-vod/videos/123')).rejects.toMatchObject({ code: 'VideoNotFound' });
    await expect(a.app.call('GET', '/api/tencent-vod/videos/abc')).rejects.toMatchObject({ code: 'InvalidParameter' });
    const pushes = (await (await fetch(`${stack.cloud!.tvod}/_admin/events`)).json()).pushes.filter((p: any) => p.fileId === res.fileId);
    expect(pushes.map((p: any) => [p.eventType, p.status])).toEqual([
      ['NewFileUpload', 200],
      ['ProcedureStateChanged', 200],
    ]);
  });

  it('PUSH receiver: a wrong or missing Sign and an expired T are 401; the same event twice applies once; bad bodies are 400', async () => {
    const post = (body: unknown) => fetch(`${stack.appServerUrl}/api/tencent-vod/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const a = user();
    const { res } = await uploadAs(a);
    const ctx = new URLSearchParams(Buffer.from((await a.app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {})).signature, 'base64').subarray(20).toString()).get('sourceContext');
    const t = Math.floor(Date.now() / 1000) + 600;
    const sign = (T: number) => require('node:crypto').createHash('md5').update(`${SIGN_KEY}${T}`).digest('hex');
    const ev = { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { TaskId: 'manual-task-1', Status: 'PROCESSING', FileId: res.fileId, SessionContext: ctx } };
    expect((await post({ ...ev, T: String(t), Sign: 'x'.repeat(32) })).status).toBe(401);
    expect((await post(ev)).status).toBe(401);
    expect((await post({ ...ev, T: String(t - 1200), Sign: sign(t - 1200) })).status).toBe(401);
    const first = await (await post({ ...ev, T: String(t), Sign: sign(t) })).json();
    const again = await (await post({ ...ev, T: String(t), Sign: sign(t) })).json();
    expect(first).toEqual({ ok: true, applied: true });
    expect(again).toEqual({ ok: true, applied: false });
    expect((await post({ nope: 1 })).status).toBe(400);
  });

  it('the cloud retries a PUSH the receiver failed (500, then 200)', async () => {
    let hits = 0;
    relay = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        hits++;
        if (hits === 1) return void res.writeHead(500).end('down');
        const r = await fetch(`${stack.appServerUrl}/api/tencent-vod/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
      });
    });
    await new Promise<void>((r) => relay!.listen(0, '127.0.0.1', () => r()));
    const port = (relay.address() as { port: number }).port;
    await api().ModifyEventConfig({ NotificationUrl: `http://127.0.0.1:${port}/` });
    try {
      const a = user();
      const { res } = await uploadAs(a);
      await until(async () => (await a.app.call<{ videos: any[] }>('GET', '/api/tencent-vod/videos')).videos.some((v) => v.fileId === res.fileId), 'the retried PUSH');
      const pushes = (await (await fetch(`${stack.cloud!.tvod}/_admin/events`)).json()).pushes.filter((p: any) => p.fileId === res.fileId);
      expect(pushes.map((p: any) => [p.attempt, p.status])).toEqual([
        [1, 500],
        [2, 200],
      ]);
    } finally {
      await api().ModifyEventConfig({ NotificationUrl: `${stack.appServerUrl}/api/tencent-vod/events` });
    }
  });

  it('before any event: GET /videos/:fileId asks DescribeMediaInfos, the file\'s SourceContext decides (owner → uploaded, other → 403); ProcessMediaByProcedure then moves it on', async () => {
    await api().ModifyEventConfig({ UploadMediaCompleteEventSwitch: 'OFF' });
    try {
      const a = user();
      const b = user();
      const { res } = await uploadAs(a);
      await expect(b.app.call('GET', `/api/tencent-vod/videos/${res.fileId}`)).rejects.toMatchObject({ code: 'Forbidden' });
      expect(await a.app.call<any>('GET', `/api/tencent-vod/videos/${res.fileId}`)).toMatchObject({ fileId: res.fileId, state: 'uploaded', mediaUrl: res.videoUrl });
      const list = await a.app.call<{ videos: any[] }>('GET', '/api/tencent-vod/videos');
      expect(list.videos.find((v) => v.fileId === res.fileId)).toMatchObject({ state: 'uploaded' });
      const task = await api().ProcessMediaByProcedure({ FileId: res.fileId, ProcedureName: 'LongVideoPreset' });
      expect(task.TaskId).toMatch(/Procedure/);
      await fetch(`${stack.cloud!.tvod}/_admin/procedures/${res.fileId}/finish`, { method: 'POST' });
      await until(async () => (await a.app.call<any>('GET', `/api/tencent-vod/videos/${res.fileId}`)).state === 'ready', 'ready after ProcessMediaByProcedure');
    } finally {
      await api().ModifyEventConfig({ UploadMediaCompleteEventSwitch: 'ON' });
    }
  });
});
