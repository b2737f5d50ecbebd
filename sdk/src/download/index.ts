/**
 * Downloads of Aliyun VOD videos for offline play (AliMediaDownloader, seed 000). See docs/download.md.
 */
export { AliMediaDownloader, DOWNLOAD_CHECKPOINT_PREFIX, WECHAT_USER_STORAGE_QUOTA, setDownloadNetworkBudget } from './downloader';
export type { AMDDelegate, DownloaderConfig, DownloaderOptions, DownloaderState, DownloadCheckpoint } from './downloader';
export { DownloaderError, DownloaderErrorCode, errorName as downloaderErrorName } from './errors';
export type { DownloaderErrorName, ErrorModel } from './errors';
export { decodePlayAuth, unobfuscatePlayAuth, buildMediaInfo } from './playinfo';
export type { DownloadSource, GetPlayInfoResponse, MediaInfo, PlayInfoItem, TrackInfo, VidAppServer, VidAuth, VidSts } from './playinfo';
export { DownloadManager } from './manager';
export { SECURE_HEADER_SIZE } from './secure';
export type { SecureKey, SecureKeySource, SecureHeader } from './secure';
export type { DownloadItem, DownloadManagerOptions, ItemState } from './manager';
