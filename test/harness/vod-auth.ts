/**
 * VODUpload's `getUploadAuth` wired to the AppServer, as the demo does it: a refresh for a file that has a videoId,
 * else a new video named by `title` (a string, or made from the file) with the file's name, or `fileName` when given.
 */
import type { AppClient, VODUploadAuthResult, VODUploadInfo } from 'mp-media-sdk';

export function appServerUploadAuth(app: AppClient, title: string | ((info: VODUploadInfo) => string), fileName?: string) {
  return (info: VODUploadInfo): Promise<VODUploadAuthResult> =>
    info.videoId
      ? app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { videoId: info.videoId })
      : app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { title: typeof title === 'string' ? title : title(info), fileName: fileName || info.file.name, fileSize: info.fileSize });
}
