import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
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
import Router from '@koa/router';
import Koa from 'koa';
import { anonKoa } from '../src/index.js';

// Koa 2 is installed under an alias; its API is the part of Koa 3's types used here.
const Koa2 = createRequire(import.meta.url)('koa2') as typeof Koa;

const starter =
  (Koa: typeof Koa2) =>
  async (tracker: Tracker, options: BindingAppOptions): Promise<RunningApp> => {
    const app = new Koa();
    app.proxy = options.trustProxy;
    const router = new Router();
    if (options.anon) {
      app.use(
        anonKoa(tracker, {
          router,
          getUserId: (ctx) => ctx.get(BINDING_USER_HEADER) || null,
          ...(options.beaconPath ? { beaconPath: options.beaconPath } : {}),
          ...(options.scriptPath !== undefined ? { scriptPath: options.scriptPath } : {}),
          ...(options.matchRoutes !== undefined ? { matchRoutes: options.matchRoutes } : {}),
        }),
      );
    }
    // Koa has no body parser of its own: this stands in for one, consuming every POST body after anon.
    app.use(async (ctx, next) => {
      if (ctx.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
        (ctx.request as { rawBody?: string }).rawBody = Buffer.concat(chunks).toString('utf8');
      }
      await next();
    });

    router.get('/', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.home;
    });
    // Before /posts/:id, which would answer /posts/new too: the first matching route's handler answers.
    router.get('/posts/new', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.newPost;
    });
    router.get('/posts/:id', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.post(ctx.params.id ?? '');
    });
    const blog = new Router();
    blog.get('/:slug', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.blog(ctx.params.slug ?? '');
    });
    router.use('/blog', blog.routes());
    router.get('/article', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.article(ctx.state.anon?.viewId);
    });
    router.get('/private/page', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.home;
    });
    router.get('/assets/app.js', (ctx) => {
      ctx.type = 'application/javascript';
      ctx.body = BINDING_PAGES.script;
    });
    router.post('/form', (ctx) => {
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.thanks;
    });
    router.get('/stream', (ctx) => {
      ctx.type = 'html';
      ctx.body = Readable.from(streamedPage());
    });
    router.post('/signup', async (ctx) => {
      await ctx.state.anon?.identify(ctx.get(BINDING_SIGNUP_HEADER), 'signup');
      ctx.type = 'html';
      ctx.body = BINDING_PAGES.welcome;
    });
    app.use(router.routes());

    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  };

bindingContract('@anon/koa on Koa 3', starter(Koa));
bindingContract('@anon/koa on Koa 2', starter(Koa2));
