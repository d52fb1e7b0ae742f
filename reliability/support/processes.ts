import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './deps.js';

/** A message a fixture process sends over IPC. */
export interface FixtureMessage {
  type: string;
  [key: string]: unknown;
}

/** A fixture script of reliability/fixtures running in its own Node process (through tsx), spoken to over IPC. */
export class Fixture {
  readonly child: ChildProcess;
  readonly messages: FixtureMessage[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { type: string; resolve: (m: FixtureMessage) => void }[] = [];

  constructor(script: string, config: unknown) {
    this.child = fork(join(ROOT, 'reliability/fixtures', script), [JSON.stringify(config)], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (raw) => {
      const message = raw as FixtureMessage;
      this.messages.push(message);
      const waiter = this.#waiters.find((w) => w.type === message.type);
      if (waiter !== undefined) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** The next message of `type` (or the first already received that nobody took). */
  next(type: string, timeoutMs = 60_000): Promise<FixtureMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${type}" message in ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Sends `message` and waits for the answer of type `reply`. */
  ask(message: FixtureMessage, reply: string, timeoutMs = 60_000): Promise<FixtureMessage> {
    const answer = this.next(reply, timeoutMs);
    this.child.send(message);
    return answer;
  }

  /** Sends a signal and waits for the process to exit. */
  async signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
