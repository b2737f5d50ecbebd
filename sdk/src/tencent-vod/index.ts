/**
 * Tencent Cloud VOD client upload for mini-programs: `import { TencentVodUploader } from 'mp-media-sdk'`, a drop-in
 * for vod-wx-sdk-v2's `VodUploader.start({...})`. See docs/tencent-vod.md.
 */
export { TencentVodUploader, normalizeFile as normalizeTencentVodFile, TENCENT_VOD_CHECKPOINT_KEY, TENCENT_VOD_RESUME_TTL_MS } from './uploader';
export type {
  TencentVodUploadOptions,
  TencentVodResult,
  TencentVodProgress,
  TencentVodFileLike,
  TencentVodGetSignature,
  TencentVodUploadState,
  TencentVodCheckpoint,
} from './uploader';
export { TencentVodError, TencentVodErrorCode } from './errors';
export type { TencentVodStage } from './errors';
export { cosSign, cosEncode, parseCosAuthorization } from './cos-signature';
