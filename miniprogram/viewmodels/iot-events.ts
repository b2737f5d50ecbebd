/**
 * View-model of the IoT event list (and, with mode 'alarm', the alarm list): events grouped by day, newest first;
 * type filter chips; a day picker limited to the days getVideoDateList returns; pull-down refresh; load more until
 * pageEnd; multi-select batch delete; lazy thumbnails with a fallback; an empty state; the cloud-storage banner.
 *
 * setData cost: appending a page patches only the new rows by path (`groups[g].items[i]`) plus the touched groups'
 * counts, so it grows with the page, not with the list. A refresh, a filter change and a delete replace `groups`.
 */
import { iotUserText } from './iot-errors';
import { SharedData, setEventSequence, takeDeletedEvents } from './iot-event-nav';
import {
  AppClient,
  IoTEventItem,
  IoTEventPager,
  IOT_ALARM_MASK,
  IOT_EVENT_TYPES,
  IOT_HAS_VIDEO_BIT,
  iotDayKey,
  iotDayRange,
  iotDaysOf,
  iotFormatDayLabel,
  iotFormatDuration,
  iotFormatTime,
  iotHasVideo,
  iotLocalTimezone,
  iotTypeLabels,
  iotTypeMask,
  IVVAS,
} from 'mp-media-sdk';

export type EventsMode = 'all' | 'alarm';

export interface EventRowView {
  alarmId: string;
  startTime: number;
  endTime: number;
  time: string;
  duration: string;
  types: string;
  hasVideo: boolean;
  /** Thumbnail URL; '' once it failed (the row then shows its fallback). */
  thumb: string;
  thumbFailed: boolean;
  selected: boolean;
}

export interface EventGroupView {
  key: string;
  label: string;
  count: number;
  items: EventRowView[];
}

export interface ChipView {
  key: string;
  label: string;
  active: boolean;
}

export interface BannerView {
  show: boolean;
  /** expiring | renew | expired */
  kind: string;
  text: string;
  action: string;
}

export interface EventsViewState {
  deviceId: string;
  mode: EventsMode;
  title: string;
  banner: BannerView;
  chips: ChipView[];
  /** Picker labels: '近14天' then one per day with cloud video, newest first. */
  dayLabels: string[];
  dayIndex: number;
  noVideoDays: boolean;
  groups: EventGroupView[];
  loading: boolean;
  loadingMore: boolean;
  pageEnd: boolean;
  empty: boolean;
  error: string;
  selecting: boolean;
  selectedCount: number;
  /** Every loaded event is selected (the 全选 checkbox). */
  allSelected: boolean;
  /** A chip or a day is chosen (the empty state then says so and offers 清除筛选). */
  filtered: boolean;
  /** What the empty state says: why the list is empty. */
  emptyText: string;
  message: string;
}

export interface EventsViewModelOptions {
  appClient: AppClient;
  deviceId: string;
  mode?: EventsMode;
  onChange: (patch: Record<string, unknown>) => void;
  /** Seconds east of UTC (default: this phone's). */
  timezone?: number;
  /** 1..50 (default 20). */
  pageSize?: number;
  /** How far back the default list goes (default 14 days, the platform's event retention). */
  days?: number;
  now?: () => number;
  /** Shared with the event detail page (the App's globalData): the list's order, events deleted there. */
  shared?: SharedData;
}

const CHIPS: Record<EventsMode, string[]> = {
  all: ['motion', 'person', 'sound', 'doorbell', 'package', 'video'],
  alarm: ['motion', 'person', 'sound', 'cry', 'face', 'video'],
};

export class EventsViewModel {
  readonly state: EventsViewState;
  private readonly vas: IVVAS;
  private readonly timezone: number;
  private readonly pageSize: number;
  private readonly shared: SharedData;
  private readonly days: number;
  private readonly now: () => number;
  private pager: IoTEventPager | undefined;
  /** Day starts behind dayLabels[1..]. */
  private dayStarts: number[] = [];
  private generation = 0;
  private busy: Promise<void> | undefined;

  constructor(private readonly o: EventsViewModelOptions) {
    this.vas = new IVVAS({ appClient: o.appClient });
    this.timezone = o.timezone === undefined ? iotLocalTimezone() : o.timezone;
    this.pageSize = o.pageSize || 20;
    this.days = o.days || 14;
    this.shared = o.shared || {};
    this.now = o.now || (() => Date.now());
    const mode = o.mode === 'alarm' ? 'alarm' : 'all';
    this.state = {
      deviceId: o.deviceId,
      mode,
      title: mode === 'alarm' ? '告警列表' : '事件列表',
      banner: { show: false, kind: '', text: '', action: '' },
      chips: CHIPS[mode].map((key) => ({ key, label: IOT_EVENT_TYPES.find((t) => t.key === key)!.label, active: false })),
      dayLabels: [`近${this.days}天`],
      dayIndex: 0,
      noVideoDays: false,
      groups: [],
      loading: false,
      loadingMore: false,
      pageEnd: false,
      empty: false,
      error: '',
      selecting: false,
      selectedCount: 0,
      allSelected: false,
      filtered: false,
      emptyText: '',
      message: '',
    };
  }

  private emit(patch: Record<string, unknown>): void {
    this.o.onChange(patch);
    // The detail page's 上一条 / 下一条 follow what this list shows.
    if (Object.keys(patch).some((k) => k.startsWith('groups'))) {
      setEventSequence(this.shared, this.o.deviceId, ([] as EventRowView[]).concat(...this.state.groups.map((g) => g.items)));
    }
  }

  /** On show: drop the events deleted from a detail page meanwhile. */
  dropDeleted(): void {
    const ids = new Set(takeDeletedEvents(this.shared, this.o.deviceId));
    if (!ids.size) return;
    const groups: EventGroupView[] = [];
    for (const group of this.state.groups) {
      const items = group.items.filter((r) => !ids.has(r.alarmId));
      if (items.length) groups.push({ ...group, items, count: items.length });
    }
    this.state.groups = groups;
    this.relabel({});
    this.set({ groups, empty: groups.length === 0 && this.state.pageEnd });
  }

  private set(patch: Partial<EventsViewState>): void {
    Object.assign(this.state, patch);
    this.emit(patch as Record<string, unknown>);
  }

  /** Banner, day list and the first page. */
  async init(): Promise<void> {
    await Promise.all([this.loadBanner(), this.loadDays()]);
    await this.refresh();
  }

  private async loadBanner(): Promise<void> {
    try {
      const r = await this.vas.getServiceDetailInfo(this.o.deviceId);
      const d = r.data;
      if (r.code !== 0 || !d) return this.set({ banner: { show: true, kind: 'expired', text: '未开通云存储，事件录像不会保存到云端', action: '' } });
      const nowSec = Math.floor(this.now() / 1000);
      let banner: BannerView = { show: false, kind: '', text: '', action: '' };
      if (d.status === 1 && d.endTime - nowSec < 7 * 86400) {
        banner = { show: true, kind: 'expiring', text: `云存储将于 ${iotDayKey(d.endTime, this.timezone)} 到期`, action: '' };
      } else if (d.status === 2) {
        banner = { show: true, kind: 'renew', text: '云存储已过期，续费后可继续查看历史录像', action: '' };
      } else if (d.status === 3) {
        banner = { show: true, kind: 'expired', text: '云存储已过期，云端录像已无法查看', action: '' };
      }
      this.set({ banner });
    } catch (e) {
      this.set({ error: iotUserText(e) });
    }
  }

  private async loadDays(): Promise<void> {
    try {
      const r = await this.vas.getVideoDateList(this.o.deviceId, this.timezone);
      this.dayStarts = r.code === 0 && r.data ? iotDaysOf(r.data.list, this.timezone) : [];
    } catch (e) {
      this.dayStarts = [];
    }
    this.set({
      dayLabels: [`近${this.days}天`].concat(this.dayStarts.map((t) => `${iotFormatDayLabel(t, this.timezone)}（${iotDayKey(t, this.timezone)}）`)),
      noVideoDays: this.dayStarts.length === 0,
    });
  }

  /** The masks for the chips and the mode: OR of the chosen types, AND "has video", AND the alarm types. */
  masks(): number[] {
    const active = this.state.chips.filter((c) => c.active);
    const types = active.filter((c) => c.key !== 'video').reduce((m, c) => (m | iotTypeMask(c.key)) >>> 0, 0);
    const out: number[] = [];
    if (types) out.push(types);
    else if (this.state.mode === 'alarm') out.push(IOT_ALARM_MASK);
    if (types && this.state.mode === 'alarm') out.push(IOT_ALARM_MASK);
    if (active.some((c) => c.key === 'video')) out.push(IOT_HAS_VIDEO_BIT);
    return out;
  }

  private range(): { startTime: number; endTime: number } {
    const nowSec = Math.floor(this.now() / 1000);
    if (this.state.dayIndex > 0 && this.dayStarts[this.state.dayIndex - 1] !== undefined) {
      const r = iotDayRange(this.dayStarts[this.state.dayIndex - 1], this.timezone);
      return { startTime: r.startTime, endTime: Math.min(r.endTime, nowSec) };
    }
    return { startTime: nowSec - this.days * 86400, endTime: nowSec };
  }

  private row(e: IoTEventItem): EventRowView {
    return {
      alarmId: e.alarmId,
      startTime: e.startTime,
      endTime: e.endTime,
      time: iotFormatTime(e.startTime, this.timezone),
      duration: iotFormatDuration(e.endTime - e.startTime),
      types: iotTypeLabels(e.alarmType).join(' · ') || '事件',
      hasVideo: iotHasVideo(e.alarmType),
      thumb: e.thumbUrl,
      thumbFailed: !e.thumbUrl,
      selected: false,
    };
  }

  /**
   * "今天 · 12 个" once the day is complete (an older day follows it, or the list ended); "今天 · 20+ 个" while more
   * of it may still load: the header never passes the loaded page off as the day's total.
   */
  private groupLabel(key: string, startTime: number, count: number, complete: boolean): string {
    const today = iotDayKey(Math.floor(this.now() / 1000), this.timezone);
    const name = key === today ? '今天' : iotFormatDayLabel(startTime, this.timezone);
    return `${name} · ${count}${complete ? '' : '+'} 个`;
  }

  /** Re-labels the day headers after a page arrived (the last day is complete only at pageEnd). */
  private relabel(patch: Record<string, unknown>): Record<string, unknown> {
    const groups = this.state.groups;
    groups.forEach((group, g) => {
      const label = this.groupLabel(group.key, group.items[0].startTime, group.items.length, g < groups.length - 1 || this.state.pageEnd);
      if (label !== group.label) {
        group.label = label;
        patch[`groups[${g}].label`] = label;
      }
    });
    return patch;
  }

  private filterText(): string {
    const chips = this.state.chips.filter((c) => c.active).map((c) => c.label);
    if (this.state.dayIndex > 0) chips.push(this.state.dayLabels[this.state.dayIndex]);
    return chips.join('、');
  }

  /** Clears the chips and the day: back to the whole list. */
  clearFilters(): Promise<void> {
    const patch: Record<string, unknown> = { dayIndex: 0 };
    this.state.dayIndex = 0;
    this.state.chips.forEach((c, i) => {
      if (c.active) {
        c.active = false;
        patch[`chips[${i}].active`] = false;
      }
    });
    this.emit(patch);
    return this.refresh();
  }

  /** Pull-down refresh (and every filter / day change): restart paging from the newest event. */
  async refresh(): Promise<void> {
    const gen = ++this.generation;
    const masks = this.masks();
    const valid = masks.indexOf(IOT_HAS_VIDEO_BIT) >= 0;
    this.pager = new IoTEventPager(this.vas, { deviceId: this.o.deviceId, ...this.range(), pageSize: this.pageSize, typeMasks: masks, validCloudStorage: valid });
    const noun = this.state.mode === 'alarm' ? '告警' : '事件';
    const filter = this.filterText();
    this.set({
      loading: true,
      error: '',
      pageEnd: false,
      empty: false,
      selecting: false,
      selectedCount: 0,
      allSelected: false,
      filtered: filter !== '',
      emptyText: filter ? `没有符合「${filter}」的${noun}` : `近 ${this.days} 天暂无${noun}`,
    });
    try {
      const page = await this.pager.next();
      if (gen !== this.generation) return;
      const groups: EventGroupView[] = [];
      this.state.groups = groups;
      this.state.pageEnd = page.pageEnd;
      this.appendInto(page.events, {});
      this.relabel({});
      this.set({ groups: this.state.groups, loading: false, pageEnd: page.pageEnd, empty: this.state.groups.length === 0 });
    } catch (e) {
      if (gen !== this.generation) return;
      this.set({ loading: false, error: iotUserText(e) });
    }
  }

  /** Adds events to state.groups, recording path patches for rows and touched group headers. */
  private appendInto(events: IoTEventItem[], patch: Record<string, unknown>): Record<string, unknown> {
    const groups = this.state.groups;
    const created = new Set<number>();
    const touched = new Set<number>();
    for (const e of events) {
      const key = iotDayKey(e.startTime, this.timezone);
      let g = groups.length - 1;
      if (g < 0 || groups[g].key !== key) {
        groups.push({ key, label: '', count: 0, items: [] });
        g = groups.length - 1;
        created.add(g);
      }
      const group = groups[g];
      const row = this.row(e);
      group.items.push(row);
      group.count = group.items.length;
      if (!created.has(g)) {
        patch[`groups[${g}].items[${group.items.length - 1}]`] = row;
        touched.add(g);
      }
    }
    for (const g of touched) patch[`groups[${g}].count`] = groups[g].count;
    for (const g of created) patch[`groups[${g}]`] = groups[g];
    return patch;
  }

  /** Reach-bottom: the next page, appended by path. */
  loadMore(): Promise<void> {
    if (!this.pager || this.state.pageEnd || this.state.loading || this.busy) return this.busy || Promise.resolve();
    const gen = this.generation;
    const pager = this.pager;
    this.set({ loadingMore: true });
    this.busy = (async () => {
      try {
        const page = await pager.next();
        if (gen !== this.generation) return;
        this.state.loadingMore = false;
        this.state.pageEnd = page.pageEnd;
        const patch = this.relabel(this.appendInto(page.events, {}));
        patch.loadingMore = false;
        patch.pageEnd = page.pageEnd;
        if (this.state.selecting && this.state.allSelected) {
          this.state.allSelected = false;
          patch.allSelected = false;
        }
        this.emit(patch);
      } catch (e) {
        if (gen === this.generation) this.set({ loadingMore: false, error: iotUserText(e) });
      } finally {
        this.busy = undefined;
      }
    })();
    return this.busy;
  }

  toggleChip(key: string): Promise<void> {
    const i = this.state.chips.findIndex((c) => c.key === key);
    if (i < 0) return Promise.resolve();
    const active = !this.state.chips[i].active;
    this.state.chips[i].active = active;
    this.emit({ [`chips[${i}].active`]: active });
    return this.refresh();
  }

  pickDay(index: number): Promise<void> {
    if (!(index >= 0 && index < this.state.dayLabels.length)) return Promise.resolve();
    this.set({ dayIndex: index });
    return this.refresh();
  }

  /** <image binderror>: the row shows its fallback instead. */
  thumbFailed(g: number, i: number): void {
    const row = this.state.groups[g] && this.state.groups[g].items[i];
    if (!row || row.thumbFailed) return;
    row.thumbFailed = true;
    row.thumb = '';
    this.emit({ [`groups[${g}].items[${i}].thumbFailed`]: true, [`groups[${g}].items[${i}].thumb`]: '' });
  }

  toggleSelecting(): void {
    const selecting = !this.state.selecting;
    const patch: Record<string, unknown> = { selecting, selectedCount: 0 };
    if (!selecting) {
      this.state.groups.forEach((group, g) =>
        group.items.forEach((row, i) => {
          if (row.selected) {
            row.selected = false;
            patch[`groups[${g}].items[${i}].selected`] = false;
          }
        }),
      );
    }
    this.state.selecting = selecting;
    this.state.selectedCount = 0;
    this.state.allSelected = false;
    patch.allSelected = false;
    this.emit(patch);
  }

  private loadedCount(): number {
    return this.state.groups.reduce((n, group) => n + group.items.length, 0);
  }

  /** 全选: selects every loaded event, or clears the selection when all of them already are. */
  toggleSelectAll(): void {
    if (!this.state.selecting) return;
    const on = !this.state.allSelected;
    const patch: Record<string, unknown> = {};
    this.state.groups.forEach((group, g) =>
      group.items.forEach((row, i) => {
        if (row.selected !== on) {
          row.selected = on;
          patch[`groups[${g}].items[${i}].selected`] = on;
        }
      }),
    );
    this.state.selectedCount = on ? this.loadedCount() : 0;
    this.state.allSelected = on;
    this.emit({ ...patch, selectedCount: this.state.selectedCount, allSelected: on });
  }

  toggleSelect(g: number, i: number): void {
    const row = this.state.groups[g] && this.state.groups[g].items[i];
    if (!row || !this.state.selecting) return;
    row.selected = !row.selected;
    this.state.selectedCount += row.selected ? 1 : -1;
    this.state.allSelected = this.state.selectedCount === this.loadedCount();
    this.emit({ [`groups[${g}].items[${i}].selected`]: row.selected, selectedCount: this.state.selectedCount, allSelected: this.state.allSelected });
  }

  selectedIds(): string[] {
    const ids: string[] = [];
    for (const group of this.state.groups) for (const row of group.items) if (row.selected) ids.push(row.alarmId);
    return ids;
  }

  /** The confirmation text the page shows before deleting. */
  deleteConfirmText(): string {
    return `删除选中的 ${this.state.selectedCount} 个事件？删除后无法恢复。`;
  }

  /** Deletes the selected events (batches of 100), then drops them from the list. */
  async deleteSelected(): Promise<number> {
    const ids = this.selectedIds();
    if (!ids.length) return 0;
    try {
      for (let k = 0; k < ids.length; k += 100) await this.vas.deleteEvents(this.o.deviceId, ids.slice(k, k + 100));
    } catch (e) {
      this.set({ error: iotUserText(e) });
      return 0;
    }
    const gone = new Set(ids);
    const groups: EventGroupView[] = [];
    for (const group of this.state.groups) {
      const items = group.items.filter((r) => !gone.has(r.alarmId));
      if (items.length) groups.push({ ...group, items, count: items.length });
    }
    this.state.groups = groups;
    this.relabel({});
    this.set({ groups, selecting: false, selectedCount: 0, allSelected: false, empty: groups.length === 0 && this.state.pageEnd, message: `已删除 ${ids.length} 个事件` });
    if (!groups.length && !this.state.pageEnd) await this.loadMore();
    return ids.length;
  }

  detailUrl(g: number, i: number): string {
    const row = this.state.groups[g] && this.state.groups[g].items[i];
    if (!row) return '';
    return `/pages/event-detail/index?deviceId=${this.o.deviceId}&alarmId=${row.alarmId}&startTime=${row.startTime}`;
  }
}
