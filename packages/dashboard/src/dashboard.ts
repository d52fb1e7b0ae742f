import {
  AnonError,
  type Clock,
  consoleLogger,
  dayOf,
  type HotStore,
  isAnonError,
  LIMITS,
  type Logger,
  systemClock,
} from '@anon/core';
import { createLogThrottle } from '@anon/core/adapter';
import { type Authorize, type DashboardContext, loopbackOnly } from './authorize.js';
import { parseRange } from './date-range.js';
import type { DashboardHandler } from './node.js';
import { renderMessage, renderPage } from './render-page.js';
import { type DashboardReports, loadRealtime, loadSummary, type RealtimeSource } from './summary.js';

/** Steps a funnel may have: enough for any sign-up path, few enough to keep the query cheap. */
export const MAX_FUNNEL_STEPS = 8;

/** Options of `createDashboard`. Only `store` is required. */
export interface DashboardOptions {
  /**
   * Where the numbers come from: any object with the report methods of the `Store` port (`memoryStore()`,
   * `postgresStore(pool)`, `mongoStore(db)`, a custom store). Nothing else of the store is called.
   */
  store: DashboardReports;
  /**
   * The real-time panel's source: the app's `Tracker` (its `activeVisitors(scope?)`, with the tracker's
   * window). Preferred over `hot` when both are given. @default none (the panel says how to enable it)
   */
  tracker?: RealtimeSource & {
    readonly config?: { readonly timeZone?: string; readonly realtimeWindowMs?: number };
  };
  /** The real-time panel's source when there is no tracker in this process (a dashboard-only server). @default none */
  hot?: Pick<HotStore, 'activeVisitors'>;
  /** Real-time scopes listed under the site's total (`community:montreal`, `page:/pricing`). @default [] */
  realtimeScopes?: string[];
  /** Window of the real-time panel with `hot` (a tracker uses its own). @default 300_000 (5 min) */
  realtimeWindowMs?: number;
  /**
   * Who may see the dashboard. Receives the request and `{ remoteAddress }` (filled by `toNodeHandler`, or by
   * you when mounting the Fetch handler). Return false (or throw) to answer 403.
   * @default loopback only: the connection comes from 127.0.0.0/8 or ::1 and carries no proxy forwarding header
   */
  authorize?: Authorize;
  /**
   * The path the dashboard is mounted at, e.g. `/_anon/dashboard` (which the tracker's default `excludePaths`
   * already leaves untracked). Requests are matched on their full path, so mount it where this says.
   * @default '/'
   */
  basePath?: string;
  /** Time zone of "today" in the default range; match the tracker's. @default the tracker's, else 'UTC' */
  timeZone?: string;
  /** Rows per table. @default 10 */
  limit?: number;
  /** Pages a journey shows at most. @default 5 */
  journeySteps?: number;
  /** The page title. @default 'anon analytics' */
  title?: string;
  /** Time source for "today". @default systemClock */
  clock?: Clock;
  /** Where a failing report is logged, at most one line a minute per kind of failure (the page itself shows only the error's code). @default consoleLogger() */
  logger?: Pick<Logger, 'error'>;
}

const SECURITY_HEADERS: Record<string, string> = {
  // No script at all, no outside resource: the page is HTML, inline CSS and inline SVG.
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

function normalizeBasePath(basePath: string | undefined): string {
  const raw = (basePath ?? '/').trim();
  if (raw !== '' && !raw.startsWith('/')) {
    throw new AnonError('invalid_config', 'basePath must start with "/"', { source: 'dashboard' });
  }
  return raw.replace(/\/+$/, '');
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new AnonError('invalid_config', `${name} must be an integer ≥ 1`, { source: 'dashboard' });
  }
  return n;
}

/** `?steps=/,/pricing,/signup` as a list of steps, or why it cannot be one. */
export function parseSteps(raw: string | null): { steps: string[]; error: string | null } {
  if (raw === null || raw.trim() === '') return { steps: [], error: null };
  const steps = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (steps.length > MAX_FUNNEL_STEPS) {
    return { steps: [], error: `A funnel has at most ${MAX_FUNNEL_STEPS} steps.` };
  }
  if (steps.some((s) => !s.startsWith('/'))) {
    return { steps: [], error: 'Each funnel step is a path starting with "/" (a "*" matches any part).' };
  }
  return { steps: steps.map((s) => s.slice(0, LIMITS.path)), error: null };
}

function respond(
  status: number,
  body: string | null,
  type: 'html' | 'json' | 'text',
  extra: Record<string, string> = {},
): Response {
  const contentType = {
    html: 'text/html; charset=utf-8',
    json: 'application/json; charset=utf-8',
    text: 'text/plain; charset=utf-8',
  }[type];
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': contentType, ...extra },
  });
}

/** A failing report or real-time read is logged at most once a minute per kind of failure. */
const LOG_EVERY_MS = 60_000;

/**
 * The dashboard as one Fetch API handler: `GET {basePath}/` is the page, `GET {basePath}/api/summary` the same
 * numbers as JSON, for the date range in `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the last 7 days by default) and
 * the funnel in `?steps=/,/pricing,/signup`. It reads only through the store's report methods (and the
 * tracker's `activeVisitors`), so it works on every store. Mount it in Hono as is, and in Express, Koa,
 * Fastify or `node:http` with `toNodeHandler`.
 *
 * @example
 * const dashboard = createDashboard({ store, tracker, basePath: '/_anon/dashboard' });
 * app.all('/_anon/dashboard/*', (c) => dashboard(c.req.raw, { remoteAddress: getConnInfo(c).remote.address }));
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  if (
    options === null ||
    typeof options !== 'object' ||
    options.store === null ||
    typeof options.store !== 'object'
  ) {
    throw new AnonError('invalid_config', 'createDashboard needs { store }', { source: 'dashboard' });
  }
  const basePath = normalizeBasePath(options.basePath);
  const limit = positiveInteger('limit', options.limit, 10);
  const journeySteps = positiveInteger('journeySteps', options.journeySteps, 5);
  const authorize = options.authorize ?? loopbackOnly;
  const clock = options.clock ?? systemClock;
  const sink = options.logger ?? consoleLogger();
  // One line per kind of failure a minute: a store that is down must not log once per page load.
  const logger = createLogThrottle(
    {
      warn: (message, data) => sink.error(message, data),
      error: (message, data) => sink.error(message, data),
    },
    { everyMs: LOG_EVERY_MS, now: () => clock.now() },
  );
  const timeZone = options.timeZone ?? options.tracker?.config?.timeZone ?? 'UTC';
  const title = options.title ?? 'anon analytics';
  const scopes = (options.realtimeScopes ?? []).slice(0, 50).map((s) => String(s).slice(0, LIMITS.scope));
  const windowMs =
    options.tracker?.config?.realtimeWindowMs ??
    positiveInteger('realtimeWindowMs', options.realtimeWindowMs, 300_000);
  const hot = options.hot;
  const realtimeSource: RealtimeSource | null =
    options.tracker ??
    (hot === undefined
      ? null
      : { activeVisitors: (scope) => hot.activeVisitors(clock.now(), windowMs, scope) });

  /** A real-time failure leaves the rest alone: logged, and shown by its code. */
  const realtimeError = (error: unknown): string => {
    const code = isAnonError(error) ? error.code : 'hot_store_failed';
    logger.error('[anon] [dashboard] real time failed', { error: String(error), code });
    return code;
  };

  return async (request: Request, context: DashboardContext = {}): Promise<Response> => {
    const url = new URL(request.url);
    let rest: string;
    if (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)) {
      rest = url.pathname.slice(basePath.length).replace(/^\/+/, '');
    } else {
      return respond(404, 'not found\n', 'text');
    }
    const route =
      rest === '' ? 'page' : rest === 'api/summary' ? 'api' : rest === 'api/realtime' ? 'realtime' : null;
    if (route === null) return respond(404, 'not found\n', 'text');

    let allowed = false;
    try {
      allowed = (await authorize(request, context)) === true;
    } catch {
      allowed = false;
    }
    if (!allowed) {
      const why = 'This dashboard answers only requests its app authorizes (by default: from this machine).';
      return route !== 'page'
        ? respond(403, JSON.stringify({ error: 'forbidden' }), 'json')
        : respond(403, renderMessage('Not authorized', why, basePath), 'html');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return respond(405, 'method not allowed\n', 'text', { allow: 'GET, HEAD' });
    }

    if (route === 'realtime') {
      // Who is on the site now, without running any report: what `anon report realtime --dashboard-url` reads.
      if (realtimeSource === null)
        return respond(404, JSON.stringify({ error: 'no_realtime_source' }), 'json');
      const asked = url.searchParams.getAll('scope').map((s) => s.slice(0, LIMITS.scope));
      const panel = await loadRealtime(
        { source: realtimeSource, windowMs, scopes: [...new Set([...scopes, ...asked])].slice(0, 50) },
        realtimeError,
      );
      return respond(
        panel.error === null ? 200 : 503,
        request.method === 'HEAD' ? null : JSON.stringify(panel),
        'json',
      );
    }

    const now = clock.now();
    let range: ReturnType<typeof parseRange>;
    try {
      range = parseRange(url.searchParams, now, timeZone);
    } catch (error) {
      const message = isAnonError(error, 'invalid_input')
        ? error.message.replace(/^\[anon\] \[dashboard\] /, '')
        : 'invalid range';
      return route === 'api'
        ? respond(400, JSON.stringify({ error: message }), 'json')
        : respond(400, renderMessage('Invalid date range', message, basePath), 'html');
    }

    let summary: Awaited<ReturnType<typeof loadSummary>>;
    try {
      summary = await loadSummary({
        reports: options.store,
        range,
        limit,
        funnel: parseSteps(url.searchParams.get('steps')),
        journeySteps,
        realtime: realtimeSource === null ? null : { source: realtimeSource, windowMs, scopes },
        onRealtimeError: realtimeError,
      });
    } catch (error) {
      // The store's message may name hosts or tables: the page says which kind of failure, the log has the rest.
      const code = isAnonError(error) ? error.code : 'store_failed';
      logger.error('[anon] [dashboard] a report failed', { error: String(error), code });
      return route === 'api'
        ? respond(503, JSON.stringify({ error: code }), 'json')
        : respond(
            503,
            renderMessage('Reports unavailable', `The store did not answer (${code}).`, basePath),
            'html',
          );
    }

    const body =
      route === 'api'
        ? JSON.stringify(summary)
        : renderPage(summary, { basePath, today: dayOf(now, timeZone), title });
    return respond(200, request.method === 'HEAD' ? null : body, route === 'api' ? 'json' : 'html');
  };
}
