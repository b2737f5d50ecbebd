import { canonicalizeRpcQuery, computeRpcSignature, percentEncode, rpcStringToSign, rpcTimestamp, rpcNonce, signRpcRequest } from '../../sdk/src/aliyun';

describe('Aliyun RPC signature (VOD / STS, HMAC-SHA1)', () => {
  // The worked example of the VOD signature document (GetVideoPlayAuth, secret testAccessKeySecret).
  const docParams = {
    Timestamp: '2017-10-10T12:02:54Z',
    Format: 'JSON',
    AccessKeyId: 'testAccessKeyId',
    Action: 'GetVideoPlayAuth',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '8f8a035d-6496-4268-afd4-67c22837e38d',
    Version: '2017-03-21',
    SignatureVersion: '1.0',
    VideoId: '5aed81b74ba84920be578cdfe004af4b',
  };

  it('reproduces the documented StringToSign and signature Ibgh7y8Vp47LBuAsf5Xhi1SvDss=', () => {
    expect(rpcStringToSign('GET', docParams)).toBe(
      'GET&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3DGetVideoPlayAuth%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D8f8a035d-6496-4268-afd4-67c22837e38d%26SignatureVersion%3D1.0%26Timestamp%3D2017-10-10T12%253A02%253A54Z%26Version%3D2017-03-21%26VideoId%3D5aed81b74ba84920be578cdfe004af4b',
    );
    expect(computeRpcSignature('GET', docParams, 'testAccessKeySecret')).toBe('Ibgh7y8Vp47LBuAsf5Xhi1SvDss=');
  });

  it('signRpcRequest with the same inputs yields the same signature and a URL-encoded Signature last', () => {
    const { signature, query, params } = signRpcRequest({
      accessKeyId: 'testAccessKeyId',
      accessKeySecret: 'testAccessKeySecret',
      params: { Action: 'GetVideoPlayAuth', Version: '2017-03-21', VideoId: '5aed81b74ba84920be578cdfe004af4b' },
      timestampMs: Date.parse('2017-10-10T12:02:54Z'),
      nonce: '8f8a035d-6496-4268-afd4-67c22837e38d',
    });
    expect(signature).toBe('Ibgh7y8Vp47LBuAsf5Xhi1SvDss=');
    expect(query.endsWith('&Signature=Ibgh7y8Vp47LBuAsf5Xhi1SvDss%3D')).toBe(true);
    expect(params.Timestamp).toBe('2017-10-10T12:02:54Z');
  });

  it('percentEncode follows RFC 3986 (space %20, * %2A, ~ kept, UTF-8 bytes upper-case)', () => {
    expect(percentEncode("a b*c~d!'()+/=&")).toBe('a%20b%2Ac~d%21%27%28%29%2B%2F%3D%26');
    expect(percentEncode('视频')).toBe('%E8%A7%86%E9%A2%91');
  });

  it('canonical query sorts by key, drops undefined values and the Signature itself', () => {
    expect(canonicalizeRpcQuery({ b: '2', a: '1', Signature: 'x', c: undefined, B: 'up' })).toBe('B=up&a=1&b=2');
  });

  it('changing any parameter or the secret changes the signature (tamper detection)', () => {
    const base = computeRpcSignature('GET', docParams, 'testAccessKeySecret');
    expect(computeRpcSignature('GET', { ...docParams, VideoId: 'other' }, 'testAccessKeySecret')).not.toBe(base);
    expect(computeRpcSignature('GET', docParams, 'testAccessKeySecretX')).not.toBe(base);
    expect(computeRpcSignature('POST', docParams, 'testAccessKeySecret')).not.toBe(base);
  });

  it('rpcTimestamp drops milliseconds; rpcNonce is a v4 UUID and unique', () => {
    expect(rpcTimestamp(Date.parse('2024-05-06T07:08:09.123Z'))).toBe('2024-05-06T07:08:09Z');
    const a = rpcNonce();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rpcNonce()).not.toBe(a);
  });
});
