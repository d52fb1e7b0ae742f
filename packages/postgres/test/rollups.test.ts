import type { PageView, Session, SessionRollup, Store, VisitorRollup } from '@anon/core';
import {
  addVisitorRollup,
  foldSessionRollups,
  isVisitorSession,
  liveSession,
  purgesSession,
  purgesUnsessionedView,
  sessionRollupOf,
  visitorRollupKey,
  visitorRollupsOf,
} from '@anon/core/adapter';
import { memoryStore } from '@anon/core/memory';
import { generateTraffic } from '@anon/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/index.js';
import { backends, type Fixture, freshStore } from './backends.js';
import { batch, DAY_MS, dayOf, ev, T0, visit } from './fixtures.js';

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

// Four days of traffic with more logged-in visitors than the default, so authenticated purges fold plenty.
const traffic = generateTraffic({ seed: 1313, days: 4, visitors: 45, authenticatedShare: 0.3 });

const startOf = (day: string) => Date.parse(`${day}T00:00:00Z`);

// The reports-unchanged checks live in the store contract; these read the rollup tables raw.
describe.each(list)('purge folds into rollups on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  const writeAll = async (batches = traffic.batches) => {
    for (const b of batches) await f.store.write(b);
  };

  it('after each of several purges, the rollup rows equal core’s fold of everything removed so far', async () => {
    await writeAll();
    const hour = 3_600_000;
    const cuts = [
      { before: startOf(traffic.days[1]!) + 9 * hour, authenticatedBefore: null },
      { before: startOf(traffic.days[2]!), authenticatedBefore: startOf(traffic.days[1]!) + 12 * hour },
      { before: startOf(traffic.days[2]!), authenticatedBefore: startOf(traffic.days[2]!) },
      { before: startOf(traffic.days[3]!) + 14 * hour, authenticatedBefore: startOf(traffic.days[3]!) },
    ];
    const converted = new Set(traffic.conversions.flatMap((c) => c.sessionIds));
    const viewsOf = new Map<string, PageView[]>();
    for (const v of traffic.views) {
      if (v.sessionId !== null) viewsOf.set(v.sessionId, [...(viewsOf.get(v.sessionId) ?? []), v]);
    }
    // The model: what is left, and the rollups core's rules fold from each purge.
    let sessions: Session[] = [...traffic.sessions];
    let views: PageView[] = [...traffic.views];
    const sessionRollups: SessionRollup[] = [];
    const visitorRollups = new Map<string, VisitorRollup>();
    const s = `"${f.schema}"`;
    const byKey = (a: VisitorRollup, b: VisitorRollup) =>
      visitorRollupKey(a) < visitorRollupKey(b) ? -1 : 1;

    for (const cut of cuts) {
      const purged = sessions.filter((x) =>
        purgesSession(
          x,
          (viewsOf.get(x.id) ?? []).some((v) => v.userId !== null),
          converted.has(x.id),
          cut,
        ),
      );
      const gone = new Set(purged.map((x) => x.id));
      const removed = views.filter((v) =>
        v.sessionId === null ? purgesUnsessionedView(v, cut) : gone.has(v.sessionId),
      );
      const removedSet = new Set(removed);
      views = views.filter((v) => !removedSet.has(v));
      sessions = sessions.filter((x) => !gone.has(x.id));
      for (const x of purged) {
        const live = liveSession(x, viewsOf.get(x.id) ?? [])!;
        sessionRollups.push(sessionRollupOf(live, x, isVisitorSession(x, converted.has(x.id))));
      }
      for (const row of visitorRollupsOf(removed, views)) addVisitorRollup(visitorRollups, row);

      const options =
        cut.authenticatedBefore === null ? {} : { authenticatedBefore: cut.authenticatedBefore };
      const result = await f.store.purge(cut.before, options);
      const label = JSON.stringify(cut);
      expect(result.sessions, label).toBe(purged.length);
      expect(result.pageViews, label).toBe(removed.length);

      const sessionRows = await f.probe.rows<SessionRollup>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, landing_path AS "landingPath", exit_path AS "exitPath",
           is_bot AS "isBot", authenticated, visitor, referrer_host AS "referrerHost",
           utm_source AS "utmSource", utm_medium AS "utmMedium", utm_campaign AS "utmCampaign", device, browser,
           os, country, sessions::float8 AS sessions, page_views::float8 AS "pageViews",
           bounces::float8 AS bounces, duration_ms AS "durationMs"
         FROM ${s}.session_rollups`,
      );
      const expected = foldSessionRollups(sessionRollups);
      // One stored row per key: equal to the canonical fold without merging anything more.
      expect(sessionRows.length, label).toBe(expected.length);
      expect(foldSessionRollups(sessionRows), label).toEqual(expected);
      const visitorRows = await f.probe.rows<VisitorRollup>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, path, visitors::float8 AS visitors,
           visitors_with_bots::float8 AS "visitorsWithBots" FROM ${s}.visitor_rollups`,
      );
      expect(visitorRows.sort(byKey), label).toEqual([...visitorRollups.values()].sort(byKey));
    }
    expect(sessionRollups.some((r) => r.authenticated)).toBe(true);
    expect(sessionRollups.filter((r) => r.isBot).length).toBeGreaterThan(0);

    // Rollups hold no identifier: no visitor key, user id or session id of the purged data.
    const removedSessions = traffic.sessions.filter((x) => !sessions.includes(x));
    const ids = [
      removedSessions[0]!.visitorKey,
      removedSessions[0]!.id,
      ...removedSessions.flatMap((x) => x.userId ?? []),
    ];
    for (const id of ids) {
      const tables = await f.probe.tablesHolding(id);
      expect(tables).not.toContain('session_rollups');
      expect(tables).not.toContain('visitor_rollups');
    }
  });

  it('sessions of one key purged by different purges add up, and a visitor left with bot views only counts as one', async () => {
    const hour = 3_600_000;
    const day0 = T0 - 10 * DAY_MS - 12 * hour; // 00:00 of a day ten days back
    const day = dayOf(day0);
    // Two sessions alike in every key field, purged one at a time; the first visitor comes back as a bot.
    const first = visit('same-1', ['/', '/a'], { start: day0 + 8 * hour, visitorKey: 'k1' });
    const second = visit('same-2', ['/', '/a'], { start: day0 + 10 * hour, visitorKey: 'k2' });
    const bot = visit('bot-1', ['/a'], { start: day0 + 12 * hour, visitorKey: 'k1', isBot: true });
    const events = [first, second, bot].flatMap((v) => [...v.views.map(ev.view), ev.session(v.session)]);
    const memory = memoryStore();
    for (const store of [f.store, memory]) await store.write(batch(events, 'rollup-batch'));
    const read = async (store: Store) => {
      const out: unknown[] = [];
      for (const includeBots of [false, true]) {
        for (const path of [undefined, '/', '/a', '/*']) {
          const q = { from: day, to: day, includeBots, ...(path ? { path } : {}) };
          out.push(
            await store.sessions(q),
            await store.entryPages(q),
            await store.exitPages(q),
            await store.bots(q),
            (await store.conversions(q)).visitorSessions,
          );
          if (path !== '/*') out.push(await store.overview(q));
        }
      }
      return out;
    };
    const before = await read(f.store);
    expect(before).toEqual(await read(memory));
    for (const cut of [9, 11, 13]) {
      for (const store of [f.store, memory]) await store.purge(day0 + cut * hour);
      expect(await read(f.store), `purge at ${cut}:00`).toEqual(before);
      expect(await read(memory), `memory, purge at ${cut}:00`).toEqual(before);
    }
    const rows = await f.probe.rows<{ path: string | null; visitors: number; withBots: number }>(
      `SELECT path, visitors::int AS visitors, visitors_with_bots::int AS "withBots"
       FROM "${f.schema}".visitor_rollups ORDER BY path NULLS FIRST`,
    );
    expect(rows).toEqual([
      { path: null, visitors: 2, withBots: 2 },
      { path: '/', visitors: 2, withBots: 2 },
      { path: '/a', visitors: 2, withBots: 2 },
    ]);
    const sessions = await f.probe.rows<{ n: number; rows: number }>(
      `SELECT sum(sessions)::int AS n, count(*)::int AS rows FROM "${f.schema}".session_rollups WHERE NOT is_bot`,
    );
    expect(sessions).toEqual([{ n: 2, rows: 1 }]);
  });

  it('purges run at once from several stores fold each session once', async () => {
    await writeAll();
    const cut = startOf(traffic.days[2]!);
    const expected = await f.store.purge(cut, { dryRun: true, authenticatedBefore: cut });
    const stores = Array.from({ length: 4 }, () => postgresStore(backend.client, { schema: f.schema }));
    const results = await Promise.all(stores.map((s) => s.purge(cut, { authenticatedBefore: cut })));
    const total = results.reduce(
      (sum, r) => ({
        sessions: sum.sessions + r.sessions,
        pageViews: sum.pageViews + r.pageViews,
        metrics: sum.metrics + r.metrics,
      }),
      { sessions: 0, pageViews: 0, metrics: 0 },
    );
    expect(total).toEqual(expected);
    const [row] = await f.probe.rows<{ n: number }>(
      `SELECT sum(sessions)::int AS n FROM "${f.schema}".session_rollups`,
    );
    expect(row!.n).toBe(expected.sessions);
    for (const s of stores) await s.close();
  });

  it('a dry run counts what a purge with authenticatedBefore removes and changes nothing', async () => {
    await writeAll();
    const cut = startOf(traffic.days[2]!);
    const dry = await f.store.purge(cut, { dryRun: true, authenticatedBefore: cut });
    const rows = await f.probe.rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${f.schema}".session_rollups`,
    );
    expect(rows).toEqual([{ n: 0 }]);
    expect(await f.store.purge(cut, { authenticatedBefore: cut })).toEqual(dry);
  });

  it('bad purge options are invalid_input and change nothing', async () => {
    await writeAll(traffic.batches.slice(0, 5));
    const ids = await f.probe.pageViewIds();
    for (const options of [
      { authenticatedBefore: Number.NaN },
      { authenticatedBefore: '1' },
      { dryRun: 'yes' },
    ]) {
      await expect(f.store.purge(Date.now(), options as never)).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
    expect(await f.probe.pageViewIds()).toEqual(ids);
  });
});

describe.each(list)('claimDailyJob on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('prunes claims a month older than the day claimed, keeping the last week', async () => {
    const claim = f.store.claimDailyJob.bind(f.store);
    for (const day of ['2026-01-01', '2026-02-20', '2026-02-25'])
      expect(await claim('retention', day)).toBe(true);
    expect(await claim('retention', '2026-03-04')).toBe(true);
    const days = await f.probe.rows<{ day: string }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day FROM "${f.schema}".daily_jobs ORDER BY day`,
    );
    expect(days.map((d) => d.day)).toEqual(['2026-02-20', '2026-02-25', '2026-03-04']);
  });
});
