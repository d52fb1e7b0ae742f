import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import root from '../vitest.config.js';

// The reliability suite: real servers, real faults. Files run one at a time, so the latency and event-loop
// figures of one scenario are not another scenario's load.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: root.resolve,
  test: {
    include: ['reliability/scenarios/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    execArgv: ['--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
