/**
 * jsdom setup for page tests: the globals a mini-program page expects besides `wx` and `Component`
 * (miniprogram-simulate defines Component; test/pages/helpers.ts installs the Node wx runtime).
 */
const g = globalThis as unknown as Record<string, unknown>;
g.getApp = () => ({ globalData: {} });
g.getCurrentPages = () => [];
g.App = () => undefined;
