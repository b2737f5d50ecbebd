export default definePageConfig({ navigationBarTitleText: '播放' });
