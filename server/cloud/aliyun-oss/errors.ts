/**
 * OSS errors exactly as OSS sends them: an XML <Error> document (Code, Message, RequestId, HostId, extra fields,
 * EC, RecommendDoc), the x-oss-request-id / x-oss-ec headers, and for bodiless responses (HEAD) the same XML
 * base64-encoded in x-oss-err.
 */
import { XMLBuilder } from 'fast-xml-parser';

export class OssError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    /** Extra elements after HostId, in order (e.g. OSSAccessKeyId, SignatureProvided, StringToSign). */
    public extra: Array<[string, string | number]> = [],
    /** OSS's fine-grained error code (EC), when known. */
    public ec?: string,
  ) {
    super(message);
  }
}

const builder = new XMLBuilder({ format: true, indentBy: '  ', suppressEmptyNode: false, processEntities: true });

/** Serialize a response object (key order kept) as OSS does: XML declaration, newline, indented document. */
export function toXml(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: body }).trimEnd()}\n`;
}

export function errorXml(err: OssError, requestId: string, hostId: string): string {
  const body: Record<string, unknown> = { Code: err.code, Message: err.message, RequestId: requestId, HostId: hostId };
  for (const [k, v] of err.extra) body[k] = v;
  if (err.ec) {
    body.EC = err.ec;
    body.RecommendDoc = `https://api.aliyun.com/troubleshoot?q=${err.ec}`;
  }
  return toXml('Error', body);
}

// The errors the emulator raises (messages as OSS words them).
export const E = {
  accessDenied: (msg = 'You have no right to access this object because of bucket acl.') => new OssError(403, 'AccessDenied', msg),
  noSuchBucket: (bucket: string) => new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', [['BucketName', bucket]]),
  noSuchKey: (key: string) => new OssError(404, 'NoSuchKey', 'The specified key does not exist.', [['Key', key]]),
  noSuchUpload: (uploadId: string) =>
    new OssError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', [['UploadId', uploadId]]),
  invalidObjectName: (why: string) => new OssError(400, 'InvalidObjectName', `The specified object is not valid. ${why}`),
  invalidBucketName: (b: string) => new OssError(400, 'InvalidBucketName', 'The specified bucket is not valid.', [['BucketName', b]]),
  invalidArgument: (msg: string, name?: string, value?: string) =>
    new OssError(400, 'InvalidArgument', msg, name !== undefined ? [['ArgumentName', name], ['ArgumentValue', value ?? '']] : []),
  malformedXml: () => new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.'),
  invalidDigest: () => new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'),
  notImplemented: (what: string) => new OssError(501, 'NotImplemented', `${what} is not implemented by the local OSS.`),
  internal: () => new OssError(500, 'InternalError', 'We encountered an internal error. Please try again.'),
};
