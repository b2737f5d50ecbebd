/**
 * The local IoT Video cloud on its own: TC3-HMAC-SHA256 verification (signed by the official tencentcloud SDK and by
 * an independent signer written here from the spec), Cloud API error envelopes, real PNG images and thumbnails,
 * signed media URLs, HLS playlists whose MPEG-TS segments carry continuous wall-clock timestamps, determinism, and
 * persistence of deletions and properties across restarts.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { startCloud, RunningCloud } from '../../server/cloud';
import { iotProvider } from '../../server/cloud/iot';
import { firstPtsSeconds } from '../../server/cloud/iot/hls';
import { createLocalIoTBackend } from '../../server/app/iot/local';
import type { IoTBackend } from '../../server/app/iot/backend';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

const { secretId, secretKey } = DEV_CREDENTIALS.tencent;

/** TC3 signer written from https://cloud.tencent.com/document/api/306/57449 (independent of the server's verifier). */
function tc3Headers(body: string, o: { action: string; ts: number; secretId?: string; secretKey?: string; version?: string; host?: string }) {
  // fetch sends Host: 127.0.0.1:<port>; the signature covers the host name without the port.
  const host = o.host || '127.0.0.1';
  const ct = 'application/json; charset=utf-8';
  const date = new Date(o.ts * 1000).toISOString().slice(0, 10);
  const hash = (s: string) => createHash('sha256').update(s).digest('hex');
  const canonical = `POST\n/\n\ncontent-type:${ct}\nhost:${host}\n\ncontent-type;host\n${hash(body)}`;
  const sts = `TC3-HMAC-SHA256\n${o.ts}\n${date}/iotvideo/tc3_request\n${hash(canonical)}`;
  const h = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d).digest();
  const kSigning = h(h(h(`TC3${o.secretKey ?? secretKey}`, date), 'iotvideo'), 'tc3_request');
  const sig = createHmac('sha256', kSigning).update(sts).digest('hex');
  return {
    'content-type': ct,
    authorization: `TC3-HMAC-SHA256 Credential=${o.secretId ?? secretId}/${date}/iotvideo/tc3_request, SignedHeaders=content-type;host, Signature=${sig}`,
    'x-tc-action': o.action,
    'x-tc-timestamp': String(o.ts),
    'x-tc-version': o.version || '2021-11-25',
  };
}

/** Parses a PNG completely: signature, every chunk's CRC, IHDR, and the inflated IDAT size. */
function decodePng(buf: Buffer): { width: number; height: number; colorType: number } {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let p = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  while (p < buf.length) {
    const len = buf.readUInt32BE(p);
    const type = buf.subarray(p + 4, p + 8).toString('ascii');
    const data = buf.subarray(p + 8, p + 8 + len);
    expect(buf.readUInt32BE(p + 8 + len)).toBe(crc(buf.subarray(p + 4, p + 8 + len)));
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    if (type === 'IEND') ended = true;
    p += 12 + len;
  }
  expect(ended).toBe(true);
  const width = ihdr!.readUInt32BE(0);
  const height = ihdr!.readUInt32BE(4);
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe(height * (1 + width * 3));
  return { width, height, colorType: ihdr![9] };
}

describe('local IoT cloud', () => {
  let dataDir: string;
  let cloud: RunningCloud;
  let backend: IoTBackend;
  const user = 'oiotcloudtest01';

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'iot-cloud-'));
    cloud = await startCloud({ dataDir, providers: [iotProvider()], quiet: true });
    backend = createLocalIoTBackend({ apiUrl: () => cloud.urls.iot, secretId, secretKey, region: 'ap-guangzhou' });
  });
  afterAll(async () => {
    await backend.close();
    await cloud.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = async (headers: Record<string, string>, body: string) => {
    const res = await fetch(`${cloud.urls.iot}/`, { method: 'POST', headers, body });
    expect(res.status).toBe(200);
    return (await res.json()) as { Response: { Error?: { Code: string; Message: string }; Code?: number; Data?: unknown; RequestId: string } };
  };
  const now = () => Math.floor(Date.now() / 1000);

  describe('TC3-HMAC-SHA256', () => {
    const body = JSON.stringify({ UserId: user });
    it('accepts the official SDK client and an independent spec signer', async () => {
      const r = await backend.listDevices(user);
      expect(r.code).toBe(0);
      expect((r.data as { list: unknown[] }).list.length).toBe(4);
      const raw = await post(tc3Headers(body, { action: 'DescribeUserDevices', ts: now() }), body);
      expect(raw.Response.Error).toBeUndefined();
      expect(raw.Response.Code).toBe(0);
      expect(raw.Response.RequestId).toMatch(/^[0-9a-f-]{30,}$/);
    });
    it('bad input: a wrong SecretKey → AuthFailure.SignatureFailure', async () => {
      const r = await post(tc3Headers(body, { action: 'DescribeUserDevices', ts: now(), secretKey: 'not-the-key' }), body);
      expect(r.Response.Error).toMatchObject({ Code: 'AuthFailure.SignatureFailure' });
    });
    it('bad input: a body changed after signing → AuthFailure.SignatureFailure', async () => {
      const r = await post(tc3Headers(body, { action: 'DescribeUserDevices', ts: now() }), JSON.stringify({ UserId: 'someoneelse' }));
      expect(r.Response.Error).toMatchObject({ Code: 'AuthFailure.SignatureFailure' });
    });
    it('bad input: an unknown SecretId → AuthFailure.SecretIdNotFound; no Authorization; a malformed one', async () => {
      expect((await post(tc3Headers(body, { action: 'DescribeUserDevices', ts: now(), secretId: 'AKIDunknown' }), body)).Response.Error!.Code).toBe('AuthFailure.SecretIdNotFound');
      const h = tc3Headers(body, { action: 'DescribeUserDevices', ts: now() }) as Record<string, string>;
      expect((await post({ ...h, authorization: '' }, body)).Response.Error!.Code).toBe('AuthFailure.SignatureFailure');
      expect((await post({ ...h, authorization: 'HMAC abc' }, body)).Response.Error!.Code).toBe('AuthFailure.InvalidAuthorization');
    });
    it('bad input: a timestamp 10 minutes off → AuthFailure.SignatureExpire (also through the SDK client when the cloud clock is skewed)', async () => {
      const r = await post(tc3Headers(body, { action: 'DescribeUserDevices', ts: now() - 600 }), body);
      expect(r.Response.Error).toMatchObject({ Code: 'AuthFailure.SignatureExpire' });
      cloud.setClockOffset(10 * 60 * 1000);
      try {
        await expect(backend.listDevices(user)).rejects.toMatchObject({ code: 'AuthFailure.SignatureExpire' });
      } finally {
        cloud.setClockOffset(0);
      }
    });
    it('bad input: unknown action, unsupported version, invalid parameters', async () => {
      expect((await post(tc3Headers(body, { action: 'DescribeNothing', ts: now() }), body)).Response.Error!.Code).toBe('InvalidAction');
      expect((await post(tc3Headers(body, { action: 'DescribeUserDevices', ts: now(), version: '2019-11-26' }), body)).Response.Error!.Code).toBe('InvalidParameterValue');
      const bad = JSON.stringify({ UserId: user, DeviceId: 'x', StartTime: 0, EndTime: 1, PageSize: 51 });
      const r = await post(tc3Headers(bad, { action: 'DescribeEventList', ts: now() }), bad);
      expect(r.Response.Error).toMatchObject({ Code: 'InvalidParameter' });
      expect(r.Response.Error!.Message).toMatch(/PageSize/);
    });
  });

  describe('media', () => {
    let deviceId: string;
    beforeAll(async () => {
      const r = await backend.listDevices(user);
      deviceId = (r.data as { list: Array<{ deviceId: string }> }).list[0].deviceId; // full-time storage, in use
    });

    it('serves real PNG images and thumbnails at the event URLs; tampered or deleted ones fail like COS', async () => {
      const t = now() - 3600;
      const r = await backend.getEventList(user, deviceId, { startTime: t - 86400, endTime: t, pageSize: 2, typeMasks: [], validCloudStorage: false });
      const d = r.data as { imgUrlPrefix: string; thumbUrlSuffix: string; list: Array<{ alarmId: string; imgUrlSuffix: string }> };
      const img = d.imgUrlPrefix + d.list[0].imgUrlSuffix;
      const full = await fetch(img);
      expect(full.headers.get('content-type')).toBe('image/png');
      expect(decodePng(Buffer.from(await full.arrayBuffer()))).toEqual({ width: 640, height: 360, colorType: 2 });
      const thumb = await fetch(img + d.thumbUrlSuffix);
      expect(decodePng(Buffer.from(await thumb.arrayBuffer()))).toEqual({ width: 160, height: 90, colorType: 2 });
      // Two events, two different pictures.
      const other = Buffer.from(await (await fetch(d.imgUrlPrefix + d.list[1].imgUrlSuffix + d.thumbUrlSuffix)).arrayBuffer());
      expect(other.equals(Buffer.from(await (await fetch(img + d.thumbUrlSuffix)).arrayBuffer()))).toBe(false);
      expect((await fetch(img.replace(/sign=([0-9a-f])/, (_m, c) => `sign=${c === '0' ? '1' : '0'}`))).status).toBe(403);
      await backend.deleteEvents(user, deviceId, [d.list[0].alarmId]);
      expect((await fetch(img)).status).toBe(404);
    });

    it('HLS: the m3u8 lists 2 s segments whose MPEG-TS timestamps continue from one to the next', async () => {
      const start = now() - 2 * 3600;
      const r = await backend.getVideoPlayAddress(user, deviceId, start, start + 600);
      expect(r.code).toBe(0);
      const a = r.data as { url: string; startTime: number; endTime: number; endflag: boolean };
      expect(a.url).toMatch(/\/timeshift\/live\/[0-9a-f]+\/timeshift\.m3u8\?starttime=\d{14}&endtime=\d{14}&t=\d+&sign=/);
      const res = await fetch(a.url);
      expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
      const m3u8 = await res.text();
      expect(m3u8.startsWith('#EXTM3U\n')).toBe(true);
      expect(m3u8.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
      const segs = m3u8.split('\n').filter((l) => l.startsWith('seg/'));
      expect(segs.length).toBeGreaterThan(10);
      const times = segs.map((s) => parseInt(/^seg\/(\d+)\.ts/.exec(s)![1], 10));
      // Pick two consecutive segments and check their media timestamps.
      const i = times.findIndex((t, k) => k > 0 && t === times[k - 1] + 2 && Math.floor(t / 86400) === Math.floor(times[k - 1] / 86400));
      expect(i).toBeGreaterThan(0);
      const [b1, b2] = await Promise.all([i - 1, i].map(async (k) => Buffer.from(await (await fetch(new URL(segs[k], a.url))).arrayBuffer())));
      for (const b of [b1, b2]) {
        expect(b.length % 188).toBe(0);
        for (let p = 0; p < b.length; p += 188) expect(b[p]).toBe(0x47);
      }
      expect(firstPtsSeconds(b1)).toBeCloseTo(times[i - 1] % 86400, 1);
      expect(firstPtsSeconds(b2) - firstPtsSeconds(b1)).toBeCloseTo(2, 3);
      // Tampered playlist signature; a segment that was not recorded.
      expect((await fetch(a.url.replace('&sign=', '&sign=0'))).status).toBe(403);
    });

    it('is deterministic: a second cloud with its own data dir generates the same past events for the same user', async () => {
      const dir2 = mkdtempSync(path.join(os.tmpdir(), 'iot-cloud2-'));
      const cloud2 = await startCloud({ dataDir: dir2, providers: [iotProvider()], quiet: true });
      const b2 = createLocalIoTBackend({ apiUrl: () => cloud2.urls.iot, secretId, secretKey, region: 'ap-guangzhou' });
      try {
        const u = 'odeterminism01';
        const ids1 = ((await backend.listDevices(u)).data as { list: Array<{ deviceId: string }> }).list.map((d) => d.deviceId);
        const ids2 = ((await b2.listDevices(u)).data as { list: Array<{ deviceId: string }> }).list.map((d) => d.deviceId);
        expect(ids2).toEqual(ids1);
        const t = now() - 7200;
        const q = { startTime: t - 86400, endTime: t, pageSize: 50, typeMasks: [], validCloudStorage: false };
        const e1 = (await backend.getEventList(u, ids1[0], q)).data as { list: Array<{ alarmId: string; alarmType: number }> };
        const e2 = (await b2.getEventList(u, ids2[0], q)).data as { list: Array<{ alarmId: string; alarmType: number }> };
        expect(e1.list.length).toBeGreaterThan(5);
        expect(e2.list.map((e) => [e.alarmId, e.alarmType])).toEqual(e1.list.map((e) => [e.alarmId, e.alarmType]));
      } finally {
        await b2.close();
        await cloud2.close();
        rmSync(dir2, { recursive: true, force: true });
      }
    });

    it('keeps deletions, written properties and user properties across a restart (ctx.dataDir)', async () => {
      const t = now() - 3600;
      const q = { startTime: t - 86400, endTime: t, pageSize: 5, typeMasks: [], validCloudStorage: false };
      const before = (await backend.getEventList(user, deviceId, q)).data as { list: Array<{ alarmId: string }> };
      const victim = before.list[1].alarmId;
      expect((await backend.deleteEvents(user, deviceId, [victim])).code).toBe(0);
      expect((await backend.writeProperty(user, deviceId, 'ProWritable.nightVision', '{"setVal":2}')).code).toBe(0);
      expect((await backend.addProperty(user, deviceId, 'ProUser.favourite', '{"zone":"door"}')).code).toBe(0);
      await backend.close();
      await cloud.close();
      cloud = await startCloud({ dataDir, providers: [iotProvider()], quiet: true });
      backend = createLocalIoTBackend({ apiUrl: () => cloud.urls.iot, secretId, secretKey, region: 'ap-guangzhou' });
      const after = (await backend.getEventList(user, deviceId, q)).data as { list: Array<{ alarmId: string }> };
      expect(after.list.map((e) => e.alarmId)).not.toContain(victim);
      expect(after.list[0].alarmId).toBe(before.list[0].alarmId);
      expect((await backend.readProperty(user, deviceId, 'ProWritable.nightVision.stVal')).data).toBe(2);
      expect((await backend.readProperty(user, deviceId, 'ProUser.favourite.val')).data).toEqual({ zone: 'door' });
    });
  });
});
