/**
 * View-model of the IoT device page: read the thing model's values, show them in words, set a writable property
 * with the control its type calls for (switch, slider, segmented choice, text), run an action (destructive ones
 * after a confirmation), and show a refusal next to the setting that caused it. One request at a time per row:
 * a second tap while it is in flight sends nothing.
 *
 * How each property is shown and edited comes from the product's thing-model definition (PRODUCT_MODEL below): the
 * IoT Video console defines a product's properties with their type, range, enum values and units, and the app ships
 * that definition; the device only reports values. Properties for developers (log level, raw cloud-storage
 * descriptor, built-in user properties) go to the collapsed 调试 section, never to the settings.
 */
import { iotUserText } from './iot-errors';
import { AppClient, IoTError, iotDayKey, iotFormatTime, iotLocalTimezone, IVMessageMgr } from 'mp-media-sdk';

/** A property's definition in the product thing model. */
export type PropertySpec =
  | { type: 'bool'; label: string; developer?: boolean }
  | { type: 'int'; label: string; min: number; max: number; step?: number; unit?: string; developer?: boolean; names?: Record<number, string> }
  | { type: 'enum'; label: string; values: Record<number, string>; developer?: boolean }
  | { type: 'string'; label: string; maxLength?: number; developer?: boolean }
  | { type: 'cloudStorage'; label: string; developer?: boolean }
  | { type: 'struct'; label: string; developer?: boolean };

/** The demo product's thing model (what its IoT Video console definition says). */
export const PRODUCT_MODEL: Record<'ProReadonly' | 'ProWritable' | 'Action' | 'ProUser', Record<string, PropertySpec>> = {
  ProReadonly: {
    _online: { type: 'enum', label: '在线状态', values: { 0: '离线', 1: '在线' } },
    _ver: { type: 'string', label: '固件版本' },
    battery: { type: 'int', label: '电量', min: 0, max: 100, unit: '%' },
    wifiRssi: { type: 'int', label: 'Wi-Fi 信号', min: -100, max: 0, unit: 'dBm' },
    sdCardStatus: { type: 'enum', label: '存储卡', values: { 0: '未插入', 1: '正常', 2: '异常' } },
  },
  ProWritable: {
    _logLevel: { type: 'int', label: '日志级别', min: 0, max: 5, developer: true },
    _cloudStoage: { type: 'cloudStorage', label: '云存储' },
    nightVision: { type: 'enum', label: '夜视模式', values: { 0: '自动', 1: '开', 2: '关' } },
    motionSensitivity: { type: 'int', label: '移动侦测灵敏度', min: 1, max: 5, step: 1, names: { 1: '最低', 3: '中', 5: '最高' } },
    osdText: { type: 'string', label: '画面文字', maxLength: 32 },
  },
  Action: {
    cameraOn: { type: 'bool', label: '摄像头' },
    reboot: { type: 'int', label: '重启设备', min: 1, max: 1 },
    formatSdCard: { type: 'int', label: '格式化存储卡', min: 1, max: 1 },
  },
  ProUser: {
    _buildIn: { type: 'struct', label: '内置用户属性', developer: true },
  },
};

/** Actions that lose state: a confirmation first, in the warning colour. */
const DESTRUCTIVE: Record<string, { title: string; content: string; confirm: string; done: string }> = {
  reboot: { title: '重启设备？', content: '设备将断开约 1 分钟，期间无法查看画面和录像。', confirm: '重启', done: '设备正在重启' },
  formatSdCard: { title: '格式化存储卡？', content: '存储卡上的全部录像将被清除，且无法恢复。', confirm: '格式化', done: '存储卡已格式化' },
};

export interface PropertyRow {
  name: string;
  label: string;
  value: string;
}

export type Control = 'switch' | 'slider' | 'segmented' | 'text' | 'info';

export interface WritableRow extends PropertyRow {
  control: Control;
  /** The value as the control takes it (number for slider / segmented, string for text). */
  raw: number | string | boolean;
  min: number;
  max: number;
  step: number;
  options: Array<{ label: string; value: number }>;
  maxLength: number;
  /** What the user typed into a text setting (not yet written). */
  input: string;
  readonly: boolean;
  busy: boolean;
  /** The refusal for this row, shown under it. */
  error: string;
}

export interface ActionRow {
  name: string;
  label: string;
  kind: 'switch' | 'danger';
  on: boolean;
  state: string;
  busy: boolean;
  error: string;
}

export interface ErrorView {
  show: boolean;
  code: number;
  name: string;
  text: string;
  category: string;
  /** The row it belongs to ('' for a page-level failure such as loading). */
  field: string;
}

export interface ConfirmView {
  show: boolean;
  index: number;
  title: string;
  content: string;
  confirm: string;
}

export interface DeviceViewState {
  deviceId: string;
  loading: boolean;
  online: boolean;
  /** For an offline device: when it last came online ("最近上线 2026-12-01 08:30"), from _online's timestamp. */
  lastOnline: string;
  readonly: PropertyRow[];
  writable: WritableRow[];
  actions: ActionRow[];
  /** Developer-only values (调试). */
  debug: PropertyRow[];
  busy: string;
  message: string;
  error: ErrorView;
  confirm: ConfirmView;
}

export interface DeviceViewModelOptions {
  appClient: AppClient;
  deviceId: string;
  onChange: (patch: Record<string, unknown>) => void;
  timezone?: number;
}

const NO_ERROR: ErrorView = { show: false, code: 0, name: '', text: '', category: '', field: '' };
const NO_CONFIRM: ConfirmView = { show: false, index: -1, title: '', content: '', confirm: '' };
const PKG_TEXT: Record<number, string> = { 1: '全时云存', 2: '事件云存' };

function raw(v: unknown): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** '3' → 3, 'true' → true, '"x"' → 'x', anything else → the text as a string. */
export function parseInputValue(text: string): unknown {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false' || t === 'null' || /^[[{"]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch (e) {
      return t;
    }
  }
  return t;
}

function signalText(dbm: number): string {
  const q = dbm >= -55 ? '强' : dbm >= -70 ? '中' : '弱';
  return `${q}（${dbm} dBm）`;
}

/** A value in words, by its definition. */
export function describeValue(spec: PropertySpec | undefined, v: unknown, timezone: number): string {
  if (v === null || v === undefined) return '—';
  if (!spec) return raw(v);
  switch (spec.type) {
    case 'bool':
      return v === 1 || v === true ? '开' : '关';
    case 'enum':
      return spec.values[Number(v)] || `未知（${raw(v)}）`;
    case 'int':
      if (spec.unit === 'dBm' && typeof v === 'number') return signalText(v);
      if (spec.names && spec.names[Number(v)]) return `${v}（${spec.names[Number(v)]}）`;
      return `${raw(v)}${spec.unit ? ` ${spec.unit}` : ''}`.replace(' %', '%');
    case 'cloudStorage': {
      const c = (v || {}) as { serviceType?: number; utcExpire?: number; pause?: number };
      const pkg = PKG_TEXT[c.serviceType || 0] || '云存储';
      if (!c.utcExpire) return `${pkg} · 未开通`;
      const expired = c.utcExpire * 1000 < Date.now();
      return `${pkg} · ${expired ? '已于' : ''}${iotDayKey(c.utcExpire, timezone)} ${expired ? '过期' : '到期'}${c.pause ? ' · 已暂停' : ''}`;
    }
    default:
      return raw(v);
  }
}

type Model = Record<string, Record<string, Record<string, unknown>>>;

export class DeviceViewModel {
  readonly state: DeviceViewState;
  private readonly msg: IVMessageMgr;
  private readonly timezone: number;

  constructor(private readonly o: DeviceViewModelOptions) {
    this.msg = new IVMessageMgr({ appClient: o.appClient });
    this.timezone = o.timezone === undefined ? iotLocalTimezone() : o.timezone;
    this.state = {
      deviceId: o.deviceId,
      loading: false,
      online: false,
      lastOnline: '',
      readonly: [],
      writable: [],
      actions: [],
      debug: [],
      busy: '',
      message: '',
      error: { ...NO_ERROR },
      confirm: { ...NO_CONFIRM },
    };
  }

  private set(patch: Partial<DeviceViewState>): void {
    Object.assign(this.state, patch);
    this.o.onChange(patch as Record<string, unknown>);
  }

  private errorOf(e: unknown, field: string, hint = ''): ErrorView {
    // Users read the message (and how to fix it); the code and its IoT Video name stay in 调试.
    const text = e instanceof IoTError ? `${e.message}${hint ? `：${hint}` : ''}` : iotUserText(e);
    return e instanceof IoTError
      ? { show: true, code: e.iotCode, name: e.iotName, text, category: e.category, field }
      : { show: true, code: 0, name: (e as { code?: string }).code || 'Error', text, category: '', field };
  }

  /** Reads the whole model (path ""). */
  async load(): Promise<void> {
    this.set({ loading: true, error: { ...NO_ERROR } });
    try {
      const r = await this.msg.readProperty(this.o.deviceId, '');
      const m = (r.data || {}) as Model;
      const tz = this.timezone;
      const ro = m.ProReadonly || {};
      const debug: PropertyRow[] = [{ name: 'deviceId', label: '设备 ID', value: this.o.deviceId }];
      const readonly: PropertyRow[] = [];
      for (const name of Object.keys(ro)) {
        const spec = PRODUCT_MODEL.ProReadonly[name];
        const row = { name, label: spec ? spec.label : name, value: describeValue(spec, ro[name].stVal, tz) };
        if (!spec || spec.developer) debug.push({ ...row, value: raw(ro[name].stVal) });
        else if (name !== '_online') readonly.push(row);
      }
      const writable: WritableRow[] = [];
      for (const name of Object.keys(m.ProWritable || {})) {
        const spec = PRODUCT_MODEL.ProWritable[name];
        const v = m.ProWritable[name].stVal;
        if (!spec || spec.developer) {
          debug.push({ name, label: spec ? spec.label : name, value: raw(v) });
          continue;
        }
        if (spec.type === 'cloudStorage') debug.push({ name, label: `${spec.label}（原始值）`, value: raw(v) });
        writable.push(this.writableRow(name, spec, v));
      }
      const actions: ActionRow[] = Object.keys(m.Action || {})
        .filter((name) => PRODUCT_MODEL.Action[name])
        .map((name) => {
          const spec = PRODUCT_MODEL.Action[name];
          const st = m.Action[name].stVal;
          return { name, label: spec.label, kind: spec.type === 'bool' ? 'switch' : 'danger', on: st === 1 || st === true, state: raw(st), busy: false, error: '' };
        });
      for (const name of Object.keys(m.ProUser || {})) {
        const spec = PRODUCT_MODEL.ProUser[name];
        debug.push({ name, label: spec ? spec.label : name, value: raw(m.ProUser[name].val) });
      }
      const online = !!(ro._online && ro._online.stVal === 1);
      const since = ro._online && typeof ro._online.t === 'number' ? (ro._online.t as number) : 0;
      const lastOnline = !online && since > 0 ? `最近上线 ${iotDayKey(since, tz)} ${iotFormatTime(since, tz, false)}` : '';
      this.set({ loading: false, online, lastOnline, readonly, writable, actions, debug });
    } catch (e) {
      this.set({ loading: false, error: this.errorOf(e, '') });
    }
  }

  private writableRow(name: string, spec: PropertySpec, v: unknown): WritableRow {
    const base: WritableRow = {
      name,
      label: spec.label,
      value: describeValue(spec, v, this.timezone),
      control: 'info',
      raw: typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : '',
      min: 0,
      max: 0,
      step: 1,
      options: [],
      maxLength: 0,
      input: '',
      readonly: spec.type === 'cloudStorage' || spec.type === 'struct',
      busy: false,
      error: '',
    };
    if (spec.type === 'bool') return { ...base, control: 'switch', raw: v === 1 || v === true };
    if (spec.type === 'enum') return { ...base, control: 'segmented', options: Object.keys(spec.values).map((k) => ({ label: spec.values[Number(k)], value: Number(k) })) };
    if (spec.type === 'int') return { ...base, control: 'slider', min: spec.min, max: spec.max, step: spec.step || 1 };
    if (spec.type === 'string') return { ...base, control: 'text', maxLength: spec.maxLength || 0, input: typeof v === 'string' ? v : '' };
    return base;
  }

  private patchRow(index: number, patch: Partial<WritableRow>): void {
    const row = this.state.writable[index];
    Object.assign(row, patch);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) out[`writable[${index}].${k}`] = v;
    this.o.onChange(out);
  }

  private patchAction(index: number, patch: Partial<ActionRow>): void {
    const row = this.state.actions[index];
    Object.assign(row, patch);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) out[`actions[${index}].${k}`] = v;
    this.o.onChange(out);
  }

  /** One refusal on screen at a time: a new attempt clears the previous one, wherever it was. */
  private clearRowErrors(): void {
    this.state.writable.forEach((r, i) => r.error && this.patchRow(i, { error: '' }));
    this.state.actions.forEach((r, i) => r.error && this.patchAction(i, { error: '' }));
  }

  setInput(index: number, text: string): void {
    if (!this.state.writable[index]) return;
    this.patchRow(index, { input: text });
  }

  /**
   * writeProperty('ProWritable.<name>', '{"setVal":…}'): `value` from the control (slider / segmented), or the
   * typed text. While the row's write is in flight, further writes to it send nothing (returns false).
   */
  async write(index: number, value?: unknown): Promise<boolean> {
    const row = this.state.writable[index];
    if (!row || row.readonly || row.busy) return false;
    const setVal = value !== undefined ? value : row.control === 'text' ? row.input : parseInputValue(row.input);
    this.clearRowErrors();
    this.patchRow(index, { busy: true });
    this.set({ busy: `write:${row.name}`, error: { ...NO_ERROR }, message: '' });
    try {
      const r = await this.msg.writeProperty(this.o.deviceId, `ProWritable.${row.name}`, JSON.stringify({ setVal }));
      const st = ((r.data || {}) as { stVal?: unknown }).stVal;
      const spec = PRODUCT_MODEL.ProWritable[row.name];
      const fresh = this.writableRow(row.name, spec, st);
      this.patchRow(index, { value: fresh.value, raw: fresh.raw, input: fresh.input, busy: false });
      this.set({ busy: '', message: `${row.label}已设为 ${fresh.value}` });
      return true;
    } catch (e) {
      const spec = PRODUCT_MODEL.ProWritable[row.name];
      const hint = spec && spec.type === 'int' ? `可设 ${spec.min}–${spec.max}` : spec && spec.type === 'string' && spec.maxLength ? `最多 ${spec.maxLength} 个字` : '';
      const err = this.errorOf(e, row.name, hint);
      // The control goes back to the value the device has.
      this.patchRow(index, { busy: false, error: err.text, raw: row.raw });
      this.set({ busy: '', error: err, message: '' });
      return false;
    }
  }

  /** Taps on an action: the switch runs at once; a destructive action asks first (see confirmRun). */
  requestRun(index: number): void {
    const row = this.state.actions[index];
    if (!row || row.busy) return;
    const d = DESTRUCTIVE[row.name];
    if (!d) {
      void this.run(index);
      return;
    }
    this.set({ confirm: { show: true, index, title: d.title, content: d.content, confirm: d.confirm } });
  }

  async confirmRun(): Promise<boolean> {
    const { index } = this.state.confirm;
    this.set({ confirm: { ...NO_CONFIRM } });
    return index >= 0 ? this.run(index) : false;
  }

  cancelRun(): void {
    this.set({ confirm: { ...NO_CONFIRM } });
  }

  /** takeAction('Action.<name>'): cameraOn toggles 0/1, the others send ctlVal 1. No second send while busy. */
  async run(index: number): Promise<boolean> {
    const row = this.state.actions[index];
    if (!row || row.busy) return false;
    const ctlVal = row.name === 'cameraOn' ? (row.on ? 0 : 1) : 1;
    this.clearRowErrors();
    this.patchAction(index, { busy: true });
    this.set({ busy: `action:${row.name}`, error: { ...NO_ERROR }, message: '' });
    try {
      const r = await this.msg.takeAction(this.o.deviceId, `Action.${row.name}`, JSON.stringify({ ctlVal }));
      const st = ((r.data || {}) as { stVal?: unknown }).stVal;
      this.patchAction(index, { busy: false, state: raw(st), on: st === 1 || st === true });
      const d = DESTRUCTIVE[row.name];
      this.set({ busy: '', message: d ? d.done : `${row.label}已${st === 1 || st === true ? '打开' : '关闭'}` });
      return true;
    } catch (e) {
      const err = this.errorOf(e, row.name);
      this.patchAction(index, { busy: false, error: err.text });
      this.set({ busy: '', error: err, message: '' });
      return false;
    }
  }

  dismissError(): void {
    this.set({ error: { ...NO_ERROR } });
  }

  alarmsUrl(): string {
    return `/pages/events/index?deviceId=${this.o.deviceId}&mode=alarm`;
  }

  eventsUrl(): string {
    return `/pages/events/index?deviceId=${this.o.deviceId}`;
  }
}
