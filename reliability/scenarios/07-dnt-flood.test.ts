import { createTracker, type Tracker } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, inParallel, send } from '../support/http.js';
import { postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

// Hole 7: DNT / Sec-GPC requests skipped the rate rule: 500 of 500 views from one IP and UA counted as human.
describe.runIf(ok)('a DNT / Sec-GPC flood from one IP and user agent', () => {
  const SENT = 500;
  let db: Database;
  let tracker: Tracker;
  let app: App;

  beforeAll(async () => {
    db = await openDatabase('dnt_flood');
    tracker = createTracker({ hot: memoryHotStore(), store: db.store, logger: quiet });
    app = await startApp('fastify', tracker);
  });
  afterAll(async () => {
    await app?.close();
    await tracker?.close();
    await db?.drop();
  });

  it('is rate-flagged as bot, as the same flood without the signal is', async () => {
    const limit = tracker.config.botMaxViewsPerMinute;
    const flood = (path: string, ua: string, signal: Record<string, string>) =>
      inParallel(SENT, 8, () => send(app.port, path, { headers: browser(ua, signal) }));
    const answers = [
      ...(await flood('/p/dnt', humanUa('dnt-flood'), { dnt: '1' })),
      ...(await flood('/p/gpc', humanUa('gpc-flood'), { 'sec-gpc': '1' })),
      ...(await flood('/p/plain', humanUa('plain-flood'), {})),
    ];
    await tracker.flush();
    const row = async (id: string) => {
      const [r] = await db.rows<{ views: string; bots: string }>(
        'SELECT sum(views) AS views, sum(bot_views) AS bots FROM $schema.daily_aggregates WHERE path = $1',
        [`/p/${id}`],
      );
      return { human: Number(r?.views ?? 0), bot: Number(r?.bots ?? 0) };
    };
    const dnt = await row('dnt');
    const gpc = await row('gpc');
    const plain = await row('plain');
    // Aggregate-only views carry no session: the DNT and GPC floods leave no session rows.
    const sessions = await db.count('SELECT count(*) FROM $schema.sessions');
    report('7 DNT/Sec-GPC flood', {
      sent: SENT * 3,
      stored: dnt.human + dnt.bot + gpc.human + gpc.bot + plain.human + plain.bot,
      dropped: tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: {
        'DNT human/bot': `${dnt.human}/${dnt.bot}`,
        'GPC human/bot': `${gpc.human}/${gpc.bot}`,
        'no signal human/bot': `${plain.human}/${plain.bot}`,
        'rate limit per minute': limit,
      },
    });
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const flood of [dnt, gpc, plain]) {
      expect(flood.human + flood.bot).toBe(SENT);
      // One minute boundary may fall inside the flood: at most two minutes' allowance counts as human.
      expect(flood.human).toBeLessThanOrEqual(2 * limit);
    }
    expect(sessions).toBe(1);
  });
});
