import { settingsFromEnv } from './config.js';
import { startServer } from './server.js';

// One app instance: `pnpm server` (PORT=3001 pnpm server for a second one).
const running = await startServer(settingsFromEnv(), Number(process.env.PORT ?? 3000));
console.log(`server: listening on ${running.url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
