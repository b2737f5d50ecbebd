/**
 * `npm start`'s server process (server/main.ts): starts the AppServer + local cloud, prints the URLs and the DevTools
 * steps, serves /api/health, and stops cleanly with every port closed:
 * - server/main.ts itself on SIGINT;
 * - the real `npm start` (build included) when SIGINT or SIGTERM is sent to the npm process ALONE (npm forwards it to
 *   its child, which must be the server: `exec` in the start script), and on Ctrl-C (SIGINT to the whole group).
 * Each run gets its own process group and is SIGKILLed as a group in `finally`, so nothing is left behind on failure.
 * `npm start` rebuilds sdk/miniprogram_dist, miniprogram_npm and the demo's .js: it runs in a temp copy of the project
 * (node_modules linked), so it never rewrites files that other test files read at the same time.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { defaultProviders } from '../../server/cloud';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** What "stops within 5 s" means; the polls below wait longer (a cap) so a failure reports the real time taken. */
const STOP_BOUND_MS = 5000;

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
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

/** Every URL the banner prints: the AppServer and each cloud provider (one listener each). */
/** The AppServer plus one listener per local-cloud provider. */
const LISTENERS = 1 + defaultProviders().length;

function listenerPorts(out: string): number[] {
  const urls = [...out.matchAll(/^\s+(?:AppServer|cloud \w+)\s+(http:\/\/\S+)/gm)].map((m) => m[1]);
  return urls.map((u) => Number(new URL(u).port));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` until it holds; resolves with the time it took. Throws after capMs (only a guard against hanging). */
async function timeUntil(cond: () => Promise<boolean> | boolean, capMs: number, what: string): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > capMs) throw new Error(`${what}: not after ${capMs} ms`);
    await new Promise<void>((r) => setTimeout(r, POLL_MS));
  }
  return Date.now() - start;
}
const POLL_MS = 25;

/** A throw-away copy of the project (sources only) whose node_modules links to ours; mp-media-sdk → the copy's sdk/. */
function projectCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'npm-start-project-'));
  const skip = new Set(['node_modules', '.git', '.data', 'coverage', '.tmp']);
  for (const name of readdirSync(ROOT)) {
    if (!skip.has(name)) cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  mkdirSync(path.join(dir, 'node_modules'));
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name === 'mp-media-sdk') symlinkSync('../sdk', path.join(dir, 'node_modules', name));
    else symlinkSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name));
  }
  return dir;
}

describe('npm start (server/main.ts)', () => {
  it('serves /api/health, prints URLs and DevTools steps, and stops on SIGINT with its ports closed', async () => {
    // `node --import tsx` as `npm start` runs it: the tsx CLI would put a second process in between whose signal relay
    // depends on an IPC message from the child (under load it answered SIGINT with 130 before the child had exited 0)
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOCAL_CLOUD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    try {
      const out = await waitForOutput(child, /Ctrl-C stops everything/, 60000);
      const app = /AppServer\s+(http:\/\/\S+)/.exec(out)![1];
      const oss = /cloud oss\s+(http:\/\/\S+)/.exec(out)![1];
      expect(out).toMatch(/不校验合法域名/);
      expect(listenerPorts(out)).toHaveLength(LISTENERS);
      const health = await (await fetch(`${app}/api/health`)).json();
      expect(health).toMatchObject({ ok: true, localCloud: true });

      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await expect(fetch(`${app}/api/health`)).rejects.toThrow();
      await expect(fetch(oss)).rejects.toThrow();
    } finally {
      if (groupAlive(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses an invalid PORT with a clear message and exit code 1', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
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

  // `npm start` builds first (SDK, npm package, demo): minutes on a loaded machine, hence the long caps
  const NPM_START_CAP_MS = 240000;
  const posix = process.platform === 'win32' ? describe.skip : describe;
  posix('the real `npm start`', () => {
    const cases: Array<{ name: string; signal: NodeJS.Signals; group: boolean }> = [
      { name: 'SIGINT to the npm process alone', signal: 'SIGINT', group: false },
      { name: 'SIGTERM to the npm process alone', signal: 'SIGTERM', group: false },
      { name: 'Ctrl-C (SIGINT to the whole process group)', signal: 'SIGINT', group: true },
    ];
    for (const c of cases) {
      it(
        `${c.name}: every listener closes and every process exits within ${STOP_BOUND_MS / 1000} s`,
        async () => {
          const dataDir = mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
          const project = projectCopy();
          // own process group (detached): the Ctrl-C case signals it, and `finally` can kill whatever is left
          const npm = spawn('npm', ['start'], {
            cwd: project,
            env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOCAL_CLOUD: '1' },
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
          });
          const pgid = npm.pid!;
          let npmExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
          npm.on('exit', (code, signal) => (npmExit = { code, signal }));
          try {
            const out = await waitForOutput(npm, /Ctrl-C stops everything/, NPM_START_CAP_MS);
            const ports = listenerPorts(out);
            expect(ports).toHaveLength(LISTENERS);
            for (const p of ports) expect(await portOpen(p)).toBe(true);

            if (c.group) process.kill(-pgid, c.signal);
            else process.kill(npm.pid!, c.signal);
            const portsFreed = async () => (await Promise.all(ports.map(portOpen))).every((open) => !open);
            const took = await timeUntil(async () => npmExit !== undefined && !groupAlive(pgid) && (await portsFreed()), 30000, 'npm and the server to exit with every port closed');
            expect(took).toBeLessThan(STOP_BOUND_MS);
            expect(npmExit!.code).toBe(0);
          } finally {
            if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
            rmSync(dataDir, { recursive: true, force: true });
            rmSync(project, { recursive: true, force: true });
          }
        },
        NPM_START_CAP_MS + 60000,
      );
    }
  });
});
