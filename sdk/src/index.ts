/**
 * mp-media-sdk: the public entry. Each system lives in its own folder; this barrel re-exports them.
 */
export * from './errors';
export * from './platform';
