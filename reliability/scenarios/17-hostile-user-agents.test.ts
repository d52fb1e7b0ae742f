import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../support/database.js';
import { report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { Fixture } from '../support/processes.js';
import { PG_URL, postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

/**
 * A unique user agent of `length` characters built to be hard on parsers: the tokens ua-parser's and isbot's
 * patterns look for, repeated with nesting and separators, and a random tail.
 */
function hostileUa(i: number, length: number): string {
  const tokens = [
    'Mozilla/5.0 (',
    'Android ',
    'Linux; U; ',
    'Windows NT 10.0; ',
    'AppleWebKit/537.36 ((',
    '; ; ;',
    'Version/',
    ' Mobile Safari/ ',
    'like Gecko) ',
  ];
  let ua = `Mozilla/5.0 (hostile ${i}; ${randomBytes(6).toString('hex')}) `;
  let n = 0;
  while (ua.length < length) ua += tokens[n++ % tokens.length];
  return ua.slice(0, length);
}

// The guarantee: a user agent is truncated before it is parsed, and a batch yields to the event loop, so
// hostile user agents cannot stall the app's requests.
describe.runIf(ok)('unique hostile user agents of 500–16,000 characters', () => {
  const SENT = 2_000;
  // A steady stream, not a saturating one: a saturated loop is late whatever the user agents are.
  const CONCURRENCY = 4;
  let db: Database;
  let app: Fixture;
  let port: number;

  beforeAll(async () => {
    db = await openDatabase('hostile_ua');
    app = new Fixture('app-process.ts', {
      framework: 'fastify',
      hot: 'memory',
      pgUrl: PG_URL,
      schema: db.schema,
    });
    port = ((await app.next('ready')) as unknown as { port: number }).port;
  });
  afterAll(async () => {
    await app?.signal('SIGKILL');
    await db?.drop();
  });

  /** Sends `uas` (one request each) and returns the app's event-loop delay over that traffic. */
  async function drive(uas: string[], tag: string) {
    await app.ask({ type: 'lag-start' }, 'lag-started');
    const answers = await inParallel(uas.length, CONCURRENCY, (i) =>
      send(port, `/posts/${tag}-${i}`, { headers: browser(uas[i]!) }),
    );
    const flushed = await app.ask({ type: 'flush' }, 'flushed');
    const lag = (await app.ask({ type: 'lag-stop' }, 'lag')) as unknown as Lag;
    return { answers, lag, stats: flushed.stats as { dropped: number; failures: number } };
  }

  it('keep the app’s event-loop delay p99 at or under 10 ms', async () => {
    // The same traffic with ordinary user agents first: what the machine itself allows (on a busy shared
    // machine a descheduled process shows delay that no code of ours causes).
    const ordinary = Array.from({ length: SENT }, (_, i) => humanUa(`ordinary-${i}`));
    const baseline = await drive(ordinary, 'baseline');
    const hostile = Array.from({ length: SENT }, (_, i) =>
      hostileUa(i, 500 + Math.floor((15_500 * i) / SENT)),
    );
    const run = await drive(hostile, 'hostile');
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    report('hostile user agents', {
      sent: SENT,
      stored: stored - SENT,
      dropped: run.stats.dropped - baseline.stats.dropped,
      errors: run.answers.filter((a) => a.status !== 200).length + run.stats.failures,
      extra: {
        'event-loop delay p50 ms': run.lag.p50,
        'p99 ms': run.lag.p99,
        'max ms': run.lag.max,
        'baseline (ordinary UAs) p99 ms': baseline.lag.p99,
      },
    });
    expect(run.answers.every((a) => a.status === 200)).toBe(true);
    expect(stored).toBe(2 * SENT);
    expect(run.stats.dropped).toBe(0);
    if (baseline.lag.p99 <= 10) expect(run.lag.p99).toBeLessThanOrEqual(10);
    else {
      // The machine alone exceeds the budget: hold hostile traffic to what ordinary traffic gets.
      console.warn(
        `[reliability] ordinary traffic alone has p99 ${baseline.lag.p99} ms here; comparing to it`,
      );
      expect(run.lag.p99).toBeLessThanOrEqual(Math.max(10, 1.5 * baseline.lag.p99));
    }
  });
});

interface Lag {
  p50: number;
  p99: number;
  max: number;
}
