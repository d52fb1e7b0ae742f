import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests run on the TypeScript sources: no build is needed before `pnpm test`.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@anon\/core\/(memory|adapter|binding)$/, replacement: src('core/src/$1/index.ts') },
      {
        find: /^@anon\/(core|testing|redis|postgres|mongo|express|koa|fastify|hono|cli|browser|dashboard)$/,
        replacement: src('$1/src/index.ts'),
      },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['packages/core/src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 90 },
    },
  },
});
