/**
 * Local Aliyun ApsaraVideo VOD (API version 2017-03-21, RPC): CreateUploadVideo, RefreshUploadVideo,
 * CreateUploadImage, GetVideoInfo, GetImageInfo — with the RPC signature verified (AccessKey or STS credentials),
 * VOD's parameter validation and error JSON, and a media library on disk.
 *
 * UploadAuth = temporary credentials scoped to exactly the one object (Expiration "3000" s, ExpireUTCTime, Region);
 * UploadAddress = {Endpoint: the local OSS base URL (path-style, it is an IP), Bucket: VOD's outin-… bucket, FileName}.
 * When the local OSS reports the object complete ('oss:object-created'), the video goes Uploading → UploadSucc
 * (images → Normal) and the x-oss-notification user data is recorded.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createFastify } from '../../http';
import type { CloudContext, CloudProvider } from '../context';
import { encodeUploadAddress, encodeUploadAuth } from '../../../sdk/src/aliyun/credentials';
import { getAliyunShared, isoSeconds, LOCAL_REGION, registerCredentialAdmin, releaseAliyunShared, type AliyunShared } from '../aliyun-common';
import { mountRpcService, required, rpcFrameworkErrors, RpcError, type RpcParams } from '../aliyun-common/rpc';
import { ownGet } from '../../safe-input';
import { releasePlayCatalog, transcodeUpload, withPlayActions } from './play';

/** Video and audio file extensions VOD accepts for CreateUploadVideo. */
export const VIDEO_EXTENSIONS = [
  '3gp', 'asf', 'avi', 'dat', 'dv', 'flv', 'f4v', 'gif', 'm2t', 'm3u8', 'm4v', 'mj2', 'mjpeg', 'mkv', 'mov', 'mp4', 'mpe', 'mpg',
  'mpeg', 'mts', 'ogg', 'qt', 'rm', 'rmvb', 'swf', 'ts', 'vob', 'wmv', 'webm',
  'aac', 'ac3', 'acm', 'amr', 'ape', 'caf', 'flac', 'm4a', 'mp3', 'ra', 'wav', 'wma',
];
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif'];
/** Template groups the local VOD knows (anything else: InvalidTemplateGroupId.NotFound). */
export const KNOWN_TEMPLATE_GROUPS = ['VOD_NO_TRANSCODE', 'localdev-default-template-group'];

/**
 * Real VOD 2017-03-21 operations the local VOD does not implement. A caller whose RAM policy refuses one gets
 * Forbidden.RAM (what VOD answers before looking further); anyone else gets InvalidAction.NotFound.
 */
export const VOD_UNIMPLEMENTED_ACTIONS = [
  'DeleteVideo', 'UpdateVideoInfo', 'UpdateVideoInfos', 'GetVideoInfos', 'GetVideoList', 'SearchMedia', 'DeleteImage',
  'DeleteMezzanines', 'DeleteStream', 'GetMezzanineInfo', 'SubmitTranscodeJobs', 'SubmitSnapshotJob', 'ListSnapshots',
  'CreateUploadAttachedMedia', 'UploadMediaByURL', 'GetURLUploadInfos', 'GetUploadDetails',
  'GetCategories', 'AddCategory', 'UpdateCategory', 'DeleteCategory',
];

export type VideoStatus = 'Uploading' | 'UploadFail' | 'UploadSucc' | 'Transcoding' | 'Normal';

export interface VideoRecord {
  VideoId: string;
  Title: string;
  FileName: string;
  FileSize?: number;
  Description?: string;
  CoverURL?: string;
  CateId?: number;
  Tags?: string;
  TemplateGroupId?: string;
  WorkflowId?: string;
  StorageLocation: string;
  UserData?: string;
  AppId: string;
  Status: VideoStatus;
  CreationTime: string;
  ModificationTime: string;
  bucket: string;
  key: string;
  /** Filled in when the object completes. */
  Size?: number;
  crc64?: string;
  etag?: string;
  /** The x-oss-notification header the uploader sent (base64), and its decoded JSON when it parses. */
  notification?: string;
  notificationData?: unknown;
  uploadedAt?: string;
  createdBy: string;
}

export interface ImageRecord {
  ImageId: string;
  Title?: string;
  ImageType: 'default' | 'cover';
  ImageExt: string;
  Tags?: string;
  CateId?: number;
  Description?: string;
  UserData?: string;
  StorageLocation: string;
  AppId: string;
  Status: 'Uploading' | 'Normal';
  CreationTime: string;
  bucket: string;
  key: string;
  URL: string;
  Size?: number;
  notification?: string;
  createdBy: string;
}

interface Library {
  videos: Record<string, VideoRecord>;
  images: Record<string, ImageRecord>;
}

const utf8Len = (s: string) => Buffer.byteLength(s, 'utf8');
// eslint-disable-next-line no-control-regex
const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udfff]/;

function checkText(p: RpcParams, name: string, maxBytes: number): string | undefined {
  const v = p[name];
  if (v === undefined || v === '') return undefined;
  if (ILLEGAL.test(v)) throw new RpcError(400, 'IllegalCharacters', `The parameter ${name} contains illegal characters (control characters or emoji).`);
  if (utf8Len(v) > maxBytes) throw new RpcError(400, 'LengthExceededMax', `The length of the parameter ${name} exceeds the limit of ${maxBytes} bytes.`);
  return v;
}

function checkTags(p: RpcParams): string | undefined {
  const v = p.Tags;
  if (v === undefined || v === '') return undefined;
  const tags = v.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length > 16) throw new RpcError(400, 'TagsExceededMax', 'The number of tags exceeds the limit of 16.');
  for (const t of tags) {
    if (utf8Len(t) > 32) throw new RpcError(400, 'LengthExceededMax', `The tag ${JSON.stringify(t)} exceeds the limit of 32 bytes.`);
    if (ILLEGAL.test(t)) throw new RpcError(400, 'IllegalCharacters', 'The parameter Tags contains illegal characters.');
  }
  return tags.join(',');
}

function checkCateId(p: RpcParams): number | undefined {
  if (p.CateId === undefined || p.CateId === '') return undefined;
  if (!/^-?\d{1,18}$/.test(p.CateId)) throw new RpcError(400, 'InvalidParameter', 'The specified parameter CateId is not valid.');
  return Number(p.CateId);
}

function checkUserData(p: RpcParams): string | undefined {
  const v = p.UserData;
  if (v === undefined || v === '') return undefined;
  if (utf8Len(v) > 1024) throw new RpcError(400, 'LengthExceededMax', 'The length of the parameter UserData exceeds the limit of 1024 bytes.');
  let ok = false;
  try {
    const d = JSON.parse(v);
    ok = !!d && typeof d === 'object' && !Array.isArray(d);
  } catch {
    ok = false;
  }
  if (!ok) throw new RpcError(400, 'InvalidParameter', 'The specified parameter UserData is not a JSON object string.');
  return v;
}

function newId(): string {
  return randomBytes(16).toString('hex');
}

export function aliyunVodProvider(): CloudProvider {
  return {
    name: 'vod',
    async build(ctx: CloudContext) {
      const shared: AliyunShared = getAliyunShared(ctx);
      const app = createFastify({ name: 'vod', frameworkErrors: rpcFrameworkErrors('vod', `vod.${LOCAL_REGION}.aliyuncs.com`) });
      const file = path.join(ctx.dataDir, 'media-library.json');
      const lib: Library = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Library) : { videos: {}, images: {} };
      // Ids come from clients: only own entries count (`constructor` is not a video).
      const videoById = (id: string) => ownGet(lib.videos, id);
      const imageById = (id: string) => ownGet(lib.images, id);
      const save = () => {
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(lib, null, 1));
        renameSync(tmp, file);
      };
      const bucket = shared.vodBucket;
      const storageLocation = `${bucket}.oss-${LOCAL_REGION}.aliyuncs.com`;
      const appId = 'app-1000000';
      const ossBase = () => ctx.urls.oss;
      const objectUrl = (key: string) => `${ossBase()}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

      const onObject = (e: { bucket: string; key: string; size: number; crc64: string; etag: string; notification?: string }) => {
        if (e.bucket !== bucket) return;
        const now = isoSeconds(ctx.now());
        const v = Object.values(lib.videos).find((x) => x.key === e.key);
        if (v) {
          v.Status = 'UploadSucc';
          v.Size = e.size;
          v.crc64 = e.crc64;
          v.etag = e.etag;
          v.uploadedAt = now;
          v.ModificationTime = now;
          if (e.notification) {
            v.notification = e.notification;
            try {
              v.notificationData = JSON.parse(Buffer.from(e.notification, 'base64').toString('utf8'));
            } catch {
              v.notificationData = undefined;
            }
          }
          save();
          ctx.log(`video ${v.VideoId} UploadSucc (${e.size} bytes)`);
          void transcodeUpload(ctx, lib, v.VideoId, save); // play side: OD MP4 track, then Normal
          return;
        }
        const img = Object.values(lib.images).find((x) => x.key === e.key);
        if (img) {
          img.Status = 'Normal';
          img.Size = e.size;
          if (e.notification) img.notification = e.notification;
          save();
        }
      };
      ctx.bus.on('oss:object-created', onObject);
      app.addHook('onClose', async () => {
        ctx.bus.off('oss:object-created', onObject);
        releaseAliyunShared(ctx);
        releasePlayCatalog(ctx);
      });

      /** One object, one credential: what VOD's UploadAuth really grants. */
      const uploadAuthFor = (key: string, mediaId: string) => {
        const seconds = shared.uploadAuthSeconds();
        const cred = shared.issueTemporary({ now: ctx.now(), durationSeconds: seconds, scope: { kind: 'object', bucket, key }, source: 'vod', mediaId });
        return encodeUploadAuth({
          SecurityToken: cred.securityToken,
          AccessKeyId: cred.accessKeyId,
          ExpireUTCTime: isoSeconds(cred.expiresAt),
          AccessKeySecret: cred.accessKeySecret,
          Expiration: String(seconds),
          Region: LOCAL_REGION,
        });
      };
      const uploadAddressFor = (key: string) => encodeUploadAddress({ Endpoint: ossBase(), Bucket: bucket, FileName: key });

      const checkStorage = (p: RpcParams) => {
        if (p.StorageLocation && p.StorageLocation !== storageLocation) throw new RpcError(404, 'InvalidStorage.NotFound', `The storage location does not exist: ${p.StorageLocation} (the local VOD has ${storageLocation}).`);
      };
      const checkAppId = (p: RpcParams) => {
        if (p.AppId && p.AppId !== appId) throw new RpcError(404, 'InvalidAppId.NotFound', `The AppId does not exist: ${p.AppId}.`);
      };

      const log = mountRpcService(app, ctx, {
        product: 'vod',
        hostId: `vod.${LOCAL_REGION}.aliyuncs.com`,
        version: '2017-03-21',
        // play side (play.ts): PlayAuth credentials are object-scoped; withPlayActions refuses object-scoped callers
        // on every other action, as rejectObjectScoped did
        rejectObjectScoped: false,
        // STS credentials issued with a Policy (e.g. the AppServer's play-sts) may call only what it allows; VOD
        // authorises per operation, so every request's resource is the whole account's VOD
        ram: {
          service: 'vod',
          resource: () => `acs:vod:${LOCAL_REGION}:${shared.account.accountId}:*`,
          deny: () => new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM."),
          knownActions: VOD_UNIMPLEMENTED_ACTIONS,
        },
        actions: withPlayActions(ctx, lib, {
          CreateUploadVideo: (p, caller) => {
            const title = required(p, 'Title');
            const fileName = required(p, 'FileName');
            checkText(p, 'Title', 128);
            checkText(p, 'FileName', 1024);
            const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
            if (!ext || !VIDEO_EXTENSIONS.includes(ext)) throw new RpcError(400, 'InvalidFileName.Extension', `The file name extension is not supported: ${JSON.stringify(fileName)}.`);
            let fileSize: number | undefined;
            if (p.FileSize !== undefined && p.FileSize !== '') {
              if (!/^\d{1,15}$/.test(p.FileSize)) throw new RpcError(400, 'InvalidParameter', 'The specified parameter FileSize is not valid.');
              fileSize = Number(p.FileSize);
            }
            const description = checkText(p, 'Description', 1024);
            const coverUrl = checkText(p, 'CoverURL', 1024);
            const tags = checkTags(p);
            const cateId = checkCateId(p);
            const userData = checkUserData(p);
            if (p.TemplateGroupId && !KNOWN_TEMPLATE_GROUPS.includes(p.TemplateGroupId)) throw new RpcError(404, 'InvalidTemplateGroupId.NotFound', `The template group does not exist: ${p.TemplateGroupId}.`);
            checkStorage(p);
            checkAppId(p);
            const videoId = newId();
            const stem = `${randomBytes(4).toString('hex')}-${ctx.now().toString(16)}`;
            const key = `sv/${stem}/${stem}.${ext}`;
            const now = isoSeconds(ctx.now());
            lib.videos[videoId] = {
              VideoId: videoId,
              Title: title,
              FileName: fileName,
              FileSize: fileSize,
              Description: description,
              CoverURL: coverUrl,
              CateId: cateId,
              Tags: tags,
              TemplateGroupId: p.TemplateGroupId || undefined,
              WorkflowId: p.WorkflowId || undefined,
              StorageLocation: storageLocation,
              UserData: userData,
              AppId: appId,
              Status: 'Uploading',
              CreationTime: now,
              ModificationTime: now,
              bucket,
              key,
              createdBy: caller.accessKeyId,
            };
            save();
            return { VideoId: videoId, UploadAddress: uploadAddressFor(key), UploadAuth: uploadAuthFor(key, videoId) };
          },

          RefreshUploadVideo: (p) => {
            const videoId = required(p, 'VideoId');
            const v = videoById(videoId);
            if (!v) throw new RpcError(404, 'InvalidVideo.NotFound', 'The video does not exist.');
            return { VideoId: videoId, UploadAddress: uploadAddressFor(v.key), UploadAuth: uploadAuthFor(v.key, videoId) };
          },

          CreateUploadImage: (p, caller) => {
            const imageType = required(p, 'ImageType');
            if (imageType !== 'default' && imageType !== 'cover') throw new RpcError(400, 'InvalidParameter', `The specified parameter ImageType is not valid: ${JSON.stringify(imageType)} (default or cover).`);
            const ext = (p.ImageExt || 'png').toLowerCase();
            if (!IMAGE_EXTENSIONS.includes(ext)) throw new RpcError(400, 'InvalidParameter', `The specified parameter ImageExt is not valid: ${JSON.stringify(p.ImageExt)} (png, jpg, jpeg or gif).`);
            const title = checkText(p, 'Title', 128);
            const description = checkText(p, 'Description', 1024);
            const tags = checkTags(p);
            const cateId = checkCateId(p);
            const userData = checkUserData(p);
            checkStorage(p);
            checkAppId(p);
            const imageId = newId();
            const key = `image/${imageType}/${imageId.toUpperCase()}-6-2.${ext}`;
            const url = objectUrl(key);
            lib.images[imageId] = {
              ImageId: imageId,
              Title: title,
              ImageType: imageType,
              ImageExt: ext,
              Tags: tags,
              CateId: cateId,
              Description: description,
              UserData: userData,
              StorageLocation: storageLocation,
              AppId: appId,
              Status: 'Uploading',
              CreationTime: isoSeconds(ctx.now()),
              bucket,
              key,
              URL: url,
              createdBy: caller.accessKeyId,
            };
            save();
            return { ImageId: imageId, ImageURL: url, FileURL: url, UploadAddress: uploadAddressFor(key), UploadAuth: uploadAuthFor(key, imageId) };
          },

          GetVideoInfo: (p) => {
            const videoId = required(p, 'VideoId');
            const v = videoById(videoId);
            if (!v) throw new RpcError(404, 'InvalidVideo.NotFound', 'The video does not exist.');
            const video: Record<string, unknown> = {
              VideoId: v.VideoId,
              Title: v.Title,
              Description: v.Description,
              Status: v.Status,
              CreationTime: v.CreationTime,
              ModificationTime: v.ModificationTime,
              Size: v.Size,
              CoverURL: v.CoverURL,
              Tags: v.Tags,
              CateId: v.CateId,
              TemplateGroupId: v.TemplateGroupId,
              StorageLocation: v.StorageLocation,
              RegionId: LOCAL_REGION,
              AppId: v.AppId,
              DownloadSwitch: 'on',
              Snapshots: { Snapshot: [] },
            };
            for (const k of Object.keys(video)) if (video[k] === undefined) delete video[k];
            return { Video: video };
          },

          GetImageInfo: (p) => {
            const imageId = required(p, 'ImageId');
            const img = imageById(imageId);
            if (!img) throw new RpcError(404, 'InvalidImage.NotFound', 'The image does not exist.');
            const info: Record<string, unknown> = {
              ImageId: img.ImageId,
              Title: img.Title,
              CreationTime: img.CreationTime,
              ImageType: img.ImageType,
              Tags: img.Tags,
              CateId: img.CateId,
              Description: img.Description,
              URL: img.URL,
              StorageLocation: img.StorageLocation,
              Status: img.Status,
              AppId: img.AppId,
              RegionId: LOCAL_REGION,
              Mezzanine: { FileURL: img.URL, FileSize: img.Size, OriginalFileName: img.key.split('/').pop() },
            };
            for (const k of Object.keys(info)) if (info[k] === undefined) delete info[k];
            return { ImageInfo: info };
          },
        }),
      });

      registerCredentialAdmin(app, ctx);
      app.get('/_admin/info', async () => ({ url: ctx.urls.vod, region: LOCAL_REGION, bucket, storageLocation, appId, templateGroups: KNOWN_TEMPLATE_GROUPS }));
      app.get('/_admin/media', async () => ({ videos: Object.values(lib.videos), images: Object.values(lib.images) }));
      app.get('/_admin/videos/:id', async (req, reply) => {
        const v = videoById((req.params as { id: string }).id);
        return v || reply.status(404).send({ error: { code: 'InvalidVideo.NotFound', message: 'The video does not exist.' } });
      });
      app.get('/_admin/requests', async () => ({ requests: log }));
      return app;
    },
  };
}
