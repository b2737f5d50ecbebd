/**
 * The README's "Point the AppServer at the real clouds" recipe: with LOCAL_CLOUD off and production settings the
 * AppServer starts (it makes no outbound call at start), authenticates, and answers a provider that is not configured
 * with 503 and a clear code instead of refusing to start.
 */
import { startDevStack, DevStack } from '../../server';
import { signToken } from '../../server/app/token';

const SECRET = 'x'.repeat(40);
const base = {
  NODE_ENV: 'production',
  APP_TOKEN_SECRET: SECRET,
  WX_APPID: 'wx0123456789abcdef',
  WX_SECRET: 'real-wechat-secret',
};

async function start(env: Record<string, string>): Promise<DevStack> {
  return startDevStack({ localCloud: false, quiet: true, env }); // its own temp data dir, removed by close()
}

function bearer(): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  return { authorization: `Bearer ${signToken({ sub: 'oRealUser', iat: now, exp: now + 600 }, SECRET)}`, 'content-type': 'application/json' };
}

describe('AppServer against the real clouds (LOCAL_CLOUD=0, NODE_ENV=production)', () => {
  it('starts with WeChat + Aliyun + Polyv configured; IoT without IOT_* answers 503 IoTNotConfigured', async () => {
    const stack = await start({
      ...base,
      ALIYUN_ACCESS_KEY_ID: 'LTAI5tRealKeyId',
      ALIYUN_ACCESS_KEY_SECRET: 'real-aliyun-secret',
      ALIYUN_USER_ID: '1234',
      POLYV_USER_ID: 'abc123',
      POLYV_SECRET_KEY: 'real-polyv-secret',
    });
    try {
      const health = await (await fetch(`${stack.appServerUrl}/api/health`)).json();
      expect(health).toMatchObject({ ok: true, localCloud: false });
      const iot = await fetch(`${stack.appServerUrl}/api/iot/devices/list`, { method: 'POST', headers: bearer(), body: '{}' });
      expect(iot.status).toBe(503);
      expect((await iot.json()).error.code).toBe('IoTNotConfigured');
      const cfg = await (await fetch(`${stack.appServerUrl}/api/vod/config`, { headers: bearer() })).json();
      expect(cfg).toMatchObject({ localCloud: false, userId: '1234' });
    } finally {
      await stack.close();
    }
  });

  it('refuses the local development IoT credentials in production even when IOT_API_URL is set', async () => {
    const stack = await start({ ...base, IOT_API_URL: 'https://iotvideo.tencentcloudapi.com' });
    try {
      const iot = await fetch(`${stack.appServerUrl}/api/iot/devices/list`, { method: 'POST', headers: bearer(), body: '{}' });
      expect(iot.status).toBe(503);
      expect((await iot.json()).error.message).toMatch(/refused in production/);
    } finally {
      await stack.close();
    }
  });

  it('still refuses to start on a real configuration mistake (half an IoT key pair)', async () => {
    await expect(start({ ...base, IOT_SECRET_ID: 'AKIDonly' })).rejects.toThrow(/both IOT_SECRET_ID and IOT_SECRET_KEY/);
  });
});
