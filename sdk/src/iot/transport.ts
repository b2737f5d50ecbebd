/**
 * How IVVAS and IVMessageMgr reach the platform: POST to the AppServer's /api/iot routes through an AppClient (the
 * AppServer signs the cloud calls; the mini-program never holds a secret and never talks to the device P2P library).
 */
import type { AppClient } from '../app-client';
import { MediaKitError } from '../errors';
import { IoTError } from './errors';
import type { IVResponse, IVResponseHandler } from './types';

export interface IoTClientOptions {
  /** The logged-in AppServer client (the demo's getAppClient()). */
  appClient: AppClient;
  /** Route prefix (default '/api/iot'). */
  basePath?: string;
}

/** Codes that are results, not failures: 0 success, 10010 no records. */
export const IV_OK = 0;
export const IV_NO_RECORDS = 10010;

export class IoTTransport {
  readonly appClient: AppClient;
  readonly basePath: string;
  constructor(options: IoTClientOptions) {
    if (!options || !options.appClient || typeof options.appClient.call !== 'function') {
      throw new MediaKitError('INVALID_OPTION', 'IVVAS / IVMessageMgr need { appClient } (an AppClient logged in to your AppServer).');
    }
    this.appClient = options.appClient;
    this.basePath = (options.basePath || '/api/iot').replace(/\/+$/, '');
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
 * who only uses the callback gets no unhandled rejection.
 */
export function deliver<T>(work: () => Promise<IVResponse<T>>, handler?: IVResponseHandler<T>): Promise<IVResponse<T>> {
  let p: Promise<IVResponse<T>>;
  try {
    p = work();
  } catch (e) {
    p = Promise.reject(e);
  }
  if (!handler) return p;
  return p.then(
    (json) => {
      handler(json, null);
      return json;
    },
    (e: unknown) => {
      const err = e instanceof MediaKitError ? e : new MediaKitError('UNKNOWN', e instanceof Error ? e.message : String(e), { cause: e });
      handler(null, err);
      return null as unknown as IVResponse<T>;
    },
  );
}
