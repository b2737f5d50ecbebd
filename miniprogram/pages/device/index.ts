/**
 * IoT device page (query deviceId, name): status in words, settings with the control the thing model calls for
 * (segmented choice, slider, text), the camera switch, destructive actions behind a confirmation dialog, a refusal
 * shown under the setting that caused it, and developer details in the collapsed 调试 section.
 * Thin: viewmodels/iot-device.ts.
 */
import { getAppClient } from '../../services/app';
import { DeviceViewModel } from '../../viewmodels/iot-device';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

function index(e: WechatMiniprogram.BaseEvent): number {
  return Number(e.currentTarget.dataset.index);
}

Component({
  data: { debugOpen: [] as string[], name: '', loading: false, readonly: [] as unknown[], writable: [] as unknown[], actions: [] as unknown[], debug: [] as unknown[], error: { show: false }, confirm: { show: false } },
  methods: {
    /** The 调试 panel's open state (its drawn chevron points up when open). */
    onDebugChange(e: WechatMiniprogram.CustomEvent<{ value: string[] }>) {
      this.setData({ debugOpen: e.detail.value || [] });
    },
    onLoad(query: Record<string, string | undefined>) {
      const vm = bindVm(this, new DeviceViewModel({ appClient: getAppClient(), deviceId: query.deviceId || '', onChange: (patch) => this.setData(patch) }));
      this.setData({ ...vm.state, name: query.name ? decodeURIComponent(query.name) : '设备' });
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
    onRetry() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) return vm.load();
    },
    onInput(e: WechatMiniprogram.CustomEvent<{ value: string }>) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) vm.setInput(index(e), e.detail.value);
    },
    onWrite(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) return vm.write(index(e));
    },
    onSegment(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DeviceViewModel>(this);
      const value = Number(e.currentTarget.dataset.value);
      const row = vm && vm.state.writable[index(e)];
      if (vm && row && row.raw !== value) return vm.write(index(e), value);
    },
    onSlider(e: WechatMiniprogram.CustomEvent<{ value: number }>) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) return vm.write(index(e), Number(e.detail.value));
    },
    onAction(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) vm.requestRun(index(e));
    },
    onConfirm() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) return vm.confirmRun();
    },
    onCancelConfirm() {
      const vm = vmOf<DeviceViewModel>(this);
      if (vm) vm.cancelRun();
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
