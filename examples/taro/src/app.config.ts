export default defineAppConfig({
  pages: ['pages/index/index', 'pages/player/index'],
  window: {
    navigationBarTitleText: 'mp-media-sdk × Taro',
    navigationBarBackgroundColor: '#ffffff',
    navigationBarTextStyle: 'black',
    backgroundColor: '#f5f6f7',
  },
  tabBar: {
    list: [
      { pagePath: 'pages/index/index', text: '上传' },
      { pagePath: 'pages/player/index', text: '播放' },
    ],
  },
});
