/**
 * Shared bench helpers: the dev stack in its own Node process (so the servers do not share the client's event loop
 * or heap), a Node wx runtime + our wx adapter + a logged-in AppClient, and a VODUpload run to completion.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AppClient, createInjectedAdapter, createWxAdapter, VODUpload } from '../sdk/src';
import type { HttpResponse, PlatformAdapter, RequestOptions } from '../sdk/src';
import type { VODUploadAuthResult, VODUploadInfo, VODUploadOptions } from '../sdk/src';
import { createWxRuntime, WxRuntime, WxRuntimeOptions } from '../test/harness/wx-runtime';
import { startStackProcess, StackProcess } from '../test/harness/stack-process';

export const MiB = 1024 * 1024;

export type BenchStack = StackProcess;

/** The dev stack in its own process, so the servers share neither the client's event loop nor its heap. */
export const startStack = startStackProcess;

export interface Client {
  rt: WxRuntime;
  app: AppClient;
  close(): Promise<void>;
}

export function client(stack: BenchStack, opts: WxRuntimeOptions = {}): Client {
  const rt = createWxRuntime({ wechatUrl: stack.cloud.wechat, openid: 'obench', ...opts });
  const app = new AppClient({ baseUrl: stack.appServerUrl, adapter: createWxAdapter(rt.wx) });
  return { rt, app, close: () => rt.close() };
}

/** getUploadAuth through the AppServer (create, or refresh when the file already has a VideoId). */
export function authVia(app: AppClient) {
  return (info: VODUploadInfo): Promise<VODUploadAuthResult> =>
    info.videoId
      ? app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { videoId: info.videoId })
      : app.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', { title: info.file.name, fileName: info.file.name, fileSize: info.fileSize });
}

/** Upload one file with VODUpload; resolves with its uploadInfo at onUploadEnd (rejects on a failure). */
export function uploadOnce(c: Client, wxPath: string, opts: Partial<VODUploadOptions>): { up: VODUpload; done: Promise<VODUploadInfo> } {
  let up!: VODUpload;
  const done = new Promise<VODUploadInfo>((resolve, reject) => {
    let failure: Error | undefined;
    up = new VODUpload({
      userId: 'bench',
      adapter: createWxAdapter(c.rt.wx),
      getUploadAuth: authVia(c.app),
      onUploadFailed: (_i, code, message) => (failure = new Error(`${code}: ${message}`)),
      onUploadEnd: () => (failure ? reject(failure) : resolve(up.listFiles()[0])),
      ...opts,
    });
    up.addFile({ url: wxPath });
    up.startUpload();
  });
  return { up, done };
}

/** A temp file of `size` pseudo-random bytes (written 1 MiB at a time, each MiB different); returns its wx path. */
export function tempFile(rt: WxRuntime, name: string, size: number): string {
  const wxPath = `http://tmp/${name}`;
  const fd = openSync(rt.files.realPath(wxPath), 'w');
  const block = randomBytes(MiB);
  try {
    for (let off = 0, i = 0; off < size; off += MiB, i++) {
      block.writeUInt32LE(i, (i * 4096) % (MiB - 4));
      writeSync(fd, block, 0, Math.min(MiB, size - off));
    }
  } finally {
    closeSync(fd);
  }
  return wxPath;
}

/** Our SDK over plain Node I/O (diagnostic only; the mini-program uses the wx adapter). */
export function nodeAdapter(base: PlatformAdapter, realPath: string, agent: http.Agent): PlatformAdapter {
  return createInjectedAdapter({
    ...base,
    fs: {
      ...base.fs,
      readRange: async (_p: string, pos: number, len: number) => {
        const fh = await open(realPath);
        try {
          const b = Buffer.allocUnsafeSlow(len);
          await fh.read(b, 0, len, pos);
          return b.buffer as ArrayBuffer;
        } finally {
          await fh.close();
        }
      },
    },
    request: (<T>(o: RequestOptions) =>
      new Promise<HttpResponse<T>>((resolve, reject) => {
        const body = o.data instanceof ArrayBuffer ? Buffer.from(o.data) : typeof o.data === 'string' ? Buffer.from(o.data) : undefined;
        const req = http.request(o.url, { method: o.method, headers: { ...o.header, 'content-length': body ? body.length : 0 }, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let data: unknown = text;
            if (o.dataType !== 'text') {
              try {
                data = JSON.parse(text);
              } catch {
                /* text */
              }
            }
            resolve({ statusCode: res.statusCode || 0, header: res.headers as Record<string, string>, data: data as T });
          });
        });
        req.on('error', reject);
        req.end(body);
      })) as PlatformAdapter['request'],
  });
}

export function fmtMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Closes the client, then the stack process, and removes the stack's data dir. */
export async function closeAll(c: { close(): Promise<void> }, stack: BenchStack): Promise<void> {
  await c.close();
  await stack.close();
  rmSync(stack.dataDir, { recursive: true, force: true });
}

/** Runs a benchmark when its file is executed directly (`npx tsx bench/<name>.ts`); exit code 1 on failure. */
export function runIfMain(mod: NodeModule, run: () => Promise<unknown>): void {
  if (require.main !== mod) return;
  run().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
