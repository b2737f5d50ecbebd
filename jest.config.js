/**
 * Two projects: `node` (unit, harness, end-to-end over real loopback sockets) and `pages` (demo pages rendered by
 * miniprogram-simulate under jsdom, driven through the Node wx runtime against a live dev stack).
 * Type checking is `npm run typecheck` (tsc); ts-jest only transpiles here, for speed.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }] };
const moduleNameMapper = { '^mp-media-sdk$': '<rootDir>/sdk/src/index.ts' };

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/pages/'],
      // ali-oss ships .ts sources next to its .js; jest prefers .ts, so let ts-jest transpile those few files.
      transformIgnorePatterns: ['/node_modules/(?!ali-oss/)'],
    },
    {
      displayName: 'pages',
      testEnvironment: 'jsdom',
      testEnvironmentOptions: { url: 'http://localhost/' },
      transform,
      moduleNameMapper,
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/pages/**/*.test.ts'],
      // The component library (tdesign-miniprogram) is ES modules in miniprogram_npm: compiled to CommonJS as DevTools does.
      transform: { ...transform, 'miniprogram_npm/.+\\.js$': '<rootDir>/test/pages/mp-npm-transform.js' },
      setupFiles: ['<rootDir>/test/pages/setup.ts'],
    },
  ],
};
