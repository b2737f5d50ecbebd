/**
 * Polyv signature rules against the reference vectors (docs/polyv.md, shared/reference/polyv-play-token.md §2.3, §2.6):
 * the AppServer's signer and the local cloud's independent verifier must both produce them.
 */
import { createHash } from 'node:crypto';
import { polyvSign, polyvSha1Sign, polyvSignedForm } from '../../server/app/polyv/sign';
import { md5SignOf, sha1SignOf } from '../../server/cloud/polyv/verify';

const docVector = {
  params: { ts: '1552447784505', userId: 'e6b23c6f51', videoId: 'e6b23c6f51c4b1cb9f0302a92ed42440_e', viewerId: 'abcd1234', viewerIp: '127.0.0.1' },
  secret: 'abc',
  sign: '166D45560D37DDBF0F05081D975231B5',
};
const createChildVector = {
  params: {
    appId: 'asRocmWigR',
    videoId: 'e6b23c6f51c4b1cb9f0302a92ed42440_e',
    ts: 1552446282044,
    viewerId: 'abcd1234',
    viewerIp: '127.0.0.1',
    expires: 600,
    disposable: false,
    iswxa: 1,
    viewerName: '',
    extraParams: null,
  },
  secret: 'abc',
  sign: '24B8B9177A208E9BE6882C9892705733',
};

describe('polyvSign (MD5 rule)', () => {
  test('doc vector: v1 token params, secret abc → 166D45560D37DDBF0F05081D975231B5', () => {
    expect(polyvSign(docVector.params, docVector.secret)).toBe(docVector.sign);
    expect(md5SignOf(docVector.params, docVector.secret)).toBe(docVector.sign);
  });

  test('create-child vector: booleans/numbers as strings, empty and null params dropped → 24B8B917…', () => {
    expect(polyvSign(createChildVector.params, createChildVector.secret)).toBe(createChildVector.sign);
    const asStrings: Record<string, string> = {};
    for (const [k, v] of Object.entries(createChildVector.params)) if (v !== null) asStrings[k] = String(v);
    expect(md5SignOf(asStrings, createChildVector.secret)).toBe(createChildVector.sign);
  });

  test('insertion order does not matter; sign itself, blank values and undefined are ignored', () => {
    const shuffled = { viewerIp: '127.0.0.1', sign: 'WHATEVER', viewerId: 'abcd1234', blank: '   ', nothing: undefined, videoId: docVector.params.videoId, userId: 'e6b23c6f51', ts: '1552447784505' };
    expect(polyvSign(shuffled, 'abc')).toBe(docVector.sign);
  });

  test('code-unit order, not locale order: uppercase keys sort before lowercase', () => {
    // 'Z' (0x5A) < 'a' (0x61): the plain text must be abcZ1a2abc, whatever localeCompare would say.
    const expected = createHash('md5').update('abcZ1a2abc').digest('hex').toUpperCase();
    expect(polyvSign({ a: 2, Z: 1 }, 'abc')).toBe(expected);
  });

  test('UTF-8: a Chinese viewerName is signed as UTF-8 bytes', () => {
    const expected = createHash('md5').update(Buffer.from('abcviewerName观看者abc', 'utf8')).digest('hex').toUpperCase();
    expect(polyvSign({ viewerName: '观看者' }, 'abc')).toBe(expected);
  });

  test('bad input: an empty secret is refused', () => {
    expect(() => polyvSign({ a: 1 }, '')).toThrow(/empty secret/);
  });

  test('polyvSignedForm sends exactly the signed set plus sign, never the secret', () => {
    const form = polyvSignedForm(createChildVector.params, 'abc');
    expect(form.sign).toBe(createChildVector.sign);
    expect(Object.keys(form).sort()).toEqual(['appId', 'disposable', 'expires', 'iswxa', 'sign', 'ts', 'videoId', 'viewerId', 'viewerIp']);
    expect(Object.values(form)).not.toContain('abc');
    expect(md5SignOf(form, 'abc')).toBe(form.sign);
  });
});

describe('polyvSha1Sign (SHA1 rule of the v2 APIs)', () => {
  test('doc vector: ptime=1&vid=test1 + secret test2 → C2B1558D…', () => {
    expect(polyvSha1Sign({ ptime: 1, vid: 'test1' }, 'test2')).toBe('C2B1558D697EA3AF4ED2FC90152751860C1E2163');
    expect(sha1SignOf({ vid: 'test1', ptime: '1' }, 'test2')).toBe('C2B1558D697EA3AF4ED2FC90152751860C1E2163');
  });
});
