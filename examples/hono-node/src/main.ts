import { mkdir } from 'node:fs/promises';
import { start } from './app.js';

// `pnpm start`: the database lives in .data/pglite next to this example (ANON_PGLITE_DIR to move it).
const pgliteDir = process.env.ANON_PGLITE_DIR ?? '.data/pglite';
await mkdir(pgliteDir, { recursive: true });
const running = await start({ port: Number(process.env.PORT ?? 3000), pgliteDir });
console.log(`hono-node: open ${running.url}/ and browse, then ${running.url}/stats (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log('hono-node: stopping, writing what is still queued');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
