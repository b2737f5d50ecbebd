/**
 * Shared fastify helpers for the AppServer and the local cloud.
 */
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z, ZodType } from 'zod';

/**
 * Errors fastify raises before any route or error handler runs (a path with bad percent-encoding: FST_ERR_BAD_URL;
 * a path parameter over maxParamLength: FST_ERR_MAX_PARAM_LENGTH). Each server answers them in its own error shape.
 */
export type FrameworkErrorHandler = (err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply) => void;

export function createFastify(
  opts: { name: string; trustProxy?: boolean | string | number; bodyLimit?: number; frameworkErrors?: FrameworkErrorHandler } = { name: 'server' },
): FastifyInstance {
  const app = Fastify({
    logger: false,
    trustProxy: (opts.trustProxy ?? false) as boolean,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    ...(opts.frameworkErrors ? { frameworkErrors: opts.frameworkErrors as never } : {}),
  });
  return app;
}

/** The AppServer's answer to fastify's framework errors: `{error: {code, message}}` like every other error. */
export const jsonFrameworkErrors: FrameworkErrorHandler = (err, _req, reply) => {
  if (err.code === 'FST_ERR_BAD_URL') {
    reply.status(400).send({ error: { code: 'InvalidURI', message: 'The request path is not valid percent-encoding.' } });
    return;
  }
  reply.status(400).send({ error: { code: 'BadRequest', message: err.message } });
};

/** A 400 error with a stable code, in the AppServer's JSON error shape. */
export class HttpError extends Error {
  constructor(public statusCode: number, public code: string, message: string, public details?: unknown) {
    super(message);
  }
}

/** Parse with a zod schema or throw a 400 that lists every problem. */
export function parseBody<T>(schema: ZodType<T>, body: unknown, what = 'body'): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : what}: ${i.message}`);
    throw new HttpError(400, 'InvalidParameter', `Invalid ${what}: ${problems.join('; ')}`, problems);
  }
  return r.data;
}

/**
 * The AppServer's error handler: every error becomes `{error: {code, message}}` with a fitting status; bad JSON
 * from fastify's parser becomes 400 InvalidJson; nothing leaks a stack trace.
 */
export function installJsonErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; details?: unknown }, _req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ error: { code: 'UnsupportedMediaType', message: `Send the body as application/json (got ${JSON.stringify(String(_req.headers['content-type'] || '').slice(0, 80))}).` } });
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && err.statusCode === 400)) {
      return reply.status(400).send({ error: { code: 'InvalidJson', message: `The body is not valid JSON: ${err.message}` } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: { code: 'BodyTooLarge', message: err.message } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || err.code === 'FST_ERR_CTP_INVALID_TYPE') {
      return reply.status(400).send({ error: { code: 'BadRequest', message: err.message } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) console.error('[server] unhandled error:', err);
    return reply.status(status).send({ error: { code: status >= 500 ? 'InternalError' : err.code || 'BadRequest', message: status >= 500 ? 'Internal server error' : err.message } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'NotFound', message: `No route ${req.method} ${req.url.split('?')[0]}` } });
  });
}

export { z };
