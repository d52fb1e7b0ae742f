/// <reference types="node" />
import type { AnonError } from '@anon/core';
import { postgresError } from './errors.js';

/**
 * PGlite is Postgres running inside one process on a folder it owns. A second process that opens the same folder
 * (the app and `anon report --pglite`, two app instances) replays and rewrites files the first one is using, and
 * corrupts the database. Postgres guards its folder with `postmaster.pid`; PGlite does not, so the store does: a
 * lock file in the data folder naming the process that has it open. It is created atomically, removed when the
 * PGlite instance closes and when the process exits, and taken over when the process it names is gone.
 *
 * `node:fs` is loaded only when a folder is locked, so the package still bundles for a browser's PGlite.
 */

/** The lock file's name, in the PGlite data folder. */
export const PGLITE_LOCK_FILE = 'anon-pglite.lock';

/** The lock on one PGlite folder, held by this process. */
export interface PGliteLock {
  /** The folder, as a real path. */
  readonly dir: string;
  /** The lock file. */
  readonly file: string;
  /** Remove the lock file if it is still ours; safe to call twice. */
  release(): void;
}

export interface PGliteLockOptions {
  /** What holds the lock in this process: a PGlite instance. Another live holder of the folder is refused. */
  holder?: { readonly closed?: boolean };
  /** The process taking the lock (tests stand in for other processes). @default process.pid */
  pid?: number;
  /** Whether a process runs. @default `process.kill(pid, 0)` succeeds or fails with EPERM */
  isAlive?: (pid: number) => boolean;
}

/** What the lock file holds. `dir` tells a copy of the folder (which keeps the file) from the folder itself. */
interface LockRecord {
  pid: number;
  dir: string;
  token: string;
  since: string;
}

interface Held {
  pid: number;
  token: string;
  holder: { readonly closed?: boolean } | undefined;
  lock: PGliteLock;
}

type Fs = typeof import('node:fs');

/**
 * Locks held by this process, by folder. On `globalThis`, so the ESM and the CommonJS copy of this package in one
 * process see the same locks: a lock file naming this process that no copy knows is stale (a container restarted
 * under the same pid), not held.
 */
interface Registry {
  held: Map<string, Held>;
  exitHook: boolean;
}
const REGISTRY = Symbol.for('anon.postgres.pgliteLocks');

function registry(): Registry {
  const scope = globalThis as { [REGISTRY]?: Registry };
  scope[REGISTRY] ??= { held: new Map(), exitHook: false };
  return scope[REGISTRY];
}

/** Rounds of create, look and take over before giving up (each round only repeats after a stale lock was removed). */
const ROUNDS = 8;

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists and belongs to another user.
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

function parseRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0) return null;
    if (typeof value.dir !== 'string' || typeof value.token !== 'string') return null;
    return value as LockRecord;
  } catch {
    return null;
  }
}

function readOrNull(fs: Fs, file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return null;
    throw err;
  }
}

function unlinkQuietly(fs: Fs, file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
}

/**
 * Create `file` holding `content`, or report that it exists. The content is written to a private file first and
 * linked into place, so nobody ever reads a half-written lock; where hard links are not supported, an exclusive
 * create is used instead (a reader then may see it empty for an instant, and waits).
 */
function createExclusive(fs: Fs, file: string, content: string, token: string): boolean {
  const draft = `${file}.${token}`;
  fs.writeFileSync(draft, content, { flag: 'wx' });
  try {
    fs.linkSync(draft, file);
    return true;
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return false;
    if (codeOf(err) !== 'EPERM' && codeOf(err) !== 'ENOTSUP' && codeOf(err) !== 'ENOSYS') throw err;
    try {
      fs.writeFileSync(file, content, { flag: 'wx' });
      return true;
    } catch (inner) {
      if (codeOf(inner) === 'EEXIST') return false;
      throw inner;
    }
  } finally {
    unlinkQuietly(fs, draft);
  }
}

/**
 * Remove a stale lock file, unless it changed since it was read as `seen`. Done under a second, short-lived lock
 * file so that two processes taking over the same stale lock cannot remove the lock one of them just created:
 * whoever holds the takeover file reads the lock again before removing it.
 */
function removeStale(
  fs: Fs,
  file: string,
  seen: string,
  mine: string,
  isAlive: (pid: number) => boolean,
): 'removed' | 'wait' {
  const takeover = `${file}.takeover`;
  const token = parseRecord(mine)?.token ?? '';
  if (!createExclusive(fs, takeover, mine, token)) {
    // Another process is taking over; if it died doing so, its takeover file is stale too.
    const other = parseRecord(readOrNull(fs, takeover) ?? '');
    if (other === null || !isAlive(other.pid)) unlinkQuietly(fs, takeover);
    return 'wait';
  }
  try {
    if (readOrNull(fs, file) === seen) unlinkQuietly(fs, file);
    return 'removed';
  } finally {
    if (readOrNull(fs, takeover) === mine) unlinkQuietly(fs, takeover);
  }
}

function busy(dir: string, file: string, pid: number, self: boolean): AnonError {
  const message = self
    ? `the PGlite folder ${dir} is already open in this process by another PGlite instance: close that one first ` +
      '(PGlite allows one instance per folder)'
    : `the PGlite folder ${dir} is open in another process (pid ${pid}): PGlite allows one process per folder. ` +
      'Stop that process first, or use PostgreSQL to share a database between processes. ' +
      `If no process ${pid} is running, delete ${file}`;
  return postgresError('store_unavailable', message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Take the lock on the PGlite folder `dataDir` (created if missing) for this process, or throw
 * `AnonError('store_unavailable')` naming the process that has it open. A lock left by a process that is gone, or
 * found in a copy of the folder, is taken over. Take it before PGlite opens the folder: opening is what corrupts.
 *
 * The store takes it by itself before its first statement; an app calls it before its own `new PGlite(dir)`, so
 * that the instance never opens a folder another process has open. Taken without a `holder`, the lock passes to
 * the first PGlite instance a store uses on the folder and is released when that instance closes (or by
 * `release()`); a second instance in this process is refused until then.
 *
 * @example
 * const lock = await lockPGliteFolder('./analytics-data'); // throws if another process has it open
 * const store = postgresStore(new PGlite('./analytics-data'));
 */
export async function lockPGliteFolder(
  dataDir: string,
  options: PGliteLockOptions = {},
): Promise<PGliteLock> {
  const fs: Fs = await import('node:fs');
  const { join } = await import('node:path');
  const { randomUUID } = await import('node:crypto');
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? defaultIsAlive;
  const token = randomUUID();

  let dir: string;
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    dir = fs.realpathSync(dataDir);
  } catch (err) {
    throw postgresError(
      'invalid_config',
      `cannot use ${dataDir} as a PGlite folder: ${(err as Error).message}`,
      err,
    );
  }
  const file = join(dir, PGLITE_LOCK_FILE);
  const reg = registry();

  const mine = reg.held.get(dir);
  if (mine !== undefined && mine.pid === pid) {
    if (options.holder !== undefined && mine.holder === options.holder) return mine.lock;
    if (options.holder !== undefined && mine.holder === undefined) {
      // Taken by the app before its own `new PGlite(dir)`: the first instance a store sees is that one.
      mine.holder = options.holder;
      return mine.lock;
    }
    if (mine.holder?.closed !== true) throw busy(dir, file, pid, true);
    mine.lock.release();
  }

  const record: LockRecord = { pid, dir, token, since: new Date().toISOString() };
  const content = `${JSON.stringify(record)}\n`;
  for (let round = 0; round < ROUNDS; round++) {
    let created: boolean;
    try {
      created = createExclusive(fs, file, content, token);
    } catch (err) {
      throw postgresError(
        'store_unavailable',
        `cannot create the lock file ${file}: ${(err as Error).message}`,
        err,
      );
    }
    if (created) {
      const lock: PGliteLock = {
        dir,
        file,
        release() {
          if (reg.held.get(dir)?.token === token) reg.held.delete(dir);
          // Released already, or taken over by another process after this one was presumed gone: not ours.
          const now = readOrNull(fs, file);
          if (now !== null && parseRecord(now)?.token === token) unlinkQuietly(fs, file);
        },
      };
      reg.held.set(dir, { pid, token, holder: options.holder, lock });
      if (!reg.exitHook) {
        reg.exitHook = true;
        // A process that exits without closing PGlite leaves no lock behind (a SIGKILL does: see takeover).
        process.once('exit', () => {
          for (const held of [...reg.held.values()]) held.lock.release();
        });
      }
      return lock;
    }
    const seen = readOrNull(fs, file);
    if (seen === null) continue; // released meanwhile
    if (seen === '') {
      await sleep(20); // being written by a create without hard links
      continue;
    }
    const holder = parseRecord(seen);
    const live =
      holder !== null &&
      holder.dir === dir &&
      (holder.pid === pid ? reg.held.get(dir)?.pid === pid : isAlive(holder.pid));
    if (live) throw busy(dir, file, holder.pid, holder.pid === pid);
    if (removeStale(fs, file, seen, content, isAlive) === 'wait') await sleep(10 * (round + 1));
  }
  throw postgresError('store_unavailable', `could not take the lock ${file}: other processes keep taking it`);
}
