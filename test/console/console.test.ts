/**
 * The local cloud's web console in a real browser: playwright-core driving Debian's chromium against the dev stack
 * (ephemeral loopback ports). Uploads go through the real SDK (VODUpload) over the Node wx runtime and our wx adapter,
 * as the mini-program does; the browser then sees them in the console, plays them, and the fault switches it flips
 * act on the next upload. Needs `chromium` (apt-get install -y chromium; see test/harness/system-deps.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import RPCClient = require('@alicloud/pop-core');
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { AppClient, createWxAdapter, TencentVodUploader, VODUpload } from 'mp-media-sdk';
import type { VODUploadInfo } from 'mp-media-sdk';
import { startDevStack, type DevStack } from '../../server';
import { createWxRuntime, type WxRuntime } from '../harness/wx-runtime';
import { requireBinary, describeWith } from '../harness/system-deps';
import { until } from '../harness/until';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { appServerUploadAuth } from '../harness/vod-auth';

jest.setTimeout(180000);

const CHROMIUM = requireBinary('chromium', 'chromium');
const CLIP = path.join(__dirname, '../../server/cloud/media/clip-6s/270p.mp4');

let stack: DevStack;
let browser: Browser;
let page: Page;
const runtimes: WxRuntime[] = [];

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

async function api<T = any>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.appServerUrl}${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** One VODUpload of a file through the AppServer's UploadAuth route; resolves with the file's info at onUploadEnd. */
async function uploadThroughSdk(data: Buffer, name: string, title: string): Promise<{ info: VODUploadInfo; failures: string[]; rt: WxRuntime }> {
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `ocon${randomBytes(6).toString('hex')}` });
  runtimes.push(rt);
  const adapter = { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  const failures: string[] = [];
  let end!: () => void;
  const done = new Promise<void>((r) => (end = r));
  const up = new VODUpload({
    userId: 'console',
    adapter,
    partSize: 100 * 1024,
    getUploadAuth: appServerUploadAuth(app, title, name),
    onUploadFailed: (_i, code, message) => void failures.push(`${code}: ${message}`),
    onUploadEnd: () => end(),
  });
  const p = rt.files.writeTemp(name, data);
  up.addFile({ url: p }, null, null, null, JSON.stringify({ Vod: { Title: title } }));
  up.startUpload();
  await done;
  return { info: up.listFiles()[0], failures, rt };
}

/** Resolves when the <video> can play (the `canplay` event, or already past it); rejects on a media error. */
async function videoCanPlay(p: Page): Promise<number> {
  return p.locator('[data-testid=video]').evaluate(
    (v: HTMLVideoElement) =>
      new Promise<number>((resolve, reject) => {
        if (v.readyState >= 3) return resolve(v.readyState);
        v.addEventListener('canplay', () => resolve(v.readyState), { once: true });
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`)), { once: true });
      }),
  );
}

interface Row {
  id: number;
  provider: string;
  request: string;
  status: string;
  code: string;
}

async function requestRows(p: Page): Promise<Row[]> {
  return p.$$eval('[data-testid=requests] tr[data-request-id]', (trs) =>
    trs.map((tr) => {
      const td = (tr as HTMLTableRowElement).cells;
      return { id: Number(tr.getAttribute('data-request-id')), provider: td[2].textContent || '', request: td[3].textContent || '', status: td[4].textContent || '', code: td[5].textContent || '' };
    }),
  );
}

const d = describeWith(CHROMIUM);

d('local cloud console (chromium)', () => {
  beforeAll(async () => {
    stack = await startDevStack({ quiet: true });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterEach(async () => {
    if (stack) await api('DELETE', '/console/api/faults');
    while (runtimes.length) await (runtimes.pop() as WxRuntime).close();
  });

  afterAll(async () => {
    if (browser) await browser.close();
    if (stack) await stack.close();
  });

  test('an upload through the SDK shows in the media library (title, status, size, OD definition) and plays in the browser: MP4 natively and the encrypted HLS sample through hls.js reach canplay', async () => {
    const clip = readFileSync(CLIP);
    const title = `控制台 console ${randomBytes(3).toString('hex')}`;
    const { info, failures } = await uploadThroughSdk(clip, 'clip-270p.mp4', title);
    expect(failures).toEqual([]);
    expect(info.state).toBe('Success');
    const vid = info.videoId as string;

    await page.goto(`${stack.appServerUrl}/console#media`);
    const row = page.locator(`[data-testid=aliyun-videos] tr[data-video-id="${vid}"]`);
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(title);
    await expect(row.textContent()).resolves.toContain('clip-270p.mp4');
    await expect(row.textContent()).resolves.toContain(`${(clip.length / 1024).toFixed(1)} KB`);
    // the OD track appears once the local VOD has "transcoded" the upload (the console polls)
    await row.locator('text=OD mp4').waitFor();
    await row.locator('button:has-text("播放")').click();
    await page.locator('[data-testid=player]').waitFor();
    expect(await videoCanPlay(page)).toBeGreaterThanOrEqual(3);
    await page.locator('[data-testid=player-state]:has-text("canplay")').waitFor();
    const src = await page.locator('[data-testid=video]').evaluate((v: HTMLVideoElement) => v.currentSrc);
    expect(src).toContain(`/${vid}/`);
    expect(src).toMatch(/\.mp4\?auth_key=/);

    // the sample clip's HLS rendition: AES-128, key behind a single-use MtsHlsUriToken, played by hls.js (MSE)
    const sample = page.locator('[data-testid=aliyun-videos] tr[data-video-id="5aed81b74ba84920be578cdfe004af4b"]');
    await sample.locator('button:has-text("播放")').click();
    await page.locator('[data-testid=player] button:has-text("m3u8")').click();
    // the sample's player opened on its MP4; once hls.js has attached (a MediaSource blob: URL), wait for canplay
    await page.waitForFunction(() => (document.querySelector('[data-testid=video]') as HTMLVideoElement | null)?.currentSrc.startsWith('blob:') === true);
    expect(await videoCanPlay(page)).toBeGreaterThanOrEqual(3);
    await page.locator('[data-testid=player-state]:has-text("canplay")').waitFor();

    // the GetPlayInfo calls the console made are in the request log, signed and answered 200
    const log = await api<{ requests: Array<{ provider: string; status: number; url: string }> }>('GET', '/console/api/requests');
    expect(log.requests.filter((r) => r.provider === 'cdn' && /\.ts\?/.test(r.url) && r.status === 200).length).toBeGreaterThanOrEqual(1);
  });

  test('Tencent VOD: a file uploaded through TencentVodUploader (the AppServer signs) shows with its size and its NewFileUpload event', async () => {
    const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `otv${randomBytes(6).toString('hex')}`, hostMap: { 'vod2.qcloud.com': stack.cloud!.tvod, 'vod2.dnsv1.com': stack.cloud!.tvod } });
    runtimes.push(rt);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
    const res = await TencentVodUploader.start({
      adapter: createWxAdapter(rt.wx),
      mediaFile: { tempFilePath: rt.files.writeTemp('tencent.mp4', readFileSync(CLIP)) },
      mediaName: '腾讯 console',
      getSignature: () => app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature),
    }).done();
    expect(res.fileId).toBeTruthy();

    await page.goto(`${stack.appServerUrl}/console#media`);
    const file = page.locator(`[data-testid=tencent-media] tr[data-file-id="${res.fileId}"]`);
    await file.waitFor();
    expect(await file.textContent()).toContain('腾讯 console.mp4');
    expect(await file.textContent()).toContain(`${(statSync(CLIP).size / 1024).toFixed(1)} KB`);
    const event = page.locator(`[data-testid=tencent-events] tr[data-file-id="${res.fileId}"]`, { hasText: 'NewFileUpload' });
    await event.waitFor();
  });

  test('Polyv: the samples and the play token the AppServer got for a viewer (state valid, its expiry)', async () => {
    const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `opv${randomBytes(6).toString('hex')}` });
    runtimes.push(rt);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
    const { samples } = (await (await fetch(`${stack.cloud!.polyv}/_admin/samples`)).json()) as { samples: Array<{ vid: string; title: string; playable: boolean }> };
    const sample = samples.find((x) => x.playable) as { vid: string; title: string };
    const play = await app.call<Record<string, any>>('POST', '/api/polyv/play', { videoId: sample.vid });
    const token = JSON.stringify(play).match(/"(?:token|playsafe)":"([^"]+)"/)?.[1] as string;
    expect(token).toBeTruthy();

    await page.goto(`${stack.appServerUrl}/console#media`);
    await page.locator('[data-testid=polyv-samples]', { hasText: sample.title }).waitFor();
    const row = page.locator('[data-testid=polyv-tokens] tr', { hasText: token.slice(0, 18) });
    await row.waitFor();
    expect(await row.textContent()).toContain(sample.vid);
    expect(await row.locator('.badge').first().textContent()).toBe('valid');
  });

  test('fault switch: "reset connection" on the next UploadPart, flipped in the console, makes the next upload retry; the request log shows the reset (with the fault that fired) and the retried part answered 200', async () => {
    await page.goto(`${stack.appServerUrl}/console#faults`);
    await page.locator('[data-testid=fault-times]').fill('1');
    await page.locator('[data-testid=fault-op]').selectOption('UploadPart');
    await page.locator('[data-testid=fault-reset]').click();
    await page.locator('[data-testid=active-faults] >> text=UploadPart').waitFor();
    const faults = await api<{ oss: Array<{ op: string; times: number; hits: number; action: { type: string } }> }>('GET', '/console/api/faults');
    expect(faults.oss).toEqual([expect.objectContaining({ op: 'UploadPart', times: 1, hits: 0, action: { type: 'reset' } })]);

    const data = randomBytes(350 * 1024);
    const { info, failures, rt } = await uploadThroughSdk(data, 'fault.mp4', 'after a reset');
    expect(failures).toEqual([]);
    expect(info.state).toBe('Success');
    // the SDK saw the reset and sent that part again
    const resets = rt.requests.filter((r) => /ERR_CONNECTION_RESET/.test(String(r.error)));
    expect(resets).toHaveLength(1);
    const partUrl = resets[0].url;
    expect(rt.requests.filter((r) => r.url === partUrl && r.status === 200)).toHaveLength(1);

    await page.goto(`${stack.appServerUrl}/console#requests`);
    const resetRow = page.locator('[data-testid=requests] tr[data-request-id]', { has: page.locator('[data-testid=fault]') });
    await resetRow.first().waitFor();
    const rows = await requestRows(page);
    const reset = rows.find((r) => /connection reset/.test(r.code)) as Row;
    expect(reset).toMatchObject({ provider: 'oss', status: 'reset' });
    expect(reset.request).toMatch(/^PUT \/.*partNumber=/);
    // newest first: the retry of the same part is a later row (smaller index, bigger id) with 200
    const retried = rows.filter((r) => r.id > reset.id && r.request === reset.request);
    expect(retried.map((r) => r.status)).toEqual(['200']);
    const after = await api<{ oss: Array<{ hits: number }> }>('GET', '/console/api/faults');
    expect(after.oss[0].hits).toBe(1);
  });

  test('"expire tokens" in the console expires every Aliyun temporary credential issued so far (STS / UploadAuth) and revokes the PlayURLs issued (both counts reported)', async () => {
    const { info } = await uploadThroughSdk(randomBytes(20 * 1024), 'before-expiry.mp4', 'before expiry');
    expect(info.state).toBe('Success');
    await page.goto(`${stack.appServerUrl}/console#faults`);
    await page.locator('[data-testid=expire]').click();
    const note = page.locator('[data-testid=fault-note]');
    await note.waitFor();
    const r = JSON.parse((await note.textContent()) as string) as { credentials: number; playUrls: number };
    expect(r.credentials).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(r.playUrls)).toBe(true);
    const creds = await api<{ credentials: Array<{ expired: boolean }> }>('GET', '/console/api/faults');
    expect(creds.credentials.length).toBeGreaterThanOrEqual(1);
    expect(creds.credentials.every((c) => c.expired)).toBe(true);
  });

  test('a refused signature shows the string to sign the server computed: OSS V1 (exact), Aliyun RPC through @alicloud/pop-core, TC3 through tencentcloud-sdk-nodejs-common', async () => {
    // OSS, signature V1 with a wrong secret: we know exactly what the server must have signed
    const oss = new URL(stack.cloud!.oss);
    const date = new Date().toUTCString();
    const key = `console/bad-${randomBytes(4).toString('hex')}.txt`;
    const bucket = ((await (await fetch(`${stack.cloud!.oss}/_admin/info`)).json()) as { vodBucket: string }).vodBucket;
    const expected = `PUT\n\ntext/plain\n${date}\n/${bucket}/${key}`;
    const wrong = createHmac('sha1', 'not-the-secret').update(expected).digest('base64');
    const res = await fetch(`${oss.origin}/${bucket}/${key}`, { method: 'PUT', headers: { date, 'content-type': 'text/plain', authorization: `OSS ${DEV_CREDENTIALS.aliyun.accessKeyId}:${wrong}` }, body: 'x' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('SignatureDoesNotMatch');

    // Aliyun RPC (VOD) with pop-core and a wrong secret
    const vod = new RPCClient({ accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId, accessKeySecret: 'wrong-secret', endpoint: stack.cloud!.vod, apiVersion: '2017-03-21' });
    await expect(vod.request('GetVideoInfo', { VideoId: 'nope' }, { method: 'POST' })).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });

    // Tencent TC3 (IoT Explorer) with the official common client and a wrong SecretKey
    const u = new URL(stack.cloud!.iot);
    const tc3 = new CommonClient(u.host, '2019-04-23', {
      credential: { secretId: DEV_CREDENTIALS.tencent.secretId, secretKey: 'wrong-secret-key' },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: u.host, protocol: 'http://', agent: new http.Agent() } },
    });
    await expect(tc3.request('DescribeDevice', { ProductId: 'LOCALCAM01', DeviceName: 'none' })).rejects.toMatchObject({ code: 'AuthFailure.SignatureFailure' });

    await page.goto(`${stack.appServerUrl}/console#requests`);
    const openDetail = async (provider: string, code: string): Promise<string> => {
      const row = page.locator('[data-testid=requests] tr[data-request-id]', { hasText: code }).filter({ hasText: provider }).first();
      await row.waitFor();
      await row.click();
      const text = await page.locator('[data-testid=string-to-sign]').textContent();
      await row.click(); // close it again
      return text as string;
    };
    expect(await openDetail('oss', 'SignatureDoesNotMatch')).toBe(expected);
    expect(await openDetail('vod', 'SignatureDoesNotMatch')).toMatch(/^POST&%2F&AccessKeyId%3D.*Action%3DGetVideoInfo.*VideoId%3Dnope/);
    expect(await openDetail('iot', 'AuthFailure.SignatureFailure')).toMatch(/^TC3-HMAC-SHA256\n\d+\n\d{4}-\d{2}-\d{2}\/[^/]+\/tc3_request\n[0-9a-f]{64}$/);
  });

  test('IoT: the console lists the devices a user was given, and "raise an event now" adds an event with its thumbnail to the timeline', async () => {
    // a user's first IoT call makes the AppServer provision the demo devices
    const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `oiot${randomBytes(6).toString('hex')}` });
    runtimes.push(rt);
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
    const listed = await app.call<Record<string, any>>('POST', '/api/iot/devices/list', {});
    const deviceIds = [...JSON.stringify(listed).matchAll(/"deviceId":"([^"]+)"/g)].map((m) => m[1]);
    expect(deviceIds.length).toBeGreaterThan(0);
    const all = await api<{ devices: Array<{ deviceName: string; productId: string }> }>('GET', '/console/api/iot');
    const mine = all.devices.find((x) => deviceIds[0].includes(x.deviceName));
    expect(mine).toBeDefined();
    const name = (mine as { deviceName: string }).deviceName;

    await page.goto(`${stack.appServerUrl}/console#iot`);
    const section = page.locator(`section[data-device="${name}"]`);
    await section.waitFor();
    await section.locator('button:has-text("触发事件")').click();
    const alarmId = await section.locator('[data-testid=raised]').textContent();
    const event = section.locator(`.event[data-alarm-id="${alarmId}"]`);
    await event.waitFor();
    const img = event.locator('img');
    const loaded = await img.evaluate((el: HTMLImageElement) => (el.complete && el.naturalWidth > 0) || new Promise<boolean>((r) => {
      el.addEventListener('load', () => r(el.naturalWidth > 0), { once: true });
      el.addEventListener('error', () => r(false), { once: true });
    }));
    expect(loaded).toBe(true);
  });
});

// no browser needed here: runs with or without chromium
describe('local cloud console: loopback only, not in production', () => {
  test('a caller that is not on this machine gets 403 DevEndpointLoopbackOnly (real socket from the LAN interface), this machine gets 200; the HLS relay refuses URLs outside the local cloud; NODE_ENV=production or console:false serves no console', async () => {
    const lan = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    const s = await startDevStack({ quiet: true, host: '0.0.0.0' });
    try {
      const port = new URL(s.appServerUrl).port;
      const get = (host: string, p: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.get({ host, port, path: p, localAddress: host }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode || 0, body }));
          });
          req.on('error', reject);
        });
      expect((await get('127.0.0.1', '/console')).status).toBe(200);
      expect((await get('127.0.0.1', '/console/api/requests')).status).toBe(200);
      // the HLS relay serves the local cloud's own URLs only (never an open proxy)
      const relay = await get('127.0.0.1', `/console/proxy?url=${encodeURIComponent('http://example.com/x.m3u8')}`);
      expect(relay.status).toBe(403);
      expect(JSON.parse(relay.body).error.code).toBe('NotLocalCloud');
      expect((await get('127.0.0.1', `/console/proxy?url=${encodeURIComponent(`${s.cloud!.cdn}/nope.m3u8`)}`)).status).toBe(404); // the CDN's own answer, relayed
      expect((await get('127.0.0.1', '/console/proxy?url=not-a-url')).status).toBe(400);
      if (!lan) {
        console.warn('no non-loopback IPv4 interface on this machine: the LAN half of the guard test is not run');
      } else {
        for (const p of ['/console', '/console/api/library', '/console/api/requests', '/console/app.js']) {
          const r = await get(lan, p);
          expect(r.status).toBe(403);
          expect(JSON.parse(r.body).error.code).toBe('DevEndpointLoopbackOnly');
        }
      }
    } finally {
      await s.close();
    }
    for (const opts of [{ env: { ...process.env, NODE_ENV: 'production', APP_TOKEN_SECRET: randomBytes(24).toString('hex') } }, { console: false }]) {
      const p = await startDevStack({ quiet: true, ...opts });
      try {
        const r = await fetch(`${p.appServerUrl}/console`);
        expect(r.status).toBe(404);
      } finally {
        await p.close();
      }
    }
  });
});
