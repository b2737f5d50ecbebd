/**
 * Rendered WXML → a standalone HTML page that looks like the mini-program on a phone, for `npm run screenshots`.
 *
 * Input is what miniprogram-simulate's `comp.toJSON()` returns for a rendered page: a tree of
 * `{ tagName, attrs: [{ name, value }], children }` with text nodes as strings, already past data binding, so
 * `wx:if` / `wx:for` are resolved (an element whose wx:if was false is simply absent). toJSON rather than the jsdom
 * DOM, because the DOM j-component emits drops the built-ins' attributes (a <progress> has no percent there).
 *
 * Output: one HTML document with the page's WXSS and app.wxss converted to CSS (rpx → px at the screen width,
 * `page` and other tag selectors → the classes used here), the built-ins (view, text, image, button, progress,
 * switch, input, video, picker, scroll-view …) drawn as plain HTML in WeChat's default look, and the phone chrome
 * that is not part of a page: status bar, navigation bar (title from the page json / setNavigationBarTitle, back
 * arrow on non-tab pages, the capsule) and the tab bar from app.json. A faithful layout, not pixel parity.
 *
 * Pure string work, no DOM: unit-tested in test/unit/screenshot-html.test.ts.
 */

export interface WxAttr {
  name: string;
  value: unknown;
}

export interface WxNode {
  tagName: string;
  attrs: WxAttr[];
  children: Array<WxNode | string>;
}

/** One pictured state, as test/screenshots/capture.ts writes it and scripts/screenshots.ts reads it. */
export interface CapturedState {
  /** Capture order: the pictures and the index follow it (page by page, simple states first). */
  seq: number;
  name: string;
  pagePath: string;
  caption: string;
  /** Set by wx.setNavigationBarTitle while the page ran. */
  title?: string;
  tree: WxNode;
  images: Record<string, string>;
}

export interface TabBar {
  color?: string;
  selectedColor?: string;
  backgroundColor?: string;
  borderStyle?: 'black' | 'white';
  list: Array<{ pagePath: string; text: string; iconPath?: string; selectedIconPath?: string }>;
}

export interface WindowConfig {
  navigationBarBackgroundColor?: string;
  navigationBarTextStyle?: 'black' | 'white';
  navigationBarTitleText?: string;
  backgroundColor?: string;
  navigationStyle?: 'default' | 'custom';
}

export interface PageHtmlOptions {
  /** e.g. "pages/upload/index": decides the selected tab and whether a back arrow is drawn. */
  pagePath: string;
  /** app.json `window` merged with the page json. */
  window: WindowConfig;
  tabBar?: TabBar;
  /** Title set at run time by wx.setNavigationBarTitle (wins over the json). */
  title?: string;
  appWxss: string;
  pageWxss: string;
  /** Tab-bar icon path (as app.json names it) → data: URI. */
  tabIcons?: Record<string, string>;
  /** url → data: URI of images fetched while the dev stack was up; other urls are left as they are. */
  images?: Record<string, string>;
  /** CSS px (default 375 × 812, an iPhone X-sized screen). */
  screenWidth?: number;
  screenHeight?: number;
}

/** Built-in components of the mini-program base library that get a dedicated mapping. */
export const BUILTIN_TAGS = ['page', 'view', 'text', 'image', 'button', 'progress', 'switch', 'input', 'textarea', 'video', 'picker', 'scroll-view', 'swiper', 'swiper-item', 'icon', 'checkbox', 'radio', 'slider', 'navigator', 'label', 'block', 'cover-view', 'cover-image', 'rich-text', 'form', 'movable-area', 'movable-view'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** `24rpx` → `12px` on a 375 px screen (750 rpx = the screen width). Leaves everything else alone. */
export function rpxToPx(css: string, screenWidth = 375): string {
  return css.replace(/(-?(?:\d+\.?\d*|\.\d+))rpx\b/g, (_m, n: string) => `${fmt((Number(n) * screenWidth) / 750)}px`);
}

const TAG_SELECTOR = new RegExp(`(^|[\\s>+~,(])(${BUILTIN_TAGS.filter((t) => t !== 'block').join('|')})(?=$|[\\s.:#\\[>+~,)])`, 'g');

/** Rewrites type selectors of built-ins (`page`, `.item progress`) to the classes this converter emits. */
export function convertSelector(selector: string): string {
  // Run twice: adjacent matches share the separator character (`view,text`).
  return selector.replace(TAG_SELECTOR, '$1.wx-$2').replace(TAG_SELECTOR, '$1.wx-$2');
}

/** WXSS → CSS: comments and @import dropped, rpx → px, built-in type selectors → classes. */
export function wxssToCss(wxss: string, screenWidth = 375): string {
  const css = wxss.replace(/\/\*[\s\S]*?\*\//g, '').replace(/@import[^;]*;/g, '');
  const out: string[] = [];
  let depth = 0;
  let buf = '';
  let inKeyframes = 0;
  for (const ch of css) {
    if (ch === '{') {
      const head = buf.trim();
      if (head.startsWith('@')) {
        if (/^@(-\w+-)?keyframes/.test(head)) inKeyframes = depth + 1;
        out.push(`${head} {`);
      } else {
        out.push(`${inKeyframes && depth >= inKeyframes ? head : convertSelector(head)} {`);
      }
      depth++;
      buf = '';
    } else if (ch === '}') {
      if (buf.trim()) out.push(`${rpxToPx(buf.trim(), screenWidth)}`);
      out.push('}\n');
      depth = Math.max(0, depth - 1);
      if (inKeyframes && depth < inKeyframes) inKeyframes = 0;
      buf = '';
    } else {
      buf += ch;
    }
  }
  return out.join(' ').replace(/ \}\n/g, ' }\n').trim();
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** An attribute by its WXML name; toJSON reports built-ins' properties camelCased (stroke-width → strokeWidth). */
function findAttr(node: WxNode, name: string): WxAttr | undefined {
  const want = camel(name);
  return node.attrs.find((x) => x.name === name || camel(x.name) === want);
}

function attr(node: WxNode, name: string): unknown {
  const a = findAttr(node, name);
  return a ? a.value : undefined;
}

/** Boolean attribute as WXML means it: present without a value, true, or any non-empty string but "false". */
function flag(node: WxNode, name: string): boolean {
  const a = findAttr(node, name);
  if (!a) return false;
  const v = a.value;
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v !== 'false' && v !== '0';
  return Boolean(v);
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

export function normalizeTag(tagName: string): string {
  return tagName.replace(/^wx-/, '');
}

export interface ConvertContext {
  images: Record<string, string>;
  screenWidth: number;
  /** Tags that had no mapping (rendered as block boxes); the script reports them. */
  unknownTags: Set<string>;
}

function imageUrl(ctx: ConvertContext, src: string): string {
  return ctx.images[src] || src;
}

function open(tag: string, classes: string[], style: string, id: string, extra = ''): string {
  const cls = classes.filter(Boolean).join(' ');
  return `<${tag} class="${esc(cls)}"${style ? ` style="${esc(style)}"` : ''}${id ? ` id="${esc(id)}"` : ''}${extra}>`;
}

const IMAGE_MODES: Record<string, string> = {
  scaleToFill: 'background-size:100% 100%',
  aspectFit: 'background-size:contain',
  aspectFill: 'background-size:cover',
  top: 'background-size:auto;background-position:top center',
  bottom: 'background-size:auto;background-position:bottom center',
  center: 'background-size:auto',
  left: 'background-size:auto;background-position:center left',
  right: 'background-size:auto;background-position:center right',
};

/** One node (and its subtree) → HTML. */
export function nodeToHtml(node: WxNode | string, ctx: ConvertContext): string {
  if (typeof node === 'string') return esc(node);
  const tag = normalizeTag(node.tagName);
  const inner = () => node.children.map((c) => nodeToHtml(c, ctx)).join('');
  if (tag === 'block') return inner();
  const own = str(attr(node, 'class')).split(/\s+/).filter(Boolean);
  let style = rpxToPx(str(attr(node, 'style')).trim(), ctx.screenWidth);
  if (flag(node, 'hidden')) style = `${style}${style && !style.endsWith(';') ? ';' : ''}display:none`;
  const id = str(attr(node, 'id'));
  const cls = (...extra: string[]) => [`wx-${tag}`, ...extra, ...own];
  const addStyle = (s: string) => (style ? `${s};${style}` : s);

  switch (tag) {
    case 'view':
    case 'cover-view':
    case 'label':
    case 'form':
    case 'navigator':
    case 'swiper-item':
    case 'movable-area':
    case 'movable-view':
      return `${open('div', cls(), style, id)}${inner()}</div>`;
    case 'span': // WXML's inline element (base library 2.x; TDesign's segmented labels)
      return `${open('span', cls(), style, id)}${inner()}</span>`;
    case 'text':
      return `${open('span', cls(flag(node, 'user-select') || flag(node, 'selectable') ? 'wx-selectable' : ''), style, id)}${inner()}</span>`;
    case 'rich-text':
      return `${open('div', cls(), style, id)}${inner()}</div>`;
    case 'scroll-view':
      return `${open('div', cls(flag(node, 'scroll-x') ? 'wx-scroll-x' : '', flag(node, 'scroll-y') ? 'wx-scroll-y' : ''), style, id)}${inner()}</div>`;
    case 'swiper':
      return `${open('div', cls(), style, id)}${node.children.filter((c) => typeof c !== 'string').slice(0, 1).map((c) => nodeToHtml(c, ctx)).join('')}</div>`;
    case 'image':
    case 'cover-image': {
      const src = str(attr(node, 'src'));
      const mode = str(attr(node, 'mode')) || 'scaleToFill';
      if (mode === 'widthFix' || mode === 'heightFix') {
        return `${open('img', cls(`wx-image--${mode}`), style, id, src ? ` src="${esc(imageUrl(ctx, src))}" alt=""` : ' alt=""')}`;
      }
      const bg = src ? `background-image:url('${imageUrl(ctx, src).replace(/'/g, '%27')}');${IMAGE_MODES[mode] || IMAGE_MODES.scaleToFill}` : '';
      return `${open('div', cls(src ? '' : 'wx-image--empty'), bg ? addStyle(bg) : style, id)}</div>`;
    }
    case 'button': {
      const type = str(attr(node, 'type')) || 'default';
      const size = str(attr(node, 'size')) || 'default';
      const mods = [`wx-button--${type}`, size === 'mini' ? 'wx-button--mini' : '', flag(node, 'disabled') ? 'wx-button--disabled' : '', flag(node, 'plain') ? 'wx-button--plain' : '', flag(node, 'loading') ? 'wx-button--loading' : ''];
      return `${open('div', cls(...mods), style, id)}${flag(node, 'loading') ? '<i class="wx-button-spinner"></i>' : ''}${inner()}</div>`;
    }
    case 'progress': {
      const percent = Math.max(0, Math.min(100, Number(attr(node, 'percent')) || 0));
      const stroke = Number(attr(node, 'stroke-width')) || 6;
      const active = str(attr(node, 'active-color') ?? attr(node, 'color')) || '#09BB07';
      const back = str(attr(node, 'background-color')) || '#EBEBEB';
      const info = flag(node, 'show-info') ? `<span class="wx-progress-info">${fmt(percent)}%</span>` : '';
      return `${open('div', cls(), style, id)}<div class="wx-progress-bar" style="height:${fmt(stroke)}px;background:${esc(back)}"><div class="wx-progress-inner" style="width:${fmt(percent)}%;background:${esc(active)}"></div></div>${info}</div>`;
    }
    case 'switch':
    case 'checkbox':
    case 'radio': {
      const checked = flag(node, 'checked');
      const type = tag === 'switch' ? str(attr(node, 'type')) || 'switch' : tag;
      const color = str(attr(node, 'color'));
      const on = checked && color ? ` style="background:${esc(color)};border-color:${esc(color)}"` : '';
      if (type === 'checkbox' || type === 'radio') {
        return `${open('div', cls(), style, id)}<span class="wx-${type}-input${checked ? ' wx-checked' : ''}"${on}></span>${inner()}</div>`;
      }
      return `${open('div', cls(), style, id)}<span class="wx-switch-input${checked ? ' wx-checked' : ''}"${on}></span>${inner()}</div>`;
    }
    case 'slider': {
      const min = Number(attr(node, 'min') ?? 0);
      const max = Number(attr(node, 'max') ?? 100);
      const value = Number(attr(node, 'value') ?? min);
      const pct = max > min ? ((value - min) / (max - min)) * 100 : 0;
      const active = attr(node, 'active-color') || attr(node, 'activeColor');
      const fill = typeof active === 'string' && active ? `;background:${esc(active)}` : '';
      return `${open('div', cls(), style, id)}<div class="wx-slider-track"><div class="wx-slider-fill" style="width:${fmt(pct)}%${fill}"></div><div class="wx-slider-thumb" style="left:${fmt(pct)}%"></div></div>${flag(node, 'show-value') ? `<span class="wx-slider-value">${fmt(value)}</span>` : ''}</div>`;
    }
    case 'input':
    case 'textarea': {
      const value = str(attr(node, 'value'));
      const placeholder = str(attr(node, 'placeholder'));
      const shown = value ? esc(flag(node, 'password') ? '•'.repeat(value.length) : value) : `<span class="wx-placeholder">${esc(placeholder)}</span>`;
      return `${open('div', cls(), style, id)}${shown}</div>`;
    }
    case 'picker':
      return `${open('div', cls(), style, id)}${inner()}</div>`;
    case 'video': {
      const poster = str(attr(node, 'poster'));
      const bg = poster ? `<div class="wx-video-poster" style="background-image:url('${imageUrl(ctx, poster).replace(/'/g, '%27')}')"></div>` : '';
      const controls = attr(node, 'controls') === undefined || flag(node, 'controls');
      // A picture cannot play: an autoplaying video is drawn as playing (pause glyph, no centre button).
      const playing = flag(node, 'autoplay');
      const bar = controls ? `<div class="wx-video-bar"><span class="${playing ? 'wx-video-bar-pause' : 'wx-video-bar-play'}"></span><span class="wx-video-time">00:00</span><span class="wx-video-progress"></span><span class="wx-video-time">--:--</span><span class="wx-video-full"></span></div>` : '';
      return `${open('div', cls(), style, id)}${bg}${playing ? '' : '<div class="wx-video-play"></div>'}${bar}</div>`;
    }
    case 'icon': {
      const size = Number(attr(node, 'size')) || 23;
      const color = str(attr(node, 'color')) || '#07c160';
      return `${open('span', cls(), addStyle(`width:${fmt(size)}px;height:${fmt(size)}px;background:${color}`), id)}</span>`;
    }
    default:
      ctx.unknownTags.add(tag);
      return `${open('div', [`wx-${tag}`, 'wx-unknown', ...own], style, id)}${inner()}</div>`;
  }
}

/** The look of WeChat's built-ins (base library, style v2), enough for a review picture. */
export const BUILTIN_CSS = `
* { box-sizing: border-box; -webkit-tap-highlight-color: transparent; }
html, body { margin: 0; padding: 0; }
body { font-family: -apple-system, "PingFang SC", "Helvetica Neue", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Noto Color Emoji", sans-serif; font-size: 16px; color: #000; -webkit-font-smoothing: antialiased; }
.wx-page { display: flow-root; min-height: 100%; }
.wx-view, .wx-rich-text, .wx-picker, .wx-form, .wx-navigator, .wx-swiper, .wx-swiper-item, .wx-unknown { display: block; }
.wx-label { display: inline; }
.wx-text { display: inline; white-space: pre-wrap; }
.wx-selectable { user-select: text; }
.wx-scroll-view { display: block; overflow: hidden; position: relative; }
.wx-image { display: inline-block; overflow: hidden; width: 320px; height: 240px; background-repeat: no-repeat; background-position: center; vertical-align: top; }
img.wx-image { height: auto; }
.wx-button { position: relative; display: block; width: 184px; margin: 0 auto; padding: 8px 24px; font-size: 17px; font-weight: 700; line-height: 1.41176471; text-align: center; border-radius: 8px; color: #06ae56; background: #f2f2f2; overflow: hidden; }
.wx-button::after { content: " "; position: absolute; top: 0; left: 0; width: 200%; height: 200%; border: 1px solid rgba(0,0,0,.2); transform: scale(.5); transform-origin: 0 0; box-sizing: border-box; border-radius: 10px; pointer-events: none; }
.wx-button--primary { color: #fff; background: #07c160; }
.wx-button--warn { color: #fa5151; background: #f2f2f2; }
.wx-button--mini { display: inline-block; width: auto; padding: 0 12px; font-size: 13px; line-height: 2.3; border-radius: 4px; }
.wx-button--plain { background: transparent; border: 1px solid currentColor; }
.wx-button--disabled { color: rgba(0,0,0,.18) !important; background: #f2f2f2 !important; }
.wx-button-spinner { display: inline-block; width: 1em; height: 1em; margin-right: .3em; vertical-align: -2px; border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%; }
.wx-progress { display: flex; align-items: center; }
.wx-progress-bar { flex: 1; overflow: hidden; }
.wx-progress-inner { height: 100%; }
.wx-progress-info { margin-left: 15px; font-size: 16px; }
.wx-switch, .wx-checkbox, .wx-radio { display: inline-block; vertical-align: middle; }
.wx-switch-input { position: relative; display: inline-block; width: 52px; height: 32px; border: 1px solid #dfdfdf; border-radius: 16px; background: #dfdfdf; vertical-align: middle; }
.wx-switch-input::after { content: ""; position: absolute; top: 0; left: 0; width: 30px; height: 30px; border-radius: 15px; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.4); }
.wx-switch-input.wx-checked { background: #04be02; border-color: #04be02; }
.wx-switch-input.wx-checked::after { left: 20px; }
.wx-checkbox-input, .wx-radio-input { display: inline-block; width: 22px; height: 22px; border: 1px solid #d1d1d1; border-radius: 3px; background: #fff; vertical-align: middle; margin-right: 5px; }
.wx-radio-input { border-radius: 50%; }
.wx-checkbox-input.wx-checked, .wx-radio-input.wx-checked { background: #07c160; border-color: #07c160; }
.wx-slider { margin: 10px 18px; }
.wx-slider-track { position: relative; height: 2px; background: #e9e9e9; }
.wx-slider-fill { height: 100%; background: #1aad19; }
.wx-slider-thumb { position: absolute; top: -13px; width: 28px; height: 28px; margin-left: -14px; border-radius: 50%; background: #fff; box-shadow: 0 0 4px rgba(0,0,0,.2); }
.wx-input, .wx-textarea { display: block; min-height: 1.4rem; line-height: 1.4rem; overflow: hidden; white-space: nowrap; text-overflow: clip; }
.wx-input { display: flex; align-items: center; }
.wx-textarea { width: 300px; height: 150px; white-space: pre-wrap; }
.wx-placeholder { color: #808080; }
.wx-video { position: relative; display: inline-block; width: 300px; height: 225px; background: #000; overflow: hidden; vertical-align: top; }
.wx-video-poster { position: absolute; inset: 0; background-size: contain; background-position: center; background-repeat: no-repeat; }
.wx-video-play { position: absolute; left: 50%; top: 50%; width: 48px; height: 48px; margin: -24px 0 0 -24px; border-radius: 50%; background: rgba(0,0,0,.45); border: 2px solid rgba(255,255,255,.85); }
.wx-video-play::after { content: ""; position: absolute; left: 18px; top: 13px; border-style: solid; border-width: 9px 0 9px 15px; border-color: transparent transparent transparent #fff; }
.wx-video-bar { position: absolute; left: 0; right: 0; bottom: 0; height: 36px; display: flex; align-items: center; gap: 8px; padding: 0 10px; background: linear-gradient(transparent, rgba(0,0,0,.5)); color: #fff; font-size: 12px; }
.wx-video-bar-play { width: 0; height: 0; border-style: solid; border-width: 6px 0 6px 10px; border-color: transparent transparent transparent #fff; }
.wx-video-bar-pause { width: 10px; height: 12px; border-left: 3px solid #fff; border-right: 3px solid #fff; }
.wx-video-progress { flex: 1; height: 2px; background: rgba(255,255,255,.4); }
.wx-video-full { width: 12px; height: 12px; border: 2px solid #fff; border-radius: 2px; }
.wx-icon { display: inline-block; border-radius: 50%; vertical-align: middle; }
.wx-cover-image { display: block; }
`;

const CHROME_CSS = `
.phone { position: relative; display: flex; flex-direction: column; overflow: hidden; }
.status-bar { flex: none; height: 44px; display: flex; align-items: center; justify-content: space-between; padding: 6px 26px 0 32px; font-size: 15px; font-weight: 600; }
.status-icons { display: flex; align-items: center; gap: 5px; }
.signal { display: inline-flex; align-items: flex-end; gap: 1.5px; height: 11px; }
.signal i { display: block; width: 3px; border-radius: 1px; background: currentColor; }
.battery { position: relative; width: 24px; height: 11.5px; border: 1px solid currentColor; border-radius: 3px; opacity: .9; }
.battery::before { content: ""; position: absolute; left: 1.5px; top: 1.5px; bottom: 1.5px; width: 15px; border-radius: 1px; background: currentColor; }
.battery::after { content: ""; position: absolute; right: -3.5px; top: 3px; width: 2px; height: 4px; border-radius: 0 1px 1px 0; background: currentColor; }
.nav-bar { flex: none; position: relative; height: 44px; display: flex; align-items: center; justify-content: center; }
.nav-title { max-width: 200px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; font-size: 17px; font-weight: 600; }
.nav-back { position: absolute; left: 8px; top: 0; height: 44px; width: 32px; display: flex; align-items: center; justify-content: center; }
.nav-back::before { content: ""; width: 11px; height: 11px; border-left: 2px solid currentColor; border-bottom: 2px solid currentColor; transform: rotate(45deg); margin-left: 6px; }
.capsule { position: absolute; right: 7px; top: 6px; width: 87px; height: 32px; display: flex; align-items: center; border-radius: 16px; border: .5px solid rgba(0,0,0,.1); background: rgba(255,255,255,.6); }
.capsule.white { border-color: rgba(255,255,255,.25); background: rgba(0,0,0,.15); }
.capsule span { flex: 1; display: flex; align-items: center; justify-content: center; gap: 3px; }
.capsule .dot { width: 4px; height: 4px; border-radius: 50%; background: currentColor; }
.capsule .dot.big { width: 6px; height: 6px; }
.capsule .ring { width: 16px; height: 16px; border: 2px solid currentColor; border-radius: 50%; display: flex; align-items: center; justify-content: center; }
.capsule .sep { flex: none; width: .5px; height: 18px; background: rgba(0,0,0,.15); }
.content { position: relative; flex: 1; overflow: hidden; transform: translateZ(0); }
.tab-bar { flex: none; display: flex; height: 84px; padding-bottom: 34px; border-top: .5px solid rgba(0,0,0,.15); }
.tab-bar.white { border-top-color: rgba(255,255,255,.3); }
.tab { flex: 1; display: flex; align-items: center; justify-content: center; font-size: 14px; }
.tab.selected { font-weight: 600; }
.tab.with-icon { flex-direction: column; justify-content: flex-start; padding-top: 5px; font-size: 10px; font-weight: 400; }
.tab-icon { width: 27px; height: 27px; margin-bottom: 2px; }
.home-indicator { position: absolute; left: 50%; bottom: 8px; width: 134px; height: 5px; margin-left: -67px; border-radius: 3px; background: #000; z-index: 10; }
`;

/** The whole document for one rendered page. */
export function pageToHtml(tree: WxNode, opts: PageHtmlOptions): { html: string; unknownTags: string[] } {
  const screenWidth = opts.screenWidth || 375;
  const screenHeight = opts.screenHeight || 812;
  const ctx: ConvertContext = { images: opts.images || {}, screenWidth, unknownTags: new Set() };
  // The root is the page component itself; its children are the page body.
  const body = tree.children.map((c) => nodeToHtml(c, ctx)).join('');
  const win = opts.window;
  const navBg = win.navigationBarBackgroundColor || '#000000';
  const navFg = win.navigationBarTextStyle === 'black' ? '#000' : '#fff';
  const tabs = opts.tabBar && opts.tabBar.list.length >= 2 ? opts.tabBar : undefined;
  const isTab = Boolean(tabs && tabs.list.some((t) => t.pagePath === opts.pagePath));
  const title = opts.title ?? win.navigationBarTitleText ?? '';
  const custom = win.navigationStyle === 'custom';
  const statusBar = `<div class="status-bar" style="background:${esc(navBg)};color:${navFg}"><span>9:41</span><span class="status-icons"><span class="signal"><i style="height:4px"></i><i style="height:6px"></i><i style="height:8px"></i><i style="height:11px"></i></span><span class="battery"></span></span></div>`;
  const capsule = `<div class="capsule${navFg === '#fff' ? ' white' : ''}" style="color:${navFg}"><span><i class="dot"></i><i class="dot big"></i><i class="dot"></i></span><i class="sep"></i><span><i class="ring"><i class="dot"></i></i></span></div>`;
  const navBar = custom ? '' : `<div class="nav-bar" style="background:${esc(navBg)};color:${navFg}">${isTab ? '' : '<i class="nav-back"></i>'}<div class="nav-title">${esc(title)}</div>${capsule}</div>`;
  const tabBar = isTab && tabs
    ? `<div class="tab-bar${tabs.borderStyle === 'white' ? ' white' : ''}" style="background:${esc(tabs.backgroundColor || '#ffffff')}">${tabs.list
        .map((t) => {
          const sel = t.pagePath === opts.pagePath;
          const iconPath = sel ? t.selectedIconPath || t.iconPath : t.iconPath;
          const icon = iconPath && opts.tabIcons && opts.tabIcons[iconPath] ? `<img class="tab-icon" src="${esc(opts.tabIcons[iconPath])}" alt="">` : '';
          return `<div class="tab${sel ? ' selected' : ''}${icon ? ' with-icon' : ''}" style="color:${esc((sel ? tabs.selectedColor : tabs.color) || (sel ? '#07c160' : '#666666'))}">${icon ? `${icon}<span>${esc(t.text)}</span>` : esc(t.text)}</div>`;
        })
        .join('')}</div>`
    : '';
  const css = [BUILTIN_CSS, CHROME_CSS, `/* app.wxss */\n${wxssToCss(opts.appWxss, screenWidth)}`, `/* page wxss */\n${wxssToCss(opts.pageWxss, screenWidth)}`].join('\n');
  const html = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.pagePath)}</title>
<style>
${css}
.phone { width: ${screenWidth}px; height: ${screenHeight}px; background: ${esc(win.backgroundColor || '#ffffff')}; }
</style></head>
<body><div class="phone">${statusBar}${navBar}<div class="content"><div class="wx-page">${body}</div></div>${tabBar}<i class="home-indicator"></i></div></body></html>
`;
  return { html, unknownTags: [...ctx.unknownTags].sort() };
}
