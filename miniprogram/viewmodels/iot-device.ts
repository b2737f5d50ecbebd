/**
 * View-model of the IoT device page: read the thing model, set a writable property, run an action, and show the
 * typed IoT error (code, IoTVideo name, Chinese message) when the device or the platform refuses.
 */
import { AppClient, IoTError, iotErrorText, IVMessageMgr } from 'mp-media-sdk';

export interface PropertyRow {
  name: string;
  label: string;
  value: string;
}

export interface WritableRow extends PropertyRow {
  hint: string;
  /** What the user typed (not yet written). */
  input: string;
  readonly: boolean;
}

export interface ActionRow {
  name: string;
  label: string;
  state: string;
}

export interface ErrorView {
  show: boolean;
  code: number;
  name: string;
  text: string;
  category: string;
}

export interface DeviceViewState {
  deviceId: string;
  loading: boolean;
  online: boolean;
  readonly: PropertyRow[];
  writable: WritableRow[];
  actions: ActionRow[];
  user: PropertyRow[];
  busy: string;
  message: string;
  error: ErrorView;
}

export interface DeviceViewModelOptions {
  appClient: AppClient;
  deviceId: string;
  onChange: (patch: Record<string, unknown>) => void;
}

const LABELS: Record<string, string> = {
  _online: '在线状态',
  _ver: '固件版本',
  battery: '电量 (%)',
  wifiRssi: 'Wi-Fi 信号 (dBm)',
  sdCardStatus: '存储卡',
  _logLevel: '日志级别',
  nightVision: '夜视模式',
  motionSensitivity: '移动侦测灵敏度',
  osdText: '画面文字',
  _cloudStoage: '云存储',
  cameraOn: '摄像头开关',
  reboot: '重启设备',
  formatSdCard: '格式化存储卡',
  _buildIn: '内置用户属性',
};
const HINTS: Record<string, string> = {
  _logLevel: '0-5',
  nightVision: '0 自动 / 1 开 / 2 关',
  motionSensitivity: '1-5',
  osdText: '最多 32 个字',
  _cloudStoage: '由平台设置',
};

const NO_ERROR: ErrorView = { show: false, code: 0, name: '', text: '', category: '' };

function show(v: unknown): string {
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

type Model = Record<string, Record<string, Record<string, unknown>>>;

export class DeviceViewModel {
  readonly state: DeviceViewState;
  private readonly msg: IVMessageMgr;

  constructor(private readonly o: DeviceViewModelOptions) {
    this.msg = new IVMessageMgr({ appClient: o.appClient });
    this.state = { deviceId: o.deviceId, loading: false, online: false, readonly: [], writable: [], actions: [], user: [], busy: '', message: '', error: { ...NO_ERROR } };
  }

  private set(patch: Partial<DeviceViewState>): void {
    Object.assign(this.state, patch);
    this.o.onChange(patch as Record<string, unknown>);
  }

  private fail(e: unknown): void {
    const err: ErrorView =
      e instanceof IoTError
        ? { show: true, code: e.iotCode, name: e.iotName, text: iotErrorText(e), category: e.category }
        : { show: true, code: 0, name: (e as { code?: string }).code || 'Error', text: iotErrorText(e), category: '' };
    this.set({ busy: '', error: err, message: '' });
  }

  /** Reads the whole model (path ""). */
  async load(): Promise<void> {
    this.set({ loading: true, error: { ...NO_ERROR } });
    try {
      const r = await this.msg.readProperty(this.o.deviceId, '');
      const m = (r.data || {}) as Model;
      const ro = m.ProReadonly || {};
      this.set({
        loading: false,
        online: !!(ro._online && ro._online.stVal === 1),
        readonly: Object.keys(ro).map((name) => ({ name, label: LABELS[name] || name, value: show(ro[name].stVal) })),
        writable: Object.keys(m.ProWritable || {}).map((name) => {
          const node = m.ProWritable[name];
          return { name, label: LABELS[name] || name, value: show(node.stVal), hint: HINTS[name] || '', input: '', readonly: name === '_cloudStoage' };
        }),
        actions: Object.keys(m.Action || {}).map((name) => ({ name, label: LABELS[name] || name, state: show(m.Action[name].stVal) })),
        user: Object.keys(m.ProUser || {}).map((name) => ({ name, label: LABELS[name] || name, value: show(m.ProUser[name].val) })),
      });
    } catch (e) {
      this.set({ loading: false });
      this.fail(e);
    }
  }

  setInput(index: number, text: string): void {
    const row = this.state.writable[index];
    if (!row) return;
    row.input = text;
    this.o.onChange({ [`writable[${index}].input`]: text });
  }

  /** writeProperty('ProWritable.<name>', '{"setVal":…}') with the typed input. */
  async write(index: number): Promise<boolean> {
    const row = this.state.writable[index];
    if (!row) return false;
    this.set({ busy: `write:${row.name}`, error: { ...NO_ERROR }, message: '' });
    try {
      const r = await this.msg.writeProperty(this.o.deviceId, `ProWritable.${row.name}`, JSON.stringify({ setVal: parseInputValue(row.input) }));
      const node = (r.data || {}) as { stVal?: unknown };
      row.value = show(node.stVal);
      row.input = '';
      this.o.onChange({ [`writable[${index}].value`]: row.value, [`writable[${index}].input`]: '' });
      this.set({ busy: '', message: `${row.label} 已设置为 ${row.value}` });
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** takeAction('Action.<name>'): cameraOn toggles 0/1, the others send ctlVal 1. */
  async run(index: number): Promise<boolean> {
    const row = this.state.actions[index];
    if (!row) return false;
    const ctlVal = row.name === 'cameraOn' ? (row.state === '1' ? 0 : 1) : 1;
    this.set({ busy: `action:${row.name}`, error: { ...NO_ERROR }, message: '' });
    try {
      const r = await this.msg.takeAction(this.o.deviceId, `Action.${row.name}`, JSON.stringify({ ctlVal }));
      row.state = show(((r.data || {}) as { stVal?: unknown }).stVal);
      this.o.onChange({ [`actions[${index}].state`]: row.state });
      this.set({ busy: '', message: `${row.label}：已执行` });
      return true;
    } catch (e) {
      this.fail(e);
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
