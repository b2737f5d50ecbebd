/**
 * The few COS XML requests a VOD upload needs, over the platform adapter (wx.request): PutObject, Initiate /
 * UploadPart / ListParts / Complete / Abort multipart, HeadObject. Signed with the session's temporary credential
 * (KeyTime from the server's clock, so a wrong phone clock does not matter); sent either through the vod2 host with
 * `Vod-Forward-Cos` (as vod-wx-sdk-v2 does: only the vod2 domain needs whitelisting) or straight to the bucket host.
 */
import { MediaKitError, PlatformErrorCode } from '../errors';
import type { AbortSignalLike } from '../platform/abort';
import { getHeader, HttpMethod, HttpResponse, PlatformAdapter } from '../platform/types';
import { cosEncode, cosSign } from './cos-signature';

export interface CosCredentials {
  secretId: string;
  secretKey: string;
  token: string;
  /** Server time of the Apply (Unix s) and the credential's expiry: the KeyTime. */
  startTime: number;
  expiredTime: number;
}

export interface CosTarget {
  /** <bucket>-<appid> */
  bucket: string;
  region: string;
  /** Base URL requests go to (the vod2 host or the accelerate host), or undefined for the bucket host itself. */
  proxyBase?: string;
}

export interface CosCallOptions {
  method: HttpMethod;
  key: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: ArrayBuffer | string;
  signal?: AbortSignalLike;
  timeout: number;
}

/** A COS error answer (`code` = COS's Code, e.g. AccessDenied) or a platform error passed through. */
export function cosErrorFrom(res: HttpResponse<unknown>): MediaKitError {
  const text = typeof res.data === 'string' ? res.data : '';
  const pick = (tag: string) => (new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(text) || [])[1];
  const requestId = getHeader(res.header, 'x-cos-request-id') || pick('RequestId');
  const code = pick('Code') || `HTTP_${res.statusCode}`;
  return new MediaKitError(code, `COS ${res.statusCode} ${code}: ${pick('Message') || 'no message'}`, { status: res.statusCode, requestId, cosCode: code, hasRequestId: !!requestId });
}

export class CosClient {
  constructor(
    private adapter: PlatformAdapter,
    public target: CosTarget,
    public creds: () => CosCredentials,
  ) {}

  get host(): string {
    return `${this.target.bucket}.cos.${this.target.region}.myqcloud.com`;
  }

  async call(o: CosCallOptions): Promise<HttpResponse<string>> {
    const c = this.creds();
    const path = `/${o.key}`;
    const query = o.query || {};
    const signHeaders: Record<string, string> = { host: this.host };
    for (const [k, v] of Object.entries(o.headers || {})) if (/^(content-type|content-md5|x-cos-)/i.test(k)) signHeaders[k.toLowerCase()] = v;
    const auth = cosSign({ secretId: c.secretId, secretKey: c.secretKey, method: o.method, pathname: path, query, headers: signHeaders, keyTime: `${c.startTime};${c.expiredTime}` });
    const qs = Object.keys(query)
      .map((k) => (query[k] === '' ? cosEncode(k) : `${cosEncode(k)}=${cosEncode(query[k])}`))
      .join('&');
    const encodedPath = path.split('/').map(cosEncode).join('/');
    const url = `${this.target.proxyBase ? this.target.proxyBase : `https://${this.host}`}${encodedPath}${qs ? `?${qs}` : ''}`;
    const header: Record<string, string> = { ...(o.headers || {}), Authorization: auth.authorization, 'x-cos-security-token': c.token };
    if (this.target.proxyBase) header['Vod-Forward-Cos'] = this.host;
    if (!header['content-type'] && !header['Content-Type']) header['content-type'] = o.body instanceof ArrayBuffer ? 'application/octet-stream' : 'application/xml';
    const res = await this.adapter.request<string>({ url, method: o.method, header, data: o.body === undefined ? '' : o.body, dataType: 'text', responseType: 'text', timeout: o.timeout, signal: o.signal });
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const err = cosErrorFrom(res);
    // an error without x-cos-request-id did not come from COS (a proxy or captive portal): retry it as a network error
    if (!err.details.hasRequestId) throw new MediaKitError(PlatformErrorCode.Network, `HTTP ${res.statusCode} without x-cos-request-id (not from COS)`, { status: res.statusCode });
    throw err;
  }
}

export function xmlTag(text: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(text);
  return m ? m[1] : undefined;
}

export function xmlAll(text: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1]);
  return out;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
