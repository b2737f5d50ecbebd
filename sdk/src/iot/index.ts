/**
 * IoT Video (Tencent IoTVideo): IVVAS value-added services (cloud storage, events), IVMessageMgr thing-model calls,
 * the typed error table, and helpers (type masks, image URLs, paging, m3u8 chaining, day ranges).
 * Everything goes through your AppServer (AppClient); the mini-program never holds a cloud secret.
 */
export * from './errors';
export * from './helpers';
export * from './types';
export { IoTTransport, IV_OK, IV_NO_RECORDS } from './transport';
export type { IoTClientOptions } from './transport';
export { IVVAS } from './vas';
export { IoTEventPager } from './pager';
export type { IoTEventPagerOptions, IoTEventPage } from './pager';
export { IoTPlaybackChain } from './playback';
export type { IoTPlaybackChainOptions } from './playback';
export { IVMessageMgr, IV_MAX_DATA_SIZE } from './message';
