/**
 * Draws the demo's tab-bar icons (miniprogram/images/tab/<name>.png and <name>-active.png, 81 × 81 px as WeChat
 * recommends) from the inline SVG below, through Debian's Chromium (playwright-core, as scripts/screenshots.ts).
 * The PNGs are committed; run `npx tsx scripts/tab-icons.ts` only to change them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const OUT = path.resolve(__dirname, '../miniprogram/images/tab');
const GREY = '#8a8f99';
const BRAND = '#0052d9';

/** 24 × 24 line icons, stroke = currentColor. */
const ICONS: Record<string, string> = {
  upload: '<path d="M7 18h-.5A4.5 4.5 0 0 1 6 9.03 6 6 0 0 1 17.66 8.5 4.5 4.5 0 0 1 17.5 18H17"/><path d="M12 20v-8"/><path d="M8.5 15.5 12 12l3.5 3.5"/>',
  player: '<rect x="2.5" y="4.5" width="19" height="15" rx="3"/><path d="M10 9v6l5-3z" fill="currentColor"/>',
  devices: '<rect x="3" y="5" width="14" height="11" rx="3"/><circle cx="10" cy="10.5" r="2.6"/><path d="m17 9 4-2v7l-4-2"/><path d="M8 20h6"/><path d="M11 16v4"/>',
  download: '<path d="M12 3.5v11"/><path d="M7.5 10.5 12 15l4.5-4.5"/><path d="M4 15.5V18a2.5 2.5 0 0 0 2.5 2.5h11A2.5 2.5 0 0 0 20 18v-2.5"/>',
};

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 81, height: 81 }, deviceScaleFactor: 1 });
    for (const [name, body] of Object.entries(ICONS)) {
      for (const [suffix, color] of [['', GREY], ['-active', BRAND]]) {
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="81" height="81" viewBox="0 0 24 24" fill="none" stroke="${color}" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" style="color:${color}">${body}</svg>`;
        await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
        await page.screenshot({ path: path.join(OUT, `${name}${suffix}.png`), omitBackground: true, clip: { x: 0, y: 0, width: 81, height: 81 } });
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`tab icons → ${path.relative(process.cwd(), OUT)}: ${fs.readdirSync(OUT).join(', ')}`);
}

main().catch((e) => {
  process.stderr.write(`tab-icons failed: ${(e as Error).stack || e}\n`);
  process.exit(1);
});
