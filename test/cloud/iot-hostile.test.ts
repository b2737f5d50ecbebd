/**
 * Hostile input against the local IoT cloud's TC3 check (issue 9), driven by Tencent's own Node client
 * (tencentcloud-sdk-nodejs-common) so the signature is exactly what a real caller sends: a SecretId that names a
 * member of Object.prototype must be an unknown SecretId, never a key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCloud, RunningCloud } from '../../server/cloud';
import { iotProvider } from '../../server/cloud/iot';
import http from 'node:http';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

let dataDir: string;
let cloud: RunningCloud;

function client(secretId: string, secretKey: string): CommonClient {
  const u = new URL(cloud.urls.iot);
  return new CommonClient(u.host, '2019-04-23', {
    credential: { secretId, secretKey },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: u.host, protocol: 'http://', agent: new http.Agent() } },
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'iot-hostile-'));
  cloud = await startCloud({ dataDir, providers: [iotProvider()], quiet: true });
});
afterAll(async () => {
  await cloud.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('TC3 SecretId lookup with prototype names', () => {
  test.each([
    ['constructor', 'function Object() { [native code] }'],
    ['__proto__', '[object Object]'],
    ['toString', 'function toString() { [native code] }'],
    ['hasOwnProperty', 'function hasOwnProperty() { [native code] }'],
  ])('SecretId %s with key %j → AuthFailure.SecretIdNotFound (no device list)', async (secretId, secretKey) => {
    await expect(client(secretId, secretKey).request('GetDeviceList', { ProductId: 'LOCALCAM01', Limit: 10 })).rejects.toMatchObject({ code: 'AuthFailure.SecretIdNotFound' });
  });

  test('the real dev credentials still work after the attempts', async () => {
    const { secretId, secretKey } = DEV_CREDENTIALS.tencent;
    const r = await client(secretId, secretKey).request('GetDeviceList', { ProductId: 'LOCALCAM01', Limit: 10 });
    expect(r).toMatchObject({ Total: expect.any(Number), Devices: expect.any(Array) });
  });
});
