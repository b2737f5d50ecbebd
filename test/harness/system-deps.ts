/**
 * System programs some tests need (redis-server, ffmpeg, chromium …), looked up on PATH. Missing one:
 *   - MP_REQUIRE_SYSTEM_DEPS=1 (CI, after .ci/run installed them): throws, so the test file FAILS;
 *   - otherwise: returns undefined and prints which Debian package to install; the caller skips its tests.
 * Usage: `const redis = requireBinary('redis-server', 'redis-server'); const d = redis ? describe : describe.skip;`
 */
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function requireBinary(name: string, debPackage: string): string | undefined {
  const found = findBinary(name);
  if (found) return found;
  const msg = `${name} is not installed (Debian/Ubuntu: apt-get install ${debPackage})`;
  if (process.env.MP_REQUIRE_SYSTEM_DEPS === '1') throw new Error(`${msg}; MP_REQUIRE_SYSTEM_DEPS=1 makes this a failure.`);
  console.warn(`skipping: ${msg}.`);
  return undefined;
}

/** `describe` when the binary was found, `describe.skip` otherwise. */
export function describeWith(binary: string | undefined): jest.Describe {
  return binary ? describe : describe.skip;
}
