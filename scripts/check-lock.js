#!/usr/bin/env node
/**
 * Fast guard run by CI before `npm ci`: every optional dependency that a locked package declares must have its own
 * entry in package-lock.json. A lock written by a registry mirror that 404s other platforms' optional packages
 * (jest 30's @unrs/resolver-binding-*, say) lacks them, and `npm ci` then refuses it as "out of sync" on a clean
 * machine. Exits 1 with the missing names and the fix.
 */
'use strict';
const path = require('path');
const lockPath = path.resolve(process.argv[2] || path.join(__dirname, '..', 'package-lock.json'));
const packages = require(lockPath).packages || {};

/** Node's lookup: <dir>/node_modules/<name>, then each enclosing node_modules up to the root. */
function resolves(from, name) {
  let base = from;
  for (;;) {
    if (packages[(base ? base + '/' : '') + 'node_modules/' + name]) return true;
    if (base === '') return false;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

const missing = [];
for (const [where, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies || {})) {
    if (!resolves(where, name)) missing.push(`${name} (optional dependency of ${where || 'the root'})`);
  }
}
if (missing.length) {
  console.error(`check-lock: ${path.relative(process.cwd(), lockPath)} lacks ${missing.length} optional package entr${missing.length === 1 ? 'y' : 'ies'}; \`npm ci\` will refuse it on a clean machine:`);
  for (const m of missing.slice(0, 20)) console.error('  - ' + m);
  if (missing.length > 20) console.error(`  … and ${missing.length - 20} more`);
  console.error('Fix: `npm install --package-lock-only` against a registry that serves every platform, then commit the lock.');
  process.exit(1);
}
console.log(`check-lock: ${Object.keys(packages).length} lock entries, every optional dependency has its entry`);
