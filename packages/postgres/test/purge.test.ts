import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/index.js';
import { backends, type Fixture, freshStore } from './backends.js';
import { batch, conversion, DAY_MS, dayOf, ev, metric, T0, view, visit } from './fixtures.js';

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

const compact = (day: string) => day.replaceAll('-', '');

describe.each(list)('retention on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('a 90-day purge removes old anonymous rows, drops whole partitions it can, and keeps aggregates', async () => {
    const now = T0;
    const before = now - 90 * DAY_MS;
    const veryOld = before - 30 * DAY_MS; // a day holding only purgeable rows: its partitions can be dropped
    const old = before - 10 * DAY_MS; // a day also holding rows to keep: rows are deleted one by one
    const anonymousOld = visit('anon-very-old', ['/', '/a'], { start: veryOld });
    const dntOld = view({ sessionId: null, visitorKey: null, seq: 0, at: veryOld + 5_000, path: '/dnt' });
    const anonymous = visit('anon-old', ['/', '/b'], { start: old });
    const member = visit('member-old', ['/account'], { start: old + 1_000, userId: 'u-member' });
    const converted = visit('converted-old', ['/pricing'], { start: old + 2_000 });
    const recent = visit('anon-recent', ['/new'], { start: now });
    const signup = conversion({ userId: 'u-conv', sessionIds: ['converted-old'], at: old + 60_000 });
    const metrics = [
      metric(anonymousOld.views[0]!, 'time_on_page', 1_000),
      metric(anonymous.views[0]!, 'time_on_page', 2_000),
      metric(member.views[0]!, 'scroll_depth', 80),
    ];
    const visits = [anonymousOld, anonymous, member, converted, recent];
    await f.store.write(
      batch([
        ...visits.flatMap((v) => [...v.views.map(ev.view), ev.session(v.session)]),
        ev.view(dntOld),
        ...metrics.map(ev.metric),
      ]),
    );
    await f.store.write(batch([ev.conversion(signup)]));
    const aggregatesBefore = await f.probe.aggregates();
    expect(await f.probe.partitionDays()).toContain(dayOf(veryOld));

    const expected = { sessions: 2, pageViews: 5, metrics: 2 };
    expect(await f.store.purge(before, { dryRun: true })).toEqual(expected);
    expect((await f.probe.pageViewIds()).length).toBe(8);

    expect(await f.store.purge(before)).toEqual(expected);
    const kept = [...member.views, ...converted.views, ...recent.views].map((v) => v.id).sort();
    expect(await f.probe.pageViewIds()).toEqual(kept);
    expect(await f.probe.metricIds()).toEqual([`${member.views[0]!.id}:scroll_depth`]);
    const sessions = await f.probe.rows<{ id: string }>(`SELECT id FROM "${f.schema}".sessions ORDER BY id`);
    expect(sessions.map((s) => s.id)).toEqual(['anon-recent', 'converted-old', 'member-old']);
    expect(await f.probe.aggregates()).toEqual(aggregatesBefore);
    expect(await f.probe.conversionIds()).toEqual([signup.id]);

    // The very old day held nothing to keep: its partitions are gone, not just emptied.
    const days = await f.probe.partitionDays();
    expect(days).not.toContain(dayOf(veryOld));
    expect(await f.probe.partitionDays('page_metrics')).not.toContain(dayOf(veryOld));
    expect(days).toContain(dayOf(old));
    // Unique-visitor sets of days before the cut-off are not needed any more.
    expect(await f.probe.partitionDays('page_visitors')).not.toContain(dayOf(old));
    const uniques = await f.probe.rows(`SELECT 1 FROM "${f.schema}".page_visitors WHERE day < $1::date`, [
      dayOf(before),
    ]);
    expect(uniques).toEqual([]);

    expect(await f.store.purge(before)).toEqual({ sessions: 0, pageViews: 0, metrics: 0 });
  });

  it('a store whose cached partition was dropped by another store recreates it and writes', async () => {
    const old = T0 - 200 * DAY_MS;
    const other = postgresStore(backend.client, { schema: f.schema, partitionsAhead: 0 });
    const first = visit('gone', ['/'], { start: old });
    await f.store.write(batch([...first.views.map(ev.view), ev.session(first.session)]));
    expect(await other.purge(T0)).toEqual({ sessions: 1, pageViews: 1, metrics: 0 });
    const table = `page_views_p${compact(dayOf(old))}`;
    const gone = await f.probe.rows(`SELECT to_regclass($1) AS t`, [`"${f.schema}".${table}`]);
    expect(gone).toEqual([{ t: null }]);

    // f.store still believes the partition exists; the write must notice and recreate it.
    const late = view({ at: old + 1_000, path: '/late', sessionId: null, visitorKey: null, seq: 0 });
    expect(await f.store.write(batch([ev.view(late)]))).toEqual({ applied: true, written: 1 });
    expect(await f.probe.pageViewIds()).toEqual([late.id]);
    await other.close();
  });
});
