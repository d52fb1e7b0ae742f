import { SCRIPT_PATH, scriptResponse } from '@anon/browser';
import type { Tracker } from '@anon/core';
import {
  type AnonHandle,
  type BindingOptions,
  createBinding,
  createRouteTable,
  readNodeBody,
} from '@anon/core/binding';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';

export type { AnonHandle } from '@anon/core/binding';

declare module 'fastify' {
  interface FastifyRequest {
    /** anon's handle for this request, set by the `anonFastify` plugin. */
    anon: AnonHandle;
  }
}

/**
 * Options of `anonFastify`. Every hook is called once the response has been sent, so auth hooks have run. SPA
 * navigations are counted under the pattern of the GET route their path matches (`matchRoutes: false` to turn
 * it off), among the routes registered after the plugin, static segments first as Fastify's router does.
 */
export type AnonFastifyOptions = BindingOptions<FastifyRequest>;

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
  const routes = createRouteTable();
  const binding = createBinding({
    framework: 'fastify',
    script: { path: SCRIPT_PATH, respond: scriptResponse },
    tracker,
    options,
    request: (request: FastifyRequest) => ({
      method: request.method,
      url: request.url,
      headers: request.headers,
      ip: request.ip || null,
      // The matched route's full URL pattern, prefixes included.
      route: request.routeOptions.url,
    }),
    routeOf: (path) => routes.match(path),
  });
  const plugin: FastifyPluginAsync = async (fastify) => {
    fastify.decorateRequest('anon', null as unknown as AnonHandle);
    fastify.addHook('onRequest', async (request) => {
      request.anon = binding.open(request);
    });
    fastify.addHook('onResponse', async (request, reply) => {
      if (binding.endpoint(request.method, request.routeOptions.url ?? '') === null) {
        binding.track(request.anon, reply.statusCode);
      }
    });
    for (const endpoint of binding.endpoints) {
      // Answered in the route's own onRequest, before Fastify's content-type parsers can refuse or consume
      // the body; the handler is never reached.
      fastify.route({
        method: endpoint.method,
        url: endpoint.path,
        onRequest: async (request, reply) => {
          const answer = await binding.serve(endpoint, request, (max) => readNodeBody(request.raw, max));
          return reply
            .code(answer.status)
            .headers(answer.headers ?? {})
            .send(answer.body);
        },
        handler: async (_request, reply) => reply.code(204).send(),
      });
    }
    // Added after the endpoints: the app's routes only, as Fastify registers them (prefixes included).
    fastify.addHook('onRoute', (route) => {
      if ([route.method].flat().includes('GET')) routes.add(route.url);
    });
  };
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@anon/fastify',
  });
  return plugin;
}
