/**
 * Hostile-input primitives shared by the AppServer and the local cloud (docs/errors.md).
 *
 * - Lookups by a client-supplied name go through `ownGet` / Maps / null-prototype records, never `obj[name]` on a
 *   plain object: `constructor`, `__proto__`, `toString` … are inherited from Object.prototype and would be "found".
 * - `isReservedName` is the grammar check ids and names use on top of their own syntax.
 * - `checkJsonShape` measures depth and size of a parsed JSON value without recursion (a 10,000-level object must
 *   give a 400, not a stack overflow in JSON.stringify).
 * - Header helpers: validate a value before it is stored, encode it when it is sent, never throw while sending.
 */

/** Names a client may send that collide with what every plain object inherits. */
export const PROTOTYPE_NAMES: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype', ...Object.getOwnPropertyNames(Object.prototype)].filter((v, i, a) => a.indexOf(v) === i));

/** True for `__proto__`, `constructor`, `prototype` and every Object.prototype member (`toString`, `hasOwnProperty`, …). */
export function isReservedName(name: string): boolean {
  return PROTOTYPE_NAMES.includes(name);
}

/** `obj[key]` only when `key` is the object's own property (undefined for inherited members such as `constructor`). */
export function ownGet<T>(obj: Record<string, T> | undefined | null, key: string): T | undefined {
  return obj && Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** An empty record without a prototype: `__proto__` is an ordinary key, nothing is inherited. */
export function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A Map from a record's own entries (configuration tables keyed by client-supplied ids). */
export function mapOf<T>(rec: Record<string, T>): Map<string, T> {
  return new Map(Object.entries(rec));
}

export interface JsonShapeLimits {
  /** Deepest nesting of objects/arrays (1 = a flat object). */
  maxDepth: number;
  /** Upper bound of the UTF-8 size of JSON.stringify(value) (computed without stringifying). */
  maxBytes: number;
}

export type JsonShapeProblem =
  | { ok: true; bytes: number }
  | { ok: false; reason: 'depth' | 'size' | 'surrogate' | 'type'; path: string; message: string };

/**
 * Walk a parsed JSON value iteratively: depth, an over-estimate-free size (what JSON.stringify would print, in UTF-8
 * bytes, within a few bytes of escaping), lone UTF-16 surrogates in keys or strings, and non-JSON values.
 * Stops at the first problem.
 */
export function checkJsonShape(value: unknown, limits: JsonShapeLimits): JsonShapeProblem {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  let bytes = 0;
  const str = (s: string, path: string): JsonShapeProblem | undefined => {
    if (!isWellFormedText(s)) return { ok: false, reason: 'surrogate', path, message: `${path || 'value'} contains a lone UTF-16 surrogate (not valid Unicode text)` };
    bytes += Buffer.byteLength(s, 'utf8') + 2;
    return undefined;
  };
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (bytes > limits.maxBytes) return { ok: false, reason: 'size', path, message: `${path || 'value'} is larger than ${limits.maxBytes} bytes as JSON` };
    if (v === null || typeof v === 'boolean') {
      bytes += 5;
      continue;
    }
    if (typeof v === 'number') {
      bytes += String(v).length;
      continue;
    }
    if (typeof v === 'string') {
      const p = str(v, path);
      if (p) return p;
      continue;
    }
    if (typeof v !== 'object') return { ok: false, reason: 'type', path, message: `${path || 'value'} is not JSON (${typeof v})` };
    if (depth + 1 > limits.maxDepth) return { ok: false, reason: 'depth', path, message: `${path || 'value'} nests deeper than ${limits.maxDepth} levels` };
    bytes += 2;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        bytes += 1;
        stack.push({ v: v[i], depth: depth + 1, path: `${path}[${i}]` });
      }
    } else {
      for (const k of Object.keys(v as object)) {
        const kp = `${path ? `${path}.` : ''}${k.length > 40 ? `${k.slice(0, 40)}…` : k}`;
        const p = str(k, kp);
        if (p) return p;
        bytes += 2;
        stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: kp });
      }
    }
  }
  if (bytes > limits.maxBytes) return { ok: false, reason: 'size', path: '', message: `value is larger than ${limits.maxBytes} bytes as JSON` };
  return { ok: true, bytes };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** False when the string holds a lone UTF-16 surrogate (no UTF-8 form: encodeURIComponent throws "URI malformed"). */
export function isWellFormedText(s: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return !LONE_SURROGATE.test(s);
}

function toWellFormedText(s: string): string {
  return s.replace(LONE_SURROGATE, '\ufffd');
}

// eslint-disable-next-line no-control-regex
const HEADER_CTL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Why a value cannot be stored for later use as an HTTP header value (CR, LF, NUL, other controls), or undefined. */
export function headerValueProblem(v: string): string | undefined {
  if (HEADER_CTL.test(v)) return 'contains a control character (CR, LF, NUL …)';
  if (!isWellFormedText(v)) return 'contains a lone UTF-16 surrogate';
  return undefined;
}

/** RFC 7230 token (header names). */
export function isHeaderToken(name: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name);
}

/**
 * A value Node will accept in setHeader: text beyond Latin-1 goes out as its UTF-8 bytes (what OSS does with UTF-8
 * metadata); control characters that slipped into stored data are dropped rather than answered with a 500.
 */
export function encodeHeaderValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = HEADER_CTL.test(v) ? v.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '') : v;
  return /[^\u0000-\u00ff]/.test(clean) ? Buffer.from(toWellFormedText(clean), 'utf8').toString('latin1') : clean;
}
