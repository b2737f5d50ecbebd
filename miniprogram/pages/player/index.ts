/**
 * 播放 (player) page: encrypted Polyv video in the native `<video>` with a Playsafe token from our AppServer.
 * Thin: everything lives in viewmodels/player.ts (and the SDK's PolyvPlayer).
 * Query: `vid` plays that video on load.
 */
import { getAdapter, getAppClient } from '../../services/app';
import { PlayerViewModel } from '../../viewmodels/player';

let vm: PlayerViewModel | undefined;

Component({
  data: {} as Record<string, unknown>,
  methods: {
    onLoad(query: Record<string, string | undefined> = {}) {
      if (vm) vm.destroy();
      vm = new PlayerViewModel({ appClient: getAppClient(), adapter: getAdapter(), onChange: (patch) => this.setData(patch) });
      this.setData({ ...vm.state });
      return vm.init({ vid: query.vid ? decodeURIComponent(query.vid) : undefined });
    },
    onUnload() {
      if (vm) vm.destroy();
      vm = undefined;
    },
    onVidInput(e: WechatMiniprogram.Input) {
      if (vm) vm.setVidInput(e.detail.value);
    },
    onPlayTap() {
      if (vm) return vm.play();
    },
    onSampleTap(e: WechatMiniprogram.BaseEvent) {
      if (vm) return vm.playSample(Number(e.currentTarget.dataset.index));
    },
    onRetry() {
      if (vm) return vm.retry();
    },
    onDefinitionChange(e: WechatMiniprogram.PickerChange) {
      if (vm) return vm.selectDefinition(Number(e.detail.value));
    },
    onTimeUpdate(e: WechatMiniprogram.CustomEvent<{ currentTime: number; duration: number }>) {
      if (vm) vm.onTimeUpdate(e.detail.currentTime);
    },
    onVideoPlay() {
      if (vm) vm.onPlay();
    },
    onVideoError(e: WechatMiniprogram.CustomEvent<{ errMsg?: string }>) {
      if (vm) return vm.onVideoError((e.detail && e.detail.errMsg) || 'video error');
    },
  },
});
