/**
 * The local cloud's demo camera product, as Tencent's IoT platforms describe a product: a thing model (数据模板,
 * DescribeModelDefinition's `ModelDefine` JSON: properties with mode r / rw, events, actions) and the simulated
 * device's behaviour when the platform pushes a property (ControlDeviceData), calls an action
 * (CallDeviceActionSync) or publishes a message (PublishMessage).
 * Reference: https://cloud.tencent.com/document/product/1081/34916 (数据模板协议).
 */
import { EVENT_TYPE_TABLE } from '../../app/iot/events';

export const DEMO_PRODUCT_ID = 'LOCALCAM01';
export const DEMO_PRODUCT_NAME = '本地演示摄像头';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type Define = { type: 'int'; min: string; max: string; start: string; step: string; unit: string } | { type: 'string'; min: string; max: string } | { type: 'enum'; mapping: Record<string, string> };

interface PropertyDef {
  id: string;
  name: string;
  desc: string;
  mode: 'r' | 'rw';
  define: Define;
  required: boolean;
}
interface ParamDef {
  id: string;
  name: string;
  define: Define;
}
interface ActionDef {
  id: string;
  name: string;
  desc: string;
  input: ParamDef[];
  output: ParamDef[];
  required: boolean;
}
interface EventDef {
  id: string;
  name: string;
  desc: string;
  type: 'alert' | 'fault' | 'info';
  params: ParamDef[];
  required: boolean;
}

const int = (min: number, max: number, unit = ''): Define => ({ type: 'int', min: String(min), max: String(max), start: String(min), step: '1', unit });
const str = (max: number): Define => ({ type: 'string', min: '0', max: String(max) });
const prop = (id: string, name: string, mode: 'r' | 'rw', define: Define): PropertyDef => ({ id, name, desc: '', mode, define, required: false });

/** User properties (IVVAS ProUser) live in one string property holding a JSON object. */
export const USER_PROPS_ID = '_user';
/** The pass-through action (IVVAS sendDataToDevice with a reply). */
export const PASSTHROUGH_ACTION = '_passthrough';

export const MODEL = {
  version: '1.0',
  profile: { ProductId: DEMO_PRODUCT_ID, CategoryId: '113' },
  properties: [
    prop('_ver', '固件版本', 'r', str(32)),
    prop('battery', '电量', 'r', int(0, 100, '%')),
    prop('wifiRssi', 'Wi-Fi 信号', 'r', int(-100, 0, 'dBm')),
    prop('sdCardStatus', '存储卡', 'r', { type: 'enum', mapping: { '0': '无卡', '1': '正常' } }),
    prop('cameraOn', '摄像头开关状态', 'r', int(0, 1)),
    prop('_logLevel', '日志级别', 'rw', int(0, 5)),
    prop('nightVision', '夜视', 'rw', int(0, 2)),
    prop('motionSensitivity', '移动侦测灵敏度', 'rw', int(1, 5)),
    prop('osdText', '画面文字', 'rw', str(32)),
    prop(USER_PROPS_ID, '用户属性 (JSON)', 'rw', str(20000)),
  ] as PropertyDef[],
  events: EVENT_TYPE_TABLE.map(
    (r): EventDef => ({ id: r.eventId, name: r.label, desc: '', type: r.bit === 13 || r.bit === 9 ? 'info' : r.bit === 14 || r.bit === 10 ? 'fault' : 'alert', params: [], required: false }),
  ),
  actions: [
    { id: 'cameraOn', name: '开关摄像头', desc: '', input: [{ id: 'ctlVal', name: '开关', define: int(0, 1) }], output: [{ id: 'stVal', name: '状态', define: int(0, 1) }], required: false },
    { id: 'reboot', name: '重启', desc: '', input: [{ id: 'ctlVal', name: '执行', define: int(1, 1) }], output: [{ id: 'stVal', name: '状态', define: int(0, 1) }], required: false },
    { id: 'formatSdCard', name: '格式化存储卡', desc: '', input: [{ id: 'ctlVal', name: '执行', define: int(1, 1) }], output: [{ id: 'stVal', name: '状态', define: int(0, 1) }], required: false },
    { id: PASSTHROUGH_ACTION, name: '透传', desc: '', input: [{ id: 'data', name: 'base64', define: str(40960) }], output: [{ id: 'data', name: 'base64', define: str(40960) }], required: false },
  ] as ActionDef[],
};

export type PropValues = Record<string, { Value: Json; LastUpdate: number }>;

/** A null-prototype record: "__proto__" or "constructor" are plain keys, never Object.prototype's members. */
export function dict<T>(src?: Record<string, T>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (src) for (const k of Object.keys(src)) out[k] = src[k];
  return out;
}

export function defaultProps(name: string, tMs: number, sdCard: boolean): PropValues {
  const v = (Value: Json) => ({ Value, LastUpdate: tMs });
  return dict({
    _ver: v('2.4.1'),
    battery: v(87),
    wifiRssi: v(-52),
    sdCardStatus: v(sdCard ? 1 : 0),
    cameraOn: v(1),
    _logLevel: v(0),
    nightVision: v(0),
    motionSensitivity: v(3),
    osdText: v(name.slice(0, 32)),
    [USER_PROPS_ID]: v(JSON.stringify({ _buildIn: { t: Math.floor(tMs / 1000), val: { almEvtPushEna: 0, nickName: name } } })),
  });
}

const PROPS = new Map(MODEL.properties.map((p) => [p.id, p]));
const ACTIONS = new Map(MODEL.actions.map((a) => [a.id, a]));

/** Why a value does not fit a define, or undefined. */
function misfit(d: Define, v: unknown): string | undefined {
  if (d.type === 'int') {
    if (typeof v !== 'number' || !Number.isInteger(v)) return 'an integer';
    if (v < +d.min || v > +d.max) return `an integer in ${d.min}..${d.max}`;
    return undefined;
  }
  if (d.type === 'enum') return typeof v === 'number' && Object.prototype.hasOwnProperty.call(d.mapping, String(v)) ? undefined : `one of ${Object.keys(d.mapping).join(', ')}`;
  return typeof v === 'string' && v.length <= +d.max ? undefined : `a string of at most ${d.max} characters`;
}

export class ProductError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** ControlDeviceData's Data: a JSON object of writable properties, each value within its define. */
export function checkControlData(text: string): Record<string, Json> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ProductError('InvalidParameterValue', `Data is not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ProductError('InvalidParameterValue', 'Data must be a JSON object of property ids.');
  const out = dict<Json>();
  for (const [k, val] of Object.entries(v as Record<string, Json>)) {
    const p = PROPS.get(k);
    if (!p) throw new ProductError('InvalidParameterValue.ModelPropertyNotExist', `属性ID不存在: ${k}`);
    if (p.mode !== 'rw') throw new ProductError('InvalidParameterValue', `Property ${k} is read-only (mode r).`);
    const bad = misfit(p.define, val);
    if (bad) throw new ProductError('InvalidParameterValue', `Property ${k} must be ${bad}.`);
    out[k] = val;
  }
  if (Object.keys(out).length === 0) throw new ProductError('InvalidParameterValue', 'Data names no property.');
  return out;
}

/** CallDeviceActionSync: the action's input checked against its params; the device's reply. */
export function runDeviceAction(
  props: PropValues,
  actionId: string,
  inputText: string | undefined,
  tMs: number,
): { Status: string; OutputParams: string } {
  const a = ACTIONS.get(actionId);
  if (!a) throw new ProductError('InvalidParameterValue.ActionNilOrNotExist', `动作为空或不存在: ${actionId}`);
  let input: Record<string, unknown> = {};
  if (inputText !== undefined && inputText !== '') {
    try {
      input = JSON.parse(inputText) as Record<string, unknown>;
    } catch {
      throw new ProductError('InvalidParameter.ActionInputParamsInvalid', '动作输入参数不合法: InputParams is not JSON.');
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new ProductError('InvalidParameter.ActionInputParamsInvalid', '动作输入参数不合法: InputParams must be a JSON object.');
  }
  for (const k of Object.keys(input)) if (!a.input.some((p) => p.id === k)) throw new ProductError('InvalidParameter.ActionInputParamsInvalid', `动作输入参数不合法: unknown param ${k}.`);
  for (const p of a.input) {
    const bad = misfit(p.define, Object.prototype.hasOwnProperty.call(input, p.id) ? input[p.id] : undefined);
    if (bad) throw new ProductError('InvalidParameter.ActionInputParamsInvalid', `动作输入参数不合法: ${p.id} must be ${bad}.`);
  }
  if (actionId === PASSTHROUGH_ACTION) {
    const bytes = Buffer.from(String(input.data), 'base64').length;
    return { Status: 'success', OutputParams: JSON.stringify({ data: Buffer.from(JSON.stringify({ ack: 1, bytes })).toString('base64') }) };
  }
  if (actionId === 'formatSdCard' && props.sdCardStatus?.Value === 0) return { Status: 'fail', OutputParams: JSON.stringify({ stVal: 0, reason: 'no sd card' }) };
  const v = input.ctlVal as number;
  if (actionId === 'cameraOn') props.cameraOn = { Value: v, LastUpdate: tMs };
  return { Status: 'success', OutputParams: JSON.stringify({ stVal: v }) };
}
