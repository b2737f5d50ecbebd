/**
 * View-model of the 设备 (Devices) tab: the user's IoT devices with online state and cloud-storage status.
 * The page forwards `onChange` patches to setData.
 */
import { iotUserText } from './iot-errors';
import { AppClient, IoTDevice, iotDayKey, iotLocalTimezone, IVVAS } from 'mp-media-sdk';

export interface DeviceView {
  deviceId: string;
  name: string;
  online: boolean;
  onlineText: string;
  /** 1 in use, 2 awaiting renewal, 3 expired. */
  storageStatus: number;
  storageText: string;
  /** ok | warn | expired (the badge colour). */
  storageClass: string;
  expireText: string;
}

export interface DevicesViewState {
  loading: boolean;
  error: string;
  empty: boolean;
  devices: DeviceView[];
}

export interface DevicesViewModelOptions {
  appClient: AppClient;
  onChange: (patch: Record<string, unknown>) => void;
  timezone?: number;
  now?: () => number;
}

const PKG_TEXT: Record<number, string> = { 1: '全时云存', 2: '事件云存' };

/**
 * One wording per situation, whatever the platform's status code: a subscription whose end time passed reads
 * "已过期" (status 2 "awaiting renewal" and 3 "expired" alike), one ending within 7 days "即将到期".
 */
export function deviceView(d: IoTDevice, timezone: number, nowSec: number): DeviceView {
  const s = d.cloudStorage.status;
  const end = d.cloudStorage.endTime;
  const day = iotDayKey(end, timezone);
  const pkg = PKG_TEXT[d.cloudStorage.curOrderPkgType] || '云存储';
  const expired = s !== 1 || end <= nowSec;
  const expiring = !expired && end - nowSec < 7 * 86400;
  return {
    deviceId: d.deviceId,
    name: d.name,
    online: d.online,
    onlineText: d.online ? '在线' : '离线',
    storageStatus: s,
    storageText: expired ? `${pkg}已过期` : expiring ? `${pkg}即将到期` : pkg,
    storageClass: expired ? 'expired' : expiring ? 'warn' : 'ok',
    expireText: expired ? `${day} 过期` : `${day} 到期`,
  };
}

export class DevicesViewModel {
  readonly state: DevicesViewState = { loading: false, error: '', empty: false, devices: [] };
  private readonly vas: IVVAS;
  private readonly timezone: number;
  private readonly now: () => number;

  constructor(private readonly o: DevicesViewModelOptions) {
    this.vas = new IVVAS({ appClient: o.appClient });
    this.timezone = o.timezone === undefined ? iotLocalTimezone() : o.timezone;
    this.now = o.now || (() => Date.now());
  }

  private set(patch: Partial<DevicesViewState>): void {
    Object.assign(this.state, patch);
    this.o.onChange(patch as Record<string, unknown>);
  }

  async load(): Promise<void> {
    this.set({ loading: true, error: '' });
    try {
      const r = await this.vas.getDeviceList();
      const list = (r.data && r.data.list) || [];
      const nowSec = Math.floor(this.now() / 1000);
      this.set({ loading: false, devices: list.map((d) => deviceView(d, this.timezone, nowSec)), empty: list.length === 0 });
    } catch (e) {
      this.set({ loading: false, error: iotUserText(e) });
    }
  }

  eventsUrl(index: number, mode: 'all' | 'alarm' = 'all'): string {
    const d = this.state.devices[index];
    return d ? `/pages/events/index?deviceId=${d.deviceId}&name=${encodeURIComponent(d.name)}${mode === 'alarm' ? '&mode=alarm' : ''}` : '';
  }

  deviceUrl(index: number): string {
    const d = this.state.devices[index];
    return d ? `/pages/device/index?deviceId=${d.deviceId}&name=${encodeURIComponent(d.name)}` : '';
  }
}
