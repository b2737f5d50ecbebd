/**
 * The runtime's file system: a sandbox folder standing in for the phone's mini-program storage, and
 * `wx.getFileSystemManager()` over it with WeChat's paths, permissions and error texts.
 *
 *   <sandbox>/tmp/…  ← temp files: `http://tmp/<name>` (DevTools) and `wxfile://tmp_<name>` (phones)
 *   <sandbox>/usr/…  ← user files: `wx.env.USER_DATA_PATH` = `http://usr` (DevTools) or `wxfile://usr` (phones)
 *
 * Like WeChat, only user files are writable (writeFile / mkdir / … into a temp path fail "permission denied"),
 * temp files are only created by the host (downloads, chooseMedia, the test's `files.writeTemp`), and a path that
 * escapes its area (`http://usr/../x`) is rejected.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import { Callbacks, bytesOf, deliver, isArrayBuffer, randomId, toArrayBuffer, wxSyncError } from './util';

export type PathStyle = 'devtools' | 'device';
export type Area = 'tmp' | 'usr';

/** Thrown by the file operations; `detail` is the text after "<api>:fail ". */
export class FsFail extends Error {
  constructor(readonly detail: string, readonly errno?: number) {
    super(detail);
  }
}

/** WeChat's user-file quota: user files + saved files share 200 MB per mini-program. */
export const USER_DATA_QUOTA = 200 * 1024 * 1024;
/** The text and errno WeChat fails writes with when the quota would be exceeded. */
export const QUOTA_DETAIL = 'the maximum size of the file storage limit is exceeded';
export const QUOTA_ERRNO = 1300202;

function dirSize(dir: string): number {
  let n = 0;
  for (const d of nodeFs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) n += dirSize(full);
    else if (d.isFile()) n += nodeFs.statSync(full).size;
  }
  return n;
}

const NODE_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ENOTEMPTY: 'directory not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

function nodeFail(e: unknown, verb: string, wxPath: string): FsFail {
  if (e instanceof FsFail) return e;
  const code = (e as NodeJS.ErrnoException).code || '';
  const reason = NODE_REASONS[code] || (e as Error).message || String(e);
  return new FsFail(`${reason}, ${verb} ${wxPath}`);
}

const ENCODINGS: Record<string, BufferEncoding> = {
  utf8: 'utf8',
  'utf-8': 'utf8',
  base64: 'base64',
  hex: 'hex',
  binary: 'latin1',
  latin1: 'latin1',
  ascii: 'ascii',
  ucs2: 'utf16le',
  'ucs-2': 'utf16le',
  utf16le: 'utf16le',
  'utf-16le': 'utf16le',
};

function encodingOf(enc: unknown): BufferEncoding | undefined {
  if (enc === undefined || enc === null || enc === '') return undefined;
  const e = ENCODINGS[String(enc).toLowerCase()];
  if (!e) throw new FsFail(`invalid encoding "${String(enc)}"`);
  return e;
}

/** WeChat's Stats: size in bytes, times in SECONDS, isFile()/isDirectory(). */
export class WxStats {
  readonly mode: number;
  readonly size: number;
  readonly lastAccessedTime: number;
  readonly lastModifiedTime: number;
  private readonly dir: boolean;
  constructor(st: nodeFs.Stats) {
    this.mode = st.mode;
    this.size = st.isDirectory() ? 0 : st.size;
    this.lastAccessedTime = Math.floor(st.atimeMs / 1000);
    this.lastModifiedTime = Math.floor(st.mtimeMs / 1000);
    this.dir = st.isDirectory();
  }
  isFile(): boolean {
    return !this.dir;
  }
  isDirectory(): boolean {
    return this.dir;
  }
}

export class Sandbox {
  readonly tmpDir: string;
  readonly usrDir: string;
  readonly userDataPath: string;
  constructor(readonly root: string, readonly style: PathStyle) {
    this.tmpDir = path.join(root, 'tmp');
    this.usrDir = path.join(root, 'usr');
    nodeFs.mkdirSync(this.tmpDir, { recursive: true });
    nodeFs.mkdirSync(this.usrDir, { recursive: true });
    this.userDataPath = style === 'device' ? 'wxfile://usr' : 'http://usr';
  }

  /** Maps a wx path onto the sandbox; throws FsFail (`permission denied` / `no such file or directory`). */
  resolve(wxPath: unknown, verb = 'open'): { area: Area; real: string; rel: string } {
    if (typeof wxPath !== 'string' || wxPath === '') throw new FsFail(`invalid path "${String(wxPath)}"`);
    let area: Area | undefined;
    let rel = '';
    let m: RegExpMatchArray | null;
    if ((m = wxPath.match(/^http:\/\/tmp(?:\/(.*))?$/))) {
      area = 'tmp';
      rel = m[1] || '';
    } else if ((m = wxPath.match(/^wxfile:\/\/tmp_(.+)$/))) {
      area = 'tmp';
      rel = m[1];
    } else if ((m = wxPath.match(/^(?:http|wxfile):\/\/usr(?:\/(.*))?$/))) {
      area = 'usr';
      rel = m[1] || '';
    }
    if (!area) throw new FsFail(`no such file or directory, ${verb} ${wxPath}`);
    if (rel.includes('\0')) throw new FsFail(`permission denied, ${verb} ${wxPath}`);
    const base = area === 'tmp' ? this.tmpDir : this.usrDir;
    const norm = path.posix.normalize(rel.replace(/\\/g, '/') || '.');
    const real = path.resolve(base, norm);
    if (real !== base && !real.startsWith(base + path.sep)) throw new FsFail(`permission denied, ${verb} ${wxPath}`);
    return { area, real, rel: norm === '.' ? '' : norm.replace(/^\/+/, '') };
  }

  /** Like resolve, but only user files may be written (WeChat: "permission denied"). */
  resolveWritable(wxPath: unknown, verb = 'open'): { area: Area; real: string; rel: string } {
    const r = this.resolve(wxPath, verb);
    if (r.area !== 'usr') throw new FsFail(`permission denied, ${verb} ${String(wxPath)}`);
    return r;
  }

  /** A new temp path (`http://tmp/<id><ext>` or `wxfile://tmp_<id><ext>`) and its real file. */
  newTempPath(ext = ''): { wxPath: string; real: string } {
    const name = `${randomId(10)}${ext}`;
    return { wxPath: this.tempPathFor(name), real: path.join(this.tmpDir, name) };
  }

  tempPathFor(name: string): string {
    return this.style === 'device' ? `wxfile://tmp_${name}` : `http://tmp/${name}`;
  }

  /** Writes a temp file as the host would (tests use this to stand in for a picked video). */
  writeTemp(name: string, data: Buffer | string | ArrayBuffer | ArrayBufferView): string {
    if (!name || /[\\/]/.test(name) || name === '.' || name === '..') throw new Error(`writeTemp: "${name}" must be a plain file name`);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : isArrayBuffer(data) || ArrayBuffer.isView(data) ? bytesOf(data as ArrayBuffer) : data;
    nodeFs.writeFileSync(path.join(this.tmpDir, name), buf);
    return this.tempPathFor(name);
  }

  /** Writes a temp file of `size` pseudo-random bytes (deterministic per seed) without holding it in memory. */
  writeTempSized(name: string, size: number, seed = 1): string {
    if (!name || /[\\/]/.test(name)) throw new Error(`writeTempSized: "${name}" must be a plain file name`);
    const fd = nodeFs.openSync(path.join(this.tmpDir, name), 'w');
    try {
      let x = seed >>> 0 || 1;
      const chunk = Buffer.alloc(1 << 20);
      const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
      for (let done = 0; done < size; ) {
        const n = Math.min(chunk.length, size - done);
        for (let i = 0, w = (n + 3) >>> 2; i < w; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          words[i] = x >>> 0;
        }
        nodeFs.writeSync(fd, chunk, 0, n);
        done += n;
      }
    } finally {
      nodeFs.closeSync(fd);
    }
    return this.tempPathFor(name);
  }
}

type Op = (o: any) => Record<string, unknown>;

/** `wx.getFileSystemManager()` over a Sandbox. */
/** Operations that change files (dropped once the app is killed). */
const MUTATING = new Set(['writeFile', 'appendFile', 'saveFile', 'unlink', 'mkdir', 'rmdir', 'copyFile', 'rename', 'removeSavedFile', 'open', 'write', 'ftruncate', 'truncate', 'close']);

/**
 * `alive()` false = the app was killed: asynchronous calls do nothing (no effect, no callback), synchronous reads
 * still answer and synchronous writes are dropped.
 */
export function createFileSystemManager(sb: Sandbox, schedule: (fn: () => void) => void, alive: () => boolean = () => true, quota: number = USER_DATA_QUOTA): Record<string, unknown> {
  /** Fails like WeChat when `grow` more bytes of user files would pass the quota. */
  const checkQuota = (grow: number) => {
    if (grow > 0 && dirSize(sb.usrDir) + grow > quota) throw new FsFail(QUOTA_DETAIL, QUOTA_ERRNO);
  };
  const sizeIfFile = (real: string) => {
    try {
      const st = nodeFs.statSync(real);
      return st.isFile() ? st.size : 0;
    } catch {
      return 0;
    }
  };
  /** Open file descriptors (FileSystemManager.open): fd → file. */
  const fds = new Map<string, { fd: number; real: string; wxPath: string; writable: boolean; append: boolean }>();
  let fdSeq = 0;
  const fdOf = (fd: unknown) => {
    const f = typeof fd === 'string' ? fds.get(fd) : undefined;
    if (!f) throw new FsFail('bad file descriptor');
    return f;
  };
  const statOf = (real: string, verb: string, wxPath: string): nodeFs.Stats => {
    try {
      return nodeFs.statSync(real);
    } catch (e) {
      throw nodeFail(e, verb, wxPath);
    }
  };
  const dataToBuffer = (data: unknown, encoding: unknown): Buffer => {
    if (typeof data === 'string') return Buffer.from(data, encodingOf(encoding) || 'utf8');
    if (isArrayBuffer(data) || ArrayBuffer.isView(data)) return Buffer.from(bytesOf(data as ArrayBuffer));
    throw new FsFail(`the data should be a string or an ArrayBuffer, got ${data === null ? 'null' : typeof data}`);
  };

  const ops: Record<string, Op> = {
    access(o: { path: string }) {
      const r = sb.resolve(o.path, 'access');
      statOf(r.real, 'access', o.path);
      return {};
    },
    readFile(o: { filePath: string; encoding?: string; position?: number; length?: number }) {
      const r = sb.resolve(o.filePath, 'open');
      const st = statOf(r.real, 'open', o.filePath);
      if (st.isDirectory()) throw new FsFail(`illegal operation on a directory, open ${o.filePath}`);
      const enc = encodingOf(o.encoding);
      const size = st.size;
      // WeChat's documented ranges: position in [0, fileLength - 1], length in [1, fileLength] (and within the file);
      // only a read with neither (the whole file) may be empty
      const hasPos = o.position !== undefined && o.position !== null;
      const hasLen = o.length !== undefined && o.length !== null;
      const pos = hasPos ? o.position : 0;
      if (typeof pos !== 'number' || !Number.isInteger(pos) || pos < 0 || (hasPos && pos > size - 1)) {
        throw new FsFail(`the value of "position" is out of range. It must be >= 0 && <= ${size - 1}. Received ${String(pos)}`);
      }
      const len = hasLen ? o.length : size - pos;
      if (typeof len !== 'number' || !Number.isInteger(len) || (hasLen && len < 1) || pos + len > size) {
        throw new FsFail(`the value of "length" is out of range. It must be >= 1 && <= ${size - pos}. Received ${String(len)}`);
      }
      const buf = Buffer.alloc(len);
      if (len > 0) {
        const fd = nodeFs.openSync(r.real, 'r');
        try {
          let got = 0;
          while (got < len) {
            const n = nodeFs.readSync(fd, buf, got, len - got, pos + got);
            if (n === 0) break;
            got += n;
          }
        } finally {
          nodeFs.closeSync(fd);
        }
      }
      return { data: enc ? buf.toString(enc) : toArrayBuffer(buf) };
    },
    writeFile(o: { filePath: string; data: unknown; encoding?: string }) {
      const r = sb.resolveWritable(o.filePath, 'open');
      const buf = dataToBuffer(o.data, o.encoding);
      checkQuota(buf.length - sizeIfFile(r.real));
      try {
        nodeFs.writeFileSync(r.real, buf);
      } catch (e) {
        throw nodeFail(e, 'open', o.filePath);
      }
      return {};
    },
    appendFile(o: { filePath: string; data: unknown; encoding?: string }) {
      const r = sb.resolveWritable(o.filePath, 'open');
      const st = statOf(r.real, 'open', o.filePath);
      if (st.isDirectory()) throw new FsFail(`illegal operation on a directory, open ${o.filePath}`);
      const buf = dataToBuffer(o.data, o.encoding);
      checkQuota(buf.length);
      try {
        nodeFs.appendFileSync(r.real, buf);
      } catch (e) {
        throw nodeFail(e, 'open', o.filePath);
      }
      return {};
    },
    getFileInfo(o: { filePath: string; digestAlgorithm?: string }) {
      const r = sb.resolve(o.filePath, 'open');
      const st = statOf(r.real, 'open', o.filePath);
      if (st.isDirectory()) throw new FsFail(`illegal operation on a directory, open ${o.filePath}`);
      const algo = (o.digestAlgorithm || 'md5').toLowerCase();
      if (algo !== 'md5' && algo !== 'sha1') throw new FsFail(`invalid digestAlgorithm "${o.digestAlgorithm}"`);
      const h = createHash(algo);
      const fd = nodeFs.openSync(r.real, 'r');
      try {
        const chunk = Buffer.allocUnsafe(1 << 20);
        for (let n; (n = nodeFs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) h.update(chunk.subarray(0, n));
      } finally {
        nodeFs.closeSync(fd);
      }
      return { size: st.size, digest: h.digest('hex') };
    },
    stat(o: { path: string; recursive?: boolean }) {
      const r = sb.resolve(o.path, 'stat');
      const st = statOf(r.real, 'stat', o.path);
      if (!o.recursive || !st.isDirectory()) return { stats: new WxStats(st) };
      const out: Record<string, WxStats> = { '/': new WxStats(st) };
      const walk = (dir: string, prefix: string) => {
        for (const name of nodeFs.readdirSync(dir).sort()) {
          const full = path.join(dir, name);
          const s = nodeFs.statSync(full);
          out[`${prefix}/${name}`] = new WxStats(s);
          if (s.isDirectory()) walk(full, `${prefix}/${name}`);
        }
      };
      walk(r.real, '');
      return { stats: out };
    },
    saveFile(o: { tempFilePath: string; filePath?: string }) {
      const src = sb.resolve(o.tempFilePath, 'open');
      if (src.area !== 'tmp') throw new FsFail(`permission denied, open ${o.tempFilePath} (only temp files can be saved)`);
      const st = statOf(src.real, 'open', o.tempFilePath);
      if (st.isDirectory()) throw new FsFail(`illegal operation on a directory, open ${o.tempFilePath}`);
      const savedFilePath = o.filePath || `${sb.userDataPath}/store_${path.basename(src.real)}`;
      const dst = sb.resolveWritable(savedFilePath, 'open');
      checkQuota(st.size - sizeIfFile(dst.real));
      try {
        nodeFs.renameSync(src.real, dst.real);
      } catch (e) {
        throw nodeFail(e, 'open', savedFilePath);
      }
      return { savedFilePath };
    },
    unlink(o: { filePath: string }) {
      const r = sb.resolve(o.filePath, 'unlink');
      const st = statOf(r.real, 'unlink', o.filePath);
      if (st.isDirectory()) throw new FsFail(`operation not permitted, unlink ${o.filePath}`);
      try {
        nodeFs.unlinkSync(r.real);
      } catch (e) {
        throw nodeFail(e, 'unlink', o.filePath);
      }
      return {};
    },
    mkdir(o: { dirPath: string; recursive?: boolean }) {
      const r = sb.resolveWritable(o.dirPath, 'mkdir');
      if (nodeFs.existsSync(r.real)) throw new FsFail(`file already exists, mkdir ${o.dirPath}`);
      try {
        nodeFs.mkdirSync(r.real, { recursive: !!o.recursive });
      } catch (e) {
        throw nodeFail(e, 'mkdir', o.dirPath);
      }
      return {};
    },
    readdir(o: { dirPath: string }) {
      const r = sb.resolve(o.dirPath, 'scandir');
      try {
        return { files: nodeFs.readdirSync(r.real).sort() };
      } catch (e) {
        throw nodeFail(e, 'scandir', o.dirPath);
      }
    },
    rmdir(o: { dirPath: string; recursive?: boolean }) {
      const r = sb.resolveWritable(o.dirPath, 'rmdir');
      if (r.rel === '') throw new FsFail(`permission denied, rmdir ${o.dirPath}`);
      const st = statOf(r.real, 'rmdir', o.dirPath);
      if (!st.isDirectory()) throw new FsFail(`not a directory, rmdir ${o.dirPath}`);
      try {
        if (o.recursive) nodeFs.rmSync(r.real, { recursive: true });
        else nodeFs.rmdirSync(r.real);
      } catch (e) {
        throw nodeFail(e, 'rmdir', o.dirPath);
      }
      return {};
    },
    copyFile(o: { srcPath: string; destPath: string }) {
      const src = sb.resolve(o.srcPath, 'copyfile');
      const st = statOf(src.real, 'copyfile', o.srcPath);
      if (st.isDirectory()) throw new FsFail(`illegal operation on a directory, copyfile ${o.srcPath}`);
      const dst = sb.resolveWritable(o.destPath, 'copyfile');
      checkQuota(st.size - sizeIfFile(dst.real));
      try {
        nodeFs.copyFileSync(src.real, dst.real);
      } catch (e) {
        throw nodeFail(e, 'copyfile', o.destPath);
      }
      return {};
    },
    rename(o: { oldPath: string; newPath: string }) {
      const src = sb.resolve(o.oldPath, 'rename');
      const sst = statOf(src.real, 'rename', o.oldPath);
      const dst = sb.resolveWritable(o.newPath, 'rename');
      if (src.area === 'tmp') checkQuota(sst.size - sizeIfFile(dst.real));
      try {
        nodeFs.renameSync(src.real, dst.real);
      } catch (e) {
        throw nodeFail(e, 'rename', o.newPath);
      }
      return {};
    },
    getSavedFileList() {
      const fileList = nodeFs
        .readdirSync(sb.usrDir)
        .filter((n) => n.startsWith('store_'))
        .sort()
        .map((n) => {
          const st = nodeFs.statSync(path.join(sb.usrDir, n));
          return { filePath: `${sb.userDataPath}/${n}`, size: st.size, createTime: Math.floor(st.birthtimeMs / 1000) };
        });
      return { fileList };
    },
    removeSavedFile(o: { filePath: string }) {
      return ops.unlink({ filePath: o.filePath });
    },
    // ---- descriptors (base library 2.16.1): open / write / read / fstat / ftruncate / close, and truncate by path
    open(o: { filePath: string; flag?: string }) {
      const flag = o.flag || 'r';
      if (!['a', 'ax', 'a+', 'ax+', 'as', 'as+', 'r', 'r+', 'rs+', 'w', 'wx', 'w+', 'wx+'].includes(flag)) throw new FsFail(`invalid flag "${flag}"`);
      const writable = flag !== 'r';
      const r = writable ? sb.resolveWritable(o.filePath, 'open') : sb.resolve(o.filePath, 'open');
      let fd: number;
      try {
        fd = nodeFs.openSync(r.real, flag);
      } catch (e) {
        throw nodeFail(e, 'open', o.filePath);
      }
      const id = String(++fdSeq);
      fds.set(id, { fd, real: r.real, wxPath: o.filePath, writable, append: flag.startsWith('a') });
      return { fd: id };
    },
    write(o: { fd: string; data: unknown; offset?: number; length?: number; position?: number; encoding?: string }) {
      const f = fdOf(o.fd);
      if (!f.writable) throw new FsFail('bad file descriptor');
      let buf = dataToBuffer(o.data, o.encoding);
      if (typeof o.data !== 'string') {
        const off = o.offset || 0;
        const len = o.length === undefined ? buf.length - off : o.length;
        if (off < 0 || len < 0 || off + len > buf.length) throw new FsFail('the value of "offset" / "length" is out of range');
        buf = buf.subarray(off, off + len);
      }
      const size = nodeFs.fstatSync(f.fd).size;
      const pos = f.append || o.position === undefined || o.position === null ? size : o.position;
      checkQuota(Math.max(0, pos + buf.length - size));
      const n = nodeFs.writeSync(f.fd, buf, 0, buf.length, f.append ? null : pos);
      return { bytesWritten: n };
    },
    fstat(o: { fd: string }) {
      return { stats: new WxStats(nodeFs.fstatSync(fdOf(o.fd).fd)) };
    },
    ftruncate(o: { fd: string; length?: number }) {
      const f = fdOf(o.fd);
      const len = o.length || 0;
      checkQuota(len - nodeFs.fstatSync(f.fd).size);
      nodeFs.ftruncateSync(f.fd, len);
      return {};
    },
    close(o: { fd: string }) {
      const f = fdOf(o.fd);
      nodeFs.closeSync(f.fd);
      fds.delete(o.fd);
      return {};
    },
    truncate(o: { filePath: string; length?: number }) {
      const r = sb.resolveWritable(o.filePath, 'open');
      const st = statOf(r.real, 'open', o.filePath);
      if (st.isDirectory()) throw new FsFail(`illegal operation on a directory, open ${o.filePath}`);
      const len = o.length || 0;
      if (!Number.isInteger(len) || len < 0) throw new FsFail(`the value of "length" is out of range. Received ${String(o.length)}`);
      checkQuota(len - st.size);
      nodeFs.truncateSync(r.real, len);
      return {};
    },
  };

  const run = (api: string, o: any): { ok: true; res: Record<string, unknown> } | { ok: false; detail: string; errno?: number } => {
    try {
      return { ok: true, res: ops[api](o || {}) };
    } catch (e) {
      if (e instanceof FsFail) return { ok: false, detail: e.detail, errno: e.errno };
      return { ok: false, detail: (e as Error).message || String(e) };
    }
  };

  const fsm: Record<string, unknown> = {};
  for (const api of Object.keys(ops)) {
    fsm[api] = (o: Callbacks & Record<string, unknown> = {}) => {
      if (!alive()) return;
      const r = run(api, o);
      if (r.ok) deliver(o, true, { ...r.res, errMsg: `${api}:ok` }, schedule);
      else deliver(o, false, r.errno ? { errMsg: `${api}:fail ${r.detail}`, errno: r.errno } : { errMsg: `${api}:fail ${r.detail}` }, schedule);
    };
  }
  // Synchronous variants take positional arguments, return the result and throw Error("<api>Sync:fail …").
  const sync = (api: string, toObj: (...a: any[]) => Record<string, unknown>, pick: (res: any) => unknown) => {
    fsm[`${api}Sync`] = (...args: any[]) => {
      if (!alive() && MUTATING.has(api)) return undefined;
      const r = run(api, toObj(...args));
      if (!r.ok) throw Object.assign(wxSyncError(`${api}Sync:fail ${r.detail}`), r.errno ? { errno: r.errno } : {});
      return pick(r.res);
    };
  };
  const none = () => undefined;
  sync('access', (p) => ({ path: p }), none);
  sync('readFile', (filePath, encoding, position, length) => ({ filePath, encoding, position, length }), (r) => r.data);
  sync('writeFile', (filePath, data, encoding) => ({ filePath, data, encoding }), none);
  sync('appendFile', (filePath, data, encoding) => ({ filePath, data, encoding }), none);
  sync('stat', (p, recursive) => ({ path: p, recursive }), (r) => r.stats);
  sync('saveFile', (tempFilePath, filePath) => ({ tempFilePath, filePath }), (r) => r.savedFilePath);
  sync('unlink', (filePath) => ({ filePath }), none);
  sync('mkdir', (dirPath, recursive) => ({ dirPath, recursive }), none);
  sync('readdir', (dirPath) => ({ dirPath }), (r) => r.files);
  sync('rmdir', (dirPath, recursive) => ({ dirPath, recursive }), none);
  sync('copyFile', (srcPath, destPath) => ({ srcPath, destPath }), none);
  sync('rename', (oldPath, newPath) => ({ oldPath, newPath }), none);
  sync('open', (o) => o, (r) => r.fd);
  sync('write', (o) => o, (r) => ({ bytesWritten: r.bytesWritten }));
  sync('fstat', (o) => o, (r) => r.stats);
  sync('ftruncate', (o) => o, none);
  sync('close', (o) => o, none);
  sync('truncate', (o) => o, none);
  return fsm;
}
