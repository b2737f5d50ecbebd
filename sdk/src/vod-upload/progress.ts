/**
 * Progress accounting for one file: bytes confirmed, a fraction that never goes backwards and reaches exactly 1 only
 * on success (capped at 0.99 before), and speed / ETA over a sliding window.
 */
export const MAX_FRACTION_BEFORE_SUCCESS = 0.99;
const WINDOW_MS = 5000;

export class ProgressMeter {
  private loaded = 0;
  private best = 0;
  private samples: Array<[number, number]> = [];

  constructor(
    readonly total: number,
    private now: () => number,
  ) {
    this.samples.push([now(), 0]);
  }

  get loadedBytes(): number {
    return this.loaded;
  }

  /** Record the bytes confirmed so far (never decreases). */
  set(bytes: number): void {
    const b = Math.max(0, Math.min(this.total, bytes));
    if (b < this.loaded) return;
    this.loaded = b;
    const t = this.now();
    this.samples.push([t, b]);
    while (this.samples.length > 2 && t - this.samples[0][0] > WINDOW_MS) this.samples.shift();
  }

  /** Bytes already there when the upload (re)started: counted in `loaded`, not in the speed. */
  resetSpeed(): void {
    this.samples = [[this.now(), this.loaded]];
  }

  fraction(success = false): number {
    if (success) return (this.best = 1);
    const f = this.total > 0 ? Math.min(MAX_FRACTION_BEFORE_SUCCESS, this.loaded / this.total) : 0;
    if (f > this.best) this.best = f;
    return this.best;
  }

  /** Bytes per second over the recent window (0 when unknown). */
  speed(): number {
    const s = this.samples;
    if (s.length < 2) return 0;
    const [t0, b0] = s[0];
    const [t1, b1] = s[s.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  /** Seconds left at the current speed. */
  eta(): number | undefined {
    const v = this.speed();
    return v > 0 ? (this.total - this.loaded) / v : undefined;
  }
}
