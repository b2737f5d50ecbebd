/**
 * The local cloud's link emulation (server/cloud/link.ts) over real loopback sockets: /_admin/link sets and reads one
 * link shared by every provider's listener, rejects bad settings, and uploads through a shaped link (our VODUpload
 * through the Node wx runtime, multipart and PostObject; ali-oss) still arrive byte for byte. Nothing here is timed:
 * the link's rates and delays are checked on a fake clock in test/unit/link-shaper.test.ts; here the caps are
 * generous and the test observes the link's own counters.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Fastify from 'fastify';
import OSS from 'ali-oss';
import { AppClient, createWxAdapter, VODUpload } from 'mp-media-sdk';
import type { VODUploadInfo } from 'mp-media-sdk';
import { startDevStack, DevStack } from '../../server';
import { guardDevEndpoints } from '../../server/cloud';
import { EmulatedLink, registerLinkAdmin } from '../../server/cloud/link';
import type { LinkSettings, LinkStats } from '../../server/cloud/link';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { appServerUploadAuth } from '../harness/vod-auth';

jest.setTimeout(120000);

const MB = 1024 * 1024;
let stack: DevStack;
const runtimes: WxRuntime[] = [];

beforeAll(async () => {
  stack = await startDevStack({ quiet: true });
});
afterEach(async () => {
  await fetch(`${stack.cloud!.oss}/_admin/link`, { method: 'DELETE' });
  while (runtimes.length) await runtimes.pop()!.close();
});
afterAll(async () => {
  await stack.close();
});

type LinkState = { link: LinkSettings | null; stats: LinkStats };

async function linkApi(base: string, method: string, body?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/_admin/link`, { method, headers: body !== undefined ? { 'content-type': 'application/json' } : {}, body });
  return { status: res.status, json: await res.json() };
}

const providerUrls = () => Object.entries(stack.cloud!).filter(([, u]) => typeof u === 'string') as Array<[string, string]>;

async function object(bucket: string, key: string): Promise<Buffer> {
  const res = await fetch(`${stack.cloud!.oss}/_admin/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`);
  if (!res.ok) throw new Error(`object ${bucket}/${key}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** One VODUpload of `data` through the Node wx runtime; resolves with the file's info at onUploadEnd. */
async function uploadThroughRuntime(data: Buffer, partSize: number): Promise<VODUploadInfo> {
  const rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: `olink${randomBytes(5).toString('hex')}` });
  runtimes.push(rt);
  const wxPath = `http://tmp/link-${data.length}.mp4`;
  writeFileSync(rt.files.realPath(wxPath), data);
  const adapter = createWxAdapter(rt.wx);
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  await app.login();
  const failures: string[] = [];
  let up!: VODUpload;
  await new Promise<void>((resolve) => {
    up = new VODUpload({
      userId: 'link',
      adapter,
      partSize,
      parallel: 3,
      getUploadAuth: appServerUploadAuth(app, 'link'),
      onUploadFailed: (_i, code, message) => failures.push(`${code}: ${message}`),
      onUploadEnd: () => resolve(),
    });
    up.addFile({ url: wxPath });
    up.startUpload();
  });
  expect(failures).toEqual([]);
  return up.listFiles()[0];
}

describe('/_admin/link', () => {
  test('no link by default; a link set on one provider is the link of every provider (one shared link); DELETE resets it', async () => {
    for (const [, url] of providerUrls()) expect((await linkApi(url, 'GET')).json.link).toBeNull();
    const set = await linkApi(stack.cloud!.oss, 'POST', JSON.stringify({ uplinkMbps: 30, perConnectionMbps: 10, rttMs: 60 }));
    expect(set.status).toBe(200);
    expect(set.json.link).toEqual({ uplinkMbps: 30, perConnectionMbps: 10, rttMs: 60, downlinkMbps: null });
    for (const [name, url] of providerUrls()) {
      const got = await linkApi(url, 'GET');
      expect([name, got.json.link]).toEqual([name, set.json.link]);
    }
    const cleared = await linkApi(stack.cloud!.wechat, 'DELETE');
    expect(cleared.json.link).toBeNull();
    expect((await linkApi(stack.cloud!.oss, 'GET')).json.link).toBeNull();
  });

  test.each([
    ['a negative rate', JSON.stringify({ uplinkMbps: -1 }), /uplinkMbps/],
    ['a rate as a string', JSON.stringify({ perConnectionMbps: '10' }), /perConnectionMbps/],
    ['an unknown field', JSON.stringify({ latency: 5 }), /Unknown field latency/],
    ['an RTT out of range', JSON.stringify({ rttMs: 60000 }), /rttMs/],
    ['malformed JSON', '{"uplinkMbps": ', /not valid JSON/],
    ['an array body', '[30, 10]', /JSON object/],
  ])('rejects %s with 400 InvalidLinkSettings and keeps the current link', async (_name, body, message) => {
    await linkApi(stack.cloud!.oss, 'POST', JSON.stringify({ uplinkMbps: 50 }));
    const r = await linkApi(stack.cloud!.vod, 'POST', body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'InvalidLinkSettings', message: expect.stringMatching(message) });
    expect((await linkApi(stack.cloud!.oss, 'GET')).json.link).toMatchObject({ uplinkMbps: 50, perConnectionMbps: null });
  });

  test('answers only callers on this machine (the dev-endpoint guard covers it): 403 DevEndpointLoopbackOnly from the LAN', async () => {
    const app = Fastify();
    guardDevEndpoints(app);
    registerLinkAdmin(app, new EmulatedLink());
    for (const [method, payload] of [['GET', undefined], ['POST', '{"uplinkMbps":1}'], ['DELETE', undefined]] as const) {
      const lan = await app.inject({ method, url: '/_admin/link', remoteAddress: '192.168.1.20', payload, headers: payload ? { 'content-type': 'application/json' } : {} });
      expect([method, lan.statusCode, lan.json().error.code]).toEqual([method, 403, 'DevEndpointLoopbackOnly']);
    }
    const local = await app.inject({ method: 'GET', url: '/_admin/link', remoteAddress: '127.0.0.1' });
    expect(local.json()).toMatchObject({ link: null });
    await app.close();
  });
});

describe('uploads through a shaped link arrive byte for byte', () => {
  const generous = { uplinkMbps: 400, perConnectionMbps: 200, rttMs: 20, downlinkMbps: 400 };

  test('VODUpload multipart (3 parts in parallel) and PostObject through the Node wx runtime; the link counted every request byte', async () => {
    const before: LinkState = (await linkApi(stack.cloud!.oss, 'GET')).json;
    await linkApi(stack.cloud!.oss, 'POST', JSON.stringify(generous));
    const big = randomBytes(2 * MB + 12345);
    const small = randomBytes(150 * 1024);
    const a = await uploadThroughRuntime(big, 400 * 1024);
    const b = await uploadThroughRuntime(small, 1 * MB);
    expect(a.state).toBe('Success');
    expect(b.state).toBe('Success');
    expect((await object(a.bucket!, a.object!)).equals(big)).toBe(true);
    expect((await object(b.bucket!, b.object!)).equals(small)).toBe(true);
    const after: LinkState = (await linkApi(stack.cloud!.oss, 'GET')).json;
    // 6 UploadParts + Initiate + Complete + PostObject at least, each on its own connection (the runtime, like WeChat, opens one per request)
    expect(after.stats.shapedConnections - before.stats.shapedConnections).toBeGreaterThanOrEqual(9);
    expect(after.stats.uplinkBytes - before.stats.uplinkBytes).toBeGreaterThanOrEqual(big.length + small.length);
    expect(after.stats.downlinkBytes).toBeGreaterThan(before.stats.downlinkBytes);
  });

  test('ali-oss multipartUpload and get (keep-alive connections opened on the link) round-trip the bytes', async () => {
    await linkApi(stack.cloud!.oss, 'POST', JSON.stringify(generous));
    const before: LinkState = (await linkApi(stack.cloud!.oss, 'GET')).json;
    const info = (await (await fetch(`${stack.cloud!.oss}/_admin/info`)).json()) as { vodBucket: string };
    const agent = new http.Agent({ keepAlive: true });
    try {
      const client = new OSS({
        accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId,
        accessKeySecret: DEV_CREDENTIALS.aliyun.accessKeySecret,
        endpoint: stack.cloud!.oss,
        bucket: info.vodBucket,
        region: 'oss-cn-shanghai',
        agent,
      } as OSS.Options);
      const data = randomBytes(1 * MB + 777);
      await client.multipartUpload('link/ali.bin', data, { partSize: 300 * 1024, parallel: 3 });
      const got = await client.get('link/ali.bin');
      expect(Buffer.compare(got.content, data)).toBe(0);
      const after: LinkState = (await linkApi(stack.cloud!.oss, 'GET')).json;
      expect(after.stats.shapedConnections).toBeGreaterThan(before.stats.shapedConnections);
      expect(after.stats.uplinkBytes - before.stats.uplinkBytes).toBeGreaterThanOrEqual(data.length);
      expect(after.stats.downlinkBytes - before.stats.downlinkBytes).toBeGreaterThanOrEqual(data.length);
    } finally {
      agent.destroy();
    }
  });

  test('after DELETE, new connections are not shaped (the upload adds no connection and none of its bytes to the counters)', async () => {
    await linkApi(stack.cloud!.oss, 'DELETE');
    const before: LinkState = (await linkApi(stack.cloud!.oss, 'GET')).json;
    const data = randomBytes(300 * 1024);
    const a = await uploadThroughRuntime(data, 1 * MB);
    expect((await object(a.bucket!, a.object!)).equals(data)).toBe(true);
    const after: LinkState = (await linkApi(stack.cloud!.oss, 'GET')).json;
    expect(after.stats.shapedConnections).toBe(before.stats.shapedConnections);
    // only this test's own admin calls may still ride a keep-alive connection opened while the link was set
    expect(after.stats.uplinkBytes - before.stats.uplinkBytes).toBeLessThan(data.length);
  });
});
