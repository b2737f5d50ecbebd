/**
 * Uploads on a phone-like link. The dev stack runs in its own process; its local cloud emulates the link
 * (server/cloud/link.ts, set through POST /_admin/link): a total uplink cap shared by all connections, a lower cap per
 * connection, and a round-trip time. One file (default 64 MiB) is uploaded on each link by
 *   1. ours: VODUpload, parallel parts (Node wx runtime → createWxAdapter → wx.request PUT parts, CRC-64 per part),
 *   2. one whole-file POST: PostObject through wx.uploadFile, the method of the official Aliyun mini-program SDK
 *      (driven here by our VODUpload with partSize ≥ the file size, which takes exactly that path),
 *   3. ali-oss multipartUpload with the same part size and parallelism (Node http, a fresh keep-alive agent per run,
 *      so its connections are opened on the current link).
 * and reports the throughput ratios (ours / POST, ours / ali-oss) and the client process's CPU time per MiB
 * (process.cpuUsage, user + system, around each run; the stack's CPU is in the other process). On loopback (no link)
 * it also runs ours over a thin Node adapter, which separates the SDK's own CPU from the Node wx runtime's (a test
 * harness standing in for WeChat's native networking).
 *
 *   npx tsx bench/link.ts                          (64 MiB; links: 4g, wifi, loopback)
 *   npx tsx bench/link.ts --size 8 --links 4g      (quick check)
 *   npx tsx bench/link.ts --sdk-cpu                (the SDK's own CPU per MiB over an in-memory adapter)
 *   options: --size MiB, --links 4g,wifi,loopback, --part MiB (1), --parallel n (5), --only ours,post,ali,node
 */
import http from 'node:http';
import OSS from 'ali-oss';
import { createInjectedAdapter, createWxAdapter, VODUpload } from '../sdk/src';
import type { HttpResponse, RequestOptions } from '../sdk/src';
import { encodeUploadAddress, encodeUploadAuth } from '../sdk/src/aliyun';
import { DEV_CREDENTIALS } from '../server/dev-credentials';
import type { LinkSettings } from '../server/cloud/link';
import { client, closeAll, fmtMiB, MiB, nodeAdapter, runIfMain, startStack, tempFile, uploadOnce } from './common';

export const LINKS: Record<string, { label: string; settings: LinkSettings | null }> = {
  '4g': { label: '4G-like: 30 Mbit/s total, 10 Mbit/s per connection, 60 ms RTT', settings: { uplinkMbps: 30, perConnectionMbps: 10, rttMs: 60, downlinkMbps: null } },
  wifi: { label: 'Wi-Fi-like: 100 Mbit/s total, 50 Mbit/s per connection, 10 ms RTT', settings: { uplinkMbps: 100, perConnectionMbps: 50, rttMs: 10, downlinkMbps: null } },
  loopback: { label: 'loopback (no link emulation)', settings: null },
};

type Contender = 'ours' | 'post' | 'ali' | 'node';
const NAMES: Record<Contender, string> = { ours: 'ours (parallel parts)', post: 'one whole-file POST', ali: 'ali-oss multipart', node: 'ours over a Node adapter' };

export interface LinkRun {
  seconds: number;
  mibPerSecond: number;
  cpuMsPerMiB: number;
}

export interface LinkResult {
  sizeBytes: number;
  partSize: number;
  parallel: number;
  links: Record<string, { label: string; settings: LinkSettings | null; runs: Partial<Record<Contender, LinkRun | { error: string }>>; oursVsPost?: number; oursVsPostAtLeast?: number; oursVsAliOss?: number }>;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function setLink(ossUrl: string, settings: LinkSettings | null): Promise<void> {
  const res = settings
    ? await fetch(`${ossUrl}/_admin/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) })
    : await fetch(`${ossUrl}/_admin/link`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`/_admin/link: ${res.status} ${await res.text()}`);
}

export async function runLink(
  opts: { sizeMb?: number; links?: string[]; partMb?: number; parallel?: number; only?: Contender[]; log?: (s: string) => void } = {},
): Promise<LinkResult> {
  const size = Math.round((opts.sizeMb ?? Number(arg('size', '64'))) * MiB);
  const partSize = Math.round((opts.partMb ?? Number(arg('part', '1'))) * MiB);
  const parallel = opts.parallel ?? Number(arg('parallel', '5'));
  const links = opts.links ?? arg('links', '4g,wifi,loopback').split(',');
  const only = opts.only ?? (arg('only', 'ours,post,ali,node').split(',') as Contender[]);
  const log = opts.log || ((s: string) => console.log(s));
  for (const l of links) if (!LINKS[l]) throw new Error(`unknown link ${l} (${Object.keys(LINKS).join(', ')})`);
  const stack = await startStack();
  const c = client(stack);
  const result: LinkResult = { sizeBytes: size, partSize, parallel, links: {} };
  try {
    const info = (await (await fetch(`${stack.cloud.oss}/_admin/info`)).json()) as { vodBucket: string };
    const wxPath = tempFile(c.rt, `link-${size}.mp4`, size);
    const real = c.rt.files.realPath(wxPath);
    await c.app.login();
    // warm-up (untimed, no link): each contender once on a small file, so no timed run pays for JIT
    const warmSize = 3 * partSize + 1;
    const warm = tempFile(c.rt, 'link-warm.mp4', warmSize);
    await uploadOnce(c, warm, { partSize, parallel }).done;
    const aliClient = (agent: http.Agent) =>
      new OSS({
        accessKeyId: DEV_CREDENTIALS.aliyun.accessKeyId,
        accessKeySecret: DEV_CREDENTIALS.aliyun.accessKeySecret,
        endpoint: stack.cloud.oss,
        bucket: info.vodBucket,
        region: 'oss-cn-shanghai',
        timeout: 600000,
        agent,
      } as OSS.Options);
    {
      const agent = new http.Agent({ keepAlive: true });
      await aliClient(agent).multipartUpload('bench/link-warm.mp4', c.rt.files.realPath(warm), { partSize, parallel });
      agent.destroy();
    }

    const runOne = async (who: Contender, linkName: string): Promise<LinkRun> => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      try {
        if (who === 'ours') {
          const r = await uploadOnce(c, wxPath, { partSize, parallel }).done;
          if (r.state !== 'Success') throw new Error(`ours: ${r.state}`);
        } else if (who === 'post') {
          // partSize ≥ file size: VODUpload sends the file as one PostObject through wx.uploadFile
          // no retries: a POST that times out is reported once, not re-sent three more times
          const r = await uploadOnce(c, wxPath, { partSize: size + 1, parallel, retryCount: 0 }).done;
          if (r.state !== 'Success') throw new Error(`post: ${r.state}`);
        } else if (who === 'ali') {
          await aliClient(agent).multipartUpload(`bench/link-${linkName}-ali.mp4`, real, { partSize, parallel });
        } else {
          const r = await uploadOnce(c, wxPath, { partSize, parallel, adapter: nodeAdapter(createWxAdapter(c.rt.wx), real, agent) }).done;
          if (r.state !== 'Success') throw new Error(`node adapter: ${r.state}`);
        }
      } finally {
        agent.destroy();
      }
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      return { seconds, mibPerSecond: size / MiB / seconds, cpuMsPerMiB: (cpu.user + cpu.system) / 1000 / (size / MiB) };
    };

    log(`link benchmark: ${fmtMiB(size)}, part ${fmtMiB(partSize)} × ${parallel}`);
    for (const name of links) {
      const l = LINKS[name];
      await setLink(stack.cloud.oss, l.settings);
      const entry: LinkResult['links'][string] = { label: l.label, settings: l.settings, runs: {} };
      result.links[name] = entry;
      const ideal = l.settings && l.settings.uplinkMbps ? (size * 8) / (l.settings.uplinkMbps * 1e6) : undefined;
      log(`\n${l.label}${ideal ? ` (the whole link: ${ideal.toFixed(1)} s)` : ''}`);
      for (const who of only) {
        if (who === 'node' && l.settings) continue; // the diagnostic only matters where CPU is the limit
        try {
          const r = await runOne(who, name);
          entry.runs[who] = r;
          log(`  ${NAMES[who].padEnd(26)} ${r.seconds.toFixed(2).padStart(7)} s  ${r.mibPerSecond.toFixed(2).padStart(7)} MiB/s  CPU ${r.cpuMsPerMiB.toFixed(1).padStart(6)} ms/MiB`);
        } catch (e) {
          entry.runs[who] = { error: (e as Error).message };
          log(`  ${NAMES[who].padEnd(26)} FAILED: ${(e as Error).message}`);
        }
      }
      const sec = (w: Contender) => {
        const r = entry.runs[w];
        return r && 'seconds' in r ? r.seconds : undefined;
      };
      const o = sec('ours');
      const p = sec('post');
      const a = sec('ali');
      if (o && p) entry.oursVsPost = p / o;
      if (o && a) entry.oursVsAliOss = a / o;
      // WeChat caps a request at 60 s (the runtime too): a whole-file POST slower than that fails, as on a phone
      const postRun = entry.runs.post;
      const postTimedOut = !!postRun && 'error' in postRun && /timeout/i.test(postRun.error);
      if (o && postTimedOut) entry.oursVsPostAtLeast = 60 / o;
      const postRatio = entry.oursVsPost ? `${entry.oursVsPost.toFixed(2)}×` : entry.oursVsPostAtLeast ? `≥ ${entry.oursVsPostAtLeast.toFixed(2)}× (the POST hit WeChat's 60 s request timeout)` : 'n/a';
      log(`  → throughput ours / one POST = ${postRatio}, ours / ali-oss = ${entry.oursVsAliOss ? `${entry.oursVsAliOss.toFixed(2)}×` : 'n/a'}`);
    }
    await setLink(stack.cloud.oss, null);
    const objs = (await (await fetch(`${stack.cloud.oss}/_admin/objects?bucket=${info.vodBucket}`)).json()) as { objects: Array<{ key: string; size: number }> };
    for (const o of objs.objects) if (o.size !== size && o.size !== warmSize) throw new Error(`object ${o.key} has ${o.size} bytes, expected ${size}`);
    return result;
  } finally {
    await closeAll(c, stack);
  }
}

/**
 * The SDK's own CPU per MiB: VODUpload over an in-memory adapter (reads are one copy of a slice of a buffer, as
 * readFile gives a fresh ArrayBuffer; OSS answers at once without a CRC header, so nothing else in this process
 * hashes). What is left is the SDK: part scheduling, CRC-64 of every part, signing, XML, progress. Best of `rounds`.
 */
export async function sdkCpuPerMiB(sizeBytes: number, partSize: number, parallel: number, rounds = 3): Promise<number> {
  const file = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 4096) file.writeUInt32LE((i * 2654435761) >>> 0, i);
  const store = new Map<string, unknown>();
  const respond = (statusCode: number, data = '', header: Record<string, string> = {}) => ({ statusCode, header: { 'x-oss-request-id': 'RID', ...header }, data });
  const adapter = createInjectedAdapter({
    warn: () => undefined,
    fs: {
      userDataPath: 'wxfile://usr',
      stat: async () => ({ size: sizeBytes, lastModifiedTime: 1700000000, isFile: true }),
      readRange: async (_p: string, pos: number, len: number) => file.buffer.slice(file.byteOffset + pos, file.byteOffset + pos + len) as ArrayBuffer,
      readText: async () => '',
      writeFile: async () => undefined,
      unlink: async () => undefined,
      exists: async () => true,
      mkdir: async () => undefined,
      saveFile: async (p: string) => p,
    },
    storage: {
      get: <T>(k: string) => store.get(k) as T | undefined,
      set: (k: string, v: unknown) => void store.set(k, JSON.parse(JSON.stringify(v))),
      remove: (k: string) => void store.delete(k),
      keys: () => [...store.keys()],
    },
    request: (async (o: RequestOptions) => {
      const q = o.url.slice(o.url.indexOf('?') + 1);
      if (o.method === 'POST' && /^uploads/.test(q)) return respond(200, '<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>');
      if (o.method === 'PUT') return respond(200, '', { ETag: '"E"' });
      if (o.method === 'POST') return respond(200, '<CompleteMultipartUploadResult><ETag>"X"</ETag></CompleteMultipartUploadResult>');
      return respond(200);
    }) as unknown as <T>(o: RequestOptions) => Promise<HttpResponse<T>>,
  });
  const auth = {
    uploadAuth: encodeUploadAuth({ AccessKeyId: 'STS.ak', AccessKeySecret: 'sk', SecurityToken: `CAIS${'t'.repeat(600)}`, Expiration: '3000', Region: 'cn-shanghai' } as never),
    uploadAddress: encodeUploadAddress({ Endpoint: 'https://oss-cn-shanghai.aliyuncs.com', Bucket: 'outin-bench', FileName: 'sv/1/bench.mp4' }),
    videoId: 'v1',
  };
  const once = () =>
    new Promise<void>((resolve, reject) => {
      let failed: string | undefined;
      const up = new VODUpload({
        userId: 'bench',
        adapter,
        partSize,
        parallel,
        getUploadAuth: async () => auth,
        onUploadFailed: (_i: unknown, code: string, message: string) => (failed = `${code}: ${message}`),
        onUploadEnd: () => (failed ? reject(new Error(failed)) : resolve()),
      } as never);
      store.clear();
      up.addFile({ url: 'wxfile://tmp/bench.mp4' });
      up.startUpload();
    });
  await once(); // warm-up
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    await once();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000 / (sizeBytes / MiB));
  }
  return best;
}

async function main(): Promise<void> {
  if (process.argv.includes('--sdk-cpu')) {
    const size = Math.round(Number(arg('size', '64')) * MiB);
    const ms = await sdkCpuPerMiB(size, Math.round(Number(arg('part', '1')) * MiB), Number(arg('parallel', '5')));
    console.log(`SDK only (in-memory adapter), ${fmtMiB(size)}: CPU ${ms.toFixed(2)} ms/MiB (best of 3)`);
    return;
  }
  await runLink();
}

runIfMain(module, main);
