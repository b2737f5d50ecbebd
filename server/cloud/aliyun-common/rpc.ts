/**
 * The Aliyun RPC (POP) gateway as VOD and STS share it: GET query or POST form parameters, common-parameter checks,
 * HMAC-SHA1 signature verification (with the same code the SDK signs with), AccessKey or STS SecurityToken callers,
 * Timestamp skew and SignatureNonce replay checks, and the JSON (or XML) error body
 * `{RequestId, HostId, Code, Message, Recommend}`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XMLBuilder } from 'fast-xml-parser';
import { computeRpcSignature, rpcStringToSign } from '../../../sdk/src/aliyun/rpc-signature';
import type { CloudContext } from '../context';
import { getAliyunShared, MAX_SKEW_MS, popRequestId, type AliyunShared, type TempCredential } from './index';
import { evaluateRamPolicy } from './ram-policy';
import type { FrameworkErrorHandler } from '../../http';
import { isWellFormedText, nullRecord } from '../../safe-input';

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
  /** Enforce the RAM policy of STS credentials issued with one (AssumeRole `Policy`). */
  ram?: RpcRamOptions;
}

export interface RpcRamOptions {
  /** The RAM service code: each request is checked as `<service>:<Action>`. */
  service: string;
  /** The ARN of what the request touches (VOD authorises per operation only: acs:vod:<region>:<account>:*). */
  resource: (params: RpcParams) => string;
  /** The refusal, as the product words it. */
  deny: () => RpcError;
  /** Actions any authenticated caller may call whatever its policy (STS GetCallerIdentity). */
  exempt?: string[];
  /**
   * Real API names the local service does not implement: a caller whose policy refuses them gets the RAM refusal
   * (as from the real service); any other caller gets InvalidAction.NotFound.
   */
  knownActions?: string[];
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

/** Query (or form) parameters in a null-prototype record: `__proto__` and `constructor` are plain names here. */
function parseQuery(url: string): RpcParams {
  const out: RpcParams = nullRecord();
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

/** The POP error body, JSON: what every failure of the gateway (including fastify's own) answers. */
function popErrorJson(product: string, hostId: string, requestId: string, code: string, message: string): string {
  return JSON.stringify({ RequestId: requestId, HostId: hostId, Code: code, Message: message, Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=${product}` });
}

/** fastify's framework errors (bad percent-encoding in the path) in the POP error shape. */
export function rpcFrameworkErrors(product: string, hostId: string): FrameworkErrorHandler {
  return (err, _req, reply) => {
    const bad = err.code === 'FST_ERR_BAD_URL';
    reply
      .status(400)
      .type('application/json;charset=utf-8')
      .send(popErrorJson(product, hostId, popRequestId(), bad ? 'InvalidParameter' : 'BadRequest', bad ? 'The request path is not valid percent-encoding.' : err.message));
  };
}

/**
 * Mount an RPC service on `/` (GET and POST). Returns the request log (for the admin API).
 * Fastify must not already have an x-www-form-urlencoded parser in this scope.
 */
export function mountRpcService(app: FastifyInstance, ctx: CloudContext, opts: RpcServiceOptions): RpcLogEntry[] {
  const shared: AliyunShared = getAliyunShared(ctx);
  const nonces = new Map<string, number>();
  const log: RpcLogEntry[] = [];
  const actions = new Map(Object.entries(opts.actions));

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
    const out: RpcParams = nullRecord();
    for (const [k, v] of new URLSearchParams(body as string)) out[k] = v;
    done(null, out);
  });
  // The gateway reads parameters from the query and form bodies only; any other body is not a parameter source.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, _body, done) => done(null, undefined));
  // Whatever fastify itself rejects (a body over the limit, bad JSON to an admin route) still answers in POP's shape.
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) console.error(`[cloud:${opts.product}] internal error`, err);
    const code = status === 413 ? 'RequestEntityTooLarge' : status >= 500 ? 'InternalError' : 'InvalidParameter';
    const message = status === 413 ? 'The request body is too large (at most 1 MB).' : status >= 500 ? 'The request processing has failed due to some unknown error, exception or failure.' : err.message;
    reply.status(status).type('application/json;charset=utf-8').send(popErrorJson(opts.product, opts.hostId, popRequestId(), code, message));
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
      const params: RpcParams = parseQuery(req.url);
      const form = String(req.headers['content-type'] || '').toLowerCase().startsWith('application/x-www-form-urlencoded');
      if (req.method === 'POST' && form && req.body && typeof req.body === 'object') {
        for (const [k, v] of Object.entries(req.body as RpcParams)) params[k] = v;
      }
      if ((params.Format || '').toUpperCase() === 'XML') format = 'XML';
      entry.action = params.Action;
      if (!params.Action) throw missing('Action');
      for (const [k, v] of Object.entries(params)) {
        if (!isWellFormedText(k) || !isWellFormedText(v)) throw new RpcError(400, 'InvalidParameter', 'A parameter is not valid Unicode text (a lone UTF-16 surrogate).');
      }
      // A Map, not the actions object: `constructor`, `__proto__` or `toString` name no action.
      const action = actions.get(params.Action);
      const notFound = () => new RpcError(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
      if (!action && !opts.ram?.knownActions?.includes(params.Action)) throw notFound();
      if (!params.Version) throw missing('Version');
      if (params.Version !== opts.version) throw new RpcError(400, 'InvalidVersion', `Specified parameter Version is not valid: ${opts.product} supports ${opts.version}.`);
      if (params.Format && !['JSON', 'XML'].includes(params.Format.toUpperCase())) throw new RpcError(400, 'InvalidParameter.Format', 'Specified parameter Format is not valid (JSON or XML).');
      if (!params.AccessKeyId) throw new RpcError(400, 'MissingAccessKeyId', 'AccessKeyId is mandatory for this action.');
      if (!params.Signature) throw new RpcError(400, 'MissingSignature', 'Signature is mandatory for this action.');
      if (params.SignatureMethod && params.SignatureMethod !== 'HMAC-SHA1') throw new RpcError(400, 'InvalidSignatureMethod', 'Specified signature method is not supported (HMAC-SHA1).');
      if (params.SignatureVersion && params.SignatureVersion !== '1.0') throw new RpcError(400, 'InvalidSignatureVersion', 'Specified signature version is not supported (1.0).');
      if (!params.SignatureNonce) throw new RpcError(400, 'MissingSignatureNonce', 'SignatureNonce is mandatory for this action.');
      const now = ctx.now();
      // Timestamp is a required common parameter (公共参数: 是); without it a signed request could be replayed once
      // its nonce is forgotten. The official upload SDKs omit it: the SDK in this repo sends it.
      if (params.Timestamp === undefined || params.Timestamp === '') throw new RpcError(400, 'MissingTimestamp', 'Timestamp is mandatory for this action.');
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(params.Timestamp) || isNaN(Date.parse(params.Timestamp))) {
        throw new RpcError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
      }
      const timestamp = Date.parse(params.Timestamp);
      if (Math.abs(timestamp - now) > MAX_SKEW_MS) throw new RpcError(400, 'InvalidTimeStamp.Expired', `Specified time stamp or date value is expired. (server time ${new Date(now).toISOString()})`);
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
      // Remember the nonce for as long as its Timestamp stays acceptable (a Timestamp up to 15 min ahead keeps it 30).
      nonces.set(nonceKey, Math.max(timestamp, now) + MAX_SKEW_MS);
      if (opts.rejectObjectScoped !== false && auth.temp && auth.temp.scope.kind === 'object') {
        throw new RpcError(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM.");
      }
      const ram = opts.ram;
      if (ram && auth.temp?.policy && !ram.exempt?.includes(params.Action)) {
        const decision = evaluateRamPolicy(auth.temp.policy, { action: `${ram.service}:${params.Action}`, resource: ram.resource(params) });
        if (decision !== 'Allow') throw ram.deny();
      }
      if (!action) throw notFound();
      const result = await action(params, { accessKeyId: params.AccessKeyId, temp: auth.temp }, requestId);
      return sendBody(reply, format, 200, `${params.Action}Response`, { RequestId: requestId, ...result });
    } catch (e) {
      const err =
        e instanceof RpcError
          ? e
          : (console.error(`[cloud:${opts.product}] internal error`, e), new RpcError(500, 'InternalError', 'The request processing has failed due to some unknown error, exception or failure.'));
      entry.status = err.status;
      entry.code = err.code;
      if (format !== 'XML') return reply.status(err.status).type('application/json;charset=utf-8').send(popErrorJson(opts.product, opts.hostId, requestId, err.code, err.message));
      return sendBody(reply, format, err.status, 'Error', JSON.parse(popErrorJson(opts.product, opts.hostId, requestId, err.code, err.message)));
    } finally {
      log.push(entry);
      if (log.length > 2000) log.splice(0, log.length - 2000);
    }
  };
  app.get('/', handler);
  app.post('/', handler);
  return log;
}
