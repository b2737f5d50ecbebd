import type { AbortSignalLike } from './abort';

/**
 * The only surface the SDK core depends on. `createWxAdapter` (WeChat), `createTaroAdapter` (Taro) and
 * `createInjectedAdapter` (anything else, tests) implement it. Nothing outside sdk/src/platform touches `wx`.
 */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

export interface RequestOptions {
  url: string;
  method?: HttpMethod;
  header?: Record<string, string>;
  /** string, a JSON-able object (sent as JSON, or form-encoded when content-type says so), or raw bytes. */
  data?: string | Record<string, unknown> | ArrayBuffer;
  /** 'json' (default): a response body that parses as JSON is returned parsed, as wx.request does. */
  dataType?: 'json' | 'text';
  responseType?: 'text' | 'arraybuffer';
  /** Milliseconds. */
  timeout?: number;
  signal?: AbortSignalLike;
  /** Called once with the response headers before the body arrives (wx RequestTask.onHeadersReceived). */
  onHeadersReceived?: (res: { statusCode?: number; header: Record<string, string> }) => void;
}

export interface HttpResponse<T = unknown> {
  statusCode: number;
  /** Header names as the server sent them; use `getHeader` for a case-insensitive read. */
  header: Record<string, string>;
  data: T;
}

export interface UploadProgress {
  progress: number;
  totalBytesSent: number;
  totalBytesExpectedToSend: number;
}

export interface UploadFileOptions {
  url: string;
  filePath: string;
  name: string;
  formData?: Record<string, string>;
  header?: Record<string, string>;
  timeout?: number;
  signal?: AbortSignalLike;
  onProgress?: (p: UploadProgress) => void;
}

export interface DownloadProgress {
  progress: number;
  totalBytesWritten: number;
  totalBytesExpectedToWrite: number;
}

export interface DownloadFileOptions {
  url: string;
  header?: Record<string, string>;
  /** Where to save (a user-data path); without it the host picks a temp path. */
  filePath?: string;
  timeout?: number;
  signal?: AbortSignalLike;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadResult {
  statusCode: number;
  tempFilePath?: string;
  filePath?: string;
  header?: Record<string, string>;
}

export interface FileStat {
  size: number;
  /** Seconds since the epoch, as wx Stats reports it. */
  lastModifiedTime: number;
  isFile: boolean;
}

export interface PlatformFs {
  /** The host's user-data folder (wx.env.USER_DATA_PATH). */
  readonly userDataPath: string;
  stat(path: string): Promise<FileStat>;
  /** Bytes [position, position + length); rejects when the range is outside the file. */
  readRange(path: string, position: number, length: number): Promise<ArrayBuffer>;
  readText(path: string): Promise<string>;
  writeFile(path: string, data: string | ArrayBuffer): Promise<void>;
  unlink(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  /** Move a temp file into persistent storage; returns the saved path. */
  saveFile(tempFilePath: string, filePath?: string): Promise<string>;
  /** Append bytes to an existing user file (FileSystemManager.appendFile). Optional: older adapters lack it. */
  appendFile?(path: string, data: ArrayBuffer): Promise<void>;
  /** Cut a user file to `length` bytes (FileSystemManager.truncate, base library 2.16.1). */
  truncate?(path: string, length: number): Promise<void>;
  rename?(oldPath: string, newPath: string): Promise<void>;
  /** Write bytes at `position` of an existing user file (open r+ / write / close, base library 2.16.1). */
  writeAt?(path: string, position: number, data: ArrayBuffer): Promise<void>;
  readdir?(path: string): Promise<string[]>;
  rmdir?(path: string, recursive?: boolean): Promise<void>;
  /** Bytes used under a folder (recursive stat; both result shapes WeChat has documented). */
  usage?(path: string): Promise<number>;
}

export interface PlatformStorage {
  get<T = unknown>(key: string): T | undefined;
  /** Throws MediaKitError STORAGE_QUOTA_EXCEEDED when the host refuses. */
  set(key: string, value: unknown): void;
  remove(key: string): void;
  keys(): string[];
}

export interface PlatformAdapter {
  readonly name: string;
  request<T = unknown>(options: RequestOptions): Promise<HttpResponse<T>>;
  uploadFile(options: UploadFileOptions): Promise<HttpResponse<string>>;
  downloadFile(options: DownloadFileOptions): Promise<DownloadResult>;
  readonly fs: PlatformFs;
  readonly storage: PlatformStorage;
  /** wx.login → a one-time code for the AppServer. */
  login(): Promise<{ code: string }>;
  /** Subscribe to the app going to background / foreground; each returns an unsubscribe function. */
  onAppHide(listener: () => void): () => void;
  onAppShow(listener: () => void): () => void;
  /** The base library version ('2.32.0'), when the host tells it. */
  sdkVersion(): string | undefined;
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Optional logger for warnings the developer should see (defaults to console.warn). */
  warn(message: string, ...args: unknown[]): void;
  /** wx.saveVideoToPhotosAlbum (MP4 only on WeChat). Optional: hosts without an album lack it. */
  saveVideoToPhotosAlbum?(filePath: string): Promise<void>;
}

/** Case-insensitive header read. */
export function getHeader(header: Record<string, string> | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const want = name.toLowerCase();
  for (const k of Object.keys(header)) if (k.toLowerCase() === want) return header[k];
  return undefined;
}
