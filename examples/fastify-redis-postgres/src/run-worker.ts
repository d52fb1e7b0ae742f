import { settingsFromEnv } from './config.js';
import { startWorker } from './worker.js';

// The worker process: `pnpm worker`. `anon worker` (packages/cli) does the same job.
const settings = settingsFromEnv();
const running = await startWorker(settings);
console.log(`worker: ready, stream ${settings.stream} → schema ${settings.schema}`);

const report = setInterval(() => {
  const s = running.tracker.stats();
  console.log(
    `worker: ${s.written} events written, ${s.finalized} sessions finalized, ${s.conversions} conversions`,
  );
}, 30_000);
report.unref();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    clearInterval(report);
    running.close().then(
      () => {
        console.log(`worker: stopped after ${running.tracker.stats().written} events written`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
