/**
 * The device thing model (物模型) as IoTVideo lays it out — ProReadonly / ProWritable / ProUser / Action — and the
 * device's behaviour for reads, writes, actions and user properties. Failures are IoTVideo codes:
 * 20101 bad leaf path, 20102 the device cannot parse the JSON, 21081 the device rejects the value, 21080 not
 * supported, 20103 the action failed, 8605 a user property named with a leading "_".
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface ThingModel {
  ProReadonly: Record<string, { t: number; stVal: Json }>;
  ProWritable: Record<string, { t: number; setVal: Json; stVal: Json }>;
  ProUser: Record<string, { t: number; val: Json }>;
  Action: Record<string, { t: number; ctlVal: Json; stVal: Json }>;
}

export class ModelError extends Error {
  constructor(public code: number, message: string) {
    super(message);
  }
}

type Rule = { kind: 'int'; min: number; max: number } | { kind: 'string'; maxLength: number } | { kind: 'readonly' };

/** What the device accepts for each writable property and action. */
const WRITABLE_RULES: Record<string, Rule> = {
  _logLevel: { kind: 'int', min: 0, max: 5 },
  nightVision: { kind: 'int', min: 0, max: 2 },
  motionSensitivity: { kind: 'int', min: 1, max: 5 },
  osdText: { kind: 'string', maxLength: 32 },
  _cloudStoage: { kind: 'readonly' },
};
const ACTION_RULES: Record<string, Rule> = {
  cameraOn: { kind: 'int', min: 0, max: 1 },
  reboot: { kind: 'int', min: 1, max: 1 },
  formatSdCard: { kind: 'int', min: 1, max: 1 },
};

export function defaultModel(name: string, t: number, opts: { sdCard: boolean; cloud: { serviceType: number; utcExpire: number } }): ThingModel {
  return {
    ProReadonly: {
      _online: { t, stVal: 1 },
      _ver: { t, stVal: '2.4.1' },
      battery: { t, stVal: 87 },
      wifiRssi: { t, stVal: -52 },
      sdCardStatus: { t, stVal: opts.sdCard ? 1 : 0 },
    },
    ProWritable: {
      _logLevel: { t, setVal: 0, stVal: 0 },
      _cloudStoage: { t, setVal: null, stVal: { serviceType: opts.cloud.serviceType, utcExpire: opts.cloud.utcExpire, pause: 0 } },
      nightVision: { t, setVal: 0, stVal: 0 },
      motionSensitivity: { t, setVal: 3, stVal: 3 },
      osdText: { t, setVal: name, stVal: name },
    },
    ProUser: {
      _buildIn: { t, val: { almEvtPushEna: 0, nickName: name } },
    },
    Action: {
      cameraOn: { t, ctlVal: 1, stVal: 1 },
      reboot: { t, ctlVal: 0, stVal: 0 },
      formatSdCard: { t, ctlVal: 0, stVal: 0 },
    },
  };
}

function parseJson(text: string): Json {
  let v: Json;
  try {
    v = JSON.parse(text) as Json;
  } catch (e) {
    throw new ModelError(20102, `The device could not parse the JSON: ${(e as Error).message}`);
  }
  if (jsonDepth(v, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new ModelError(20102, `The device refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);
  return v;
}

function checkValue(rule: Rule | undefined, name: string, v: Json): void {
  if (!rule) return;
  if (rule.kind === 'readonly') throw new ModelError(21080, `${name} is set by the platform, not by the user.`);
  if (rule.kind === 'int' && !(typeof v === 'number' && Number.isInteger(v) && v >= rule.min && v <= rule.max)) {
    throw new ModelError(21081, `${name} must be an integer in ${rule.min}..${rule.max} (got ${JSON.stringify(v)}).`);
  }
  if (rule.kind === 'string' && !(typeof v === 'string' && v.length <= rule.maxLength)) {
    throw new ModelError(21081, `${name} must be a string of at most ${rule.maxLength} characters.`);
  }
}

const SEG = /^[A-Za-z0-9_]{1,64}$/;
/** Names that would reach Object.prototype (or a constructor) through a plain-object lookup. Never model names. */
export const RESERVED_MODEL_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Free-form JSON a device accepts: at most this deep (objects/arrays nested). */
export const MAX_JSON_DEPTH = 32;

function splitPath(path: string): string[] {
  const segs = path.split('.');
  if (segs.some((s) => !SEG.test(s))) throw new ModelError(20101, `"${path}" is not a model path.`);
  const bad = segs.find((s) => RESERVED_MODEL_NAMES.has(s));
  if (bad) throw new ModelError(20101, `"${path}": "${bad}" is not a model name.`);
  return segs;
}

/** The own entry `name` of a model dictionary, never an inherited one. */
function own<T>(dict: Record<string, T>, name: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(dict, name) ? dict[name] : undefined;
}

/** Depth of a parsed JSON value (a scalar is 0). Iterative, so hostile nesting cannot overflow the stack. */
export function jsonDepth(v: unknown, limit = Infinity): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [node, d] = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const c of Array.isArray(node) ? node : Object.values(node as object)) stack.push([c, d + 1]);
  }
  return max;
}

/** Reads the node at path ("" = the whole model). */
export function readPath(model: ThingModel, path: string): Json {
  if (path === '') return model as unknown as Json;
  let node: Json = model as unknown as Json;
  for (const s of splitPath(path)) {
    if (!node || typeof node !== 'object' || Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, s)) {
      throw new ModelError(20101, `No model node at "${path}".`);
    }
    node = (node as Record<string, Json>)[s];
  }
  return node;
}

/** writeProperty: ProWritable.x ('{"setVal":v}') or ProWritable.x.setVal ('v'); ProUser.x.val; ProUser.x.val.key. */
export function writePath(model: ThingModel, path: string, jsonText: string, t: number): Json {
  const segs = splitPath(path);
  const value = parseJson(jsonText);
  if (segs[0] === 'ProWritable' && segs.length >= 2) {
    const name = segs[1];
    const node = own(model.ProWritable, name);
    if (!node) throw new ModelError(20101, `No writable property "${name}".`);
    let v: Json;
    if (segs.length === 2) {
      if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, 'setVal')) {
        throw new ModelError(21081, `Writing "${path}" takes '{"setVal":…}' (or write "${path}.setVal" with the bare value).`);
      }
      v = (value as Record<string, Json>).setVal;
    } else if (segs.length === 3 && segs[2] === 'setVal') {
      v = value;
    } else {
      throw new ModelError(20101, `"${path}" is not a writable leaf (use ProWritable.<name> or ProWritable.<name>.setVal).`);
    }
    checkValue(own(WRITABLE_RULES, name), name, v);
    node.setVal = v;
    node.stVal = v;
    node.t = t;
    return node as unknown as Json;
  }
  if (segs[0] === 'ProUser' && segs.length >= 3 && segs[2] === 'val') {
    const node = own(model.ProUser, segs[1]);
    if (!node) throw new ModelError(20101, `No user property "${segs[1]}" (add it with addProperty first).`);
    if (segs.length === 3) {
      node.val = value;
    } else if (segs.length === 4) {
      if (!node.val || typeof node.val !== 'object' || Array.isArray(node.val)) node.val = {};
      // An own data property even for odd keys (splitPath already refuses the prototype names).
      Object.defineProperty(node.val, segs[3], { value, enumerable: true, writable: true, configurable: true });
    } else {
      throw new ModelError(20101, `"${path}" is too deep.`);
    }
    node.t = t;
    return node as unknown as Json;
  }
  throw new ModelError(20101, `"${path}" is not writable: write ProWritable.<name>[.setVal] or ProUser.<name>.val[.<key>].`);
}

/** takeAction: Action.x with '{"ctlVal":v}'. */
export function runAction(model: ThingModel, path: string, jsonText: string, t: number): Json {
  const segs = splitPath(path);
  if (segs[0] !== 'Action' || segs.length !== 2) throw new ModelError(20101, `"${path}" is not an action path (Action.<name>).`);
  const node = own(model.Action, segs[1]);
  if (!node) throw new ModelError(20101, `No action "${segs[1]}".`);
  const value = parseJson(jsonText);
  if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, 'ctlVal')) {
    throw new ModelError(21081, `An action takes '{"ctlVal":…}'.`);
  }
  const v = (value as Record<string, Json>).ctlVal;
  checkValue(own(ACTION_RULES, segs[1]), segs[1], v);
  if (segs[1] === 'formatSdCard' && own(model.ProReadonly, 'sdCardStatus')?.stVal === 0) {
    throw new ModelError(20103, 'The device has no SD card to format.');
  }
  node.ctlVal = v;
  node.stVal = v;
  node.t = t;
  return node as unknown as Json;
}

function userName(path: string): string {
  const segs = splitPath(path);
  if (segs[0] !== 'ProUser' || segs.length !== 2) throw new ModelError(20101, `A user property path is ProUser.<name> (got "${path}").`);
  if (segs[1].startsWith('_')) throw new ModelError(8605, `User property names may not start with "_" ("${segs[1]}" is reserved for the built-in model).`);
  return segs[1];
}

/** addProperty: ProUser.<name> (overwrites an existing one). */
export function addUserProperty(model: ThingModel, path: string, jsonText: string, t: number): Json {
  const name = userName(path);
  const value = parseJson(jsonText);
  const node = { t, val: value };
  Object.defineProperty(model.ProUser, name, { value: node, enumerable: true, writable: true, configurable: true });
  return node as unknown as Json;
}

export function deleteUserProperty(model: ThingModel, path: string): void {
  const name = userName(path);
  if (!own(model.ProUser, name)) throw new ModelError(20101, `No user property "${name}".`);
  delete model.ProUser[name];
}
