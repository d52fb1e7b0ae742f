import { createTracker, type Tracker } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp, viewIdOf } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { postgresMissing, required, sleep } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

// Hole 6: a beacon 0.2 s after a view claimed a day of engaged time and moved the page's average to 12.7 h.
describe.runIf(ok)('engaged time claimed by a beacon', () => {
  const VISITORS = 20;
  const CLAIM_MS = 86_400_000;
  let db: Database;
  let tracker: Tracker;
  let app: App;

  beforeAll(async () => {
    db = await openDatabase('engaged');
    tracker = createTracker({ hot: memoryHotStore(), store: db.store, logger: quiet });
    app = await startApp('express', tracker);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('is never more than the time elapsed since the view', async () => {
    const elapsed = await inParallel(VISITORS, VISITORS, async (i) => {
      const ua = humanUa(`engaged-${i}`);
      const before = performance.now();
      const page = await send(app.port, '/article', { headers: browser(ua) });
      await sleep(200);
      const answer = await send(app.port, '/_anon/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'user-agent': ua },
        body: JSON.stringify({ t: 'e', v: viewIdOf(page.body), ms: CLAIM_MS, sd: 50 }),
      });
      return { ms: performance.now() - before, status: answer.status };
    });
    // The memory hot store goes with the tracker: close() finalizes its sessions, writing the last view's time.
    await tracker.close();
    const stored = await db.rows<{ value: string }>(
      "SELECT value FROM $schema.page_metrics WHERE metric = 'time_on_page'",
    );
    const [aggregate] = await db.rows<{ sum: string; count: string }>(
      "SELECT time_on_page_sum_ms AS sum, time_on_page_count AS count FROM $schema.daily_aggregates WHERE path = '/article'",
    );
    const longest = Math.max(...elapsed.map((e) => e.ms));
    const values = stored.map((r) => Number(r.value));
    const average = Number(aggregate?.sum ?? 0) / Math.max(1, Number(aggregate?.count ?? 0));
    report('6 engaged time', {
      sent: VISITORS,
      stored: stored.length,
      dropped: tracker.stats().dropped,
      errors: elapsed.filter((e) => e.status !== 204).length,
      extra: {
        'claimed ms': CLAIM_MS,
        'max stored ms': Math.max(...values),
        'max elapsed ms': Math.round(longest),
        'avg time on page ms': Math.round(average),
      },
    });
    expect(elapsed.every((e) => e.status === 204)).toBe(true);
    expect(stored).toHaveLength(VISITORS);
    for (const value of values) {
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThanOrEqual(longest);
    }
    expect(average).toBeLessThanOrEqual(longest);
  });
});
