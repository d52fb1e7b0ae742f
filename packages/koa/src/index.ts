import { SCRIPT_PATH, scriptResponse } from '@anon/browser';
import { AnonError, type Tracker } from '@anon/core';
import { type AnonHandle, type BindingOptions, createBinding, readNodeBody } from '@anon/core/binding';
import type { Context, Middleware } from 'koa';

export type { AnonHandle } from '@anon/core/binding';

declare module 'koa' {
  interface DefaultState {
    /** anon's handle for this request, set by `anonKoa`. */
    anon: AnonHandle;
  }
}

/** The part of an `@koa/router` (or koa-router) `Router` the binding matches paths with. */
export interface KoaRouterLike {
  match(
    path: string,
    method: string,
  ): { pathAndMethod: readonly { path: string | RegExp; methods: readonly string[] }[] };
}

/** Options of `anonKoa`. Every hook is called once the response has finished, so auth middleware has run. */
export interface AnonKoaOptions extends BindingOptions<Context> {
  /**
   * The app's `@koa/router` (or koa-router) routers, in the order the app uses them: an SPA navigation is counted
   * under the pattern of the first GET route its path matches (`/posts/42` → `/posts/:id`), nested prefixes
   * included, as a page load is. Koa has no router of its own to ask. `matchRoutes: false` turns it off.
   * @default none: SPA navigations are counted under their path (or the tracker's `routes`)
   */
  router?: KoaRouterLike | readonly KoaRouterLike[];
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
  const routers = options.router === undefined ? [] : [options.router].flat();
  if (!routers.every((router) => typeof router?.match === 'function')) {
    throw new AnonError('invalid_config', 'router must be an @koa/router Router, or an array of them', {
      source: 'koa',
    });
  }
  const binding = createBinding({
    framework: 'koa',
    script: { path: SCRIPT_PATH, respond: scriptResponse },
    tracker,
    options,
    request: (ctx: Context) => ({
      method: ctx.method,
      url: ctx.originalUrl,
      headers: ctx.headers,
      ip: ctx.ip || null,
      // @koa/router (and koa-router) leave the matched layer's full path, prefixes included, on the context.
      route: (ctx as { _matchedRoute?: string })._matchedRoute,
    }),
    routeOf: routers.length > 0 ? routeIn(routers) : undefined,
  });
  return async (ctx, next) => {
    const endpoint = binding.endpoint(ctx.method, ctx.path);
    if (endpoint) {
      const answer = await binding.serve(endpoint, ctx, (maxBytes) => readNodeBody(ctx.req, maxBytes));
      ctx.status = answer.status;
      // Headers first: Koa guesses a Content-Type for a string body only when none is set.
      if (answer.headers) ctx.set(answer.headers);
      if (answer.body !== undefined) ctx.body = answer.body;
      return;
    }
    const anon = binding.open(ctx);
    ctx.state.anon = anon;
    // 'finish' fires once the last byte is handed to the OS (after a streamed body ends); an aborted response
    // never finishes and is not a page view. The status is the one written (Koa's ctx.status can still say
    // 404 for a body it never sent).
    ctx.res.once('finish', () => binding.track(anon, ctx.res.statusCode));
    await next();
  };
}

/**
 * The pattern a page load of a path would be tracked under: the first route (a layer with methods; `use`
 * middleware has none) that matches it for GET, in the first router that has one, as `@koa/router` answers it.
 */
function routeIn(routers: readonly KoaRouterLike[]) {
  return (path: string): string | null => {
    for (const router of routers) {
      const layer = router.match(path, 'GET').pathAndMethod.find((layer) => layer.methods.length > 0);
      if (layer) return typeof layer.path === 'string' ? layer.path : null;
    }
    return null;
  };
}
