/**
 * Hostile input on the IoT half (issue 9), end to end over real loopback sockets: the Node wx runtime → our wx
 * adapter → the AppServer's /api/iot routes → TC3-signed calls → the local IoT cloud, all in THIS process, so a
 * prototype pollution anywhere on the path would show on this test's own Object.prototype.
 * Each case is named by its class.
 */
import { startDevStack, DevStack } from '../../server';
import { createWxRuntime, WxRuntime } from '../harness/wx-runtime';
import { AppClient, createWxAdapter, PlatformAdapter } from 'mp-media-sdk';
import http from 'node:http';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

let stack: DevStack;
let rt: WxRuntime;
let adapter: PlatformAdapter;
let client: AppClient;
let token: string;
let cam: string;

const POLLUTION_KEYS = ['setVal', 'stVal', 't', 'ctlVal', 'val', 'x', 'owners'];
/** Object.prototype has no enumerable or own keys beyond the built-ins. */
function prototypeClean(): void {
  const proto = Object.prototype as Record<string, unknown>;
  for (const k of POLLUTION_KEYS) expect(Object.prototype.hasOwnProperty.call(proto, k)).toBe(false);
  // eslint-disable-next-line guard-for-in
  for (const k in {}) throw new Error(`Object.prototype gained the enumerable key ${k}`);
  expect(({} as Record<string, unknown>).setVal).toBeUndefined();
}

async function post(path: string, body: unknown) {
  return adapter.request<any>({
    url: `${stack.appServerUrl}${path}`,
    method: 'POST',
    header: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    data: body as Record<string, unknown>,
  });
}

beforeAll(async () => {
  stack = await startDevStack({ quiet: true, env: {} });
  rt = createWxRuntime({ wechatUrl: stack.cloud!.wechat, openid: 'oIoTHostile00001' });
  adapter = createWxAdapter(rt.wx);
  client = new AppClient({ baseUrl: stack.appServerUrl, adapter });
  token = (await client.login()).token;
  const list = await post('/api/iot/devices/list', {});
  cam = list.data.data.list[0].deviceId;
});
afterAll(async () => {
  await rt.close();
  await stack.close();
});
afterEach(() => prototypeClean());

describe('prototype pollution through thing-model paths', () => {
  const paths = [
    ['ProWritable.__proto__.setVal', '1'],
    ['ProWritable.__proto__', '{"setVal":1}'],
    ['ProWritable.constructor.setVal', '1'],
    ['ProUser.__proto__.val', '{"x":1}'],
    ['ProUser.__proto__.val.x', '1'],
    ['ProUser._buildIn.val.__proto__', '{"x":1}'],
    ['ProWritable.prototype.setVal', '1'],
  ] as const;
  test.each(paths)('property/write %s is refused (400) and Object.prototype stays clean', async (path, json) => {
    const r = await post('/api/iot/message/property/write', { deviceId: cam, path, json });
    expect(r.statusCode).toBe(400);
    expect(r.data.error.code).toBe('InvalidParameter');
    expect(r.data.error.message).toMatch(/__proto__, constructor and prototype/);
  });
  test.each([
    ['/api/iot/message/action', 'Action.__proto__', '{"ctlVal":1}'],
    ['/api/iot/message/action', 'Action.constructor', '{"ctlVal":1}'],
    ['/api/iot/message/property/add', 'ProUser.__proto__', '{"x":1}'],
    ['/api/iot/message/property/add', 'ProUser.constructor', '1'],
  ])('%s %s is refused (400)', async (route, path, json) => {
    const r = await post(route, { deviceId: cam, path, json });
    expect(r.statusCode).toBe(400);
    expect(r.data.error.code).toBe('InvalidParameter');
  });
  test('property/read and property/delete of a prototype name are refused (400)', async () => {
    expect((await post('/api/iot/message/property/read', { deviceId: cam, path: 'ProWritable.__proto__' })).statusCode).toBe(400);
    expect((await post('/api/iot/message/property/read', { deviceId: cam, path: 'ProReadonly.constructor' })).statusCode).toBe(400);
    expect((await post('/api/iot/message/property/delete', { deviceId: cam, path: 'ProUser.__proto__' })).statusCode).toBe(400);
  });

  test('the cloud refuses prototype names on its own API (Tencent client, hostile Data / ActionId / InputParams)', async () => {
    const { secretId, secretKey } = DEV_CREDENTIALS.tencent;
    const u = new URL(stack.cloud!.iot);
    const c = new CommonClient(u.host, '2019-04-23', {
      credential: { secretId, secretKey },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: u.host, protocol: 'http://', agent: new http.Agent() } },
    });
    const dev = { ProductId: 'LOCALCAM01', DeviceName: cam };
    for (const Data of ['{"__proto__":{"setVal":1}}', '{"constructor":{"prototype":{"x":1}}}', '{"prototype":1}']) {
      await expect(c.request('ControlDeviceData', { ...dev, Data })).rejects.toMatchObject({ code: 'InvalidParameterValue.ModelPropertyNotExist' });
    }
    for (const ActionId of ['__proto__', 'constructor', 'toString']) {
      await expect(c.request('CallDeviceActionSync', { ...dev, ActionId, InputParams: '{"ctlVal":1}' })).rejects.toMatchObject({ code: 'InvalidParameterValue.ActionNilOrNotExist' });
    }
    await expect(c.request('CallDeviceActionSync', { ...dev, ActionId: 'cameraOn', InputParams: '{"__proto__":{"x":1},"ctlVal":1}' })).rejects.toMatchObject({ code: 'InvalidParameter.ActionInputParamsInvalid' });
    for (const DeviceName of ['__proto__', 'constructor']) {
      await expect(c.request('DescribeDeviceData', { ProductId: 'LOCALCAM01', DeviceName })).rejects.toMatchObject({ code: 'ResourceNotFound.DeviceNotExist' });
    }
    prototypeClean();
  });

  test('after the attempts a fresh login and other routes still work', async () => {
    const c2 = new AppClient({ baseUrl: stack.appServerUrl, adapter, storageKey: 'hostile-2' });
    const s = await c2.login();
    expect(s.openid).toBe('oIoTHostile00001');
    const w = await post('/api/iot/message/property/write', { deviceId: cam, path: 'ProWritable.nightVision.setVal', json: '2' });
    expect(w.data).toMatchObject({ code: 0 });
    const r = await post('/api/iot/message/property/read', { deviceId: cam, path: 'ProWritable.nightVision.stVal' });
    expect(r.data).toMatchObject({ code: 0, data: 2 });
    const ev = await post('/api/iot/vas/cloudstorage/describe', { deviceId: cam });
    expect(ev.data.code).toBe(0);
  });
});

describe('prototype names as device ids', () => {
  test.each(['constructor', '__proto__', 'prototype', 'hasOwnProperty', 'toString'])('deviceId %s → 8002 (device not found), not 502', async (id) => {
    for (const [route, body] of [
      ['/api/iot/vas/cloudstorage/describe', { deviceId: id }],
      ['/api/iot/vas/playback/datelist', { deviceId: id, timezone: 28800 }],
      ['/api/iot/message/property/read', { deviceId: id, path: 'ProWritable' }],
      ['/api/iot/message/property/write', { deviceId: id, path: 'ProWritable.nightVision.setVal', json: '1' }],
    ] as const) {
      const r = await post(route, body);
      expect([route, r.statusCode, r.data.code]).toEqual([route, 200, 8002]);
    }
  });
});

describe('oversized and deeply nested free-form JSON', () => {
  test('json nested 33 levels → 400 before anything reaches the device; 32 levels is accepted', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const r = await post('/api/iot/message/property/add', { deviceId: cam, path: 'ProUser.deep', json: deep(33) });
    expect(r.statusCode).toBe(400);
    expect(r.data.error.message).toMatch(/deeper than 32/);
    const ok = await post('/api/iot/message/property/add', { deviceId: cam, path: 'ProUser.deep', json: deep(32) });
    expect(ok.data).toMatchObject({ code: 0 });
  });
  test('json of 15,000 nested arrays (30,000 bytes) → 400, no stack overflow, the server keeps answering', async () => {
    const r = await post('/api/iot/message/property/write', { deviceId: cam, path: 'ProUser._buildIn.val.k', json: '['.repeat(15000) + ']'.repeat(15000) });
    expect(r.statusCode).toBe(400);
    expect((await post('/api/iot/devices/list', {})).data.code).toBe(0);
  });
  test('json over 30,000 UTF-8 bytes → the seed\'s 21008', async () => {
    const r = await post('/api/iot/message/action', { deviceId: cam, path: 'Action.cameraOn', json: JSON.stringify({ ctlVal: 1, pad: '字'.repeat(10001) }) });
    expect(r.data).toMatchObject({ code: 21008 });
  });
});
