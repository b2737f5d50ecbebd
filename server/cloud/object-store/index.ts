/**
 * The local cloud's S3-like object store (objects + multipart uploads on disk, streamed, MD5 / CRC-64 while
 * receiving). COS (server/cloud/tencent-cos) uses it through this module. The implementation still lives in
 * server/cloud/aliyun-oss/store.ts (another branch is hardening it); moving the file here and leaving a re-export in
 * aliyun-oss is the remaining step.
 */
export { OssStore as ObjectStore } from '../aliyun-oss/store';
export type { ObjectMeta, PartMeta, UploadMeta, CompletedUpload, ReceivedBody } from '../aliyun-oss/store';
