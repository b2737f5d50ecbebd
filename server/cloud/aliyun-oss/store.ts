/**
 * The OSS emulator's disk store: objects and multipart uploads under the provider's data dir.
 *
 *   objects/<bucket>/<sha1(key)>.json             object metadata (file names never derive from the key text)
 *   objects/<bucket>/<sha1(key)>.<v>.data         a PutObject/PostObject object's bytes
 *   objects/<bucket>/<sha1(key)>.<v>.parts/       a multipart object: its part files, moved there by Complete
 *   uploads/<uploadId>/upload.json               an in-progress multipart upload
 *   uploads/<uploadId>/part-<n> + part-<n>.json  its parts
 *   completed/<uploadId>.json                    finished uploads (idempotent re-Complete)
 *
 * Bodies are streamed to disk while MD5 and CRC-64 are computed; nothing is buffered whole.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, TransformCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64, crc64Combine } from '../../../sdk/src/aliyun/crc64';

export interface ObjectMeta {
  bucket: string;
  key: string;
  size: number;
  /** Quoted, upper-case hex: "MD5" or "MD5-of-MD5s-N". */
  etag: string;
  crc64: string;
  contentType: string;
  lastModified: number;
  type: 'Normal' | 'Multipart';
  meta: Record<string, string>;
  /** The x-oss-notification header / form field the writer sent (base64 of the VOD paramData). */
  notification?: string;
  uploadId?: string;
  /**
   * Where the bytes are, relative to objects/<bucket>/: one file, or (multipart objects) the upload's part files
   * in order, so Complete moves files instead of copying the object.
   */
  storage?: { file: string } | { dir: string; segments: Array<{ name: string; size: number }> };
}

export interface PartMeta {
  partNumber: number;
  size: number;
  etag: string;
  crc64: string;
  lastModified: number;
}

export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  contentType: string;
  meta: Record<string, string>;
  notification?: string;
  parts: Record<number, PartMeta>;
}

export interface CompletedUpload {
  uploadId: string;
  bucket: string;
  key: string;
  etag: string;
  crc64?: string;
  size: number;
  parts: Array<{ partNumber: number; etag: string }>;
  completedAt: number;
}

export interface ReceivedBody {
  size: number;
  md5: Buffer;
  crc64: string;
  sha256?: string;
}

class HashingCounter extends Transform {
  size = 0;
  private md5 = createHash('md5');
  private sha: Hash | undefined;
  private crc = new Crc64();
  constructor(private maxBytes: number, private wantSha: boolean) {
    super();
    if (wantSha) this.sha = createHash('sha256');
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      cb(Object.assign(new Error('body too large'), { code: 'EntityTooLarge' }));
      return;
    }
    this.md5.update(chunk);
    this.sha?.update(chunk);
    this.crc.update(chunk);
    cb(null, chunk);
  }
  result(): ReceivedBody {
    return { size: this.size, md5: this.md5.digest(), crc64: this.crc.digest(), sha256: this.sha?.digest('hex') };
  }
}

function keyFile(key: string): string {
  return createHash('sha1').update(key, 'utf8').digest('hex');
}

function writeJson(file: string, data: unknown): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(data));
  renameSync(tmp, file);
}

export class OssStore {
  private objects = new Map<string, ObjectMeta>(); // `${bucket}\n${key}`
  private uploads = new Map<string, UploadMeta>();
  private completed = new Map<string, CompletedUpload>();

  constructor(private dir: string) {
    for (const d of ['objects', 'uploads', 'completed', 'tmp']) mkdirSync(path.join(dir, d), { recursive: true });
    this.load();
  }

  private load(): void {
    const objRoot = path.join(this.dir, 'objects');
    for (const bucket of readdirSync(objRoot)) {
      for (const f of readdirSync(path.join(objRoot, bucket))) {
        if (!f.endsWith('.json')) continue;
        try {
          const m = JSON.parse(readFileSync(path.join(objRoot, bucket, f), 'utf8')) as ObjectMeta;
          if (m.storage && existsSync(path.join(objRoot, bucket, 'file' in m.storage ? m.storage.file : m.storage.dir))) this.objects.set(`${m.bucket}\n${m.key}`, m);
        } catch {
          /* skip a torn file */
        }
      }
    }
    const upRoot = path.join(this.dir, 'uploads');
    for (const id of readdirSync(upRoot)) {
      try {
        const u = JSON.parse(readFileSync(path.join(upRoot, id, 'upload.json'), 'utf8')) as UploadMeta;
        u.parts = {};
        for (const f of readdirSync(path.join(upRoot, id))) {
          const m = /^part-(\d+)\.json$/.exec(f);
          if (!m) continue;
          const p = JSON.parse(readFileSync(path.join(upRoot, id, f), 'utf8')) as PartMeta;
          if (existsSync(path.join(upRoot, id, `part-${p.partNumber}`))) u.parts[p.partNumber] = p;
        }
        this.uploads.set(id, u);
      } catch {
        /* skip */
      }
    }
    const doneRoot = path.join(this.dir, 'completed');
    for (const f of readdirSync(doneRoot)) {
      try {
        const c = JSON.parse(readFileSync(path.join(doneRoot, f), 'utf8')) as CompletedUpload;
        this.completed.set(c.uploadId, c);
      } catch {
        /* skip */
      }
    }
  }

  private bucketDir(bucket: string): string {
    return path.join(this.dir, 'objects', bucket);
  }

  private metaPath(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), `${keyFile(key)}.json`);
  }

  private newStorageName(key: string, suffix: string): string {
    return `${keyFile(key)}.${Date.now().toString(36)}${randomBytes(4).toString('hex')}.${suffix}`;
  }

  private tmpPath(): string {
    return path.join(this.dir, 'tmp', `${Date.now()}-${randomBytes(6).toString('hex')}`);
  }

  /** Stream a body to a temp file, hashing as it goes. The caller commits or discards the temp file. */
  async receive(body: Readable, maxBytes: number, wantSha = false): Promise<{ tmp: string; body: ReceivedBody }> {
    const tmp = this.tmpPath();
    const counter = new HashingCounter(maxBytes, wantSha);
    try {
      await pipeline(body, counter, createWriteStream(tmp));
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return { tmp, body: counter.result() };
  }

  async discard(tmp: string): Promise<void> {
    await unlink(tmp).catch(() => undefined);
  }

  getObject(bucket: string, key: string): ObjectMeta | undefined {
    return this.objects.get(`${bucket}\n${key}`);
  }

  listObjects(bucket?: string): ObjectMeta[] {
    const all = [...this.objects.values()].filter((o) => !bucket || o.bucket === bucket);
    return all.sort((a, b) => (a.bucket === b.bucket ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.bucket < b.bucket ? -1 : 1));
  }

  /** Make `tmp` the object's bytes (PutObject / PostObject). */
  async commitObject(tmp: string, meta: ObjectMeta): Promise<void> {
    mkdirSync(this.bucketDir(meta.bucket), { recursive: true });
    const file = this.newStorageName(meta.key, 'data');
    await rename(tmp, path.join(this.bucketDir(meta.bucket), file));
    this.install({ ...meta, storage: { file } });
  }

  /** Record the new version and drop the bytes of the one it replaces. */
  private install(meta: ObjectMeta): void {
    const old = this.objects.get(`${meta.bucket}\n${meta.key}`);
    writeJson(this.metaPath(meta.bucket, meta.key), meta);
    this.objects.set(`${meta.bucket}\n${meta.key}`, meta);
    if (old) this.removeStorage(old);
  }

  private removeStorage(m: ObjectMeta): void {
    if (!m.storage) return;
    const target = path.join(this.bucketDir(m.bucket), 'file' in m.storage ? m.storage.file : m.storage.dir);
    rmSync(target, { recursive: true, force: true });
  }

  deleteObject(bucket: string, key: string): boolean {
    const m = this.objects.get(`${bucket}\n${key}`);
    if (!m) return false;
    this.objects.delete(`${bucket}\n${key}`);
    rmSync(this.metaPath(bucket, key), { force: true });
    this.removeStorage(m);
    return true;
  }

  /** The object's bytes [start, end] (inclusive; whole object by default), streamed across part files if needed. */
  readObject(meta: ObjectMeta, start = 0, end = meta.size - 1): Readable {
    const st = meta.storage;
    if (!st) throw new Error('object has no storage');
    const base = this.bucketDir(meta.bucket);
    if ('file' in st) return createReadStream(path.join(base, st.file), { start, end });
    const pieces: Array<{ file: string; start: number; end: number }> = [];
    let offset = 0;
    for (const seg of st.segments) {
      const segEnd = offset + seg.size - 1;
      if (seg.size > 0 && segEnd >= start && offset <= end) pieces.push({ file: path.join(base, st.dir, seg.name), start: Math.max(0, start - offset), end: Math.min(seg.size - 1, end - offset) });
      offset += seg.size;
    }
    async function* gen() {
      for (const p of pieces) for await (const chunk of createReadStream(p.file, { start: p.start, end: p.end, highWaterMark: 256 * 1024 })) yield chunk as Buffer;
    }
    return Readable.from(gen(), { objectMode: false });
  }

  // ---- multipart

  createUpload(u: Omit<UploadMeta, 'uploadId' | 'parts'>): UploadMeta {
    // OSS upload ids are 32 upper-case hex digits
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    const meta: UploadMeta = { ...u, uploadId, parts: {} };
    mkdirSync(path.join(this.dir, 'uploads', uploadId), { recursive: true });
    const { parts: _p, ...persist } = meta;
    writeJson(path.join(this.dir, 'uploads', uploadId, 'upload.json'), persist);
    this.uploads.set(uploadId, meta);
    return meta;
  }

  getUpload(uploadId: string): UploadMeta | undefined {
    return this.uploads.get(uploadId);
  }

  listUploads(bucket?: string): UploadMeta[] {
    return [...this.uploads.values()].filter((u) => !bucket || u.bucket === bucket);
  }

  getCompleted(uploadId: string): CompletedUpload | undefined {
    return this.completed.get(uploadId);
  }

  partPath(uploadId: string, n: number): string {
    return path.join(this.dir, 'uploads', uploadId, `part-${n}`);
  }

  async commitPart(u: UploadMeta, tmp: string, part: PartMeta): Promise<void> {
    if (!this.uploads.has(u.uploadId)) {
      await this.discard(tmp);
      throw Object.assign(new Error('upload gone'), { code: 'NoSuchUpload' });
    }
    try {
      await rename(tmp, this.partPath(u.uploadId, part.partNumber));
      writeJson(`${this.partPath(u.uploadId, part.partNumber)}.json`, part);
    } catch (e) {
      // aborted or completed while this part was in flight
      await this.discard(tmp);
      if ((e as { code?: string }).code === 'ENOENT' || !this.uploads.has(u.uploadId)) throw Object.assign(new Error('upload gone'), { code: 'NoSuchUpload' });
      throw e;
    }
    u.parts[part.partNumber] = part;
  }

  abortUpload(uploadId: string): boolean {
    if (!this.uploads.delete(uploadId)) return false;
    rmSync(path.join(this.dir, 'uploads', uploadId), { recursive: true, force: true });
    return true;
  }

  /** Move the chosen parts into the object (no copy), record the completion, drop the upload. */
  async completeUpload(u: UploadMeta, parts: PartMeta[], now: number): Promise<{ meta: ObjectMeta; completed: CompletedUpload }> {
    mkdirSync(this.bucketDir(u.bucket), { recursive: true });
    const dir = this.newStorageName(u.key, 'parts');
    const abs = path.join(this.bucketDir(u.bucket), dir);
    mkdirSync(abs);
    try {
      for (const p of parts) await rename(this.partPath(u.uploadId, p.partNumber), path.join(abs, `part-${p.partNumber}`));
    } catch (e) {
      // put back what was moved, so the upload stays completable
      for (const p of parts) await rename(path.join(abs, `part-${p.partNumber}`), this.partPath(u.uploadId, p.partNumber)).catch(() => undefined);
      rmSync(abs, { recursive: true, force: true });
      throw e;
    }
    const md5s = Buffer.concat(parts.map((p) => Buffer.from(p.etag.replace(/"/g, ''), 'hex')));
    const etag = `"${createHash('md5').update(md5s).digest('hex').toUpperCase()}-${parts.length}"`;
    let crc = '0';
    let size = 0;
    for (const p of parts) {
      crc = crc64Combine(crc, p.crc64, p.size);
      size += p.size;
    }
    const meta: ObjectMeta = {
      bucket: u.bucket,
      key: u.key,
      size,
      etag,
      crc64: crc,
      contentType: u.contentType,
      lastModified: now,
      type: 'Multipart',
      meta: u.meta,
      notification: u.notification,
      uploadId: u.uploadId,
      storage: { dir, segments: parts.map((p) => ({ name: `part-${p.partNumber}`, size: p.size })) },
    };
    this.install(meta);
    const completed: CompletedUpload = {
      uploadId: u.uploadId,
      bucket: u.bucket,
      key: u.key,
      etag,
      crc64: crc,
      size,
      parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      completedAt: now,
    };
    writeJson(path.join(this.dir, 'completed', `${u.uploadId}.json`), completed);
    this.completed.set(u.uploadId, completed);
    this.abortUpload(u.uploadId);
    return { meta, completed };
  }
}
