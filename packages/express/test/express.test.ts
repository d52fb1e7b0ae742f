import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
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
import express from 'express';
import { anonExpress } from '../src/index.js';

// Express 4 is installed under an alias; its API is the part of Express 5's types used here.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

const starter =
  (express: typeof express4) =>
  async (tracker: Tracker, options: BindingAppOptions): Promise<RunningApp> => {
    const app = express();
    app.set('trust proxy', options.trustProxy);
    if (options.anon) {
      app.use(
        anonExpress(tracker, {
          getUserId: (req) => req.get(BINDING_USER_HEADER) ?? null,
          ...(options.beaconPath ? { beaconPath: options.beaconPath } : {}),
          ...(options.scriptPath !== undefined ? { scriptPath: options.scriptPath } : {}),
          ...(options.matchRoutes !== undefined ? { matchRoutes: options.matchRoutes } : {}),
        }),
      );
    }
    app.use(express.json(), express.urlencoded({ extended: false }));

    app.get('/', (_req, res) => {
      res.type('html').send(BINDING_PAGES.home);
    });
    // Before /posts/:id, which would answer /posts/new too: Express runs the first route that matches.
    app.get('/posts/new', (_req, res) => {
      res.type('html').send(BINDING_PAGES.newPost);
    });
    app.get('/posts/:id', (req, res) => {
      res.type('html').send(BINDING_PAGES.post(req.params.id));
    });
    const blog = express.Router();
    blog.get('/:slug', (req, res) => {
      res.type('html').send(BINDING_PAGES.blog(req.params.slug));
    });
    app.use('/blog', blog);
    app.get('/article', (req, res) => {
      res.type('html').send(BINDING_PAGES.article(req.anon?.viewId));
    });
    app.get('/private/page', (_req, res) => {
      res.type('html').send(BINDING_PAGES.home);
    });
    app.get('/assets/app.js', (_req, res) => {
      res.type('application/javascript').send(BINDING_PAGES.script);
    });
    app.post('/form', (_req, res) => {
      res.type('html').send(BINDING_PAGES.thanks);
    });
    app.get('/stream', async (_req, res) => {
      res.type('html');
      for await (const chunk of streamedPage()) res.write(chunk);
      res.end();
    });
    app.post('/signup', async (req, res) => {
      await req.anon?.identify(req.get(BINDING_SIGNUP_HEADER) ?? '', 'signup');
      res.type('html').send(BINDING_PAGES.welcome);
    });

    const server = app.listen(0, '127.0.0.1');
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

bindingContract('@anon/express on Express 5', starter(express));
bindingContract('@anon/express on Express 4', starter(express4));
