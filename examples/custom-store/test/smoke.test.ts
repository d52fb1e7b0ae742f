import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  batchOf,
  DAY_MS,
  FIXTURE_DAY,
  FIXTURE_NOW,
  finalSummary,
  fixtureSession,
  fixtureVisit,
  pageViewEvent,
  sessionEvent,
} from '@anon/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, start } from '../src/app.js';
import { arrayStore } from '../src/array-store.js';
import { loadTables, saveTables } from '../src/json-file.js';
import { createTables } from '../src/tables.js';

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
const ALL_DAYS = { from: '2000-01-01', to: '2999-12-31' };

// Everything is in this process: nothing to reach, nothing to skip.
describe('custom-store example', () => {
  let running: RunningExample;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anon-custom-store-'));
    running = await start({ port: 0 });
  });

  afterAll(async () => {
    await running?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a browser visit over HTTP shows in the top pages of the array store', async () => {
    for (const path of ['/', '/posts/1', '/posts/2', '/nowhere']) {
      const response = await fetch(`${running.url}${path}`, { headers: BROWSER });
      expect(response.status).toBe(path === '/nowhere' ? 404 : 200);
      await response.text();
    }
    await running.tracker.flush();
    const top = await running.store.topPages(ALL_DAYS);
    expect(top.map((r) => [r.path, r.views, r.uniqueVisitors])).toEqual([
      ['/posts/:id', 2, 1],
      ['/', 1, 1],
    ]);
    expect(running.tables.pageViews.map((v) => v.device)).toEqual(['mobile', 'mobile', 'mobile']);
  });

  it('the hand-written binding serves the beacon and the sign-up', async () => {
    const tooBig = await fetch(`${running.url}/_anon/e`, { method: 'POST', body: 'x'.repeat(5_000) });
    expect(tooBig.status).toBe(413);
    const invalid = await fetch(`${running.url}/_anon/e`, { method: 'POST', body: '{"t":"e"}' });
    expect(invalid.status).toBe(400);

    const signup = await fetch(`${running.url}/signup`, {
      method: 'POST',
      headers: BROWSER,
      redirect: 'manual',
    });
    expect(signup.status).toBe(303);
    await running.tracker.flush();
    const report = await running.store.conversions(ALL_DAYS);
    expect(report.signups).toBe(1);
    expect(report.byLandingPage).toEqual([{ path: '/', conversions: 1 }]);
  });

  it('tables saved as JSON reopen as the same store', async () => {
    await running.tracker.flush();
    const file = join(dir, 'tables.json');
    await saveTables(file, running.tables);
    const reopened = arrayStore(await loadTables(file));
    expect(await reopened.topPages(ALL_DAYS)).toEqual(await running.store.topPages(ALL_DAYS));
    expect(await reopened.conversions(ALL_DAYS)).toEqual(await running.store.conversions(ALL_DAYS));
    // The reopened store knows what it holds: replaying a stored view changes nothing.
    const view = running.tables.pageViews[0];
    expect(view).toBeDefined();
    expect(
      await reopened.write({ id: 'replay', events: [{ type: 'pageview', id: view?.id ?? '', view: view! }] }),
    ).toEqual({ applied: true, written: 0 });
  });

  it('purged sessions live on in the rollups, and the rollups and claims reopen from the file', async () => {
    const tables = createTables();
    const store = arrayStore(tables);
    // Two anonymous sessions alike in every rollup key field: one rollup row holds both once both are purged.
    const visit = async (target: typeof store) => {
      const session = fixtureSession();
      const views = fixtureVisit(session, ['/', '/posts/:id']);
      await target.write(batchOf([...views.map(pageViewEvent), sessionEvent(finalSummary(session, views))]));
    };
    const day = { from: FIXTURE_DAY, to: FIXTURE_DAY };
    await visit(store);
    const overview = await store.overview(day);
    expect(overview.total.sessions).toBe(1);
    expect(await store.purge(FIXTURE_NOW + DAY_MS)).toEqual({ sessions: 1, pageViews: 2, metrics: 0 });
    expect(tables.sessions).toEqual([]);
    expect(tables.sessionRollups).toMatchObject([{ day: FIXTURE_DAY, sessions: 1, pageViews: 2 }]);
    expect(await store.overview(day)).toEqual(overview);
    expect(await store.claimDailyJob?.('retention', FIXTURE_DAY)).toBe(true);

    const file = join(dir, 'purged.json');
    await saveTables(file, tables);
    const reopenedTables = await loadTables(file);
    const reopened = arrayStore(reopenedTables);
    expect(await reopened.overview(day)).toEqual(overview);
    expect(await reopened.claimDailyJob?.('retention', FIXTURE_DAY)).toBe(false);
    // The reopened store adds to the stored row rather than appending a second row of the same key.
    await visit(reopened);
    await reopened.purge(FIXTURE_NOW + DAY_MS);
    expect(reopenedTables.sessionRollups).toMatchObject([{ day: FIXTURE_DAY, sessions: 2, pageViews: 4 }]);
    expect((await reopened.sessions(day)).sessions).toBe(2);
  });
});
