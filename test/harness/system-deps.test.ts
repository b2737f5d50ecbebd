/** requireBinary: found → its path; missing → skip with the Debian package named, or a failure under MP_REQUIRE_SYSTEM_DEPS=1. */
import { findBinary, requireBinary } from './system-deps';

const saved = process.env.MP_REQUIRE_SYSTEM_DEPS;
afterEach(() => {
  if (saved === undefined) delete process.env.MP_REQUIRE_SYSTEM_DEPS;
  else process.env.MP_REQUIRE_SYSTEM_DEPS = saved;
  jest.restoreAllMocks();
});

test('a program on PATH is found (node itself)', () => {
  expect(findBinary('node')).toMatch(/node$/);
  expect(requireBinary('node', 'nodejs')).toBe(findBinary('node'));
});

test('missing without MP_REQUIRE_SYSTEM_DEPS: undefined, and a message naming the package to install', () => {
  delete process.env.MP_REQUIRE_SYSTEM_DEPS;
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  expect(requireBinary('no-such-program-mp-test', 'no-such-package')).toBeUndefined();
  expect(warn).toHaveBeenCalledWith(expect.stringContaining('apt-get install no-such-package'));
});

test('missing with MP_REQUIRE_SYSTEM_DEPS=1 (CI): throws, so the test file fails', () => {
  process.env.MP_REQUIRE_SYSTEM_DEPS = '1';
  expect(() => requireBinary('no-such-program-mp-test', 'no-such-package')).toThrow(/no-such-program-mp-test is not installed \(Debian\/Ubuntu: apt-get install no-such-package\); MP_REQUIRE_SYSTEM_DEPS=1/);
});
