/**
 * The error codes of Aliyun's native media downloader (AliMediaDownloader / AVPErrorCode), with their numbers and
 * Android names (iOS spells the downloader block DOWNLOADER_ERROR_* with the same values). See docs/download.md.
 */
import { MediaKitError } from '../errors';

export const DownloaderErrorCode = {
  // downloader block 0x3001xxxx
  DOWNLOAD_ERROR_NOT_SELECT_ITEM: 0x30010000,
  DOWNLOAD_ERROR_NO_DOWNLOAD_ITEM: 0x30010001,
  DOWNLOAD_ERROR_STS_SOURCE_NULL: 0x30010002,
  DOWNLOAD_ERROR_AUTH_SOURCE_NULL: 0x30010003,
  DOWNLOAD_ERROR_AUTH_SOURCE_WRONG: 0x30010004,
  DOWNLOAD_ERROR_INVALID_ITEM: 0x30010005,
  DOWNLOAD_ERROR_URL_CANNOT_REACH: 0x30010006,
  DOWNLOAD_ERROR_NOT_SUPPORT_FORMAT: 0x30010007,
  DOWNLOAD_ERROR_ENCRYPT_FILE_NOT_MATCH: 0x30010008,
  DOWNLOAD_ERROR_DOWNLOAD_SWITCH_OFF: 0x30010009,
  DOWNLOAD_ERROR_NET_ERROR: 0x3001000a,
  DOWNLOAD_ERROR_NOT_SET_SAVE_DIR: 0x3001000b,
  DOWNLOAD_ERROR_CANNOT_CREATE_SAVE_DIR: 0x3001000c,
  DOWNLOAD_ERROR_NO_SPACE: 0x3001000d,
  DOWNLOAD_ERROR_WRITE_ERROR: 0x3001000e,
  DOWNLOAD_ERROR_ENCRYPT_ERROR: 0x3001000f,
  DOWNLOAD_ERROR_FILE_NOT_EXIST: 0x30010010,
  DOWNLOAD_ERROR_CLEAN_INVALID_PARAM: 0x30010011,
  DOWNLOAD_ERROR_CLEAN_WRONG_STATUS: 0x30010012,
  DOWNLOAD_ERROR_GET_AES_KEY_FAIL: 0x30010013,
  DOWNLOAD_ERROR_ENCRYPTION_NOT_SUPPORT: 0x30010014,
  // request block 0x200100xx
  ERROR_SERVER_NO_RESPONSE: 0x20010001,
  ERROR_SERVER_WRONG_JSON: 0x20010002,
  ERROR_NO_MATCH_QUALITY: 0x20010003,
  ERROR_PLAYAUTH_WRONG: 0x20010004,
  ERROR_REQUEST_FAIL: 0x20010005,
  ERROR_NO_PLAY_INFO: 0x20010006,
  // POP gateway 0x200101xx
  ERROR_SERVER_POP_UNKNOWN: 0x20010100,
  ERROR_SERVER_POP_MISSING_PARAMETER: 0x20010101,
  ERROR_SERVER_POP_INVALID_PARAMETER: 0x20010102,
  ERROR_SERVER_POP_OPERATION_DENIED: 0x20010103,
  ERROR_SERVER_POP_OPERATION_SUSPENED: 0x20010104,
  ERROR_SERVER_POP_FORBIDDEN: 0x20010105,
  ERROR_SERVER_POP_INTERNAL_ERROR: 0x20010106,
  ERROR_SERVER_POP_SERVICE_UNAVALIABLE: 0x20010107,
  ERROR_SERVER_POP_SIGNATUREANONCE_USED: 0x20010108,
  ERROR_SERVER_POP_SECURITYTOKEN_MAILFORMED: 0x20010109,
  ERROR_SERVER_POP_SECURITYTOKEN_MISMATCH_ACCESSKEY: 0x2001010a,
  ERROR_SERVER_POP_SIGNATURE_NOT_MATCH: 0x2001010b,
  ERROR_SERVER_POP_ACCESSKEYID_NOT_FOUND: 0x2001010c,
  ERROR_SERVER_POP_TOKEN_EXPIRED: 0x2001010d,
  // VOD 0x200102xx
  ERROR_SERVER_VOD_UNKNOWN: 0x20010200,
  ERROR_SERVER_VOD_FORBIDDEN_ILLEGALSTATUS: 0x20010201,
  ERROR_SERVER_VOD_INVALIDVIDEO_NOTFOUND: 0x20010202,
  ERROR_SERVER_VOD_INVALIDVIDEO_NOSTREAM: 0x20010203,
  ERROR_SERVER_VOD_FORBIDDEN_ALIYUNVODENCRYPTION: 0x20010204,
  ERROR_SERVER_VOD_INVALIDAUTH_MEDIAID: 0x20010205,
  ERROR_SERVER_VOD_INVALIDAUTHINFO_EXPIRETIME: 0x20010206,
  // network 0x2005xxxx
  ERROR_NETWORK_UNKNOWN: 0x20050000,
  ERROR_NETWORK_UNSUPPORTED: 0x20050001,
  ERROR_NETWORK_RESOLVE: 0x20050002,
  ERROR_NETWORK_CONNECT_TIMEOUT: 0x20050003,
  ERROR_NETWORK_COULD_NOT_CONNECT: 0x20050004,
  ERROR_NETWORK_HTTP_403: 0x20050005,
  ERROR_NETWORK_HTTP_404: 0x20050006,
  ERROR_NETWORK_HTTP_4XX: 0x20050007,
  ERROR_NETWORK_HTTP_5XX: 0x20050008,
  ERROR_NETWORK_HTTP_RANGE: 0x20050009,
  ERROR_NETWORK_HTTP_400: 0x2005000a,
  ERROR_UNKNOWN: 0x2fffffff,
} as const;

export type DownloaderErrorName = keyof typeof DownloaderErrorCode;

const NAMES: Record<number, DownloaderErrorName> = {};
for (const k of Object.keys(DownloaderErrorCode) as DownloaderErrorName[]) NAMES[DownloaderErrorCode[k]] = k;

/** What onError / setOnErrorListener receive (AVPErrorModel / ErrorInfo). */
export interface ErrorModel {
  /** The native numeric code, e.g. 805371917 (0x3001000D, DOWNLOAD_ERROR_NO_SPACE). */
  code: number;
  name: DownloaderErrorName;
  message: string;
  extra?: string;
  requestId?: string;
  videoId?: string;
}

/** The promise rejection: a MediaKitError whose `code` is the name, with the numeric `errorCode` and the model. */
export class DownloaderError extends MediaKitError {
  readonly errorCode: number;
  readonly model: ErrorModel;
  constructor(name: DownloaderErrorName, message: string, more: { extra?: string; requestId?: string; videoId?: string; cause?: unknown } = {}) {
    super(name, message, { errorCode: DownloaderErrorCode[name], extra: more.extra, requestId: more.requestId, videoId: more.videoId, cause: more.cause });
    this.name = 'DownloaderError';
    this.errorCode = DownloaderErrorCode[name];
    this.model = { code: this.errorCode, name, message, extra: more.extra, requestId: more.requestId, videoId: more.videoId };
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function errorName(code: number): DownloaderErrorName {
  return NAMES[code] || 'ERROR_UNKNOWN';
}

/** A VOD / POP server error Code (as in the JSON body, or an AppServer error.code passing it through) → the native name. */
export function serverCodeName(code: string | undefined, status?: number): DownloaderErrorName {
  const c = code || '';
  const exact: Record<string, DownloaderErrorName> = {
    'Forbidden.IllegalStatus': 'ERROR_SERVER_VOD_FORBIDDEN_ILLEGALSTATUS',
    'InvalidVideo.NotFound': 'ERROR_SERVER_VOD_INVALIDVIDEO_NOTFOUND',
    VideoNotFound: 'ERROR_SERVER_VOD_INVALIDVIDEO_NOTFOUND',
    'InvalidVideo.NoneStream': 'ERROR_SERVER_VOD_INVALIDVIDEO_NOSTREAM',
    'Forbidden.AliyunVoDEncryption': 'ERROR_SERVER_VOD_FORBIDDEN_ALIYUNVODENCRYPTION',
    'InvalidAuth.MediaId': 'ERROR_SERVER_VOD_INVALIDAUTH_MEDIAID',
    'InvalidAuthInfo.ExpireTime': 'ERROR_SERVER_VOD_INVALIDAUTHINFO_EXPIRETIME',
    'OperationDenied.Suspended': 'ERROR_SERVER_POP_OPERATION_SUSPENED',
    OperationDenied: 'ERROR_SERVER_POP_OPERATION_DENIED',
    InternalError: 'ERROR_SERVER_POP_INTERNAL_ERROR',
    ServiceUnavailable: 'ERROR_SERVER_POP_SERVICE_UNAVALIABLE',
    ServiceUnAvailable: 'ERROR_SERVER_POP_SERVICE_UNAVALIABLE',
    SignatureNonceUsed: 'ERROR_SERVER_POP_SIGNATUREANONCE_USED',
    'InvalidSecurityToken.Malformed': 'ERROR_SERVER_POP_SECURITYTOKEN_MAILFORMED',
    'InvalidSecurityToken.MismatchWithAccessKey': 'ERROR_SERVER_POP_SECURITYTOKEN_MISMATCH_ACCESSKEY',
    SignatureDoesNotMatch: 'ERROR_SERVER_POP_SIGNATURE_NOT_MATCH',
    'InvalidAccessKeyId.NotFound': 'ERROR_SERVER_POP_ACCESSKEYID_NOT_FOUND',
    'InvalidSecurityToken.Expired': 'ERROR_SERVER_POP_TOKEN_EXPIRED',
    MissingSecurityToken: 'ERROR_SERVER_POP_MISSING_PARAMETER',
  };
  // own entries only: a provider Code such as `constructor` must not return Object.prototype's member
  if (Object.prototype.hasOwnProperty.call(exact, c)) return exact[c];
  if (/^Missing/.test(c)) return 'ERROR_SERVER_POP_MISSING_PARAMETER';
  if (/^InvalidParameter/.test(c)) return 'ERROR_SERVER_POP_INVALID_PARAMETER';
  if (/^Forbidden|^VideoForbidden/.test(c) || status === 403) return 'ERROR_SERVER_POP_FORBIDDEN';
  if (/^InvalidAuthInfo|^InvalidAuth/.test(c)) return 'ERROR_PLAYAUTH_WRONG';
  if (status === 404) return 'ERROR_SERVER_VOD_INVALIDVIDEO_NOTFOUND';
  if (status !== undefined && status >= 500) return 'ERROR_SERVER_POP_INTERNAL_ERROR';
  return 'ERROR_SERVER_POP_UNKNOWN';
}

/** HTTP status of a media request → the native network name. */
export function httpStatusName(status: number): DownloaderErrorName {
  if (status === 403) return 'ERROR_NETWORK_HTTP_403';
  if (status === 404) return 'ERROR_NETWORK_HTTP_404';
  if (status === 400) return 'ERROR_NETWORK_HTTP_400';
  if (status >= 500) return 'ERROR_NETWORK_HTTP_5XX';
  if (status >= 400) return 'ERROR_NETWORK_HTTP_4XX';
  return 'ERROR_NETWORK_UNKNOWN';
}
