/**
 * IVVAS: the IoT Video value-added services (云存 / 事件) with the seed's calls. Every call returns a Promise of the
 * seed's `{code, msg, data}` JSON and also accepts the seed's `responseHandler(json, error)` as its last argument.
 * Code 0 and 10010 (no records) resolve; other codes reject with IoTError; bad arguments reject with
 * MediaKitError IOT_INVALID_PARAMETER before any request.
 */
import { MediaKitError } from '../errors';
import { IOT_INVALID_PARAMETER } from './errors';
import {
  iotCheckDeviceId,
  iotCheckPageSize,
  iotCheckTime,
  iotCheckTimezone,
  iotNormalizeMasks,
  iotParseEndflag,
  iotMatchTypeMasks,
  iotImageUrl,
  iotThumbUrl,
} from './helpers';
import { deliver, IoTClientOptions, IoTTransport, IV_OK } from './transport';
import type {
  IoTDeviceList,
  IoTEvent,
  IoTEventItem,
  IoTEventList,
  IoTPlayAddress,
  IoTServiceDetail,
  IoTVideoDateList,
  IoTVideoPlayList,
  IVResponse,
  IVResponseHandler,
} from './types';

function normalizeEventList(json: IVResponse<IoTEventList>): IVResponse<IoTEventList> {
  const d = json.data;
  if (json.code !== IV_OK || !d) return json;
  const list = Array.isArray(d.list) ? d.list : [];
  const valid = Number(d.validVideoStartTime !== undefined ? d.validVideoStartTime : d.validStartTime) || 0;
  return {
    ...json,
    data: {
      imgUrlPrefix: typeof d.imgUrlPrefix === 'string' ? d.imgUrlPrefix : '',
      thumbUrlSuffix: typeof d.thumbUrlSuffix === 'string' ? d.thumbUrlSuffix : '',
      list: list.map((e) => ({
        alarmId: String(e.alarmId),
        firstAlarmType: Number(e.firstAlarmType) >>> 0,
        alarmType: Number(e.alarmType) >>> 0,
        startTime: Number(e.startTime),
        endTime: Number(e.endTime),
        imgUrlSuffix: typeof e.imgUrlSuffix === 'string' ? e.imgUrlSuffix : '',
      })),
      validVideoStartTime: valid,
      validStartTime: valid,
      pageEnd: d.pageEnd === true || (d.pageEnd as unknown) === 'true' || (d.pageEnd as unknown) === 1,
    },
  };
}

export class IVVAS {
  private readonly t: IoTTransport;

  constructor(options: IoTClientOptions) {
    this.t = new IoTTransport(options);
  }

  /** Cloud-storage details of a device (channel `sourceId` for multi-channel devices). */
  getServiceDetailInfo(deviceId: string, responseHandler?: IVResponseHandler<IoTServiceDetail>): Promise<IVResponse<IoTServiceDetail>>;
  getServiceDetailInfo(deviceId: string, sourceId: number, responseHandler?: IVResponseHandler<IoTServiceDetail>): Promise<IVResponse<IoTServiceDetail>>;
  getServiceDetailInfo(
    deviceId: string,
    a?: number | IVResponseHandler<IoTServiceDetail>,
    b?: IVResponseHandler<IoTServiceDetail>,
  ): Promise<IVResponse<IoTServiceDetail>> {
    const handler = typeof a === 'function' ? a : b;
    const sourceId = typeof a === 'number' ? a : undefined;
    return deliver(() => {
      const body: Record<string, unknown> = { deviceId: iotCheckDeviceId(deviceId) };
      if (sourceId !== undefined) {
        if (!Number.isInteger(sourceId) || sourceId < 0 || sourceId > 255) {
          throw new MediaKitError(IOT_INVALID_PARAMETER, `sourceId must be a channel number 0..255 (got ${sourceId}).`, { sourceId });
        }
        body.sourceId = sourceId;
      }
      return this.t.post<IoTServiceDetail>('/vas/cloudstorage/describe', body);
    }, handler, this.t);
  }

  /** Days with cloud video; `timezone` = seconds from UTC (UTC+8 → 28800). */
  getVideoDateList(deviceId: string, timezone: number, responseHandler?: IVResponseHandler<IoTVideoDateList>): Promise<IVResponse<IoTVideoDateList>> {
    return deliver(
      () => this.t.post<IoTVideoDateList>('/vas/playback/datelist', { deviceId: iotCheckDeviceId(deviceId), timezone: iotCheckTimezone(timezone) }),
      responseHandler,
      this.t,
    );
  }

  /** Recorded segments in [startTime, endTime] (UTC seconds); a range over one day answers its first day only. */
  getVideoPlayList(deviceId: string, startTime: number, endTime: number, responseHandler?: IVResponseHandler<IoTVideoPlayList>): Promise<IVResponse<IoTVideoPlayList>> {
    return deliver(() => {
      const body = { deviceId: iotCheckDeviceId(deviceId), startTime: iotCheckTime('startTime', startTime), endTime: iotCheckTime('endTime', endTime) };
      if (endTime < startTime) throw new MediaKitError(IOT_INVALID_PARAMETER, 'endTime must not be before startTime.', body);
      return this.t.post<IoTVideoPlayList>('/vas/playback/list', body);
    }, responseHandler, this.t);
  }

  /**
   * An m3u8 for [startTime, endTime] (endTime 0 = up to the latest). When `endflag` is false the m3u8 stops at
   * `data.endTime`: ask again from there (IoTPlaybackChain does that).
   */
  getVideoPlayAddress(deviceId: string, startTime: number, endTime: number, responseHandler?: IVResponseHandler<IoTPlayAddress>): Promise<IVResponse<IoTPlayAddress>> {
    return deliver(async () => {
      const body = { deviceId: iotCheckDeviceId(deviceId), startTime: iotCheckTime('startTime', startTime), endTime: iotCheckTime('endTime', endTime) };
      if (endTime !== 0 && endTime <= startTime) throw new MediaKitError(IOT_INVALID_PARAMETER, 'endTime must be after startTime (or 0 for "up to now").', body);
      const json = await this.t.post<IoTPlayAddress>('/vas/playback/play', body);
      if (json.code === IV_OK && json.data) {
        json.data = { ...json.data, startTime: Number(json.data.startTime), endTime: Number(json.data.endTime), endflag: iotParseEndflag(json.data.endflag) };
      }
      return json;
    }, responseHandler, this.t);
  }

  /**
   * Events in [startTime, endTime], newest first, at most pageSize (1..50). `filterTypeMask`: OR of bits within a
   * mask, AND across masks (null / 0 / [] = all types). `validCloudStorage`: only events inside valid cloud storage.
   * Load more by passing the last event's startTime as the next endTime (IoTEventPager does that and drops the
   * boundary duplicates). An empty result is code 10010.
   */
  getEventList(
    deviceId: string,
    startTime: number,
    endTime: number,
    pageSize: number,
    filterTypeMask: number | ReadonlyArray<number> | null | undefined,
    validCloudStorage: boolean,
    responseHandler?: IVResponseHandler<IoTEventList>,
  ): Promise<IVResponse<IoTEventList>> {
    return deliver(async () => {
      const body = {
        deviceId: iotCheckDeviceId(deviceId),
        startTime: iotCheckTime('startTime', startTime),
        endTime: iotCheckTime('endTime', endTime),
        pageSize: iotCheckPageSize(pageSize),
        filterTypeMask: iotNormalizeMasks(filterTypeMask),
        validCloudStorage: !!validCloudStorage,
      };
      if (endTime < startTime) throw new MediaKitError(IOT_INVALID_PARAMETER, 'endTime must not be before startTime.', { startTime, endTime });
      return normalizeEventList(await this.t.post<IoTEventList>('/vas/event/list', body));
    }, responseHandler, this.t);
  }

  /** Deletes events by alarmId (batch, at most 100). */
  deleteEvents(deviceId: string, eventIds: ReadonlyArray<string>, responseHandler?: IVResponseHandler<null>): Promise<IVResponse<null>> {
    return deliver(() => {
      if (!Array.isArray(eventIds) || eventIds.length === 0 || eventIds.length > 100 || eventIds.some((id) => typeof id !== 'string' || !id || id.length > 64)) {
        throw new MediaKitError(IOT_INVALID_PARAMETER, 'eventIds must be 1..100 non-empty alarmId strings.', { count: Array.isArray(eventIds) ? eventIds.length : undefined });
      }
      return this.t.post<null>('/vas/event/remove', { deviceId: iotCheckDeviceId(deviceId), eventIds: eventIds.slice() });
    }, responseHandler, this.t);
  }

  /** The devices bound to the logged-in user (not part of IVVAS; the demo's Devices tab). */
  getDeviceList(responseHandler?: IVResponseHandler<IoTDeviceList>): Promise<IVResponse<IoTDeviceList>> {
    return deliver(() => this.t.post<IoTDeviceList>('/devices/list', {}), responseHandler, this.t);
  }

  static matchTypeMasks = iotMatchTypeMasks;

  /** Resolves an event's image and thumbnail URLs from its page's prefix / suffixes. */
  static eventItem(page: Pick<IoTEventList, 'imgUrlPrefix' | 'thumbUrlSuffix'>, e: IoTEvent): IoTEventItem {
    return { ...e, imgUrl: iotImageUrl(page.imgUrlPrefix, e.imgUrlSuffix), thumbUrl: iotThumbUrl(page.imgUrlPrefix, e.imgUrlSuffix, page.thumbUrlSuffix) };
  }
}
