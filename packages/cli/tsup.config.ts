import { defineConfig } from 'tsup';

// No sourcemaps: they were half of the installed CLI, and Node reads them only under --enable-source-maps. tsup
// builds every entry in every format, so there is a dist/bin.cjs that nothing runs: package.json `files` leaves it
// (and the bin's declarations) out of the package.
export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: false,
  target: 'es2022',
});
