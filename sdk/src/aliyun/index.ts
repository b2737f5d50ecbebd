/**
 * Aliyun primitives shared by the SDK (to sign) and the local cloud (to verify): CRC-64, OSS V1/V4/PostObject
 * signatures, RPC (VOD/STS) signatures, UploadAuth/UploadAddress codecs. Pure ES2017, no Node built-ins.
 */
export * from './crc64';
export * from './oss-signature';
export * from './rpc-signature';
export * from './credentials';
export { utf8Encode, utf8Decode, base64Encode, base64Decode, utf8ToBase64, base64ToUtf8, fromWordArray } from '../util/bytes';
export { toWordArray } from './word-array';
