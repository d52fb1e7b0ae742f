import { type AnonEvent, isAnonError, type PageMetric, type PageView } from '@anon/core';
import { recomputeAggregates } from '@anon/core/adapter';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/index.js';
import { backends, type Fixture, freshStore } from './backends.js';
import { batch, DAY_MS, dayOf, ev, metric, T0, view, visit } from './fixtures.js';

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

/** A `botsession` event for `sessionId`, flagged at `at`. */
const botsession = (sessionId: string, at = T0): AnonEvent => ({
  type: 'botsession',
  id: `${sessionId}:bot`,
  botSession: { sessionId, day: dayOf(at), at },
});

/** The rows as a store holds them once `flagged` sessions are bots: views get the reason `rate`. */
function asBots(views: PageView[], metrics: PageMetric[], flagged: Set<string>) {
  const of = (id: string | null) => id !== null && flagged.has(id);
  return {
    views: views.map((v) =>
      v.isBot || !of(v.sessionId) ? v : { ...v, isBot: true, botReasons: [...v.botReasons, 'rate' as const] },
    ),
    metrics: metrics.map((m) => (m.isBot || !of(m.sessionId) ? m : { ...m, isBot: true })),
  };
}

describe.each(list)('bot sessions on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('a botsession marks the stored summary a bot at once, and a stale summary written later stays a bot', async () => {
    const a = visit('s-flag', ['/', '/a', '/b'], { referrerHost: 'example.com' });
    const first = {
      ...a.session,
      lastSeenAt: a.session.startedAt,
      endedAt: null,
      pageViews: 1,
      durationMs: 0,
    };
    await f.store.write(batch([...a.views.map(ev.view), ev.session(first)]));
    const q = { from: a.session.day, to: a.session.day };
    expect(await f.store.referrers(q)).toEqual([{ referrerHost: 'example.com', sessions: 1 }]);

    expect(await f.store.write(batch([botsession('s-flag')]))).toEqual({ applied: true, written: 1 });
    expect((await f.probe.session('s-flag'))?.isBot).toBe(true);
    expect(await f.store.referrers(q)).toEqual([]);
    expect(await f.store.bots(q)).toMatchObject({ views: 3, sessions: 1 });

    // The final summary, computed before the flag reached the hot store, says human: it merges to bot.
    await f.store.write(batch([ev.session(a.session)]));
    expect(await f.probe.session('s-flag')).toEqual({ ...a.session, isBot: true });
    expect(await f.store.referrers(q)).toEqual([]);
    // A summary of a flagged session that arrives before any other row is a bot's from its insert.
    await f.store.write(batch([botsession('s-later')]));
    const later = visit('s-later', ['/x']);
    await f.store.write(batch([ev.session(later.session), ...later.views.map(ev.view)]));
    expect((await f.probe.session('s-later'))?.isBot).toBe(true);
    expect(await f.probe.aggregates()).toEqual(
      recomputeAggregates(asBots([...a.views, ...later.views], [], new Set(['s-flag', 's-later'])).views, []),
    );
  });

  it('purge and eraseUser forget the bot flag of the sessions they remove', async () => {
    const old = visit('s-old', ['/'], { start: T0 - 10 * DAY_MS });
    const user = visit('s-user', ['/'], { userId: 'u-9' });
    await f.store.write(
      batch([...[old, user].flatMap((v) => [...v.views.map(ev.view), ev.session(v.session)])]),
    );
    await f.store.write(batch([botsession('s-old', old.session.startedAt), botsession('s-user')]));
    const flags = () => f.probe.rows<{ id: string }>(`SELECT id FROM "${f.schema}".bot_sessions ORDER BY id`);
    expect(await flags()).toEqual([{ id: 's-old' }, { id: 's-user' }]);
    await f.store.purge(T0 - 5 * DAY_MS);
    expect(await flags()).toEqual([{ id: 's-user' }]);
    await f.store.eraseUser('u-9');
    expect(await flags()).toEqual([]);
  });
});

describe.each(list.filter((b) => b.name === 'postgres'))('concurrent writers on $name', (backend) => {
  /**
   * Four stores on the fixture's schema each write every event, in a different order (every other one
   * reversed) and in batches of a different size (`size + i * step` for the i-th), all at once.
   */
  function writeAtOnce(f: Fixture, all: AnonEvent[], size: number, step: number) {
    const stores = [
      f.store,
      ...Array.from({ length: 3 }, () => postgresStore(backend.client, { schema: f.schema })),
    ];
    return Promise.all(
      stores.flatMap((store, i) => {
        const shuffled = i % 2 === 0 ? all : [...all].reverse();
        const writes: Promise<unknown>[] = [];
        for (let j = 0; j < shuffled.length; j += size + i * step)
          writes.push(store.write(batch(shuffled.slice(j, j + size + i * step))));
        return writes;
      }),
    );
  }

  it('a flag written while a batch of its session is in flight waits for it, and moves its view too', async () => {
    const f = await freshStore(backend);
    const pool = backend.client as import('pg').Pool;
    const raw = await pool.connect();
    try {
      const [v1, v2] = visit('s-race', ['/a', '/b']).views as [PageView, PageView];
      const other = view({ sessionId: 's-other', visitorKey: 'key-other', path: '/b' });
      await f.store.write(batch([ev.view(v1), ev.view(other)]));
      const second = postgresStore(backend.client, { schema: f.schema, partitionsAhead: 1 });
      await second.migrate();
      // Hold the /b aggregate row: the next batch writing /b stops there, its page view inserted, uncommitted.
      await raw.query('BEGIN');
      await raw.query(`SELECT 1 FROM "${f.schema}".daily_aggregates WHERE path = '/b' FOR UPDATE`);
      const views = f.store.write(batch([ev.view(v2)]));
      const waiting = async () =>
        (
          await f.probe.rows<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()
               AND query LIKE '%daily_aggregates%'`,
          )
        )[0]!.n;
      for (let i = 0; i < 100 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      let flagged = false;
      const flag = second.write(batch([botsession('s-race')])).then(() => {
        flagged = true;
      });
      await new Promise((r) => setTimeout(r, 400));
      expect(flagged, 'the flag waits for the batch in flight').toBe(false);
      await raw.query('COMMIT');
      await Promise.all([views, flag]);
      const held = asBots([v1, v2, other], [], new Set(['s-race']));
      expect(await f.probe.aggregates()).toEqual(recomputeAggregates(held.views, []));
    } finally {
      await raw.query('ROLLBACK').catch(() => undefined);
      raw.release();
      await f.cleanup();
    }
  });

  it('flags and the rows they move, written at once by several stores in any order, converge to one recomputation', async () => {
    const f = await freshStore(backend);
    try {
      // Two visitors sharing paths, one session of each flagged: a flagged view's visitor may or may not keep
      // another human view of its (day, path).
      const visits = Array.from({ length: 16 }, (_, i) =>
        visit(`s-${i}`, ['/', `/p${i % 3}`, '/shared', `/p${(i + 1) % 3}`], {
          start: T0 + i * 1_000,
          visitorKey: `key-${i % 2}`,
          ...(i % 4 === 0 ? { userId: `u-${i}` } : {}),
        }),
      );
      const flagged = new Set(visits.filter((_, i) => i % 3 === 0).map((v) => v.session.id));
      const views = visits.flatMap((v) => v.views);
      const metrics = views.map((v) => metric(v, 'time_on_page', 1_000 + v.seq));
      const all = [
        ...views.map(ev.view),
        ...metrics.map(ev.metric),
        ...visits.map((v) => ev.session(v.session)),
        ...[...flagged].map((id) => botsession(id)),
      ];
      await writeAtOnce(f, all, 3, 4);
      const held = asBots(views, metrics, flagged);
      expect(await f.probe.aggregates()).toEqual(recomputeAggregates(held.views, held.metrics));
      expect((await f.probe.botRowIds()).pageViews.sort()).toEqual(
        held.views
          .filter((v) => v.isBot)
          .map((v) => v.id)
          .sort(),
      );
      for (const v of visits) {
        expect((await f.probe.session(v.session.id))?.isBot, v.session.id).toBe(flagged.has(v.session.id));
      }
    } finally {
      await f.cleanup();
    }
  });

  it('overlapping batches written at once by several stores converge to one recomputation', async () => {
    const f = await freshStore(backend);
    try {
      const visits = Array.from({ length: 12 }, (_, i) =>
        visit(`s-${i}`, ['/', `/p${i % 3}`, '/shared', `/p${(i + 1) % 3}`], { start: T0 + i * 1_000 }),
      );
      const events = visits.flatMap((v) => [...v.views.map(ev.view), ev.session(v.session)]);
      const metrics = visits.map((v) => metric(v.views[1]!, 'scroll_depth', 50));
      const all = [...events, ...metrics.map(ev.metric)];
      await writeAtOnce(f, all, 7, 5);
      const views = visits.flatMap((v) => v.views);
      expect((await f.probe.pageViewIds()).sort()).toEqual(views.map((v) => v.id).sort());
      expect(await f.probe.aggregates()).toEqual(recomputeAggregates(views, metrics));
      for (const v of visits) expect(await f.probe.session(v.session.id)).toEqual(v.session);
    } finally {
      await f.cleanup();
    }
  });
});
