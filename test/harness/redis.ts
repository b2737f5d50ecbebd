/**
 * A real redis-server for tests: its own temp dir, a free loopback port (redis refuses --port 0, so a port is taken
 * from the OS by binding port 0 and released just before redis binds it; a lost race is retried on another port),
 * no snapshots (--save ''), and no append-only file unless `durable` (then appendfsync always: a SIGKILL loses nothing). kill() stops it hard (SIGKILL, as a crash) and start() brings it back
 * on the same port and dir; close() stops it and removes the dir. Ready means it answered PING.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Whether the server process is running. */
  running(): boolean;
  /** SIGKILL (a crash); resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and dir; resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its dir. */
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** One PING over a raw socket: true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
  });
}

export interface TestRedisOptions {
  /** Keep data across kill()/start(): an append-only file fsynced on every write (default: no persistence at all). */
  durable?: boolean;
}

export async function startRedis(bin: string, opts: TestRedisOptions = {}): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mp-redis-'));
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let log = '';

  const launch = async (p: number): Promise<boolean> => {
    log = '';
    const child = spawn(bin, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', ...(opts.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']), '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let gone = false;
    exited = new Promise<void>((r) => child.once('exit', () => ((gone = true), r())));
    // Ready when redis logs "Ready to accept connections" (then it answers PING); a bind failure (port taken
    // meanwhile) ends the process instead.
    const ready = new Promise<void>((r) => {
      const onData = (d: Buffer) => {
        log += d.toString();
        if (/Ready to accept connections/i.test(log)) r();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
    proc = child;
    await Promise.race([ready, exited]);
    if (gone) return false;
    return ping(p);
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    if (await launch(port)) break;
    if (attempt === 4 || !/Address already in use/i.test(log)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${log.slice(-2000)}`);
    }
  }

  const running = () => !!proc && proc.exitCode === null && proc.signalCode === null;
  const kill = async () => {
    if (running()) proc!.kill('SIGKILL');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    running,
    kill,
    async start() {
      if (running()) return;
      if (!(await launch(port))) throw new Error(`redis-server did not restart on 127.0.0.1:${port}: ${log.slice(-2000)}`);
    },
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
