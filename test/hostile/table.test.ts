/**
 * Issue 9, the hostile-input table: every row in test/hostile/rows*.ts (rows.ts: each hostile name — `__proto__`,
 * `constructor`, `prototype`, `toString`, `hasOwnProperty` — in each id / name / action / appid / key position;
 * rows-classes.ts: one row per class of bad input with its cases named) answers its 4xx with the provider's code and
 * passes its checks (nothing stored …). Afterwards Object.prototype is unchanged, no response was a 5xx, no server
 * logged an internal error, and a login still works.
 */
import { HOSTILE_NAMES, loadAllRows, prototypeSnapshot, runRow, startHostileEnv, type HostileEnv } from './harness';

const rows = loadAllRows();
const before = prototypeSnapshot();
let env: HostileEnv;

beforeAll(async () => {
  env = await startHostileEnv();
});
afterAll(() => env.close());

describe.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  test.each((row.values ?? HOSTILE_NAMES).map((v) => [v, row.expect(v)] as const))('= %s → %j', async (value) => {
    const { problems } = await runRow(env, row, value);
    expect(problems).toEqual([]);
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
    expect(env.stats.requests).toBeGreaterThanOrEqual(rows.filter((r) => !r.values).length * HOSTILE_NAMES.length);
  });
});
