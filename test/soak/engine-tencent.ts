/**
 * The Tencent side of the fault soak (issue 15 part 2): N files of seeded random sizes through TencentVodUploader over
 * the Node wx runtime against the local Tencent VOD (vod2 ApplyUploadUGC / CommitUploadUGC) and COS, one after the
 * other, with faults planned from the seed for every request of a file (Apply, PutObject or InitiateMultipartUpload,
 * each part, CompleteMultipartUpload, Commit): `resetPct` % TCP resets, `http500Pct` % HTTP 500, `slowPct` % slow
 * requests (a bounded delay before connecting). The faults are the wx runtime's own (a real RST on the socket, an
 * answer the host gives instead of the server), each pinned by URL pattern to one request of the file being sent, so
 * which request gets which fault depends on the seed only. App kills in `kills` files: new part requests wait at a
 * gate, the runtime is killed, and a new runtime on the same storage starts the same file again (it resumes the COS
 * multipart upload from its checkpoint). Checks: every file byte-exact (read back from the media URL, CRC-64),
 * exactly one VOD media per file, `finish` once per file (never `error`), and every planned fault fired.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AppClient, createWxAdapter, TencentVodUploader } from '../../sdk/src';
import type { PlatformAdapter, TencentVodResult } from '../../sdk/src';
import { Crc64 } from '../../sdk/src/aliyun/crc64';
import { createGate, createWxRuntime } from '../harness/wx-runtime';
import type { FaultRule, Gate, WxRuntime } from '../harness/wx-runtime';
import { prng } from './engine';

export interface TencentSoakOptions {
  seed: number;
  files: number;
  maxBytes: number;
  /** chunkSize (COS part size, ≥ 1 MiB); files up to sliceSize (1 MiB) are one PutObject. */
  chunkSize: number;
  parallel: number;
  resetPct: number;
  http500Pct: number;
  slowPct: number;
  slowMs: number;
  kills: number;
  urls: { appServerUrl: string; tvod: string; wechat: string };
  log?: (line: string) => void;
}

type Kind = 'reset' | 'http500' | 'slow';
interface Planned {
  op: string;
  match: { method: string; url: RegExp };
  kind: Kind;
  ms?: number;
}

const MIB = 1024 * 1024;

export function planTencentSoak(o: Pick<TencentSoakOptions, 'seed' | 'files' | 'maxBytes' | 'chunkSize' | 'parallel' | 'resetPct' | 'http500Pct' | 'slowPct' | 'slowMs' | 'kills'>) {
  const rnd = prng(o.seed ^ 0x7e11);
  const plans = Array.from({ length: o.files }, (_, i) => {
    const size = i === 0 ? 0 : Math.floor(rnd() * (o.maxBytes + 1));
    const parts = size > MIB ? Math.ceil(size / o.chunkSize) : 0;
    const ops: Array<{ op: string; match: { method: string; url: RegExp } }> = [{ op: 'ApplyUploadUGC', match: { method: 'POST', url: /Action=ApplyUploadUGC/ } }];
    if (!parts) ops.push({ op: 'PutObject', match: { method: 'PUT', url: /\/[^/?]+\.mp4$/ } });
    else {
      ops.push({ op: 'InitiateMultipartUpload', match: { method: 'POST', url: /\.mp4\?uploads$/ } });
      for (let k = 1; k <= parts; k++) ops.push({ op: `UploadPart #${k}`, match: { method: 'PUT', url: new RegExp(`\\.mp4\\?partNumber=${k}&`) } });
      ops.push({ op: 'CompleteMultipartUpload', match: { method: 'POST', url: /\.mp4\?uploadId=/ } });
    }
    ops.push({ op: 'CommitUploadUGC', match: { method: 'POST', url: /Action=CommitUploadUGC/ } });
    const faults: Planned[] = [];
    for (const op of ops) {
      const r = rnd() * 100;
      const d = rnd();
      if (r < o.resetPct) faults.push({ ...op, kind: 'reset' });
      else if (r < o.resetPct + o.http500Pct) faults.push({ ...op, kind: 'http500' });
      else if (r < o.resetPct + o.http500Pct + o.slowPct) faults.push({ ...op, kind: 'slow', ms: Math.round(o.slowMs / 4 + (d * 3 * o.slowMs) / 4) });
    }
    return { index: i, name: `soak-tv-${o.seed}-${i}`, size, parts, faults, killAtParts: undefined as number | undefined };
  });
  const roomy = plans.filter((p) => p.parts >= o.parallel + 2);
  for (let k = 0; k < o.kills && roomy.length; k++) {
    const p = roomy.splice(Math.floor(rnd() * roomy.length), 1)[0];
    p.killAtParts = 1 + Math.floor(rnd() * (p.parts - o.parallel - 1));
  }
  return plans;
}

function get(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const describeAction = (p: Planned) => (p.kind === 'reset' ? 'reset' : p.kind === 'http500' ? 'status:500' : `delay:${p.ms}`);

export async function runTencentSoak(o: TencentSoakOptions) {
  const t0 = Date.now();
  const log = o.log || (() => undefined);
  const plans = planTencentSoak(o);
  const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'mp-soak-tv-'));
  const runtimes: WxRuntime[] = [];
  const problems: string[] = [];
  const planned = { reset: 0, http500: 0, slow: 0, kill: 0 };
  const fired = { reset: 0, http500: 0, slow: 0, kill: 0, resumed: 0 };
  let bytes = 0;
  const newRuntime = () => {
    const rt = createWxRuntime({ sandboxDir, wechatUrl: o.urls.wechat, openid: `osoaktv${o.seed}`, hostMap: { 'vod2.qcloud.com': o.urls.tvod, 'vod2.dnsv1.com': o.urls.tvod } });
    runtimes.push(rt);
    return rt;
  };
  try {
    let rt = newRuntime();
    for (const p of plans) {
      bytes += p.size;
      const wxPath = rt.files.writeTempSized(`${p.name}.mp4`, p.size, o.seed * 1000 + p.index + 7);
      const source = readFileSync(rt.files.realPath(wxPath));
      const fp: string[] = [];
      const terminal: string[] = [];
      let result: TencentVodResult | undefined;
      let killed = false;
      const firstReq = new Map<WxRuntime, number>();
      // this file's faults: rules on the runtime that sends it (re-added, minus the fired ones, after a kill)
      let remaining = p.faults.slice();
      for (let attempt = 0; ; attempt++) {
        firstReq.set(rt, rt.requests.length);
        const gate: Gate = createGate(`tv-parts-${p.index}-${attempt}`);
        gate.open();
        const removers = remaining.map((f) => rt.faults.add({ match: f.match, times: 1, action: f.kind === 'reset' ? { type: 'reset' } : f.kind === 'http500' ? { type: 'status', status: 500, body: '<html>500 Internal Server Error</html>' } : { type: 'delay', ms: f.ms as number } } as FaultRule));
        // after the file's own rules (the first matching rule wins), removed with them when the attempt ends
        removers.push(rt.faults.add({ match: { method: 'PUT', url: /[?&]partNumber=/ }, times: Infinity, action: { type: 'hold', gate } }));
        const adapter: PlatformAdapter = { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
        const app = new AppClient({ baseUrl: o.urls.appServerUrl, adapter });
        let killNow!: () => void;
        const kill = new Promise<'kill'>((r) => (killNow = () => r('kill')));
        const partsOk = () => rt.requests.slice(firstReq.get(rt)).filter((r) => r.method === 'PUT' && /partNumber=/.test(r.url) && r.status === 200).length;
        const up = TencentVodUploader.start({
          adapter,
          mediaFile: { tempFilePath: wxPath, size: p.size },
          mediaName: p.name,
          chunkSize: o.chunkSize,
          chunkParallelLimit: o.parallel,
          retryDelays: [10, 20, 40],
          progressInterval: 0,
          getSignature: () => app.call<{ signature: string }>('POST', '/api/tencent-vod/signature', {}).then((r) => r.signature),
          progress: () => {
            if (p.killAtParts !== undefined && !killed && partsOk() >= p.killAtParts) {
              killed = true;
              gate.close(); // no part is sent any more: the kill lands with the rest of the file unsent
              killNow();
            }
          },
          finish: () => terminal.push('finish'),
          error: (e) => terminal.push(`error:${e.code}`),
        });
        const outcome = await Promise.race([up.done().then((r) => r, (e: Error) => e), kill]);
        const tally = () => {
          const window = rt.requests.slice(firstReq.get(rt));
          const left: Planned[] = [];
          for (const f of remaining) {
            const hit = window.find((r) => r.fault === describeAction(f) && r.method === f.match.method && f.match.url.test(r.url));
            if (hit) fired[f.kind]++;
            else left.push(f);
          }
          remaining = left;
          for (const rm of removers) rm();
        };
        if (outcome === 'kill') {
          await rt.kill();
          tally();
          fired.kill++;
          log(`  tencent ${p.index}: app killed after ${p.killAtParts} of ${p.parts} parts`);
          await rt.close();
          rt = newRuntime();
          continue;
        }
        if (attempt > 0) {
          // the restarted app continues the same COS multipart upload (its checkpoint), it does not start another
          const again = rt.requests.slice(firstReq.get(rt)).filter((r) => r.method === 'POST' && /\.mp4\?uploads$/.test(r.url)).length;
          if (again) fp.push(`after the kill the upload was initiated again (${again}×) instead of resumed`);
          else fired.resumed++;
        }
        tally();
        if (outcome instanceof Error) fp.push(`failed: ${(outcome as { code?: string }).code} ${outcome.message}`);
        else result = outcome;
        break;
      }
      for (const f of p.faults) planned[f.kind]++;
      if (p.killAtParts !== undefined) planned.kill++;
      for (const f of remaining) fp.push(`planned ${f.kind} on ${f.op} never fired`);
      // one finish (or one error) for the run that was not killed; a killed run delivers nothing
      const want = result ? ['finish'] : [];
      if (result && JSON.stringify(terminal.filter((t) => t === 'finish' || t.startsWith('error'))) !== JSON.stringify(want)) fp.push(`terminal events ${JSON.stringify(terminal)}`);
      if (result) {
        if (!result.videoUrl) fp.push('no videoUrl');
        else {
          const got = await get(result.videoUrl);
          if (!got.equals(source)) fp.push(`read-back differs (${got.length} bytes, ${source.length} expected)`);
          if (new Crc64().update(got).digest() !== new Crc64().update(source).digest()) fp.push('CRC-64 differs');
        }
      }
      for (const x of fp) problems.push(`tencent ${p.index} (${p.size} B): ${x}`);
      if (fp.length) log(`  tencent ${p.index}: ${fp.join('; ')}`);
    }
    const media = ((await (await fetch(`${o.urls.tvod}/_admin/media`)).json()) as { media: Array<{ name: string }> }).media;
    for (const p of plans) {
      const n = media.filter((m) => m.name === p.name).length;
      if (n !== 1) problems.push(`tencent ${p.index}: ${n} VOD media named ${p.name}`);
    }
    const ms = Date.now() - t0;
    const bad = new Set(problems.map((x) => x.split(' (')[0].split(':')[0]));
    const summary =
      `tencent soak seed=${o.seed}: ${o.files} files, ${(bytes / 1048576).toFixed(1)} MiB, ${fired.kill} kills (${fired.resumed} resumed the same multipart upload) → ${o.files - bad.size}/${o.files} byte-exact (read-back + CRC-64), one media each; ` +
      `faults fired/planned: reset ${fired.reset}/${planned.reset}, 500 ${fired.http500}/${planned.http500}, slow ${fired.slow}/${planned.slow}, kill ${fired.kill}/${planned.kill}; ` +
      `${(ms / 1000).toFixed(1)} s; ${problems.length ? `${problems.length} PROBLEMS` : 'OK'}`;
    return { files: o.files, bytes, planned, fired, problems, ms, summary };
  } finally {
    for (const r of runtimes) await r.close().catch(() => undefined);
    rmSync(sandboxDir, { recursive: true, force: true, maxRetries: 3 });
  }
}
