/**
 * The runtime's FileSystemManager (paths, ranges, encodings, permissions, WeChat error texts) and storage
 * (serialisation, 1 MB / 10 MB limits, persistence across runtimes on the same sandbox).
 */
import { Buffer } from 'node:buffer';
import * as nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWxRuntime, WxRuntime } from './wx-runtime';
import { wxCall } from './test-server';

let rt: WxRuntime;
let fsm: any;
beforeEach(() => {
  rt = createWxRuntime();
  fsm = rt.wx.getFileSystemManager();
});
afterEach(async () => {
  await rt.close();
});

describe('paths', () => {
  test('USER_DATA_PATH is http://usr (DevTools); temp files are http://tmp/…; both map into the sandbox', () => {
    expect(rt.wx.env.USER_DATA_PATH).toBe('http://usr');
    const p = rt.files.writeTemp('a.txt', 'hello');
    expect(p).toBe('http://tmp/a.txt');
    expect(rt.files.realPath(p)).toBe(path.join(rt.files.tempDir, 'a.txt'));
    expect(rt.files.realPath('http://usr/x/y')).toBe(path.join(rt.files.userDir, 'x', 'y'));
    // phones spell them wxfile://; both spellings are accepted
    expect(fsm.readFileSync('wxfile://tmp_a.txt', 'utf8')).toBe('hello');
    fsm.writeFileSync('wxfile://usr/w.txt', 'W', 'utf8');
    expect(fsm.readFileSync('http://usr/w.txt', 'utf8')).toBe('W');
  });

  test('a phone runtime (platform ios) uses wxfile:// paths', async () => {
    const phone = createWxRuntime({ platform: 'ios' });
    try {
      expect(phone.wx.env.USER_DATA_PATH).toBe('wxfile://usr');
      expect(phone.files.writeTemp('v.mp4', 'x')).toBe('wxfile://tmp_v.mp4');
    } finally {
      await phone.close();
    }
  });

  test('path traversal out of the sandbox is rejected (permission denied); unknown schemes do not exist', async () => {
    expect(() => fsm.readFileSync('http://usr/../../../../etc/passwd', 'utf8')).toThrow(
      'readFileSync:fail permission denied, open http://usr/../../../../etc/passwd',
    );
    expect(() => fsm.readFileSync('http://tmp/../usr/x')).toThrow(/permission denied/);
    expect(() => rt.files.realPath('http://usr/../../x')).toThrow(/permission denied/);
    const r = await wxCall(fsm.readFile, { filePath: '/etc/passwd', encoding: 'utf8' }).result;
    expect(r.res.errMsg).toBe('readFile:fail no such file or directory, open /etc/passwd');
  });

  test('only user files are writable: writeFile / mkdir into temp fail "permission denied"', async () => {
    const r = await wxCall(fsm.writeFile, { filePath: 'http://tmp/new.txt', data: 'x' }).result;
    expect(r.ok).toBe(false);
    expect(r.res.errMsg).toBe('writeFile:fail permission denied, open http://tmp/new.txt');
    expect(() => fsm.mkdirSync('http://tmp/d')).toThrow('mkdirSync:fail permission denied, mkdir http://tmp/d');
  });
});

describe('readFile', () => {
  test('position + length read exactly [position, position+length) as an ArrayBuffer', async () => {
    const p = rt.files.writeTemp('r.bin', Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const r = await wxCall(fsm.readFile, { filePath: p, position: 3, length: 4 }).result;
    expect(r.ok).toBe(true);
    expect(r.res.data).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(r.res.data)]).toEqual([3, 4, 5, 6]);
    expect([...new Uint8Array(fsm.readFileSync(p, undefined, 8))]).toEqual([8, 9]); // length defaults to the rest
    expect([...new Uint8Array(fsm.readFileSync(p, undefined, 9, 1))]).toEqual([9]); // the last byte
  });

  test('out-of-range position or length fails (we choose failing over padding)', async () => {
    const p = rt.files.writeTemp('r.bin', Buffer.alloc(10));
    const a = await wxCall(fsm.readFile, { filePath: p, position: 11, length: 1 }).result;
    expect(a.ok).toBe(false);
    expect(a.res.errMsg).toMatch(/^readFile:fail the value of "position" is out of range/);
    const b = await wxCall(fsm.readFile, { filePath: p, position: 8, length: 5 }).result;
    expect(b.res.errMsg).toMatch(/^readFile:fail the value of "length" is out of range/);
    expect(() => fsm.readFileSync(p, undefined, -1, 2)).toThrow(/readFileSync:fail the value of "position" is out of range/);
  });

  test("WeChat's documented ranges: position in [0, fileLength-1], length in [1, fileLength] — position == fileLength and length 0 fail; only a whole-file read may be empty", async () => {
    const p = rt.files.writeTemp('r10.bin', Buffer.alloc(10));
    const atEnd = await wxCall(fsm.readFile, { filePath: p, position: 10, length: 1 }).result;
    expect(atEnd.res.errMsg).toMatch(/^readFile:fail the value of "position" is out of range/);
    expect(() => fsm.readFileSync(p, undefined, 10)).toThrow(/the value of "position" is out of range/);
    const zero = await wxCall(fsm.readFile, { filePath: p, position: 0, length: 0 }).result;
    expect(zero.res.errMsg).toMatch(/^readFile:fail the value of "length" is out of range/);
    expect(() => fsm.readFileSync(p, undefined, 10, 0)).toThrow(/out of range/);
    expect(() => fsm.readFileSync(p, undefined, 4, 0)).toThrow(/the value of "length" is out of range/);
    const empty = rt.files.writeTemp('empty.bin', Buffer.alloc(0));
    expect(fsm.readFileSync(empty).byteLength).toBe(0);
    expect(() => fsm.readFileSync(empty, undefined, 0, 0)).toThrow(/out of range/);
    expect(() => fsm.readFileSync(empty, undefined, 0)).toThrow(/the value of "position" is out of range/);
  });

  test('encodings utf8 / base64 / hex / binary, and an invalid encoding', () => {
    const p = rt.files.writeTemp('e.txt', '中a');
    expect(fsm.readFileSync(p, 'utf8')).toBe('中a');
    expect(fsm.readFileSync(p, 'utf-8')).toBe('中a');
    expect(fsm.readFileSync(p, 'base64')).toBe(Buffer.from('中a').toString('base64'));
    expect(fsm.readFileSync(p, 'hex')).toBe('e4b8ad61');
    expect(fsm.readFileSync(p, 'binary')).toBe(Buffer.from('中a').toString('latin1'));
    expect(fsm.readFileSync(p, 'hex', 3, 1)).toBe('61');
    expect(() => fsm.readFileSync(p, 'klingon')).toThrow('readFileSync:fail invalid encoding "klingon"');
  });

  test('a missing file fails with WeChat\'s text (async and sync)', async () => {
    const r = await wxCall(fsm.readFile, { filePath: 'http://tmp/x' }).result;
    expect(r.res.errMsg).toBe('readFile:fail no such file or directory, open http://tmp/x');
    expect(r.completed).toBe(true);
    let err: (Error & { errMsg?: string }) | undefined;
    try {
      fsm.readFileSync('http://tmp/x');
    } catch (e) {
      err = e as Error;
    }
    expect(err && err.errMsg).toBe('readFileSync:fail no such file or directory, open http://tmp/x');
  });
});

describe('FileSystemManager operations', () => {
  test('stat (seconds, isFile/isDirectory, recursive), getFileInfo (size + md5/sha1), access', async () => {
    const p = rt.files.writeTemp('s.txt', 'abc');
    const st = await wxCall(fsm.stat, { path: p }).result;
    expect(st.res.stats.size).toBe(3);
    expect(st.res.stats.isFile()).toBe(true);
    expect(st.res.stats.isDirectory()).toBe(false);
    expect(Math.abs(st.res.stats.lastModifiedTime - Date.now() / 1000)).toBeLessThan(60);
    const info = await wxCall(fsm.getFileInfo, { filePath: p }).result;
    expect(info.res).toMatchObject({ size: 3, digest: '900150983cd24fb0d6963f7d28e17f72' });
    const sha = await wxCall(fsm.getFileInfo, { filePath: p, digestAlgorithm: 'sha1' }).result;
    expect(sha.res.digest).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    fsm.mkdirSync('http://usr/a/b', true);
    fsm.writeFileSync('http://usr/a/b/c.txt', 'c');
    const rec = fsm.statSync('http://usr/a', true);
    expect(Object.keys(rec).sort()).toEqual(['/', '/b', '/b/c.txt']);
    expect(rec['/b'].isDirectory()).toBe(true);
    expect((await wxCall(fsm.access, { path: p }).result).ok).toBe(true);
    const no = await wxCall(fsm.access, { path: 'http://usr/none' }).result;
    expect(no.res.errMsg).toBe('access:fail no such file or directory, access http://usr/none');
  });

  test('writeFile (string encodings, ArrayBuffer), appendFile, copyFile, rename, readdir, unlink, rmdir', async () => {
    const u = rt.wx.env.USER_DATA_PATH;
    fsm.writeFileSync(`${u}/w.bin`, new Uint8Array([1, 2]).buffer);
    fsm.appendFileSync(`${u}/w.bin`, '0304', 'hex');
    expect(fsm.readFileSync(`${u}/w.bin`, 'hex')).toBe('01020304');
    expect(() => fsm.appendFileSync(`${u}/none.txt`, 'x')).toThrow('appendFileSync:fail no such file or directory, open http://usr/none.txt');
    fsm.writeFileSync(`${u}/b64.txt`, Buffer.from('hi').toString('base64'), 'base64');
    expect(fsm.readFileSync(`${u}/b64.txt`, 'utf8')).toBe('hi');
    fsm.copyFileSync(`${u}/w.bin`, `${u}/copy.bin`);
    fsm.renameSync(`${u}/copy.bin`, `${u}/moved.bin`);
    expect(fsm.readdirSync(u)).toEqual(['b64.txt', 'moved.bin', 'w.bin']);
    fsm.unlinkSync(`${u}/moved.bin`);
    expect(() => fsm.unlinkSync(`${u}/moved.bin`)).toThrow('unlinkSync:fail no such file or directory, unlink http://usr/moved.bin');
    fsm.mkdirSync(`${u}/d`);
    expect(() => fsm.mkdirSync(`${u}/d`)).toThrow('mkdirSync:fail file already exists, mkdir http://usr/d');
    expect(() => fsm.mkdirSync(`${u}/x/y`)).toThrow(/mkdirSync:fail no such file or directory/);
    fsm.writeFileSync(`${u}/d/f`, 'f');
    expect(() => fsm.rmdirSync(`${u}/d`)).toThrow('rmdirSync:fail directory not empty, rmdir http://usr/d');
    expect(() => fsm.unlinkSync(`${u}/d`)).toThrow('unlinkSync:fail operation not permitted, unlink http://usr/d');
    fsm.rmdirSync(`${u}/d`, true);
    expect(fsm.readdirSync(u)).toEqual(['b64.txt', 'w.bin']);
    const w = await wxCall(fsm.writeFile, { filePath: `${u}/nodir/x`, data: 'x' }).result;
    expect(w.res.errMsg).toBe('writeFile:fail no such file or directory, open http://usr/nodir/x');
  });

  test('saveFile moves a temp file into USER_DATA_PATH (or the given path); only temp files can be saved', async () => {
    const t = rt.files.writeTemp('keep.mp4', 'video');
    const r = await wxCall(fsm.saveFile, { tempFilePath: t }).result;
    expect(r.ok).toBe(true);
    expect(r.res.savedFilePath).toBe('http://usr/store_keep.mp4');
    expect(fsm.readFileSync(r.res.savedFilePath, 'utf8')).toBe('video');
    expect(() => fsm.accessSync(t)).toThrow(/no such file/); // moved, not copied
    const t2 = rt.files.writeTemp('two.mp4', 'v2');
    expect(fsm.saveFileSync(t2, 'http://usr/mine.mp4')).toBe('http://usr/mine.mp4');
    const bad = await wxCall(fsm.saveFile, { tempFilePath: 'http://usr/mine.mp4' }).result;
    expect(bad.res.errMsg).toMatch(/^saveFile:fail permission denied/);
  });
});

describe('storage', () => {
  test('sync get/set/remove/clear/info; values come back as copies; a missing key reads as ""', () => {
    const wx = rt.wx;
    const obj = { a: [1, 2], n: null, s: '中' };
    wx.setStorageSync('k', obj);
    obj.a.push(3);
    expect(wx.getStorageSync('k')).toEqual({ a: [1, 2], n: null, s: '中' });
    wx.setStorageSync('num', 42);
    wx.setStorageSync('date', new Date(0));
    expect(wx.getStorageSync('num')).toBe(42);
    expect(wx.getStorageSync('date')).toEqual(new Date(0));
    expect(wx.getStorageSync('missing')).toBe('');
    expect(wx.getStorageInfoSync()).toMatchObject({ keys: ['k', 'num', 'date'], limitSize: 10240 });
    wx.removeStorageSync('k');
    expect(wx.getStorageSync('k')).toBe('');
    wx.clearStorageSync();
    expect(wx.getStorageInfoSync().keys).toEqual([]);
    expect(() => wx.setStorageSync(undefined, 1)).toThrow(/setStorageSync:fail parameter error/);
  });

  test('async storage APIs (callbacks and Promise form); getStorage of a missing key fails "data not found"', async () => {
    const wx = rt.wx;
    expect((await wxCall(wx.setStorage, { key: 'a', data: { x: 1 } }).result).res.errMsg).toBe('setStorage:ok');
    expect((await wxCall(wx.getStorage, { key: 'a' }).result).res.data).toEqual({ x: 1 });
    const miss = await wxCall(wx.getStorage, { key: 'zz' }).result;
    expect(miss.res.errMsg).toBe('getStorage:fail data not found');
    await expect(wx.getStorage({ key: 'a' })).resolves.toMatchObject({ data: { x: 1 } });
    await wx.removeStorage({ key: 'a' });
    await expect(wx.getStorage({ key: 'a' })).rejects.toMatchObject({ errMsg: 'getStorage:fail data not found' });
    await wx.setStorage({ key: 'b', data: 1 });
    await wx.clearStorage();
    expect((await wx.getStorageInfo()).keys).toEqual([]);
  });

  test('1 MB per key: a larger value is refused (sync throws, async fails) and nothing is stored', async () => {
    const wx = rt.wx;
    const big = 'x'.repeat(1024 * 1024); // serialised with quotes → over 1 MB
    let err: (Error & { errMsg?: string }) | undefined;
    try {
      wx.setStorageSync('big', big);
    } catch (e) {
      err = e as Error;
    }
    expect(err && err.message).toBe('setStorageSync:fail exceed storage item max size 1MB');
    expect(err && err.errMsg).toBe('setStorageSync:fail exceed storage item max size 1MB');
    expect(wx.getStorageSync('big')).toBe('');
    const r = await wxCall(wx.setStorage, { key: 'big', data: big }).result;
    expect(r.res.errMsg).toBe('setStorage:fail exceed storage item max size 1MB');
    wx.setStorageSync('fits', 'x'.repeat(1024 * 1024 - 2)); // exactly 1 MB serialised
    expect((wx.getStorageSync('fits') as string).length).toBe(1024 * 1024 - 2);
  });

  test('10 MB in total: the write that crosses it is refused; replacing a key counts its new size only', () => {
    const wx = rt.wx;
    const item = 'y'.repeat(1000 * 1024);
    for (let i = 0; i < 10; i++) wx.setStorageSync(`k${i}`, item); // ~9.77 MB
    expect(() => wx.setStorageSync('k10', item)).toThrow('setStorageSync:fail exceed storage max size 10MB');
    expect(wx.getStorageSync('k10')).toBe('');
    wx.setStorageSync('k0', item); // replacing does not double-count
    wx.removeStorageSync('k9');
    wx.setStorageSync('k10', item);
    expect(wx.getStorageInfoSync().keys).toHaveLength(10);
  });

  test('persistence: a new runtime on the same sandbox (an app restart) sees storage and user files', async () => {
    const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'wx-restart-'));
    try {
      const a = createWxRuntime({ sandboxDir: dir });
      a.wx.setStorageSync('checkpoint', { uploadId: 'u1', parts: [1, 2] });
      a.wx.getFileSystemManager().writeFileSync(`${a.wx.env.USER_DATA_PATH}/note.txt`, 'n');
      await a.close();
      expect(nodeFs.existsSync(dir)).toBe(true); // a given sandbox is kept
      const b = createWxRuntime({ sandboxDir: dir });
      expect(b.wx.getStorageSync('checkpoint')).toEqual({ uploadId: 'u1', parts: [1, 2] });
      expect(b.wx.getFileSystemManager().readFileSync('http://usr/note.txt', 'utf8')).toBe('n');
      expect(b.openid).toBe(a.openid); // the same user after a restart
      await b.close();
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
