#!/usr/bin/env node
/**
 * Headless "构建 npm": what DevTools does with project.config.json's packNpmManually + packNpmRelationList.
 * Builds the root package.json's `dependencies` (mp-media-sdk → sdk/miniprogram_dist, and its own dependencies)
 * into miniprogram/miniprogram_npm. Works offline; needs no appid key.
 */
const path = require('node:path');
const fs = require('node:fs');
const ci = require('miniprogram-ci');

async function main() {
  const root = path.resolve(__dirname, '..');
  const config = JSON.parse(fs.readFileSync(path.join(root, 'project.config.json'), 'utf8'));
  const relations = (config.setting && config.setting.packNpmRelationList) || [];
  if (!relations.length) throw new Error('project.config.json has no setting.packNpmRelationList');
  if (!fs.existsSync(path.join(root, 'sdk/miniprogram_dist/index.js'))) {
    throw new Error('sdk/miniprogram_dist is missing: run `npm run build:sdk` first.');
  }
  for (const rel of relations) {
    const packageJsonPath = path.resolve(root, rel.packageJsonPath);
    const miniprogramNpmDistDir = path.resolve(root, rel.miniprogramNpmDistDir);
    fs.rmSync(path.join(miniprogramNpmDistDir, 'miniprogram_npm'), { recursive: true, force: true });
    const result = await ci.packNpmManually({ packageJsonPath, miniprogramNpmDistDir, ignores: [] });
    const built = fs.readdirSync(path.join(miniprogramNpmDistDir, 'miniprogram_npm'));
    console.log(`构建 npm: ${path.relative(root, packageJsonPath)} → ${path.join(path.relative(root, miniprogramNpmDistDir), "miniprogram_npm")} [${built.join(', ')}]`, result && result.warnList && result.warnList.length ? `warnings: ${JSON.stringify(result.warnList)}` : '');
  }
}

main().catch((e) => {
  console.error('构建 npm failed:', e && e.message ? e.message : e);
  process.exit(1);
});
