/**
 * 播放 (player) page: encrypted Polyv video in the native `<video>` with a Playsafe token from our AppServer. The
 * player is on top (16:9) in every state; sample videos below; vid input and token details in the collapsed 调试.
 * Thin: everything lives in viewmodels/player.ts (and the SDK's PolyvPlayer).
 * Query: `vid` plays that video on load.
 */
import { getAdapter, getAppClient } from '../../services/app';
import { PlayerViewModel } from '../../viewmodels/player';
import { bindVm, unbindVm, vmOf } from '../../utils/vm';

Component({
  data: { debugOpen: [] as string[] } as Record<string, unknown>,
  methods: {
    /** The 调试 panel's open state (its drawn chevron points up when open). */
    onDebugChange(e: WechatMiniprogram.CustomEvent<{ value: string[] }>) {
      this.setData({ debugOpen: e.detail.value || [] });
    },
    onLoad(query: Record<string, string | undefined> = {}) {
      const old = vmOf<PlayerViewModel>(this);
      if (old) old.destroy();
      // One view-model per page instance (module scope is shared by every instance of the page).
      const vm = bindVm(this, new PlayerViewModel({ appClient: getAppClient(), adapter: getAdapter(), onChange: (patch) => this.setData(patch) }));
      this.setData({ ...vm.state });
      return vm.init({ vid: query.vid ? decodeURIComponent(query.vid) : undefined });
    },
    onUnload() {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) vm.destroy();
      unbindVm(this);
    },
    onVidInput(e: WechatMiniprogram.Input) {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) vm.setVidInput(e.detail.value);
    },
    onPlayTap() {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) return vm.play();
    },
    onSampleTap(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) return vm.playSample(Number(e.currentTarget.dataset.index));
    },
    onRetry() {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) return vm.retry();
    },
    onDefinitionTap(e: WechatMiniprogram.BaseEvent) {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) return vm.selectDefinition(Number(e.currentTarget.dataset.index));
    },
    onTimeUpdate(e: WechatMiniprogram.CustomEvent<{ currentTime: number; duration: number }>) {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) vm.onTimeUpdate(e.detail.currentTime);
    },
    onVideoPlay() {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) vm.onPlay();
    },
    onVideoError(e: WechatMiniprogram.CustomEvent<{ errMsg?: string }>) {
      const vm = vmOf<PlayerViewModel>(this);
      if (vm) return vm.onVideoError((e.detail && e.detail.errMsg) || 'video error');
    },
  },
});
