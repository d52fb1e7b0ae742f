import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../support/database.js';
import { report } from '../support/figures.js';
import { browser, humanUa, send } from '../support/http.js';
import { Fixture } from '../support/processes.js';
import { PG_URL, postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

// Hole 8: SIGTERM after 30 visitors × 3 views left 30 sessions of an in-process hot store never finalized.
describe.runIf(ok)('SIGTERM to an app holding live sessions in a memory hot store', () => {
  const VISITORS = 30;
  const VIEWS = 3;
  let db: Database;
  let app: Fixture;

  beforeAll(async () => {
    db = await openDatabase('graceful');
    app = new Fixture('app-process.ts', {
      framework: 'express',
      hot: 'memory',
      pgUrl: PG_URL,
      schema: db.schema,
    });
  });
  afterAll(async () => {
    await app?.signal('SIGKILL');
    await db?.drop();
  });

  it('finalizes every session, with all its views, before the process exits', async () => {
    const { port } = (await app.next('ready')) as unknown as { port: number };
    const answers = [];
    for (let view = 0; view < VIEWS; view++) {
      for (let v = 0; v < VISITORS; v++) {
        answers.push(await send(port, `/posts/${view}`, { headers: browser(humanUa(`shutdown-${v}`)) }));
      }
    }
    const closed = app.next('closed');
    const exit = await app.signal('SIGTERM');
    const stats = ((await closed).stats ?? {}) as { dropped: number; failures: number };
    const sessions = await db.rows<{ page_views: number; ended: boolean }>(
      'SELECT page_views, ended_at IS NOT NULL AS ended FROM $schema.sessions',
    );
    const views = await db.count('SELECT count(*) FROM $schema.page_views');
    report('8 graceful shutdown (SIGTERM)', {
      sent: VISITORS * VIEWS,
      stored: views,
      dropped: stats.dropped,
      errors: answers.filter((a) => a.status !== 200).length + stats.failures,
      extra: {
        'sessions stored': sessions.length,
        finalized: sessions.filter((s) => s.ended).length,
        'with 3 views': sessions.filter((s) => s.page_views === VIEWS).length,
        'exit code': String(exit.code),
      },
    });
    expect(exit.code).toBe(0);
    expect(views).toBe(VISITORS * VIEWS);
    expect(sessions).toHaveLength(VISITORS);
    expect(sessions.every((s) => s.ended && s.page_views === VIEWS)).toBe(true);
  });
});
