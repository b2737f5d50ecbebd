/**
 * The AppServer's view of an IoT camera platform. Routes call only this interface; `tencent.ts` implements it on
 * Tencent Cloud's IoT API 3.0 (IoT Explorer 2019-04-23 or IoT Video 2021-11-25), against the local IoT cloud in
 * development and Tencent Cloud in production. Every method answers the seed's IVVAS JSON `{code, msg, data}`:
 * business outcomes (10010 no records, 8003 not your device, 20101 bad path …) are results, not exceptions.
 * Exceptions (IoTBackendError) mean the platform could not be reached or refused our credentials.
 */

export interface IoTResult<T = unknown> {
  code: number;
  msg: string;
  data: T | null;
  requestId?: string;
}

export interface IoTEventQuery {
  startTime: number;
  endTime: number;
  /** 1..50 */
  pageSize: number;
  /** OR within a mask, AND across masks; [] = all. */
  typeMasks: number[];
  validCloudStorage: boolean;
}

export interface IoTBackend {
  readonly name: string;
  /** The devices bound to the user. */
  listDevices(userId: string): Promise<IoTResult>;
  getServiceDetailInfo(userId: string, deviceId: string, sourceId?: number): Promise<IoTResult>;
  getVideoDateList(userId: string, deviceId: string, timezone: number): Promise<IoTResult>;
  getVideoPlayList(userId: string, deviceId: string, startTime: number, endTime: number): Promise<IoTResult>;
  getVideoPlayAddress(userId: string, deviceId: string, startTime: number, endTime: number): Promise<IoTResult>;
  getEventList(userId: string, deviceId: string, query: IoTEventQuery): Promise<IoTResult>;
  deleteEvents(userId: string, deviceId: string, eventIds: string[]): Promise<IoTResult>;
  readProperty(userId: string, deviceId: string, path: string): Promise<IoTResult>;
  writeProperty(userId: string, deviceId: string, path: string, json: string): Promise<IoTResult>;
  takeAction(userId: string, deviceId: string, path: string, json: string): Promise<IoTResult>;
  addProperty(userId: string, deviceId: string, path: string, json: string): Promise<IoTResult>;
  deleteProperty(userId: string, deviceId: string, path: string): Promise<IoTResult>;
  /** data: base64 of at most 30000 bytes. */
  sendDataToDevice(userId: string, deviceId: string, data: string, expectResponse: boolean): Promise<IoTResult>;
  /** Development only: bind an existing device to the user (8002 unknown, 8022 already bound). */
  bindDevice?(userId: string, deviceId: string, productId: string): Promise<IoTResult>;
  close(): Promise<void>;
}

/** The platform was unreachable or rejected the call itself (signature, credentials, parameters). */
export class IoTBackendError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly requestId?: string,
  ) {
    super(message);
  }
}
