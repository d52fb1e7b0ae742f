import { formatCount, formatDay } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { DayPoint } from './summary.js';

const WIDTH = 960;
const HEIGHT = 260;
const LEFT = 52;
const RIGHT = 12;
const TOP = 14;
const BOTTOM = 30;

/** The smallest 1, 2 or 5 × 10ⁿ step that covers `max` in at most `ticks` steps. */
export function niceStep(max: number, ticks = 4): number {
  if (!(max > 0)) return 1;
  const rough = max / ticks;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * Page views per day as stacked bars (anonymous, then authenticated) and the day's unique visitors as a line,
 * drawn on the server as inline SVG: no chart library, no script. Each day is a group with its numbers in
 * `data-` attributes and a `<title>` the browser shows on hover.
 */
export function dailyChart(series: DayPoint[]): SafeHtml {
  const n = Math.max(series.length, 1);
  const max = Math.max(0, ...series.map((p) => Math.max(p.views, p.visitors)));
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const band = plotW / n;
  const barW = Math.max(1, band * (n > 60 ? 0.9 : 0.62));
  const y = (v: number) => TOP + plotH - (v / top) * plotH;
  const labelEvery = Math.ceil(n / 10);

  const grid: SafeHtml[] = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(html`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${round(y(v))}" y2="${round(y(v))}"/>
<text class="axis" x="${LEFT - 8}" y="${round(y(v)) + 4}" text-anchor="end">${formatCount(v)}</text>`);
  }

  const days = series.map((p, i) => {
    const x = LEFT + i * band + (band - barW) / 2;
    const anonTop = y(p.anonymousViews);
    const authTop = y(p.anonymousViews + p.authenticatedViews);
    const label =
      i % labelEvery === 0
        ? html`<text class="axis" x="${round(LEFT + (i + 0.5) * band)}" y="${HEIGHT - 10}" text-anchor="middle">${formatDay(p.day)}</text>`
        : null;
    return html`<g data-testid="chart-day" data-day="${p.day}" data-views="${p.views}" data-authenticated="${p.authenticatedViews}" data-anonymous="${p.anonymousViews}" data-visitors="${p.visitors}">
<title>${formatDay(p.day)}: ${formatCount(p.views)} page views (${formatCount(p.anonymousViews)} anonymous, ${formatCount(p.authenticatedViews)} authenticated), ${formatCount(p.visitors)} visitors</title>
<rect class="hover" x="${round(LEFT + i * band)}" y="${TOP}" width="${round(band)}" height="${plotH}"/>
<rect class="bar-anon" x="${round(x)}" y="${round(anonTop)}" width="${round(barW)}" height="${round(TOP + plotH - anonTop)}"/>
<rect class="bar-auth" x="${round(x)}" y="${round(authTop)}" width="${round(barW)}" height="${round(anonTop - authTop)}"/>
${label}</g>`;
  });

  const points = series.map((p, i) => `${round(LEFT + (i + 0.5) * band)},${round(y(p.visitors))}`);
  const dots =
    series.length <= 45
      ? series.map(
          (p, i) =>
            html`<circle class="dot" cx="${round(LEFT + (i + 0.5) * band)}" cy="${round(y(p.visitors))}" r="3"/>`,
        )
      : [];
  const empty =
    max === 0
      ? html`<text class="empty" x="${WIDTH / 2}" y="${TOP + plotH / 2}" text-anchor="middle">No page views in this range</text>`
      : null;

  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Page views and unique visitors, per day" data-testid="chart">
${grid}${days}
<polyline class="line" points="${points.join(' ')}"/>${dots}${empty}
</svg>`;
}
