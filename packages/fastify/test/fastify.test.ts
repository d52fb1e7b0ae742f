import { Readable } from 'node:stream';
import type { Tracker } from '@anon/core';
import {
  BINDING_PAGES,
  BINDING_SIGNUP_HEADER,
  BINDING_USER_HEADER,
  type BindingAppOptions,
  bindingContract,
  type RunningApp,
  streamedPage,
} from '@anon/testing';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { anonFastify } from '../src/index.js';

const header = (value: string | string[] | undefined) => (typeof value === 'string' ? value : null);

async function start(tracker: Tracker, options: BindingAppOptions): Promise<RunningApp> {
  const app = Fastify({ trustProxy: options.trustProxy });
  if (options.anon) {
    await app.register(
      anonFastify(tracker, {
        getUserId: (request) => header(request.headers[BINDING_USER_HEADER]),
        ...(options.beaconPath ? { beaconPath: options.beaconPath } : {}),
        ...(options.scriptPath !== undefined ? { scriptPath: options.scriptPath } : {}),
        ...(options.matchRoutes !== undefined ? { matchRoutes: options.matchRoutes } : {}),
      }),
    );
  }
  // Fastify's own JSON parser stays on; this adds one for forms, as an app would.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );

  app.get('/', (_request, reply) => reply.type('text/html').send(BINDING_PAGES.home));
  app.get<{ Params: { id: string } }>('/posts/:id', (request, reply) =>
    reply.type('text/html').send(BINDING_PAGES.post(request.params.id)),
  );
  // After /posts/:id on purpose: Fastify's router ranks a static segment first whatever the order.
  app.get('/posts/new', (_request, reply) => reply.type('text/html').send(BINDING_PAGES.newPost));
  const blog: FastifyPluginAsync = async (instance) => {
    instance.get<{ Params: { slug: string } }>('/:slug', (request, reply) =>
      reply.type('text/html').send(BINDING_PAGES.blog(request.params.slug)),
    );
  };
  await app.register(blog, { prefix: '/blog' });
  app.get('/article', (request, reply) =>
    reply.type('text/html').send(BINDING_PAGES.article(request.anon?.viewId)),
  );
  app.get('/private/page', (_request, reply) => reply.type('text/html').send(BINDING_PAGES.home));
  app.get('/assets/app.js', (_request, reply) =>
    reply.type('application/javascript').send(BINDING_PAGES.script),
  );
  app.post('/form', (_request, reply) => reply.type('text/html').send(BINDING_PAGES.thanks));
  app.get('/stream', (_request, reply) => reply.type('text/html').send(Readable.from(streamedPage())));
  app.post('/signup', async (request, reply) => {
    await request.anon?.identify(header(request.headers[BINDING_SIGNUP_HEADER]) ?? '', 'signup');
    return reply.type('text/html').send(BINDING_PAGES.welcome);
  });

  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

bindingContract('@anon/fastify', start);
