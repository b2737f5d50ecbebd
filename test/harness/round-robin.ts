/**
 * A tiny round-robin HTTP load balancer for tests: each request goes to the next backend in turn (per request, not
 * per connection), streamed both ways, with X-Forwarded-For set. `log` records which backend served what. A backend
 * that cannot be reached answers 502 here. Ephemeral loopback port; close() destroys every socket.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RoundRobin {
  url: string;
  /** One entry per request: [method, path, backend index, status]. */
  log: Array<{ method: string; path: string; backend: number; status?: number }>;
  close(): Promise<void>;
}

export async function startRoundRobin(backends: string[]): Promise<RoundRobin> {
  let next = 0;
  const log: RoundRobin['log'] = [];
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const backend = next;
    next = (next + 1) % backends.length;
    const entry: RoundRobin['log'][number] = { method: req.method || '', path: (req.url || '').split('?')[0], backend };
    log.push(entry);
    const target = new URL(req.url || '/', backends[backend]);
    const headers = { ...req.headers, host: target.host, 'x-forwarded-for': req.socket.remoteAddress || '' };
    const up = http.request(target, { method: req.method, headers, agent }, (r) => {
      entry.status = r.statusCode;
      res.writeHead(r.statusCode || 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'BadGateway', message: `backend ${backend}: ${e.message}` } }));
    });
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
