import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/memory/index.ts', 'src/adapter/index.ts', 'src/binding/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // Shared chunks in CommonJS too (ESM splits by default): without it each CJS entry inlines its own copy of
  // core, and `instanceof AnonError` fails for an error thrown by `@anon/core/memory` under `require`.
  splitting: true,
});
