/**
 * A dev stack in its own Node process, for page tests and benchmarks (see stack-process.ts).
 * Prints one JSON line with the URLs, then runs until stdin closes or SIGTERM.
 */
import { startDevStack } from '../../server';

async function main(): Promise<void> {
  const stack = await startDevStack({ quiet: true });
  const close = async () => {
    await stack.close();
    process.exit(0);
  };
  process.stdin.on('end', () => void close());
  process.stdin.resume();
  process.on('SIGTERM', () => void close());
  process.stdout.write(`${JSON.stringify({ appServerUrl: stack.appServerUrl, cloudUrl: stack.cloudUrl, cloud: stack.cloud, dataDir: stack.dataDir })}\n`);
}

main().catch((e) => {
  process.stderr.write(`stack-child failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
