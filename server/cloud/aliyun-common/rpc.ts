/**
 * The Aliyun RPC (POP) gateway as VOD and STS share it: GET query or POST form parameters, common-parameter checks,
 * HMAC-SHA1 signature verification (with the same code the SDK signs with), AccessKey or STS SecurityToken callers,
 * Timestamp skew and SignatureNonce replay checks, and the JSON (or XML) error body
 * `{RequestId, HostId, Code, Message, Recommend}`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XMLBuilder } from 'fast-xml-parser';
import { computeRpcSignature, rpcStringToSign } from '../../../sdk/src/aliyun/rpc-signature';
import type { CloudContext } from '../context';
import { getAliyunShared, MAX_SKEW_MS, popRequestId, type AliyunShared, type TempCredential } from './index';

export class RpcError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

export interface RpcCaller {
  accessKeyId: string;
  /** Present when the caller used STS credentials. */
  temp?: TempCredential;
}

export type RpcParams = Record<string, string>;
export type RpcAction = (params: RpcParams, caller: RpcCaller, requestId: string) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface RpcServiceOptions {
  /** 'vod' | 'sts' (for Recommend links and logs). */
  product: string;
  /** e.g. vod.cn-shanghai.aliyuncs.com */
  hostId: string;
  version: string;
  actions: Record<string, RpcAction>;
  /** Reject callers holding object-scoped (VOD UploadAuth) credentials (default true). */
  rejectObjectScoped?: boolean;
}

export interface RpcLogEntry {
  requestId: string;
  time: string;
  method: string;
  action?: string;
  accessKeyId?: string;
  status: number;
  code?: string;
}

/** `Missing<Param>` as the POP gateway reports a missing required parameter. */
export function missing(name: string): RpcError {
  return new RpcError(400, `Missing${name}`, `${name} is mandatory for this action.`);
}

/** The required parameter, or a Missing<Param> error. */
export function required(p: RpcParams, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw missing(name);
  return v;
}

function parseQuery(url: string): RpcParams {
  const out: RpcParams = {};
  const i = url.indexOf('?');
  if (i < 0) return out;
  for (const piece of url.slice(i + 1).split('&')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    try {
      out[decodeURIComponent(eq < 0 ? piece : piece.slice(0, eq))] = eq < 0 ? '' : decodeURIComponent(piece.slice(eq + 1));
    } catch {
      throw new RpcError(400, 'InvalidParameter', 'The query string is not valid percent-encoding.');
    }
  }
  return out;
}

const xmlBuilder = new XMLBuilder({ format: false, processEntities: true });

/**
 * Mount an RPC service on `/` (GET and POST). Returns the request log (for the admin API).
 * Fastify must not already have an x-www-form-urlencoded parser in this scope.
 */
export function mountRpcService(app: FastifyInstance, ctx: CloudContext, opts: RpcServiceOptions): RpcLogEntry[] {
  const shared: AliyunShared = getAliyunShared(ctx);
  const nonces = new Map<string, number>();
  const log: RpcLogEntry[] = [];

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const sendBody = (reply: FastifyReply, format: string, status: number, root: string, body: Record<string, unknown>) => {
    reply.status(status);
    if (format === 'XML') return reply.type('text/xml;charset=utf-8').send(`<?xml version='1.0' encoding='UTF-8'?>${xmlBuilder.build({ [root]: body })}`);
    return reply.type('application/json;charset=utf-8').send(JSON.stringify(body));
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const requestId = popRequestId();
    const entry: RpcLogEntry = { requestId, time: new Date(ctx.now()).toISOString(), method: req.method, status: 200 };
    let format = 'JSON';
    try {
      const params: RpcParams = { ...parseQuery(req.url) };
      if (req.method === 'POST' && req.body && typeof req.body === 'object') Object.assign(params, req.body as RpcParams);
      if ((params.Format || '').toUpperCase() === 'XML') format = 'XML';
      entry.action = params.Action;
      if (!params.Action) throw missing('Action');
      const action = opts.actions[params.Action];
      if (!action) throw new RpcError(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
      if (!params.Version) throw missing('Version');
      if (params.Version !== opts.version) throw new RpcError(400, 'InvalidVersion', `Specified parameter Version is not valid: ${opts.product} supports ${opts.version}.`);
      if (params.Format && !['JSON', 'XML'].includes(params.Format.toUpperCase())) throw new RpcError(400, 'InvalidParameter.Format', 'Specified parameter Format is not valid (JSON or XML).');
      if (!params.AccessKeyId) throw new RpcError(400, 'MissingAccessKeyId', 'AccessKeyId is mandatory for this action.');
      if (!params.Signature) throw new RpcError(400, 'MissingSignature', 'Signature is mandatory for this action.');
      if (params.SignatureMethod && params.SignatureMethod !== 'HMAC-SHA1') throw new RpcError(400, 'InvalidSignatureMethod', 'Specified signature method is not supported (HMAC-SHA1).');
      if (params.SignatureVersion && params.SignatureVersion !== '1.0') throw new RpcError(400, 'InvalidSignatureVersion', 'Specified signature version is not supported (1.0).');
      if (!params.SignatureNonce) throw new RpcError(400, 'MissingSignatureNonce', 'SignatureNonce is mandatory for this action.');
      const now = ctx.now();
      // Timestamp is required by the docs; the official upload SDKs omit it, so it is checked when present.
      if (params.Timestamp !== undefined) {
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(params.Timestamp) || isNaN(Date.parse(params.Timestamp))) {
          throw new RpcError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
        }
        if (Math.abs(Date.parse(params.Timestamp) - now) > MAX_SKEW_MS) throw new RpcError(400, 'InvalidTimeStamp.Expired', `Specified time stamp or date value is expired. (server time ${new Date(now).toISOString()})`);
      }
      entry.accessKeyId = params.AccessKeyId;
      const auth = shared.authenticate(params.AccessKeyId, params.SecurityToken || undefined, now);
      if (!auth.ok) {
        if (auth.code === 'InvalidAccessKeyId') throw new RpcError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
        if (auth.code === 'MissingSecurityToken') throw new RpcError(400, 'MissingSecurityToken', 'SecurityToken is mandatory for this action (STS AccessKeyId).');
        if (auth.code === 'InvalidSecurityToken') throw new RpcError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.');
        throw new RpcError(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.');
      }
      const { Signature: sig, ...signed } = params;
      const expected = computeRpcSignature(req.method, signed, auth.accessKeySecret);
      if (expected !== sig) {
        throw new RpcError(400, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${rpcStringToSign(req.method, signed)}`);
      }
      for (const [k, exp] of nonces) if (exp < now) nonces.delete(k);
      const nonceKey = `${params.AccessKeyId}\n${params.SignatureNonce}`;
      if (nonces.has(nonceKey)) throw new RpcError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
      nonces.set(nonceKey, now + MAX_SKEW_MS);
      if (opts.rejectObjectScoped !== false && auth.temp && auth.temp.scope.kind === 'object') {
        throw new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM.");
      }
      const result = await action(params, { accessKeyId: params.AccessKeyId, temp: auth.temp }, requestId);
      return sendBody(reply, format, 200, `${params.Action}Response`, { RequestId: requestId, ...result });
    } catch (e) {
      const err =
        e instanceof RpcError
          ? e
          : (console.error(`[cloud:${opts.product}] internal error`, e), new RpcError(500, 'InternalError', 'The request processing has failed due to some unknown error, exception or failure.'));
      entry.status = err.status;
      entry.code = err.code;
      return sendBody(reply, format, err.status, 'Error', {
        RequestId: requestId,
        HostId: opts.hostId,
        Code: err.code,
        Message: err.message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=${opts.product}`,
      });
    } finally {
      log.push(entry);
      if (log.length > 2000) log.splice(0, log.length - 2000);
    }
  };
  app.get('/', handler);
  app.post('/', handler);
  return log;
}
