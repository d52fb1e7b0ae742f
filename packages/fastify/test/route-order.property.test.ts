import { createRouteTable } from '@anon/core/binding';
import fc from 'fast-check';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

// Segments: two static values and one parameter per depth (a shared name, as Fastify requires at one place).
const segment = (depth: number) => fc.constantFrom('a', 'b', `:p${depth}`);
const pattern = fc
  .integer({ min: 1, max: 3 })
  .chain((length) => fc.tuple(...Array.from({ length }, (_, depth) => segment(depth))))
  .map((segments) => `/${segments.join('/')}`);
const path = fc
  .array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 })
  .map((parts) => `/${parts.join('/')}`);

describe('the route table @anon/fastify matches SPA navigations with', () => {
  it('answers the pattern Fastify routes a GET of the path to, whatever the registration order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(pattern, { minLength: 1, maxLength: 8 }),
        fc.array(path, { minLength: 1, maxLength: 6 }),
        async (patterns, paths) => {
          const app = Fastify();
          const routes = createRouteTable();
          for (const url of patterns) {
            app.get(url, async (request) => request.routeOptions.url);
            routes.add(url);
          }
          try {
            for (const target of paths) {
              const res = await app.inject({ method: 'GET', url: target });
              expect(routes.match(target), target).toBe(res.statusCode === 200 ? res.body : null);
            }
          } finally {
            await app.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('ignores catch-alls and patterns that are no paths', () => {
    const routes = createRouteTable();
    for (const url of ['*', '/docs/*', '', 'posts/:id', '/posts/:id']) routes.add(url);
    expect(routes.match('/docs/intro')).toBeNull();
    expect(routes.match('/posts/7')).toBe('/posts/:id');
    expect(routes.match('/posts')).toBeNull();
  });
});
