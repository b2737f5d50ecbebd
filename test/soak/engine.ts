/**
 * The fault soak (issue 15, part 2): N files of seeded random sizes through VODUpload over the Node wx runtime
 * (test/harness) and our wx adapter, against a running dev stack (AppServer + local OSS / VOD on loopback), with
 * faults planned from the seed:
 *
 * - per OSS request of every file (PostObject, or InitiateMultipartUpload, each UploadPart, CompleteMultipartUpload):
 *   `resetPct` % connection resets, `http500Pct` % HTTP 500 InternalError, `slowPct` % slow answers (a bounded
 *   server-side delay: only the duration changes, never the outcome). Each planned fault is one rule of the local
 *   OSS's `/_admin/faults` API pinned to its object key, operation and part number, firing on the FIRST request that
 *   matches; the SDK's retry then succeeds. Which request gets which fault depends on the seed only, never on timing.
 * - a token expiry in every `expiryEvery`-th file: mid-upload (new part requests wait at a gate until the local cloud
 *   has expired the file's credentials), or for files of fewer parts right after the credentials were issued;
 * - app kills in `kills` files at a seeded part count: new part requests wait at a gate, the runtime is killed
 *   (nothing reaches the app any more), and a NEW runtime on the same sandbox storage with a NEW VODUpload takes the
 *   remaining files (the killed one resumes from its checkpoint).
 *
 * Then checks: every object byte-exact (read back and compared, CRC-64 of the read-back = the source's = OSS's = the
 * SDK's), exactly one VOD video per file (the resumed and renewed files kept theirs), `onUploadEnd` in every run that
 * was not killed, no onUploadFailed, and every planned fault fired (counted from the cloud's own fault log).
 *
 * Used by test/soak/upload-soak.test.ts (small) and bench/soak.ts (full).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AppClient, createWxAdapter, VODUpload } from '../../sdk/src';
import type { PlatformAdapter, VODUploadAuthResult, VODUploadInfo } from '../../sdk/src';
import { Crc64 } from '../../sdk/src/aliyun/crc64';
import { choosePartSize } from '../../sdk/src/vod-upload/multipart';
import { createGate, createWxRuntime } from '../harness/wx-runtime';
import type { Gate, WxRuntime } from '../harness/wx-runtime';
import { mulberry32 } from '../../server/cloud/iot/generator';

export interface SoakUrls {
  appServerUrl: string;
  oss: string;
  vod: string;
  wechat: string;
}

export interface SoakOptions {
  seed: number;
  files: number;
  /** Sizes are uniform in 0..maxBytes (file 0 is 0 B, file 1 exactly one part). */
  maxBytes: number;
  partSize: number;
  parallel: number;
  resetPct: number;
  http500Pct: number;
  slowPct: number;
  /** Upper bound of a slow answer's delay, ms (the delay itself is seeded in [slowMs/4, slowMs]). */
  slowMs: number;
  expiryEvery: number;
  kills: number;
  urls: SoakUrls;
  log?: (line: string) => void;
}

export interface SoakFileResult {
  index: number;
  name: string;
  size: number;
  parts: number;
  videoId?: string;
  state: string;
  problems: string[];
}

export interface SoakResult {
  seed: number;
  files: number;
  bytes: number;
  runs: number;
  uploadEnds: number;
  planned: { reset: number; http500: number; slow: number; expiry: number; kill: number };
  fired: { reset: number; http500: number; slow: number; expiry: number; kill: number; resumed: number };
  /** Client-side: requests that ended in an error or a 5xx (what the SDK had to retry). */
  retriedRequests: number;
  videos: number;
  ms: number;
  problems: string[];
  perFile: SoakFileResult[];
  summary: string;
}

/** The seeded PRNG of the plans: mulberry32, the one the local IoT cloud's event generator uses. */
export const prng = mulberry32;

type OssOp = 'PostObject' | 'InitiateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload';
type FaultKind = 'reset' | 'http500' | 'slow';

interface PlannedFault {
  op: OssOp;
  partNumber?: number;
  kind: FaultKind;
  delayMs?: number;
  id?: string;
}

interface FilePlan {
  index: number;
  name: string;
  size: number;
  partSize: number;
  parts: number;
  faults: PlannedFault[];
  /** Expire the credentials when this many bytes are confirmed (mid-upload), or 'issue' (right after issuing them). */
  expiry?: { at: number | 'issue' };
  /** Kill the app when this many bytes are confirmed. */
  killAt?: number;
}

export function planSoak(o: Pick<SoakOptions, 'seed' | 'files' | 'maxBytes' | 'partSize' | 'parallel' | 'resetPct' | 'http500Pct' | 'slowPct' | 'slowMs' | 'expiryEvery' | 'kills'>): FilePlan[] {
  const rnd = prng(o.seed);
  const plans: FilePlan[] = [];
  for (let i = 0; i < o.files; i++) {
    const size = i === 0 ? 0 : i === 1 ? Math.min(o.partSize, o.maxBytes) : Math.floor(rnd() * (o.maxBytes + 1));
    const partSize = choosePartSize(size, o.partSize);
    const parts = size <= partSize ? 0 : Math.ceil(size / partSize);
    const ops: Array<{ op: OssOp; partNumber?: number }> = parts
      ? [{ op: 'InitiateMultipartUpload' }, ...Array.from({ length: parts }, (_, k) => ({ op: 'UploadPart' as const, partNumber: k + 1 })), { op: 'CompleteMultipartUpload' }]
      : [{ op: 'PostObject' }];
    const faults: PlannedFault[] = [];
    for (const op of ops) {
      const r = rnd() * 100;
      const d = rnd();
      if (r < o.resetPct) faults.push({ ...op, kind: 'reset' });
      else if (r < o.resetPct + o.http500Pct) faults.push({ ...op, kind: 'http500' });
      else if (r < o.resetPct + o.http500Pct + o.slowPct) faults.push({ ...op, kind: 'slow', delayMs: Math.round(o.slowMs / 4 + d * (o.slowMs * 3) / 4) });
    }
    plans.push({ index: i, name: `soak-${o.seed}-${String(i).padStart(3, '0')}.mp4`, size, partSize, parts, faults });
  }
  // Mid-upload events need a part that is sent after the trigger however fast the machine: at least `parallel` + 2 parts.
  const roomy = (p: FilePlan) => p.parts >= o.parallel + 2;
  const at = (p: FilePlan) => (1 + Math.floor(rnd() * (p.parts - o.parallel - 1))) * p.partSize;
  for (const p of plans) {
    if (o.expiryEvery > 0 && p.index % o.expiryEvery === o.expiryEvery - 1) p.expiry = { at: roomy(p) ? at(p) : 'issue' };
  }
  const candidates = plans.filter((p) => roomy(p) && !p.expiry);
  for (let k = 0; k < o.kills && candidates.length; k++) {
    const p = candidates.splice(Math.floor(rnd() * candidates.length), 1)[0];
    p.killAt = at(p);
  }
  return plans;
}

function requestJson<T>(base: string, method: string, p: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: u.hostname, port: Number(u.port), path: u.pathname + u.search, method, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode || 0) >= 300) reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 300)}`));
          else resolve((text ? JSON.parse(text) : undefined) as T);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Streams the stored object back and compares it with `expected` chunk by chunk; returns the read-back's CRC-64. */
function readBack(oss: string, bucket: string, key: string, expected: Buffer): Promise<{ equal: boolean; length: number; crc64: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`/_admin/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`, oss);
    http
      .get({ host: u.hostname, port: Number(u.port), path: u.pathname + u.search, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`read-back ${bucket}/${key}: ${res.statusCode}`));
        }
        const crc = new Crc64();
        let off = 0;
        let equal = true;
        res.on('data', (c: Buffer) => {
          crc.update(c);
          if (equal && (off + c.length > expected.length || !c.equals(expected.subarray(off, off + c.length)))) equal = false;
          off += c.length;
        });
        res.on('end', () => resolve({ equal: equal && off === expected.length, length: off, crc64: crc.digest() }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function decodeAddress(b64: string): { Bucket: string; FileName: string } {
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as { Bucket: string; FileName: string };
}

interface FileState {
  plan: FilePlan;
  wxPath: string;
  realPath: string;
  key?: string;
  bucket?: string;
  videoId?: string;
  faultsArmed: boolean;
  creates: number;
  refreshes: number;
  expiryTriggered: boolean;
  expiryDone?: Promise<unknown>;
  tokenExpiredEvents: number;
  killed: boolean;
  resumed: boolean;
  info?: VODUploadInfo;
  failures: string[];
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const t0 = Date.now();
  const log = o.log || (() => undefined);
  const plans = planSoak(o);
  const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'mp-soak-'));
  const states: FileState[] = [];
  const runtimes: WxRuntime[] = [];
  const problems: string[] = [];
  let runs = 0;
  let uploadEnds = 0;
  let retriedRequests = 0;
  const admin = <T = unknown>(base: string, method: string, p: string, body?: unknown) => requestJson<T>(base, method, p, body);
  try {
    await admin(o.urls.oss, 'DELETE', '/_admin/faults');
    const openid = `osoak${o.seed}`;
    const newRuntime = () => {
      const rt = createWxRuntime({ sandboxDir, wechatUrl: o.urls.wechat, openid, clearTempOnStart: false });
      runtimes.push(rt);
      return rt;
    };
    {
      const rt = newRuntime();
      for (const p of plans) {
        const wxPath = rt.files.writeTempSized(p.name, p.size, o.seed * 1000 + p.index + 1);
        states.push({ plan: p, wxPath, realPath: rt.files.realPath(wxPath), faultsArmed: false, creates: 0, refreshes: 0, expiryTriggered: false, tokenExpiredEvents: 0, killed: false, resumed: false, failures: [] });
      }
    }
    const byUrl = new Map(states.map((s) => [s.wxPath, s] as const));

    let pending = states.slice();
    let rt = runtimes[0];
    while (pending.length) {
      runs++;
      const gate: Gate = createGate(`parts-run${runs}`);
      gate.open();
      rt.faults.add({ match: { method: 'PUT', url: /[?&]partNumber=/ }, times: Infinity, action: { type: 'hold', gate } });
      const adapter: PlatformAdapter = { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
      const app = new AppClient({ baseUrl: o.urls.appServerUrl, adapter });
      let ended!: () => void;
      let killNow!: (s: FileState) => void;
      const done = new Promise<'end'>((r) => (ended = () => r('end')));
      const kill = new Promise<FileState>((r) => (killNow = r));
      let killing: FileState | undefined;
      const thisRun = runs;

      const up: VODUpload = new VODUpload({
        userId: 'soak',
        adapter,
        partSize: o.partSize,
        parallel: o.parallel,
        retryCount: 3,
        retryDuration: 0.02,
        getUploadAuth: async (info) => {
          const s = byUrl.get(info.url) as FileState;
          let res: VODUploadAuthResult & { UploadAuth: string; UploadAddress: string; VideoId: string };
          if (info.videoId) {
            s.refreshes++;
            res = await app.call('POST', '/api/vod/upload-video', { videoId: info.videoId });
          } else {
            s.creates++;
            res = await app.call('POST', '/api/vod/upload-video', { title: s.plan.name, fileName: s.plan.name, fileSize: info.fileSize });
          }
          const addr = decodeAddress(res.UploadAddress);
          s.key = addr.FileName;
          s.bucket = addr.Bucket;
          s.videoId = res.VideoId || info.videoId;
          if (!s.faultsArmed) {
            s.faultsArmed = true;
            for (const f of s.plan.faults) {
              const action = f.kind === 'reset' ? { type: 'reset' } : f.kind === 'http500' ? { type: 'status', status: 500 } : { type: 'delay', ms: f.delayMs };
              const r = await admin<{ fault: { id: string } }>(o.urls.oss, 'POST', '/_admin/faults', { op: f.op, key: s.key, partNumber: f.partNumber, times: 1, action });
              f.id = r.fault.id;
            }
          }
          if (s.plan.expiry && s.plan.expiry.at === 'issue' && !s.expiryTriggered) {
            s.expiryTriggered = true;
            s.expiryDone = admin(o.urls.oss, 'POST', '/_admin/credentials/expire', { mediaId: s.videoId });
            await s.expiryDone;
          }
          return res;
        },
        onUploadProgress: (info) => {
          const s = byUrl.get(info.url) as FileState;
          const loaded = info.loadedBytes;
          if (s.plan.expiry && typeof s.plan.expiry.at === 'number' && !s.expiryTriggered && loaded >= s.plan.expiry.at) {
            s.expiryTriggered = true;
            // part requests from now on wait until the expiry has landed: at least one is sent with the old token
            gate.close();
            s.expiryDone = admin(o.urls.oss, 'POST', '/_admin/credentials/expire', { mediaId: info.videoId }).finally(() => gate.open());
          }
          if (s.plan.killAt !== undefined && !s.killed && loaded >= s.plan.killAt && !killing) {
            killing = s;
            gate.close(); // nothing more is sent: the kill lands with the rest of the file unsent
            killNow(s);
          }
        },
        onUploadTokenExpired: (info) => {
          (byUrl.get(info.url) as FileState).tokenExpiredEvents++;
        },
        onUploadSucceed: (info) => {
          const s = byUrl.get(info.url) as FileState;
          s.info = { ...info };
        },
        onUploadFailed: (info, code, message) => {
          (byUrl.get(info.url) as FileState).failures.push(`run ${thisRun}: ${code}: ${message}`);
        },
        onUploadEnd: () => {
          uploadEnds++;
          ended();
        },
      });
      for (const s of pending) if (!up.addFile({ url: s.wxPath, name: s.plan.name }, null, null, null, JSON.stringify({ Vod: { Title: s.plan.name } }))) problems.push(`${s.plan.name}: addFile refused (${up.lastError?.code})`);
      up.startUpload();
      const outcome = await Promise.race([done, kill]);
      const tally = () => (retriedRequests += rt.requests.filter((r) => r.error || (r.status !== undefined && r.status >= 500)).length);
      if (outcome === 'end') {
        tally();
        pending = [];
        break;
      }
      const victim = outcome;
      await rt.kill();
      tally();
      victim.killed = true;
      log(`  run ${thisRun}: app killed in ${victim.plan.name} at ${victim.plan.killAt} of ${victim.plan.size} bytes`);
      await rt.close();
      // the files not finished before the kill go to the restarted app, the killed one first
      pending = pending.filter((s) => !s.info);
      for (const s of pending) if (s === victim) s.resumed = true;
      rt = newRuntime();
    }
    for (const s of states) if (s.expiryDone) await s.expiryDone;

    // ---- checks
    const { faults } = await admin<{ faults: Array<{ id: string; hits: number }> }>(o.urls.oss, 'GET', '/_admin/faults');
    const hits = new Map(faults.map((f) => [f.id, f.hits] as const));
    const fired = { reset: 0, http500: 0, slow: 0, expiry: 0, kill: 0, resumed: 0 };
    const planned = { reset: 0, http500: 0, slow: 0, expiry: 0, kill: 0 };
    const { videos } = await admin<{ videos: Array<{ VideoId: string; Title: string }> }>(o.urls.vod, 'GET', '/_admin/media');
    const perFile: SoakFileResult[] = [];
    let bytes = 0;
    for (const s of states) {
      const fp: string[] = [];
      const p = s.plan;
      bytes += p.size;
      for (const f of p.faults) {
        planned[f.kind]++;
        const h = f.id ? hits.get(f.id) || 0 : 0;
        fired[f.kind] += h;
        if (h !== 1) fp.push(`planned ${f.kind} on ${f.op}${f.partNumber ? ` #${f.partNumber}` : ''} fired ${h} times`);
      }
      if (p.expiry) {
        planned.expiry++;
        if (s.tokenExpiredEvents === 1 && s.refreshes >= 1) fired.expiry++;
        else fp.push(`expiry: ${s.tokenExpiredEvents} onUploadTokenExpired, ${s.refreshes} refreshes`);
      }
      if (p.killAt !== undefined) {
        planned.kill++;
        if (s.killed) fired.kill++;
        else fp.push('planned kill did not happen');
      }
      if (s.resumed) {
        if (s.creates === 1 && s.refreshes >= 1) fired.resumed++;
        else fp.push(`resume: ${s.creates} CreateUploadVideo, ${s.refreshes} refreshes (a resume must refresh the same video)`);
      }
      if (s.failures.length) fp.push(...s.failures);
      const mine = videos.filter((v) => v.Title === p.name);
      if (mine.length !== 1) fp.push(`${mine.length} VOD videos titled ${p.name}`);
      if (s.creates !== 1) fp.push(`${s.creates} CreateUploadVideo calls`);
      const info = s.info;
      if (!info) fp.push('never succeeded');
      else {
        if (mine.length === 1 && mine[0].VideoId !== info.videoId) fp.push(`succeeded as ${info.videoId}, VOD has ${mine[0].VideoId}`);
        const src = readFileSync(s.realPath);
        const local = new Crc64().update(src).digest();
        const back = await readBack(o.urls.oss, info.bucket as string, info.object as string, src);
        const meta = await admin<{ objects: Array<{ key: string; crc64: string; size: number }> }>(o.urls.oss, 'GET', `/_admin/objects?bucket=${encodeURIComponent(info.bucket as string)}&prefix=${encodeURIComponent(info.object as string)}`);
        const stored = meta.objects.find((x) => x.key === info.object);
        if (!back.equal) fp.push(`read-back differs (${back.length} bytes read, ${src.length} expected)`);
        if (back.crc64 !== local) fp.push(`read-back CRC-64 ${back.crc64} ≠ source ${local}`);
        if (!stored || stored.crc64 !== local) fp.push(`OSS CRC-64 ${stored?.crc64} ≠ source ${local}`);
        if (info.crc64 !== local) fp.push(`SDK-reported CRC-64 ${info.crc64} ≠ source ${local}`);
      }
      perFile.push({ index: p.index, name: p.name, size: p.size, parts: p.parts, videoId: info?.videoId, state: info ? 'Success' : 'Failure', problems: fp });
      for (const x of fp) problems.push(`${p.name}: ${x}`);
    }
    const notKilledRuns = runs - fired.kill;
    if (uploadEnds !== notKilledRuns) problems.push(`onUploadEnd fired ${uploadEnds} times for ${notKilledRuns} runs that were not killed`);
    const ms = Date.now() - t0;
    const ok = problems.length === 0;
    const summary =
      `soak seed=${o.seed}: ${o.files} files, ${(bytes / 1048576).toFixed(1)} MiB, ${runs} runs (${fired.kill} kills, ${fired.resumed} resumed) → ` +
      `${perFile.filter((f) => f.state === 'Success' && !f.problems.length).length}/${o.files} byte-exact (read-back + CRC-64), ` +
      `${videos.filter((v) => plans.some((p) => p.name === v.Title)).length} VOD videos, onUploadEnd ${uploadEnds}/${notKilledRuns}; ` +
      `faults fired/planned: reset ${fired.reset}/${planned.reset}, 500 ${fired.http500}/${planned.http500}, slow ${fired.slow}/${planned.slow}, ` +
      `token expiry ${fired.expiry}/${planned.expiry}, kill ${fired.kill}/${planned.kill}; ${retriedRequests} client requests failed or aborted (retried or resumed); ` +
      `${(ms / 1000).toFixed(1)} s; ${ok ? 'OK' : `${problems.length} PROBLEMS`}`;
    return { seed: o.seed, files: o.files, bytes, runs, uploadEnds, planned, fired, retriedRequests, videos: videos.length, ms, problems, perFile, summary };
  } finally {
    for (const r of runtimes) await r.close().catch(() => undefined);
    await admin(o.urls.oss, 'DELETE', '/_admin/faults').catch(() => undefined);
    rmSync(sandboxDir, { recursive: true, force: true, maxRetries: 3 });
  }
}
