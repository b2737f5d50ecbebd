/**
 * PlayAuth decoding: the plain form (base64 JSON) and the obfuscated form (marker "493vpa" at index 20, "ZZ" suffix,
 * characters outside 40–59 shifted by +1), built here from the description in the reference notes.
 */
import { decodePlayAuth, unobfuscatePlayAuth } from '../../sdk/src/download/playinfo';

function obfuscate(plain: string, suffix = true): string {
  let shifted = '';
  for (const ch of plain) {
    const c = ch.charCodeAt(0);
    shifted += String.fromCharCode(Math.floor(c / 20) === 2 ? c : c + 1);
  }
  return shifted.slice(0, 20) + '493vpa' + shifted.slice(20) + (suffix ? 'ZZ' : '');
}

const creds = { AccessKeyId: 'STS.NUxxAk', AccessKeySecret: 'Secret+/=', SecurityToken: 'CAIS…token', AuthInfo: '{"MediaId":"abc","ExpireTime":"2026-12-02T15:00:00Z"}', Region: 'cn-shanghai', VideoMeta: { VideoId: 'abc' } };
const plain = Buffer.from(JSON.stringify(creds)).toString('base64');

describe('PlayAuth forms', () => {
  it('the plain form decodes; unobfuscate leaves it alone', () => {
    expect(unobfuscatePlayAuth(plain)).toBe(plain);
    expect(decodePlayAuth(plain)).toMatchObject({ AccessKeyId: 'STS.NUxxAk', AuthInfo: creds.AuthInfo, Region: 'cn-shanghai' });
  });

  it('the obfuscated form (with and without the ZZ suffix) gives the same credentials; digits, + and / are not shifted', () => {
    const ob = obfuscate(plain);
    expect(ob.substr(20, 6)).toBe('493vpa');
    expect(ob.startsWith('fzK')).toBe(true); // "eyJ" (base64 of '{"') shifted
    expect(unobfuscatePlayAuth(ob)).toBe(plain);
    expect(unobfuscatePlayAuth(obfuscate(plain, false))).toBe(plain);
    expect(decodePlayAuth(ob)).toEqual(decodePlayAuth(plain));
  });

  it('malformed: the marker elsewhere, garbage, empty → DOWNLOAD_ERROR_AUTH_SOURCE_WRONG', () => {
    const ob = obfuscate(plain);
    const moved = ob.slice(0, 20) + ob.slice(26, 30) + '493vpa' + ob.slice(30);
    for (const bad of [moved, 'not a playauth', '', `${'A'.repeat(20)}493vpa!!!`]) {
      expect(() => decodePlayAuth(bad)).toThrow(expect.objectContaining({ code: 'DOWNLOAD_ERROR_AUTH_SOURCE_WRONG', errorCode: 805371908 }));
    }
  });
});
