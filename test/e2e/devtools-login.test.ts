/**
 * What happens when the demo runs in WeChat DevTools or on a phone against `npm start`: wx.login returns a code only
 * the real WeChat could exchange. The stack started like `npm start` (acceptForeignLoginCodes) logs such a code in as
 * the one local developer user; a stack started like the tests (strict) refuses it.
 */
import { startDevStack, DevStack } from '../../server';
import { localDeveloperOpenid } from '../../server/cloud/wechat';
import { DEV_CREDENTIALS } from '../../server/dev-credentials';

async function login(stack: DevStack, code: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.appServerUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  return { status: res.status, body: await res.json() };
}

describe('login with a code from a real WeChat client', () => {
  it('npm start mode: accepted once, as the stable local developer user, and the session works', async () => {
    const stack = await startDevStack({ quiet: true, acceptForeignLoginCodes: true });
    try {
      const first = await login(stack, '0a3Xyz000DevToolsCode0000abcdEF');
      expect(first.status).toBe(200);
      expect(first.body.openid).toBe(localDeveloperOpenid(DEV_CREDENTIALS.wechat.appId));
      const second = await login(stack, '0b9Qrs111AnotherPickCode111ghIJ');
      expect(second.body.openid).toBe(first.body.openid);
      const reused = await login(stack, '0a3Xyz000DevToolsCode0000abcdEF');
      expect(reused.status).toBe(401);
      expect(reused.body.error.code).toBe('CodeUsed');
      const me = await (await fetch(`${stack.appServerUrl}/api/me`, { headers: { authorization: `Bearer ${first.body.token}` } })).json();
      expect(me.openid).toBe(first.body.openid);
    } finally {
      await stack.close();
    }
  });

  it('test mode (strict emulator): the same code is refused as InvalidCode', async () => {
    const stack = await startDevStack({ quiet: true });
    try {
      const r = await login(stack, '0a3Xyz000DevToolsCode0000abcdEF');
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('InvalidCode');
    } finally {
      await stack.close();
    }
  });
});
