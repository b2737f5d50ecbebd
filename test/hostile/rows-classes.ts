/**
 * One row per class of bad input (issue 9), its cases named in `values`: depth and size of free-form JSON, text that
 * is not Unicode, bodies that are not JSON, paths that are not percent-encoding, header values that cannot be headers
 * (when stored and when requested), truncated multipart bodies, replayed or undated RPC requests, a provider answering
 * without its documented fields. Each row checks, besides the answer, that nothing was stored.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { buildAppServer } from '../../server/app';
import { answer, appCode, ossCode, popCode, type HostileAnswer, type HostileEnv, type HostileRow } from './harness';
import { multipart, signedPostFields } from './rows';

/** VOD owners the AppServer recorded: hash "vod:owner" in its FileStore snapshot (DATA_DIR/app/store.json). */
function recordedOwners(appDataDir: string): Record<string, string> {
  const file = path.join(appDataDir, 'store.json');
  if (!existsSync(file)) return {};
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { entries: Array<[string, string, unknown]> };
  const e = snap.entries.find(([k]) => k === 'vod:owner');
  return e ? Object.fromEntries(e[2] as Array<[string, string]>) : {};
}

async function mediaCount(env: HostileEnv): Promise<number> {
  const r = await env.http({ method: 'GET', url: `${env.cloud.vod}/_admin/media` });
  const m = JSON.parse(r.text) as { videos: unknown[]; images: unknown[] };
  return m.videos.length + m.images.length;
}

async function objectExists(env: HostileEnv, key: string): Promise<boolean> {
  const r = await env.http({ method: 'GET', url: `${env.cloud.oss}/_admin/object?bucket=${env.bucket}&key=${encodeURIComponent(key)}` });
  return r.status === 200;
}

/** Send, and report a problem when the VOD media library grew. */
async function withNothingStored(env: HostileEnv, send: () => Promise<HostileAnswer>): Promise<HostileAnswer> {
  const before = await mediaCount(env);
  const a = await send();
  const after = await mediaCount(env);
  return after === before ? a : { ...a, code: `${String(a.code)} (but ${after - before} media record(s) were stored)` };
}

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** PostObject a field set; the key must not exist afterwards. */
async function postObject(env: HostileEnv, key: string, extra: Array<[string, string]>, opts: { truncate?: boolean } = {}): Promise<HostileAnswer> {
  const m = multipart(signedPostFields(key, extra), { name: 'a.bin', data: Buffer.alloc(4096, 7) });
  const body = opts.truncate ? m.body.subarray(0, m.body.length - 1500) : m.body;
  return answer(await env.http({ method: 'POST', url: `${env.cloud.oss}/${env.bucket}`, headers: { 'content-type': m.contentType }, body }), (_j, t) => ossCode(t));
}

const PUBLIC_KEY = 'image/hostile/public.png';
async function ensurePublicObject(env: HostileEnv): Promise<void> {
  if (await objectExists(env, PUBLIC_KEY)) return;
  const r = await env.oss({ method: 'PUT', key: PUBLIC_KEY, headers: { 'content-type': 'image/png' }, body: Buffer.from('png') });
  if (r.status !== 200) throw new Error(`setup PUT failed: ${r.status} ${r.text}`);
}

export const rows: HostileRow[] = [
  {
    name: 'AppServer JSON depth and size (userData and any body)',
    values: ['userData nested 10,000 levels', 'body nested 40 levels', 'userData object of 2 KB', 'userData object of 900 KB', 'userData string of 2 KB'],
    send: (env, v) =>
      withNothingStored(env, () => {
        const base = '"title":"t","fileName":"a.mp4"';
        if (v === 'userData nested 10,000 levels') return env.api('POST', '/api/vod/upload-video', { rawBody: `{${base},"userData":${deep(10000)}}` });
        if (v === 'body nested 40 levels') return env.api('POST', '/api/vod/upload-video', { rawBody: `{${base},"userData":${deep(40)}}` });
        if (v === 'userData object of 2 KB') return env.api('POST', '/api/vod/upload-video', { body: { title: 't', fileName: 'a.mp4', userData: { s: 'x'.repeat(2048) } } });
        if (v === 'userData object of 900 KB') return env.api('POST', '/api/vod/upload-video', { body: { title: 't', fileName: 'a.mp4', userData: { s: 'x'.repeat(900 * 1024) } } });
        return env.api('POST', '/api/vod/upload-video', { body: { title: 't', fileName: 'a.mp4', userData: JSON.stringify({ s: 'x'.repeat(2048) }) } });
      }),
    expect: (v) =>
      v.includes('nested') ? { status: 400, code: 'JsonTooDeep' } : v.includes('900 KB') ? { status: 413, code: 'BodyTooLarge' } : v.includes('string') ? { status: 400, code: 'InvalidParameter' } : { status: 400, code: 'LengthExceededMax' },
    async check(env) {
      const owners = recordedOwners(path.join(env.stack.dataDir, 'app'));
      return Object.keys(owners).includes('undefined') ? ['an owner named "undefined" was recorded'] : [];
    },
  },
  {
    name: 'AppServer text that is not Unicode (lone UTF-16 surrogate)',
    values: ['title "\\ud800"', 'fileName "a\\udfff.mp4"', 'userData key "\\ud83d"', 'polyv videoId "\\udc00"'],
    send: (env, v) =>
      withNothingStored(env, () => {
        if (v.startsWith('title')) return env.api('POST', '/api/vod/upload-video', { rawBody: '{"title":"bad \\ud800 title","fileName":"a.mp4"}' });
        if (v.startsWith('fileName')) return env.api('POST', '/api/vod/upload-video', { rawBody: '{"title":"t","fileName":"a\\udfff.mp4"}' });
        if (v.startsWith('userData')) return env.api('POST', '/api/vod/upload-video', { rawBody: '{"title":"t","fileName":"a.mp4","userData":{"\\ud83d":1}}' });
        return env.api('POST', '/api/polyv/play', { rawBody: '{"videoId":"\\udc00"}' });
      }),
    expect: () => ({ status: 400, code: 'InvalidParameter' }),
  },
  {
    name: 'AppServer bodies that are not JSON',
    values: ['text/plain', 'application/x-www-form-urlencoded', 'text/plain on /api/login (no session)'],
    send: (env, v) => {
      if (v === 'text/plain') return env.api('POST', '/api/vod/upload-video', { rawBody: '{"title":"t","fileName":"a.mp4"}', contentType: 'text/plain' });
      if (v.startsWith('application')) return env.api('POST', '/api/vod/upload-video', { rawBody: 'title=t&fileName=a.mp4', contentType: v });
      return env.api('POST', '/api/login', { rawBody: '{"code":"x"}', contentType: 'text/plain', token: null });
    },
    expect: () => ({ status: 415, code: 'UnsupportedMediaType' }),
  },
  {
    name: 'Paths that are not percent-encoding',
    values: ['AppServer /api/vod/videos/%E0%A4%A', 'OSS /bucket/%E0%A4%A', 'OSS /bucket/a%zz', 'VOD /%ff', 'Polyv /uimage/%E0/x/y', 'WeChat /sns/%zz'],
    send: async (env, v) => {
      const [where, p] = v.split(' ');
      if (where === 'AppServer') return answer(await env.http({ method: 'GET', url: `${env.app}${p}`, headers: { authorization: `Bearer ${env.token}` } }), appCode);
      if (where === 'OSS') return answer(await env.http({ method: 'GET', url: `${env.cloud.oss}${p.replace('/bucket', `/${env.bucket}`)}` }), (_j, t) => ossCode(t));
      if (where === 'VOD') return answer(await env.http({ method: 'GET', url: `${env.cloud.vod}${p}` }), popCode);
      if (where === 'Polyv') return answer(await env.http({ method: 'GET', url: `${env.cloud.polyv}${p}` }), (j) => j?.code);
      return answer(await env.http({ method: 'GET', url: `${env.cloud.wechat}${p}` }), (j) => j?.errcode);
    },
    expect: (v) =>
      v.startsWith('AppServer') ? { status: 400, code: 'InvalidURI' } : v.startsWith('OSS') ? { status: 400, code: 'InvalidURI' } : v.startsWith('VOD') ? { status: 400, code: 'InvalidParameter' } : v.startsWith('Polyv') ? { status: 400, code: 400 } : { status: 400, code: 40097 },
  },
  {
    name: 'OSS PostObject header values that cannot be headers (refused when stored)',
    values: ['x-oss-meta-note with CR LF', 'x-oss-meta-note with NUL', 'Content-Type with LF', 'x-oss-meta-"a b" (not a header name)'],
    send: (env, v) => {
      const key = `hostile/meta-${v.replace(/\W+/g, '-')}.bin`;
      if (v.startsWith('x-oss-meta-note with CR')) return postObject(env, key, [['x-oss-meta-note', 'a\r\nSet-Cookie: x=1']]);
      if (v.startsWith('x-oss-meta-note with NUL')) return postObject(env, key, [['x-oss-meta-note', 'a\u0000b']]);
      if (v.startsWith('Content-Type')) return postObject(env, key, [['Content-Type', 'text/plain\nX-Injected: 1']]);
      return postObject(env, key, [['x-oss-meta-a b', 'v']]);
    },
    expect: () => ({ status: 400, code: 'InvalidArgument' }),
    async check(env, v) {
      const key = `hostile/meta-${v.replace(/\W+/g, '-')}.bin`;
      return (await objectExists(env, key)) ? [`${key} was stored`] : [];
    },
  },
  {
    name: 'OSS PostObject UTF-8 metadata (stored; answered as its UTF-8 bytes)',
    values: ['x-oss-meta-title 视频 ✓'],
    send: async (env) => {
      const a = await postObject(env, 'hostile/utf8-meta.bin', [['x-oss-meta-title', '视频 ✓']]);
      if (a.status !== 204) return a;
      const g = await env.oss({ method: 'GET', key: 'hostile/utf8-meta.bin' });
      const raw = String(g.headers['x-oss-meta-title'] || '');
      return { ...g, code: Buffer.from(raw, 'latin1').toString('utf8') };
    },
    expect: () => ({ status: 200, code: '视频 ✓' }),
  },
  {
    name: 'OSS GetObject response-* overrides that cannot be headers (anonymous, public object)',
    values: ['response-content-disposition %0d%0a', 'response-content-type %00', 'response-expires %0a', 'response-cache-control 中文 (UTF-8: encoded, 200)'],
    send: async (env, v) => {
      await ensurePublicObject(env);
      const q = v.startsWith('response-content-disposition')
        ? 'response-content-disposition=attachment%0d%0aSet-Cookie:%20a=1'
        : v.startsWith('response-content-type')
          ? 'response-content-type=text/html%00'
          : v.startsWith('response-expires')
            ? 'response-expires=x%0ay'
            : `response-cache-control=${encodeURIComponent('max-age=1, 中文')}`;
      const a = await env.oss({ method: 'GET', key: PUBLIC_KEY, anonymous: true, query: q });
      if (a.status === 200) return { ...a, code: Buffer.from(String(a.headers['cache-control'] || ''), 'latin1').toString('utf8') };
      return a;
    },
    expect: (v) => (v.includes('UTF-8') ? { status: 200, code: 'max-age=1, 中文' } : { status: 400, code: 'InvalidArgument' }),
    async check(env) {
      // the object stays readable for everyone afterwards
      const g = await env.oss({ method: 'GET', key: PUBLIC_KEY, anonymous: true });
      return g.status === 200 ? [] : [`public object answered ${g.status} afterwards`];
    },
  },
  {
    name: 'OSS PostObject malformed multipart body',
    values: ['truncated in the file part', 'no closing boundary', 'boundary missing from Content-Type'],
    send: async (env, v) => {
      const key = `hostile/truncated-${v.replace(/\W+/g, '-')}.bin`;
      if (v.startsWith('truncated')) return postObject(env, key, [], { truncate: true });
      const m = multipart(signedPostFields(key), { name: 'a.bin', data: Buffer.from('abc') });
      if (v.startsWith('no closing')) {
        const body = m.body.subarray(0, m.body.length - Buffer.byteLength(`--${m.contentType.split('boundary=')[1]}--\r\n`));
        return answer(await env.http({ method: 'POST', url: `${env.cloud.oss}/${env.bucket}`, headers: { 'content-type': m.contentType }, body }), (_j, t) => ossCode(t));
      }
      return answer(await env.http({ method: 'POST', url: `${env.cloud.oss}/${env.bucket}`, headers: { 'content-type': 'multipart/form-data' }, body: m.body }), (_j, t) => ossCode(t));
    },
    expect: () => ({ status: 400, code: 'InvalidArgument' }),
    async check(env, v) {
      const key = `hostile/truncated-${v.replace(/\W+/g, '-')}.bin`;
      return (await objectExists(env, key)) ? [`${key} was stored`] : [];
    },
  },
  {
    name: 'POP Timestamp and SignatureNonce (replay)',
    values: ['no Timestamp', 'Timestamp 16 minutes old', 'Timestamp 14 minutes ahead, replayed 16 minutes later', 'same nonce, new Timestamp'],
    send: async (env, v) => {
      const params = { Action: 'GetVideoInfo', VideoId: '0'.repeat(32) };
      if (v === 'no Timestamp') return env.pop('vod', params, { omit: ['Timestamp'] });
      if (v === 'Timestamp 16 minutes old') return env.pop('vod', params, { timestampMs: Date.now() - 16 * 60000 });
      const nonce = `hostile-${v.length}-${Date.now()}`;
      const ts = v.startsWith('same') ? Date.now() : Date.now() + 14 * 60000;
      const first = await env.pop('vod', params, { nonce, timestampMs: ts });
      if (first.code !== 'InvalidVideo.NotFound') return { ...first, code: `first request: ${String(first.code)}` };
      if (v.startsWith('same')) return env.pop('vod', params, { nonce });
      env.stack.runningCloud!.setClockOffset(16 * 60000);
      try {
        // the very same request (same Timestamp, same nonce): its Timestamp is still inside the window
        return await env.pop('vod', params, { nonce, timestampMs: ts });
      } finally {
        env.stack.runningCloud!.setClockOffset(0);
      }
    },
    expect: (v) =>
      v === 'no Timestamp' ? { status: 400, code: 'MissingTimestamp' } : v.includes('old') ? { status: 400, code: 'InvalidTimeStamp.Expired' } : { status: 400, code: 'SignatureNonceUsed' },
  },
  {
    name: 'Local VOD/STS errors fastify raises itself (POP JSON with a Code)',
    values: ['VOD form body over 1 MB', 'STS form body over 1 MB'],
    send: async (env, v) => {
      const base = v.startsWith('VOD') ? env.cloud.vod : env.cloud.sts;
      const body = `Action=GetVideoInfo&Title=${'x'.repeat(1024 * 1024 + 10)}`;
      return answer(await env.http({ method: 'POST', url: `${base}/`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }), popCode);
    },
    expect: () => ({ status: 413, code: 'RequestEntityTooLarge' }),
  },
  {
    name: 'AppServer never turns a provider error into a 200',
    values: ['VOD answers 413 {"message":"too large"} (no Code)', 'VOD answers 200 {} (no VideoId)'],
    send: async (env, v) => {
      // A stand-in for a proxy or a broken gateway in front of VOD (not our code): it answers every request the same way.
      const stub = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const status = v.includes('413') ? 413 : 200;
          res.writeHead(status, { 'content-type': 'application/json' }).end(v.includes('413') ? '{"message":"too large"}' : '{}');
        });
      });
      await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hostile-app-'));
      const { app } = await buildAppServer({ env: { ALIYUN_VOD_ENDPOINT: `http://127.0.0.1:${(stub.address() as { port: number }).port}` }, cloud: env.cloud, dataDir, now: () => Date.now() });
      try {
        await app.listen({ host: '127.0.0.1', port: 0 });
        const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
        const code = JSON.parse((await env.http({ method: 'POST', url: `${env.cloud.wechat}/wx/dev/code`, headers: { 'content-type': 'application/json' }, body: '{"openid":"oHostileStub01"}' })).text).code as string;
        const token = JSON.parse((await env.http({ method: 'POST', url: `${base}/api/login`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) })).text).token as string;
        const a = answer(
          await env.http({ method: 'POST', url: `${base}/api/vod/upload-video`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"title":"t","fileName":"a.mp4"}' }),
          appCode,
        );
        const owners = recordedOwners(dataDir);
        if (Object.keys(owners).length) return { ...a, code: `${String(a.code)} (but owners were recorded: ${JSON.stringify(owners)})` };
        return a;
      } finally {
        await app.close();
        await new Promise<void>((r) => stub.close(() => r()));
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    expect: () => ({ status: 502, code: 'VODBadResponse' }),
  },
];
