/**
 * Waits for an effect: polls `cond` (sync or async) every 5 ms until it holds. `timeoutMs` is only a guard against a
 * hang, generous on purpose (a loaded 2-core CI machine): nothing may rely on it elapsing, and nothing here times how
 * long the effect took. Fails with `what` in the message.
 */
export async function until(cond: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
