import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAnonError } from '@anon/core';
import { PGlite } from '@electric-sql/pglite';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { lockPGliteFolder as appLock, type PGliteLike, postgresStore, type Queryable } from '../src/index.js';
import { lockPGliteFolder, PGLITE_LOCK_FILE } from '../src/pglite-lock.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LOCK_MODULE = fileURLToPath(new URL('../src/pglite-lock.ts', import.meta.url));
const STORE_MODULE = fileURLToPath(new URL('../src/index.ts', import.meta.url));
// The children run from the repository root, where only this package's node_modules has PGlite.
const PGLITE_MODULE = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
const scratch = mkdtempSync(join(tmpdir(), 'anon-pglite-lock-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const folder = () => join(scratch, `db${++folders}`);

/** A Node process running `code` (an ES module, TypeScript imports allowed); its stdout lines are collected. */
class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(code: string) {
    this.process = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let buffer = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
  }

  async line(match: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => match.test(l));
      if (found !== undefined) return found;
      if (Date.now() > deadline || this.process.exitCode !== null) {
        throw new Error(`child printed no line matching ${match}: ${JSON.stringify(this.lines)}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** A child that takes the lock on `dir`, prints `locked <pid>`, and holds it until its stdin closes. */
const holder = (dir: string) =>
  new Child(`
    const { lockPGliteFolder } = await import(${JSON.stringify(LOCK_MODULE)});
    await lockPGliteFolder(${JSON.stringify(dir)});
    console.log('locked ' + process.pid);
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `);

/** The pid of a process that has exited (a lock naming it is stale). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

const lockFile = (dir: string) => join(dir, PGLITE_LOCK_FILE);
const recordOf = (dir: string) =>
  JSON.parse(readFileSync(lockFile(dir), 'utf8')) as { pid: number; dir: string };

async function refusal(promise: Promise<unknown>) {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isAnonError(err, 'store_unavailable'), String(err)).toBe(true);
  return (err as Error).message;
}

describe('the PGlite folder lock', () => {
  it('refuses a folder another process holds, naming it; takes it over once that process is killed', async () => {
    const dir = folder();
    const other = holder(dir);
    const pid = Number((await other.line(/^locked \d+$/)).split(' ')[1]);
    expect(recordOf(dir).pid).toBe(pid);

    const message = await refusal(lockPGliteFolder(dir));
    expect(message).toContain(`open in another process (pid ${pid})`);
    expect(message).toContain(lockFile(dir));
    expect(recordOf(dir).pid).toBe(pid);

    other.process.kill('SIGKILL');
    await other.exited;
    // SIGKILL runs no exit hook: the file is left behind, naming a process that is gone.
    expect(recordOf(dir).pid).toBe(pid);
    const lock = await lockPGliteFolder(dir);
    expect(recordOf(dir).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 60_000);

  it('is removed when the holding process exits normally without releasing it', async () => {
    const dir = folder();
    const other = holder(dir);
    await other.line(/^locked/);
    other.process.stdin?.end();
    expect(await other.exited).toBe(0);
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 60_000);

  it('takes over a lock left by a dead process, found in a copy of the folder, or unreadable', async () => {
    const stale = [
      { pid: await deadPid(), dir: '(the folder)', token: 'x', since: '' },
      { pid: process.ppid, dir: '/somewhere/else', token: 'x', since: '' },
    ];
    for (const content of [...stale.map((r) => JSON.stringify(r)), 'not json', '{"pid":-4}']) {
      const dir = folder();
      mkdirSync(dir);
      writeFileSync(lockFile(dir), content.replace('(the folder)', dir));
      const lock = await lockPGliteFolder(dir);
      expect(recordOf(dir).pid).toBe(process.pid);
      lock.release();
    }
  });

  it('in one process: a second instance is refused until the first is closed; a release never removes a lock that is not its own', async () => {
    const dir = folder();
    const first = { closed: false };
    const lock = await lockPGliteFolder(dir, { holder: first });
    expect(await lockPGliteFolder(dir, { holder: first })).toBe(lock);
    expect(await refusal(lockPGliteFolder(dir, { holder: { closed: false } }))).toContain(
      'already open in this process',
    );
    first.closed = true;
    const second = await lockPGliteFolder(dir, { holder: { closed: false } });
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(true);
    second.release();
    second.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('a lock naming this process that no instance holds (a container restarted under the same pid) is stale', async () => {
    const dir = folder();
    mkdirSync(dir);
    writeFileSync(lockFile(dir), JSON.stringify({ pid: process.pid, dir, token: 'old', since: '' }));
    const lock = await lockPGliteFolder(dir);
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).token).not.toBe('old');
    lock.release();
  });

  it('processes racing to take over one stale lock: exactly one gets it', async () => {
    const dir = folder();
    mkdirSync(dir);
    writeFileSync(lockFile(dir), JSON.stringify({ pid: await deadPid(), dir, token: 'x', since: '' }));
    const start = Date.now() + 6_000;
    const racers = Array.from(
      { length: 4 },
      () =>
        new Child(`
          const { lockPGliteFolder } = await import(${JSON.stringify(LOCK_MODULE)});
          while (Date.now() < ${start}) await new Promise((r) => setTimeout(r, 1));
          try {
            await lockPGliteFolder(${JSON.stringify(dir)});
            console.log('won');
          } catch (err) {
            console.log(err.code === 'store_unavailable' ? 'refused' : 'failed ' + err.message);
          }
          await new Promise((r) => setTimeout(r, 2_000));
        `),
    );
    const outcomes = await Promise.all(racers.map((r) => r.line(/^(won|refused|failed)/, 30_000)));
    await Promise.all(racers.map((r) => r.exited));
    expect(outcomes.sort()).toEqual(['refused', 'refused', 'refused', 'won']);
  }, 60_000);

  it('property: whatever processes take, release or die in any order, at most one live process holds a folder, and a take succeeds exactly when none does', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('take' as const), who: fc.nat(3) }),
      fc.record({ kind: fc.constant('release' as const), who: fc.nat(3) }),
      fc.record({ kind: fc.constant('die' as const), who: fc.nat(3) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const dir = folder();
        // Four simulated processes; a dead one is replaced by a new process (a new pid) in its slot.
        const pids = [900_001, 900_002, 900_003, 900_004];
        const alive = new Set(pids);
        let next = 900_005;
        const held = new Map<number, Awaited<ReturnType<typeof lockPGliteFolder>>>();
        const isAlive = (pid: number) => alive.has(pid);
        for (const { kind, who } of ops) {
          const pid = pids[who] as number;
          if (kind === 'take') {
            // Taking it again without a holder object is refused too: only its PGlite instance may reuse it.
            const someoneHolds = [...held.keys()].some((p) => alive.has(p));
            const result = await lockPGliteFolder(dir, { pid, isAlive }).then(
              (lock) => lock,
              () => null,
            );
            expect(result !== null).toBe(!someoneHolds);
            if (result !== null) {
              for (const p of held.keys()) if (p !== pid) held.delete(p);
              held.set(pid, result);
            }
          } else if (kind === 'release') {
            held.get(pid)?.release();
            held.delete(pid);
          } else {
            alive.delete(pid);
            pids[who] = next;
            alive.add(next++);
          }
          expect([...held.keys()].filter((p) => alive.has(p)).length).toBeLessThanOrEqual(1);
          const onDisk = existsSync(lockFile(dir)) ? recordOf(dir).pid : null;
          const liveHolder = [...held.keys()].find((p) => alive.has(p)) ?? null;
          if (liveHolder !== null) expect(onDisk).toBe(liveHolder);
        }
        for (const lock of held.values()) lock.release();
      }),
      { numRuns: 60 },
    );
  });
});

describe('postgresStore on a PGlite folder', () => {
  /** A PGlite client that opens the folder only at its first statement, and counts how often it did. */
  function deferred(dir: string) {
    let db: PGlite | null = null;
    const client = {
      dataDir: dir,
      opens: 0,
      get closed() {
        return db?.closed ?? false;
      },
      open() {
        if (db === null) {
          db = new PGlite(dir);
          client.opens++;
        }
        return db;
      },
      query: (text: string, params?: unknown[]) => client.open().query(text, params),
      transaction: <T>(fn: (tx: Queryable) => Promise<T>) => client.open().transaction(fn),
      close: async () => db?.close(),
    };
    return client satisfies PGliteLike;
  }

  /** A second PGlite instance on `dir` in this process is refused before it opens the folder. */
  async function expectSecondInstanceRefused(dir: string) {
    const second = deferred(dir);
    const message = await refusal(
      postgresStore(second, { autoMigrate: false }).topPages({ from: '2026-01-01', to: '2026-01-01' }),
    );
    expect(message).toContain('already open in this process');
    expect(second.opens).toBe(0);
  }

  it('is refused before it opens a folder an app in another process has open, and works once that app closed it', async () => {
    const dir = folder();
    const app = new Child(`
      const { PGlite } = await import(${JSON.stringify(PGLITE_MODULE)});
      const { postgresStore } = await import(${JSON.stringify(STORE_MODULE)});
      const db = new PGlite(${JSON.stringify(dir)});
      await postgresStore(db).migrate();
      console.log('serving');
      process.stdin.resume();
      process.stdin.on('end', async () => {
        await db.close();
        console.log('closed');
      });
    `);
    await app.line(/^serving$/, 90_000);

    const client = deferred(dir);
    const store = postgresStore(client, { autoMigrate: false });
    const message = await refusal(store.topPages({ from: '2026-01-01', to: '2026-01-02' }));
    expect(message).toMatch(
      /^\[anon\] \[postgres\] the PGlite folder .* is open in another process \(pid \d+\)/,
    );
    expect(client.opens).toBe(0);

    app.process.stdin?.end();
    await app.line(/^closed$/);
    expect(existsSync(lockFile(dir))).toBe(false);
    expect(await store.topPages({ from: '2026-01-01', to: '2026-01-02' })).toEqual([]);
    expect(client.opens).toBe(1);
    expect(recordOf(dir).pid).toBe(process.pid);
    await client.close();
    expect(existsSync(lockFile(dir))).toBe(false);
    await app.exited;
  }, 120_000);

  it('an instance’s close() releases the folder; a second open instance in the same process is refused', async () => {
    const dir = folder();
    const db = new PGlite(dir);
    await postgresStore(db).migrate();
    expect(recordOf(dir).pid).toBe(process.pid);
    await expectSecondInstanceRefused(dir);
    await db.close();
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 60_000);

  it('an app that locks the folder before its own new PGlite(dir): its store takes that lock over, a second instance is refused', async () => {
    const dir = folder();
    const lock = await appLock(dir);
    expect(recordOf(dir).pid).toBe(process.pid);
    const db = new PGlite(dir);
    await postgresStore(db).migrate();
    expect(recordOf(dir).pid).toBe(process.pid);
    await expectSecondInstanceRefused(dir);
    await db.close();
    expect(existsSync(lockFile(dir))).toBe(false);
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 60_000);

  it('an in-memory PGlite takes no lock', async () => {
    const db = new PGlite();
    const store = postgresStore(db);
    await store.migrate();
    expect(await store.topPages({ from: '2026-01-01', to: '2026-01-01' })).toEqual([]);
    await db.close();
  }, 60_000);
});
