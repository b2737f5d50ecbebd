/**
 * A small real HTTP server for the runtime's own tests: records every request (head, body bytes, whether the body
 * arrived complete) and lets a test answer, hold, or inspect each one. Ephemeral loopback port; close() destroys
 * every socket.
 */
import { Buffer } from 'node:buffer';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  readonly body: Buffer;
  /** true once the whole body arrived; false when the connection broke before. */
  complete: boolean;
  /** Settles when the body ended or the connection broke. */
  done: Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => unknown;

export interface TestServer {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** Resolves when `n` requests have arrived (their heads). */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(handler: Handler): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let resolveDone!: () => void;
    let joined: Buffer | undefined;
    const s: SeenRequest = {
      method: req.method || '',
      url: req.url || '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      get body() {
        if (!joined || joined.length !== chunks.reduce((n, c) => n + c.length, 0)) joined = Buffer.concat(chunks);
        return joined;
      },
      complete: false,
      done: new Promise<void>((r) => (resolveDone = r)),
    };
    seen.push(s);
    for (const w of waiters.filter((x) => seen.length >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      s.complete = true;
      resolveDone();
    });
    req.on('close', () => resolveDone());
    req.on('error', () => resolveDone());
    res.on('error', () => undefined);
    Promise.resolve(handler(req, res, s)).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e && e.message));
    });
  });
  server.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.on('clientError', (_e, sock: Socket) => sock.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    waitFor(n: number) {
      if (seen.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Reads the whole request body (for handlers that answer after it arrived). */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Calls a wx callback-style API and resolves with which callback fired and its argument. */
export function wxCall<R = any>(fn: (o: any) => any, o: Record<string, unknown> = {}): { task: any; result: Promise<{ ok: boolean; res: R; completed: boolean }> } {
  let task: any;
  const result = new Promise<{ ok: boolean; res: R; completed: boolean }>((resolve) => {
    let outcome: { ok: boolean; res: R } | undefined;
    task = fn({
      ...o,
      success: (res: R) => (outcome = { ok: true, res }),
      fail: (res: R) => (outcome = { ok: false, res }),
      complete: () => resolve({ ...(outcome as { ok: boolean; res: R }), completed: true }),
    });
  });
  return { task, result };
}
