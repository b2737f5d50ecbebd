/**
 * Two instances of the same page in the page stack (events of device A → … → events of device B) must each keep
 * their own view-model: a page module runs once and its instances share module scope.
 */
import { renderPage, startPageEnv, PageEnv } from './helpers';

let env: PageEnv;
beforeAll(async () => {
  env = await startPageEnv({ openid: 'oPageInstances01' });
});
afterAll(() => env.close());

test('two event-list instances for different devices keep their own view-models', async () => {
  const r = await env.appClient.call<{ data: { list: Array<{ deviceId: string }> } }>('POST', '/api/iot/devices/list', {});
  const [a, b] = r.data.list;
  const pa = await renderPage('pages/events/index', { deviceId: a.deviceId });
  await pa.until(() => !pa.data().loading && pa.data().groups.length > 0);
  const pb = await renderPage('pages/events/index', { deviceId: b.deviceId }, { sameModuleAs: pa });
  await pb.until(() => !pb.data().loading);

  // Acting on the first instance after the second was created still drives the first device's list.
  const before = pa.data().groups.reduce((n: number, g: { items: unknown[] }) => n + g.items.length, 0);
  await pa.instance.onReachBottom();
  await pa.until(() => !pa.data().loading);
  const after = pa.data().groups.reduce((n: number, g: { items: unknown[] }) => n + g.items.length, 0);
  expect(after).toBeGreaterThan(before);
  expect(pa.data().deviceId).toBe(a.deviceId);
  expect(pb.data().deviceId).toBe(b.deviceId);
  pa.unload();
  // Unloading one instance leaves the other working.
  await pb.instance.onPullDownRefresh();
  expect(pb.data().deviceId).toBe(b.deviceId);
  pb.unload();
});
