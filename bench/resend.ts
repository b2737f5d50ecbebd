/**
 * Bytes re-sent after a restart at ~50 %: VODUpload uploads a file (default 64 MiB) through a Node wx runtime; when
 * half of the parts are confirmed the runtime is killed (rt.kill(): in-flight parts are lost and nothing — no fail
 * callback, no retry timer, no storage write — reaches the first VODUpload any more). A NEW runtime
 * on the same sandbox (same storage, same temp file) and a NEW VODUpload finish the upload from the checkpoint
 * (ListParts is the truth). Re-sent = UploadPart body bytes over both runs − the file size.
 * Target: ≤ parallel × partSize.
 *
 *   npx tsx bench/resend.ts          (BENCH_RESEND_MB=64 BENCH_PART_MB=1 BENCH_PARALLEL=5)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWxAdapter } from '../sdk/src';
import { runIfMain, client, fmtMiB, MiB, startStack, tempFile, uploadOnce } from './common';
import type { WxRuntime } from '../test/harness/wx-runtime';

export interface ResendResult {
  sizeBytes: number;
  partSize: number;
  parallel: number;
  confirmedBeforeRestart: number;
  resentBytes: number;
  budgetBytes: number;
  withinBudget: boolean;
}

const partBytes = (rt: WxRuntime) =>
  rt.requests.filter((r) => r.api === 'request' && r.method === 'PUT' && /[?&]partNumber=/.test(r.url)).reduce((a, r) => a + r.bytesSent, 0);

export async function runResend(opts: { mb?: number; partMb?: number; parallel?: number; log?: (s: string) => void } = {}): Promise<ResendResult> {
  const size = (opts.mb ?? Number(process.env.BENCH_RESEND_MB || 64)) * MiB;
  const partSize = (opts.partMb ?? Number(process.env.BENCH_PART_MB || 1)) * MiB;
  const parallel = opts.parallel ?? Number(process.env.BENCH_PARALLEL || 5);
  const log = opts.log || ((s: string) => console.log(s));
  const stack = await startStack();
  const sandboxDir = mkdtempSync(path.join(os.tmpdir(), 'bench-resend-'));
  try {
    const parts = Math.ceil(size / partSize);
    const c1 = client(stack, { sandboxDir });
    const wxPath = tempFile(c1.rt, 'resend.mp4', size);
    await c1.app.login();
    // the app's own timers (rt.timers) die with it, so the first uploader cannot retry after the kill
    const adapter = { ...createWxAdapter(c1.rt.wx), setTimeout: c1.rt.timers.setTimeout, clearTimeout: c1.rt.timers.clearTimeout };
    const first = uploadOnce(c1, wxPath, { partSize, parallel, adapter });
    first.done.catch(() => undefined); // never settles: the app was killed
    const confirmed = () => c1.rt.requests.filter((r) => r.method === 'PUT' && r.status === 200 && /partNumber=/.test(r.url)).length;
    while (confirmed() < parts / 2) await new Promise((r) => setTimeout(r, 2));
    const confirmedBefore = confirmed();
    await c1.rt.kill();
    const requests1 = c1.rt.requests.length;
    const sent1 = partBytes(c1.rt);

    const c2 = client(stack, { sandboxDir });
    const info = await uploadOnce(c2, wxPath, { partSize, parallel }).done;
    const sent2 = partBytes(c2.rt);
    await c2.close();
    await c1.close();
    if (c1.rt.requests.length !== requests1) throw new Error('the killed runtime still sent requests');
    if (info.state !== 'Success') throw new Error('resumed upload failed');
    const resent = sent1 + sent2 - size;
    const budget = parallel * partSize;
    const result: ResendResult = { sizeBytes: size, partSize, parallel, confirmedBeforeRestart: confirmedBefore, resentBytes: resent, budgetBytes: budget, withinBudget: resent <= budget };
    log(
      `resend ${fmtMiB(size)}, killed at ${confirmedBefore}/${parts} parts: re-sent ${fmtMiB(resent)}` +
        ` → ${(resent / budget).toFixed(2)}× of the budget ${fmtMiB(budget)} (parallel × partSize)`,
    );
    return result;
  } finally {
    await stack.close();
    rmSync(stack.dataDir, { recursive: true, force: true });
    rmSync(sandboxDir, { recursive: true, force: true });
  }
}

runIfMain(module, runResend);
