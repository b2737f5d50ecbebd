/**
 * Tencent VOD against the real cloud's configuration (LOCAL_CLOUD=0, NODE_ENV=production): without TENCENT_VOD_* the
 * routes answer 503 TencentVodNotConfigured (the AppServer still starts); with a key pair the signature is made with
 * it (offline: signing makes no call); half a pair or a bad value stops the start.
 */
import os from 'node:os';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { startDevStack, DevStack } from '../../server';
import { signToken } from '../../server/app/token';

const SECRET = 'y'.repeat(40);
const base = { NODE_ENV: 'production', APP_TOKEN_SECRET: SECRET, WX_APPID: 'wx0123456789abcdef', WX_SECRET: 'real-wechat-secret', TENCENT_VOD_EVENTS: 'off' };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function start(env: Record<string, string>): Promise<DevStack> {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tvod-realcfg-'));
  dirs.push(d);
  return startDevStack({ localCloud: false, quiet: true, dataDir: d, env });
}

function headers(): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  return { authorization: `Bearer ${signToken({ sub: 'oRealUser', iat: now, exp: now + 600 }, SECRET)}`, 'content-type': 'application/json' };
}

describe('Tencent VOD with real-cloud settings', () => {
  it('not configured → 503 TencentVodNotConfigured on every route (the AppServer starts)', async () => {
    const stack = await start(base);
    try {
      const r = await fetch(`${stack.appServerUrl}/api/tencent-vod/signature`, { method: 'POST', headers: headers(), body: '{}' });
      expect(r.status).toBe(503);
      expect((await r.json()).error.code).toBe('TencentVodNotConfigured');
      expect((await fetch(`${stack.appServerUrl}/api/tencent-vod/videos`, { headers: headers() })).status).toBe(503);
    } finally {
      await stack.close();
    }
  });

  it('TENCENT_VOD_SECRET_ID / _KEY → signatures with that key, the configured sub app and procedure', async () => {
    const stack = await start({ ...base, TENCENT_VOD_SECRET_ID: 'AKIDrealRealReal', TENCENT_VOD_SECRET_KEY: 'real-tencent-key', TENCENT_VOD_SUB_APP_ID: '1500001234', TENCENT_VOD_PROCEDURE: 'Flow1', TENCENT_VOD_SIGNATURE_TTL: '300' });
    try {
      const r = await fetch(`${stack.appServerUrl}/api/tencent-vod/signature`, { method: 'POST', headers: headers(), body: '{}' });
      expect(r.status).toBe(200);
      const { signature } = await r.json();
      const raw = Buffer.from(signature, 'base64');
      expect(createHmac('sha1', 'real-tencent-key').update(raw.subarray(20)).digest().equals(raw.subarray(0, 20))).toBe(true);
      const q = new URLSearchParams(raw.subarray(20).toString());
      expect(q.get('secretId')).toBe('AKIDrealRealReal');
      expect(q.get('vodSubAppId')).toBe('1500001234');
      expect(q.get('procedure')).toBe('Flow1');
      expect(Number(q.get('expireTime')) - Number(q.get('currentTimeStamp'))).toBe(300);
      const cfg = await (await fetch(`${stack.appServerUrl}/api/tencent-vod/config`, { headers: headers() })).json();
      expect(cfg).toEqual({ localCloud: false });
    } finally {
      await stack.close();
    }
  });

  it('half a key pair or a bad value stops the start with a clear message', async () => {
    await expect(start({ ...base, TENCENT_VOD_SECRET_ID: 'AKIDonly' })).rejects.toThrow(/both TENCENT_VOD_SECRET_ID and TENCENT_VOD_SECRET_KEY/);
    await expect(start({ ...base, TENCENT_VOD_SECRET_ID: 'a', TENCENT_VOD_SECRET_KEY: 'b', TENCENT_VOD_SIGNATURE_TTL: '10' })).rejects.toThrow(/TENCENT_VOD_SIGNATURE_TTL/);
    await expect(start({ ...base, TENCENT_VOD_EVENTS: 'maybe' })).rejects.toThrow(/TENCENT_VOD_EVENTS/);
  });
});
