import {
  BEACON_MAX_BYTES,
  type IdentifyKind,
  type RequestInfo,
  readNodeBody,
  type Tracker,
} from '@anon/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** What the plugin adds to every request as `request.anon`. */
export interface AnonHandle {
  /**
   * This page view's id, for the page to hand to the browser beacon; allocated on first read, null if the
   * tracker could not allocate one.
   */
  readonly viewId: string | null;
  /** Link this visitor to `userId`: call it in the sign-up (`'signup'`) and login (`'login'`) handlers. Never rejects. */
  identify(userId: string, kind: IdentifyKind): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** anon's handle for this request, set by the `anonFastify` plugin. */
    anon: AnonHandle;
  }
}

/** Options of `anonFastify`. Every hook is called once the response has been sent, so auth hooks have run. */
export interface AnonFastifyOptions {
  /** The signed-in user's id, or null/undefined for an anonymous visitor. @default every view anonymous */
  getUserId?(request: FastifyRequest): string | null | undefined;
  /** A real-time scope this view counts in (e.g. `community:montreal`). @default none */
  scope?(request: FastifyRequest): string | null | undefined;
  /** A page type the app names (`post`, `profile`, …). @default none */
  pageType?(request: FastifyRequest): string | null | undefined;
  /** Where the browser beacon posts (a route this plugin adds, never tracked). @default '/_anon/e' */
  beaconPath?: string;
}

/**
 * Fastify 5 plugin: tracks every sent response through `tracker` (`onResponse`), adds the beacon route and
 * `request.anon`. It skips encapsulation (like fastify-plugin), so its hooks cover the whole app: register it
 * on the root instance. The IP used is `request.ip`: set Fastify's `trustProxy` to match your deployment.
 *
 * @example
 * const app = Fastify({ trustProxy: '10.0.0.0/8' }); // the addresses of your reverse proxies
 * await app.register(anonFastify(tracker, { getUserId: (request) => request.user?.id }));
 */
export function anonFastify(tracker: Tracker, options: AnonFastifyOptions = {}): FastifyPluginAsync {
  const beaconPath = options.beaconPath ?? '/_anon/e';
  // The view id of each request, once the app has read it (undefined: never read, so never allocated).
  const views = new WeakMap<FastifyRequest, { id: string | null | undefined }>();
  const plugin: FastifyPluginAsync = async (fastify) => {
    fastify.decorateRequest('anon', null as unknown as AnonHandle);

    fastify.addHook('onRequest', async (request, reply) => {
      const view: { id: string | null | undefined } = { id: undefined };
      views.set(request, view);
      request.anon = {
        get viewId() {
          if (view.id === undefined) view.id = attempt(() => tracker.newViewId());
          return view.id ?? null;
        },
        async identify(userId, kind) {
          try {
            await tracker.identify(requestInfo(request, reply, options, view.id ?? null), userId, kind);
          } catch {
            // Analytics never breaks a sign-up or a login.
          }
        },
      };
    });

    fastify.addHook('onResponse', async (request, reply) => {
      if (request.method === 'POST' && request.routeOptions.url === beaconPath) return;
      const viewId = views.get(request)?.id ?? null;
      attempt(() => tracker.track(requestInfo(request, reply, options, viewId)));
    });

    // The body is read in the route's own onRequest, before Fastify's content-type parsers can refuse or
    // consume it; the route handler is never reached.
    fastify.post(beaconPath, {
      onRequest: async (request, reply) => {
        let status = 204;
        try {
          const body = await readNodeBody(request.raw, BEACON_MAX_BYTES);
          status =
            body === null ? 413 : tracker.beacon(body, requestInfo(request, reply, options, null)).status;
        } catch {
          // A failing tracker is the server's problem, not the browser's: never a 5xx.
        }
        return reply.code(status).send();
      },
      handler: async (_request, reply) => reply.code(204).send(),
    });
  };
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@anon/fastify',
  });
  return plugin;
}

function requestInfo(
  request: FastifyRequest,
  reply: FastifyReply,
  options: AnonFastifyOptions,
  viewId: string | null,
): RequestInfo {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    ip: request.ip || null,
    status: reply.statusCode,
    route: routeOf(request),
    userId: hook(options.getUserId, request),
    scope: hook(options.scope, request),
    pageType: hook(options.pageType, request),
    viewId,
  };
}

/** The matched route's full URL pattern, prefixes included; a catch-all says nothing about the page. */
function routeOf(request: FastifyRequest): string | null {
  const url: unknown = request.routeOptions.url;
  return typeof url === 'string' && !url.includes('*') ? url : null;
}

function hook(
  fn: ((request: FastifyRequest) => string | null | undefined) | undefined,
  request: FastifyRequest,
): string | null {
  try {
    return fn?.(request) ?? null;
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
