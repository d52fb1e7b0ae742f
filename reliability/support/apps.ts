import { createServer, type Server } from 'node:http';
import type { Tracker } from '@anon/core';
import { anonExpress } from '@anon/express';
import { anonFastify } from '@anon/fastify';
import { express, fastify } from './deps.js';

export type Framework = 'express' | 'fastify';

/** A running app: its loopback port and how to stop it. */
export interface App {
  framework: Framework;
  port: number;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Trust X-Forwarded-For from loopback (a reverse proxy on this host). @default false */
  trustProxy?: boolean;
  /** Largest request head the server accepts (hostile user agents go up to 16,000 characters). @default 65_536 */
  maxHeaderSize?: number;
}

/** The page every route answers: it carries the view id, as an app hands it to the browser beacon. */
const page = (viewId: string | null): string =>
  `<!doctype html><html><body data-anon-view="${viewId ?? ''}">ok</body></html>`;

/** The view id a page carries (what the browser script would read). */
export function viewIdOf(html: string): string {
  const match = /data-anon-view="([^"]*)"/.exec(html);
  return match?.[1] ?? '';
}

/**
 * The app every scenario drives, on Express or Fastify with the real binding: `/`, `/article`, `/posts/:id`
 * (a route pattern) and `/p/*` (a catch-all, whose paths are the URL's own).
 */
export async function startApp(
  framework: Framework,
  tracker: Tracker,
  options: AppOptions = {},
): Promise<App> {
  const maxHeaderSize = options.maxHeaderSize ?? 65_536;
  if (framework === 'express') {
    const app = express();
    if (options.trustProxy === true) app.set('trust proxy', 'loopback');
    app.use(anonExpress(tracker));
    const html = (req: import('express').Request, res: import('express').Response) => {
      res.type('html').send(page(req.anon.viewId));
    };
    app.get('/', html);
    app.get('/article', html);
    app.get('/posts/:id', html);
    app.get('/p/*rest', html);
    const server = createServer({ maxHeaderSize }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { framework, port: portOf(server), close: () => closeServer(server) };
  }
  const app = fastify.fastify({
    trustProxy: options.trustProxy === true ? '127.0.0.1' : false,
    serverFactory: (handler) => createServer({ maxHeaderSize }, handler),
  });
  await app.register(anonFastify(tracker));
  const html = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) =>
    reply.type('text/html').send(page(request.anon.viewId));
  app.get('/', html);
  app.get('/article', html);
  app.get('/posts/:id', html);
  app.get('/p/*', html);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { framework, port: portOf(app.server), close: () => app.close() };
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
