import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BEACON_MAX_BYTES,
  createTracker,
  DEFAULT_CONFIG,
  dayOf,
  type RequestInfo,
  type Store,
  type Tracker,
} from '@anon/core';
import {
  demoUser,
  homePage,
  newUserId,
  postPage,
  signupPage,
  statsPage,
  USER_COOKIE,
  welcomePage,
} from '../../site.js';
import { arrayStore } from './array-store.js';
import { createTables, type Tables } from './tables.js';

/** Where the example listens and what it stores into. */
export interface StartOptions {
  /** Port to listen on; 0 picks a free one. @default 3000 */
  port?: number;
  /** The array store's tables (e.g. loaded from a file). @default empty tables */
  tables?: Tables;
}

/** The running example. */
export interface RunningExample {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  tracker: Tracker;
  store: Store;
  tables: Tables;
  /** Stops the server and writes what is still queued into the tables. */
  close(): Promise<void>;
}

/**
 * A plain `node:http` server tracked through `@anon/core` alone, storing into the example's own
 * `arrayStore`. With no framework, this file does the binding's job by hand (see `requestInfo`).
 */
export async function start(options: StartOptions = {}): Promise<RunningExample> {
  const tables = options.tables ?? createTables();
  const store = arrayStore(tables);
  // The store has `claimDailyJob`, so the tracker's worker purges once a day: anonymous sessions older than
  // `retentionDays` (90 by default) leave the tables, and their figures stay in the rollups.
  const tracker = createTracker({ store, excludePaths: [...DEFAULT_CONFIG.excludePaths, '/stats'] });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end('internal error');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const user = demoUser(req.headers.cookie);
    if (req.method === 'POST' && path === '/_anon/e') {
      // The beacon: never tracked, never a 5xx.
      const body = await readBody(req, BEACON_MAX_BYTES);
      const status = body === null ? 413 : tracker.beacon(body, requestInfo(req, res, null, null)).status;
      res.writeHead(status).end();
      return;
    }
    // A view id for the page to hand to the beacon, and the route pattern the page is counted under.
    const viewId = tracker.newViewId();
    const route = path.startsWith('/posts/') ? '/posts/:id' : null;
    // Tracked once the response is finished, so the status is known; an aborted response is not a view.
    res.once('finish', () => tracker.track(requestInfo(req, res, route, viewId)));

    if (req.method === 'POST' && path === '/signup') {
      const userId = newUserId();
      // Links this visitor's anonymous sessions to the new account: the conversion shows in the reports.
      await tracker.identify(requestInfo(req, res, null, viewId), userId, 'signup');
      res.writeHead(303, {
        location: '/welcome',
        'set-cookie': `${USER_COOKIE}=${userId}; Path=/; HttpOnly; SameSite=Lax`,
      });
      res.end();
      return;
    }
    let page: string | null = null;
    if (path === '/') page = homePage(viewId, user);
    else if (route === '/posts/:id') page = postPage(path.slice('/posts/'.length), viewId, user);
    else if (path === '/signup') page = signupPage(viewId, user);
    else if (path === '/welcome') page = welcomePage(viewId, user);
    else if (path === '/stats') {
      const day = dayOf(Date.now(), tracker.config.timeZone);
      const q = { from: day, to: day, limit: 20 };
      const [top, sessions, conversions, active] = await Promise.all([
        store.topPages(q),
        store.sessions(q),
        store.conversions(q),
        tracker.activeVisitors(),
      ]);
      page = statsPage({ day, top, sessions, signups: conversions.signups, active });
    }
    if (page === null) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  }

  /** What a framework binding would report: the request as received, the status sent, the demo user. */
  function requestInfo(
    req: IncomingMessage,
    res: ServerResponse,
    route: string | null,
    viewId: string | null,
  ): RequestInfo {
    return {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      // The socket's address: behind a reverse proxy, use the address your proxy reports instead.
      ip: req.socket.remoteAddress ?? null,
      status: res.statusCode,
      route,
      userId: demoUser(req.headers.cookie),
      viewId,
    };
  }

  server.listen(options.port ?? 3000);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tracker,
    store,
    tables,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await tracker.close();
    },
  };
}

/** The request body as text, or null past `limit` bytes (the beacon answers 413). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
