/**
 * Deterministic device activity. Every device has a numeric seed; time is cut into 5-minute slots and each slot's
 * events come from a PRNG seeded with (device seed, slot index), so the same clock gives the same events on every
 * run, and new events appear as the clock moves on (an event exists once its endTime has passed).
 * Recordings follow the device's cloud-storage order: full-time (1) records every hour except a few "offline" hours;
 * event storage (2) records each event's [startTime, endTime] (most events; some uploads "fail"). bit15 is set on
 * exactly the events whose interval was recorded.
 */

export const SLOT_SECONDS = 300;
export const EVENT_RETENTION_SECONDS = 14 * 86400;
export const HAS_VIDEO = 0x8000;

export function hash32(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  const s = parts.join('|');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, well-distributed 32-bit PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bit = (n: number) => (1 << n) >>> 0;

/** Triggering types and their weights (bits as the demo product configures them; see the SDK's IOT_EVENT_TYPES). */
const FIRST_TYPES: Array<[number, number]> = [
  [bit(0), 34], // motion
  [bit(1), 20], // person
  [bit(2), 12], // sound
  [bit(3), 4], // cry
  [bit(4), 4], // intrusion
  [bit(9), 5], // doorbell
  [bit(10), 2], // low battery
  [bit(13), 2], // online
  [bit(14), 1], // sd card
  [bit(21), 5], // package (custom)
  [bit(22), 5], // pet (custom)
  [bit(24), 3], // face (custom)
  [bit(25), 2], // vehicle (custom)
  [bit(31), 1], // custom alarm: alarm types above 2^31
];
const FIRST_TOTAL = FIRST_TYPES.reduce((s, [, w]) => s + w, 0);
const EXTRA_HIGH = [bit(21), bit(22), bit(24), bit(25), bit(31)];

export interface CloudStorageOrder {
  /** 1 full-time, 2 event. */
  pkgType: 1 | 2;
  storageDays: number;
  startTime: number;
  endTime: number;
}

export interface DeviceActivity {
  deviceId: string;
  seed: number;
  /** Digits that prefix every alarmId of this device. */
  idPrefix: string;
  order: CloudStorageOrder;
  /** No events (and no recording) after this time while offline. */
  offlineSince?: number;
}

export interface GenEvent {
  alarmId: string;
  firstAlarmType: number;
  alarmType: number;
  startTime: number;
  endTime: number;
  /** Which picture the image endpoint paints. */
  imgSeed: number;
}

/** Probability that a slot has activity, by Beijing hour. */
function activity(t: number): number {
  const h = Math.floor(((t + 8 * 3600) % 86400) / 3600);
  if (h < 6) return 0.12;
  if (h < 8) return 0.3;
  if (h < 18) return 0.28;
  return 0.42;
}

export function orderActiveAt(order: CloudStorageOrder, t: number): boolean {
  return t >= order.startTime && t <= order.endTime;
}

/** Full-time storage: ~6% of hours have no recording (the device was "offline"). */
export function gapHour(dev: DeviceActivity, t: number): boolean {
  return mulberry32(hash32(dev.seed, 'gap', Math.floor(t / 3600)))() < 0.06;
}

export function recordedAt(dev: DeviceActivity, t: number): boolean {
  if (dev.offlineSince !== undefined && t > dev.offlineSince) return false;
  return orderActiveAt(dev.order, t);
}

/** Whether [start, end] of an event was recorded (decides bit15). `roll` is the event's own upload dice. */
export function eventRecorded(dev: DeviceActivity, start: number, end: number, roll: number): boolean {
  if (!recordedAt(dev, start) || !recordedAt(dev, end)) return false;
  if (dev.order.pkgType === 1) return !gapHour(dev, start) && !gapHour(dev, end);
  return roll < 0.8;
}

export function alarmIdFor(dev: DeviceActivity, k: number, startTime: number): string {
  return `${dev.idPrefix}${k}${startTime}`;
}

/** The events of one slot (index = floor(t / 300)), before any visibility filter. */
export function slotEvents(dev: DeviceActivity, slot: number): GenEvent[] {
  const rng = mulberry32(hash32(dev.seed, slot));
  if (rng() >= activity(slot * SLOT_SECONDS)) return [];
  const slotStart = slot * SLOT_SECONDS;
  const burst = rng() < 0.14;
  const n = burst ? 2 + (rng() < 0.35 ? 1 : 0) : 1;
  // Bursts often share one second (several detectors firing together): equal startTimes, distinct alarmIds.
  const sameSecond = burst && rng() < 0.7;
  const base = Math.floor(rng() * (SLOT_SECONDS - 60));
  const out: GenEvent[] = [];
  for (let k = 0; k < n; k++) {
    const startTime = slotStart + (sameSecond ? base : Math.floor(rng() * (SLOT_SECONDS - 60)));
    let pick = rng() * FIRST_TOTAL;
    let first = FIRST_TYPES[0][0];
    for (const [b, w] of FIRST_TYPES) {
      if ((pick -= w) < 0) {
        first = b;
        break;
      }
    }
    let type = first;
    if (first === bit(1) && rng() < 0.6) type |= bit(0); // a person usually also moves
    if (rng() < 0.12) type |= EXTRA_HIGH[Math.floor(rng() * EXTRA_HIGH.length)];
    if (rng() < 0.1) type |= bit(2);
    let endTime = startTime + 5 + Math.floor(rng() * 55);
    // Tencent addresses an event by (EventId, StartTime, EndTime): keep that triple unique within the slot.
    while (out.some((o) => o.startTime === startTime && o.firstAlarmType === first >>> 0 && o.endTime === endTime)) endTime++;
    const roll = rng();
    const recorded = eventRecorded(dev, startTime, endTime, roll);
    out.push({
      alarmId: alarmIdFor(dev, k, startTime),
      firstAlarmType: first >>> 0,
      alarmType: ((type >>> 0) | (recorded ? HAS_VIDEO : 0)) >>> 0,
      startTime,
      endTime,
      imgSeed: hash32(dev.seed, 'img', slot, k),
    });
  }
  return out;
}

/** Generated events with startTime in [from, to], unsorted (callers filter visibility and sort). */
export function generatedEvents(dev: DeviceActivity, from: number, to: number): GenEvent[] {
  const out: GenEvent[] = [];
  for (let s = Math.floor(from / SLOT_SECONDS); s <= Math.floor(to / SLOT_SECONDS); s++) {
    for (const e of slotEvents(dev, s)) if (e.startTime >= from && e.startTime <= to) out.push(e);
  }
  return out;
}

/** Newest first; equal startTimes by alarmId, descending (a total order, so paging is stable). */
export function compareEvents(a: { startTime: number; alarmId: string }, b: { startTime: number; alarmId: string }): number {
  if (a.startTime !== b.startTime) return b.startTime - a.startTime;
  return a.alarmId < b.alarmId ? 1 : a.alarmId > b.alarmId ? -1 : 0;
}

export interface Segment {
  start: number;
  end: number;
}

export function mergeSegments(list: Segment[]): Segment[] {
  const sorted = list.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  const out: Segment[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

export function clipSegments(list: Segment[], from: number, to: number): Segment[] {
  const out: Segment[] = [];
  for (const s of list) {
    const start = Math.max(s.start, from);
    const end = Math.min(s.end, to);
    if (end > start) out.push({ start, end });
  }
  return out;
}
