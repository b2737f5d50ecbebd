/**
 * Issue 9, the table: every hostile name (`__proto__`, `constructor`, `prototype`, `toString`, `hasOwnProperty`) in
 * every id / name / action / appid / key position of every row in test/hostile/rows*.ts answers the row's 4xx with the
 * provider's code; afterwards Object.prototype is unchanged, no response was a 5xx, no server logged an internal
 * error, and a login still works.
 */
import { HOSTILE_NAMES, loadAllRows, prototypeSnapshot, startHostileEnv, type HostileEnv } from './harness';

const rows = loadAllRows();
const before = prototypeSnapshot();
let env: HostileEnv;

beforeAll(async () => {
  env = await startHostileEnv();
});
afterAll(() => env.close());

describe.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  test.each(HOSTILE_NAMES.map((v) => [v, row.expect(v)] as const))('= %s → %j', async (value, expected) => {
    const a = await row.send(env, value);
    expect({ status: a.status, code: a.code }).toEqual(expected);
  });
});

describe('after the table', () => {
  test('Object.prototype unchanged, no 5xx answered, no internal error logged, and a fresh login works', async () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
    expect(prototypeSnapshot()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const token = await env.login('oAfterTheTable1');
    const me = await env.api('GET', '/api/me', { token });
    expect([me.status, JSON.parse(me.text).openid]).toEqual([200, 'oAfterTheTable1']);
    expect(env.stats.fiveXX).toEqual([]);
    expect(env.stats.serverErrors).toEqual([]);
    expect(env.stats.requests).toBeGreaterThanOrEqual(rows.length * HOSTILE_NAMES.length);
  });
});
