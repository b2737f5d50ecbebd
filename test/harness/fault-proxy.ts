/**
 * A one-connection TCP proxy on loopback that breaks the connection at a chosen byte with a real TCP RST, so the
 * client sees the same socket-level failure (ECONNRESET) a phone sees when a network drops mid-request.
 *
 * The proxy understands just enough HTTP/1.1 framing to count body bytes: it finds the end of the request head
 * (dir 'up') or response head (dir 'down') and forwards that many body bytes before cutting.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';

export type CutPlan =
  /** Forward the request head and `bytes` body bytes to the server, then reset the client. */
  | { dir: 'up'; bytes: number }
  /** Forward the request head and half its body (or the head without its final CRLF when there is no body). */
  | { dir: 'up'; half: true }
  /** Pass the request through; forward the response head and `bytes` body bytes to the client, then reset it. */
  | { dir: 'down'; bytes: number }
  /** Pass the request through; reset the client as soon as the server starts answering (the response is lost). */
  | { dir: 'down'; nothing: true }
  /** Non-HTTP (TLS) target: forward the first chunk the client sends, then reset. */
  | { dir: 'raw' };

export interface FaultProxy {
  port: number;
  /** Bytes forwarded toward the server / toward the client. */
  readonly forwardedUp: number;
  readonly forwardedDown: number;
  readonly cut: boolean;
  close(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Decides how much of a stream to forward: the head plus a budget of body bytes (computed once the head is seen). */
class Cutter {
  private pending = Buffer.alloc(0);
  private allowed: number | undefined;
  private seen = 0;
  done = false;
  constructor(private readonly budget: (head: string, headLen: number) => number) {}

  /** Returns the bytes to forward now and whether the stream must be cut after them. */
  push(chunk: Buffer): { forward: Buffer; cut: boolean } {
    if (this.done) return { forward: Buffer.alloc(0), cut: false };
    if (this.allowed === undefined) {
      this.pending = Buffer.concat([this.pending, chunk]);
      const idx = this.pending.indexOf(HEAD_END);
      if (idx < 0) return { forward: Buffer.alloc(0), cut: false };
      const headLen = idx + 4;
      this.allowed = Math.max(0, this.budget(this.pending.subarray(0, headLen).toString('latin1'), headLen));
      chunk = this.pending;
      this.pending = Buffer.alloc(0);
    }
    const room = this.allowed - this.seen;
    if (chunk.length < room) {
      this.seen += chunk.length;
      return { forward: chunk, cut: false };
    }
    this.seen += room;
    this.done = true;
    return { forward: chunk.subarray(0, room), cut: true };
  }
}

function contentLength(head: string): number {
  const m = head.match(/\r\ncontent-length:\s*(\d+)/i);
  return m ? parseInt(m[1], 10) : 0;
}

export function startFaultProxy(target: { host: string; port: number }, plan: CutPlan): Promise<FaultProxy> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    const timers = new Set<ReturnType<typeof setTimeout>>();
    let forwardedUp = 0;
    let forwardedDown = 0;
    let cut = false;

    const server = net.createServer((client) => {
      server.close(); // one connection per proxy
      const upstream = net.connect(target.port, target.host);
      sockets.add(client);
      sockets.add(upstream);
      client.on('error', () => undefined);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => {
        if (!cut) client.end();
      });

      const resetClient = () => {
        if (cut) return;
        cut = true;
        upstream.end();
        // Let data already handed to the kernel reach the client first; then RST.
        timers.add(
          setTimeout(() => {
            if (!client.destroyed) client.resetAndDestroy();
            timers.add(setTimeout(() => upstream.destroy(), 50));
          }, 5),
        );
      };

      const up = (chunk: Buffer) => {
        forwardedUp += chunk.length;
        upstream.write(chunk);
      };
      const down = (chunk: Buffer) => {
        forwardedDown += chunk.length;
        client.write(chunk);
      };

      if (plan.dir === 'raw') {
        client.once('data', (chunk: Buffer) => {
          up(chunk);
          resetClient();
        });
        upstream.on('data', down);
      } else if (plan.dir === 'up') {
        const cutter = new Cutter((head, headLen) => {
          if ('bytes' in plan) return headLen + plan.bytes;
          const len = contentLength(head);
          return len > 0 ? headLen + Math.floor(len / 2) : headLen - 2;
        });
        client.on('data', (chunk: Buffer) => {
          if (cut) return;
          const r = cutter.push(chunk);
          if (r.forward.length) up(r.forward);
          if (r.cut) upstream.write(Buffer.alloc(0), () => resetClient());
        });
        client.on('end', () => {
          if (!cut) upstream.end();
        });
        upstream.on('data', (chunk: Buffer) => {
          if (!cut) down(chunk);
        });
      } else {
        const cutter = new Cutter((_head, headLen) => ('bytes' in plan ? headLen + plan.bytes : 0));
        client.on('data', (chunk: Buffer) => {
          if (!cut) up(chunk);
        });
        client.on('end', () => {
          if (!cut) upstream.end();
        });
        upstream.on('data', (chunk: Buffer) => {
          if (cut) return;
          if ('nothing' in plan) return resetClient();
          const r = cutter.push(chunk);
          if (r.forward.length) down(r.forward);
          if (r.cut) client.write(Buffer.alloc(0), () => resetClient());
        });
      }
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        get forwardedUp() {
          return forwardedUp;
        },
        get forwardedDown() {
          return forwardedDown;
        },
        get cut() {
          return cut;
        },
        close() {
          server.close();
          for (const t of timers) clearTimeout(t);
          timers.clear();
          for (const s of sockets) s.destroy();
          sockets.clear();
        },
      });
    });
  });
}
