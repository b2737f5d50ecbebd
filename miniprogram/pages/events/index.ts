/**
 * IoT event list (query deviceId, name; mode=alarm for the alarm list): grouped by day, filter chips, day picker,
 * pull-down refresh, load more, multi-select (全选) batch delete with confirmation, lazy thumbnails with a fallback,
 * an empty state that says which filter emptied the list and clears it.
 * Thin: logic in viewmodels/iot-events.ts.
 */
import { getAppClient } from '../../services/app';
import { EventsViewModel } from '../../viewmodels/iot-events';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

/** The App's globalData: what the event list and the event detail share. */
function sharedData(): Record<string, unknown> {
  const app = getApp<{ globalData: Record<string, unknown> }>();
  if (!app.globalData) app.globalData = {};
  return app.globalData;
}

function pos(e: WechatMiniprogram.BaseEvent): [number, number] {
  return [Number(e.currentTarget.dataset.g), Number(e.currentTarget.dataset.i)];
}

Component({
  data: { groups: [] as unknown[], chips: [] as unknown[], dayLabels: [] as string[], dayIndex: 0, banner: { show: false } },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const vm = bindVm(this, new EventsViewModel({
        appClient: getAppClient(),
        deviceId: query.deviceId || '',
        mode: query.mode === 'alarm' ? 'alarm' : 'all',
        onChange: (patch) => this.setData(patch),
        shared: sharedData(),
      }));
      this.setData({ ...vm.state });
      const name = query.name ? decodeURIComponent(query.name) : '';
      wx.setNavigationBarTitle({ title: name ? `${name} · ${vm.state.title.replace(/列表$/, '')}` : vm.state.title });
      return vm.init();
    },
    onShow() {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) vm.dropDeleted();
    },
    onUnload() {
      unbindVm(this);
    },
    async onPullDownRefresh() {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) await vm.refresh();
      wx.stopPullDownRefresh();
    },
    onReachBottom() {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) return vm.loadMore();
    },
    onChip(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) return vm.toggleChip(String(e.currentTarget.dataset.key));
    },
    onPickDay(e: WechatMiniprogram.PickerChange) {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) return vm.pickDay(Number(e.detail.value));
    },
    onToggleSelecting() {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) vm.toggleSelecting();
    },
    onTapEvent(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<EventsViewModel>(this);
      if (!vm) return;
      const [g, i] = pos(e);
      if (vm.state.selecting) vm.toggleSelect(g, i);
      else wx.navigateTo({ url: vm.detailUrl(g, i) });
    },
    onThumbError(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) vm.thumbFailed(...pos(e));
    },
    onDelete() {
      const vm = vmOf<EventsViewModel>(this);
      const model = vm;
      if (!model || !model.state.selectedCount) return;
      return new Promise<void>((resolve) => {
        wx.showModal({
          title: '删除事件',
          content: model.deleteConfirmText(),
          confirmText: '删除',
          confirmColor: '#d54941',
          success: async (res) => {
            if (res.confirm) {
              const n = await model.deleteSelected();
              if (n) wx.showToast({ title: model.state.message, icon: 'success' });
            }
            resolve();
          },
          fail: () => resolve(),
        });
      });
    },
    onSelectAll() {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) vm.toggleSelectAll();
    },
    onClearFilters() {
      const vm = vmOf<EventsViewModel>(this);
      if (vm) return vm.clearFilters();
    },
  },
});
