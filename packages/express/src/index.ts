import {
  BEACON_MAX_BYTES,
  type IdentifyKind,
  type RequestInfo,
  readNodeBody,
  type Tracker,
} from '@anon/core';
import type { Request, RequestHandler, Response } from 'express';

/** What the middleware adds to every request as `req.anon`. */
export interface AnonHandle {
  /**
   * This page view's id, for the page to hand to the browser beacon; allocated on first read, null if the
   * tracker could not allocate one.
   */
  readonly viewId: string | null;
  /** Link this visitor to `userId`: call it in the sign-up (`'signup'`) and login (`'login'`) handlers. Never rejects. */
  identify(userId: string, kind: IdentifyKind): Promise<void>;
}

declare global {
  namespace Express {
    interface Request {
      /** anon's handle for this request, set by `anonExpress`. */
      anon: AnonHandle;
    }
  }
}

/** Options of `anonExpress`. Every hook is called once the response has finished, so auth middleware has run. */
export interface AnonExpressOptions {
  /** The signed-in user's id, or null/undefined for an anonymous visitor. @default every view anonymous */
  getUserId?(req: Request): string | null | undefined;
  /** A real-time scope this view counts in (e.g. `community:montreal`). @default none */
  scope?(req: Request): string | null | undefined;
  /** A page type the app names (`post`, `profile`, …). @default none */
  pageType?(req: Request): string | null | undefined;
  /** Where the browser beacon posts (answered by this middleware, never tracked). @default '/_anon/e' */
  beaconPath?: string;
}

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
  const beaconPath = options.beaconPath ?? '/_anon/e';
  return (req, res, next) => {
    if (req.method === 'POST' && req.originalUrl.split('?')[0] === beaconPath) {
      void serveBeacon(tracker, req, res, requestInfo(req, res, options, null));
      return;
    }
    let viewId: string | null | undefined;
    req.anon = {
      get viewId() {
        if (viewId === undefined) viewId = attempt(() => tracker.newViewId());
        return viewId ?? null;
      },
      async identify(userId, kind) {
        try {
          await tracker.identify(requestInfo(req, res, options, viewId ?? null), userId, kind);
        } catch {
          // Analytics never breaks a sign-up or a login.
        }
      },
    };
    // 'finish' fires once the last byte is handed to the OS (after a stream ends); an aborted response never
    // finishes and is not a page view.
    res.once('finish', () => attempt(() => tracker.track(requestInfo(req, res, options, viewId ?? null))));
    next();
  };
}

async function serveBeacon(tracker: Tracker, req: Request, res: Response, info: RequestInfo): Promise<void> {
  let status = 204;
  try {
    // A body parser registered before us has consumed the stream; take what it parsed.
    const consumed = (req as unknown as { _body?: boolean })._body === true || req.readableEnded;
    const body = consumed ? req.body : await readNodeBody(req, BEACON_MAX_BYTES);
    status = body === null ? 413 : tracker.beacon(body, info).status;
  } catch {
    // A failing tracker is the server's problem, not the browser's: never a 5xx.
  }
  res.status(status).end();
}

function requestInfo(
  req: Request,
  res: Response,
  options: AnonExpressOptions,
  viewId: string | null,
): RequestInfo {
  return {
    method: req.method,
    // Mounted routers rewrite req.url; originalUrl is what the browser asked for.
    url: req.originalUrl,
    headers: req.headers,
    ip: req.ip ?? null,
    status: res.statusCode,
    route: routeOf(req),
    userId: hook(options.getUserId, req),
    scope: hook(options.scope, req),
    pageType: hook(options.pageType, req),
    viewId,
  };
}

/** `req.baseUrl` + the matched route's string path; a catch-all or RegExp route says nothing about the page. */
function routeOf(req: Request): string | null {
  const path: unknown = req.route?.path;
  return typeof path === 'string' && !path.includes('*') ? req.baseUrl + path : null;
}

function hook(fn: ((req: Request) => string | null | undefined) | undefined, req: Request): string | null {
  try {
    return fn?.(req) ?? null;
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
