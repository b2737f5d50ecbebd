/**
 * The cloud-wide request log behind the console's Requests tab: what it reads from each provider's error body, and
 * what its hooks record on a real listener (status, the fault and signature notes, a cut connection, the dev
 * endpoints left out).
 */
import net from 'node:net';
import { createFastify } from '../../server/http';
import { CloudRequestLog, errorFields, noteFault, noteSignature } from '../../server/cloud/request-log';
import { until } from '../harness/until';

describe('errorFields: code, message and string to sign from the providers\' error bodies', () => {
  test('OSS error XML: Code, Message, StringToSign and CanonicalRequest (entities decoded, newlines kept)', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>SignatureDoesNotMatch</Code>\n  <Message>The request signature we calculated does not match.</Message>\n  <StringToSign>PUT\n\ntext/plain\nWed, 02 Dec 2026 13:42:58 GMT\n/b/a&amp;b.txt</StringToSign>\n  <CanonicalRequest>PUT\n/b/k\n\nhost:x\n</CanonicalRequest>\n</Error>`;
    expect(errorFields(xml)).toEqual({
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match.',
      stringToSign: 'PUT\n\ntext/plain\nWed, 02 Dec 2026 13:42:58 GMT\n/b/a&b.txt',
      canonicalRequest: 'PUT\n/b/k\n\nhost:x\n',
    });
  });

  test('Aliyun RPC JSON: the string to sign after "server string to sign is:" in the message', () => {
    const body = JSON.stringify({ RequestId: 'r', Code: 'SignatureDoesNotMatch', Message: 'Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3Dk' });
    expect(errorFields(body)).toMatchObject({ code: 'SignatureDoesNotMatch', stringToSign: 'POST&%2F&AccessKeyId%3Dk' });
  });

  test('Tencent API 3.0 Response.Error, the AppServer / admin {error:{code,message}}, Polyv {code:400,message}; a non-JSON / non-XML body gives nothing', () => {
    expect(errorFields(JSON.stringify({ Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'no match' }, RequestId: 'x' } }))).toEqual({ code: 'AuthFailure.SignatureFailure', message: 'no match' });
    expect(errorFields(JSON.stringify({ error: { code: 'VideoForbidden', message: 'not yours' } }))).toEqual({ code: 'VideoForbidden', message: 'not yours' });
    expect(errorFields(JSON.stringify({ code: 400, status: 'error', message: 'sign error' }))).toEqual({ code: '400', message: 'sign error' });
    expect(errorFields('<html><body><h1>400 Bad Request</h1></body></html>')).toEqual({});
    expect(errorFields('{not json')).toEqual({});
    expect(errorFields('fault')).toEqual({});
  });
});

describe('CloudRequestLog on a real listener', () => {
  test('records status and code, the notes a provider adds (fault, signature), a cut connection as status 0, Tencent\'s HTTP-200 errors; /_admin is not logged; since= and the ring size', async () => {
    const log = new CloudRequestLog(5);
    const app = createFastify({ name: 't' });
    log.install(app, 'p');
    app.get('/ok', async () => ({ ok: true }));
    app.get('/bad', async (req, reply) => {
      noteSignature(req.raw, { stringToSign: 'S\nT', canonicalRequest: 'C' });
      noteFault(req.raw, 'p f1: status 500');
      return reply.status(403).type('application/xml').send('<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>');
    });
    app.post('/tc3', async () => ({ Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'x' }, RequestId: 'r' } }));
    app.get('/cut', async (req, reply) => {
      reply.hijack();
      req.raw.socket.destroy();
    });
    app.get('/_admin/x', async () => ({}));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
      await fetch(`${base}/ok`);
      await fetch(`${base}/bad`);
      await fetch(`${base}/tc3`, { method: 'POST' });
      await expect(fetch(`${base}/cut`)).rejects.toThrow();
      await fetch(`${base}/_admin/x`);
      await until(() => log.list().every((e) => e.done), 'every entry done');
      const list = log.list();
      expect(list.map((e) => [e.url, e.status, e.code])).toEqual([
        ['/ok', 200, undefined],
        ['/bad', 403, 'SignatureDoesNotMatch'],
        ['/tc3', 200, 'AuthFailure.SignatureFailure'],
        ['/cut', 0, undefined],
      ]);
      expect(list[1]).toMatchObject({ provider: 'p', route: '/bad', fault: 'p f1: status 500', stringToSign: 'S\nT', canonicalRequest: 'C' });
      expect(list[3].error).toMatch(/closed before the response/);
      expect(log.list(list[1].id).map((e) => e.url)).toEqual(['/tc3', '/cut']);
      for (let i = 0; i < 4; i++) await fetch(`${base}/ok`);
      await until(() => log.list().every((e) => e.done), 'every entry done');
      expect(log.list()).toHaveLength(5);
      expect(log.list()[0].url).toBe('/cut');
      log.clear();
      expect(log.list()).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
