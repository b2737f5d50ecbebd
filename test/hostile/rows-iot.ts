/**
 * Hostile names in the IoT positions (issue 9): the AppServer's /api/iot routes (deviceId, property path segment,
 * action id) and the local IoT cloud's API 3.0 (TC3 SecretId, X-TC-Action, DeviceName, ActionId, a Data key).
 * The IoT helper's own tests (test/e2e/iot-hostile.test.ts, test/cloud/iot-hostile.test.ts) cover these with the
 * official Tencent client; these rows put the same positions in the shared table. The AppServer's IoT routes answer
 * the seed's protocol: HTTP 200 with `code` (8002 = device not found, 20101 = no such model node), or 400
 * InvalidParameter for a path the grammar refuses (`__proto__`, `constructor`, `prototype` segments).
 */
import { inherited } from './rows';
import type { HostileAnswer, HostileEnv, HostileRow } from './harness';
import { tc3Call } from './tencent';

const iotCode = (j: any) => j?.error?.code ?? j?.code;

/** An AppServer IoT call read as the seed's protocol answers it (`code` in the body, or error.code on a 4xx). */
async function iotApi(env: HostileEnv, p: string, opts: { body?: unknown; rawBody?: string }): Promise<HostileAnswer> {
  const a = await env.api('POST', p, opts);
  let j: unknown;
  try {
    j = JSON.parse(a.text);
  } catch {
    j = undefined;
  }
  return { ...a, code: iotCode(j) };
}
const devices = new WeakMap<HostileEnv, string>();

/** A device of the table's user (the AppServer provisions the demo devices on first listing). */
async function cam(env: HostileEnv): Promise<string> {
  const known = devices.get(env);
  if (known) return known;
  const r = await iotApi(env, '/api/iot/devices/list', { body: {} });
  const id = (JSON.parse(r.text) as { data: { list: Array<{ deviceId: string }> } }).data.list[0].deviceId;
  devices.set(env, id);
  return id;
}

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function iotCloud(env: HostileEnv, action: string, body: unknown, o: { secretId?: string; secretKey?: string } = {}) {
  return tc3Call(env, env.cloud.iot, { action, version: '2019-04-23', service: 'iotexplorer', body, ...o });
}

export const rows: HostileRow[] = [
  {
    name: 'AppServer IoT deviceId (vas/cloudstorage/describe)',
    send: (env, v) => iotApi(env, '/api/iot/vas/cloudstorage/describe', { rawBody: `{"deviceId":${JSON.stringify(v)}}` }),
    expect: () => ({ status: 200, code: 8002 }),
  },
  {
    name: 'AppServer IoT deviceId (message/property/write)',
    send: (env, v) => iotApi(env, '/api/iot/message/property/write', { rawBody: JSON.stringify({ deviceId: v, path: 'ProWritable.nightVision.setVal', json: '1' }) }),
    expect: () => ({ status: 200, code: 8002 }),
  },
  {
    name: 'AppServer IoT property path segment (property/read ProWritable.<name>)',
    send: async (env, v) => iotApi(env, '/api/iot/message/property/read', { body: { deviceId: await cam(env), path: `ProWritable.${v}` } }),
    expect: (v) => (RESERVED.has(v) ? { status: 400, code: 'InvalidParameter' } : { status: 200, code: 20101 }),
  },
  {
    name: 'AppServer IoT property path segment (property/write ProWritable.<name>.setVal)',
    send: async (env, v) => iotApi(env, '/api/iot/message/property/write', { body: { deviceId: await cam(env), path: `ProWritable.${v}.setVal`, json: '1' } }),
    expect: (v) => (RESERVED.has(v) ? { status: 400, code: 'InvalidParameter' } : { status: 200, code: 20101 }),
  },
  {
    name: 'AppServer IoT action id (message/action Action.<name>)',
    send: async (env, v) => iotApi(env, '/api/iot/message/action', { body: { deviceId: await cam(env), path: `Action.${v}`, json: '{}' } }),
    expect: (v) => (RESERVED.has(v) ? { status: 400, code: 'InvalidParameter' } : { status: 200, code: 20101 }),
  },
  {
    name: 'IoT cloud TC3 SecretId (signed with the inherited value as key)',
    send: (env, v) => iotCloud(env, 'GetDeviceList', { ProductId: 'LOCALCAM01', Limit: 10 }, { secretId: v, secretKey: inherited(v) }),
    expect: () => ({ status: 200, code: 'AuthFailure.SecretIdNotFound' }),
  },
  { name: 'IoT cloud X-TC-Action', send: (env, v) => iotCloud(env, v, {}), expect: () => ({ status: 200, code: 'InvalidAction' }) },
  {
    name: 'IoT cloud DescribeDeviceData DeviceName',
    send: (env, v) => iotCloud(env, 'DescribeDeviceData', { ProductId: 'LOCALCAM01', DeviceName: v }),
    expect: () => ({ status: 200, code: 'ResourceNotFound.DeviceNotExist' }),
  },
  {
    name: 'IoT cloud CallDeviceActionSync ActionId',
    send: async (env, v) => iotCloud(env, 'CallDeviceActionSync', { ProductId: 'LOCALCAM01', DeviceName: await cam(env), ActionId: v, InputParams: '{}' }),
    expect: () => ({ status: 200, code: 'InvalidParameterValue.ActionNilOrNotExist' }),
  },
  {
    name: 'IoT cloud ControlDeviceData Data key',
    send: async (env, v) => iotCloud(env, 'ControlDeviceData', { ProductId: 'LOCALCAM01', DeviceName: await cam(env), Data: JSON.stringify({ [v]: 1 }) }),
    expect: () => ({ status: 200, code: 'InvalidParameterValue.ModelPropertyNotExist' }),
  },
];
