/**
 * @jest-environment jsdom
 *
 * The WXML/WXSS → HTML/CSS conversion behind `npm run screenshots` (test/screenshots/wxml-html.ts), without a
 * browser: rpx → px, built-in type selectors, tag mapping of the built-ins, class / style / id passthrough, and
 * templates really rendered by miniprogram-simulate (jsdom only) so that wx:if / wx:for / hidden results are what
 * the converter sees.
 */
import { WxNode, convertSelector, nodeToHtml, pageToHtml, rpxToPx, wxssToCss, ConvertContext } from '../screenshots/wxml-html';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const simulate = require('miniprogram-simulate');

const el = (tagName: string, attrs: Record<string, unknown> = {}, children: Array<WxNode | string> = []): WxNode => ({
  tagName,
  attrs: Object.entries(attrs).map(([name, value]) => ({ name, value })),
  children,
});

const ctx = (images: Record<string, string> = {}): ConvertContext => ({ images, screenWidth: 375, unknownTags: new Set() });

/** Renders a WXML template with data the way the page tests do, and returns comp.toJSON() as plain JSON. */
function render(template: string, data: Record<string, unknown>): WxNode {
  const id = simulate.load({ template, data });
  const comp = simulate.render(id);
  comp.attach(document.createElement('parent-wrapper'));
  return JSON.parse(JSON.stringify(comp.toJSON())) as WxNode;
}

describe('rpx → px', () => {
  test('750 rpx is the screen width: 24rpx → 12px at 375, 1rpx → 0.5px, decimals and negatives', () => {
    expect(rpxToPx('margin: 24rpx 0 -8rpx .5rpx; border: 1rpx solid #eee')).toBe('margin: 12px 0 -4px 0.25px; border: 0.5px solid #eee');
    expect(rpxToPx('width: 750rpx', 414)).toBe('width: 414px');
    expect(rpxToPx('width: 100rpx', 750)).toBe('width: 100px');
  });

  test('px, %, em and words that merely contain "rpx" are left alone', () => {
    expect(rpxToPx('width: 10px; height: 50%; font-size: 1.2em')).toBe('width: 10px; height: 50%; font-size: 1.2em');
    expect(rpxToPx('content: "12rpxs"')).toBe('content: "12rpxs"');
  });
});

describe('WXSS → CSS', () => {
  test('page and other built-in type selectors become the emitted classes; user classes named like tags stay', () => {
    expect(convertSelector('page')).toBe('.wx-page');
    expect(convertSelector('.item progress')).toBe('.item .wx-progress');
    expect(convertSelector('view,text')).toBe('.wx-view,.wx-text');
    expect(convertSelector('.page .video > image:first-child')).toBe('.page .video > .wx-image:first-child');
    expect(convertSelector('.button-row #input')).toBe('.button-row #input');
    expect(convertSelector('scroll-view.chips')).toBe('.wx-scroll-view.chips');
  });

  test('rules keep their declarations with rpx converted; comments and @import go; @media and @keyframes survive', () => {
    const css = wxssToCss(`/* top */ @import "common.wxss";
page { background: #f5f6f7; font-size: 28rpx; }
.item progress { margin: 16rpx 0 8rpx; }
@media (min-width: 400px) { .row { gap: 20rpx; } }
@keyframes spin { from { transform: rotate(0); } to { transform: rotate(360deg); } }`);
    expect(css).not.toContain('top');
    expect(css).not.toContain('@import');
    expect(css).toContain('.wx-page { background: #f5f6f7; font-size: 14px; }');
    expect(css).toContain('.item .wx-progress { margin: 8px 0 4px; }');
    expect(css).toMatch(/@media \(min-width: 400px\) \{ \.row \{ gap: 10px; \}/);
    expect(css).toMatch(/@keyframes spin \{ from \{ transform: rotate\(0\); \}\s+to \{ transform: rotate\(360deg\); \}/);
  });
});

describe('tag mapping', () => {
  test('view → div, text → span; class, inline style (rpx converted) and id pass through; text is escaped', () => {
    const html = nodeToHtml(el('wx-view', { class: 'section  item-0', style: 'padding: 24rpx', id: 'box' }, [el('wx-text', { class: 'title' }, ['<b>&'])]), ctx());
    expect(html).toBe('<div class="wx-view section item-0" style="padding: 12px" id="box"><span class="wx-text title">&lt;b&gt;&amp;</span></div>');
  });

  test('hidden adds display:none; block is transparent', () => {
    expect(nodeToHtml(el('view', { hidden: true, style: 'color: red' }), ctx())).toBe('<div class="wx-view" style="color: red;display:none"></div>');
    expect(nodeToHtml(el('block', {}, [el('text', {}, ['a']), 'b']), ctx())).toBe('<span class="wx-text">a</span>b');
  });

  test('button: type, size, disabled and plain become modifier classes next to the page classes', () => {
    const html = nodeToHtml(el('wx-button', { class: 'btn delete', type: 'warn', size: 'mini', disabled: true }, ['删除']), ctx());
    expect(html).toBe('<div class="wx-button wx-button--warn wx-button--mini wx-button--disabled btn delete">删除</div>');
    expect(nodeToHtml(el('button', { disabled: false }, ['OK']), ctx())).toBe('<div class="wx-button wx-button--default">OK</div>');
  });

  test('progress: percent and stroke width (as toJSON reports them, camelCased) draw the bar', () => {
    const html = nodeToHtml(el('wx-progress', { percent: 42, strokeWidth: '4', activeMode: 'forwards' }), ctx());
    expect(html).toContain('<div class="wx-progress-bar" style="height:4px;background:#EBEBEB">');
    expect(html).toContain('width:42%;background:#09BB07');
    expect(nodeToHtml(el('progress', { percent: 180, 'active-color': '#07c160', 'show-info': true }), ctx())).toContain('width:100%;background:#07c160');
  });

  test('switch / checkbox: checked state', () => {
    expect(nodeToHtml(el('wx-switch', { checked: true, class: 'mode-switch' }), ctx())).toBe('<div class="wx-switch mode-switch"><span class="wx-switch-input wx-checked"></span></div>');
    expect(nodeToHtml(el('wx-switch', { checked: false }), ctx())).toContain('<span class="wx-switch-input"></span>');
    expect(nodeToHtml(el('checkbox', { checked: 'true' }), ctx())).toContain('wx-checkbox-input wx-checked');
  });

  test('image: mode → background-size, fetched images inlined as data URIs, widthFix → <img>', () => {
    const url = 'http://127.0.0.1:1234/snap/1.jpg';
    const html = nodeToHtml(el('wx-image', { class: 'thumb', src: url, mode: 'aspectFill' }), ctx({ [url]: 'data:image/jpeg;base64,AAAA' }));
    expect(html).toBe(`<div class="wx-image thumb" style="background-image:url('data:image/jpeg;base64,AAAA');background-size:cover"></div>`);
    expect(nodeToHtml(el('image', { src: url, mode: 'aspectFit' }), ctx())).toContain(`url('${url}');background-size:contain`);
    expect(nodeToHtml(el('image', { src: url, mode: 'widthFix' }), ctx())).toBe(`<img class="wx-image wx-image--widthFix" src="${url}" alt="">`);
    expect(nodeToHtml(el('image', { class: 'cover' }), ctx())).toBe('<div class="wx-image wx-image--empty cover"></div>');
  });

  test('input shows its value, or the placeholder greyed; passwords are dotted', () => {
    expect(nodeToHtml(el('wx-input', { class: 'vid-input', placeholder: 'Polyv vid', value: '' }), ctx())).toBe('<div class="wx-input vid-input"><span class="wx-placeholder">Polyv vid</span></div>');
    expect(nodeToHtml(el('input', { value: 'abc' }), ctx())).toBe('<div class="wx-input">abc</div>');
    expect(nodeToHtml(el('input', { value: 'abc', password: true }), ctx())).toBe('<div class="wx-input">•••</div>');
  });

  test('video: poster inlined, a play button unless it autoplays, controls bar', () => {
    const poster = 'http://x/cover.jpg';
    const paused = nodeToHtml(el('wx-video', { class: 'video', src: 'http://x/a.m3u8', poster, controls: true }), ctx({ [poster]: 'data:image/jpeg;base64,BBBB' }));
    expect(paused).toContain(`class="wx-video-poster" style="background-image:url('data:image/jpeg;base64,BBBB')"`);
    expect(paused).toContain('wx-video-play');
    expect(paused).toContain('wx-video-bar-play');
    const playing = nodeToHtml(el('video', { autoplay: true, controls: false }), ctx());
    expect(playing).not.toContain('wx-video-play');
    expect(playing).not.toContain('wx-video-bar');
  });

  test('picker and scroll-view render their children; an unknown tag is a block and is reported', () => {
    expect(nodeToHtml(el('picker', { mode: 'selector', range: ['a'] }, [el('view', { class: 'picker-value' }, ['近14天 ▾'])]), ctx())).toBe('<div class="wx-picker"><div class="wx-view picker-value">近14天 ▾</div></div>');
    expect(nodeToHtml(el('scroll-view', { class: 'chips', scrollX: true }, ['x']), ctx())).toBe('<div class="wx-scroll-view wx-scroll-x chips">x</div>');
    const c = ctx();
    expect(nodeToHtml(el('map', { class: 'm' }, ['?']), c)).toBe('<div class="wx-map wx-unknown m">?</div>');
    expect([...c.unknownTags]).toEqual(['map']);
  });
});

describe('the page document', () => {
  const window = { navigationBarBackgroundColor: '#ffffff', navigationBarTextStyle: 'black' as const, navigationBarTitleText: '默认标题', backgroundColor: '#f5f6f7' };
  const tabBar = { color: '#666666', selectedColor: '#07c160', list: [{ pagePath: 'pages/a/index', text: '甲' }, { pagePath: 'pages/b/index', text: '乙' }] };
  const tree = el('main', {}, [el('wx-view', { class: 'section' }, ['hi'])]);

  test('tab page: WXSS inlined and converted, title from the json, tab bar with the current tab selected, no back arrow', () => {
    const { html, unknownTags } = pageToHtml(tree, { pagePath: 'pages/b/index', window, tabBar, appWxss: 'page { font-size: 28rpx; }', pageWxss: '.section { margin: 24rpx; }' });
    expect(unknownTags).toEqual([]);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('.wx-page { font-size: 14px; }');
    expect(html).toContain('.section { margin: 12px; }');
    expect(html).toContain('<div class="wx-page"><div class="wx-view section">hi</div></div>');
    expect(html).toContain('<div class="nav-title">默认标题</div>');
    expect(html).not.toContain('class="nav-back"');
    expect(html).toContain('<div class="tab selected" style="color:#07c160">乙</div>');
    expect(html).toContain('<div class="tab" style="color:#666666">甲</div>');
  });

  test('pushed page: back arrow, the run-time title wins, no tab bar', () => {
    const { html } = pageToHtml(tree, { pagePath: 'pages/c/index', window, tabBar, title: '客厅 · 事件列表', appWxss: '', pageWxss: '' });
    expect(html).toContain('<i class="nav-back"></i>');
    expect(html).toContain('<div class="nav-title">客厅 · 事件列表</div>');
    expect(html).not.toContain('class="tab-bar');
  });
});

describe('templates rendered by miniprogram-simulate', () => {
  test('wx:if / wx:elif / wx:else: only the branch taken reaches the HTML', () => {
    const template = `<view wx:if="{{state === 'error'}}" class="error">出错了</view><view wx:elif="{{state === 'loading'}}" class="loading">加载中…</view><view wx:else class="ready">好了</view>`;
    const html = (state: string) => nodeToHtml(render(template, { state }), ctx());
    expect(html('error')).toContain('<div class="wx-view error">出错了</div>');
    expect(html('error')).not.toMatch(/loading|ready/);
    expect(html('loading')).toContain('<div class="wx-view loading">加载中…</div>');
    expect(html('loading')).not.toMatch(/error|ready/);
    expect(html('done')).toContain('<div class="wx-view ready">好了</div>');
  });

  test('wx:for with bound classes, a progress and a button from data', () => {
    const tree = render(
      `<view wx:for="{{items}}" wx:key="name" class="item item-{{index}} state-{{item.state}}"><text class="name">{{item.name}}</text><progress percent="{{item.percent}}" stroke-width="4" /><button wx:if="{{item.canStop}}" class="stop" size="mini">暂停</button></view>`,
      { items: [{ name: 'a.mp4', state: 'Uploading', percent: 30, canStop: true }, { name: 'b.mp4', state: 'Success', percent: 100, canStop: false }] },
    );
    const html = nodeToHtml(tree, ctx());
    expect(html).toContain('<div class="wx-view item item-0 state-Uploading"><span class="wx-text name">a.mp4</span>');
    expect(html).toContain('width:30%');
    expect(html).toContain('<div class="wx-view item item-1 state-Success"><span class="wx-text name">b.mp4</span>');
    expect(html).toContain('width:100%');
    expect(html.match(/class="wx-button /g)).toHaveLength(1);
    expect(html).toContain('<div class="wx-button wx-button--default wx-button--mini stop">暂停</div>');
  });

  test('hidden and style bound from data', () => {
    const html = nodeToHtml(render(`<view class="box" hidden="{{!show}}" style="width: {{w}}rpx">x</view>`, { show: false, w: 300 }), ctx());
    expect(html).toContain('class="wx-view box"');
    expect(html).toContain('width: 150px');
    expect(html).toContain('display:none');
  });
});

describe('inline <span> and the native button border', () => {
  test('<span> (TDesign segmented labels) is an inline span, not an unknown block', () => {
    const c = ctx();
    const html = nodeToHtml(el('wx-span', { class: 't-segmented__item-label' }, ['阿里云']), c);
    expect(html).toMatch(/^<span[^>]*class="[^"]*t-segmented__item-label[^"]*"[^>]*>阿里云<\/span>$/);
    expect([...c.unknownTags]).toEqual([]);
  });

  test('a <button> keeps WeChat\'s ::after border box, which TDesign\'s outline buttons colour', () => {
    const { html } = pageToHtml(el('wx-view', {}, [el('wx-button', { class: 't-button t-button--outline' }, ['选择图片'])]), {
      pagePath: 'pages/x/index',
      window: {},
      appWxss: '',
      pageWxss: '',
      screenWidth: 375,
      screenHeight: 812,
    } as Parameters<typeof pageToHtml>[1]);
    expect(html).toContain('.wx-button::after { content: " "; position: absolute;');
    expect(html).toMatch(/border: 1px solid rgba\(0,0,0,\.2\)/);
  });
});
