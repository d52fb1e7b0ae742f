import { dailyChart } from './chart.js';
import { addDays, type DateRange } from './date-range.js';
import { formatCount, formatDay, formatDecimal, formatDuration, formatPercent } from './format.js';
import { html, type SafeHtml, trusted } from './html.js';
import { STYLES } from './styles.js';
import type { DashboardSummary } from './summary.js';

/** What the page needs besides the numbers: where it is mounted and what "today" is. */
export interface PageContext {
  /** The mount path without a trailing slash ('' at the root). */
  basePath: string;
  today: string;
  title: string;
}

const PRESETS = [7, 30, 90] as const;

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, v);
  const s = search.toString();
  return s === '' ? '' : `?${s}`;
}

function rangeLabel(range: DateRange): string {
  const year = (d: string) => d.slice(0, 4);
  if (range.from === range.to) return `${formatDay(range.from)}, ${year(range.to)}`;
  const fromYear = year(range.from) === year(range.to) ? '' : `, ${year(range.from)}`;
  return `${formatDay(range.from)}${fromYear} – ${formatDay(range.to)}, ${year(range.to)}`;
}

/** A figure of the overview: the raw number in `data-value`, the formatted one as text. */
function figure(
  testId: string,
  label: string,
  value: number | null,
  text: string,
  sub: SafeHtml | string,
): SafeHtml {
  return html`<div class="figure"><div class="label">${label}</div>
<div class="value" data-testid="${testId}" data-value="${value ?? ''}">${text}</div>
<div class="sub">${sub}</div></div>`;
}

interface BarRow {
  key: string | null;
  label: string;
  value: number;
  mono?: boolean;
  /** Further numbers of the row, each in its own column and in a `data-<name>` attribute. */
  extra?: { name: 'bounces' | 'views'; value: number }[];
}

/**
 * A ranked list with a proportional bar behind each label (sized by `value`, the first number column); the raw
 * key and numbers are in `data-` attributes.
 */
function barTable(testId: string, head: [string, string, ...string[]], rows: BarRow[]): SafeHtml {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const body =
    rows.length === 0
      ? html`<tr><td class="none" colspan="${head.length}">No data for this range</td></tr>`
      : rows.map(
          (
            r,
          ) => html`<tr data-testid="${testId}" data-key="${r.key ?? ''}" data-null="${r.key === null ? 'true' : 'false'}" data-value="${r.value}"${(r.extra ?? []).map((e) => html` data-${trusted(e.name)}="${e.value}"`)}>
<td><div class="barcell"><span class="fill" style="width:${((r.value / max) * 100).toFixed(1)}%"></span><span class="text${r.mono ? ' path' : ''}" title="${r.label}">${r.label}</span></div></td>
<td class="num">${formatCount(r.value)}</td>${(r.extra ?? []).map((e) => html`<td class="num">${formatCount(e.value)}</td>`)}</tr>`,
        );
  return html`<table><thead><tr><th>${head[0]}</th>${head.slice(1).map((h) => html`<th class="num">${h}</th>`)}</tr></thead><tbody>${body}</tbody></table>`;
}

function overview(s: DashboardSummary): SafeHtml {
  const o = s.overview;
  const rt = s.realtime;
  const realtime =
    rt === null
      ? null
      : rt.total === null
        ? figure('realtime-total', 'Active now', null, '–', 'real time unavailable')
        : figure(
            'realtime-total',
            'Active now',
            rt.total,
            formatCount(rt.total),
            rt.authenticated === null
              ? html`<span class="live"></span>last ${rt.windowMinutes} min`
              : html`<span class="live"></span><span data-testid="realtime-authenticated" data-value="${rt.authenticated}">${formatCount(rt.authenticated)}</span> authenticated · <span data-testid="realtime-anonymous" data-value="${rt.anonymous ?? ''}">${formatCount(rt.anonymous ?? 0)}</span> anonymous`,
          );
  const sub = (anon: number, auth: number, idA: string, idB: string) =>
    html`<span data-testid="${idA}" data-value="${anon}">${formatCount(anon)}</span> anonymous · <span data-testid="${idB}" data-value="${auth}">${formatCount(auth)}</span> authenticated`;
  return html`<section class="card span-6" aria-label="Overview"><div class="figures overview">
${realtime}
${figure('overview-visitors', 'Visitors (daily uniques, summed)', o.uniqueVisitors, formatCount(o.uniqueVisitors), 'each visitor once per day')}
${figure('overview-page-views', 'Page views', o.pageViews, formatCount(o.pageViews), sub(o.anonymousViews, o.authenticatedViews, 'overview-anonymous-views', 'overview-authenticated-views'))}
${figure('overview-sessions', 'Sessions', o.sessions, formatCount(o.sessions), sub(o.anonymousSessions, o.authenticatedSessions, 'overview-anonymous-sessions', 'overview-authenticated-sessions'))}
${figure('overview-bounce-rate', 'Bounce rate', o.bounceRate, formatPercent(o.bounceRate), html`<span data-testid="overview-bounces" data-value="${o.bounces}">${formatCount(o.bounces)}</span> one-page sessions`)}
${figure('overview-avg-duration', 'Avg session', o.avgDurationMs, formatDuration(o.avgDurationMs), html`<span data-testid="overview-pages-per-session" data-value="${s.sessions.pagesPerSession ?? ''}">${formatDecimal(s.sessions.pagesPerSession)}</span> pages per session`)}
${figure('overview-bot-views', 'Bot views', o.botViews, formatCount(o.botViews), 'kept apart from the rest')}
${figure('overview-signups', 'Signups', s.conversions.signups, formatCount(s.conversions.signups), html`<span data-testid="overview-conversion-rate" data-value="${s.conversions.conversionRate ?? ''}">${formatPercent(s.conversions.conversionRate)}</span> of anonymous sessions`)}
</div></section>`;
}

function chartPanel(s: DashboardSummary): SafeHtml {
  return html`<section class="card span-6" aria-label="Page views over time"><h2>Page views and visitors</h2>
<div class="legend"><span><i style="background:var(--accent-soft)"></i>Anonymous views</span><span><i style="background:var(--accent)"></i>Authenticated views</span><span><i style="background:var(--warn)"></i>Visitors (daily uniques)</span></div>
${dailyChart(s.series)}</section>`;
}

function topPages(s: DashboardSummary): SafeHtml {
  const rows =
    s.topPages.length === 0
      ? html`<tr><td class="none" colspan="7">No page views in this range</td></tr>`
      : s.topPages.map((r) => {
          const max = s.topPages[0]?.views || 1;
          return html`<tr data-testid="top-page" data-key="${r.path}" data-views="${r.views}" data-unique-visitors="${r.uniqueVisitors}" data-authenticated="${r.authenticatedViews}" data-anonymous="${r.anonymousViews}">
<td><div class="barcell"><span class="fill" style="width:${((r.views / max) * 100).toFixed(1)}%"></span><span class="text path" title="${r.path}">${r.path}</span></div></td>
<td class="num">${formatCount(r.views)}</td><td class="num">${formatCount(r.uniqueVisitors)}</td>
<td class="num">${formatCount(r.authenticatedViews)}</td><td class="num">${formatCount(r.anonymousViews)}</td>
<td class="num">${formatDuration(r.avgTimeOnPageMs)}</td><td class="num">${r.avgScrollDepth === null ? '–' : `${Math.round(r.avgScrollDepth)}%`}</td></tr>`;
        });
  return html`<section class="card span-6" aria-label="Top pages"><h2>Top pages</h2>
<table><thead><tr><th>Page</th><th class="num">Views</th><th class="num">Unique visitors per page</th><th class="num">Authenticated</th><th class="num">Anonymous</th><th class="num">Avg time</th><th class="num">Avg scroll</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

function entryExitCountries(s: DashboardSummary): SafeHtml {
  return html`<section class="card span-2" aria-label="Entry pages"><h2>Entry pages</h2>
${barTable(
  'entry-page',
  ['Landing page', 'Sessions', 'Bounces'],
  s.entryPages.map((r) => ({
    key: r.path,
    label: r.path,
    value: r.sessions,
    mono: true,
    extra: [{ name: 'bounces', value: r.bounces }],
  })),
)}</section>
<section class="card span-2" aria-label="Exit pages"><h2>Exit pages</h2>
${barTable(
  'exit-page',
  ['Last page', 'Sessions'],
  s.exitPages.map((r) => ({ key: r.path, label: r.path, value: r.sessions, mono: true })),
)}</section>
<section class="card span-2" aria-label="Countries"><h2>Countries</h2>
${barTable(
  'country',
  ['Country', 'Sessions', 'Views'],
  s.countries.map((r) => ({
    key: r.country,
    label: r.country ?? 'Unknown',
    value: r.sessions,
    extra: [{ name: 'views', value: r.views }],
  })),
)}</section>`;
}

function sources(s: DashboardSummary): SafeHtml {
  const campaignLabel = (c: DashboardSummary['campaigns'][number]) =>
    [c.utmSource ?? '(none)', c.utmMedium, c.utmCampaign].filter((v) => v !== null).join(' / ');
  return html`<section class="card span-3" aria-label="Referrers"><h2>Referrers</h2>
${barTable(
  'referrer',
  ['Source', 'Sessions'],
  s.referrers.map((r) => ({
    key: r.referrerHost,
    label: r.referrerHost ?? 'Direct / none',
    value: r.sessions,
  })),
)}</section>
<section class="card span-3" aria-label="Campaigns"><h2>Campaigns</h2>
${barTable(
  'campaign',
  ['Source / medium / campaign', 'Sessions'],
  s.campaigns.map((c) => ({
    key: [c.utmSource, c.utmMedium, c.utmCampaign].map((v) => v ?? '').join('|'),
    label: campaignLabel(c),
    value: c.sessions,
  })),
)}</section>`;
}

function devices(s: DashboardSummary): SafeHtml {
  const d = s.devices;
  return html`<section class="card span-2" aria-label="Devices"><h2>Devices</h2>
${barTable(
  'device',
  ['Device', 'Sessions'],
  d.devices.map((r) => ({ key: r.device, label: r.device, value: r.sessions })),
)}</section>
<section class="card span-2" aria-label="Browsers"><h2>Browsers</h2>
${barTable(
  'browser',
  ['Browser', 'Sessions'],
  d.browsers.map((r) => ({ key: r.browser, label: r.browser ?? 'Unknown', value: r.sessions })),
)}</section>
<section class="card span-2" aria-label="Operating systems"><h2>Operating systems</h2>
${barTable(
  'os',
  ['OS', 'Sessions'],
  d.os.map((r) => ({ key: r.os, label: r.os ?? 'Unknown', value: r.sessions })),
)}</section>`;
}

function conversions(s: DashboardSummary): SafeHtml {
  const c = s.conversions;
  return html`<section class="card span-3" aria-label="Conversions"><h2>Conversions</h2>
<div class="figures">
${figure('conversions-signups', 'Signups', c.signups, formatCount(c.signups), 'anonymous visitors who signed up')}
${figure('conversions-converted-sessions', 'Converted sessions', c.convertedSessions, formatCount(c.convertedSessions), html`of <span data-testid="conversions-visitor-sessions" data-value="${c.visitorSessions}">${formatCount(c.visitorSessions)}</span> anonymous sessions`)}
${figure('conversions-rate', 'Conversion rate', c.conversionRate, formatPercent(c.conversionRate), 'converted / anonymous sessions')}
</div>
<h3>First landing page</h3>
${barTable(
  'conversion-landing',
  ['Landing page', 'Signups'],
  c.byLandingPage.map((r) => ({ key: r.path, label: r.path, value: r.conversions, mono: true })),
)}
<h3>First referrer</h3>
${barTable(
  'conversion-referrer',
  ['Referrer', 'Signups'],
  c.byReferrer.map((r) => ({
    key: r.referrerHost,
    label: r.referrerHost ?? 'Direct / none',
    value: r.conversions,
  })),
)}</section>`;
}

function funnel(s: DashboardSummary, ctx: PageContext): SafeHtml {
  const f = s.funnel;
  const first = f.rows[0]?.sessions ?? 0;
  const body =
    f.steps.length === 0
      ? html`<p class="muted">Name the pages of a path, in order, separated by commas: <span class="path">/, /pricing, /signup</span>. A <span class="path">*</span> matches any part (<span class="path">/posts/*</span>). Each step counts the sessions that reached it after the previous ones.</p>`
      : html`<table><thead><tr><th>Step</th><th class="num">Sessions</th><th class="num">Of first</th></tr></thead><tbody>
${f.rows.map(
  (r) => html`<tr data-testid="funnel-step" data-key="${r.step}" data-value="${r.sessions}">
<td><div class="barcell"><span class="fill" style="width:${first > 0 ? ((r.sessions / first) * 100).toFixed(1) : '0'}%"></span><span class="text path" title="${r.step}">${r.step}</span></div></td>
<td class="num">${formatCount(r.sessions)}</td><td class="num">${first > 0 ? formatPercent(r.sessions / first) : '–'}</td></tr>`,
)}</tbody></table>`;
  return html`<section class="card" aria-label="Funnel"><h2>Funnel</h2>
<form class="funnel" method="get" action="${ctx.basePath}/">
<input type="hidden" name="from" value="${s.range.from}"><input type="hidden" name="to" value="${s.range.to}">
<input type="text" name="steps" value="${f.steps.join(', ')}" placeholder="/, /pricing, /signup" aria-label="Funnel steps">
<button type="submit">Show</button></form>
${f.error === null ? null : html`<p class="error" data-testid="funnel-error">${f.error}</p>`}
${body}</section>`;
}

function journeys(s: DashboardSummary): SafeHtml {
  const rows =
    s.journeys.length === 0
      ? html`<tr><td class="none" colspan="2">No sessions in this range</td></tr>`
      : s.journeys.map(
          (
            j,
          ) => html`<tr data-testid="journey" data-key="${JSON.stringify(j.steps)}" data-value="${j.sessions}">
<td><div class="steps">${j.steps.map((step, i) => html`${i > 0 ? html`<span class="arrow">→</span>` : null}<span class="step path">${step}</span>`)}</div></td>
<td class="num">${formatCount(j.sessions)}</td></tr>`,
        );
  return html`<section class="card span-3" aria-label="Journeys"><h2>Journeys</h2>
<table><thead><tr><th>Landing page → … → exit</th><th class="num">Sessions</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function bots(s: DashboardSummary): SafeHtml {
  const b = s.bots;
  return html`<section class="card span-3" aria-label="Bots"><h2>Bots</h2>
<div class="figures">
${figure('bots-views', 'Bot page views', b.views, formatCount(b.views), 'kept apart from every other panel')}
${figure('bots-sessions', 'Bot sessions', b.sessions, formatCount(b.sessions), 'user agent, headless or rate')}
</div>
<h3>Most crawled</h3>
${barTable(
  'bot-path',
  ['Page', 'Views'],
  b.topPaths.map((r) => ({ key: r.path, label: r.path, value: r.views, mono: true })),
)}</section>`;
}

function realtimeScopes(s: DashboardSummary): SafeHtml | null {
  const rt = s.realtime;
  if (rt === null) {
    return html`<section class="card" aria-label="Real time"><h2>Real time</h2>
<p class="muted">Give the dashboard your tracker (or hot store) to see who is on the site now.</p></section>`;
  }
  if (rt.total === null) {
    return html`<section class="card" aria-label="Real time"><h2>Real time</h2>
<p class="error" data-testid="realtime-error">The hot store did not answer (${rt.error}).</p></section>`;
  }
  const split = rt.authenticated !== null;
  return html`<section class="card" aria-label="Real time"><h2>Real time · last ${rt.windowMinutes} min</h2>
${barTable(
  'realtime-scope',
  ['Scope', 'Active visitors'],
  [
    { key: null, label: 'Whole site', value: rt.total },
    ...rt.scopes.map((r) => ({ key: r.scope, label: r.scope, value: r.total, mono: true })),
  ],
)}
${split ? null : html`<p class="note">This hot store reports a total only; the authenticated / anonymous split appears here once it reports one.</p>`}
</section>`;
}

/** The whole dashboard page. Every value from the store goes through `html`, which escapes it. */
export function renderPage(s: DashboardSummary, ctx: PageContext): string {
  const steps = s.funnel.steps.length > 0 ? s.funnel.steps.join(',') : undefined;
  const presets = PRESETS.map((n) => {
    const from = addDays(ctx.today, -(n - 1));
    const current = s.range.from === from && s.range.to === ctx.today;
    return html`<a href="${ctx.basePath}/${query({ from, to: ctx.today, steps })}"${current ? trusted(' aria-current="true"') : ''}>${n} days</a>`;
  });
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${ctx.title} · ${rangeLabel(s.range)}</title>
<link rel="icon" href="data:,">
<style>${trusted(STYLES)}</style></head>
<body><header><div class="bar-top">
<div class="brand"><span class="logo">a</span><span>${ctx.title}<small data-testid="range">${rangeLabel(s.range)}</small></span></div>
<nav class="presets" aria-label="Date range presets">${presets}</nav>
<form class="range" method="get" action="${ctx.basePath}/">
<input type="date" name="from" value="${s.range.from}" aria-label="From" required>
<span class="muted">to</span>
<input type="date" name="to" value="${s.range.to}" aria-label="To" required>
${steps === undefined ? null : html`<input type="hidden" name="steps" value="${steps}">`}
<button type="submit">Apply</button></form>
</div></header>
<main>
${overview(s)}
${chartPanel(s)}
${topPages(s)}
${entryExitCountries(s)}
${sources(s)}
${devices(s)}
${conversions(s)}
<div class="stack span-3">${funnel(s, ctx)}${realtimeScopes(s)}</div>
${journeys(s)}
${bots(s)}
</main>
<footer>Bots are excluded from every panel but Bots and the bot views of the overview. Days are counted in the tracker's time zone. <a href="${ctx.basePath}/api/summary${query({ from: s.range.from, to: s.range.to, steps })}">JSON</a></footer>
</body></html>`}`;
}

/** A short page for a refused or invalid request. */
export function renderMessage(title: string, message: string, basePath: string): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>${title}</title><link rel="icon" href="data:,"><style>${trusted(STYLES)}</style></head>
<body><div class="card error-page"><h2>${title}</h2><p>${message}</p><p><a href="${basePath}/">Back to the last 7 days</a></p></div></body></html>`}`;
}
