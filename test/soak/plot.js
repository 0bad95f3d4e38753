'use strict';
// Plots a soak run's CSV (test/soak/soak.js: elapsed_s, rss_kb, fds, ...) as
// a PNG with no new dependency: an SVG chart (RSS in MB and open descriptors
// over minutes) put in a page of Debian's Chromium through playwright-core
// (test/e2e/node_modules) and screenshotted.
//
// Usage: node test/soak/plot.js build/soak/rss.csv build/soak/rss.png

const fs = require('node:fs');
const path = require('node:path');

const E2E_MODULES = path.resolve(__dirname, '..', 'e2e', 'node_modules');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function readCsv(file) {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const names = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], Number(v)])));
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** One panel: a line of `key` (scaled by `scale`) over elapsed minutes. */
function panel(rows, { key, scale = 1, label, color, x0, y0, w, h, warmupEnd, zeroBased }) {
  const xs = rows.map((r) => r.elapsed_s / 60);
  const ys = rows.map((r) => r[key] * scale);
  const xmax = Math.max(1 / 60, ...xs);
  let ymin = zeroBased ? 0 : Math.min(...ys);
  let ymax = Math.max(...ys);
  if (ymax - ymin < 1e-9) { ymax += 1; ymin = Math.max(0, ymin - 1); }
  const pad = (ymax - ymin) * 0.08;
  ymax += pad;
  if (!zeroBased) ymin = Math.max(0, ymin - pad);
  const px = (x) => x0 + (x / xmax) * w;
  const py = (y) => y0 + h - ((y - ymin) / (ymax - ymin)) * h;
  const out = [];
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fff" stroke="#999"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = ymin + ((ymax - ymin) * i) / 4;
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 8}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  for (let i = 0; i <= 6; i++) {
    const v = (xmax * i) / 6;
    out.push(`<text x="${px(v)}" y="${y0 + h + 18}" text-anchor="middle">${v.toFixed(xmax < 3 ? 1 : 0)}</text>`);
  }
  if (warmupEnd != null) {
    const x = px(warmupEnd / 60);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + h}" stroke="#c80" stroke-dasharray="4 4"/>`);
    out.push(`<text x="${x + 4}" y="${y0 + 14}" fill="#c80">end of warm-up</text>`);
  }
  const pts = xs.map((x, i) => `${px(x).toFixed(1)},${py(ys[i]).toFixed(1)}`).join(' ');
  out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
  out.push(`<text x="${x0}" y="${y0 - 8}" font-weight="bold">${esc(label)}</text>`);
  return out.join('\n');
}

function svg(rows, { title = 'soak', warmupEnd = null } = {}) {
  const W = 1000;
  const H = 620;
  const common = { x0: 70, w: 890, h: 210, warmupEnd };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fafafa"/>
<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>
${panel(rows, { ...common, key: 'rss_kb', scale: 1 / 1024, label: 'server RSS (MB)', color: '#1565c0', y0: 60 })}
${panel(rows, { ...common, key: 'fds', label: 'server open descriptors', color: '#2e7d32', y0: 340, zeroBased: true })}
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">minutes</text>
</svg>`;
}

/** Writes png from the CSV at csvPath. */
async function plot(csvPath, pngPath, opts = {}) {
  const rows = readCsv(csvPath);
  const chart = svg(rows, opts);
  fs.writeFileSync(pngPath.replace(/\.png$/, '.svg'), chart);
  const { chromium } = require(path.join(E2E_MODULES, 'playwright-core'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    timeout: 60000,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 620 }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><body style="margin:0">${chart}</body>`);
    await page.locator('svg').screenshot({ path: pngPath });
  } finally {
    await browser.close();
  }
}

module.exports = { plot, svg, readCsv };

if (require.main === module) {
  const [csvPath, pngPath] = process.argv.slice(2);
  if (!csvPath || !pngPath) {
    console.error('usage: node test/soak/plot.js RSS.csv RSS.png');
    process.exit(2);
  }
  plot(csvPath, pngPath).then(() => console.log(pngPath), (e) => { console.error(e); process.exit(1); });
}
