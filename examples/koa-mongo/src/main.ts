import { start } from './app.js';

// `pnpm start` with ANON_MONGO_URL=mongodb://host:27017/analytics (the database is the URL's path).
const mongoUrl = process.env.ANON_MONGO_URL;
if (mongoUrl === undefined || mongoUrl === '') {
  console.error('koa-mongo: set ANON_MONGO_URL, e.g. ANON_MONGO_URL=mongodb://127.0.0.1:27017/analytics');
  process.exit(2);
}
const running = await start({ port: Number(process.env.PORT ?? 3000), mongoUrl });
console.log(`koa-mongo: open ${running.url}/ and browse, then ${running.url}/stats (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log('koa-mongo: stopping, writing what is still queued');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
