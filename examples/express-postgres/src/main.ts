import { start } from './app.js';

// `pnpm start`: settings from the environment, the same variables the anon CLI reads.
const running = await start({
  port: Number(process.env.PORT ?? 3000),
  redisUrl: process.env.ANON_REDIS_URL,
  pgUrl: process.env.ANON_PG_URL,
  schema: process.env.ANON_PG_SCHEMA,
  redisPrefix: process.env.ANON_REDIS_PREFIX,
});
console.log(`express-postgres: open ${running.url}/ and browse, then ${running.url}/stats (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log('express-postgres: stopping, writing what is still queued');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
