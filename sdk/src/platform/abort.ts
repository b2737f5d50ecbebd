/**
 * A minimal AbortController: the mini-program runtime has none.
 * `signal.onAbort(fn)` returns an unsubscribe function; a listener added after abort runs at once.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  onAbort(listener: (reason: unknown) => void): () => void;
}

export class AbortControllerLike {
  private listeners: Array<(reason: unknown) => void> = [];
  private state: { aborted: boolean; reason: unknown } = { aborted: false, reason: undefined };
  readonly signal: AbortSignalLike;

  constructor() {
    const self = this;
    this.signal = {
      get aborted() {
        return self.state.aborted;
      },
      get reason() {
        return self.state.reason;
      },
      onAbort(listener) {
        if (self.state.aborted) {
          listener(self.state.reason);
          return () => undefined;
        }
        self.listeners.push(listener);
        return () => {
          self.listeners = self.listeners.filter((l) => l !== listener);
        };
      },
    };
  }

  abort(reason: unknown = 'aborted'): void {
    if (this.state.aborted) return;
    this.state = { aborted: true, reason };
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l(reason);
  }
}

/** A signal that aborts when any of the given signals does. */
export function anySignal(signals: Array<AbortSignalLike | undefined>): AbortSignalLike {
  const c = new AbortControllerLike();
  for (const s of signals) if (s) s.onAbort((r) => c.abort(r));
  return c.signal;
}
