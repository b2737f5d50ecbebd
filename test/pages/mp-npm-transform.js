/**
 * Jest transform for the component library built into miniprogram/miniprogram_npm (tdesign-miniprogram ships ES
 * modules; DevTools compiles them to CommonJS when it builds the mini-program). esbuild does the same here so
 * miniprogram-simulate can run the components' JS in page tests.
 */
const esbuild = require('esbuild');

module.exports = {
  process(source, filename) {
    if (!/\b(import|export)\b/.test(source)) return { code: source };
    const r = esbuild.transformSync(source, { loader: 'js', format: 'cjs', target: 'es2019', sourcefile: filename, sourcemap: 'inline' });
    return { code: r.code };
  },
};
