/**
 * The AppServer's route schemas and the API reference generated from them.
 *
 * Every /api route declares zod schemas in fastify's `schema` option: `body` (POST/PUT/PATCH), `params` (routes with
 * `:name` segments), `querystring` when it reads one, and `response: { 200: … }`. The SAME zod objects
 *   - validate the request (fastify's validator compiler, below: a failure is our 400 InvalidParameter envelope),
 *   - check the response under NODE_ENV=test (a mismatch is a 500 ResponseSchemaMismatch naming the route and field;
 *     in development it is logged; production skips the check), and
 *   - become the OpenAPI 3 document (@fastify/swagger + fastify-type-provider-zod's zod→JSON-Schema transform) served
 *     at GET /api/openapi.json with a Swagger UI page at GET /api/docs — outside production, loopback callers only.
 * test/unit/openapi.test.ts enumerates every registered route (onRoute) and fails for one without those schemas.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { HttpError, parseBody, z } from '../http';
import type { ZodType } from 'zod';

/** The error envelope every non-2xx AppServer answer has (server/http.ts installJsonErrors). */
export const errorEnvelope = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code, e.g. InvalidParameter, Unauthorized, VodNotConfigured'),
      message: z.string().describe('Readable explanation'),
      details: z.unknown().optional().describe('Extra facts (validation problems, provider request id, …)'),
    }),
  })
  .describe('Every HTTP error: {error: {code, message, details?}}');

export const DOCS_JSON_URL = '/api/openapi.json';
export const DOCS_UI_PREFIX = '/api/docs';

/** Routes served by the docs themselves (public, loopback-only, absent in production). */
export function isDocsRoute(url: string | undefined): boolean {
  return !!url && (url === DOCS_JSON_URL || url === DOCS_UI_PREFIX || url.startsWith(`${DOCS_UI_PREFIX}/`));
}

export type ResponseCheck = 'strict' | 'warn' | 'off';

/** strict under jest (NODE_ENV=test), warn in development, off in production; API_RESPONSE_CHECK overrides. */
export function responseCheckMode(env: NodeJS.ProcessEnv): ResponseCheck {
  const v = env.API_RESPONSE_CHECK;
  if (v === 'strict' || v === 'warn' || v === 'off') return v;
  if (env.NODE_ENV === 'production') return 'off';
  return env.NODE_ENV === 'test' ? 'strict' : 'warn';
}

const PART_NAMES: Record<string, string> = { body: 'body', params: 'path', querystring: 'query', headers: 'headers' };

function isZod(x: unknown): x is ZodType {
  return !!x && typeof (x as ZodType).safeParse === 'function';
}

/**
 * Request validation and response serialization with the routes' zod schemas. A missing body validates as `{}`
 * (fastify passes null for "no body"), as the handlers' own `req.body ?? {}` did.
 */
export function installZodCompilers(app: FastifyInstance, check: ResponseCheck): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (!isZod(schema)) throw new Error(`AppServer route schemas are zod schemas; got a non-zod ${httpPart} schema.`);
    const what = PART_NAMES[httpPart || 'body'] || String(httpPart);
    return (data: unknown) => {
      try {
        return { value: parseBody(schema, what === 'body' ? (data ?? {}) : data, what) };
      } catch (e) {
        return { error: e as Error };
      }
    };
  });
  app.setSerializerCompiler(({ schema, method, url, httpStatus }) => {
    if (!isZod(schema)) throw new Error(`AppServer response schemas are zod schemas (${method} ${url} ${httpStatus}).`);
    return (data: unknown) => {
      if (check !== 'off') {
        const r = schema.safeParse(data);
        if (!r.success) {
          const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'response'}: ${i.message}`);
          const message = `${method} ${url} answered ${httpStatus} with a body that does not match its declared response schema: ${problems.join('; ')}`;
          if (check === 'strict') throw new HttpError(500, 'ResponseSchemaMismatch', message, problems);
          console.warn(`[app] ${message}`);
        }
      }
      // The original object, not zod's parse output: zod strips keys a schema does not list.
      return JSON.stringify(data);
    };
  });
}

/**
 * @fastify/swagger (must be registered before the routes: it collects them with an onRoute hook) and, outside
 * production, GET /api/openapi.json + the Swagger UI page at /api/docs.
 */
export async function registerApiDocs(app: FastifyInstance, opts: { publicRoutes: ReadonlySet<string>; serve: boolean }): Promise<void> {
  const errorJson = z.toJSONSchema(errorEnvelope, { target: 'draft-7', io: 'output' }) as Record<string, unknown>;
  delete errorJson.$schema;
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'mp-media-kit AppServer',
        version: '0.1.0',
        description:
          'The AppServer a mini-program calls (generated from the zod schemas the server validates with). Log in with ' +
          'POST /api/login {code} and send the token as `Authorization: Bearer <token>`. HTTP errors are ' +
          '`{error: {code, message, details?}}`. The /api/iot routes answer provider business outcomes (10010 no ' +
          'records, 8003 not your device, 21008 too long, …) as HTTP 200 `{code, msg, data, requestId}`, as the IVVAS ' +
          'and IVMessageMgr calls do.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The token from POST /api/login' } } },
    },
    transform: (doc) => {
      const out = jsonSchemaTransform(doc);
      // A route without a schema still appears (test/unit/openapi.test.ts then names what it lacks).
      const schema = (out.schema || {}) as FastifySchema & { hide?: boolean; response?: Record<string, unknown>; tags?: string[]; security?: unknown };
      if (schema.hide || isDocsRoute(doc.url)) return { ...out, schema: { ...schema, hide: true } };
      const response = { ...(schema.response || {}) };
      if (!response['4xx'] && !response['400']) response['4xx'] = errorJson;
      if (!response['5xx'] && !response['500']) response['5xx'] = errorJson;
      const tag = doc.url.split('/')[2];
      return {
        ...out,
        schema: {
          ...schema,
          response,
          tags: schema.tags || [['login', 'me', 'health'].includes(tag) ? 'session' : tag],
          ...(opts.publicRoutes.has(doc.url) ? {} : { security: [{ bearerAuth: [] }] }),
        },
      };
    },
  });
  if (!opts.serve) return;
  app.get(DOCS_JSON_URL, { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_UI_PREFIX, uiConfig: { docExpansion: 'list', deepLinking: true }, staticCSP: true });
}
