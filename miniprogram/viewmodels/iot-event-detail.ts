/**
 * View-model of the event detail page: the event's image, times and types, and the cloud recording around it
 * played from the m3u8 in <video> (further m3u8 parts chained on `bindended` while endflag is false).
 */
import { iotUserText } from './iot-errors';
import {
  AppClient,
  IoTEventItem,
  IoTPlaybackChain,
  iotDayKey,
  iotFormatDuration,
  iotFormatTime,
  iotHasVideo,
  iotLocalTimezone,
  iotTypeLabels,
  IVVAS,
} from 'mp-media-sdk';
import { eventNeighbours, markEventDeleted, SharedData } from './iot-event-nav';

/** Seconds of recording shown before and after the event. */
export const DETAIL_PAD_SECONDS = 5;

export interface EventDetailState {
  loading: boolean;
  error: string;
  alarmId: string;
  image: string;
  imageFailed: boolean;
  date: string;
  times: string;
  duration: string;
  types: string;
  firstType: string;
  hasVideo: boolean;
  /** none | loading | ready | ended | error */
  video: string;
  videoSrc: string;
  videoPart: number;
  videoNote: string;
  /** 上一条 (newer) / 下一条 (older) in the event list's order. */
  hasPrev: boolean;
  hasNext: boolean;
  /** A delete is in flight: the button is busy and a second tap sends nothing. */
  deleting: boolean;
}

export interface EventDetailOptions {
  appClient: AppClient;
  deviceId: string;
  alarmId: string;
  startTime: number;
  onChange: (patch: Record<string, unknown>) => void;
  timezone?: number;
  /** Shared with the event list (the App's globalData). */
  shared?: SharedData;
}

export class EventDetailViewModel {
  readonly state: EventDetailState = {
    loading: false,
    error: '',
    alarmId: '',
    image: '',
    imageFailed: false,
    date: '',
    times: '',
    duration: '',
    types: '',
    firstType: '',
    hasVideo: false,
    video: 'none',
    videoSrc: '',
    videoPart: 0,
    videoNote: '',
    hasPrev: false,
    hasNext: false,
    deleting: false,
  };
  private readonly vas: IVVAS;
  private readonly timezone: number;
  private readonly shared: SharedData;
  private chain: IoTPlaybackChain | undefined;
  event: IoTEventItem | undefined;

  constructor(private readonly o: EventDetailOptions) {
    this.vas = new IVVAS({ appClient: o.appClient });
    this.timezone = o.timezone === undefined ? iotLocalTimezone() : o.timezone;
    this.state.alarmId = o.alarmId;
    this.shared = o.shared || {};
    const n = eventNeighbours(this.shared, o.deviceId, o.alarmId);
    this.state.hasPrev = Boolean(n.prev);
    this.state.hasNext = Boolean(n.next);
  }

  /** The detail URL of the newer ('prev') or older ('next') event, '' when there is none. */
  neighbourUrl(which: 'prev' | 'next'): string {
    const e = eventNeighbours(this.shared, this.o.deviceId, this.o.alarmId)[which];
    return e ? `/pages/event-detail/index?deviceId=${this.o.deviceId}&alarmId=${e.alarmId}&startTime=${e.startTime}` : '';
  }

  /** Deletes this event (once: no second request while one is in flight). */
  async deleteEvent(): Promise<boolean> {
    if (this.state.deleting) return false;
    this.set({ deleting: true, error: '' });
    try {
      await this.vas.deleteEvents(this.o.deviceId, [this.o.alarmId]);
      markEventDeleted(this.shared, this.o.deviceId, this.o.alarmId);
      this.set({ deleting: false });
      return true;
    } catch (err) {
      this.set({ deleting: false, videoNote: `删除失败：${iotUserText(err)}` });
      return false;
    }
  }

  private set(patch: Partial<EventDetailState>): void {
    Object.assign(this.state, patch);
    this.o.onChange(patch as Record<string, unknown>);
  }

  async load(): Promise<void> {
    if (!this.o.deviceId || !this.o.alarmId || !(this.o.startTime > 0)) return this.set({ error: '缺少事件参数（deviceId / alarmId / startTime）' });
    this.set({ loading: true, error: '' });
    try {
      // The event list is the only IVVAS query for events: ask for the event's own second.
      const r = await this.vas.getEventList(this.o.deviceId, this.o.startTime, this.o.startTime, 50, null, false);
      const found = r.code === 0 && r.data ? r.data.list.find((e) => e.alarmId === this.o.alarmId) : undefined;
      if (!found || !r.data) return this.set({ loading: false, error: '事件不存在或已被删除' });
      const e = IVVAS.eventItem(r.data, found);
      this.event = e;
      const tz = this.timezone;
      this.set({
        loading: false,
        image: e.imgUrl,
        date: iotDayKey(e.startTime, tz),
        times: `${iotFormatTime(e.startTime, tz)} – ${iotFormatTime(e.endTime, tz)}`,
        duration: iotFormatDuration(e.endTime - e.startTime),
        types: iotTypeLabels(e.alarmType).filter((t) => t !== '有视频').join('、') || '事件',
        firstType: iotTypeLabels(e.firstAlarmType).join(' · '),
        hasVideo: iotHasVideo(e.alarmType),
      });
    } catch (err) {
      return this.set({ loading: false, error: iotUserText(err) });
    }
    await this.startVideo();
  }

  /** The first m3u8 of the recording around the event. */
  async startVideo(): Promise<void> {
    const e = this.event;
    if (!e) return;
    if (!this.state.hasVideo) return this.set({ video: 'none', videoNote: '该事件没有云存录像' });
    this.chain = new IoTPlaybackChain(this.vas, this.o.deviceId, Math.max(0, e.startTime - DETAIL_PAD_SECONDS), e.endTime + DETAIL_PAD_SECONDS);
    this.set({ video: 'loading', videoNote: '' });
    try {
      const part = await this.chain.next();
      if (!part) return this.set({ video: 'none', videoNote: '云存录像已过期或不可用' });
      this.set({ video: 'ready', videoSrc: part.url, videoPart: 1 });
    } catch (err) {
      this.set({ video: 'error', videoNote: iotUserText(err) });
    }
  }

  /** <video bindended>: play the next m3u8 part, if any. */
  async videoEnded(): Promise<void> {
    if (!this.chain) return;
    try {
      const part = this.chain.done ? null : await this.chain.next();
      if (!part) return this.set({ video: 'ended' });
      this.set({ videoSrc: part.url, videoPart: this.state.videoPart + 1, video: 'ready' });
    } catch (err) {
      this.set({ video: 'error', videoNote: iotUserText(err) });
    }
  }

  /** <video binderror>. */
  videoError(errMsg: string): void {
    this.set({ video: 'error', videoNote: `播放失败：${errMsg || '未知错误'}` });
  }

  imageError(): void {
    this.set({ imageFailed: true });
  }
}
