/**
 * "Node 20 without warnings": npm prints EBADENGINE for every installed package whose `engines.node` the running
 * Node does not satisfy. package-lock.json records each package's `engines`, so this checks, without installing,
 * that the oldest Node our package.json admits (`engines.node`, today >=20.19.0) and the Node running the tests satisfy
 * every locked package. A dependency (or a new version of one) that needs a newer Node fails here, naming it: pin an
 * older version with package.json `overrides`, or raise `engines.node` and the README's requirement together.
 */
import fs from 'node:fs';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require('semver') as { minVersion(range: string): { version: string } | null; satisfies(v: string, range: string): boolean };

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean; os?: string[]; cpu?: string[] }>;
};

/** Locked packages whose engines.node `nodeVersion` does not satisfy (platform-specific optional packages of other platforms aside). */
function unsatisfied(nodeVersion: string): string[] {
  const out: string[] = [];
  for (const [where, e] of Object.entries(lock.packages)) {
    if (!where || !e.engines || Array.isArray(e.engines) || !e.engines.node) continue;
    if (e.optional && ((e.os && !e.os.includes(process.platform)) || (e.cpu && !e.cpu.includes(process.arch)))) continue;
    if (!semver.satisfies(nodeVersion, e.engines.node)) out.push(`${where.replace(/^.*node_modules\//, '')}@${e.version} needs node ${e.engines.node}`);
  }
  return out;
}

describe('engines: no EBADENGINE on the Node versions package.json admits', () => {
  it('the root engines.node minimum satisfies every locked package', () => {
    const min = semver.minVersion(pkg.engines.node)!.version;
    expect({ min, unsatisfied: unsatisfied(min) }).toEqual({ min, unsatisfied: [] });
  });

  it('the running Node satisfies package.json engines and every locked package', () => {
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
    expect(unsatisfied(process.version)).toEqual([]);
  });

  it('the lock records the same engines.node as package.json (the root entry)', () => {
    expect((lock.packages[''].engines as { node?: string } | undefined)?.node).toBe(pkg.engines.node);
  });

  it('reports a package that needs a newer Node (the check can fail)', () => {
    expect(unsatisfied('10.0.0').length).toBeGreaterThan(0);
  });
});
