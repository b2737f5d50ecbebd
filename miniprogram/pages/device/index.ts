/**
 * IoT device page (query deviceId, name): read properties, set a writable property, run an action; failures show
 * the typed IoT error. Links to the device's event and alarm lists. Thin: viewmodels/iot-device.ts.
 */
import { getAppClient } from '../../services/app';
import { DeviceViewModel } from '../../viewmodels/iot-device';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

function index(e: WechatMiniprogram.BaseEvent): number {
  return Number(e.currentTarget.dataset.index);
}

Component({
  data: { loading: false, readonly: [] as unknown[], writable: [] as unknown[], actions: [] as unknown[], user: [] as unknown[], error: { show: false } },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const vm = bindVm(this, new DeviceViewModel({ appClient: getAppClient(), deviceId: query.deviceId || '', onChange: (patch) => this.setData(patch) }));
      this.setData({ ...vm.state });
      if (query.name) wx.setNavigationBarTitle({ title: decodeURIComponent(query.name) });
      return vm.load();
    },
    onUnload() {
      unbindVm(this);
    },
    async onPullDownRefresh() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) await vm.load();
      wx.stopPullDownRefresh();
    },
    onInput(e: WechatMiniprogram.Input) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) vm.setInput(index(e), e.detail.value);
    },
    onWrite(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) return vm.write(index(e));
    },
    onAction(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) return vm.run(index(e));
    },
    onDismissError() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) vm.dismissError();
    },
    onOpenAlarms() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) wx.navigateTo({ url: vm.alarmsUrl() });
    },
    onOpenEvents() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) wx.navigateTo({ url: vm.eventsUrl() });
    },
  },
});
