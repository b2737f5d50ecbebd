/**
 * `npx tsx scripts/console-screenshots.ts`: the local cloud console's four tabs as PNGs in docs/screenshots/console-*.png,
 * with live data: a dev stack on ephemeral ports, one clip uploaded through the SDK (VODUpload over the Node wx
 * runtime), a Polyv play token, an IoT user with an event raised now, a reset fault that fired and a refused signature.
 * Needs Debian's chromium (`apt-get install -y chromium fonts-wqy-zenhei`); CHROMIUM_PATH to use another build.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { AppClient, createWxAdapter, VODUpload } from '../sdk/src/index';
import type { VODUploadAuthResult, VODUploadInfo } from '../sdk/src/index';
import { startDevStack } from '../server';
import { DEV_CREDENTIALS } from '../server/dev-credentials';
import { createWxRuntime } from '../test/harness/wx-runtime';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'docs/screenshots');

async function main(): Promise<void> {
  const stack = await startDevStack({ quiet: true });
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `oshot${randomBytes(4).toString('hex')}` });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const adapter = { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
    const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
    const post = (p: string, body?: unknown) => fetch(`${stack.appServerUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    // a reset on the second part, then the upload (which retries it)
    await post('/console/api/faults', { kind: 'reset', op: 'UploadPart', times: 1 });
    await new Promise<void>((resolve) => {
      const up = new VODUpload({
        userId: 'shots',
        adapter,
        partSize: 100 * 1024,
        getUploadAuth: (info: VODUploadInfo) => app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', info.videoId ? { videoId: info.videoId } : { title: '演示视频 demo clip', fileName: 'demo-270p.mp4', fileSize: info.fileSize }),
        onUploadEnd: () => resolve(),
      });
      up.addFile({ url: rt.files.writeTemp('demo-270p.mp4', readFileSync(path.join(ROOT, 'server/cloud/media/clip-6s/270p.mp4'))) });
      up.startUpload();
    });
    await app.call('POST', '/api/iot/devices/list', {});
    // a Polyv play token (the AppServer asks the local Polyv for one)
    const samples = (await (await fetch(`${stack.cloud!.polyv}/_admin/samples`)).json()) as { samples: Array<{ vid: string; playable: boolean }> };
    await app.call('POST', '/api/polyv/play', { videoId: (samples.samples.find((x) => x.playable) || samples.samples[0]).vid });
    // a refused signature (OSS V1 with a wrong secret)
    const date = new Date().toUTCString();
    const bucket = ((await (await fetch(`${stack.cloud!.oss}/_admin/info`)).json()) as { vodBucket: string }).vodBucket;
    const sts = `PUT\n\ntext/plain\n${date}\n/${bucket}/notes.txt`;
    await fetch(`${stack.cloud!.oss}/${bucket}/notes.txt`, { method: 'PUT', headers: { date, 'content-type': 'text/plain', authorization: `OSS ${DEV_CREDENTIALS.aliyun.accessKeyId}:${createHmac('sha1', 'wrong').update(sts).digest('base64')}` }, body: 'x' });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // media: the upload's row, playing
    await page.goto(`${stack.appServerUrl}/console#media`);
    const row = page.locator('tr[data-video-id]', { hasText: 'demo-270p.mp4' });
    await row.locator('text=mp4').first().waitFor();
    await row.locator('button').click();
    await page.locator('[data-testid=player-state]:has-text("canplay")').waitFor();
    await page.locator('[data-testid=video]').evaluate((v: HTMLVideoElement) => new Promise<void>((r) => { v.currentTime = 2; v.addEventListener('seeked', () => r(), { once: true }); }));
    await page.screenshot({ path: path.join(OUT, 'console-media.png') });
    // IoT: raise an event on the first device
    await page.goto(`${stack.appServerUrl}/console#iot`);
    const first = page.locator('section[data-device]').first();
    await first.locator('button').click();
    const id = await first.locator('[data-testid=raised]').textContent();
    await first.locator(`.event[data-alarm-id="${id}"] img`).evaluate((img: HTMLImageElement) => img.complete || new Promise((r) => img.addEventListener('load', r, { once: true })));
    await page.screenshot({ path: path.join(OUT, 'console-iot.png') });
    // requests: the refused signature opened
    await page.goto(`${stack.appServerUrl}/console#requests`);
    await page.locator('[data-testid=errors-only]').check();
    const bad = page.locator('tr[data-request-id]', { hasText: 'SignatureDoesNotMatch' }).first();
    await bad.click();
    await page.locator('[data-testid=string-to-sign]').waitFor();
    await page.screenshot({ path: path.join(OUT, 'console-requests.png') });
    await page.goto(`${stack.appServerUrl}/console#faults`);
    await page.locator('[data-testid=active-faults]').waitFor();
    await page.screenshot({ path: path.join(OUT, 'console-faults.png') });
    console.log(`wrote ${['media', 'iot', 'requests', 'faults'].map((n) => `docs/screenshots/console-${n}.png`).join(', ')}`);
  } finally {
    await browser.close();
    await rt.close();
    await stack.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
