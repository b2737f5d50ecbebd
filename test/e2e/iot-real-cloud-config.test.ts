/**
 * The README's production recipe for IoT (LOCAL_CLOUD=0, NODE_ENV=production, real Tencent credentials): the
 * AppServer starts without a local cloud and answers /api/iot by calling the configured endpoint with the configured
 * SecretId / SecretKey. Proven by pointing it at a second, separately started local IoT cloud on its own port that
 * only accepts "production" credentials (not the dev ones), for both flavours. Nothing of ours is mocked.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { startDevStack, DevStack } from '../../server';
import { startCloud, RunningCloud } from '../../server/cloud';
import { iotProvider } from '../../server/cloud/iot';
import { signToken } from '../../server/app/token';

const SECRET = 'y'.repeat(40);
const REAL = { id: 'AKIDprodOnlyKey0001', key: 'prod-only-secret-key-0001' };
let dir: string;
let cloud: RunningCloud;
let deviceNames: string[];
let bindingsFile: string;

function bearer(sub: string): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  return { authorization: `Bearer ${signToken({ sub, iat: now, exp: now + 600 }, SECRET)}`, 'content-type': 'application/json' };
}
async function post(stack: DevStack, sub: string, p: string, body: unknown) {
  const res = await fetch(`${stack.appServerUrl}${p}`, { method: 'POST', headers: bearer(sub), body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
async function stats(): Promise<Record<string, number>> {
  return ((await (await fetch(`${cloud.urls.iot}/_admin/stats`)).json()) as { actions: Record<string, number> }).actions;
}
function start(env: Record<string, string>): Promise<DevStack> {
  return startDevStack({
    localCloud: false,
    quiet: true,
    dataDir: path.join(dir, `app-${Math.random().toString(36).slice(2)}`),
    env: { NODE_ENV: 'production', APP_TOKEN_SECRET: SECRET, WX_APPID: 'wx0123456789abcdef', WX_SECRET: 'real-wechat-secret', ...env },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'iot-realcfg-'));
  // "Tencent Cloud": a separate cloud that knows only the production key pair.
  cloud = await startCloud({ dataDir: path.join(dir, 'tencent'), providers: [iotProvider({ secrets: { [REAL.id]: REAL.key } })], quiet: true });
  const made = (await (await fetch(`${cloud.urls.iot}/_admin/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"openid":"oProdOwner0001"}' })).json()) as { devices: Array<{ deviceName: string }> };
  deviceNames = made.devices.map((d) => d.deviceName);
  bindingsFile = path.join(dir, 'bindings.json');
  writeFileSync(bindingsFile, JSON.stringify({ oProdOwner0001: [{ deviceName: deviceNames[0], name: '前门' }, deviceNames[1]], oProdOther0002: [deviceNames[2]] }));
});
afterAll(async () => {
  await cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['iotexplorer', 'iotvideo'])('production recipe, IOT_FLAVOUR=%s', (flavour) => {
  test('the AppServer answers IoT routes by calling the configured endpoint with the configured credentials; bindings from IOT_BINDINGS_FILE decide access', async () => {
    const before = await stats();
    const stack = await start({ IOT_FLAVOUR: flavour, IOT_API_URL: cloud.urls.iot, IOT_SECRET_ID: REAL.id, IOT_SECRET_KEY: REAL.key, IOT_PRODUCT_ID: 'LOCALCAM01', IOT_BINDINGS_FILE: bindingsFile });
    try {
      expect(stack.cloud).toBeUndefined();
      const list = await post(stack, 'oProdOwner0001', '/api/iot/devices/list', {});
      expect(list.status).toBe(200);
      expect(list.json.data.list.map((d: { deviceId: string; name: string }) => [d.deviceId, d.name])).toEqual([
        [deviceNames[0], '前门'],
        [deviceNames[1], deviceNames[1]],
      ]);
      const now = Math.floor(Date.now() / 1000);
      const ev = await post(stack, 'oProdOwner0001', '/api/iot/vas/event/list', { deviceId: deviceNames[0], startTime: now - 86400, endTime: now, pageSize: 5 });
      expect(ev.json.code).toBe(0);
      expect(ev.json.data.list).toHaveLength(5);
      const other = await post(stack, 'oProdOwner0001', '/api/iot/vas/cloudstorage/describe', { deviceId: deviceNames[2] });
      expect(other.json.code).toBe(8003);
      // The dev-only bind route does not exist in production.
      expect((await post(stack, 'oProdOwner0001', '/api/iot/devices/bind', { deviceId: deviceNames[2] })).status).toBe(404);
      const after = await stats();
      expect((after.DescribeCloudStorageEvents || 0) - (before.DescribeCloudStorageEvents || 0)).toBeGreaterThan(0);
      expect((after.DescribeDevice || 0) - (before.DescribeDevice || 0)).toBeGreaterThanOrEqual(2);
    } finally {
      await stack.close();
    }
  });
});

test('a wrong production secret surfaces as 502 IoTCloudError with Tencent\'s AuthFailure code (never a silent empty list)', async () => {
  const stack = await start({ IOT_API_URL: cloud.urls.iot, IOT_SECRET_ID: REAL.id, IOT_SECRET_KEY: 'wrong', IOT_PRODUCT_ID: 'LOCALCAM01', IOT_BINDINGS_FILE: bindingsFile });
  try {
    const r = await post(stack, 'oProdOwner0001', '/api/iot/devices/list', {});
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ code: 'IoTCloudError', details: { cloudCode: 'AuthFailure.SignatureFailure' } });
  } finally {
    await stack.close();
  }
});

test('a platform that does not answer: 502 IoTCloudError after IOT_TIMEOUT_SEC, and the AppServer keeps serving', async () => {
  const stack = await start({ IOT_API_URL: cloud.urls.iot, IOT_SECRET_ID: REAL.id, IOT_SECRET_KEY: REAL.key, IOT_PRODUCT_ID: 'LOCALCAM01', IOT_BINDINGS_FILE: bindingsFile, IOT_TIMEOUT_SEC: '1' });
  try {
    await fetch(`${cloud.urls.iot}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"action":"DescribeCloudStorage","kind":"hang","times":100}' });
    const r = await post(stack, 'oProdOwner0001', '/api/iot/vas/cloudstorage/describe', { deviceId: deviceNames[0] });
    expect(r.status).toBe(502);
    expect(r.json.error.code).toBe('IoTCloudError');
    await fetch(`${cloud.urls.iot}/_admin/faults`, { method: 'DELETE' });
    expect((await post(stack, 'oProdOwner0001', '/api/iot/vas/cloudstorage/describe', { deviceId: deviceNames[0] })).json.code).toBe(0);
  } finally {
    await fetch(`${cloud.urls.iot}/_admin/faults`, { method: 'DELETE' });
    await stack.close();
  }
});

test('configuration mistakes stop the AppServer at start: unknown flavour, malformed bindings file, IOT_API_URL with a path', async () => {
  const base = { IOT_SECRET_ID: REAL.id, IOT_SECRET_KEY: REAL.key };
  await expect(start({ ...base, IOT_FLAVOUR: 'iotcloud' })).rejects.toThrow(/IOT_FLAVOUR/);
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{"oX":[{"deviceName":"a/b"}]}');
  await expect(start({ ...base, IOT_PRODUCT_ID: 'LOCALCAM01', IOT_BINDINGS_FILE: bad })).rejects.toThrow(/IOT_BINDINGS_FILE/);
  await expect(start({ ...base, IOT_API_URL: 'https://iotexplorer.tencentcloudapi.com/v3' })).rejects.toThrow(/IOT_API_URL/);
  await expect(start({ ...base, IOT_TIMEOUT_SEC: '0' })).rejects.toThrow(/IOT_TIMEOUT_SEC/);
});
