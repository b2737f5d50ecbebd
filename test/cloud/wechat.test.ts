/**
 * The WeChat emulator answers code2Session like api.weixin.qq.com (HTTP 200 + errcode JSON) and mints single-use,
 * 5-minute codes through its dev endpoint.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { startCloud, RunningCloud, devEndpointDenied, isLoopback } from '../../server/cloud';
import { wechatProvider, localDeveloperOpenid } from '../../server/cloud/wechat';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

let cloud: RunningCloud;
let cloudDir = '';
let base: string;
const { appId, secret } = DEV_CREDENTIALS.wechat;

beforeAll(async () => {
  cloud = await startCloud({ dataDir: (cloudDir = mkdtempSync(path.join(os.tmpdir(), 'wx-cloud-'))), providers: [wechatProvider()], quiet: true });
  base = cloud.urls.wechat;
});
afterAll(async () => {
  await cloud.close();
  rmSync(cloudDir, { recursive: true, force: true });
});
afterEach(() => cloud.setClockOffset(0));

async function mint(body: unknown = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/wx/dev/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function code2Session(q: Record<string, string>): Promise<any> {
  const res = await fetch(`${base}/sns/jscode2session?${new URLSearchParams(q)}`);
  expect(res.status).toBe(200); // WeChat reports errors in the body, not the status
  return JSON.parse(await res.text());
}

describe('WeChat emulator: /sns/jscode2session', () => {
  it('exchanges a fresh code for the openid it was minted for, with a session_key', async () => {
    const { json } = await mint({ openid: 'oTestUser0001' });
    const r = await code2Session({ appid: appId, secret, js_code: json.code, grant_type: 'authorization_code' });
    expect(r.openid).toBe('oTestUser0001');
    expect(typeof r.session_key).toBe('string');
    expect(r.errcode).toBeUndefined();
  });

  it('rejects a used code with 40163 (code been used)', async () => {
    const { json } = await mint();
    await code2Session({ appid: appId, secret, js_code: json.code, grant_type: 'authorization_code' });
    const again = await code2Session({ appid: appId, secret, js_code: json.code, grant_type: 'authorization_code' });
    expect(again.errcode).toBe(40163);
    expect(again.errmsg).toMatch(/code been used/);
  });

  it('rejects an expired code (older than 5 minutes) with 40029', async () => {
    const { json } = await mint();
    cloud.setClockOffset(5 * 60 * 1000 + 1000);
    const r = await code2Session({ appid: appId, secret, js_code: json.code, grant_type: 'authorization_code' });
    expect(r.errcode).toBe(40029);
  });

  it.each([
    ['an unknown code → 40029', { appid: appId, secret, js_code: 'nope' }, 40029],
    ['a missing appid → 41002', { secret, js_code: 'x' }, 41002],
    ['a missing secret → 41004', { appid: appId, js_code: 'x' }, 41004],
    ['a missing code → 41008', { appid: appId, secret }, 41008],
    ['an unknown appid → 40013', { appid: 'wxnotours', secret, js_code: 'x' }, 40013],
    ['a wrong secret → 40125', { appid: appId, secret: 'wrong', js_code: 'x' }, 40125],
    ['a wrong grant_type → 40002', { appid: appId, secret, js_code: 'x', grant_type: 'client_credential' }, 40002],
  ])('rejects %s', async (_name, q, errcode) => {
    const r = await code2Session(q as Record<string, string>);
    expect(r.errcode).toBe(errcode);
    expect(r.errmsg).toMatch(/rid: /);
  });

  it('does not let a code minted for one app be used by another', async () => {
    const { json } = await mint();
    const r = await code2Session({ appid: 'wxsomeoneelse', secret, js_code: json.code });
    expect(r.errcode).toBe(40013);
  });
});

describe('WeChat emulator: POST /wx/dev/code', () => {
  it('mints distinct codes and a generated openid when none is given', async () => {
    const a = await mint();
    const b = await mint();
    expect(a.status).toBe(200);
    expect(a.json.code).not.toBe(b.json.code);
    expect(a.json.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(a.json.expiresIn).toBe(300);
  });

  it.each([
    ['an openid with bad characters', { openid: 'bad openid!' }],
    ['an unknown field', { nope: 1 }],
    ['an unknown appid', { appid: 'wxnotours' }],
  ])('rejects %s with 400 and an errmsg', async (_n, body) => {
    const r = await mint(body);
    expect(r.status).toBe(400);
    expect(typeof r.json.errmsg).toBe('string');
  });
});

describe('WeChat emulator: codes from a real WeChat client (DevTools / phone preview)', () => {
  let dev: RunningCloud;
  let devDir = '';
  beforeAll(async () => {
    dev = await startCloud({ dataDir: (devDir = mkdtempSync(path.join(os.tmpdir(), 'wx-dev-'))), providers: [wechatProvider({ acceptForeignCodes: true })], quiet: true });
  });
  afterAll(async () => {
    await dev.close();
    rmSync(devDir, { recursive: true, force: true });
  });
  const exchange = async (code: string) => JSON.parse(await (await fetch(`${dev.urls.wechat}/sns/jscode2session?${new URLSearchParams({ appid: appId, secret, js_code: code })}`)).text());

  it('accepts a code it never minted, as one stable local developer user, once', async () => {
    const a = await exchange('081Xyz0w3ABCdef1234567890abcdEFG');
    const b = await exchange('0c1AbC2d3EfG4h5IjK6lM7nO8pQ9rS0t');
    expect(a.openid).toBe(localDeveloperOpenid(appId));
    expect(b.openid).toBe(a.openid);
    expect((await exchange('081Xyz0w3ABCdef1234567890abcdEFG')).errcode).toBe(40163);
  });

  it('still checks the app id and secret, and rejects a code with spaces or control characters', async () => {
    const r = JSON.parse(await (await fetch(`${dev.urls.wechat}/sns/jscode2session?${new URLSearchParams({ appid: appId, secret: 'wrong', js_code: 'abc' })}`)).text());
    expect(r.errcode).toBe(40125);
    expect((await exchange('has space')).errcode).toBe(40029);
  });

  it('minted codes keep their own openid', async () => {
    const minted = await (await fetch(`${dev.urls.wechat}/wx/dev/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid: 'oMintedUser01' }) })).json();
    expect((await exchange(minted.code)).openid).toBe('oMintedUser01');
  });
});

describe('dev endpoints answer only this machine', () => {
  it.each([
    ['/wx/dev/code', '192.168.1.23', true],
    ['/_admin/faults', '10.0.0.8', true],
    ['/_admin/faults', '::ffff:172.16.0.4', true],
    ['/wx/dev/code', '127.0.0.1', false],
    ['/_admin/faults', '::1', false],
    ['/sns/jscode2session', '192.168.1.23', false],
    ['/oss-bucket/_admin-key', '192.168.1.23', false],
    [undefined, '192.168.1.23', false],
  ])('route %s from %s → denied %s', (route, addr, denied) => {
    expect(devEndpointDenied(route, addr)).toBe(denied);
  });

  it('a loopback caller is served through the guard over a real socket (route pattern, not raw URL, decides)', async () => {
    const r = await fetch(`${base}/%77x/dev/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(200);
  });

  it.each([['127.0.0.1', true], ['127.8.9.1', true], ['::1', true], ['::ffff:127.0.0.1', true], ['192.168.1.2', false], ['10.0.0.1', false], [undefined, false]])('isLoopback(%s) = %s', (a, want) => {
    expect(isLoopback(a)).toBe(want);
  });
});
