/**
 * Loads the REAL Taro 4 runtime (the test/taro-host fixture) the way a Taro weapp build runs it: the weapp platform
 * layer registers `initNativeApi`, and `require('@tarojs/taro')` then runs processApis(Taro, wx), turning every key
 * of `wx` into `Taro.*` (request through Taro's interceptor chain, uploadFile / downloadFile / login promisified).
 * Here `wx` is the Node wx runtime's (test/harness), so Taro's calls do real I/O over loopback.
 *
 * Call once per test file (jest gives each file its own module registry): Taro captures `wx` at load time.
 * Types stay `any` on purpose: @tarojs/taro lives in the fixture, not in the root install that typechecks.
 */
const COMPILE_TIME = {
  // the defaults Taro's webpack DefinePlugin injects (@tarojs/webpack5-runner 4.2.1)
  ENABLE_INNER_HTML: true,
  ENABLE_ADJACENT_HTML: false,
  ENABLE_SIZE_APIS: false,
  ENABLE_TEMPLATE_CONTENT: false,
  ENABLE_CLONE_NODE: false,
  ENABLE_CONTAINS: false,
  ENABLE_MUTATION_OBSERVER: false,
};

export interface LoadedTaro {
  Taro: any;
  /** Removes the globals this installed. */
  restore(): void;
}

export function loadRealTaro(wx: Record<string, unknown>): LoadedTaro {
  const g = globalThis as Record<string, unknown>;
  const installed: Record<string, unknown> = { ...COMPILE_TIME, wx, getCurrentPages: () => [], getApp: () => ({}) };
  const before = new Map(Object.keys(installed).map((k) => [k, { had: k in g, value: g[k] }]));
  const env = { TARO_ENV: process.env.TARO_ENV, TARO_PLATFORM: process.env.TARO_PLATFORM };
  Object.assign(g, installed);
  process.env.TARO_ENV = 'weapp';
  process.env.TARO_PLATFORM = 'mini';
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require('@tarojs/plugin-platform-weapp/dist/runtime.js');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Taro = require('@tarojs/taro');
  return {
    Taro,
    restore() {
      for (const [k, v] of before) {
        if (v.had) g[k] = v.value;
        else delete g[k];
      }
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
