/**
 * Event detail (query deviceId, alarmId, startTime): the image, times and types, and the cloud recording around the
 * event played from its m3u8 in <video> (the next m3u8 part on bindended). Thin: viewmodels/iot-event-detail.ts.
 */
import { getAppClient } from '../../services/app';
import { EventDetailViewModel } from '../../viewmodels/iot-event-detail';

let vm: EventDetailViewModel | undefined;

Component({
  data: { loading: false, error: '', image: '', video: 'none', videoSrc: '' },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      vm = new EventDetailViewModel({
        appClient: getAppClient(),
        deviceId: query.deviceId || '',
        alarmId: query.alarmId || '',
        startTime: Number(query.startTime),
        onChange: (patch) => this.setData(patch),
      });
      this.setData({ ...vm.state });
      return vm.load();
    },
    onUnload() {
      vm = undefined;
    },
    onVideoEnded() {
      if (vm) return vm.videoEnded();
    },
    onVideoError(e: WechatMiniprogram.CustomEvent<{ errMsg?: string }>) {
      if (vm) vm.videoError(e.detail && e.detail.errMsg ? e.detail.errMsg : '');
    },
    onImageError() {
      if (vm) vm.imageError();
    },
    onPreview() {
      if (vm && vm.state.image && !vm.state.imageFailed) wx.previewImage({ urls: [vm.state.image] });
    },
  },
});
