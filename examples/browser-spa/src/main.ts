import { start } from './app.js';

// `pnpm start`: everything in memory; what you browse is gone when it stops.
const running = await start({ port: Number(process.env.PORT ?? 3000) });
console.log(`browser-spa: open ${running.url}/, scroll, click, follow the links (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
