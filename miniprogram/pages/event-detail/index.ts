/**
 * Event detail (query deviceId, alarmId, startTime): the image, times and types, and the cloud recording around the
 * event played from its m3u8 in <video> (the next m3u8 part on bindended). Thin: viewmodels/iot-event-detail.ts.
 */
import { getAppClient } from '../../services/app';
import { EventDetailViewModel } from '../../viewmodels/iot-event-detail';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

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
    onPreview() {
      const vm = vmOf<EventDetailViewModel>(this);
      if (vm && vm.state.image && !vm.state.imageFailed) wx.previewImage({ urls: [vm.state.image] });
    },
  },
});
