import { type AnonEvent, isAnonError } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/index.js';
import { backends, type Fixture, freshStore } from './backends.js';
import { batch, DAY_MS, ev, metric, T0, view, visit } from './fixtures.js';

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

describe.each(list)('writes on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  /** Every aggregate row and every ledger/unique row, straight from the tables. */
  const rawState = async () => ({
    aggregates: await f.probe.rows(
      `SELECT * FROM "${f.schema}".daily_aggregates ORDER BY day, path COLLATE "C"`,
    ),
    visitors: await f.probe.rows(`SELECT * FROM "${f.schema}".page_visitors ORDER BY 1, 2, 3`),
    views: await f.probe.rows(`SELECT id FROM "${f.schema}".page_views ORDER BY id`),
    metrics: await f.probe.rows(
      `SELECT view_id, metric, value FROM "${f.schema}".page_metrics ORDER BY 1, 2`,
    ),
    sessions: await f.probe.rows(`SELECT * FROM "${f.schema}".sessions ORDER BY id`),
  });

  it('replaying a batch, or its events under a new batch id, leaves every aggregate unchanged', async () => {
    const a = visit('s-a', ['/', '/posts/:id', '/posts/:id']);
    const b = visit('s-b', ['/posts/:id', '/about'], { userId: 'u-1', device: 'mobile' });
    const events: AnonEvent[] = [
      ...a.views.map(ev.view),
      ...b.views.map(ev.view),
      ev.metric(metric(a.views[0]!, 'time_on_page', 60_000)),
      ev.metric(metric(a.views[1]!, 'scroll_depth', 75)),
      ev.metric(metric(b.views[0]!, 'interactions', 3)),
      ev.session(a.session),
      ev.session(b.session),
    ];
    const first = batch(events);
    expect(await f.store.write(first)).toEqual({ applied: true, written: events.length });
    const before = await rawState();
    expect(before.aggregates).toHaveLength(3);

    expect(await f.store.write(first)).toEqual({ applied: false, written: 0 });
    expect(await f.store.write(batch([...events].reverse()))).toEqual({ applied: true, written: 0 });
    expect(await f.store.write(batch(events.slice(2, 5)))).toEqual({ applied: true, written: 0 });
    expect(await rawState()).toEqual(before);
    const ledger = await f.probe.rows<{ n: number }>(`SELECT count(*)::int AS n FROM "${f.schema}".batches`);
    expect(ledger).toEqual([{ n: 3 }]);
  });

  it('aggregates equal a recomputation from the stored rows after duplicates inside one batch', async () => {
    const v1 = view({ path: '/x', visitorKey: 'k1' });
    const v2 = view({ path: '/x', visitorKey: 'k1', at: T0 + 1_000 });
    const v3 = view({ path: '/x', visitorKey: 'k2', authenticated: true, userId: 'u', device: 'tablet' });
    const m1 = metric(v1, 'time_on_page', 1_500);
    const result = await f.store.write(
      batch([v1, v2, v3, v1, v3].map(ev.view).concat([ev.metric(m1), ev.metric(m1)])),
    );
    expect(result).toEqual({ applied: true, written: 4 });
    expect(await f.probe.aggregates()).toEqual(recomputeAggregates([v1, v2, v3], [m1]));
    expect(await f.probe.aggregates()).toEqual([
      expect.objectContaining({
        path: '/x',
        views: 3,
        uniqueVisitors: 2,
        authenticatedViews: 1,
        tabletViews: 1,
      }),
    ]);
  });

  it('a partition exists for every day written, and partitionsAhead days after the latest', async () => {
    const days = [0, 1, 5, 40].map((d) => view({ at: T0 + d * DAY_MS, path: `/d${d}` }));
    await f.store.write(batch(days.map(ev.view)));
    const partitions = await f.probe.partitionDays();
    for (const v of days) expect(partitions).toContain(v.day);
    // partitionsAhead is 1 in these fixtures: the day after the latest day written exists too.
    expect(partitions).toContain(new Date(T0 + 41 * DAY_MS).toISOString().slice(0, 10));
    for (const table of ['page_metrics', 'page_visitors']) {
      expect(await f.probe.partitionDays(table)).toEqual(partitions);
    }
    // Rows really live in their day's partition.
    const [row] = await f.probe.rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${f.schema}".page_views_p${days[3]!.day.replaceAll('-', '')}`,
    );
    expect(row).toEqual({ n: 1 });
  });

  it('hostile text is stored verbatim, NUL (which Postgres text refuses) is dropped', async () => {
    const nasty = `x'); DROP TABLE "${f.schema}".sessions; --`;
    const v = view({ path: nasty, url: `${nasty}\u0000tail`, pageType: '%_\\', scope: '$1::text' });
    await f.store.write(batch([ev.view(v)]));
    const [row] = await f.probe.rows<Record<string, string>>(
      `SELECT path, url, page_type, scope FROM "${f.schema}".page_views WHERE id = $1`,
      [v.id],
    );
    expect(row).toEqual({ path: nasty, url: `${nasty}tail`, page_type: '%_\\', scope: '$1::text' });
    expect(await f.probe.rows(`SELECT 1 FROM "${f.schema}".sessions`)).toEqual([]);
  });

  it('a bad batch is refused whole, with a typed error and no row written', async () => {
    const good = view();
    const cases: unknown[] = [
      null,
      { id: '', events: [] },
      { id: 'b', events: 'nope' },
      { id: 'b', events: [ev.view(good), { type: 'identify', id: 'i', identify: {} }] },
      { id: 'b', events: [ev.view(good), { type: 'evil', id: 'e' }] },
      { id: 'b', events: [ev.view(good), ev.view(view({ day: '2026-02-30' }))] },
      { id: 'b', events: [ev.view(good), ev.view(view({ day: "2026-01-01') TO ('2027-01-01'); --" }))] },
    ];
    for (const bad of cases) {
      const err = await f.store.write(bad as never).catch((e: unknown) => e);
      expect(isAnonError(err, 'invalid_input'), JSON.stringify(bad)).toBe(true);
    }
    expect(await f.probe.pageViewIds()).toEqual([]);
    expect(await f.probe.rows(`SELECT 1 FROM "${f.schema}".batches`)).toEqual([]);
  });

  it('counts come back as JavaScript numbers on both drivers', async () => {
    const a = visit('s-n', ['/', '/n']);
    await f.store.write(batch([...a.views.map(ev.view), ev.session(a.session)]));
    const q = { from: a.session.day, to: a.session.day };
    const [top] = await f.store.topPages(q);
    const sessions = await f.store.sessions(q);
    for (const value of [
      top!.views,
      top!.uniqueVisitors,
      sessions.sessions,
      sessions.pageViews,
      sessions.avgDurationMs,
    ]) {
      expect(typeof value).toBe('number');
    }
    expect(sessions).toMatchObject({ sessions: 1, pageViews: 2, avgDurationMs: 60_000, bounceRate: 0 });
  });
});

describe.each(list.filter((b) => b.name === 'postgres'))('concurrent writers on $name', (backend) => {
  it('overlapping batches written at once by several stores converge to one recomputation', async () => {
    const f = await freshStore(backend);
    try {
      const stores = [
        f.store,
        ...Array.from({ length: 3 }, () => postgresStore(backend.client, { schema: f.schema })),
      ];
      const visits = Array.from({ length: 12 }, (_, i) =>
        visit(`s-${i}`, ['/', `/p${i % 3}`, '/shared', `/p${(i + 1) % 3}`], { start: T0 + i * 1_000 }),
      );
      const events = visits.flatMap((v) => [...v.views.map(ev.view), ev.session(v.session)]);
      const metrics = visits.map((v) => metric(v.views[1]!, 'scroll_depth', 50));
      const all = [...events, ...metrics.map(ev.metric)];
      // Every store writes every event, in a different order and in different batches, all at once.
      await Promise.all(
        stores.flatMap((store, i) => {
          const shuffled = i % 2 === 0 ? all : [...all].reverse();
          const size = 7 + i * 5;
          const writes: Promise<unknown>[] = [];
          for (let j = 0; j < shuffled.length; j += size)
            writes.push(store.write(batch(shuffled.slice(j, j + size))));
          return writes;
        }),
      );
      const views = visits.flatMap((v) => v.views);
      expect((await f.probe.pageViewIds()).sort()).toEqual(views.map((v) => v.id).sort());
      expect(await f.probe.aggregates()).toEqual(recomputeAggregates(views, metrics));
      for (const v of visits) expect(await f.probe.session(v.session.id)).toEqual(v.session);
    } finally {
      await f.cleanup();
    }
  });
});
