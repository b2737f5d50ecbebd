/**
 * The dev stack in its own process for benchmarks: prints one JSON line with its URLs, runs until stdin closes.
 */
import { startDevStack } from '../server';

async function main(): Promise<void> {
  const stack = await startDevStack({ quiet: true });
  const close = async () => {
    await stack.close();
    process.exit(0);
  };
  process.stdin.on('end', () => void close());
  process.stdin.resume();
  process.on('SIGTERM', () => void close());
  process.stdout.write(`${JSON.stringify({ appServerUrl: stack.appServerUrl, cloud: stack.cloud, dataDir: stack.dataDir })}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench stack failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
