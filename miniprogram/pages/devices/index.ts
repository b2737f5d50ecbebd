/**
 * 设备 (Devices) tab: the user's IoT devices with online state and cloud-storage status. Tap a device for its
 * events; 告警记录 for its alarms; 设备设置 for its properties. Thin: logic in viewmodels/iot-devices.ts.
 */
import { getAppClient } from '../../services/app';
import { DevicesViewModel } from '../../viewmodels/iot-devices';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

function index(e: WechatMiniprogram.BaseEvent): number {
  return Number(e.currentTarget.dataset.index);
}

function go(url: string): void {
  if (url) wx.navigateTo({ url });
}

Component({
  data: { loading: false, error: '', empty: false, devices: [] as unknown[] },
  methods: {
    onLoad() {
      const vm = bindVm(this, new DevicesViewModel({ appClient: getAppClient(), onChange: (patch) => this.setData(patch) }));
      this.setData({ ...vm.state });
      return vm.load();
    },
    onUnload() {
      unbindVm(this);
    },
    async onPullDownRefresh() {
      const vm = vmOf<DevicesViewModel>(this);
      if (vm) await vm.load();
      wx.stopPullDownRefresh();
    },
    onRetry() {
      const vm = vmOf<DevicesViewModel>(this);
      if (vm) return vm.load();
    },
    onOpenEvents(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DevicesViewModel>(this);
      if (vm) go(vm.eventsUrl(index(e)));
    },
    onOpenAlarms(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DevicesViewModel>(this);
      if (vm) go(vm.eventsUrl(index(e), 'alarm'));
    },
    onOpenDevice(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DevicesViewModel>(this);
      if (vm) go(vm.deviceUrl(index(e)));
    },
  },
});
