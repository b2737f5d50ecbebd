/**
 * Tests that need a system program (chromium, ffmpeg, redis-server) look it up here. Missing: the test FAILS when
 * MP_REQUIRE_SYSTEM_DEPS=1 (CI sets it; .ci/run installs the Debian packages), otherwise it is skipped with a message
 * naming the package to install.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The program's absolute path, or undefined (after failing or logging as above). */
export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  try {
    const out = execFileSync('sh', ['-c', `command -v ${name.replace(/[^A-Za-z0-9._+-]/g, '')}`], { encoding: 'utf8' }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `requireBinary('chromium', 'chromium')`: the path when present. When missing, throws with MP_REQUIRE_SYSTEM_DEPS=1,
 * else logs "skipped: apt-get install -y <pkg>" and returns undefined (use `describeIf(path)` / `test.skip`).
 */
export function requireBinary(name: string, debPackage: string): string | undefined {
  const found = findBinary(name);
  if (found) return found;
  const msg = `${name} not found: install it with \`apt-get install -y ${debPackage}\``;
  if (process.env.MP_REQUIRE_SYSTEM_DEPS === '1') throw new Error(`${msg} (MP_REQUIRE_SYSTEM_DEPS=1: required here)`);
  console.warn(`skipped: ${msg}`);
  return undefined;
}

/** `describe` when the binary was found, `describe.skip` otherwise. */
export function describeWith(binary: string | undefined): jest.Describe {
  return binary ? describe : describe.skip;
}
