/**
 * The download side of the fault soak (issue 15 part 2): N videos of seeded random sizes published on the local VOD
 * (`/_admin/samples` of the vod-cdn), each downloaded with AliMediaDownloader (prepare {vid, appClient} → the MP4 track
 * → start) over the Node wx runtime, with CDN faults planned from the seed per video, pinned to its path:
 * a 403 mid-file (`expireAfter`: every PlayURL is revoked once N bytes of it were served; the downloader must get
 * fresh play info and continue), a connection dropped after N bytes of a response (`dropAfter`), and an HTTP 500
 * (`status`). Checks: every file byte-exact (compared and CRC-64), completion delivered once, no onError, and every
 * planned fault fired (the CDN's own fault counters).
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AliMediaDownloader, AppClient, createWxAdapter } from '../../sdk/src';
import type { PlatformAdapter } from '../../sdk/src';
import { Crc64 } from '../../sdk/src/aliyun/crc64';
import { createWxRuntime } from '../harness/wx-runtime';
import { prng } from './engine';

export interface DownloadSoakOptions {
  seed: number;
  files: number;
  maxBytes: number;
  chunkSize: number;
  parallel: number;
  /** Per video, % chance of each fault kind. */
  expirePct: number;
  dropPct: number;
  http500Pct: number;
  urls: { appServerUrl: string; cdn: string; vod: string; wechat: string };
  log?: (line: string) => void;
}

export interface DownloadSoakResult {
  files: number;
  bytes: number;
  planned: { expire403: number; drop: number; http500: number };
  fired: { expire403: number; drop: number; http500: number };
  cdn403: number;
  problems: string[];
  ms: number;
  summary: string;
}

type Kind = 'expire403' | 'drop' | 'http500';

export function planDownloadSoak(o: Pick<DownloadSoakOptions, 'seed' | 'files' | 'maxBytes' | 'chunkSize' | 'parallel' | 'expirePct' | 'dropPct' | 'http500Pct'>) {
  const rnd = prng(o.seed ^ 0x5eed);
  return Array.from({ length: o.files }, (_, i) => {
    const size = i === 0 ? 1 : Math.max(1, Math.floor(rnd() * (o.maxBytes + 1)));
    const faults: Array<{ kind: Kind; bytes?: number }> = [];
    const a = rnd() * 100;
    const b = rnd() * 100;
    const c = rnd() * 100;
    const at = rnd();
    // the URLs are revoked once N bytes were served; N leaves more than `parallel` chunks after it, so at least one
    // chunk is requested after the revocation however the requests interleave: a real 403 mid-file
    const room = size - (o.parallel + 1) * o.chunkSize;
    if (a < o.expirePct && room > 1) faults.push({ kind: 'expire403', bytes: Math.max(1, Math.floor(at * room)) });
    if (b < o.dropPct) faults.push({ kind: 'drop', bytes: Math.floor(at * Math.min(size, o.chunkSize)) });
    if (c < o.http500Pct) faults.push({ kind: 'http500' });
    return { index: i, size, faults };
  });
}

function adminJson<T>(base: string, method: string, p: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ host: u.hostname, port: Number(u.port), path: u.pathname + u.search, method, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (x: Buffer) => chunks.push(x));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode || 0) >= 300) reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve((text ? JSON.parse(text) : undefined) as T);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

export async function runDownloadSoak(o: DownloadSoakOptions): Promise<DownloadSoakResult> {
  const t0 = Date.now();
  const log = o.log || (() => undefined);
  const plan = planDownloadSoak(o);
  const work = mkdtempSync(path.join(os.tmpdir(), 'mp-soak-dl-'));
  const rt = createWxRuntime({ wechatUrl: o.urls.wechat, openid: `osoakdl${o.seed}`, userDataQuota: 4 * o.maxBytes + 64 * 1024 * 1024 });
  const adapter: PlatformAdapter = { ...createWxAdapter(rt.wx), setTimeout: rt.timers.setTimeout, clearTimeout: rt.timers.clearTimeout };
  const app = new AppClient({ baseUrl: o.urls.appServerUrl, adapter });
  const problems: string[] = [];
  const planned = { expire403: 0, drop: 0, http500: 0 };
  const fired = { expire403: 0, drop: 0, http500: 0 };
  let bytes = 0;
  try {
    await adminJson(o.urls.cdn, 'DELETE', '/_admin/faults');
    await adminJson(o.urls.cdn, 'DELETE', '/_admin/requests');
    for (const p of plan) {
      bytes += p.size;
      const src = path.join(work, `soak-dl-${o.seed}-${p.index}.mp4`);
      // content from the seed, written once
      const buf = Buffer.allocUnsafe(p.size);
      const r = prng(o.seed * 7919 + p.index);
      let i = 0;
      for (; i + 4 <= p.size; i += 4) buf.writeUInt32LE((r() * 4294967296) >>> 0, i);
      for (; i < p.size; i++) buf[i] = (r() * 256) & 0xff;
      writeFileSync(src, buf);
      const sample = await adminJson<{ videoId: string }>(o.urls.cdn, 'POST', '/_admin/samples', { title: `soak-dl-${o.seed}-${p.index}`, files: [{ definition: 'HD', file: src }] });
      const vid = sample.videoId;
      const ids: Array<{ id: number; kind: Kind }> = [];
      for (const f of p.faults) {
        planned[f.kind]++;
        const body = f.kind === 'expire403' ? { type: 'expireAfter', bytes: f.bytes, path: `/${vid}/` } : f.kind === 'drop' ? { type: 'dropAfter', bytes: f.bytes, path: `/${vid}/` } : { type: 'status', status: 500, path: `/${vid}/` };
        const res = await adminJson<{ fault: { id: number } }>(o.urls.cdn, 'POST', '/_admin/faults', body);
        ids.push({ id: res.fault.id, kind: f.kind });
      }
      const d = new AliMediaDownloader({ adapter, chunkSize: o.chunkSize, parallel: o.parallel, retryDelayMs: 5, storageQuota: 4 * o.maxBytes + 64 * 1024 * 1024 });
      const events: string[] = [];
      d.setDelegate({ onCompletion: () => events.push('completion'), onError: (_d, e) => events.push(`error:${e.name}`) });
      d.setSaveDirectory(`${rt.wx.env.USER_DATA_PATH}/soak`);
      const fp: string[] = [];
      try {
        // a sample published through the CDN admin is nobody's video to the AppServer: VidSts (play STS) as the bench does
        const sts = await app.call<{ Region: string; SecurityTokenInfo: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string } }>('POST', '/api/vod/play-sts', {});
        const k = sts.SecurityTokenInfo;
        const info = await d.prepare({ vid, region: sts.Region, accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret, securityToken: k.SecurityToken, endpoint: o.urls.vod });
        const track = info.tracks.find((t) => t.vodFormat === 'mp4' && t.supported);
        if (!track) throw new Error('no mp4 track');
        d.selectTrack(track.trackIndex);
        const file = await d.start();
        const got = readFileSync(rt.files.realPath(file));
        if (!got.equals(buf)) fp.push(`file differs (${got.length} bytes, ${buf.length} expected)`);
        const c1 = new Crc64().update(got).digest();
        const c2 = new Crc64().update(buf).digest();
        if (c1 !== c2) fp.push(`CRC-64 ${c1} ≠ ${c2}`);
        await adapter.fs.unlink(file);
      } catch (e) {
        fp.push(`failed: ${(e as { code?: string }).code || ''} ${(e as Error).message}`);
      }
      // the completion / error events are delivered asynchronously after the promise settles
      for (let i = 0; i < 100 && !events.length; i++) await new Promise<void>((res) => setImmediate(res));
      if (JSON.stringify(events) !== JSON.stringify(['completion'])) fp.push(`events ${JSON.stringify(events)}`);
      d.release();
      const { faults } = await adminJson<{ faults: Array<{ id: number; hits: number }> }>(o.urls.cdn, 'GET', '/_admin/faults');
      if (p.faults.some((f) => f.kind === 'expire403')) {
        const { requests: log403 } = await adminJson<{ requests: Array<{ path: string; status: number }> }>(o.urls.cdn, 'GET', '/_admin/requests');
        if (!log403.some((q) => q.status === 403 && q.path.includes(`/${vid}/`))) fp.push('the URLs were revoked but no request was answered 403');
      }
      for (const { id, kind } of ids) {
        const h = faults.find((f) => f.id === id)?.hits || 0;
        fired[kind] += h;
        if (h !== 1) fp.push(`planned ${kind} fired ${h} times`);
      }
      await adminJson(o.urls.cdn, 'DELETE', '/_admin/faults');
      rmSync(src, { force: true });
      for (const x of fp) problems.push(`download ${p.index} (${p.size} B): ${x}`);
      if (fp.length) log(`  download ${p.index}: ${fp.join('; ')}`);
    }
    const { requests } = await adminJson<{ requests: Array<{ status: number; fault?: string }> }>(o.urls.cdn, 'GET', '/_admin/requests');
    const cdn403 = requests.filter((q) => q.status === 403).length;
    const ms = Date.now() - t0;
    const summary =
      `download soak seed=${o.seed}: ${o.files} videos, ${(bytes / 1048576).toFixed(1)} MiB → ${o.files - new Set(problems.map((x) => x.split(':')[0])).size}/${o.files} byte-exact; ` +
      `faults fired/planned: 403 mid-file ${fired.expire403}/${planned.expire403} (${cdn403} requests answered 403), drop after N bytes ${fired.drop}/${planned.drop}, 500 ${fired.http500}/${planned.http500}; ` +
      `${(ms / 1000).toFixed(1)} s; ${problems.length ? `${problems.length} PROBLEMS` : 'OK'}`;
    return { files: o.files, bytes, planned, fired, cdn403, problems, ms, summary };
  } finally {
    await rt.close();
    await adminJson(o.urls.cdn, 'DELETE', '/_admin/faults').catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}
