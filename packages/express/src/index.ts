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

/** Options of `anonExpress`. Every hook is called once the response has finished, so auth middleware has run. */
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

/** The beacon body: what a body parser registered before us already parsed, else the raw stream. */
function bodyOf(req: Request, maxBytes: number): Promise<unknown> {
  const consumed = (req as { _body?: boolean })._body === true || req.readableEnded;
  return consumed ? Promise.resolve(req.body) : readNodeBody(req, maxBytes);
}
