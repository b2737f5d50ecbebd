/**
 * Upgrading an AppServer that kept its state in JSON files (vod-owners.json, iot-bindings.json, tencent-vod.json in
 * DATA_DIR/app): the first start on the store imports each file once, renames it *.imported, and what it held is
 * there (owners, lists, bindings, contexts, records, applied events). Entries already in the store win.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryStore } from '../../server/app/store';
import { VodOwners } from '../../server/app/vod-owners';
import { IoTBindings } from '../../server/app/iot/bindings';
import { TencentVodStore } from '../../server/app/tencent-vod/store';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'store-legacy-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('vod-owners.json: owners and per-user lists imported, an owner already in the store is kept, bad ids skipped; the file is renamed', async () => {
  const file = path.join(dir, 'vod-owners.json');
  writeFileSync(file, JSON.stringify({ v1: 'oA', v2: 'oB', v3: 'oA', 'bad id': 'oA', v4: 7 }));
  const store = new MemoryStore();
  const owners = new VodOwners(store, () => 1000);
  await owners.record('v2', 'oC');
  expect(await owners.importLegacy(file)).toBe(2);
  expect(existsSync(file)).toBe(false);
  expect(existsSync(`${file}.imported`)).toBe(true);
  expect(await owners.owner('v1')).toBe('oA');
  expect(await owners.owner('v2')).toBe('oC');
  expect(await owners.mine('oA')).toEqual(['v1', 'v3']);
  expect(await owners.mine('oB')).toEqual([]);
  expect(await owners.importLegacy(file)).toBe(0); // once
});

test('iot-bindings.json: each user known, their devices bound in order, the device index answers 8003 for others', async () => {
  const file = path.join(dir, 'iot-bindings.json');
  const b = (d: string) => ({ deviceId: d, deviceName: d, productId: 'P1', name: `cam ${d}` });
  writeFileSync(file, JSON.stringify({ version: 1, users: { oA: [b('d1'), b('d2')], oEmpty: [] } }));
  const bindings = new IoTBindings(new MemoryStore());
  expect(await bindings.importLegacy(file)).toBe(2);
  expect(existsSync(`${file}.imported`)).toBe(true);
  expect((await bindings.list('oA')).map((x) => x.deviceId)).toEqual(['d1', 'd2']);
  expect(await bindings.has('oEmpty')).toBe(true);
  expect(await bindings.lookup('oB', 'd1')).toEqual({ code: 8003 });
  expect(await bindings.lookup('oB', 'dx')).toEqual({ code: 8002 });
  expect((await bindings.anyBinding('d2'))?.name).toBe('cam d2');
});

test('tencent-vod.json: contexts, records (without re-applying their events), lists imported', async () => {
  const file = path.join(dir, 'tencent-vod.json');
  const rec = { fileId: '5001', openid: 'oA', name: 'n', state: 'ready', procedureTaskId: 'T1', createdAt: 10, updatedAt: 20 };
  writeFileSync(file, JSON.stringify({ users: { 'u1.ctx': 'oA' }, videos: { '5001': rec, __proto__x: rec }, applied: { 'NewFileUpload:5001': 1, 'ProcedureStateChanged:T1:FINISH': 2 } }));
  const s = new TencentVodStore(new MemoryStore(), 'secret'.repeat(6));
  expect(await s.importLegacy(file)).toBe(1);
  expect(await s.userFor('u1.ctx')).toBe('oA');
  expect(await s.video('5001')).toEqual(rec);
  expect((await s.videosOf('oA')).map((v) => v.fileId)).toEqual(['5001']);
  expect(await s.apply('5001', 'oA', { state: 'ready' }, 30, 'NewFileUpload:5001')).toBeNull();
  expect(await s.apply('5001', 'oA', { state: 'ready' }, 30, 'ProcedureStateChanged:T1:FINISH')).toBeNull();
  expect(await s.apply('5001', 'oA', { name: 'm' }, 30, 'ProcedureStateChanged:T2:FINISH')).toMatchObject({ name: 'm', state: 'ready', updatedAt: 30 });
});
