import { createTracker } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

// Hole 1: random URLs on a catch-all route made one permanent aggregate row each.
describe.runIf(ok)('random paths on a catch-all route', () => {
  const SENT = 4_000;
  const VISITORS = 100;
  let db: Database;
  let app: App;
  const tracker = () => createTracker({ hot: memoryHotStore(), store: db.store, logger: quiet });
  let t: ReturnType<typeof tracker>;

  beforeAll(async () => {
    db = await openDatabase('cardinality');
    t = tracker();
    app = await startApp('express', t);
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
    await db?.drop();
  });

  it('keep the aggregates within the distinct-path budget and count every view', async () => {
    const budget = t.config.maxPathsPerDay;
    // 40 views per visitor: under the 60-a-minute bot rule, so every view is a human one.
    const answers = await inParallel(SENT, 32, (i) =>
      send(app.port, `/p/${i}-${Math.random().toString(36).slice(2)}`, {
        headers: browser(humanUa(i % VISITORS)),
      }),
    );
    await t.flush();
    const paths = await db.count('SELECT count(DISTINCT path) FROM $schema.daily_aggregates');
    const views = await db.count('SELECT coalesce(sum(views + bot_views), 0) FROM $schema.daily_aggregates');
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const other = await db.count(
      "SELECT coalesce(sum(views), 0) FROM $schema.daily_aggregates WHERE path = '(other)'",
    );
    const errors = answers.filter((a) => a.status !== 200).length;
    report('1 random paths', {
      sent: SENT,
      stored,
      dropped: t.stats().dropped,
      errors,
      extra: { 'distinct aggregate paths': paths, budget, '(other) views': other },
    });
    expect(errors).toBe(0);
    expect(paths).toBeLessThanOrEqual(budget + 1);
    expect(views).toBe(SENT);
    expect(stored).toBe(SENT);
    expect(other).toBe(SENT - budget);
  });
});
