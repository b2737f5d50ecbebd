// Taro build config (the shape `taro init` writes for React + webpack5), trimmed to weapp.
const { defineConfig } = require('@tarojs/cli');

module.exports = defineConfig({
  projectName: 'mp-media-sdk-taro-example',
  date: '2026-12-02',
  designWidth: 750,
  deviceRatio: { 640: 2.34 / 2, 750: 1, 375: 2, 828: 1.81 / 2 },
  sourceRoot: 'src',
  outputRoot: 'dist',
  plugins: [],
  // The AppServer the example talks to: `npm start` at the repository root serves http://127.0.0.1:3000.
  defineConstants: {
    APP_SERVER_URL: JSON.stringify(process.env.APP_SERVER_URL || 'http://127.0.0.1:3000'),
  },
  copy: { patterns: [], options: {} },
  framework: 'react',
  compiler: 'webpack5',
  cache: { enable: false },
  mini: {
    postcss: {
      pxtransform: { enable: true, config: {} },
      cssModules: { enable: false },
    },
  },
});
