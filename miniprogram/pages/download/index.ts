/**
 * 下载 (download) tab: thin; everything lives in viewmodels/download.ts (and the SDK's DownloadManager).
 */
import { getAdapter, getAppClient } from '../../services/app';
import { DownloadViewModel } from '../../viewmodels/download';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';
import { confirmDanger } from '../../utils/confirm';

const vm = (page: object) => vmOf<DownloadViewModel>(page);
const id = (e: WechatMiniprogram.BaseEvent) => String(e.currentTarget.dataset.id);

Component({
  data: { debugOpen: [] as string[], noticeOk: false } as Record<string, unknown>,
  methods: {
    onLoad() {
      const old = vm(this);
      if (old) old.destroy();
      const v = bindVm(this, new DownloadViewModel({
          appClient: getAppClient(),
          adapter: getAdapter(),
          confirm: confirmDanger,
          onChange: (patch) => this.setData('notice' in patch ? { ...patch, noticeOk: patch.notice === '已保存到相册' } : patch),
        }));
      this.setData({ ...v.state });
      return v.init();
    },
    onRetry() {
      const v = vm(this);
      if (v) {
        v.state.status = 'loading';
        this.setData({ status: 'loading' });
        return v.init();
      }
    },
    onDebugChange(e: WechatMiniprogram.CustomEvent<{ value: string[] }>) {
      this.setData({ debugOpen: e.detail.value || [] });
    },
    onUnload() {
      const v = vm(this);
      if (v) v.destroy();
      unbindVm(this);
    },
    onPick(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) return v.pick(id(e));
    },
    onChoose(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) v.choose(Number(e.currentTarget.dataset.index));
    },
    onCancelPick() {
      const v = vm(this);
      if (v) v.cancelPick();
    },
    onPause(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) v.pause(id(e));
    },
    onResume(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) v.resume(id(e));
    },
    onDelete(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) return v.remove(id(e));
    },
    onPlay(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) v.play(id(e));
    },
    onClosePlayer() {
      const v = vm(this);
      if (v) v.closePlayer();
    },
    onSave(e: WechatMiniprogram.BaseEvent) {
      const v = vm(this);
      if (v) return v.saveToAlbum(id(e));
    },
  },
});
