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
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/pages/', '<rootDir>/test/taro-host/'],
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
    {
      // The SDK through the REAL Taro 4 runtime (weapp platform layer) over the Node wx runtime. Taro lives in the
      // test/taro-host fixture (own package.json + lock), installed by globalSetup when missing.
      displayName: 'taro',
      // jest's node environment + process.on('unhandledRejection') that a test can observe (see the file).
      testEnvironment: '<rootDir>/test/taro-host/environment.js',
      transform: {
        ...transform,
        // @tarojs/plugin-platform-weapp ships its runtime as ESM only: transpile that one package.
        '[\\/]@tarojs[\\/]plugin-platform-weapp[\\/].+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2019' }, diagnostics: false }],
      },
      moduleNameMapper: {
        ...moduleNameMapper,
        // @tarojs/runtime's "main" is ESM; its CJS build shares the same @tarojs/shared hooks.
        '^@tarojs/runtime$': '<rootDir>/test/taro-host/node_modules/@tarojs/runtime/dist/index.cjs.js',
      },
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/taro-host/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      transformIgnorePatterns: ['/node_modules/(?!(ali-oss|@tarojs/plugin-platform-weapp)/)'],
      globalSetup: '<rootDir>/test/taro-host/ensure-installed.js',
    },
  ],
};
