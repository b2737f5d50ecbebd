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
import { createLocalIoTBackend } from '../../server/app/iot/local';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

let dataDir: string;
let cloud: RunningCloud;

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
    const b = createLocalIoTBackend({ apiUrl: () => cloud.urls.iot, secretId, secretKey, region: 'ap-guangzhou' });
    try {
      await expect(b.listDevices('oSomeoneElse0001')).rejects.toMatchObject({ code: 'AuthFailure.SecretIdNotFound' });
    } finally {
      await b.close();
    }
  });

  test('the real dev credentials still work after the attempts', async () => {
    const { secretId, secretKey } = DEV_CREDENTIALS.tencent;
    const b = createLocalIoTBackend({ apiUrl: () => cloud.urls.iot, secretId, secretKey, region: 'ap-guangzhou' });
    try {
      expect((await b.listDevices('oSomeoneElse0001')).code).toBe(0);
    } finally {
      await b.close();
    }
  });
});
