/**
 * The API reference cannot drift: every route the AppServer registers (seen by its onRoute hook; the docs' own routes
 * aside) must live under /api/, declare zod schemas — `response: {200}` (or its 2xx/3xx status) always, `body` for
 * POST/PUT/PATCH, `params` naming each `:param` — and appear in GET /api/openapi.json with those request and response
 * shapes, with the bearer scheme unless it is public.
 * A route added without them fails 'every /api route declares its schemas and is in /api/openapi.json'.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { buildAppServer } from '../../server/app';
import { isDocsRoute } from '../../server/app/openapi';
import { signToken } from '../../server/app/token';
import type { CloudUrls } from '../../server/cloud';

// Provider URLs on a closed port: route modules configure themselves from them, nothing is called.
const NOWHERE = 'http://127.0.0.1:9';
const cloud: CloudUrls = { wechat: NOWHERE, oss: NOWHERE, vod: NOWHERE, sts: NOWHERE, polyv: NOWHERE, iot: NOWHERE, tvod: NOWHERE, cos: NOWHERE };
const PUBLIC = new Set(['/api/login', '/api/health', '/api/tencent-vod/events']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

type OpenApiOperation = {
  requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> };
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: unknown }>;
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
  security?: unknown;
  tags?: string[];
};
type OpenApiDoc = { openapi: string; paths: Record<string, Record<string, OpenApiOperation>>; components?: { securitySchemes?: Record<string, unknown> } };

const methodsOf = (r: RouteOptions) => (Array.isArray(r.method) ? r.method : [r.method]).map(String).filter((m) => m !== 'HEAD');
const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const isZod = (x: unknown) => !!x && typeof (x as { safeParse?: unknown }).safeParse === 'function';
/** A zod schema, or fastify's per-content-type form `{content: {'<type>': {schema: zod}}}` (non-JSON replies). */
const declaresShape = (x: unknown) => isZod(x) || (!!x && typeof x === 'object' && Object.values((x as { content?: Record<string, { schema?: unknown }> }).content || {}).some((c) => isZod(c.schema)));
/** The route's success status: 200, else the first 2xx/3xx it declares (201, 204, 302 …). */
const successStatus = (response: Record<string, unknown> | undefined) => (response && ('200' in response ? '200' : Object.keys(response).find((k) => /^[23]\d\d$/.test(k)))) || '200';
const nonEmptySchema = (s: Record<string, unknown> | undefined) => !!s && Object.keys(s).some((k) => ['type', 'properties', 'anyOf', 'oneOf', 'allOf', '$ref'].includes(k));

/** Everything wrong between the registered /api routes and the document; [] when they agree. */
function schemaProblems(routes: RouteOptions[], doc: OpenApiDoc): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of routes) {
    if (isDocsRoute(r.url)) continue;
    const schema = (r.schema || {}) as Record<string, unknown> & { response?: Record<string, unknown>; hide?: boolean };
    const params = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
    for (const method of methodsOf(r)) {
      const name = `${method} ${r.url}`;
      if (schema.hide) problems.push(`${name}: schema.hide is only for the docs' own routes`);
      const ok = successStatus(schema.response);
      if (!r.url.startsWith('/api/')) problems.push(`${name}: AppServer routes live under /api/ (the document and the auth rule cover /api/*)`);
      if (!schema.response || !declaresShape(schema.response[ok])) problems.push(`${name}: no zod schema.response[${ok}]`);
      if (BODY_METHODS.has(method) && !isZod(schema.body)) problems.push(`${name}: no zod schema.body`);
      if (params.length && !isZod(schema.params)) problems.push(`${name}: no zod schema.params for :${params.join(', :')}`);
      const op = doc.paths[toOpenApiPath(r.url)]?.[method.toLowerCase()];
      seen.add(`${method.toLowerCase()} ${toOpenApiPath(r.url)}`);
      if (!op) {
        problems.push(`${name}: missing from /api/openapi.json`);
        continue;
      }
      if (!Object.values(op.responses?.[ok]?.content || {}).some((c) => nonEmptySchema(c.schema)) && !/^(204|3\d\d)$/.test(ok)) problems.push(`${name}: no ${ok} response shape in the document`);
      if (!nonEmptySchema(op.responses?.['4XX']?.content?.['application/json']?.schema) && !op.responses?.['400']) problems.push(`${name}: no error envelope in the document`);
      if (BODY_METHODS.has(method) && !nonEmptySchema(op.requestBody?.content?.['application/json']?.schema)) problems.push(`${name}: no request body shape in the document`);
      for (const p of params) if (!op.parameters?.some((x) => x.in === 'path' && x.name === p && x.required)) problems.push(`${name}: path parameter ${p} not in the document`);
      const wantsAuth = !PUBLIC.has(r.url);
      if (wantsAuth !== JSON.stringify(op.security || []).includes('bearerAuth')) problems.push(`${name}: security should ${wantsAuth ? '' : 'not '}name bearerAuth`);
    }
  }
  for (const [p, ops] of Object.entries(doc.paths)) for (const m of Object.keys(ops)) if (!seen.has(`${m} ${p}`)) problems.push(`${m.toUpperCase()} ${p}: in the document but not a registered route`);
  return problems;
}

describe('AppServer OpenAPI document (/api/openapi.json, /api/docs)', () => {
  let dataDir: string;
  const apps: FastifyInstance[] = [];
  const build = async (env: NodeJS.ProcessEnv) => {
    const built = await buildAppServer({ env, cloud, dataDir: path.join(dataDir, `app${apps.length}`), now: () => Date.now() });
    apps.push(built.app);
    return built;
  };

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'openapi-test-'));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every /api route declares its schemas and is in /api/openapi.json (request, response, bearer security), including /api/iot/*', async () => {
    const { app, routes } = await build({ NODE_ENV: 'test' });
    const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as OpenApiDoc;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemaProblems(routes, doc)).toEqual([]);

    const api = routes.filter((r) => !isDocsRoute(r.url)).flatMap((r) => methodsOf(r).map((m) => `${m} ${r.url}`));
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(operations).toBe(api.length);
    expect(api.filter((r) => r.includes(' /api/iot/')).length).toBeGreaterThanOrEqual(13);
    expect(api).toEqual(expect.arrayContaining(['POST /api/login', 'GET /api/me', 'GET /api/vod/videos/:videoId', 'POST /api/polyv/play', 'POST /api/iot/vas/event/list']));
    // Shapes come from the zod schemas the routes validate with: spot-check two.
    const events = doc.paths['/api/iot/vas/event/list'].post;
    expect(events.requestBody!.content!['application/json'].schema).toMatchObject({ required: expect.arrayContaining(['deviceId', 'startTime', 'endTime', 'pageSize']), properties: { pageSize: { maximum: 50 } } });
    expect(events.responses!['200'].content!['application/json'].schema).toMatchObject({ properties: { code: { type: 'integer' }, msg: { type: 'string' } } });
    expect(doc.paths['/api/login'].post.responses!['200'].content!['application/json'].schema).toMatchObject({ required: expect.arrayContaining(['token', 'expiresIn', 'openid']) });
  });

  it('a route registered without schemas is reported (the check above can fail)', async () => {
    const { app, routes } = await build({ NODE_ENV: 'test' });
    app.post('/api/undocumented/:id', async () => ({ ok: true }));
    app.get('/api/half', { schema: { params: z.object({}) } }, async () => ({ ok: true }));
    app.get('/outside', { schema: { response: { 200: z.object({ ok: z.boolean() }) } } }, async () => ({ ok: true }));
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApiDoc;
    const problems = schemaProblems(routes, doc);
    expect(problems).toEqual(
      expect.arrayContaining([
        'POST /api/undocumented/:id: no zod schema.response[200]',
        'POST /api/undocumented/:id: no zod schema.body',
        'POST /api/undocumented/:id: no zod schema.params for :id',
        'POST /api/undocumented/:id: no 200 response shape in the document',
        'GET /api/half: no zod schema.response[200]',
        'GET /outside: AppServer routes live under /api/ (the document and the auth rule cover /api/*)',
      ]),
    );
  });

  it('request bodies are validated by the declared schema: a bad body → 400 InvalidParameter envelope naming the field', async () => {
    const { app, config } = await build({ NODE_ENV: 'test' });
    const now = Math.floor(Date.now() / 1000);
    const token = signToken({ sub: 'oOpenApiTest', iat: now, exp: now + 600 }, config.tokenSecret);
    const res = await app.inject({ method: 'POST', url: '/api/iot/vas/event/list', headers: { authorization: `Bearer ${token}` }, payload: { deviceId: 'dev_1', startTime: 0, endTime: 10, pageSize: 99 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'InvalidParameter', message: expect.stringContaining('pageSize: 1..50') });
    const login = await app.inject({ method: 'POST', url: '/api/login', payload: { code: '' } });
    expect([login.statusCode, login.json().error.code]).toEqual([400, 'InvalidParameter']);
  });

  it('a reply that does not match its declared response schema → 500 ResponseSchemaMismatch under NODE_ENV=test', async () => {
    const { app, config } = await build({ NODE_ENV: 'test' });
    app.get('/api/drifted', { schema: { response: { 200: z.object({ count: z.number() }) } } }, async () => ({ count: 'three' }));
    const now = Math.floor(Date.now() / 1000);
    const token = signToken({ sub: 'oOpenApiTest', iat: now, exp: now + 600 }, config.tokenSecret);
    const res = await app.inject({ method: 'GET', url: '/api/drifted', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toMatchObject({ code: 'ResponseSchemaMismatch', message: expect.stringContaining('count') });
  });

  it('the docs need no login, answer only loopback callers (403 DevEndpointLoopbackOnly from the LAN) and are absent in production', async () => {
    const { app } = await build({ NODE_ENV: 'test' });
    const page = await app.inject({ method: 'GET', url: '/api/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const lan = await app.inject({ method: 'GET', url: '/api/openapi.json', remoteAddress: '192.168.1.20' });
    expect([lan.statusCode, lan.json().error.code]).toEqual([403, 'DevEndpointLoopbackOnly']);
    const lanPage = await app.inject({ method: 'GET', url: '/api/docs/', remoteAddress: '192.168.1.20' });
    expect(lanPage.statusCode).toBe(403);

    const prod = await build({ NODE_ENV: 'production', APP_TOKEN_SECRET: 'p'.repeat(40), WX_APPID: 'wx0000000000000000', WX_SECRET: 'secret' });
    expect((await prod.app.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode).toBe(404);
    expect((await prod.app.inject({ method: 'GET', url: '/api/docs/' })).statusCode).toBe(404);
  });
});
