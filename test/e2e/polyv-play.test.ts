/**
 * End to end through the Node wx runtime, our wx adapter, AppClient and PolyvPlayer, over real loopback sockets:
 * login → play info → m3u8 with the token → key (200) → decrypt the first segment → valid MPEG-TS; and the 403s,
 * the disposable token, definition switch, recovery and the bad inputs.
 */
import { createDecipheriv } from 'node:crypto';
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { AppClient, createWxAdapter, PlatformAdapter, PolyvErrorCode, PolyvPlayer } from 'mp-media-sdk';
import { polyvSignedForm } from '../../server/app/polyv/sign';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

let stack: DevStack;
let rt: WxRuntime;
let adapter: PlatformAdapter;
let appClient: AppClient;
let samples: Array<{ videoId: string; title: string; playable: boolean; definitions: string[] }>;
const players: PolyvPlayer[] = [];

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: {} });
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oPolyvE2E_0001' });
  adapter = createWxAdapter(rt.wx);
  appClient = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  samples = (await appClient.call<{ samples: typeof samples }>('GET', '/api/polyv/samples')).samples;
});
afterAll(async () => {
  players.forEach((p) => p.destroy());
  await rt.close();
  await stack.close();
});
afterEach(() => rt.faults.clear());

function newPlayer(): PolyvPlayer {
  const p = new PolyvPlayer({ appClient, adapter });
  players.push(p);
  return p;
}

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await adapter.request<string>({ url, dataType: 'text' });
  return { status: res.statusCode, text: String(res.data) };
}

async function getBytes(url: string): Promise<{ status: number; data: Buffer }> {
  const res = await adapter.request<ArrayBuffer>({ url, responseType: 'arraybuffer' });
  return { status: res.statusCode, data: Buffer.from(res.data) };
}

function parsePlaylist(text: string): Array<{ uri: string; keyUri: string; iv: Buffer }> {
  const out: Array<{ uri: string; keyUri: string; iv: Buffer }> = [];
  let keyUri = '';
  let iv = Buffer.alloc(16);
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXT-X-KEY:')) {
      expect(line).toContain('METHOD=AES-128');
      keyUri = /URI="([^"]+)"/.exec(line)![1];
      iv = Buffer.from(/IV=0x([0-9a-fA-F]{32})/.exec(line)![1], 'hex');
    } else if (line && !line.startsWith('#')) out.push({ uri: line, keyUri, iv });
  }
  return out;
}

function withoutParam(url: string, name: string): string {
  const [base, qs = ''] = url.split('?');
  const kept = qs.split('&').filter((p) => p && !p.startsWith(`${name}=`));
  return kept.length ? `${base}?${kept.join('&')}` : base;
}

describe('Polyv playback end to end (wx runtime → AppServer → local Polyv cloud)', () => {
  test('login → play info → m3u8 with the token → key 200 → first segment decrypts to MPEG-TS (0x47 every 188 bytes)', async () => {
    expect(samples.filter((s) => s.playable).length).toBeGreaterThanOrEqual(3);
    const player = newPlayer();
    const source = await player.load(samples[0].videoId);
    expect(player.info).toMatchObject({ title: samples[0].title, duration: 6 });
    expect(source.src).toMatch(/\.m3u8\?token=[^&]+&iswxa=1&pid=\d{13}X\d{7}$/);
    expect(player.timeLeftMs()).toBeGreaterThan(500000);
    // The login went through wx.login → the WeChat emulator → /api/login.
    expect(rt.requests.some((r) => r.url.endsWith('/api/login'))).toBe(true);

    const m3u8 = await getText(source.src);
    expect(m3u8.status).toBe(200);
    const segs = parsePlaylist(m3u8.text);
    expect(segs).toHaveLength(3);
    const key = await getBytes(segs[0].keyUri);
    expect(key.status).toBe(200);
    expect(key.data.length).toBe(16);
    const enc = await getBytes(segs[0].uri);
    expect(enc.status).toBe(200);
    const d = createDecipheriv('aes-128-cbc', key.data, segs[0].iv);
    const ts = Buffer.concat([d.update(enc.data), d.final()]);
    expect(ts.length % 188).toBe(0);
    expect(ts.length).toBeGreaterThan(188 * 50);
    for (let i = 0; i < ts.length; i += 188) if (ts[i] !== 0x47) throw new Error(`sync byte missing at ${i}`);
    // A wrong key does not give MPEG-TS: the check above is meaningful.
    const wrong = createDecipheriv('aes-128-cbc', Buffer.alloc(16, 1), segs[0].iv);
    wrong.setAutoPadding(false);
    const garbage = Buffer.concat([wrong.update(enc.data), wrong.final()]);
    expect(garbage[0] === 0x47 && garbage[188] === 0x47 && garbage[376] === 0x47).toBe(false);
  });

  test('key without a token, with a wrong token, with iswxa missing → 403', async () => {
    const player = newPlayer();
    const source = await player.load(samples[0].videoId);
    const keyUri = parsePlaylist((await getText(source.src)).text)[0].keyUri;
    expect((await getBytes(keyUri)).status).toBe(200);
    expect((await getBytes(withoutParam(keyUri, 'token'))).status).toBe(403);
    expect((await getBytes(keyUri.replace(/token=[^&]+/, 'token=0123456789abcdef0123456789abcdef'))).status).toBe(403);
    expect((await getBytes(withoutParam(keyUri, 'iswxa'))).status).toBe(403);
    // The m3u8 requested without the token carries no token into the key URI: the player would get 403.
    const bare = parsePlaylist((await getText(player.info!.definitions[0].url)).text)[0].keyUri;
    expect((await getBytes(bare)).status).toBe(403);
  });

  test('disposable token: the first key fetch 200, the second 403', async () => {
    const dev = DEV_CREDENTIALS.polyv;
    const form = polyvSignedForm(
      { appId: dev.appId, videoId: samples[0].videoId, viewerId: 'disposable01', viewerIp: '127.0.0.1', disposable: true, iswxa: 1, expires: 600, ts: Date.now() },
      dev.appSecret,
    );
    const created = await adapter.request<{ code: number; data: { token: string; disposable: boolean } }>({
      url: `${stack.cloud!.polyv}/service/v2/token/create-child`,
      method: 'POST',
      header: { 'content-type': 'application/x-www-form-urlencoded' },
      data: new URLSearchParams(form).toString(),
    });
    expect(created.data).toMatchObject({ code: 200, data: { disposable: true } });
    const p = newPlayer();
    await p.load(samples[0].videoId);
    const info = p.info!;
    const m3u8 = await getText(`${info.definitions[0].url}?token=${created.data.data.token}&iswxa=1&pid=1X1000000`);
    const keyUri = parsePlaylist(m3u8.text)[0].keyUri;
    expect((await getBytes(keyUri)).status).toBe(200);
    expect((await getBytes(keyUri)).status).toBe(403);
  });

  test('definition switch keeps the position and the new m3u8 opens its key with the same token', async () => {
    const player = newPlayer();
    await player.load(samples[2].videoId);
    expect(player.info!.definitions.map((d) => d.label)).toEqual(['流畅', '高清', '超清']);
    player.updatePosition(3.2);
    const s = await player.switchDefinition(2);
    expect(s).toMatchObject({ definitionIndex: 2, label: '超清', initialTime: 3.2, reason: 'switch' });
    expect(s.src).toMatch(/_3\.m3u8\?token=/);
    const seg = parsePlaylist((await getText(s.src)).text);
    expect((await getBytes(seg[0].keyUri)).status).toBe(200);
  });

  test('recover() after a <video> error: a fresh token round trip, the key opens again, resume at the position', async () => {
    const player = newPlayer();
    const src0 = (await player.load(samples[1].videoId)).src;
    const tokenCalls = () => rt.requests.filter((r) => r.url.endsWith('/api/polyv/play')).length;
    const before = tokenCalls();
    const s = await player.recover(4.5, 'MEDIA_ERR_SRC_NOT_SUPPORTED');
    expect(tokenCalls()).toBe(before + 1);
    expect(s).toMatchObject({ reason: 'recover', initialTime: 4.5 });
    expect(s.src).not.toBe(src0); // same token from Polyv's reuse rule, but a new pid: <video> reloads
    const keyUri = parsePlaylist((await getText(s.src)).text)[0].keyUri;
    expect((await getBytes(keyUri)).status).toBe(200);
    await expect(player.recover(4.5)).rejects.toMatchObject({ code: PolyvErrorCode.PlaybackFailed });
  });

  test('bad inputs: empty vid, unknown vid, malformed vid, a video still encoding → typed errors with the server code', async () => {
    const player = newPlayer();
    await expect(player.load('')).rejects.toMatchObject({ code: PolyvErrorCode.EmptyVid });
    await expect(player.load('localdev01ffffffffffffffffffffff_l')).rejects.toMatchObject({
      code: PolyvErrorCode.TokenLoadFailed,
      details: expect.objectContaining({ serverCode: 'PolyvVideoNotFound', statusCode: 404 }),
    });
    await expect(player.load('not-a-vid')).rejects.toMatchObject({ code: PolyvErrorCode.TokenLoadFailed, details: expect.objectContaining({ serverCode: 'InvalidVideoId' }) });
    const encoding = samples.find((s) => !s.playable)!;
    await expect(player.load(encoding.videoId)).rejects.toMatchObject({ code: PolyvErrorCode.TokenLoadFailed, details: expect.objectContaining({ serverCode: 'PolyvVideoNotReady' }) });
  });

  test('not logged in: the route answers 401 without a session; a failing login surfaces as POLYV_TOKEN_LOAD_FAILED', async () => {
    const raw = await adapter.request<{ error: { code: string } }>({ url: `${stack.appServerUrl}/api/polyv/play`, method: 'POST', header: { 'content-type': 'application/json' }, data: { videoId: samples[0].videoId } });
    expect(raw.statusCode).toBe(401);
    expect(raw.data.error.code).toBe('Unauthorized');
    const fresh = new AppClient({ baseUrl: stack.appServerUrl, adapter, storageKey: 'polyv-e2e:no-session' });
    rt.faults.add({ match: { url: /\/api\/login$/ }, action: { type: 'status', status: 500, body: '{"error":{"code":"InternalError","message":"down"}}' } });
    const p = new PolyvPlayer({ appClient: fresh, adapter });
    players.push(p);
    await expect(p.load(samples[0].videoId)).rejects.toMatchObject({ code: PolyvErrorCode.TokenLoadFailed, details: expect.objectContaining({ serverCode: 'LOGIN_FAILED' }) });
  });

  test('network failure on the play call → POLYV_NETWORK_ERROR', async () => {
    rt.faults.add({ match: { url: /\/api\/polyv\/play$/ }, action: { type: 'reset' } });
    await expect(newPlayer().load(samples[0].videoId)).rejects.toMatchObject({ code: PolyvErrorCode.Network });
  });
});
