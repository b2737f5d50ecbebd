/**
 * IoTEventPager: pages getEventList newest-first by passing the last event's startTime as the next endTime, as the
 * IVVAS docs prescribe. The boundary second is asked for again (endTime is inclusive), so the pager
 *   - drops events it has already returned (by alarmId), and
 *   - asks for pageSize + (events already seen at the boundary second), capped at 50, so several events sharing one
 *     startTime never stall or skip the paging.
 * Only when more than 50 events share one second can it not page through them by time; it then steps the cursor one
 * second back and counts that in `skippedSeconds` (a possible gap, reported rather than hidden).
 */
import { IOT_MAX_PAGE_SIZE, iotCheckPageSize, iotNormalizeMasks } from './helpers';
import { IV_NO_RECORDS } from './transport';
import { IVVAS } from './vas';
import type { IoTEventItem } from './types';

export interface IoTEventPagerOptions {
  deviceId: string;
  startTime: number;
  endTime: number;
  /** 1..50 (default 20). */
  pageSize?: number;
  typeMasks?: number | ReadonlyArray<number> | null;
  validCloudStorage?: boolean;
}

export interface IoTEventPage {
  /** Events new to this pager, newest first. */
  events: IoTEventItem[];
  pageEnd: boolean;
}

export class IoTEventPager {
  readonly options: Required<Omit<IoTEventPagerOptions, 'typeMasks'>> & { typeMasks: number[] };
  private cursor: number;
  private seen = new Set<string>();
  private atCursor = 0;
  private ended = false;
  /** Requests made so far. */
  requests = 0;
  /** Seconds stepped over because more than 50 events shared them (0 in every normal case). */
  skippedSeconds = 0;
  imgUrlPrefix = '';
  thumbUrlSuffix = '';
  validVideoStartTime = 0;

  constructor(private readonly vas: IVVAS, options: IoTEventPagerOptions) {
    this.options = {
      deviceId: options.deviceId,
      startTime: options.startTime,
      endTime: options.endTime,
      pageSize: iotCheckPageSize(options.pageSize === undefined ? 20 : options.pageSize),
      typeMasks: iotNormalizeMasks(options.typeMasks),
      validCloudStorage: !!options.validCloudStorage,
    };
    this.cursor = options.endTime;
  }

  get pageEnd(): boolean {
    return this.ended;
  }

  /** How many distinct events this pager has returned. */
  get count(): number {
    return this.seen.size;
  }

  /** The next page; `{events: [], pageEnd: true}` once the range is exhausted. */
  async next(): Promise<IoTEventPage> {
    const o = this.options;
    while (!this.ended) {
      const size = Math.min(IOT_MAX_PAGE_SIZE, o.pageSize + this.atCursor);
      this.requests++;
      const json = await this.vas.getEventList(o.deviceId, o.startTime, this.cursor, size, o.typeMasks, o.validCloudStorage);
      if (json.code === IV_NO_RECORDS || !json.data || json.data.list.length === 0) {
        this.ended = true;
        return { events: [], pageEnd: true };
      }
      const d = json.data;
      this.imgUrlPrefix = d.imgUrlPrefix;
      this.thumbUrlSuffix = d.thumbUrlSuffix;
      this.validVideoStartTime = d.validVideoStartTime;
      const fresh: IoTEventItem[] = [];
      for (const e of d.list) {
        if (this.seen.has(e.alarmId)) continue;
        this.seen.add(e.alarmId);
        fresh.push(IVVAS.eventItem(d, e));
      }
      const last = d.list[d.list.length - 1].startTime;
      if (last < this.cursor) {
        this.cursor = last;
        this.atCursor = d.list.filter((e) => e.startTime === last).length;
      } else {
        // Everything on this page sits at the cursor second: count what we have seen there.
        this.atCursor += fresh.filter((e) => e.startTime === this.cursor).length;
      }
      this.ended = !!d.pageEnd;
      if (fresh.length > 0 || this.ended) return { events: fresh, pageEnd: this.ended };
      // A page of nothing but duplicates. A short page means the server had nothing more (despite pageEnd=false).
      if (d.list.length < size) {
        this.ended = true;
        return { events: [], pageEnd: true };
      }
      // A full page at the cursor second: more than 50 events share it; step over it (counted as a possible gap).
      this.skippedSeconds++;
      this.cursor -= 1;
      this.atCursor = 0;
      if (this.cursor < o.startTime) {
        this.ended = true;
        return { events: [], pageEnd: true };
      }
    }
    return { events: [], pageEnd: true };
  }

  /** Every remaining page (bounded by maxPages), concatenated. */
  async all(maxPages = 1000): Promise<IoTEventItem[]> {
    const out: IoTEventItem[] = [];
    for (let i = 0; i < maxPages && !this.ended; i++) out.push(...(await this.next()).events);
    return out;
  }
}
