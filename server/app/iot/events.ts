/**
 * The AppServer's mapping between Tencent Cloud's cloud-storage events and the seed's IVVAS event fields.
 *
 * The real API has no type bitmask: an event has one `EventId` (the product's thing-model event identifier), an
 * `UploadStatus` and a free-form `Data` string. IVVAS filters with 32-bit masks, so the AppServer keeps this table:
 *   firstAlarmType = the bit of EventId;
 *   alarmType      = firstAlarmType | the bits of the ids the device lists in Data.types (JSON, optional)
 *                    | bit15 (0x8000, "has video") when UploadStatus is Finished or Partial.
 * Unknown event ids map to bit31 (custom alarm). Change the table to match your product's thing model.
 *
 * alarmId: the real API addresses an event by (EventId, StartTime, EndTime); the AppServer encodes that triple as
 * `<EventId>.<EndTime>.<StartTime>` (an EventId outside [A-Za-z0-9_] is base64url with a "~" prefix), so a batch
 * delete can call DeleteCloudStorageEvent per event, and the id ends with the startTime as IVVAS ids do.
 */

export interface EventTypeRow {
  bit: number;
  eventId: string;
  label: string;
}

/** bit → thing-model event id of the demo product (bit15 is "has video", not an event). */
export const EVENT_TYPE_TABLE: ReadonlyArray<EventTypeRow> = [
  { bit: 0, eventId: 'motion', label: '移动侦测' },
  { bit: 1, eventId: 'person', label: '人形侦测' },
  { bit: 2, eventId: 'sound', label: '声音异常' },
  { bit: 3, eventId: 'cry', label: '哭声检测' },
  { bit: 4, eventId: 'intrusion', label: '区域入侵' },
  { bit: 9, eventId: 'doorbell', label: '有人按门铃' },
  { bit: 10, eventId: 'low_battery', label: '电量低' },
  { bit: 13, eventId: 'online', label: '设备上线' },
  { bit: 14, eventId: 'sdcard_error', label: '存储卡异常' },
  { bit: 21, eventId: 'package', label: '包裹检测' },
  { bit: 22, eventId: 'pet', label: '宠物' },
  { bit: 24, eventId: 'stranger_face', label: '陌生人脸' },
  { bit: 25, eventId: 'vehicle', label: '车辆' },
  { bit: 31, eventId: 'custom_alarm', label: '自定义告警' },
];

export const HAS_VIDEO_BIT = 0x8000;
export const CUSTOM_BIT = 31;

const BIT_BY_ID = new Map(EVENT_TYPE_TABLE.map((r) => [r.eventId, r.bit]));
const ID_BY_BIT = new Map(EVENT_TYPE_TABLE.map((r) => [r.bit, r.eventId]));

export function eventIdBit(eventId: string): number {
  return (1 << (BIT_BY_ID.get(eventId) ?? CUSTOM_BIT)) >>> 0;
}

/** The event id of a single-bit mask, or undefined. */
export function bitEventId(bitValue: number): string | undefined {
  const v = bitValue >>> 0;
  if (v === 0 || (v & (v - 1)) !== 0) return undefined;
  return ID_BY_BIT.get(31 - Math.clz32(v));
}

export function hasVideo(uploadStatus: string | null | undefined): boolean {
  return uploadStatus === 'Finished' || uploadStatus === 'Partial';
}

/** Bits of the extra types a device lists in Data (`{"types":["sound",…]}`); anything else in Data is ignored. */
export function dataTypeBits(data: string | null | undefined): number {
  if (!data || data.length > 4096) return 0;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return 0;
  }
  const types = v && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, 'types') ? (v as { types: unknown }).types : undefined;
  if (!Array.isArray(types)) return 0;
  let bits = 0;
  for (const t of types.slice(0, 32)) if (typeof t === 'string') bits |= eventIdBit(t);
  return bits >>> 0;
}

export interface CloudStorageEventLike {
  EventId: string;
  StartTime: number;
  EndTime: number;
  UploadStatus?: string | null;
  Data?: string | null;
}

export function alarmTypes(e: CloudStorageEventLike): { firstAlarmType: number; alarmType: number } {
  const first = eventIdBit(e.EventId);
  return { firstAlarmType: first, alarmType: (first | dataTypeBits(e.Data) | (hasVideo(e.UploadStatus) ? HAS_VIDEO_BIT : 0)) >>> 0 };
}

const PLAIN_ID = /^[A-Za-z0-9_]{1,40}$/;

export function encodeAlarmId(e: { EventId: string; StartTime: number; EndTime: number }): string {
  const id = PLAIN_ID.test(e.EventId) ? e.EventId : `~${Buffer.from(e.EventId, 'utf8').toString('base64url')}`;
  return `${id}.${e.EndTime}.${e.StartTime}`;
}

export function decodeAlarmId(alarmId: string): { EventId: string; StartTime: number; EndTime: number } | undefined {
  const m = /^(~[A-Za-z0-9_-]{1,60}|[A-Za-z0-9_]{1,40})\.(\d{1,12})\.(\d{1,12})$/.exec(alarmId);
  if (!m) return undefined;
  const EventId = m[1].startsWith('~') ? Buffer.from(m[1].slice(1), 'base64url').toString('utf8') : m[1];
  if (!EventId) return undefined;
  return { EventId, EndTime: parseInt(m[2], 10), StartTime: parseInt(m[3], 10) };
}

/** Newest first; equal startTimes by alarmId, descending (a total order, so paging is stable). */
export function compareAlarms(a: { startTime: number; alarmId: string }, b: { startTime: number; alarmId: string }): number {
  if (a.startTime !== b.startTime) return b.startTime - a.startTime;
  return a.alarmId < b.alarmId ? 1 : a.alarmId > b.alarmId ? -1 : 0;
}
