import { createTracker, type Tracker } from '@anon/core';
import { type MemoryHotStore, memoryHotStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { heapUsed, mb, quiet, report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

// Hole 5: 50,000 distinct user agents from one IP made 50,000 live sessions (+81 MB in 3 s), each held 30 min.
describe.runIf(ok)('50,000 distinct user agents from one IP on a memory hot store', () => {
  const SENT = 50_000;
  const MAX_SESSIONS = 5_000;
  let db: Database;
  let hot: MemoryHotStore;
  let tracker: Tracker;
  let app: App;

  beforeAll(async () => {
    db = await openDatabase('memory_cap');
    hot = memoryHotStore({ maxSessions: MAX_SESSIONS });
    tracker = createTracker({ hot, store: db.store, logger: quiet });
    app = await startApp('fastify', tracker);
  });
  afterAll(async () => {
    await app?.close();
    await tracker?.close();
    await db?.drop();
  });

  it('holds at most maxSessions live sessions and stores every view', async () => {
    const heapBefore = heapUsed();
    let peak = 0;
    const answers = await inParallel(SENT, 32, async (i) => {
      const answer = await send(app.port, '/', { headers: browser(humanUa(`flood-${i}`)) });
      if (i % 500 === 0) peak = Math.max(peak, hot.sessionCount());
      return answer.status;
    });
    await tracker.flush();
    await tracker.sweep();
    await tracker.flush();
    const held = hot.sessionCount();
    const heapGrowth = heapUsed() - heapBefore;
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const finalized = await db.count('SELECT count(*) FROM $schema.sessions WHERE ended_at IS NOT NULL');
    report('5 memory hot store cap', {
      sent: SENT,
      stored,
      dropped: tracker.stats().dropped,
      errors: answers.filter((s) => s !== 200).length,
      extra: {
        maxSessions: MAX_SESSIONS,
        'sessions held (peak sampled)': peak,
        'sessions held at the end': held,
        'finalized early': finalized,
        'heap growth': mb(heapGrowth),
      },
    });
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(stored).toBe(SENT);
    expect(held).toBeLessThanOrEqual(MAX_SESSIONS);
    // A sampled peak may catch one batch past the cap before the sweep it triggers.
    expect(peak).toBeLessThanOrEqual(MAX_SESSIONS + 512);
    expect(finalized).toBeGreaterThanOrEqual(SENT - MAX_SESSIONS);
    expect(heapGrowth).toBeLessThan(64 * 1_048_576);
  });
});
