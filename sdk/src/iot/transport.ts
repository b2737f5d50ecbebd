/**
 * How IVVAS and IVMessageMgr reach the platform: POST to the AppServer's /api/iot routes through an AppClient (the
 * AppServer signs the cloud calls; the mini-program never holds a secret and never talks to the device P2P library).
 */
import type { AppClient } from '../app-client';
import { MediaKitError } from '../errors';
import { getDefaultAdapter } from '../platform';
import type { PlatformAdapter } from '../platform/types';
import { IoTError } from './errors';
import type { IVResponse, IVResponseHandler } from './types';

export interface IoTClientOptions {
  /** The logged-in AppServer client (the demo's getAppClient()). */
  appClient: AppClient;
  /** Route prefix (default '/api/iot'). */
  basePath?: string;
  /** Where a responseHandler that throws is reported (its `warn`; default: the global adapter, else console.warn). */
  adapter?: Pick<PlatformAdapter, 'warn'>;
}

/** Codes that are results, not failures: 0 success, 10010 no records. */
export const IV_OK = 0;
export const IV_NO_RECORDS = 10010;

export class IoTTransport {
  readonly appClient: AppClient;
  readonly basePath: string;
  private readonly adapter: Pick<PlatformAdapter, 'warn'> | undefined;
  constructor(options: IoTClientOptions) {
    if (!options || !options.appClient || typeof options.appClient.call !== 'function') {
      throw new MediaKitError('INVALID_OPTION', 'IVVAS / IVMessageMgr need { appClient } (an AppClient logged in to your AppServer).');
    }
    this.appClient = options.appClient;
    this.basePath = (options.basePath || '/api/iot').replace(/\/+$/, '');
    this.adapter = options.adapter;
  }

  /** Reports a problem in the app's own code (a responseHandler that threw). */
  warn(message: string, e: unknown): void {
    let a = this.adapter;
    if (!a) {
      try {
        a = getDefaultAdapter();
      } catch {
        a = undefined;
      }
    }
    if (a) a.warn(message, e);
    else if (typeof console !== 'undefined') console.warn(message, e);
  }

  /** POST a route; resolves with the JSON for code 0 / 10010, rejects with IoTError for other codes. */
  async post<T>(route: string, body: Record<string, unknown>, accept: number[] = [IV_OK, IV_NO_RECORDS]): Promise<IVResponse<T>> {
    const json = await this.appClient.call<IVResponse<T>>('POST', `${this.basePath}${route}`, body);
    if (!json || typeof json.code !== 'number') {
      throw new MediaKitError('BAD_RESPONSE', `POST ${this.basePath}${route}: the AppServer's answer has no numeric "code".`, { body: json });
    }
    if (accept.indexOf(json.code) < 0) throw new IoTError(json.code, json.msg, { route, requestId: json.requestId });
    return json;
  }
}

/**
 * Runs `work` and delivers the outcome both ways: as the returned Promise and, when given, to the seed's
 * `responseHandler(json, error)`. With a handler the Promise never rejects (it resolves null on failure), so a caller
 * who only uses the callback gets no unhandled rejection — also when the handler itself throws: that is reported
 * through `reporter.warn` and the Promise still resolves (with the json, or null).
 */
export function deliver<T>(work: () => Promise<IVResponse<T>>, handler?: IVResponseHandler<T>, reporter?: Pick<IoTTransport, 'warn'>): Promise<IVResponse<T>> {
  let p: Promise<IVResponse<T>>;
  try {
    p = work();
  } catch (e) {
    p = Promise.reject(e);
  }
  if (!handler) return p;
  const call = (json: IVResponse<T> | null, err: MediaKitError | null) => {
    try {
      handler(json, err);
    } catch (x) {
      const m = `IoT: your responseHandler threw: ${x instanceof Error ? x.message : String(x)}`;
      if (reporter) reporter.warn(m, x);
      else if (typeof console !== 'undefined') console.warn(m, x);
    }
  };
  return p.then(
    (json) => {
      call(json, null);
      return json;
    },
    (e: unknown) => {
      const err = e instanceof MediaKitError ? e : new MediaKitError('UNKNOWN', e instanceof Error ? e.message : String(e), { cause: e });
      call(null, err);
      return null as unknown as IVResponse<T>;
    },
  );
}
