/**
 * The hostile-input primitives (server/safe-input.ts): own-property lookups, the reserved-name grammar, the iterative
 * JSON shape check (no recursion: 100,000 levels are measured, not overflowed), and header values checked when stored
 * and encoded when sent.
 */
import { checkJsonShape, encodeHeaderValue, headerValueProblem, isHeaderToken, isReservedName, isWellFormedText, mapOf, nullRecord, ownGet, PROTOTYPE_NAMES } from '../../server/safe-input';

describe('lookups by a client-supplied name', () => {
  test.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])('%s: ownGet finds nothing, isReservedName refuses it, a Map and a null record hold it as data', (name) => {
    const table: Record<string, string> = { real: 'secret' };
    expect(ownGet(table, name)).toBeUndefined();
    expect(isReservedName(name)).toBe(true);
    expect(mapOf(table).get(name)).toBeUndefined();
    const rec = nullRecord<string>();
    rec[name] = 'v';
    expect(Object.keys(rec)).toEqual([name]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
  test('ordinary ids: found when own, not reserved', () => {
    expect(ownGet({ abc: 1 }, 'abc')).toBe(1);
    expect(isReservedName('5aed81b74ba84920be578cdfe004af4b')).toBe(false);
    expect(PROTOTYPE_NAMES).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']));
  });
});

describe('checkJsonShape (iterative)', () => {
  const nest = (n: number) => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = { a: v };
    return v;
  };
  test('100,000 levels: a depth problem, not a stack overflow', () => {
    const r = checkJsonShape(nest(100000), { maxDepth: 32, maxBytes: 1e9 });
    expect(r).toMatchObject({ ok: false, reason: 'depth' });
  });
  test('size counts what JSON.stringify would print (UTF-8 bytes, within escaping)', () => {
    const v = { s: '视'.repeat(100), n: [1, 2, 3], b: true, z: null };
    const r = checkJsonShape(v, { maxDepth: 4, maxBytes: 10000 });
    expect(r.ok).toBe(true);
    const exact = Buffer.byteLength(JSON.stringify(v), 'utf8');
    expect(r.ok && Math.abs(r.bytes - exact)).toBeLessThanOrEqual(8);
    expect(checkJsonShape(v, { maxDepth: 4, maxBytes: exact - 20 })).toMatchObject({ ok: false, reason: 'size' });
  });
  test('a lone surrogate in a key or a value, with its path', () => {
    expect(checkJsonShape({ a: ['ok', 'x\ud800'] }, { maxDepth: 8, maxBytes: 1000 })).toMatchObject({ ok: false, reason: 'surrogate', path: 'a[1]' });
    expect(checkJsonShape({ ['\udc00']: 1 }, { maxDepth: 8, maxBytes: 1000 })).toMatchObject({ ok: false, reason: 'surrogate' });
    expect(isWellFormedText('emoji 😀 ok')).toBe(true);
    expect(isWellFormedText('\ud83d')).toBe(false);
  });
});

describe('header values', () => {
  test.each([
    ['CR LF', 'a\r\nSet-Cookie: x'],
    ['LF', 'a\nb'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['lone surrogate', 'a\ud800'],
  ])('refused when stored: %s', (_n, v) => {
    expect(headerValueProblem(v)).toBeDefined();
  });
  test('accepted when stored: tab, Latin-1, UTF-8', () => {
    for (const v of ['a\tb', 'café', '视频 ✓']) expect(headerValueProblem(v)).toBeUndefined();
  });
  test('encoded when sent: UTF-8 as its bytes, controls dropped (old stored data never makes a 500)', () => {
    expect(Buffer.from(encodeHeaderValue('视频'), 'latin1').toString('utf8')).toBe('视频');
    expect(encodeHeaderValue('a\r\nb')).toBe('ab');
    expect(encodeHeaderValue('café')).toBe('café');
    expect(/[^\t\x20-\x7e\x80-\xff]/.test(encodeHeaderValue('x\u0000视\ud800'))).toBe(false);
  });
  test('header names are RFC 7230 tokens', () => {
    expect(isHeaderToken('x-oss-meta-title')).toBe(true);
    for (const n of ['x-oss-meta-a b', 'x:y', 'x\r\n', '']) expect(isHeaderToken(n)).toBe(false);
  });
});
