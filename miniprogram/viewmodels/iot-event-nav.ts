/**
 * What the event list and the event detail share while the user moves between them: the order of the events the
 * list shows (so the detail can offer 上一条 / 下一条 in that order, filters included) and the events deleted from
 * a detail page (so the list drops them when it shows again). In memory (the App's globalData), per device, for this app session.
 */
export interface EventRef {
  alarmId: string;
  startTime: number;
}

interface NavStore {
  sequences: Record<string, EventRef[]>;
  deleted: Record<string, string[]>;
}

/** Where the store lives: the App instance's globalData, which pages pass in (`getApp().globalData`). */
export type SharedData = Record<string, unknown>;

function store(shared: SharedData): NavStore {
  if (!shared.iotEventNav) shared.iotEventNav = { sequences: {}, deleted: {} } as NavStore;
  return shared.iotEventNav as NavStore;
}

/** The event list publishes the events it shows, newest first. */
export function setEventSequence(shared: SharedData, deviceId: string, events: EventRef[]): void {
  store(shared).sequences[deviceId] = events.map((e) => ({ alarmId: e.alarmId, startTime: e.startTime }));
}

/** The neighbours of an event in the list's order: prev is the newer one, next the older one. */
export function eventNeighbours(shared: SharedData, deviceId: string, alarmId: string): { prev?: EventRef; next?: EventRef } {
  const list = store(shared).sequences[deviceId] || [];
  const i = list.findIndex((e) => e.alarmId === alarmId);
  if (i < 0) return {};
  return { prev: list[i - 1], next: list[i + 1] };
}

export function markEventDeleted(shared: SharedData, deviceId: string, alarmId: string): void {
  const s = store(shared);
  s.deleted[deviceId] = [...(s.deleted[deviceId] || []), alarmId];
  if (s.sequences[deviceId]) s.sequences[deviceId] = s.sequences[deviceId].filter((e) => e.alarmId !== alarmId);
}

/** The ids deleted elsewhere since the last call (the list takes them once). */
export function takeDeletedEvents(shared: SharedData, deviceId: string): string[] {
  const s = store(shared);
  const ids = s.deleted[deviceId] || [];
  delete s.deleted[deviceId];
  return ids;
}
