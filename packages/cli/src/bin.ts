#!/usr/bin/env node
import { main } from './main.js';

const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGTERM', () => resolve());
  process.once('SIGINT', () => resolve());
});

main(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  // On a terminal, a progress line is redrawn in place rather than printed again.
  ...(process.stdout.isTTY ? { progress: (text: string) => process.stdout.write(`\r\u001b[2K${text}`) } : {}),
  env: process.env,
  stopSignal,
}).then(
  (code) => {
    process.exitCode = code;
    // Open handles (pools, timers) must not keep a finished command alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(`anon: ${String(err)}\n`);
    process.exit(1);
  },
);
