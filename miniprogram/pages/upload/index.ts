/**
 * 上传 (upload) page: choose videos or images (with an optional title), watch the queue, 暂停 / 继续 / 取消上传 (asks
 * first) / 移除; the UploadAuth / STS mode sits in the 调试 section; the 阿里云 / 腾讯云 segmented control switches to
 * the Tencent VOD view-model (viewmodels/tencent-upload.ts). Thin: everything lives in the view-models.
 */
import { getAdapter, getAppClient } from '../../services/app';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';
import { ChosenMedia, UploadViewModel } from '../../viewmodels/upload';
import { TencentChosen, TencentUploadViewModel } from '../../viewmodels/tencent-upload';
import { confirmDanger } from '../../utils/confirm';

const PROVIDERS = [
  { value: 'aliyun', label: '阿里云' },
  { value: 'tencent', label: '腾讯云' },
];

/** The 腾讯云 tab's view-model, one per page instance (the 阿里云 one is bound with bindVm). */
const tencentVms = new WeakMap<object, TencentUploadViewModel>();

function chooseTencentVideo(): Promise<TencentChosen[]> {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({ count: 1, mediaType: ['video'], sourceType: ['album', 'camera'], success: (res) => resolve(res.tempFiles.map((f) => ({ tempFilePath: f.tempFilePath, size: f.size, thumbTempFilePath: f.thumbTempFilePath }))), fail: reject });
  });
}

function chooseTencentCover(): Promise<TencentChosen | undefined> {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({ count: 1, mediaType: ['image'], sourceType: ['album', 'camera'], success: (res) => resolve(res.tempFiles[0] && { tempFilePath: res.tempFiles[0].tempFilePath, size: res.tempFiles[0].size }), fail: reject });
  });
}

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
  data: { mode: 'auth', items: [] as unknown[], running: false, message: '', messageError: false, titleInput: '', provider: 'aliyun', providerOptions: PROVIDERS, debugOpen: [] as string[], titems: [] as unknown[], tcover: '', tmessage: '' },
  methods: {
    onLoad() {
      const vm = bindVm(
        this,
        new UploadViewModel({
          appClient: getAppClient(),
          adapter: getAdapter(),
          chooseMedia,
          confirm: confirmDanger,
          onChange: (patch) => this.setData('message' in patch ? { ...patch, messageError: /失败|无效|无法/.test(String(patch.message)) } : patch),
        }),
      );
      this.setData({ ...vm.state });
      const tvm = new TencentUploadViewModel({
        appClient: getAppClient(),
        adapter: getAdapter(),
        chooseVideo: chooseTencentVideo,
        chooseCover: chooseTencentCover,
        onChange: (patch) => this.setData(patch),
      });
      tencentVms.set(this, tvm);
      this.setData({ ...tvm.state });
      // userId / region come from the AppServer (GET /api/vod/config); a failure shows in `message` and choose() retries
      return vm.load();
    },
    onUnload() {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.destroy();
      unbindVm(this);
      const tvm = tencentVms.get(this);
      if (tvm) tvm.destroy();
      tencentVms.delete(this);
    },
    onProvider(e: WechatMiniprogram.CustomEvent<{ value: string }>) {
      const provider = e.detail.value === 'tencent' ? 'tencent' : 'aliyun';
      this.setData({ provider });
    },
    onDebugChange(e: WechatMiniprogram.CustomEvent<{ value: string[] }>) {
      this.setData({ debugOpen: e.detail.value || [] });
    },
    onTitleInput(e: WechatMiniprogram.CustomEvent<{ value: string }>) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.setTitle(e.detail.value);
    },
    onTencentChoose() {
      const tvm = tencentVms.get(this);
      if (tvm) return tvm.choose();
    },
    onTencentCover() {
      const tvm = tencentVms.get(this);
      if (tvm) return tvm.chooseCover();
    },
    onTencentPause(e: WechatMiniprogram.BaseEvent) {
      const tvm = tencentVms.get(this);
      if (tvm) tvm.pause(index(e));
    },
    onTencentResume(e: WechatMiniprogram.BaseEvent) {
      const tvm = tencentVms.get(this);
      if (tvm) tvm.resume(index(e));
    },
    async onTencentCancel(e: WechatMiniprogram.BaseEvent) {
      const tvm = tencentVms.get(this);
      const i = index(e);
      if (tvm && (await confirmDanger('取消上传？', '这个视频将停止上传。', '取消上传'))) tvm.cancel(i);
    },
    onChooseVideo() {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) return vm.choose('video');
    },
    onChooseImage() {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) return vm.choose('image');
    },
    onModeChange(e: WechatMiniprogram.CustomEvent<{ value: boolean }>) {
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
      if (vm) return vm.cancel(index(e));
    },
    onDelete(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<UploadViewModel>(this);
      if (vm) vm.remove(index(e));
    },
  },
});
