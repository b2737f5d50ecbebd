/**
 * A gate the test controls: whatever arrives at it waits until the test lets it through. Used by the wx runtime's
 * `hold` fault (a network task waits before connecting) so a test can observe "the upload is in progress" without
 * racing a timer:
 *
 *   const gate = createGate('parts');
 *   rt.faults.add({ match: { method: 'PUT', url: /partNumber=/ }, times: Infinity, action: { type: 'hold', gate } });
 *   await gate.waiting(1);   // a part reached the gate (no sleeps: resolved by the arrival itself)
 *   gate.release(1);         // let the oldest one through
 *   gate.open();             // let everything through, now and later
 *
 * Every wait here is resolved by an event (arrival, release), never by polling or a clock.
 */

export interface GatePass {
  /** Resolves when the gate lets this arrival through (or when it left). */
  readonly passed: Promise<void>;
  /** The arrival gave up (its task was aborted): it stops waiting and no longer counts as waiting. */
  leave(): void;
}

export interface Gate {
  readonly name: string;
  /** How many arrivals wait at the gate now. */
  readonly held: number;
  /** How many arrived so far (passed, waiting, or left). */
  readonly arrived: number;
  /** How many were let through so far. */
  readonly passedCount: number;
  readonly isOpen: boolean;
  /** For the runtime: arrive at the gate. */
  enter(): GatePass;
  /** Let the `n` oldest waiting arrivals through; if fewer wait, the next arrivals pass at once until `n` is spent. */
  release(n?: number): void;
  /** Let everything through, now and later (until close()). */
  open(): void;
  /** Later arrivals wait again (those already let through are not affected). */
  close(): void;
  /** Resolves once at least `n` arrivals wait at the gate at the same time. */
  waiting(n?: number): Promise<void>;
  /** Resolves once at least `n` arrivals reached the gate in total. */
  arrivals(n: number): Promise<void>;
  /** Resolves once at least `n` arrivals were let through in total. */
  passes(n: number): Promise<void>;
}

export function createGate(name = 'gate'): Gate {
  const queue: Array<{ resolve: () => void }> = [];
  let arrived = 0;
  let passed = 0;
  let credits = 0;
  let opened = false;
  const watchers: Array<{ test: () => boolean; resolve: () => void }> = [];
  const notify = () => {
    for (const w of [...watchers]) {
      if (w.test()) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const when = (test: () => boolean) => (test() ? Promise.resolve() : new Promise<void>((resolve) => watchers.push({ test, resolve })));
  const letThrough = (w: { resolve: () => void }) => {
    passed++;
    w.resolve();
  };
  const gate: Gate = {
    name,
    get held() {
      return queue.length;
    },
    get arrived() {
      return arrived;
    },
    get passedCount() {
      return passed;
    },
    get isOpen() {
      return opened;
    },
    enter(): GatePass {
      arrived++;
      let resolve!: () => void;
      const p = new Promise<void>((r) => (resolve = r));
      const w = { resolve };
      if (opened) letThrough(w);
      else if (credits > 0) {
        credits--;
        letThrough(w);
      } else queue.push(w);
      notify();
      return {
        passed: p,
        leave() {
          const i = queue.indexOf(w);
          if (i < 0) return;
          queue.splice(i, 1);
          w.resolve();
          notify();
        },
      };
    },
    release(n = 1) {
      for (let k = 0; k < n; k++) {
        const w = queue.shift();
        if (w) letThrough(w);
        else credits++;
      }
      notify();
    },
    open() {
      opened = true;
      credits = 0;
      while (queue.length) letThrough(queue.shift()!);
      notify();
    },
    close() {
      opened = false;
    },
    waiting: (n = 1) => when(() => queue.length >= n),
    arrivals: (n) => when(() => arrived >= n),
    passes: (n) => when(() => passed >= n),
  };
  return gate;
}
