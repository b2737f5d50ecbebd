/**
 * IVMessageMgr-style thing-model calls (物模型) through the AppServer: read / write properties, run actions, add and
 * delete user properties, and data pass-through. Paths are model paths:
 *   ""                          the whole model (read only)
 *   ProReadonly.battery         a read-only status
 *   ProWritable._logLevel       a writable property (json '{"setVal":0}'), or ProWritable._logLevel.setVal (json '0')
 *   Action.cameraOn             an action (json '{"ctlVal":1}')
 *   ProUser.userPro1            a user property (addProperty / deleteProperty; names starting "_" → error 8605)
 *   ProUser.userPro1.val, ProUser._buildIn.val.nickName   writing user properties
 * `json` arguments are JSON text, as in the seed ('"value"' for a string).
 */
import { MediaKitError } from '../errors';
import { IoTError, IOT_INVALID_PARAMETER } from './errors';
import { iotCheckDeviceId, iotToBase64, iotUtf8Length } from './helpers';
import { deliver, IoTClientOptions, IoTTransport, IV_OK } from './transport';
import type { IoTPassthroughReply, IVResponse, IVResponseHandler } from './types';

/** Pass-through limit (the SDK's MAX_DATA_SIZE). */
export const IV_MAX_DATA_SIZE = 30000;

const SEGMENT = '[A-Za-z0-9_]{1,64}';
const PATH_RE = new RegExp(`^(ProReadonly|ProWritable|ProUser|Action)(\\.${SEGMENT}){0,4}$`);

function checkPath(path: unknown, allowEmpty: boolean): string {
  if (allowEmpty && path === '') return '';
  if (typeof path !== 'string' || !PATH_RE.test(path)) {
    throw new MediaKitError(
      IOT_INVALID_PARAMETER,
      `path must be a model path such as "ProWritable._logLevel" or "Action.cameraOn"${allowEmpty ? ' (or "" for the whole model)' : ''} (got ${JSON.stringify(path)}).`,
      { path },
    );
  }
  return path;
}

function checkJson(json: unknown): string {
  if (typeof json !== 'string') throw new MediaKitError(IOT_INVALID_PARAMETER, 'json must be JSON text, e.g. \'{"setVal":0}\' or \'"value"\'.', { json });
  try {
    JSON.parse(json);
  } catch (e) {
    throw new MediaKitError(IOT_INVALID_PARAMETER, `json is not valid JSON: ${(e as Error).message}`, { json });
  }
  if (iotUtf8Length(json) > IV_MAX_DATA_SIZE) throw new IoTError(21008, `json is ${iotUtf8Length(json)} bytes; the limit is ${IV_MAX_DATA_SIZE}.`);
  return json;
}

/** ProUser.<name> with a name that may not start with "_" (8605, as the server answers). */
function checkUserPath(path: unknown): string {
  const p = checkPath(path, false);
  const m = /^ProUser\.([A-Za-z0-9_]+)$/.exec(p);
  if (!m) throw new MediaKitError(IOT_INVALID_PARAMETER, `A user property path is "ProUser.<name>" (got ${JSON.stringify(p)}).`, { path: p });
  if (m[1].charAt(0) === '_') throw new IoTError(8605, `"${m[1]}" starts with "_", which is reserved for the built-in model.`, { path: p });
  return p;
}

function byteLength(data: string | ArrayBuffer | Uint8Array): number {
  if (typeof data === 'string') return iotUtf8Length(data);
  return data.byteLength;
}

export class IVMessageMgr {
  static readonly MAX_DATA_SIZE = IV_MAX_DATA_SIZE;
  private readonly t: IoTTransport;

  constructor(options: IoTClientOptions) {
    this.t = new IoTTransport(options);
  }

  private call<T>(route: string, body: Record<string, unknown>): Promise<IVResponse<T>> {
    return this.t.post<T>(route, body, [IV_OK]);
  }

  /** Reads the model node at `path` ("" = the whole model). data = that node. */
  readProperty(deviceId: string, path: string, responseHandler?: IVResponseHandler<unknown>): Promise<IVResponse<unknown>> {
    return deliver(() => this.call('/message/property/read', { deviceId: iotCheckDeviceId(deviceId), path: checkPath(path, true) }), responseHandler, this.t);
  }

  /** Writes a ProWritable / ProUser property. data = the node after the device applied it. */
  writeProperty(deviceId: string, path: string, json: string, responseHandler?: IVResponseHandler<unknown>): Promise<IVResponse<unknown>> {
    return deliver(
      () => this.call('/message/property/write', { deviceId: iotCheckDeviceId(deviceId), path: checkPath(path, false), json: checkJson(json) }),
      responseHandler,
      this.t,
    );
  }

  /** Runs an action (path "Action.<name>", json '{"ctlVal":…}'). data = the action node after it ran. */
  takeAction(deviceId: string, path: string, json: string, responseHandler?: IVResponseHandler<unknown>): Promise<IVResponse<unknown>> {
    return deliver(() => this.call('/message/action', { deviceId: iotCheckDeviceId(deviceId), path: checkPath(path, false), json: checkJson(json) }), responseHandler, this.t);
  }

  /** Adds (or overwrites) a user property "ProUser.<name>"; names starting "_" fail with 8605. */
  addProperty(deviceId: string, path: string, json: string, responseHandler?: IVResponseHandler<unknown>): Promise<IVResponse<unknown>> {
    return deliver(() => this.call('/message/property/add', { deviceId: iotCheckDeviceId(deviceId), path: checkUserPath(path), json: checkJson(json) }), responseHandler, this.t);
  }

  /** Deletes a user property "ProUser.<name>". */
  deleteProperty(deviceId: string, path: string, responseHandler?: IVResponseHandler<unknown>): Promise<IVResponse<unknown>> {
    return deliver(() => this.call('/message/property/delete', { deviceId: iotCheckDeviceId(deviceId), path: checkUserPath(path) }), responseHandler, this.t);
  }

  /**
   * Passes data through the server to the device (at most MAX_DATA_SIZE = 30000 bytes; more → IoTError 21008 before
   * any request). With expectResponse the device's reply comes back as base64 in data.data.
   */
  sendDataToDevice(
    deviceId: string,
    data: string | ArrayBuffer | Uint8Array,
    options: { expectResponse?: boolean } = {},
    responseHandler?: IVResponseHandler<IoTPassthroughReply>,
  ): Promise<IVResponse<IoTPassthroughReply>> {
    return deliver(() => {
      const id = iotCheckDeviceId(deviceId);
      if (typeof data !== 'string' && !(data instanceof ArrayBuffer) && !(data instanceof Uint8Array)) {
        throw new MediaKitError(IOT_INVALID_PARAMETER, 'data must be a string, an ArrayBuffer or a Uint8Array.');
      }
      const size = byteLength(data);
      if (size === 0) throw new MediaKitError(IOT_INVALID_PARAMETER, 'data is empty.');
      if (size > IV_MAX_DATA_SIZE) throw new IoTError(21008, `data is ${size} bytes; the limit is ${IV_MAX_DATA_SIZE}.`, { size });
      return this.call<IoTPassthroughReply>('/message/data/send', { deviceId: id, data: iotToBase64(data), expectResponse: !!options.expectResponse });
    }, responseHandler, this.t);
  }
}
