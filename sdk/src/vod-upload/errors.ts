/**
 * Error codes of VODUpload. Codes reach the app through `onUploadFailed(uploadInfo, code, message)`, as
 * `uploader.lastError.code` when a method returns false, or as a thrown MediaKitError (constructor).
 * Besides these, OSS error codes (AccessDenied, NoSuchBucket, InvalidObjectName, …) and VOD error codes
 * (InvalidParameter, Forbidden.RAM, InvalidVideo.NotFound, …) are passed through unchanged.
 */
export const VODUploadErrorCode = {
  /** Constructor: `userId` is missing or empty. Thrown. */
  InvalidUserId: 'InvalidUserId',
  /**
   * Constructor: an option has the wrong type or range (thrown). startUpload without getUploadAuth or onUploadstarted,
   * addFile with an endpoint that is not an http(s) URL (returned false, see lastError).
   */
  InvalidOption: 'InvalidOption',
  /** addFile: the file object has no `url`; or the path is a directory. */
  InvalidFile: 'InvalidFile',
  /** addFile: the same `url` is already in the list. */
  FileDuplication: 'FileDuplication',
  /** addFile: `paramData` is not a JSON object string (`{"Vod":{…}}`). */
  InvalidParamData: 'InvalidParamData',
  /** cancelFile / resumeFile / deleteFile: no file at that index. */
  InvalidIndex: 'InvalidIndex',
  /** startUpload while the uploader is already running (or waiting for a token). */
  UploadAlreadyStarted: 'UploadAlreadyStarted',
  /** set* outside onUploadstarted, resume* while no token has expired, or on a file that is not current. */
  InvalidState: 'InvalidState',
  /** UploadAuth is not base64 JSON with AccessKeyId, AccessKeySecret and SecurityToken. */
  InvalidUploadAuth: 'InvalidUploadAuth',
  /** UploadAddress is not base64 JSON with Endpoint, Bucket and FileName. */
  InvalidUploadAddress: 'InvalidUploadAddress',
  /** setSTSToken / resumeUploadWithSTSToken without accessKeyId, accessKeySecret and securityToken. */
  InvalidSTSToken: 'InvalidSTSToken',
  /** The getUploadAuth option rejected or resolved with neither UploadAuth+UploadAddress nor STS credentials. */
  GetUploadAuthFailed: 'GetUploadAuthFailed',
  /** The local file does not exist (any more). */
  FileNotFound: 'FileNotFound',
  /** The local file could not be read. */
  ReadFileError: 'ReadFileError',
  /** The file is larger than OSS allows (10,000 parts of 5 GB). */
  FileTooLarge: 'FileTooLarge',
  /** WeChat refused the host (not in the 合法域名 list): reported at once, no retry. Whitelist the OSS / VOD host. */
  DomainNotAllowed: 'DomainNotAllowed',
  /** Connection failures after every retry. */
  NetworkError: 'NetworkError',
  /** Requests timed out after every retry. */
  RequestTimeout: 'RequestTimeout',
  /** WeChat interrupted the requests (app in background) after every retry. */
  Interrupted: 'Interrupted',
  /** A non-2xx answer without an OSS / VOD error body. */
  HttpError: 'HttpError',
  /** A 2xx answer missing what it must carry (ETag, UploadId, UploadAuth, …). */
  UnexpectedResponse: 'UnexpectedResponse',
  /** The CRC-64 OSS computed differs from ours (part, after the retries, or the whole object). */
  Crc64Mismatch: 'Crc64Mismatch',
  /** onUploadstarted / onUploadTokenExpired threw before giving credentials, and there is no getUploadAuth: the file fails instead of waiting forever. */
  CallbackError: 'CallbackError',
  /** The token expired and could not be renewed (no onUploadTokenExpired / getUploadAuth, or the new one failed at once). */
  TokenExpired: 'TokenExpired',
} as const;

export type VODUploadErrorCodeValue = (typeof VODUploadErrorCode)[keyof typeof VODUploadErrorCode];

/** OSS / VOD / STS codes that mean "the credentials expired" (renew and continue instead of failing). */
export const TOKEN_EXPIRED_CODES = ['SecurityTokenExpired', 'InvalidSecurityToken.Expired', 'InvalidAccessKeyId'];
