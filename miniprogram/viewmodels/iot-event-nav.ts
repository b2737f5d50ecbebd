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

/** Kept on the App instance's globalData: one store for every page (each page bundle may load this module anew). */
function store(): NavStore {
  const app = getApp() as unknown as { globalData?: Record<string, unknown> };
  if (!app.globalData) app.globalData = {};
  if (!app.globalData.iotEventNav) app.globalData.iotEventNav = { sequences: {}, deleted: {} } as NavStore;
  return app.globalData.iotEventNav as NavStore;
}

/** The event list publishes the events it shows, newest first. */
export function setEventSequence(deviceId: string, events: EventRef[]): void {
  store().sequences[deviceId] = events.map((e) => ({ alarmId: e.alarmId, startTime: e.startTime }));
}

/** The neighbours of an event in the list's order: prev is the newer one, next the older one. */
export function eventNeighbours(deviceId: string, alarmId: string): { prev?: EventRef; next?: EventRef } {
  const list = store().sequences[deviceId] || [];
  const i = list.findIndex((e) => e.alarmId === alarmId);
  if (i < 0) return {};
  return { prev: list[i - 1], next: list[i + 1] };
}

export function markEventDeleted(deviceId: string, alarmId: string): void {
  const s = store();
  s.deleted[deviceId] = [...(s.deleted[deviceId] || []), alarmId];
  if (s.sequences[deviceId]) s.sequences[deviceId] = s.sequences[deviceId].filter((e) => e.alarmId !== alarmId);
}

/** The ids deleted elsewhere since the last call (the list takes them once). */
export function takeDeletedEvents(deviceId: string): string[] {
  const s = store();
  const ids = s.deleted[deviceId] || [];
  delete s.deleted[deviceId];
  return ids;
}
