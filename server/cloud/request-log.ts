/**
 * One request log across the local cloud's providers (the dev console's "last requests"): method, URL, status,
 * duration, the provider's error code, the fault switch that hit it, and, for a refused signature, the string to
 * sign the server computed (what a developer needs when their signing is wrong).
 *
 * Providers keep their own logs for their tests; this one is filled from outside by hooks startCloud installs on every
 * listener. Two small hooks let a provider add what only it knows, keyed by the raw Node request:
 *  - noteSignature(req.raw, {stringToSign, canonicalRequest?}) from a verifier that refused a signature;
 *  - noteFault(req.raw, description) from a fault switch that fired.
 * Errors whose wire body carries the string to sign as the real service's does (OSS `<StringToSign>`, Aliyun RPC
 * "server string to sign is:") are read from the body, so those verifiers need no hook.
 * The dev endpoints themselves (/_admin, /_cloud, /wx/dev) are not logged: the console polls them.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export interface CloudRequest {
  /** Increasing id (for "since" polling). */
  id: number;
  provider: string;
  /** ISO time the request arrived. */
  time: string;
  method: string;
  url: string;
  /** The route pattern fastify matched (undefined: no route, a 404). */
  route?: string;
  /** HTTP status; 0 when the connection closed before a complete response (a reset fault, a client abort). */
  status: number | null;
  /** false while the response is still being written. */
  done: boolean;
  ms?: number;
  /** The provider's error code from the body (OSS <Code>, RPC Code, TC3 Error.Code, Polyv code …). */
  code?: string;
  message?: string;
  fault?: string;
  stringToSign?: string;
  canonicalRequest?: string;
  /** Why the response is incomplete (status 0). */
  error?: string;
}

export interface SignatureDetail {
  stringToSign: string;
  canonicalRequest?: string;
}

const notes = new WeakMap<IncomingMessage, { signature?: SignatureDetail; fault?: string }>();

/** A verifier that refused a signature records what it computed (for the console). */
export function noteSignature(raw: IncomingMessage, detail: SignatureDetail): void {
  notes.set(raw, { ...notes.get(raw), signature: { stringToSign: detail.stringToSign, canonicalRequest: detail.canonicalRequest } });
}

/** A fault switch that fired on this request. */
export function noteFault(raw: IncomingMessage, fault: string): void {
  notes.set(raw, { ...notes.get(raw), fault });
}

const UNLOGGED = /^\/(_admin|_cloud|wx\/dev\/)/;

export class CloudRequestLog {
  private readonly entries: CloudRequest[] = [];
  private seq = 0;
  constructor(readonly size = 500) {}

  /** Newest last; only entries with id > since. */
  list(since = 0): CloudRequest[] {
    return this.entries.filter((e) => e.id > since).map((e) => ({ ...e }));
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** Installs the hooks on one provider's listener. */
  install(app: FastifyInstance, provider: string): void {
    const byReq = new WeakMap<IncomingMessage, CloudRequest>();
    app.addHook('onRequest', async (req, reply) => {
      const route = req.routeOptions.url;
      if (UNLOGGED.test(route || req.url)) return;
      const start = Date.now();
      const e: CloudRequest = { id: ++this.seq, provider, time: new Date(start).toISOString(), method: req.method, url: req.url, route, status: null, done: false };
      this.entries.push(e);
      if (this.entries.length > this.size) this.entries.splice(0, this.entries.length - this.size);
      byReq.set(req.raw, e);
      reply.raw.once('close', () => {
        const n = notes.get(req.raw);
        e.ms = Date.now() - start;
        e.done = true;
        if (reply.raw.writableFinished) e.status = reply.raw.statusCode;
        else {
          e.status = 0;
          e.error = 'connection closed before the response was complete';
        }
        if (n?.fault) e.fault = n.fault;
        if (n?.signature) {
          e.stringToSign = n.signature.stringToSign;
          e.canonicalRequest = n.signature.canonicalRequest;
        }
      });
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const e = byReq.get(req.raw);
      if (!e) return payload;
      const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) && reply.statusCode >= 400 ? payload.toString('utf8') : undefined;
      // Tencent Cloud API 3.0 answers errors with HTTP 200 and {"Response":{"Error":…}}
      if (reply.statusCode < 400 && !(text && text.length <= 64 * 1024 && text.startsWith('{"Response":') && text.includes('"Error":{'))) return payload;
      if (text !== undefined && text.length <= 256 * 1024) Object.assign(e, errorFields(text));
      // HEAD errors carry OSS's XML base64 in x-oss-err
      const ossErr = reply.getHeader('x-oss-err');
      if (typeof ossErr === 'string' && !e.code) Object.assign(e, errorFields(Buffer.from(ossErr, 'base64').toString('utf8')));
      return payload;
    });
  }
}

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#10;/g, '\n').replace(/&#13;/g, '\r').replace(/&amp;/g, '&') : undefined;
}

/** Code / message / string to sign from an error body as the providers send them (XML or JSON). */
export function errorFields(text: string): Partial<CloudRequest> {
  const out: Partial<CloudRequest> = {};
  const t = text.trimStart();
  if (t.startsWith('<')) {
    out.code = xmlText(t, 'Code');
    out.message = xmlText(t, 'Message');
    const sts = xmlText(t, 'StringToSign');
    if (sts !== undefined) out.stringToSign = sts;
    const cr = xmlText(t, 'CanonicalRequest');
    if (cr !== undefined) out.canonicalRequest = cr;
  } else if (t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as Record<string, any>;
      const err = j.Response?.Error || j.Error || j.error || j;
      const code = err.Code ?? err.code;
      const message = err.Message ?? err.message;
      if (code !== undefined && code !== null) out.code = String(code);
      if (typeof message === 'string') out.message = message;
    } catch {
      /* not JSON after all */
    }
  }
  const rpc = out.message && /server string to sign is:([\s\S]*)$/.exec(out.message);
  if (rpc) out.stringToSign = rpc[1];
  for (const k of Object.keys(out) as Array<keyof CloudRequest>) if (out[k] === undefined) delete out[k];
  return out;
}
