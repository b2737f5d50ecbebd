/**
 * The SDK side of the bad-input table (issue 15 part 3; docs/errors.md "SDK"): rows that each give one SDK client
 * (VODUpload, TencentVodUploader, AliMediaDownloader, PolyvPlayer, IVVAS / IVMessageMgr) one kind of bad input — an
 * option, a file, or a callback of the app's that throws — through the Node wx runtime and our wx adapter against a
 * real dev stack. Each case names what it gives and what must come out: the SDK error code, the terminal events in
 * order, and for throwing callbacks the warning that names the callback. test/hostile/sdk-table.test.ts also checks
 * that every case left its runtime idle (nothing stuck: no request, timer or delivery pending) and that nothing
 * escaped (an unhandled rejection or uncaught exception fails the test).
 */
import { randomBytes } from 'node:crypto';
import { AppClient, createWxAdapter } from '../../sdk/src';
import type { PlatformAdapter } from '../../sdk/src';
import { startDevStack, type DevStack } from '../../server';
import { createWxRuntime, type WxRuntime } from '../harness/wx-runtime';
import { until } from '../harness/until';

export interface SdkOutcome {
  /** The SDK error code the app sees (thrown, returned through lastError, or reported), or 'OK' when the operation succeeded. */
  code: string | number | undefined;
  message: string;
  /** Terminal events the app got, in order (e.g. ['onUploadFailed:FileNotFound', 'onUploadEnd']). */
  terminal: string[];
}

export interface SdkExpectation {
  code: string | number;
  /** Exact terminal events, in order (omit for synchronous throws). */
  terminal?: string[];
  /** A warning (adapter.warn) that must have been logged, e.g. naming the callback that threw. */
  warn?: RegExp;
}

export interface SdkCase {
  /** The case as it appears in the test name and docs/errors.md. */
  name: string;
  expect: SdkExpectation;
  /** A known bug in code this helper does not own: the case runs as `test.failing` until it is fixed (see docs/errors.md). */
  knownBug?: string;
  run(env: SdkEnv, ctx: SdkCaseContext): Promise<SdkOutcome>;
}

export interface SdkRow {
  /** "<client> <kind>", e.g. "VODUpload options". */
  name: string;
  cases: SdkCase[];
}

export interface SdkCaseContext {
  /** A fresh runtime (closed after the case; checked idle first). */
  rt: WxRuntime;
  /** Our wx adapter over it, with the app's timers, and warnings recorded in `warnings`. */
  adapter: PlatformAdapter;
  warnings: string[];
  /** A logged-in AppClient over the same adapter. */
  app: AppClient;
}

export interface SdkEnv {
  stack: DevStack;
  context(opts?: { hostMap?: Record<string, string> }): SdkCaseContext;
  close(): Promise<void>;
}

export async function startSdkEnv(): Promise<SdkEnv> {
  const stack = await startDevStack({ quiet: true, env: {} });
  const runtimes: WxRuntime[] = [];
  return {
    stack,
    context(opts = {}) {
      const rt = createWxRuntime({
        wechatUrl: stack.cloud!.wechat,
        openid: `osdk${randomBytes(6).toString('hex')}`,
        hostMap: { 'vod2.qcloud.com': stack.cloud!.tvod, 'vod2.dnsv1.com': stack.cloud!.tvod, ...(opts.hostMap || {}) },
      });
      runtimes.push(rt);
      const warnings: string[] = [];
      const adapter: PlatformAdapter = {
        ...createWxAdapter(rt.wx),
        setTimeout: rt.timers.setTimeout,
        clearTimeout: rt.timers.clearTimeout,
        warn: (m: string, ...a: unknown[]) => {
          warnings.push([m, ...a.map((x) => (x instanceof Error ? x.message : String(x)))].join(' '));
        },
      };
      const app = new AppClient({ baseUrl: stack.appServerUrl, adapter });
      return { rt, adapter, warnings, app };
    },
    async close() {
      for (const rt of runtimes) await rt.close();
      await stack.close();
    },
  };
}

/** A synchronous call that must throw a MediaKitError: its code and message (code 'NO THROW' when it returned). */
export function thrown(fn: () => unknown): SdkOutcome {
  try {
    fn();
  } catch (e) {
    const err = e as { code?: string | number; message?: string };
    return { code: err && err.code !== undefined ? err.code : `not a MediaKitError: ${String(e)}`, message: (err && err.message) || '', terminal: [] };
  }
  return { code: 'NO THROW', message: '', terminal: [] };
}

/** A promise that must reject: its code and message ('OK' when it resolved). */
export async function rejected(p: Promise<unknown> | unknown): Promise<SdkOutcome> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string | number; message?: string };
    return { code: err && err.code !== undefined ? err.code : `not a MediaKitError: ${String(e)}`, message: (err && err.message) || '', terminal: [] };
  }
  return { code: 'OK', message: '', terminal: [] };
}

/**
 * Waits until `done()` holds, or until the runtime is idle with `done()` still false across a macrotask turn: then
 * nothing can happen any more without an outside event, and the operation is stuck (returns false).
 */
export async function settles(rt: WxRuntime, done: () => boolean): Promise<boolean> {
  for (;;) {
    await until(() => done() || rt.idle(), 'the operation to end or the runtime to go idle');
    if (done()) return true;
    await new Promise<void>((r) => setImmediate(r));
    if (done()) return true;
    if (rt.idle()) return false;
  }
}
