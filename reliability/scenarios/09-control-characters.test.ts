import { createTracker, type Tracker } from '@anon/core';
import { memoryHotStore } from '@anon/core/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp, viewIdOf } from '../support/apps.js';
import { runCli } from '../support/cli.js';
import { type Database, openDatabase } from '../support/database.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, send } from '../support/http.js';
import { PG_URL, postgresMissing, required } from '../support/services.js';

const ok = required('Postgres', await postgresMissing());

/** Whether `text` holds a C0 or C1 control or DEL (what a terminal acts on); `\n` allowed when said. */
function hasControl(text: string, allowNewline = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (allowNewline && c === 0x0a) continue;
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
const TABLES = ['page_views', 'page_metrics', 'sessions', 'daily_aggregates', 'page_visitors', 'conversions'];

// Hole 9: control characters reached stored paths and referrers through the beacon, and `anon report`
// printed them raw to the operator's terminal.
describe.runIf(ok)('control characters in beacon URLs, referrers and UTM values', () => {
  let db: Database;
  let tracker: Tracker;
  let app: App;

  beforeAll(async () => {
    db = await openDatabase('control_chars');
    tracker = createTracker({ hot: memoryHotStore(), store: db.store, logger: quiet });
    app = await startApp('express', tracker);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('are not stored, in any column of any table', async () => {
    const ua = humanUa('escapes');
    const page = await send(app.port, '/?utm_source=%1B%5B31mred%07&utm_campaign=a%00b%C2%9Bc', {
      headers: browser(ua, { referer: 'https://ref.example/landing' }),
    });
    const navigations = [
      { u: '/x\u001b[31mred\u0007/y', r: 'https://evil.example/\u001b]0;pwned\u0007' },
      { u: '/line\r\nbreak?utm_medium=\u001b[2J', r: null },
    ];
    let from = viewIdOf(page.body);
    const answers = [page];
    for (const nav of navigations) {
      await tracker.flush();
      const answer = await send(app.port, '/_anon/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'user-agent': ua },
        body: JSON.stringify({ t: 'p', v: from, u: nav.u, r: nav.r }),
      });
      answers.push(answer);
      from = (JSON.parse(answer.body || '{}') as { v?: string }).v ?? '';
    }
    // close() finalizes the session, so its summary row is written with every path it saw.
    await tracker.close();
    const dirty: string[] = [];
    let rows = 0;
    for (const table of TABLES) {
      const all = await db.rows<{ row: string }>(`SELECT t::text AS row FROM $schema.${table} t`);
      rows += all.length;
      for (const { row } of all) if (hasControl(row)) dirty.push(`${table}: ${JSON.stringify(row)}`);
    }
    const views = await db.count('SELECT count(*) FROM $schema.page_views');
    report('9 control characters (stored rows)', {
      sent: 1 + navigations.length,
      stored: views,
      dropped: tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: { 'rows scanned': rows, 'rows with a control character': dirty.length },
    });
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(views).toBe(1 + navigations.length);
    expect(dirty).toEqual([]);
  });

  // `anon report` must escape what it prints even when a row holds a control character (a row written by an
  // older version, or by another writer): the CLI is the last printer between a store and a terminal.
  it('are not printed by `anon report`, even from a row that holds them', async () => {
    await db.rows(`INSERT INTO $schema.daily_aggregates (day, path, views) VALUES (current_date, $1, 7)`, [
      '/evil\u001b[2J\u001b]0;title\u0007\u009b31m',
    ]);
    const out = await runCli(['report', 'pages', '--pg-url', PG_URL, '--schema', db.schema]);
    const printed = out.stdout + out.stderr;
    report('9 control characters (anon report)', {
      sent: 1,
      stored: 1,
      dropped: 0,
      errors: out.code === 0 ? 0 : 1,
      extra: {
        'ESC printed': printed.includes('\u001b') ? 'yes' : 'no',
        'BEL printed': printed.includes('\u0007') ? 'yes' : 'no',
      },
    });
    expect(out.code).toBe(0);
    expect(printed).toContain('/evil');
    expect(hasControl(printed, true)).toBe(false);
  });
});
