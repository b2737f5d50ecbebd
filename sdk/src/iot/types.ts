/**
 * The IVVAS / IVMessageMgr wire shapes (the seed's `{code, msg, data}` JSON), as the AppServer's /api/iot routes
 * answer them.
 */
import type { MediaKitError } from '../errors';

export interface IVResponse<T> {
  /** 0 = success; 10010 = no records; anything else is an IoT error code (see IOT_ERROR_TABLE). */
  code: number;
  msg: string;
  data?: T | null;
  requestId?: string;
}

/** The seed's `responseHandler(json, error)`: exactly one of them is non-null. */
export type IVResponseHandler<T> = (json: IVResponse<T> | null, error: MediaKitError | null) => void;

/** Cloud-storage status: 1 in use, 2 awaiting renewal (expired; history viewable after renewal), 3 expired. */
export type IoTCloudStorageStatus = 1 | 2 | 3;
/** Order type: 1 full-time (全时云存), 2 event (事件云存). */
export type IoTOrderPkgType = 1 | 2;

export interface IoTServiceDetail {
  status: IoTCloudStorageStatus;
  startTime: number;
  endTime: number;
  curOrderPkgType: IoTOrderPkgType;
  curOrderStorageDays: number;
  curOrderStartTime: number;
  curOrderEndTime: number;
  /** Earliest time whose recordings can be searched. */
  playbackStartTime: number;
  /** The seed's example JSON names a `playbackDays` field too. */
  playbackDays?: number;
}

export interface IoTVideoDateList {
  /** One UTC-seconds timestamp per day with cloud video (local midnight for the requested timezone). */
  list: number[];
}

export interface IoTPlaySegment {
  start: number;
  end: number;
}

export interface IoTVideoPlayList {
  list: IoTPlaySegment[];
}

export interface IoTPlayAddress {
  url: string;
  startTime: number;
  endTime: number;
  /** true: this m3u8 covers the requested range; false: request again from `endTime`. */
  endflag: boolean;
}

export interface IoTEvent {
  alarmId: string;
  /** The type that triggered the alarm. */
  firstAlarmType: number;
  /** Every type seen during the alarm window (unsigned 32-bit; bit15 = has video). */
  alarmType: number;
  startTime: number;
  endTime: number;
  imgUrlSuffix: string;
}

export interface IoTEventList {
  imgUrlPrefix: string;
  thumbUrlSuffix: string;
  list: IoTEvent[];
  /** Start of the still-valid cloud video; 0 = no cloud record found. */
  validVideoStartTime: number;
  /** The seed's example JSON spells it `validStartTime`; both are sent. */
  validStartTime?: number;
  pageEnd: boolean;
}

/** An event with its image URLs resolved (imgUrlPrefix + suffix, + thumbUrlSuffix). */
export interface IoTEventItem extends IoTEvent {
  imgUrl: string;
  thumbUrl: string;
}

/** A bound device, as the Devices tab lists it (GET /api/iot/devices). */
export interface IoTDevice {
  deviceId: string;
  name: string;
  productId: string;
  online: boolean;
  cloudStorage: {
    status: IoTCloudStorageStatus;
    curOrderPkgType: IoTOrderPkgType;
    endTime: number;
  };
}

export interface IoTDeviceList {
  list: IoTDevice[];
}

/** Pass-through reply: the device's answer as base64 (empty without expectResponse). */
export interface IoTPassthroughReply {
  data: string;
}
