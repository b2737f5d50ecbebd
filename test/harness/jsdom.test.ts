/**
 * @jest-environment jsdom
 */
/**
 * Page tests run the runtime inside jest's jsdom environment (no setImmediate, window timers, the sandbox's own
 * ArrayBuffer). The runtime must work there too: network, files, storage, login, faults.
 */
import { Buffer } from 'node:buffer';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWxAdapter } from '../../sdk/src/platform/wx';
import { createWxRuntime } from './wx-runtime';

test('request / uploadFile / downloadFile / fs / storage / faults work under jsdom', async () => {
  expect(typeof window).toBe('object');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, bytes: Buffer.concat(chunks).length }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rt = createWxRuntime({ backgroundInterruptMs: 10 });
  try {
    rt.install();
    const adapter = createWxAdapter();
    const res = await adapter.request<{ url: string; bytes: number }>({ url: `${url}/a`, method: 'POST', data: { x: 1 } });
    expect(res.data).toEqual({ url: '/a', bytes: 7 });
    const bin = await adapter.request<ArrayBuffer>({ url: `${url}/b`, responseType: 'arraybuffer' });
    expect(bin.data).toBeInstanceOf(ArrayBuffer);
    const filePath = rt.files.writeTemp('f.bin', Buffer.alloc(1000, 1));
    const up = await adapter.uploadFile({ url: `${url}/u`, filePath, name: 'file' });
    expect(up.statusCode).toBe(200);
    const down = await adapter.downloadFile({ url: `${url}/d.json` });
    expect(await adapter.fs.readText(down.tempFilePath!)).toBe('{"url":"/d.json","bytes":0}');
    const range = await adapter.fs.readRange(filePath, 10, 5);
    expect(range).toBeInstanceOf(ArrayBuffer);
    expect(range.byteLength).toBe(5);
    adapter.storage.set('k', { v: 1 });
    expect(adapter.storage.get('k')).toEqual({ v: 1 });
    rt.faults.add({ action: { type: 'reset' } });
    await expect(adapter.request({ url: `${url}/r`, method: 'PUT', data: 'abcdef' })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    rt.app.hide();
    await expect(adapter.request({ url: `${url}/h` })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    rt.app.show();
  } finally {
    await rt.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
