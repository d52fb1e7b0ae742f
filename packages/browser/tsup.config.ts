import { defineConfig } from 'tsup';

// The page script itself is built first by scripts/build-script.mjs (it needs a size check tsup has not).
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: false,
  sourcemap: true,
  target: 'es2022',
});
