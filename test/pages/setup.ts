/**
 * jsdom setup for page tests: the globals a mini-program page expects besides `wx` and `Component`
 * (miniprogram-simulate defines Component; test/pages/helpers.ts installs the Node wx runtime).
 */
const g = globalThis as unknown as Record<string, unknown>;
// One App instance for every page, as on the phone (pages share state through its globalData).
const app = { globalData: {} };
g.getApp = () => app;
g.getCurrentPages = () => [];
g.App = () => undefined;
