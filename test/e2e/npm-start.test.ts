/**
 * `npm start`'s server process (server/main.ts): starts the AppServer + local cloud, prints the URLs and the DevTools
 * steps, serves /api/health, and stops cleanly on Ctrl-C (SIGINT) with every port closed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function waitForOutput(child: ReturnType<typeof spawn>, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
    });
  });
}

describe('npm start (server/main.ts)', () => {
  it('serves /api/health, prints URLs and DevTools steps, and stops on SIGINT with its ports closed', async () => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'server/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'npm-start-')), LOCAL_CLOUD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const out = await waitForOutput(child, /Ctrl-C stops everything/, 30000);
      const app = /AppServer\s+(http:\/\/\S+)/.exec(out)![1];
      const oss = /cloud oss\s+(http:\/\/\S+)/.exec(out)![1];
      expect(out).toMatch(/不校验合法域名/);
      const health = await (await fetch(`${app}/api/health`)).json();
      expect(health).toMatchObject({ ok: true, localCloud: true });

      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await expect(fetch(`${app}/api/health`)).rejects.toThrow();
      await expect(fetch(oss)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses an invalid PORT with a clear message and exit code 1', async () => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'server/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'abc' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/PORT must be 0-65535/);
  });
});
