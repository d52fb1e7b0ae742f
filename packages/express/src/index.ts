import { SCRIPT_PATH, scriptResponse } from '@anon/browser';
import type { Tracker } from '@anon/core';
import { type AnonHandle, type BindingOptions, createBinding, readNodeBody } from '@anon/core/binding';
import type { Request, RequestHandler } from 'express';

export type { AnonHandle } from '@anon/core/binding';

declare global {
  namespace Express {
    interface Request {
      /** anon's handle for this request, set by `anonExpress`. */
      anon: AnonHandle;
    }
  }
}

/**
 * Options of `anonExpress`. Every hook is called once the response has finished, so auth middleware has run.
 * SPA navigations are counted under the pattern of the app route their path matches (`matchRoutes: false` to
 * turn it off): the routes and mounted routers of the app the middleware runs in, in stack order, as Express
 * matches them.
 */
export type AnonExpressOptions = BindingOptions<Request>;

/**
 * Express 4/5 middleware: tracks every finished response through `tracker`, serves the beacon endpoint and
 * sets `req.anon`. Register it before any body parser (it reads the beacon body itself) and set Express's
 * `trust proxy` to match your deployment: the IP used is `req.ip`.
 *
 * @example
 * app.set('trust proxy', 1); // one reverse proxy in front
 * app.use(anonExpress(tracker, { getUserId: (req) => req.user?.id }));
 */
export function anonExpress(tracker: Tracker, options: AnonExpressOptions = {}): RequestHandler {
  const binding = createBinding({
    framework: 'express',
    script: { path: SCRIPT_PATH, respond: scriptResponse },
    tracker,
    options,
    request: (req: Request) => ({
      method: req.method,
      // Mounted routers rewrite req.url; originalUrl is what the browser asked for.
      url: req.originalUrl,
      headers: req.headers,
      ip: req.ip,
      // The mount point + the matched route's path (a RegExp route's path is no pattern).
      route: typeof req.route?.path === 'string' ? req.baseUrl + req.route.path : null,
    }),
    routeOf: (path, req) => routeIn(stackOf(req.app), path, ''),
  });
  return (req, res, next) => {
    const endpoint = binding.endpoint(req.method, req.originalUrl);
    if (endpoint) {
      void binding
        .serve(endpoint, req, (maxBytes) => bodyOf(req, maxBytes))
        .then((answer) =>
          res
            .status(answer.status)
            .set(answer.headers ?? {})
            .end(answer.body),
        )
        .catch(next);
      return;
    }
    const anon = binding.open(req);
    req.anon = anon;
    // 'finish' fires once the last byte is handed to the OS (after a stream ends); an aborted response never
    // finishes and is not a page view.
    res.once('finish', () => binding.track(anon, res.statusCode));
    next();
  };
}

/** An entry of an Express router's stack (Express 4's and the `router` package's of Express 5), structurally. */
interface Layer {
  /** Express 4 and router < 2.3 answer a boolean and leave the matched part on `layer.path`; 2.3 answers it. */
  match(path: string): boolean | { path: string };
  path?: string;
  route?: { path: unknown; methods: Record<string, boolean | undefined> };
  handle?: { stack?: unknown };
}

/** The app's router stack: Express 5's `app.router`, Express 4's `app._router` (where `app.router` throws). */
function stackOf(app: unknown): readonly Layer[] {
  const express = app as { _router?: { stack?: Layer[] }; router?: { stack?: Layer[] } };
  return (express._router ?? express.router)?.stack ?? [];
}

/**
 * The pattern Express would report for a GET of `path`: the first route in stack order that matches it and takes
 * GET, under the prefixes of the routers it is mounted in (as `req.baseUrl + req.route.path`). undefined when no
 * route matches, null when the matching route has no string pattern (or the path cannot be decoded).
 */
function routeIn(stack: readonly Layer[], path: string, base: string): string | null | undefined {
  for (const layer of stack) {
    let match: ReturnType<Layer['match']>;
    try {
      match = layer.match(path);
    } catch {
      return null; // a malformed escape: Express answers it with an error, not a page
    }
    if (!match) continue;
    const { route } = layer;
    if (route) {
      if (route.methods.get || route.methods._all)
        return typeof route.path === 'string' ? base + route.path : null;
      continue;
    }
    const inner = layer.handle?.stack;
    const matched = typeof match === 'object' ? match.path : layer.path;
    if (!Array.isArray(inner) || typeof matched !== 'string') continue;
    // A mounted router sees the rest of the path, and its routes are reported under the part it consumed.
    const rest = path.slice(matched.length);
    if (rest !== '' && !rest.startsWith('/')) continue;
    const found = routeIn(inner, rest || '/', base + matched.replace(/\/$/, ''));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The beacon body: what a body parser registered before us already parsed, else the raw stream. */
function bodyOf(req: Request, maxBytes: number): Promise<unknown> {
  const consumed = (req as { _body?: boolean })._body === true || req.readableEnded;
  return consumed ? Promise.resolve(req.body) : readNodeBody(req, maxBytes);
}
