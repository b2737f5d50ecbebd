/**
 * IoT device page (query deviceId, name): read properties, set a writable property, run an action; failures show
 * the typed IoT error. Links to the device's event and alarm lists. Thin: viewmodels/iot-device.ts.
 */
import { getAppClient } from '../../services/app';
import { DeviceViewModel } from '../../viewmodels/iot-device';

let vm: DeviceViewModel | undefined;

function index(e: WechatMiniprogram.BaseEvent): number {
  return Number(e.currentTarget.dataset.index);
}

Component({
  data: { loading: false, readonly: [] as unknown[], writable: [] as unknown[], actions: [] as unknown[], user: [] as unknown[], error: { show: false } },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      vm = new DeviceViewModel({ appClient: getAppClient(), deviceId: query.deviceId || '', onChange: (patch) => this.setData(patch) });
      this.setData({ ...vm.state });
      if (query.name) wx.setNavigationBarTitle({ title: decodeURIComponent(query.name) });
      return vm.load();
    },
    onUnload() {
      vm = undefined;
    },
    async onPullDownRefresh() {
      if (vm) await vm.load();
      wx.stopPullDownRefresh();
    },
    onInput(e: WechatMiniprogram.Input) {
      if (vm) vm.setInput(index(e), e.detail.value);
    },
    onWrite(e: WechatMiniprogram.BaseEvent) {
      if (vm) return vm.write(index(e));
    },
    onAction(e: WechatMiniprogram.BaseEvent) {
      if (vm) return vm.run(index(e));
    },
    onDismissError() {
      if (vm) vm.dismissError();
    },
    onOpenAlarms() {
      if (vm) wx.navigateTo({ url: vm.alarmsUrl() });
    },
    onOpenEvents() {
      if (vm) wx.navigateTo({ url: vm.eventsUrl() });
    },
  },
});
