/**
 * STS mode: the VOD RPC calls the SDK makes itself (CreateUploadVideo / RefreshUploadVideo / CreateUploadImage),
 * signed with HMAC-SHA1 including Timestamp and SignatureNonce (the official mini SDK omits Timestamp).
 */
import { MediaKitError } from '../errors';
import type { AbortSignalLike } from '../platform/abort';
import { getHeader, PlatformAdapter } from '../platform/types';
import { signRpcRequest, RpcParams } from '../aliyun/rpc-signature';
import { VODUploadErrorCode } from './errors';
import type { StsCredentials } from './types';

export interface VodContext {
  adapter: PlatformAdapter;
  endpoint: string;
  sts: StsCredentials;
  now(): number;
  timeout?: number;
  signal?: AbortSignalLike;
}

export interface VodUploadResponse {
  RequestId?: string;
  VideoId?: string;
  ImageId?: string;
  ImageURL?: string;
  FileURL?: string;
  UploadAddress: string;
  UploadAuth: string;
}

export async function vodCall(ctx: VodContext, action: string, params: RpcParams): Promise<VodUploadResponse> {
  const { query } = signRpcRequest({
    accessKeyId: ctx.sts.accessKeyId,
    accessKeySecret: ctx.sts.accessKeySecret,
    securityToken: ctx.sts.securityToken,
    params: Object.assign({ Action: action, Version: '2017-03-21' }, params),
    timestampMs: ctx.now(),
  });
  const res = await ctx.adapter.request<unknown>({
    url: `${ctx.endpoint.replace(/\/+$/, '')}/?${query}`,
    method: 'GET',
    dataType: 'json',
    timeout: ctx.timeout,
    signal: ctx.signal,
  });
  let body = res.data as Record<string, unknown> | string | undefined;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as Record<string, unknown>;
    } catch (_) {
      /* not JSON */
    }
  }
  const b = body && typeof body === 'object' ? (body as Record<string, string>) : undefined;
  const details = { op: action, status: res.statusCode, requestId: b && b.RequestId, serverTime: getHeader(res.header, 'date') };
  if (res.statusCode < 200 || res.statusCode >= 300) {
    if (b && b.Code) throw new MediaKitError(b.Code, `${action}: ${b.Message || b.Code} (HTTP ${res.statusCode})`, details);
    throw new MediaKitError(VODUploadErrorCode.HttpError, `${action}: HTTP ${res.statusCode} without a VOD error body`, details);
  }
  if (!b || !b.UploadAuth || !b.UploadAddress) {
    throw new MediaKitError(VODUploadErrorCode.UnexpectedResponse, `${action}: the response has no UploadAuth / UploadAddress.`, details);
  }
  return b as unknown as VodUploadResponse;
}
