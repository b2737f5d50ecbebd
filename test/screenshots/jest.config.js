/**
 * Jest config for `npm run screenshots` only (scripts/screenshots.ts runs it): the `pages` project of the root
 * config (jsdom, miniprogram-simulate, the same transform and setup) pointed at test/screenshots/capture.ts.
 * The root config never matches capture.ts (it is not a *.test.ts), so `npm test` does not run it.
 */
const path = require('node:path');
const root = require('../../jest.config.js');

const pages = root.projects.find((p) => p.displayName === 'pages');

module.exports = {
  ...pages,
  rootDir: path.resolve(__dirname, '../..'),
  displayName: 'screenshots',
  testMatch: ['<rootDir>/test/screenshots/capture.ts'],
  testTimeout: 120000,
};
