import type { DashboardContext } from './authorize.js';

/** The part of Node's `IncomingMessage` the adapter reads, described structurally (no Node import). */
export interface NodeRequestLike {
  method?: string | undefined;
  url?: string | undefined;
  /** Express keeps the full path here when the handler is mounted under a prefix (`app.use('/x', h)`). */
  originalUrl?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string | undefined } | null;
}

/** The part of Node's `ServerResponse` the adapter writes. */
export interface NodeResponseLike {
  statusCode: number;
  headersSent?: boolean;
  setHeader(name: string, value: string | string[]): unknown;
  end(chunk?: Uint8Array | string): unknown;
}

/** The dashboard as `createDashboard` returns it. */
export type DashboardHandler = (request: Request, context?: DashboardContext) => Promise<Response>;

/** A Node-style handler; the promise settles once the response is written (Koa awaits it). */
export type NodeDashboardHandler = (req: NodeRequestLike, res: NodeResponseLike) => Promise<void>;

/**
 * Adapt the Fetch handler to Node's `(req, res)`: for `http.createServer`, Express (`app.use`), Koa (with
 * `ctx.respond = false`) and Fastify (`reply.hijack()`, then `request.raw`, `reply.raw`). The connection's
 * peer address goes to `authorize` as `context.remoteAddress`. Only the method, path, query and headers are
 * passed on: the dashboard reads no request body.
 *
 * @example
 * app.use('/_anon/dashboard', toNodeHandler(createDashboard({ store, basePath: '/_anon/dashboard' })));
 */
export function toNodeHandler(handler: DashboardHandler): NodeDashboardHandler {
  return async (req, res) => {
    let response: Response;
    try {
      const target = req.originalUrl ?? req.url ?? '/';
      // The host header is the client's to choose; only the path and query matter, so the origin is fixed.
      const url = new URL(target.startsWith('/') ? target : `/${target}`, 'http://localhost');
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || name.startsWith(':')) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const request = new Request(url, { method: req.method ?? 'GET', headers });
      response = await handler(request, { remoteAddress: req.socket?.remoteAddress ?? null });
    } catch {
      response = new Response('dashboard failed\n', {
        status: 500,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    }
    if (res.headersSent) return;
    res.statusCode = response.status;
    response.headers.forEach((value, name) => {
      res.setHeader(name, value);
    });
    res.end(new Uint8Array(await response.arrayBuffer()));
  };
}
