/**
 * Local VOD play domain (the CDN in front of VOD's storage): serves the PlayURLs GetPlayInfo issues.
 *
 *  - Type-A URL signing: `?auth_key={expires}-{rand}-{uid}-{md5}`, md5 over "{uri}-{expires}-{rand}-{uid}-{key}";
 *    missing / wrong / expired / revoked → 403 (as Aliyun CDN answers).
 *  - MP4 / MP3: `Accept-Ranges: bytes`, single byte ranges → 206 + Content-Range, unsatisfiable → 416 with
 *    `Content-Range: bytes * /size`, strong ETag (md5), If-Range, Content-Length always, HEAD.
 *  - HLS: the m3u8 is rewritten as the CDN does: segment URIs get the playlist's auth_key (signed per segment URI),
 *    and for HLS standard encryption `#EXT-X-KEY:METHOD=AES-128,URI="…/decrypt?Ciphertext=…&MtsHlsUriToken=…"`
 *    (the token passed through from the playlist URL, "HLS标准加密参数透传"). Segments are AES-128-CBC encrypted
 *    with the content key, IV = media sequence number (RFC 8216 §5.2).
 *  - GET /decrypt?Ciphertext&MtsHlsUriToken: the business decrypt service stand-in: the raw 16-byte key for a
 *    valid, unexpired, single-use token; 403 otherwise.
 *  - Fault switches (admin, loopback only): POST /_admin/faults {path?, type: dropAfter|ignoreRange|expireAfter|
 *    changeEtag|hold|status, bytes?, status?, minStart?, times?}; DELETE /_admin/faults; POST /_admin/faults/release
 *    (lets held requests go); POST /_admin/expire-urls {videoId?} (revokes every PlayURL issued so far);
 *    GET /_admin/requests; POST /_admin/samples {title, files:[{definition, file}]} (bench / test videos).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createFastify } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { checkHlsToken, getPlayCatalog, hlsTokenSecret, MEDIA_DIR, releasePlayCatalog, type CdnFault, type PlayStream } from '../aliyun-vod/play';

const TYPES: Record<string, string> = { mp4: 'video/mp4', mp3: 'audio/mpeg', m3u8: 'application/vnd.apple.mpegurl', ts: 'video/MP2T', jpg: 'image/jpeg' };

function ivFor(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(sequence >>> 0, 12);
  return iv;
}

export function vodCdnProvider(): CloudProvider {
  return {
    name: 'cdn',
    async build(ctx: CloudContext) {
      const catalog = getPlayCatalog(ctx);
      // a path that is not percent-encoding: the CDN's (Tengine's) plain 400 page, as for any malformed request
      const app = createFastify({ name: 'cdn', frameworkErrors: (_err, _req, reply) => void reply.status(400).type('text/html').send('<html><body><h1>400 Bad Request</h1></body></html>') });
      app.addHook('onClose', async () => {
        for (const h of catalog.holds) h();
        catalog.holds = [];
        releasePlayCatalog(ctx);
      });
      const tokenSecret = hlsTokenSecret();
      const encCache = new Map<string, Buffer>();
      let faultSeq = 0;

      const takeFault = (p: string, types: CdnFault['type'][], rangeStart?: number): CdnFault | undefined => {
        const f = catalog.faults.find(
          (x) => x.hits < x.times && types.includes(x.type) && (!x.path || p.includes(x.path)) && (x.type !== 'hold' || x.minStart === undefined || (rangeStart !== undefined && rangeStart >= x.minStart)),
        );
        if (f) f.hits++;
        return f;
      };

      const forbid = (reply: FastifyReply, why: string, p: string) => {
        catalog.log.push({ time: new Date(ctx.now()).toISOString(), path: p, status: 403, bytes: 0, fault: why });
        return reply.status(403).type('text/html').header('x-tengine-error', `denied by Referer ACL or auth_key (${why})`).send('<html><body><h1>403 Forbidden</h1></body></html>');
      };

      /** Serves a byte source with Range / If-Range / ETag / faults. */
      const serveBytes = async (req: FastifyRequest, reply: FastifyReply, p: string, file: string, type: string, body?: Buffer) => {
        const size = body ? body.length : statSync(file).size;
        const etag = body ? `"${createHash('md5').update(body).digest('hex').toUpperCase()}"` : await catalog.etagOf(file);
        const range = req.headers.range;
        let start = 0;
        let end = size - 1;
        let partial = false;
        const m = typeof range === 'string' ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
        const ifRange = req.headers['if-range'];
        const ignore = range ? takeFault(p, ['ignoreRange']) : undefined;
        if (m && !ignore && (!ifRange || ifRange === etag)) {
          if (m[1] === '' && m[2] === '') return reply.status(416).header('content-range', `bytes */${size}`).send();
          if (m[1] === '') {
            const n = Math.min(Number(m[2]), size);
            start = size - n;
          } else {
            start = Number(m[1]);
            end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
          }
          if (start >= size || start > end) {
            catalog.log.push({ time: new Date(ctx.now()).toISOString(), path: p, range, status: 416, bytes: 0 });
            return reply.status(416).header('content-range', `bytes */${size}`).header('accept-ranges', 'bytes').send();
          }
          partial = true;
        }
        const hold = takeFault(p, ['hold'], start);
        if (hold) await new Promise<void>((resolve) => catalog.holds.push(resolve));
        const st = takeFault(p, ['status']);
        if (st) {
          catalog.log.push({ time: new Date(ctx.now()).toISOString(), path: p, range, status: st.status || 500, bytes: 0, fault: 'status' });
          return reply.status(st.status || 500).type('text/plain').send('fault');
        }
        const len = end - start + 1;
        reply.status(partial ? 206 : 200);
        reply.header('accept-ranges', 'bytes');
        reply.header('etag', etag);
        reply.header('content-type', type);
        reply.header('content-length', String(len));
        reply.header('cache-control', 'max-age=86400');
        if (partial) reply.header('content-range', `bytes ${start}-${end}/${size}`);
        const entry = { time: new Date(ctx.now()).toISOString(), path: p, range: typeof range === 'string' ? range : undefined, status: partial ? 206 : 200, bytes: 0, fault: ignore ? 'ignoreRange' : undefined as string | undefined };
        catalog.log.push(entry);
        if (req.method === 'HEAD') return reply.send();
        const drop = takeFault(p, ['dropAfter']);
        const expireAfter = catalog.faults.find((x) => x.type === 'expireAfter' && x.hits < x.times && (!x.path || p.includes(x.path)));
        // Stream by hand so a dropAfter fault can cut the socket after exactly N body bytes.
        reply.hijack();
        const res = reply.raw;
        res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
        const src = body ? [body.subarray(start, end + 1)] : createReadStream(file, { start, end, highWaterMark: 256 * 1024 });
        let sent = 0;
        try {
          for await (const chunk of src as AsyncIterable<Buffer>) {
            let c = chunk;
            if (drop && drop.bytes !== undefined && sent + c.length > drop.bytes) {
              c = c.subarray(0, Math.max(0, drop.bytes - sent));
              if (c.length) res.write(c);
              sent += c.length;
              entry.bytes = sent;
              entry.fault = 'dropAfter';
              await new Promise((r) => setImmediate(r));
              res.socket?.destroy();
              return;
            }
            sent += c.length;
            entry.bytes = sent;
            catalog.servedBytes.set(p, (catalog.servedBytes.get(p) || 0) + c.length);
            if (!res.write(c)) await new Promise<void>((resolve) => res.once('drain', () => resolve()));
            if (res.destroyed) return;
          }
          res.end();
        } catch {
          res.destroy();
        } finally {
          if (expireAfter && (catalog.servedBytes.get(p) || 0) >= (expireAfter.bytes || 0) && expireAfter.hits < expireAfter.times) {
            expireAfter.hits++;
            catalog.revokeAll();
          }
        }
      };

      const encSegment = (file: string, seq: number): Buffer => {
        const k = `${file}\n${seq}`;
        let b = encCache.get(k);
        if (!b) {
          const c = createCipheriv('aes-128-cbc', catalog.hlsKey, ivFor(seq));
          b = Buffer.concat([c.update(readFileSync(file)), c.final()]);
          encCache.set(k, b);
        }
        return b;
      };

      app.get('/cover/clip-6s.jpg', async (req, reply) => serveBytes(req, reply, '/cover/clip-6s.jpg', path.join(MEDIA_DIR, 'clip-6s', 'cover.jpg'), TYPES.jpg));

      app.get('/decrypt', async (req, reply) => {
        const q = req.query as Record<string, string | undefined>;
        const p = '/decrypt';
        if (q.Ciphertext !== catalog.hlsCiphertext) return forbid(reply, 'unknown Ciphertext', p);
        const token = q.MtsHlsUriToken;
        // the token is bound to the video its playlist was issued for: the decrypt service learns it from the token's
        // use; we accept a token valid for any video that has this key
        const vids = [...catalog.samples.values()].filter((v) => v.streams.some((s) => s.encryptType === 'HLSEncryption')).map((v) => v.VideoId);
        const ok = vids.some((vid) => checkHlsToken(tokenSecret, token, vid, Math.floor(ctx.now() / 1000)) === 'ok');
        if (!ok) return forbid(reply, 'MtsHlsUriToken invalid or expired', p);
        if (catalog.usedTokens.has(token!)) return forbid(reply, 'MtsHlsUriToken already used', p);
        catalog.usedTokens.add(token!);
        catalog.log.push({ time: new Date(ctx.now()).toISOString(), path: p, status: 200, bytes: 16 });
        return reply.status(200).type('application/octet-stream').header('cache-control', 'no-store').send(catalog.hlsKey);
      });

      const handler = async (req: FastifyRequest, reply: FastifyReply) => {
        const params = req.params as { vid: string; file: string };
        const q = req.query as Record<string, string | undefined>;
        const p = `/${params.vid}/${params.file}`;
        const m = /^([0-9a-f]{32})-[a-z0-9]+(-encrypt-stream)?(?:\.(mp4|mp3|m3u8)|-(\d+)\.ts)$/.exec(params.file);
        if (!m) return reply.status(404).type('text/plain').send('Not Found');
        const stream: PlayStream | undefined = catalog.streamFor(params.vid, m[1]);
        if (!stream) return reply.status(404).type('text/plain').send('Not Found');
        const verdict = catalog.verify(p, q.auth_key, Math.floor(ctx.now() / 1000));
        if (verdict !== 'ok') return forbid(reply, `auth_key ${verdict}`, p);
        if (stream.encryptType === 'AliyunVoDEncryption') return forbid(reply, 'private encryption streams need the Aliyun player', p);
        const ext = m[3];
        if (ext === 'mp4' || ext === 'mp3') return serveBytes(req, reply, p, stream.file, TYPES[ext]);
        const dir = path.dirname(stream.file);
        const lines = readFileSync(stream.file, 'utf8').split(/\r?\n/);
        let seq = 0;
        const segs: string[] = [];
        for (const l of lines) if (l && !l.startsWith('#')) segs.push(l.trim());
        const mediaSeq = Number((/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(lines.join('\n')) || [])[1] || 0);
        if (ext === 'm3u8') {
          const authKey = q.auth_key!;
          const [expires, rand, uid] = authKey.split('-');
          const stem = params.file.replace(/\.m3u8$/, '');
          const out: string[] = [];
          for (const l of lines) {
            if (l.startsWith('#EXT-X-MEDIA-SEQUENCE') && stream.encrypt && stream.encryptType === 'HLSEncryption') {
              out.push(l);
              const token = q.MtsHlsUriToken;
              out.push(`#EXT-X-KEY:METHOD=AES-128,URI="${ctx.urls.cdn}/decrypt?Ciphertext=${catalog.hlsCiphertext}${token !== undefined ? `&MtsHlsUriToken=${encodeURIComponent(token)}` : ''}"`);
              continue;
            }
            if (l && !l.startsWith('#')) {
              const segUri = `/${params.vid}/${stem}-${seq}.ts`;
              out.push(`${stem}-${seq}.ts?auth_key=${catalog.sign(segUri, Number(expires), rand, uid)}`);
              seq++;
              continue;
            }
            out.push(l);
          }
          return serveBytes(req, reply, p, stream.file, TYPES.m3u8, Buffer.from(out.join('\n'), 'utf8'));
        }
        const n = Number(m[4]);
        if (!(n >= 0 && n < segs.length)) return reply.status(404).type('text/plain').send('Not Found');
        const segFile = path.join(dir, segs[n]);
        if (stream.encrypt && stream.encryptType === 'HLSEncryption') return serveBytes(req, reply, p, segFile, TYPES.ts, encSegment(segFile, mediaSeq + n));
        return serveBytes(req, reply, p, segFile, TYPES.ts);
      };
      app.get('/:vid/:file', handler);

      app.post('/_admin/faults', async (req, reply) => {
        const b = (req.body || {}) as Partial<CdnFault> & { times?: number | null };
        const types: CdnFault['type'][] = ['dropAfter', 'ignoreRange', 'expireAfter', 'changeEtag', 'hold', 'status'];
        if (!b.type || !types.includes(b.type)) return reply.status(400).send({ error: { code: 'InvalidParameter', message: `type must be one of ${types.join(', ')}` } });
        const f: CdnFault = { id: ++faultSeq, path: b.path, type: b.type, bytes: b.bytes, status: b.status, minStart: b.minStart, times: b.times === null ? Infinity : b.times || 1, hits: 0 };
        if (f.type === 'changeEtag') {
          // applies at once: the file behind the path is "re-transcoded" (new ETag, same length)
          for (const v of catalog.samples.values()) for (const s of v.streams) if (f.path && s.file && `/${v.VideoId}/${s.jobId}`.includes(f.path.replace(/-.*$/, ''))) catalog.etagGen.set(s.file, (catalog.etagGen.get(s.file) || 0) + 1);
          for (const [vid, list] of Object.entries(catalog.uploads)) for (const s of list) if (f.path && `/${vid}/${s.jobId}`.includes(f.path.replace(/-.*$/, ''))) catalog.etagGen.set(s.file, (catalog.etagGen.get(s.file) || 0) + 1);
          f.hits = f.times;
        }
        catalog.faults.push(f);
        return { fault: { ...f, times: f.times === Infinity ? null : f.times } };
      });
      app.get('/_admin/faults', async () => ({ faults: catalog.faults.map((f) => ({ ...f, times: f.times === Infinity ? null : f.times })) }));
      app.delete('/_admin/faults', async () => {
        catalog.faults.length = 0;
        for (const h of catalog.holds) h();
        catalog.holds = [];
        return { ok: true };
      });
      app.post('/_admin/faults/release', async () => {
        const n = catalog.holds.length;
        for (const h of catalog.holds) h();
        catalog.holds = [];
        return { released: n };
      });
      app.get('/_admin/holds', async () => ({ held: catalog.holds.length }));
      app.post('/_admin/expire-urls', async (req) => {
        const b = (req.body || {}) as { videoId?: string };
        return { revoked: catalog.revokeAll(b.videoId) };
      });
      app.get('/_admin/requests', async () => ({ requests: catalog.log }));
      app.delete('/_admin/requests', async () => {
        catalog.log.length = 0;
        catalog.servedBytes.clear();
        return { ok: true };
      });
      app.post('/_admin/samples', async (req, reply) => {
        const b = (req.body || {}) as { title?: string; files?: Array<{ definition: string; file: string }>; status?: string };
        if (!b.title || !Array.isArray(b.files) || !b.files.length) return reply.status(400).send({ error: { code: 'InvalidParameter', message: 'title and files[] are required' } });
        try {
          const v = catalog.addSample(b.title, b.files, b.status);
          return { videoId: v.VideoId, streams: v.streams.map((s) => ({ definition: s.definition, size: s.size, jobId: s.jobId })) };
        } catch (e) {
          return reply.status(400).send({ error: { code: 'InvalidParameter', message: (e as Error).message } });
        }
      });
      return app;
    },
  };
}
