/**
 * The OSS emulator's disk store: objects and multipart uploads under the provider's data dir.
 *
 *   objects/<bucket>/<sha1(key)>.data + .json    object bytes + metadata (file names never derive from the key text)
 *   uploads/<uploadId>/upload.json               an in-progress multipart upload
 *   uploads/<uploadId>/part-<n> + part-<n>.json  its parts
 *   completed/<uploadId>.json                    finished uploads (idempotent re-Complete)
 *
 * Bodies are streamed to disk while MD5 and CRC-64 are computed; nothing is buffered whole.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
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
          if (existsSync(this.dataPath(m.bucket, m.key))) this.objects.set(`${m.bucket}\n${m.key}`, m);
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

  dataPath(bucket: string, key: string): string {
    return path.join(this.dir, 'objects', bucket, `${keyFile(key)}.data`);
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

  async commitObject(tmp: string, meta: ObjectMeta): Promise<void> {
    mkdirSync(path.join(this.dir, 'objects', meta.bucket), { recursive: true });
    await rename(tmp, this.dataPath(meta.bucket, meta.key));
    writeJson(this.dataPath(meta.bucket, meta.key).replace(/\.data$/, '.json'), meta);
    this.objects.set(`${meta.bucket}\n${meta.key}`, meta);
  }

  deleteObject(bucket: string, key: string): boolean {
    const m = this.objects.get(`${bucket}\n${key}`);
    if (!m) return false;
    this.objects.delete(`${bucket}\n${key}`);
    const p = this.dataPath(bucket, key);
    for (const f of [p, p.replace(/\.data$/, '.json')]) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
    return true;
  }

  readObject(meta: ObjectMeta, start?: number, end?: number): Readable {
    return createReadStream(this.dataPath(meta.bucket, meta.key), start === undefined ? undefined : { start, end });
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
    await rename(tmp, this.partPath(u.uploadId, part.partNumber));
    writeJson(`${this.partPath(u.uploadId, part.partNumber)}.json`, part);
    u.parts[part.partNumber] = part;
  }

  abortUpload(uploadId: string): boolean {
    if (!this.uploads.delete(uploadId)) return false;
    rmSync(path.join(this.dir, 'uploads', uploadId), { recursive: true, force: true });
    return true;
  }

  /** Concatenate the chosen parts into the object (streamed), record the completion, drop the upload. */
  async completeUpload(u: UploadMeta, parts: PartMeta[], now: number): Promise<{ meta: ObjectMeta; completed: CompletedUpload }> {
    const tmp = this.tmpPath();
    const out = createWriteStream(tmp);
    try {
      for (const p of parts) {
        await pipeline(createReadStream(this.partPath(u.uploadId, p.partNumber)), out, { end: false });
      }
      await new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        out.end(resolve);
      });
    } catch (e) {
      out.destroy();
      await this.discard(tmp);
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
    };
    await this.commitObject(tmp, meta);
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
