import { createTracker, type Tracker } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp, viewIdOf } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

// Hole 2: navigation beacons with rotating user agents made human views and visitors out of nothing.
describe.runIf(ok)('forged SPA navigation beacons', () => {
  const SENT = 300;
  let db: Database;
  let tracker: Tracker;
  let app: App;

  beforeAll(async () => {
    db = await openDatabase('forged_nav');
    tracker = createTracker({ hot: memoryHotStore(), store: db.store, logger: quiet });
    app = await startApp('fastify', tracker);
  });
  afterAll(async () => {
    await app?.close();
    await tracker?.close();
    await db?.drop();
  });

  const beacon = (ua: string, body: object) =>
    send(app.port, '/_anon/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': ua },
      body: JSON.stringify(body),
    });

  it('store no forged view, and count every one as rejected', async () => {
    // A real visitor first: a page load, then an SPA navigation from the view id the page carried. It must
    // count, or "0 forged views" would prove nothing.
    const realUa = humanUa('real');
    const page = await send(app.port, '/', { headers: browser(realUa) });
    await tracker.flush();
    const real = await beacon(realUa, { t: 'p', v: viewIdOf(page.body), u: '/real-next' });

    const answers = await inParallel(SENT, 16, (i) =>
      beacon(humanUa(`forged-${i}`), {
        t: 'p',
        v: `0190a0b0-0000-7000-8000-${String(i).padStart(12, '0')}`,
        u: `/forged/${i}`,
      }),
    );
    await tracker.flush();
    const forgedViews = await db.count("SELECT count(*) FROM $schema.page_views WHERE path LIKE '/forged/%'");
    const forgedAggregates = await db.count(
      "SELECT coalesce(sum(views + bot_views), 0) FROM $schema.daily_aggregates WHERE path LIKE '/forged/%'",
    );
    const realNext = await db.count("SELECT count(*) FROM $schema.page_views WHERE path = '/real-next'");
    const visitors = await db.count('SELECT count(DISTINCT visitor_key) FROM $schema.page_views');
    const stats = tracker.stats();
    const errors = answers.filter((a) => a.status >= 400 || a.status === 0).length;
    report('2 forged navigation beacons', {
      sent: SENT,
      stored: forgedViews,
      dropped: stats.dropped,
      errors,
      extra: { rejected: stats.rejected, 'stored visitors': visitors, 'real navigation stored': realNext },
    });
    expect(real.status).toBe(200);
    expect(realNext).toBe(1);
    expect(errors).toBe(0);
    expect(forgedViews).toBe(0);
    expect(forgedAggregates).toBe(0);
    expect(stats.rejected).toBe(SENT);
    expect(visitors).toBe(1);
  });
});
