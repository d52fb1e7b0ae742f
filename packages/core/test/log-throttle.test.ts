import { describe, expect, it } from 'vitest';
import { createLogThrottle } from '../src/adapter/index.js';
import { createFailureLog } from '../src/engine/failure-log.js';
import { isAnonError } from '../src/errors.js';
import type { Logger } from '../src/ports.js';

interface Line {
  level: 'warn' | 'error';
  msg: string;
  data?: Record<string, unknown>;
}

/** A logger that keeps every line it was given, with its level and data. */
function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const keep =
    (level: Line['level']) =>
    (msg: string, data?: Record<string, unknown>): void => {
      lines.push(data === undefined ? { level, msg } : { level, msg, data });
    };
  return { lines, warn: keep('warn'), error: keep('error') };
}

function fakeClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

describe('createLogThrottle', () => {
  it('logs a message once per window and puts the count of what it held back on the next line', () => {
    const logger = recordingLogger();
    const clock = fakeClock();
    const log = createLogThrottle(logger, { everyMs: 10_000, now: clock.now });

    expect(log.warn('[anon] [x] down', { error: 'ECONNREFUSED' })).toBe(true);
    clock.advance(1_000);
    expect(log.warn('[anon] [x] down', { error: 'ECONNREFUSED' })).toBe(false);
    clock.advance(8_999);
    expect(log.warn('[anon] [x] down')).toBe(false);
    expect(logger.lines).toEqual([
      { level: 'warn', msg: '[anon] [x] down', data: { error: 'ECONNREFUSED' } },
    ]);

    clock.advance(1);
    expect(log.warn('[anon] [x] down', { error: 'ETIMEDOUT' })).toBe(true);
    expect(logger.lines[1]).toEqual({
      level: 'warn',
      msg: '[anon] [x] down',
      data: { error: 'ETIMEDOUT', suppressed: 2 },
    });

    // Nothing held back in the next window: no count on its line.
    clock.advance(10_000);
    expect(log.warn('[anon] [x] down')).toBe(true);
    expect(logger.lines[2]).toEqual({ level: 'warn', msg: '[anon] [x] down' });
  });

  it('throttles each message on its own, whatever the level', () => {
    const logger = recordingLogger();
    const clock = fakeClock();
    const log = createLogThrottle(logger, { everyMs: 60_000, now: clock.now });
    log.error('[anon] [x] write failed');
    log.warn('[anon] [x] read failed');
    log.error('[anon] [x] write failed');
    log.warn('[anon] [x] read failed');
    log.error('[anon] [x] sweep failed');
    expect(logger.lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'error [anon] [x] write failed',
      'warn [anon] [x] read failed',
      'error [anon] [x] sweep failed',
    ]);
  });

  it('remembers at most maxKeys messages: the one logged longest ago is forgotten first', () => {
    const logger = recordingLogger();
    const clock = fakeClock();
    const log = createLogThrottle(logger, { everyMs: 60_000, now: clock.now, maxKeys: 3 });
    for (const m of ['a', 'b', 'c']) log.warn(m);
    // All three are remembered: repeats are held back.
    for (const m of ['a', 'b', 'c']) expect(log.warn(m)).toBe(false);
    // A fourth message pushes out 'a' (logged longest ago), and only 'a'.
    expect(log.warn('d')).toBe(true);
    expect(log.warn('b')).toBe(false);
    expect(log.warn('c')).toBe(false);
    expect(log.warn('d')).toBe(false);
    expect(log.warn('a')).toBe(true);
    // 'a' came back and pushed out 'b'.
    expect(log.warn('b')).toBe(true);

    // Ten thousand distinct messages leave at most maxKeys behind: the oldest of the last three is gone.
    for (let i = 0; i < 10_000; i++) log.warn(`m${i}`);
    expect(log.warn('m9999')).toBe(false);
    expect(log.warn('m9997')).toBe(false);
    expect(log.warn('m9996')).toBe(true);
  });

  it('a clock that goes back opens the window again instead of silencing the message', () => {
    const logger = recordingLogger();
    const clock = fakeClock();
    const log = createLogThrottle(logger, { everyMs: 10_000, now: clock.now });
    log.warn('m');
    clock.advance(-5_000);
    expect(log.warn('m')).toBe(true);
    expect(logger.lines).toHaveLength(2);
  });

  it('with everyMs 0 every line is logged', () => {
    const logger = recordingLogger();
    const log = createLogThrottle(logger, { everyMs: 0, now: () => 5 });
    for (let i = 0; i < 3; i++) expect(log.error('m')).toBe(true);
    expect(logger.lines).toHaveLength(3);
  });

  it('never throws, whatever the logger or the clock does', () => {
    const throwing: Logger = {
      warn: () => {
        throw new Error('logger down');
      },
      error: () => {
        throw new Error('logger down');
      },
    };
    const log = createLogThrottle(throwing, { everyMs: 1_000, now: () => 0 });
    expect(log.warn('m')).toBe(false);
    expect(log.error('m', { a: 1 })).toBe(false);
    const badClock = createLogThrottle(recordingLogger(), {
      everyMs: 1_000,
      now: () => {
        throw new Error('clock broken');
      },
    });
    expect(badClock.warn('m')).toBe(false);
  });

  it('refuses bad options with invalid_config', () => {
    const logger = recordingLogger();
    for (const options of [
      { everyMs: -1 },
      { everyMs: Number.NaN },
      { everyMs: Number.POSITIVE_INFINITY },
      { everyMs: '10' as unknown as number },
      { everyMs: 10, maxKeys: 0 },
      { everyMs: 10, maxKeys: 1.5 },
    ]) {
      let error: unknown;
      try {
        createLogThrottle(logger, options);
      } catch (e) {
        error = e;
      }
      expect(isAnonError(error, 'invalid_config'), JSON.stringify(options)).toBe(true);
    }
  });
});

describe("the engine's failure log", () => {
  it('counts every failure, logs one line per message a minute, and says how many it held back', () => {
    const logger = recordingLogger();
    const clock = fakeClock();
    const failures = createFailureLog(logger, { now: clock.now });
    for (let i = 0; i < 5; i++) failures.report('store_failed', 'writing a batch failed', new Error('down'));
    failures.report('hot_store_failed', 'sweeping failed');
    expect(failures.count()).toBe(6);
    expect(logger.lines).toEqual([
      {
        level: 'error',
        msg: '[anon] [core] writing a batch failed',
        data: { code: 'store_failed', cause: 'Error: down', failures: 1 },
      },
      {
        level: 'error',
        msg: '[anon] [core] sweeping failed',
        data: { code: 'hot_store_failed', cause: undefined, failures: 6 },
      },
    ]);

    clock.advance(60_000);
    failures.report('store_failed', 'writing a batch failed', 'timeout');
    expect(logger.lines[2]).toEqual({
      level: 'error',
      msg: '[anon] [core] writing a batch failed',
      data: { code: 'store_failed', cause: 'timeout', failures: 7, suppressed: 4 },
    });
  });
});
