import { type ActiveVisitors, AnonError } from '@anon/core';
import { connectRedis } from '../connect.js';
import type { storeFlags } from '../store-flags.js';
import { UsageError } from '../usage-error.js';

/** Active visitors over the last window, overall and in one scope. */
export interface Realtime {
  overall: ActiveVisitors;
  scoped: ActiveVisitors | null;
  windowMs: number;
}

/** Real time from the Redis hot store every instance shares. */
export async function realtimeFromRedis(
  flags: ReturnType<typeof storeFlags>,
  scope?: string,
): Promise<Realtime> {
  const redis = await connectRedis(flags);
  try {
    const now = Date.now();
    const windowMs = 5 * 60_000;
    const overall = await redis.hot.activeVisitors(now, windowMs);
    const scoped = scope ? await redis.hot.activeVisitors(now, windowMs, scope) : null;
    return { overall, scoped, windowMs };
  } finally {
    await redis.close();
  }
}

/**
 * Real time from an app's mounted dashboard (`GET {url}/api/realtime`): the app's own tracker answers, so it
 * works with the in-process memory hot store too. The dashboard's `authorize` decides (by default: this machine).
 */
export async function realtimeFromDashboard(base: string, scope?: string): Promise<Realtime> {
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/api/realtime`);
  } catch {
    throw new UsageError(`--dashboard-url is not a URL (got "${base}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--dashboard-url must be http(s) (got "${url.protocol}")`);
  }
  if (scope) url.searchParams.set('scope', scope);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new AnonError('hot_store_failed', `the dashboard at ${url.origin} did not answer`, {
      cause: error,
    });
  }
  const body = (await res.json().catch(() => null)) as {
    total?: number;
    authenticated?: number;
    anonymous?: number;
    windowMinutes?: number;
    scopes?: ({ scope: string } & ActiveVisitors)[];
    error?: string | null;
  } | null;
  if (!res.ok || body === null || typeof body.total !== 'number') {
    const why = res.status === 403 ? 'it refused this request (its authorize hook)' : `HTTP ${res.status}`;
    throw new AnonError('hot_store_failed', `the dashboard's real time failed: ${body?.error ?? why}`);
  }
  const split = (a: ActiveVisitors): ActiveVisitors => ({
    total: a.total,
    authenticated: a.authenticated ?? 0,
    anonymous: a.anonymous ?? a.total,
  });
  const found = scope ? body.scopes?.find((s) => s.scope === scope) : undefined;
  return {
    overall: split(body as ActiveVisitors),
    scoped: scope ? split(found ?? { total: 0, authenticated: 0, anonymous: 0 }) : null,
    windowMs: (body.windowMinutes ?? 5) * 60_000,
  };
}
