/**
 * mp-media-sdk: the public entry. Each system lives in its own folder; this barrel re-exports them.
 * `import VODUpload from 'mp-media-sdk'` gives the Aliyun-compatible uploader (as the official SDK's default export).
 */
export * from './errors';
export * from './platform';
export * from './app-client';
export * from './vod-upload';
export { default } from './vod-upload';
export * from './polyv';
export * from './iot';
export * from './download';
export * from './tencent-vod';
