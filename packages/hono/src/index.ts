import { BEACON_MAX_BYTES, type IdentifyKind, type RequestInfo, type Tracker } from '@anon/core';
import type { Context, MiddlewareHandler } from 'hono';
import { readBody } from './read-body.js';

/** What the middleware adds to every request as `c.get('anon')`. */
export interface AnonHandle {
  /**
   * This page view's id, for the page to hand to the browser beacon; allocated on first read, null if the
   * tracker could not allocate one.
   */
  readonly viewId: string | null;
  /** Link this visitor to `userId`: call it in the sign-up (`'signup'`) and login (`'login'`) handlers. Never rejects. */
  identify(userId: string, kind: IdentifyKind): Promise<void>;
}

/** The context variables `anonHono` sets: `new Hono<AnonEnv>()` types `c.get('anon')`. */
export type AnonEnv = { Variables: { anon: AnonHandle } };

/** Options of `anonHono`. `getUserId`, `scope` and `pageType` run once the handler has answered. */
export interface AnonHonoOptions {
  /** The signed-in user's id, or null/undefined for an anonymous visitor. @default every view anonymous */
  getUserId?(c: Context): string | null | undefined;
  /** A real-time scope this view counts in (e.g. `community:montreal`). @default none */
  scope?(c: Context): string | null | undefined;
  /** A page type the app names (`post`, `profile`, …). @default none */
  pageType?(c: Context): string | null | undefined;
  /**
   * The client IP. Hono has no trust-proxy setting: behind a proxy, read the header your proxy sets (and only
   * then). @default the socket address on `@hono/node-server`, else none (`getConnInfo(c).remote.address` on
   * other runtimes)
   */
  getIp?(c: Context): string | null | undefined;
  /** Where the browser beacon posts (answered by this middleware, never tracked). @default '/_anon/e' */
  beaconPath?: string;
}

/** The `ServerResponse` `@hono/node-server` passes as `c.env.outgoing`, seen structurally (no Node import). */
interface NodeOutgoing {
  statusCode: number;
  once(event: 'finish', listener: () => void): unknown;
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
  const beaconPath = options.beaconPath ?? '/_anon/e';
  return async (c, next) => {
    if (c.req.method === 'POST' && c.req.path === beaconPath) {
      let status: 204 | 400 | 413 = 204;
      try {
        const body = await readBody(c.req.raw, BEACON_MAX_BYTES);
        status = body === null ? 413 : tracker.beacon(body, requestInfo(c, 204, null, null, options)).status;
      } catch {
        // A failing tracker is the server's problem, not the browser's: never a 5xx.
      }
      return c.body(null, status);
    }
    let viewId: string | null | undefined;
    c.set('anon', {
      get viewId() {
        if (viewId === undefined) viewId = attempt(() => tracker.newViewId());
        return viewId ?? null;
      },
      async identify(userId, kind) {
        try {
          await tracker.identify(requestInfo(c, 200, null, viewId ?? null, options), userId, kind);
        } catch {
          // Analytics never breaks a sign-up or a login.
        }
      },
    });
    await next();
    // The route is known only now: `routeIndex` points at the handler that answered.
    const route = attempt(routeOf.bind(null, c));
    const outgoing = nodeOutgoing(c);
    if (outgoing) {
      outgoing.once('finish', () =>
        attempt(() => tracker.track(requestInfo(c, outgoing.statusCode, route, viewId ?? null, options))),
      );
      return;
    }
    attempt(() => tracker.track(requestInfo(c, c.res.status, route, viewId ?? null, options)));
    // Serverless runtimes stop once the response is out; keep the background recording alive. Reading
    // `executionCtx` throws where the runtime has none.
    const execution = attempt(() => c.executionCtx);
    if (execution) attempt(() => execution.waitUntil(tracker.flush().catch(() => undefined)));
  };
}

function requestInfo(
  c: Context,
  status: number,
  route: string | null,
  viewId: string | null,
  options: AnonHonoOptions,
): RequestInfo {
  // On @hono/node-server, read Node's own request: `c.req.raw` would build a full Fetch Request per view.
  const incoming = nodeIncoming(c);
  return {
    method: incoming?.method ?? c.req.method,
    url: incoming?.url ?? c.req.url,
    headers: incoming?.headers ?? c.req.raw.headers,
    ip: hook(options.getIp ?? nodeSocketIp, c),
    status,
    route,
    userId: hook(options.getUserId, c),
    scope: hook(options.scope, c),
    pageType: hook(options.pageType, c),
    viewId,
  };
}

/** The pattern of the route that answered (`/posts/:id`, mounted prefixes included); not a catch-all. */
function routeOf(c: Context): string | null {
  const path: unknown = c.req.routePath;
  return typeof path === 'string' && path !== '' && !path.includes('*') ? path : null;
}

function nodeOutgoing(c: Context): NodeOutgoing | null {
  const outgoing = (c.env as { outgoing?: Partial<NodeOutgoing> } | undefined)?.outgoing;
  return typeof outgoing?.once === 'function' && typeof outgoing.statusCode === 'number'
    ? (outgoing as NodeOutgoing)
    : null;
}

/** The Node `IncomingMessage` `@hono/node-server` passes as `c.env.incoming`, seen structurally. */
interface NodeIncoming {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

function nodeIncoming(c: Context): NodeIncoming | null {
  const incoming = (c.env as { incoming?: Partial<NodeIncoming> } | undefined)?.incoming;
  return typeof incoming?.url === 'string' &&
    typeof incoming.method === 'string' &&
    typeof incoming.headers === 'object'
    ? (incoming as NodeIncoming)
    : null;
}

function nodeSocketIp(c: Context): string | null {
  return (
    (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket
      ?.remoteAddress ?? null
  );
}

function hook(fn: ((c: Context) => string | null | undefined) | undefined, c: Context): string | null {
  try {
    return fn?.(c) ?? null;
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
