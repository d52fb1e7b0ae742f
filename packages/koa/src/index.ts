import {
  BEACON_MAX_BYTES,
  type IdentifyKind,
  type RequestInfo,
  readNodeBody,
  type Tracker,
} from '@anon/core';
import type { Context, Middleware } from 'koa';

/** What the middleware adds to every request as `ctx.state.anon`. */
export interface AnonHandle {
  /**
   * This page view's id, for the page to hand to the browser beacon; allocated on first read, null if the
   * tracker could not allocate one.
   */
  readonly viewId: string | null;
  /** Link this visitor to `userId`: call it in the sign-up (`'signup'`) and login (`'login'`) handlers. Never rejects. */
  identify(userId: string, kind: IdentifyKind): Promise<void>;
}

declare module 'koa' {
  interface DefaultState {
    /** anon's handle for this request, set by `anonKoa`. */
    anon: AnonHandle;
  }
}

/** Options of `anonKoa`. Every hook is called once the response has finished, so auth middleware has run. */
export interface AnonKoaOptions {
  /** The signed-in user's id, or null/undefined for an anonymous visitor. @default every view anonymous */
  getUserId?(ctx: Context): string | null | undefined;
  /** A real-time scope this view counts in (e.g. `community:montreal`). @default none */
  scope?(ctx: Context): string | null | undefined;
  /** A page type the app names (`post`, `profile`, …). @default none */
  pageType?(ctx: Context): string | null | undefined;
  /** Where the browser beacon posts (answered by this middleware, never tracked). @default '/_anon/e' */
  beaconPath?: string;
}

/**
 * Koa 2/3 middleware: tracks every finished response through `tracker`, serves the beacon endpoint and sets
 * `ctx.state.anon`. Register it first (before any body parser: it reads the beacon body itself) and set
 * `app.proxy` to match your deployment: the IP used is `ctx.ip`. Route patterns come from `@koa/router`.
 *
 * @example
 * app.proxy = true; // behind a reverse proxy that sets X-Forwarded-For
 * app.use(anonKoa(tracker, { getUserId: (ctx) => ctx.state.user?.id }));
 */
export function anonKoa(tracker: Tracker, options: AnonKoaOptions = {}): Middleware {
  const beaconPath = options.beaconPath ?? '/_anon/e';
  return async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === beaconPath) {
      let status = 204;
      try {
        const body = await readNodeBody(ctx.req, BEACON_MAX_BYTES);
        status = body === null ? 413 : tracker.beacon(body, requestInfo(ctx, options, null)).status;
      } catch {
        // A failing tracker is the server's problem, not the browser's: never a 5xx.
      }
      ctx.status = status;
      return;
    }
    let viewId: string | null | undefined;
    ctx.state.anon = {
      get viewId() {
        if (viewId === undefined) viewId = attempt(() => tracker.newViewId());
        return viewId ?? null;
      },
      async identify(userId, kind) {
        try {
          await tracker.identify(requestInfo(ctx, options, viewId ?? null), userId, kind);
        } catch {
          // Analytics never breaks a sign-up or a login.
        }
      },
    };
    // 'finish' fires once the last byte is handed to the OS (after a streamed body ends); an aborted response
    // never finishes and is not a page view.
    ctx.res.once('finish', () => attempt(() => tracker.track(requestInfo(ctx, options, viewId ?? null))));
    await next();
  };
}

function requestInfo(ctx: Context, options: AnonKoaOptions, viewId: string | null): RequestInfo {
  return {
    method: ctx.method,
    url: ctx.originalUrl,
    headers: ctx.headers,
    ip: ctx.ip || null,
    // The status actually written (Koa's ctx.status can still say 404 for a body it never sent).
    status: ctx.res.statusCode,
    route: routeOf(ctx),
    userId: hook(options.getUserId, ctx),
    scope: hook(options.scope, ctx),
    pageType: hook(options.pageType, ctx),
    viewId,
  };
}

/** `@koa/router` (and koa-router) leave the matched layer's full path, prefixes included, on the context. */
function routeOf(ctx: Context): string | null {
  const path = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof path === 'string' && !path.includes('*') ? path : null;
}

function hook(fn: ((ctx: Context) => string | null | undefined) | undefined, ctx: Context): string | null {
  try {
    return fn?.(ctx) ?? null;
  } catch {
    return null;
  }
}

function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}
