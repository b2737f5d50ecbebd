/**
 * Aliyun VOD upload for WeChat mini-programs: `import VODUpload from 'mp-media-sdk'` (as the official SDK's default
 * export) or `import { VODUpload } from 'mp-media-sdk'`. See docs/vod-upload.md.
 */
import { VODUpload } from './uploader';

export { VODUpload };
export default VODUpload;
export { VODUploadErrorCode } from './errors';
export type { VODUploadErrorCodeValue } from './errors';
export { VODUploadFileState, VODUploaderState } from './types';
export type {
  VODUploadFileStateValue,
  VODUploaderStateValue,
  VODUploadFile,
  VODUploadCheckpoint,
  VODUploadInfo,
  VODUploadAuthResult,
  VODUploadCallbacks,
  VODUploadOptions,
} from './types';
