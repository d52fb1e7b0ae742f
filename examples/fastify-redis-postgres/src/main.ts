import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// `pnpm start`: one worker and two app instances, each its own process, as in production behind a load
// balancer. Each child runs TypeScript through tsx, like this file.
const BASE_PORT = Number(process.env.PORT ?? 3000);

function run(file: string, env: Record<string, string> = {}): ChildProcess {
  const path = fileURLToPath(new URL(file, import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', path], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
}

const children = [
  run('./run-worker.ts'),
  run('./run-server.ts', { PORT: String(BASE_PORT) }),
  run('./run-server.ts', { PORT: String(BASE_PORT + 1) }),
];
console.log(
  `fastify-redis-postgres: two instances on http://127.0.0.1:${BASE_PORT} and http://127.0.0.1:${BASE_PORT + 1}, ` +
    'one worker. Browse both, then open /stats on either (Ctrl-C to stop).',
);

let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  const exits = children.map(
    (child) =>
      new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
      ),
  );
  for (const child of children) child.kill('SIGTERM');
  void Promise.all(exits).then(() => process.exit(code));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopAll(0));
for (const child of children) {
  child.once('exit', (exitCode) => {
    if (!stopping) {
      console.error(`fastify-redis-postgres: a process exited (code ${exitCode}); stopping the others`);
      stopAll(1);
    }
  });
}
