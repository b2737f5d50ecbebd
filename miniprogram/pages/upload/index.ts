/**
 * 上传 (upload) page: choose videos or images, watch the queue, stop / resume / cancel / delete, switch between
 * UploadAuth mode (default) and STS mode. Thin: everything lives in viewmodels/upload.ts.
 */
import { getAdapter, getAppClient } from '../../services/app';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';
import { ChosenMedia, UploadViewModel } from '../../viewmodels/upload';

function chooseMedia(kind: 'video' | 'image'): Promise<ChosenMedia[]> {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({
      count: 9,
      mediaType: [kind],
      sourceType: ['album', 'camera'],
      success: (res) => resolve(res.tempFiles.map((f) => ({ tempFilePath: f.tempFilePath, size: f.size, duration: f.duration, fileType: f.fileType === 'image' ? 'image' : 'video', thumbTempFilePath: f.thumbTempFilePath }))),
      fail: reject,
    });
  });
}

function index(e: WechatMiniprogram.BaseEvent): number {
  return Number(e.currentTarget.dataset.index);
}

Component({
  data: { mode: 'auth', items: [] as unknown[], running: false, message: '' },
  methods: {
    onLoad() {
      const vm = bindVm(
        this,
        new UploadViewModel({
          appClient: getAppClient(),
          adapter: getAdapter(),
          chooseMedia,
          onChange: (patch) => this.setData(patch),
        }),
      );
      this.setData({ ...vm.state });
      // userId / region come from the AppServer (GET /api/vod/config); a failure shows in `message` and choose() retries
      return vm.load();
    },
    onUnload() {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.destroy();
      unbindVm(this);
    },
    onChooseVideo() {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) return vm.choose('video');
    },
    onChooseImage() {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) return vm.choose('image');
    },
    onModeChange(e: WechatMiniprogram.SwitchChange) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.setMode(e.detail.value ? 'sts' : 'auth');
    },
    onStop(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.stop(index(e));
    },
    onResume(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.resume(index(e));
    },
    onCancel(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.cancel(index(e));
    },
    onDelete(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.remove(index(e));
    },
  },
});
