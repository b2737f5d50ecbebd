/**
 * The local Polyv cloud's wire protocol over real loopback HTTP: token APIs (sign, ts window, missing params, error
 * envelope, reuse, disposable), video-info APIs, and the encrypted HLS whose key is guarded by the token.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCloud, RunningCloud } from '../../server/cloud';
import { polyvProvider } from '../../server/cloud/polyv';
import { polyvSignedForm } from '../../server/app/polyv/sign';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

const dev = DEV_CREDENTIALS.polyv;
/** ffmpeg is optional (not a project dependency): when present, it plays the encrypted HLS as a real player would. */
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
let cloud: RunningCloud;
let base: string;
let dataDir: string;
let samples: Array<{ vid: string; playable: boolean; definitions: string[] }>;
let offset = 0;

const now = () => Date.now() + offset;
const shift = (ms: number) => {
  offset = ms;
  cloud.setClockOffset(ms);
};

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'polyv-cloud-'));
  cloud = await startCloud({ dataDir, providers: [polyvProvider()], quiet: true });
  base = cloud.urls.polyv;
  samples = (await (await fetch(`${base}/_admin/samples`)).json()).samples;
});
afterAll(async () => {
  await cloud.close();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => shift(0));

type Envelope = { code: number; status: string; message: string; data: any };

async function postForm(p: string, form: Record<string, string>, contentType = 'application/x-www-form-urlencoded'): Promise<{ http: number; body: Envelope }> {
  const res = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': contentType }, body: new URLSearchParams(form).toString() });
  return { http: res.status, body: await res.json() };
}

function childForm(extra: Record<string, string | number | boolean | undefined> = {}, secret: string = dev.appSecret) {
  return polyvSignedForm(
    { appId: dev.appId, videoId: samples[0].vid, viewerId: 'viewer01', viewerIp: '10.1.2.3', expires: 600, disposable: false, iswxa: 1, ts: now(), ...extra },
    secret,
  );
}

function mainForm(extra: Record<string, string | number | boolean | undefined> = {}, secret: string = dev.secretKey) {
  return polyvSignedForm({ userId: dev.userId, videoId: samples[0].vid, viewerId: 'viewer01', viewerIp: '10.1.2.3', iswxa: 1, ts: now(), ...extra }, secret);
}

const createChild = (form: Record<string, string>) => postForm('/service/v2/token/create-child', form);
const v1Token = (form: Record<string, string>) => postForm('/service/v1/token', form);

/** Parses the playlist: the key URI and IV in force for each segment. */
function parsePlaylist(text: string): Array<{ uri: string; keyUri: string; iv: Buffer; duration: number }> {
  const out: Array<{ uri: string; keyUri: string; iv: Buffer; duration: number }> = [];
  let keyUri = '';
  let iv: Buffer | undefined;
  let duration = 0;
  let seq = 0;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) seq = Number(line.split(':')[1]);
    if (line.startsWith('#EXT-X-KEY:')) {
      expect(line).toMatch(/METHOD=AES-128/);
      keyUri = /URI="([^"]+)"/.exec(line)![1];
      const m = /IV=0x([0-9a-fA-F]{32})/.exec(line);
      iv = m ? Buffer.from(m[1], 'hex') : undefined;
    } else if (line.startsWith('#EXTINF:')) duration = parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      const defaultIv = Buffer.alloc(16);
      defaultIv.writeUInt32BE(seq + out.length, 12);
      out.push({ uri: line, keyUri, iv: iv || defaultIv, duration });
    }
  }
  return out;
}

function expectMpegTs(buf: Buffer): void {
  expect(buf.length).toBeGreaterThan(188 * 10);
  expect(buf.length % 188).toBe(0);
  for (let i = 0; i < buf.length; i += 188) if (buf[i] !== 0x47) throw new Error(`no sync byte at ${i}`);
}

describe('token APIs: create-child (sub-account) and v1/token (main account)', () => {
  test('create-child: form-encoded, signed → the documented envelope; expires in s, ttl/createdTime/expiredTime in ms', async () => {
    const { http, body } = await createChild(childForm({ expires: 300, viewerId: 'fresh01' }));
    expect(http).toBe(200);
    expect(body).toMatchObject({ code: 200, status: 'success', message: '' });
    const d = body.data;
    expect(d).toMatchObject({ userId: dev.userId, appId: dev.appId, videoId: samples[0].vid, viewerId: 'fresh01', viewerIp: '10.1.2.3', iswxa: 1, disposable: false, ttl: 300000 });
    expect(d.expiredTime - d.createdTime).toBe(300000);
    expect(Math.abs(d.createdTime - Date.now())).toBeLessThan(60000);
    expect(d.token).toMatch(/^[0-9a-f-]{36}-[\w-]{8}$/);
  });

  test('v1/token with the main account userId works the same way (default expires 600 s)', async () => {
    const { http, body } = await v1Token(mainForm({ viewerId: 'mainviewer' }));
    expect(http).toBe(200);
    expect(body.data).toMatchObject({ userId: dev.userId, videoId: samples[0].vid, ttl: 600000, iswxa: 1 });
    expect(body.data.appId).toBeUndefined();
    expect(body.data.token).toMatch(/^[0-9a-f]{32}$/);
  });

  test('bad sign: wrong secret, a tampered value, lowercase hex, a param added after signing → 403 invalid_signature', async () => {
    const wrongSecret = await createChild(childForm({}, 'not-the-secret'));
    expect(wrongSecret).toEqual({ http: 403, body: { code: 403, status: 'error', message: 'invalid_signature', data: 'invalid signature.' } });
    const tampered = childForm();
    tampered.viewerId = 'someoneelse';
    expect((await createChild(tampered)).body.message).toBe('invalid_signature');
    const lower = childForm();
    lower.sign = lower.sign.toLowerCase();
    expect((await createChild(lower)).body.message).toBe('invalid_signature');
    const extra = { ...childForm(), viewerName: 'added-late' };
    expect((await createChild(extra)).body.message).toBe('invalid_signature');
    // main account: the sub-account secret does not sign for the userId
    expect((await v1Token(mainForm({}, dev.appSecret))).body.message).toBe('invalid_signature');
  });

  test('missing parameters: no sign → 403 sign_not_found; no videoId / viewerId / ts / appId → 400 <param>_not_found', async () => {
    const noSign = childForm();
    delete (noSign as Record<string, string | undefined>).sign;
    expect(await createChild(noSign)).toEqual({ http: 403, body: { code: 403, status: 'error', message: 'sign_not_found', data: 'sign parameter not found.' } });
    for (const f of ['videoId', 'viewerId', 'ts', 'appId']) {
      const form: Record<string, string> = { ...childForm() };
      delete form[f];
      form.sign = polyvSignedForm(form, dev.appSecret).sign;
      const r = await createChild(form);
      expect(r.http).toBe(400);
      expect(r.body).toMatchObject({ code: 400, status: 'error', message: `${f}_not_found` });
    }
    const noUser: Record<string, string> = { ...mainForm() };
    delete noUser.userId;
    expect((await v1Token(noUser)).body.message).toBe('userId_not_found');
  });

  test('stale ts: 11 minutes old or ahead → 403 ts_expired; 9 minutes off is accepted; non-13-digit ts → 400', async () => {
    expect((await createChild(childForm({ ts: Date.now() - 11 * 60000 }))).body).toMatchObject({ code: 403, message: 'ts_expired' });
    expect((await createChild(childForm({ ts: Date.now() + 11 * 60000 }))).body).toMatchObject({ code: 403, message: 'ts_expired' });
    expect((await createChild(childForm({ ts: Date.now() - 9 * 60000 }))).body.code).toBe(200);
    // The cloud's clock, not the test's, decides: shift it and a "now" ts from the caller becomes stale.
    cloud.setClockOffset(15 * 60000);
    expect((await createChild(childForm({ ts: Date.now() }))).body).toMatchObject({ code: 403, message: 'ts_expired' });
    cloud.setClockOffset(0);
    expect((await createChild(childForm({ ts: Math.floor(Date.now() / 1000) }))).body).toMatchObject({ code: 400, message: 'ts_invalid' });
  });

  test('unknown account: appId → 400 app_not_found, userId → 400 user_not_found', async () => {
    expect((await createChild(childForm({ appId: 'nosuchapp' }))).body).toMatchObject({ code: 400, message: 'app_not_found' });
    expect((await v1Token(mainForm({ userId: 'nosuchuser' }))).body).toEqual({ code: 400, status: 'error', message: 'user_not_found', data: 'user secretKey not found.' });
  });

  test('bad values: unknown video, expires > 24 h, iswxa=2, disposable=yes, viewerIp not an IP, viewerId with spaces, JSON body', async () => {
    expect((await createChild(childForm({ videoId: 'localdev01000000000000000000000000_l' }))).body).toMatchObject({ code: 400, message: 'video_not_found' });
    expect((await createChild(childForm({ expires: 86401 }))).body).toMatchObject({ code: 400, message: 'expires_invalid' });
    expect((await createChild(childForm({ iswxa: 2 }))).body).toMatchObject({ code: 400, message: 'iswxa_invalid' });
    expect((await createChild(childForm({ disposable: 'yes' }))).body).toMatchObject({ code: 400, message: 'disposable_invalid' });
    expect((await createChild(childForm({ viewerIp: 'localhost' }))).body).toMatchObject({ code: 400, message: 'viewerIp_invalid' });
    expect((await createChild(childForm({ viewerId: 'a b' }))).body).toMatchObject({ code: 400, message: 'viewerId_invalid' });
    const res = await fetch(`${base}/service/v2/token/create-child`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(childForm()) });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toBe('content_type_invalid');
  });

  test('empty viewerIp: Polyv takes the caller address', async () => {
    const { body } = await createChild(childForm({ viewerIp: '', viewerId: 'noip' }));
    expect(body.data.viewerIp).toBe('127.0.0.1');
  });

  test('reuse: same (videoId, viewerId, viewerIp, iswxa) → same token with extended expiry; any difference → another token', async () => {
    const first = (await createChild(childForm({ viewerId: 'reuse01' }))).body.data;
    shift(100000);
    const second = (await createChild(childForm({ viewerId: 'reuse01' }))).body.data;
    expect(second.token).toBe(first.token);
    expect(second.createdTime).toBe(first.createdTime);
    expect(second.expiredTime - first.expiredTime).toBeGreaterThanOrEqual(99000);
    expect(second.expiredTime - first.expiredTime).toBeLessThan(110000);
    const otherIp = (await createChild(childForm({ viewerId: 'reuse01', viewerIp: '10.9.9.9' }))).body.data;
    const otherWxa = (await createChild(childForm({ viewerId: 'reuse01', iswxa: 0 }))).body.data;
    const otherVideo = (await createChild(childForm({ viewerId: 'reuse01', videoId: samples[1].vid }))).body.data;
    const tokens = new Set([first.token, otherIp.token, otherWxa.token, otherVideo.token]);
    expect(tokens.size).toBe(4);
    // after expiry: a new token
    shift(100000 + 601000);
    const later = (await createChild(childForm({ viewerId: 'reuse01' }))).body.data;
    expect(later.token).not.toBe(first.token);
  });

  test('another account cannot get a token for this video → 403 access_forbidden', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'polyv-cloud2-'));
    const other = await startCloud({
      dataDir: dir,
      quiet: true,
      providers: [polyvProvider({ users: { [dev.userId]: dev.secretKey, otheruser1: 'other-secret' }, apps: { otherapp: { appSecret: 'other-app-secret', userId: 'otheruser1' } } })],
    });
    try {
      const form = polyvSignedForm({ appId: 'otherapp', videoId: samples[0].vid, viewerId: 'x1', viewerIp: '10.0.0.1', iswxa: 1, ts: Date.now() }, 'other-app-secret');
      const res = await fetch(`${other.urls.polyv}/service/v2/token/create-child`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 403, message: 'access_forbidden' });
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encrypted HLS: m3u8 → token-guarded AES-128 key → AES-128-CBC segments', () => {
  const m3u8Of = async (vid: string, df: number, qs: string) => {
    const userId = vid.slice(0, 10);
    const res = await fetch(`${base}/${userId}/${vid.slice(-1)}/${vid.slice(0, 32)}_${df}.m3u8${qs}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/mpegurl/);
    return parsePlaylist(await res.text());
  };
  const keyStatus = async (url: string) => (await fetch(url)).status;

  test('a valid iswxa token opens the key; the segments decrypt to MPEG-TS (0x47 every 188 bytes), for every definition', async () => {
    const { data } = (await createChild(childForm({ viewerId: 'hls01' }))).body;
    for (const df of [1, 2]) {
      const segs = await m3u8Of(samples[0].vid, df, `?token=${data.token}&iswxa=1&pid=123X1000000`);
      expect(segs.length).toBe(3);
      expect(segs.reduce((s, x) => s + x.duration, 0)).toBeCloseTo(6, 1);
      expect(segs[0].keyUri).toContain(`token=${data.token}`);
      expect(segs[0].keyUri).toContain('iswxa=1');
      const keyRes = await fetch(segs[0].keyUri);
      expect(keyRes.status).toBe(200);
      const key = Buffer.from(await keyRes.arrayBuffer());
      expect(key.length).toBe(16);
      for (const s of segs) {
        const enc = Buffer.from(await (await fetch(s.uri)).arrayBuffer());
        expect(enc[0] === 0x47 && enc[188] === 0x47).toBe(false); // really encrypted
        const d = createDecipheriv('aes-128-cbc', key, s.iv);
        expectMpegTs(Buffer.concat([d.update(enc), d.final()]));
      }
    }
  });

  test('key without a token, with a wrong token, without iswxa=1, with an iswxa=0 token, with another video’s token → 403', async () => {
    const good = (await createChild(childForm({ viewerId: 'hls02' }))).body.data.token;
    const wxa0 = (await createChild(childForm({ viewerId: 'hls02', iswxa: 0 }))).body.data.token;
    const other = (await createChild(childForm({ viewerId: 'hls02', videoId: samples[1].vid }))).body.data.token;
    const keyBase = (await m3u8Of(samples[0].vid, 1, ''))[0].keyUri;
    expect(keyBase).not.toContain('?');
    expect(await keyStatus(keyBase)).toBe(403);
    expect(await keyStatus(`${keyBase}?token=not-a-token&iswxa=1`)).toBe(403);
    expect(await keyStatus(`${keyBase}?token=${good}`)).toBe(403);
    expect(await keyStatus(`${keyBase}?token=${good}&iswxa=0`)).toBe(403);
    expect(await keyStatus(`${keyBase}?token=${wxa0}&iswxa=1`)).toBe(403);
    expect(await keyStatus(`${keyBase}?token=${other}&iswxa=1`)).toBe(403);
    expect(await keyStatus(`${keyBase}?token=${good}&iswxa=1`)).toBe(200);
  });

  test('an expired token → key 403', async () => {
    const t = (await createChild(childForm({ viewerId: 'hls03', expires: 60 }))).body.data.token;
    const keyUri = (await m3u8Of(samples[0].vid, 1, `?token=${t}&iswxa=1`))[0].keyUri;
    expect(await keyStatus(keyUri)).toBe(200);
    cloud.setClockOffset(61000);
    expect(await keyStatus(keyUri)).toBe(403);
  });

  test('disposable token: the first key fetch 200, the second 403', async () => {
    const t = (await createChild(childForm({ viewerId: 'hls04', disposable: true }))).body.data;
    expect(t.disposable).toBe(true);
    const keyUri = (await m3u8Of(samples[0].vid, 1, `?token=${t.token}&iswxa=1`))[0].keyUri;
    expect(await keyStatus(keyUri)).toBe(200);
    expect(await keyStatus(keyUri)).toBe(403);
    // A used-up disposable token is not reused: the same tuple gets a new one.
    const again = (await createChild(childForm({ viewerId: 'hls04', disposable: true }))).body.data;
    expect(again.token).not.toBe(t.token);
  });

  (hasFfmpeg ? test : test.skip)('a real HLS player (ffmpeg) decodes all 150 frames with the token, and cannot open the key without it', async () => {
    const { data } = (await createChild(childForm({ viewerId: 'ffmpeg01' }))).body;
    const v = samples[0].vid;
    const url = `${base}/${v.slice(0, 10)}/${v.slice(-1)}/${v.slice(0, 32)}_2.m3u8`;
    const run = (u: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', u, '-f', 'framemd5', '-'], { timeout: 30000, maxBuffer: 8 << 20 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = await run(`${url}?token=${data.token}&iswxa=1&pid=1X1000000`);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n').filter((l) => /^\s*0,/.test(l))).toHaveLength(150); // 6 s × 25 fps
    expect(ok.stdout.split('\n').filter((l) => /^\s*1,/.test(l)).length).toBeGreaterThan(200); // AAC frames
    const denied = await run(url);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/key/i);
  });

  test('unknown video / definition / segment → 404; an unpublished video has no playlist', async () => {
    const v = samples[1].vid; // one definition (df 2)
    expect((await fetch(`${base}/${v.slice(0, 10)}/${v.slice(-1)}/${v.slice(0, 32)}_1.m3u8`)).status).toBe(404);
    expect((await fetch(`${base}/${v.slice(0, 10)}/${v.slice(-1)}/${v.slice(0, 32)}_2_9.ts`)).status).toBe(404);
    expect((await fetch(`${base}/localdev01/l/localdev01000000000000000000000000_1.m3u8`)).status).toBe(404);
    const unpublished = samples.find((s) => !s.playable)!.vid;
    expect((await fetch(`${base}/${unpublished.slice(0, 10)}/${unpublished.slice(-1)}/${unpublished.slice(0, 32)}_1.m3u8`)).status).toBe(404);
  });
});

describe('video-info APIs', () => {
  test('main account get-video-msg (SHA1): title, duration "00:00:06", first_image, hls per definition', async () => {
    const form = polyvSignedForm({ format: 'json', ptime: Date.now(), vid: samples[0].vid }, dev.secretKey, 'sha1');
    const res = await fetch(`${base}/v2/video/${dev.userId}/get-video-msg?${new URLSearchParams(form)}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ code: 200, status: 'success' });
    const v = body.data[0];
    expect(v).toMatchObject({ vid: samples[0].vid, duration: '00:00:06', df: 2, seed: 1, status: 61, hlsLevel: 'wxa_app' });
    expect(v.hls).toHaveLength(2);
    expect(v.hls_1).toMatch(/_1\.m3u8$/);
    expect(v.hls_2).toMatch(/_2\.m3u8$/);
    const cover = await fetch(v.first_image);
    expect(cover.status).toBe(200);
    expect(Buffer.from(await cover.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  test('get-video-msg errors: bad sign, old ptime, unknown user, blank / unknown vid', async () => {
    const call = async (params: Record<string, string | number>, secret: string = dev.secretKey, user: string = dev.userId) => {
      const res = await fetch(`${base}/v2/video/${user}/get-video-msg?${new URLSearchParams(polyvSignedForm(params, secret, 'sha1'))}`);
      return { http: res.status, body: await res.json() };
    };
    expect((await call({ ptime: Date.now(), vid: samples[0].vid }, 'wrong')).body).toMatchObject({ code: 400, message: 'the sign is not right.' });
    expect((await call({ ptime: Date.now() - 4 * 60000, vid: samples[0].vid })).body).toMatchObject({ code: 400, message: 'ptime is too old.' });
    expect((await call({ ptime: Date.now(), vid: samples[0].vid }, dev.secretKey, 'nobody0000')).body).toMatchObject({ message: 'Could not find user by userid.' });
    expect((await call({ ptime: Date.now() })).body).toMatchObject({ code: 401, message: 'vid is blank.' });
    expect((await call({ ptime: Date.now(), vid: 'localdev01000000000000000000000000_l' })).body).toMatchObject({ code: 402, message: 'cannot find the video.' });
  });

  test('sub-account v3 get-video-info (MD5): basicInfo + transcodeInfos; errors carry error.code / error.desc', async () => {
    const call = async (params: Record<string, string | number>, secret: string = dev.appSecret) => {
      const res = await fetch(`${base}/v3/video/get-video-info?${new URLSearchParams(polyvSignedForm(params, secret))}`);
      return { http: res.status, body: await res.json() };
    };
    const ok = await call({ appId: dev.appId, timestamp: Date.now(), vids: `${samples[0].vid},${samples[2].vid}`, filter: 'basicInfo,transcodeInfo' });
    expect(ok.body).toMatchObject({ code: 200, status: 'success', error: null });
    expect(ok.body.data).toHaveLength(2);
    expect(ok.body.data[0].basicInfo).toMatchObject({ duration: 6, status: 61 });
    expect(ok.body.data[1].transcodeInfos.map((t: { definition: string }) => t.definition)).toEqual(['SD', 'HD', 'FHD']);
    const badSign = await call({ appId: dev.appId, timestamp: Date.now(), vids: samples[0].vid }, 'wrong');
    expect(badSign.http).toBe(403);
    expect(badSign.body).toMatchObject({ code: 403, status: 'error', error: { code: 104, desc: 'invalid signature' }, data: null });
    expect((await call({ appId: dev.appId, timestamp: Date.now() - 5 * 60000, vids: samples[0].vid })).body.error).toEqual({ code: 100, desc: 'invalid timestamp' });
    expect((await call({ appId: 'nosuchapp', timestamp: Date.now(), vids: samples[0].vid })).body.error).toEqual({ code: 101, desc: 'application not exist' });
    expect((await call({ appId: dev.appId, timestamp: Date.now() })).body.error.desc).toBe('param should not be empty: vids');
  });
});
