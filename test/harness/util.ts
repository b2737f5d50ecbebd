/**
 * Small helpers shared by the Node wx runtime's parts.
 *
 * The runtime also runs inside jest's jsdom environment (page tests), where `setImmediate` does not exist, timers
 * return numbers, and `ArrayBuffer` / `Uint8Array` are the sandbox's own classes (different from Node core's). So:
 * defer with setTimeout, build ArrayBuffers with this realm's constructor, and test types by tag, not instanceof.
 */
import { Buffer } from 'node:buffer';

export type Timer = ReturnType<typeof setTimeout>;

/** WeChat's `{success, fail, complete}` callback bag. */
export interface Callbacks<R = any, E = any> {
  success?: (res: R) => void;
  fail?: (err: E) => void;
  complete?: (res: R | E) => void;
}

/** A script error in a user callback must not corrupt the runtime; it is re-thrown on a fresh stack (WeChat reports it). */
export function reportScriptError(e: unknown): void {
  setTimeout(() => {
    throw e;
  }, 0);
}

/** Calls a user callback, reporting (not swallowing) what it throws. */
export function safeCall<T>(fn: ((arg: T) => void) | undefined, arg: T): void {
  if (typeof fn !== 'function') return;
  try {
    fn(arg);
  } catch (e) {
    reportScriptError(e);
  }
}

/** Delivers an outcome to a callback bag, always asynchronously like WeChat (success|fail, then complete). */
export function deliver(cb: Callbacks, ok: boolean, payload: any, schedule: (fn: () => void) => void = (fn) => setTimeout(fn, 0)): void {
  schedule(() => {
    safeCall(ok ? cb.success : cb.fail, payload);
    safeCall(cb.complete, payload);
  });
}

export function isArrayBuffer(x: unknown): x is ArrayBuffer {
  return Object.prototype.toString.call(x) === '[object ArrayBuffer]';
}

/** Bytes of an ArrayBuffer / typed array / Buffer (any realm) as a Node Buffer (no copy where possible). */
export function bytesOf(x: ArrayBuffer | ArrayBufferView): Buffer {
  if (isArrayBuffer(x)) return Buffer.from(x as ArrayBuffer);
  const v = x as ArrayBufferView;
  return Buffer.from(v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
}

/** A copy of `buf` as an ArrayBuffer of THIS realm (so `instanceof ArrayBuffer` holds in the caller's code). */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

export function randomId(bytes = 8): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return s;
}

/** An Error as WeChat's synchronous APIs throw it: message and `errMsg` both carry "<api>:fail …". */
export function wxSyncError(errMsg: string): Error & { errMsg: string } {
  const e = new Error(errMsg) as Error & { errMsg: string };
  e.errMsg = errMsg;
  return e;
}

/**
 * WeChat's "Promise-ified" async APIs: with none of success/fail/complete given, they return a Promise
 * (base library >= 2.10.2). Network task APIs (request/uploadFile/downloadFile) never do.
 */
export function promisify<O extends Callbacks>(impl: (o: O) => void): (o?: O) => Promise<any> | undefined {
  return (o?: O) => {
    const opts = (o || {}) as O;
    if (opts.success || opts.fail || opts.complete) {
      impl(opts);
      return undefined;
    }
    return new Promise((resolve, reject) => impl({ ...opts, success: resolve, fail: reject }));
  };
}
