import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadAppConfig } from '../../server/app/config';

const cloud = { wechat: 'http://127.0.0.1:1', oss: '', vod: '', sts: '', polyv: '', iot: '', tvod: '', cos: '' };
const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'appcfg-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('AppServer configuration', () => {
  it('defaults to the local cloud and keeps a generated token secret in the data dir across restarts', () => {
    const d = dir();
    const a = loadAppConfig({}, cloud, d);
    const b = loadAppConfig({}, cloud, d);
    expect(a.wechat.apiBase).toBe(cloud.wechat);
    expect(a.tokenSecret).toBe(b.tokenSecret);
    expect(readFileSync(path.join(d, 'token-secret'), 'utf8').trim()).toBe(a.tokenSecret);
    expect(a.trustProxy).toBe(false);
  });

  it('uses the real WeChat API when WX_APPID and WX_SECRET are set', () => {
    const c = loadAppConfig({ WX_APPID: 'wx123', WX_SECRET: 's' }, cloud, dir());
    expect(c.wechat).toEqual({ appId: 'wx123', secret: 's', apiBase: 'https://api.weixin.qq.com' });
  });

  it.each([
    ['production without APP_TOKEN_SECRET', { NODE_ENV: 'production' }, /APP_TOKEN_SECRET is required/],
    ['a short APP_TOKEN_SECRET', { APP_TOKEN_SECRET: 'short' }, /at least 32/],
    ['WX_APPID without WX_SECRET', { WX_APPID: 'wx1' }, /both WX_APPID and WX_SECRET/],
    ['a tiny APP_TOKEN_TTL', { APP_TOKEN_TTL: '5' }, /APP_TOKEN_TTL/],
  ])('refuses to start with %s', (_n, env, msg) => {
    expect(() => loadAppConfig(env as NodeJS.ProcessEnv, cloud, dir())).toThrow(msg);
  });

  it('refuses to start with no WeChat API at all (no local cloud, nothing configured)', () => {
    expect(() => loadAppConfig({}, undefined, dir())).toThrow(/No WeChat API/);
  });

  it.each([
    ['true', true],
    ['2', 2],
    ['10.0.0.0/8,127.0.0.1', '10.0.0.0/8,127.0.0.1'],
    ['false', false],
  ])('parses TRUST_PROXY=%s', (v, want) => {
    expect(loadAppConfig({ TRUST_PROXY: v }, cloud, dir()).trustProxy).toEqual(want);
  });
});
