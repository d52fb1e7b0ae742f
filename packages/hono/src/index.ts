import { SCRIPT_PATH, scriptResponse } from '@anon/browser';
import type { Tracker } from '@anon/core';
import {
  type AnonHandle,
  attempt,
  type BindingOptions,
  callHook,
  createBinding,
  readFetchBody,
} from '@anon/core/binding';
import type { Context, Hono, MiddlewareHandler } from 'hono';

export type { AnonHandle } from '@anon/core/binding';

/** The context variables `anonHono` sets: `new Hono<AnonEnv>()` types `c.get('anon')`. */
export type AnonEnv = { Variables: { anon: AnonHandle } };

/** Options of `anonHono`. `getUserId`, `scope`, `pageType` and `getIp` run once the handler has answered. */
export interface AnonHonoOptions extends BindingOptions<Context> {
  /**
   * The client IP. Hono has no trust-proxy setting: behind a proxy, read the header your proxy sets (and only
   * then). @default the socket address on `@hono/node-server`, else none (`getConnInfo(c).remote.address` on
   * other runtimes)
   */
  getIp?(c: Context): string | null | undefined;
  /**
   * The app the middleware is registered on: an SPA navigation is then counted under the pattern of the GET route
   * its path matches (`/posts/42` → `/posts/:id`, `app.route()` prefixes included), asked of the app's own router
   * as a page load is. A Hono context does not reach its app, hence this option. `matchRoutes: false` turns it off.
   * @default none: SPA navigations are counted under their path (or the tracker's `routes`)
   * @example app.use(anonHono(tracker, { app }))
   */
  app?: Pick<Hono, 'router'>;
}

/**
 * Hono 4 middleware for every runtime: tracks each response through `tracker`, serves the beacon endpoint and
 * sets `c.get('anon')`. On `@hono/node-server` a response is tracked once its last byte is sent (streams
 * included); elsewhere once the handler returns, kept alive with `executionCtx.waitUntil`.
 *
 * @example
 * const app = new Hono<AnonEnv>();
 * app.use(anonHono(tracker, { getUserId: (c) => c.get('user')?.id }));
 */
export function anonHono(tracker: Tracker, options: AnonHonoOptions = {}): MiddlewareHandler<AnonEnv> {
  const getIp = options.getIp ?? ((c: Context) => nodeEnv(c)?.incoming.socket?.remoteAddress);
  const request = (c: Context) => {
    // On @hono/node-server, read Node's own request: `c.req.raw` would build a full Fetch Request per view.
    const incoming = nodeEnv(c)?.incoming;
    return {
      method: incoming?.method ?? c.req.method,
      url: incoming?.url ?? c.req.url,
      headers: incoming?.headers ?? c.req.raw.headers,
      ip: callHook(getIp, c),
      // The route that answered (`routeIndex` points at its handler once `next()` has returned).
      route: attempt(() => c.req.routePath),
    };
  };
  const binding = createBinding({
    framework: 'hono',
    tracker,
    options,
    request,
    script: { path: SCRIPT_PATH, respond: scriptResponse },
    routeOf: options.app ? routeIn(options.app) : undefined,
  });
  return async (c, next) => {
    const endpoint = binding.endpoint(c.req.method, c.req.path);
    if (endpoint) {
      const answer = await binding.serve(endpoint, c, (max) => readFetchBody(c.req.raw, max));
      return new Response(answer.body ?? null, { status: answer.status, headers: answer.headers ?? {} });
    }
    const anon = binding.open(c);
    c.set('anon', anon);
    await next();
    const outgoing = nodeEnv(c)?.outgoing;
    if (outgoing) {
      outgoing.once('finish', () => binding.track(anon, outgoing.statusCode));
      return;
    }
    binding.track(anon, c.res.status);
    // Serverless runtimes stop once the response is out; keep the background recording alive. Reading
    // `executionCtx` throws where the runtime has none.
    const execution = attempt(() => c.executionCtx);
    if (execution) attempt(() => execution.waitUntil(tracker.flush().catch(() => undefined)));
  };
}

/**
 * The pattern a page load of a path would be tracked under: Hono runs the handlers matched for GET in registration
 * order, so the first GET route (not `use` or `all`, which match every method) is the one that answers.
 */
function routeIn(app: Pick<Hono, 'router'>) {
  return (path: string): string | null => {
    for (const [[, route]] of app.router.match('GET', path)[0]) if (route.method === 'GET') return route.path;
    return null;
  };
}

/** The Node request and response `@hono/node-server` passes as `c.env`, seen structurally (no Node import). */
interface NodeEnv {
  incoming: {
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
    socket?: { remoteAddress?: string };
  };
  outgoing: { statusCode: number; once(event: 'finish', listener: () => void): unknown };
}

function nodeEnv(c: Context): NodeEnv | null {
  const env = c.env as Partial<NodeEnv> | undefined;
  return typeof env?.incoming?.url === 'string' && typeof env.outgoing?.once === 'function'
    ? (env as NodeEnv)
    : null;
}
