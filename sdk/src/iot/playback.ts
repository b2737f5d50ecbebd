/**
 * IoTPlaybackChain: plays a cloud-recording range as a chain of m3u8 URLs. getVideoPlayAddress answers one m3u8
 * with `endflag`; while endflag is false the next part starts at the returned endTime. The player asks `next()` on
 * `<video bindended>` and switches `src`.
 */
import { IoTError } from './errors';
import { IV_NO_RECORDS } from './transport';
import type { IVVAS } from './vas';
import type { IoTPlayAddress } from './types';

export interface IoTPlaybackChainOptions {
  /** Stop after this many parts (default 48: two days of one-hour m3u8s). */
  maxParts?: number;
}

export class IoTPlaybackChain {
  readonly parts: IoTPlayAddress[] = [];
  private nextStart: number;
  private finished = false;
  private readonly maxParts: number;

  /** endTime 0 = up to the latest recording. */
  constructor(private readonly vas: IVVAS, readonly deviceId: string, readonly startTime: number, readonly endTime: number, options: IoTPlaybackChainOptions = {}) {
    this.nextStart = startTime;
    this.maxParts = options.maxParts || 48;
  }

  /** No more parts to fetch. */
  get done(): boolean {
    return this.finished;
  }

  /** Fetches the next m3u8 part; null when the range is covered (or has no recording: code 10010). */
  async next(): Promise<IoTPlayAddress | null> {
    if (this.finished) return null;
    if (this.parts.length >= this.maxParts) {
      this.finished = true;
      return null;
    }
    const json = await this.vas.getVideoPlayAddress(this.deviceId, this.nextStart, this.endTime);
    if (json.code === IV_NO_RECORDS || !json.data) {
      this.finished = true;
      return null;
    }
    const part = json.data;
    if (!part.url || !(part.endTime > this.nextStart) || (this.endTime !== 0 && part.startTime > this.endTime)) {
      // The answer does not move forward: a broken list (stop instead of looping).
      this.finished = true;
      throw new IoTError(21033, `getVideoPlayAddress answered [${part.startTime}, ${part.endTime}] for a request from ${this.nextStart}`, { part });
    }
    this.parts.push(part);
    this.nextStart = part.endTime;
    if (part.endflag || (this.endTime !== 0 && part.endTime >= this.endTime)) this.finished = true;
    return part;
  }

  /** Every part up to maxParts. */
  async all(): Promise<IoTPlayAddress[]> {
    while (!this.finished) await this.next();
    return this.parts.slice();
  }
}
