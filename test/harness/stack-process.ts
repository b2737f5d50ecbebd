/**
 * The dev stack in its own Node process, for page tests and benchmarks: the servers then share neither the client's
 * event loop and heap nor (for page tests) jsdom's globals. stack-child.ts prints one JSON line with the URLs and runs
 * until its stdin closes.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { CloudUrls } from '../../server/cloud/context';

export interface StackProcess {
  appServerUrl: string;
  cloudUrl: string;
  cloud: CloudUrls;
  dataDir: string;
  close(): Promise<void>;
}

export function startStackProcess(opts: { env?: Record<string, string> } = {}): Promise<StackProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, 'stack-child.ts')], {
      cwd: path.resolve(__dirname, '../..'),
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(opts.env || {}), NODE_ENV: 'test' },
    });
    let out = '';
    let err = '';
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      let info: Omit<StackProcess, 'close'>;
      try {
        info = JSON.parse(out.slice(0, nl));
      } catch {
        reject(new Error(`stack-child printed something else: ${out}`));
        return;
      }
      resolve({
        ...info,
        async close() {
          if (child.exitCode === null && child.signalCode === null) {
            child.stdin!.end();
            // a cap against a hung child, not a wait for an effect: a healthy child exits as soon as its servers closed
            const t = setTimeout(() => child.kill('SIGKILL'), 15000);
            await exited;
            clearTimeout(t);
          }
          // the child removes its own temp data folder on close; a killed child cannot, so make sure here
          rmSync(info.dataDir, { recursive: true, force: true, maxRetries: 3 });
        },
      });
    });
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`stack-child exited with ${code}: ${err}`));
    });
  });
}
