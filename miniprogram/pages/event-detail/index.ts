/**
 * Event detail (query deviceId, alarmId, startTime): the image, times and types, and the cloud recording around the
 * event played from its m3u8 in <video> with the snapshot as poster (the next m3u8 part on bindended); 上一条 /
 * 下一条 in the list's order; 删除事件 after a confirmation. Thin: viewmodels/iot-event-detail.ts.
 */
import { getAppClient } from '../../services/app';
import { EventDetailViewModel } from '../../viewmodels/iot-event-detail';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

/** The App's globalData: what the event list and the event detail share. */
function sharedData(): Record<string, unknown> {
  const app = getApp<{ globalData: Record<string, unknown> }>();
  if (!app.globalData) app.globalData = {};
  return app.globalData;
}

Component({
  data: { loading: false, error: '', image: '', video: 'none', videoSrc: '' },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const vm = bindVm(this, new EventDetailViewModel({
        appClient: getAppClient(),
        deviceId: query.deviceId || '',
        alarmId: query.alarmId || '',
        startTime: Number(query.startTime),
        onChange: (patch) => this.setData(patch),
        shared: sharedData(),
      }));
      this.setData({ ...vm.state });
      return vm.load();
    },
    onUnload() {
      unbindVm(this);
    },
    onVideoEnded() {
      const vm = vmOf<EventDetailViewModel>(this);
      if (vm) return vm.videoEnded();
    },
    onVideoError(e: WechatMiniprogram.CustomEvent<{ errMsg?: string }>) {
      const vm = vmOf<EventDetailViewModel>(this);
      if (vm) vm.videoError(e.detail && e.detail.errMsg ? e.detail.errMsg : '');
    },
    onImageError() {
      const vm = vmOf<EventDetailViewModel>(this);
      if (vm) vm.imageError();
    },
    onPrev() {
      const vm = vmOf<EventDetailViewModel>(this);
      const url = vm ? vm.neighbourUrl('prev') : '';
      if (url) wx.redirectTo({ url });
    },
    onNext() {
      const vm = vmOf<EventDetailViewModel>(this);
      const url = vm ? vm.neighbourUrl('next') : '';
      if (url) wx.redirectTo({ url });
    },
    /** 删除事件: a confirmation in the warning colour, then one request; back to the list when it is gone. */
    onDelete() {
      const vm = vmOf<EventDetailViewModel>(this);
      if (!vm || vm.state.deleting) return;
      return new Promise<void>((resolve) => {
        wx.showModal({
          title: '删除这条事件？',
          content: '事件和它的快照将被删除，且无法恢复。',
          confirmText: '删除',
          confirmColor: '#d54941',
          success: async (res) => {
            if (res.confirm && (await vm.deleteEvent())) {
              wx.showToast({ title: '已删除', icon: 'success' });
              wx.navigateBack({ delta: 1 });
            }
            resolve();
          },
          fail: () => resolve(),
        });
      });
    },
    onPreview() {
      const vm = vmOf<EventDetailViewModel>(this);
      if (vm && vm.state.image && !vm.state.imageFailed) wx.previewImage({ urls: [vm.state.image] });
    },
  },
});
