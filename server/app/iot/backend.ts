/**
 * The AppServer's view of an IoT Video platform. Routes call only this interface; `local.ts` implements it against
 * the local IoT cloud (TC3-signed Cloud API calls), and a Tencent Cloud adapter (iotvideo / iotexplorer Cloud API 3.0:
 * DescribeCloudStorageEvents, DescribeCloudStorageDate, GenerateSignedVideoURL …) can implement the same methods
 * later. Every method answers the IVVAS JSON `{code, msg, data}`: business outcomes (10010 no records, 8003 not your
 * device, 20101 bad path …) are results, not exceptions. Exceptions (IoTBackendError) mean the platform could not be
 * reached or refused our credentials.
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
