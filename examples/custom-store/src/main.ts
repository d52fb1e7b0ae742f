import { start } from './app.js';
import { loadTables, saveTables } from './json-file.js';

// `pnpm start`: the array store's tables are loaded from, and saved back to, a JSON file on exit.
const file = process.env.ANON_DATA_FILE ?? '.data/tables.json';
const running = await start({ port: Number(process.env.PORT ?? 3000), tables: await loadTables(file) });
console.log(`custom-store: open ${running.url}/ and browse, then ${running.url}/stats (Ctrl-C to stop)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running
      .close()
      .then(() => saveTables(file, running.tables))
      .then(
        () => {
          console.log(`custom-store: saved to ${file}`);
          process.exit(0);
        },
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  });
}
