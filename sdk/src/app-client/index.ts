/**
 * AppServer client: logs in with wx.login → POST /api/login, keeps the token in storage, sends it as a Bearer token,
 * and logs in again once on a 401. Every SDK module that talks to the AppServer uses one of these.
 */
import { MediaKitError } from '../errors';
import { getDefaultAdapter } from '../platform';
import type { HttpMethod, PlatformAdapter } from '../platform/types';

export interface AppClientOptions {
  /** The AppServer's base URL, e.g. 'http://127.0.0.1:3000' or 'https://api.example.com'. */
  baseUrl: string;
  adapter?: PlatformAdapter;
  /** Storage key for the session (default 'mp-media-kit:session'). */
  storageKey?: string;
  /** Request timeout in ms (default 15000). */
  timeout?: number;
}

export interface AppSession {
  token: string;
  /** ms since the epoch. */
  expiresAt: number;
  openid?: string;
}

/** Error codes thrown by AppClient (plus the AppServer's own `error.code`, passed through). */
export const AppClientErrorCode = {
  LoginFailed: 'LOGIN_FAILED',
  BadResponse: 'BAD_RESPONSE',
  Unauthorized: 'UNAUTHORIZED',
} as const;

export class AppClient {
  readonly baseUrl: string;
  private readonly adapter: PlatformAdapter;
  private readonly storageKey: string;
  private readonly timeout: number;
  private loginInFlight: Promise<AppSession> | undefined;

  constructor(options: AppClientOptions) {
    if (!options || !options.baseUrl || !/^https?:\/\//.test(options.baseUrl)) {
      throw new MediaKitError('INVALID_OPTION', 'AppClient needs baseUrl, e.g. "https://api.example.com".', { baseUrl: options && options.baseUrl });
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.adapter = options.adapter || getDefaultAdapter();
    this.storageKey = options.storageKey || 'mp-media-kit:session';
    this.timeout = options.timeout || 15000;
  }

  /** The stored session when it is still valid for at least a minute. */
  get session(): AppSession | undefined {
    const s = this.adapter.storage.get<AppSession>(this.storageKey);
    if (s && typeof s.token === 'string' && typeof s.expiresAt === 'number' && s.expiresAt - 60000 > this.adapter.now()) return s;
    return undefined;
  }

  logout(): void {
    this.adapter.storage.remove(this.storageKey);
  }

  /** wx.login → POST /api/login; concurrent callers share one login. */
  login(): Promise<AppSession> {
    if (!this.loginInFlight) {
      this.loginInFlight = this.doLogin().then(
        (s) => {
          this.loginInFlight = undefined;
          return s;
        },
        (e) => {
          this.loginInFlight = undefined;
          throw e;
        },
      );
    }
    return this.loginInFlight;
  }

  private async doLogin(): Promise<AppSession> {
    let code: string;
    try {
      code = (await this.adapter.login()).code;
    } catch (e) {
      throw new MediaKitError(AppClientErrorCode.LoginFailed, `wx.login failed: ${(e as Error).message}`, { cause: e });
    }
    const res = await this.adapter.request<{ token?: string; expiresIn?: number; openid?: string; error?: { code: string; message: string } }>({
      url: `${this.baseUrl}/api/login`,
      method: 'POST',
      header: { 'content-type': 'application/json' },
      data: { code },
      timeout: this.timeout,
    });
    const body = res.data && typeof res.data === 'object' ? res.data : {};
    if (res.statusCode !== 200 || !body.token || !body.expiresIn) {
      const err = body.error;
      throw new MediaKitError(AppClientErrorCode.LoginFailed, `Login failed (HTTP ${res.statusCode}): ${err ? `${err.code}: ${err.message}` : 'unexpected response'}`, {
        statusCode: res.statusCode,
        serverCode: err && err.code,
      });
    }
    const session: AppSession = { token: body.token, expiresAt: this.adapter.now() + body.expiresIn * 1000, openid: body.openid };
    this.adapter.storage.set(this.storageKey, session);
    return session;
  }

  /**
   * Calls an AppServer route with the session token; logs in first when needed and once more on a 401.
   * Resolves with the JSON body of a 2xx; rejects with MediaKitError(code = the server's error.code) otherwise.
   */
  async call<T>(method: HttpMethod, path: string, body?: Record<string, unknown>): Promise<T> {
    let session = this.session || (await this.login());
    for (let attempt = 0; ; attempt++) {
      const res = await this.adapter.request<unknown>({
        url: `${this.baseUrl}${path.startsWith('/') ? path : `/${path}`}`,
        method,
        header: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
        data: body === undefined ? undefined : (body as Record<string, unknown>),
        timeout: this.timeout,
      });
      if (res.statusCode === 401 && attempt === 0) {
        this.logout();
        session = await this.login();
        continue;
      }
      const data = res.data as { error?: { code?: string; message?: string; details?: unknown } } | undefined;
      if (res.statusCode >= 200 && res.statusCode < 300) {
        if (data === undefined || typeof data !== 'object') {
          throw new MediaKitError(AppClientErrorCode.BadResponse, `${method} ${path}: the AppServer answered ${res.statusCode} without JSON.`, { statusCode: res.statusCode });
        }
        return data as T;
      }
      const err = data && typeof data === 'object' ? data.error : undefined;
      throw new MediaKitError(
        (err && err.code) || (res.statusCode === 401 ? AppClientErrorCode.Unauthorized : `HTTP_${res.statusCode}`),
        (err && err.message) || `${method} ${path} failed with HTTP ${res.statusCode}.`,
        { statusCode: res.statusCode, details: err && err.details },
      );
    }
  }
}
