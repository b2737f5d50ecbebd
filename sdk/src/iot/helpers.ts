/**
 * Pure helpers for IoT Video events: type masks (unsigned 32-bit), image URLs, day ranges for a timezone offset,
 * parameter validation, and the event-type label table.
 */
import { MediaKitError } from '../errors';
import { IOT_INVALID_PARAMETER } from './errors';
import { base64Decode, base64Encode, utf8Decode, utf8Encode } from '../util/bytes';

/** bit15: the event has cloud video (documented in IVVAS.h). */
export const IOT_HAS_VIDEO_BIT = 0x8000;
export const IOT_MAX_PAGE_SIZE = 50;
export const IOT_DAY_SECONDS = 86400;

export interface IoTEventTypeInfo {
  bit: number;
  key: string;
  label: string;
  /** Counted as an alarm (the alarm list shows only these). */
  alarm: boolean;
}

/**
 * Labels for the type bits. Only bit15 ("has video") is documented; bits 0-14 are SDK built-ins whose meaning no
 * public source gives, and bits 16-31 are product-defined. This table is the demo product's own configuration (the
 * local cloud generates events with exactly these bits); replace it with your product's. Unknown bits show as
 * "事件 bitN".
 */
export const IOT_EVENT_TYPES: ReadonlyArray<IoTEventTypeInfo> = [
  { bit: 0, key: 'motion', label: '移动侦测', alarm: true },
  { bit: 1, key: 'person', label: '人形侦测', alarm: true },
  { bit: 2, key: 'sound', label: '声音异常', alarm: true },
  { bit: 3, key: 'cry', label: '哭声检测', alarm: true },
  { bit: 4, key: 'intrusion', label: '区域入侵', alarm: true },
  { bit: 9, key: 'doorbell', label: '有人按门铃', alarm: false },
  { bit: 10, key: 'lowBattery', label: '电量低', alarm: false },
  { bit: 13, key: 'online', label: '设备上线', alarm: false },
  { bit: 14, key: 'sdcard', label: '存储卡异常', alarm: false },
  { bit: 15, key: 'video', label: '有视频', alarm: false },
  { bit: 21, key: 'package', label: '包裹检测', alarm: false },
  { bit: 22, key: 'pet', label: '宠物', alarm: false },
  { bit: 24, key: 'face', label: '陌生人脸', alarm: true },
  { bit: 25, key: 'vehicle', label: '车辆', alarm: false },
  { bit: 31, key: 'custom31', label: '自定义告警', alarm: true },
];

/** The bit value (unsigned) of a bit number 0..31. */
export function iotBit(n: number): number {
  return (1 << n) >>> 0;
}

/** OR of the alarm bits in IOT_EVENT_TYPES (the alarm list's base mask). */
export const IOT_ALARM_MASK: number = IOT_EVENT_TYPES.filter((t) => t.alarm).reduce((m, t) => (m | iotBit(t.bit)) >>> 0, 0);

/** The mask of one type by key ('motion', 'video', …). */
export function iotTypeMask(key: string): number {
  const t = IOT_EVENT_TYPES.find((x) => x.key === key);
  if (!t) throw new MediaKitError(IOT_INVALID_PARAMETER, `Unknown IoT event type "${key}".`, { key });
  return iotBit(t.bit);
}

/** Labels of every bit set in alarmType (bit15 excluded unless includeVideo), lowest bit first. */
export function iotTypeLabels(alarmType: number, includeVideo = false): string[] {
  const t = Number(alarmType) >>> 0;
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (!((t >>> bit) & 1)) continue;
    if (bit === 15 && !includeVideo) continue;
    const info = IOT_EVENT_TYPES.find((x) => x.bit === bit);
    out.push(info ? info.label : `事件 bit${bit}`);
  }
  return out;
}

export function iotHasVideo(alarmType: number): boolean {
  return ((Number(alarmType) >>> 0) & IOT_HAS_VIDEO_BIT) !== 0;
}

function isUint32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * Normalises a filterTypeMask argument to the wire form: `null`/`undefined`/`0`/`[]` mean "no filter" → [];
 * a number → [n]; an array must hold integers in 1..0xFFFFFFFF (a 0 mask inside an array could match nothing).
 */
export function iotNormalizeMasks(masks: number | ReadonlyArray<number> | null | undefined): number[] {
  if (masks === null || masks === undefined || masks === 0) return [];
  const list = typeof masks === 'number' ? [masks] : masks;
  if (!Array.isArray(list)) throw new MediaKitError(IOT_INVALID_PARAMETER, 'filterTypeMask must be an array of unsigned 32-bit integers.', { masks });
  if (list.length > 32) throw new MediaKitError(IOT_INVALID_PARAMETER, 'filterTypeMask: at most 32 masks.', { count: list.length });
  return list.map((m, i) => {
    if (!isUint32(m) || m === 0) {
      throw new MediaKitError(IOT_INVALID_PARAMETER, `filterTypeMask[${i}] must be an integer in 1..4294967295 (got ${String(m)}).`, { index: i, value: m });
    }
    return m >>> 0;
  });
}

/**
 * IVVAS mask semantics: within one mask the bits are OR-ed (the event has any of them), between masks AND-ed (the
 * event matches every mask). No masks match everything. Unsigned 32-bit throughout (alarm types exceed 2^31).
 */
export function iotMatchTypeMasks(alarmType: number, masks: number | ReadonlyArray<number> | null | undefined): boolean {
  const t = Number(alarmType) >>> 0;
  const list = iotNormalizeMasks(masks);
  for (const m of list) if (((t & m) >>> 0) === 0) return false;
  return true;
}

/** imgUrl = imgUrlPrefix + imgUrlSuffix ('' when the event has no image). */
export function iotImageUrl(imgUrlPrefix: string | undefined, imgUrlSuffix: string | undefined): string {
  if (!imgUrlSuffix) return '';
  return (imgUrlPrefix || '') + imgUrlSuffix;
}

/** thumbUrl = imgUrl + thumbUrlSuffix ('' when the event has no image). */
export function iotThumbUrl(imgUrlPrefix: string | undefined, imgUrlSuffix: string | undefined, thumbUrlSuffix: string | undefined): string {
  const img = iotImageUrl(imgUrlPrefix, imgUrlSuffix);
  return img ? img + (thumbUrlSuffix || '') : '';
}

export function iotCheckPageSize(pageSize: unknown): number {
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > IOT_MAX_PAGE_SIZE) {
    throw new MediaKitError(IOT_INVALID_PARAMETER, `pageSize must be an integer in 1..${IOT_MAX_PAGE_SIZE} (got ${String(pageSize)}).`, { pageSize });
  }
  return pageSize;
}

export function iotCheckDeviceId(deviceId: unknown): string {
  if (typeof deviceId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(deviceId)) {
    throw new MediaKitError(IOT_INVALID_PARAMETER, `deviceId must be 1-64 letters, digits, _ or - (got ${JSON.stringify(deviceId)}).`, { deviceId });
  }
  return deviceId;
}

export function iotCheckTime(name: string, t: unknown): number {
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffffffff) {
    throw new MediaKitError(IOT_INVALID_PARAMETER, `${name} must be UTC seconds, a non-negative integer (got ${String(t)}).`, { [name]: t });
  }
  return t;
}

/** Timezone offsets are seconds east of UTC (UTC+8 → 28800), from -12 h to +14 h. */
export function iotCheckTimezone(tz: unknown): number {
  if (typeof tz !== 'number' || !Number.isInteger(tz) || tz < -43200 || tz > 50400) {
    throw new MediaKitError(IOT_INVALID_PARAMETER, `timezone must be seconds from UTC in -43200..50400, e.g. 28800 for UTC+8 (got ${String(tz)}).`, { timezone: tz });
  }
  return tz;
}

/** This host's current offset in seconds east of UTC (UTC+8 → 28800). DST-unaware, like the API. */
export function iotLocalTimezone(atMs?: number): number {
  const d = atMs === undefined ? new Date() : new Date(atMs);
  return -d.getTimezoneOffset() * 60;
}

/** Local midnight (as UTC seconds) of the day containing t, for a fixed offset. */
export function iotDayStart(t: number, timezone: number): number {
  return Math.floor((t + timezone) / IOT_DAY_SECONDS) * IOT_DAY_SECONDS - timezone;
}

/** The local day containing t: [startTime, endTime] inclusive, endTime = next midnight - 1. */
export function iotDayRange(t: number, timezone: number): { startTime: number; endTime: number } {
  const startTime = iotDayStart(t, timezone);
  return { startTime, endTime: startTime + IOT_DAY_SECONDS - 1 };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** 'YYYY-MM-DD' of t in the given offset. */
export function iotDayKey(t: number, timezone: number): string {
  const d = new Date((t + timezone) * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** Local midnight (UTC seconds) of a 'YYYY-MM-DD' day in the given offset. */
export function iotDayStartFromKey(key: string, timezone: number): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  if (!m) throw new MediaKitError(IOT_INVALID_PARAMETER, `Expected a day as YYYY-MM-DD (got ${JSON.stringify(key)}).`, { key });
  return Date.UTC(+m[1], +m[2] - 1, +m[3]) / 1000 - timezone;
}

/** 'HH:mm:ss' (or 'HH:mm') of t in the given offset (24-hour clock). */
export function iotFormatTime(t: number, timezone: number, withSeconds = true): string {
  const d = new Date((t + timezone) * 1000);
  const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  return withSeconds ? `${hm}:${pad2(d.getUTCSeconds())}` : hm;
}

/** 'M月D日' of t in the given offset. */
export function iotFormatDayLabel(t: number, timezone: number): string {
  const d = new Date((t + timezone) * 1000);
  return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日`;
}

/** Duration as the pages show it: '45秒', '2分05秒', '1小时02分'. */
export function iotFormatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}秒`;
  if (s < 3600) return `${Math.floor(s / 60)}分${pad2(s % 60)}秒`;
  return `${Math.floor(s / 3600)}小时${pad2(Math.floor((s % 3600) / 60))}分`;
}

/** Distinct local days (midnights, newest first) of a getVideoDateList answer. */
export function iotDaysOf(list: ReadonlyArray<number>, timezone: number): number[] {
  const set = new Set<number>();
  for (const t of list) if (typeof t === 'number' && isFinite(t)) set.add(iotDayStart(t, timezone));
  return Array.from(set).sort((a, b) => b - a);
}

/**
 * Parses an `endflag` defensively: booleans, 'true'/'false' strings (the Android sample even has "true，" with a
 * full-width comma), 1/0.
 */
export function iotParseEndflag(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return /^\s*(true|1)/i.test(v);
  return false;
}

/** UTF-8 byte length of a string (no TextEncoder in the mini-program's ES2017 lib). */
export function iotUtf8Length(s: string): number {
  return utf8Encode(s).length;
}

/** Bytes (or a string, as UTF-8) → base64. */
export function iotToBase64(data: string | ArrayBuffer | Uint8Array): string {
  return base64Encode(typeof data === 'string' ? utf8Encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data));
}

/** base64 (standard or URL-safe) → bytes; throws on characters outside base64. */
export function iotFromBase64(s: string): Uint8Array {
  return base64Decode(s);
}

/** Bytes → string (UTF-8); throws on malformed UTF-8. */
export function iotUtf8Decode(b: Uint8Array): string {
  return utf8Decode(b);
}
