import type { PageView } from '@anon/core';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UnnestColumn } from '../src/sql.js';
import { copyData } from '../src/stage.js';
import { backends, type Fixture, freshStore } from './backends.js';
import { batch, ev, metric, T0, view, visit } from './fixtures.js';

// Every row a batch writes reaches the server as COPY text: a value that carried a tab, a newline, a backslash
// or `\N` as is would shift a column, split a row, or become null. These values must come back exactly (NUL,
// which Postgres text cannot hold, dropped).

const HOSTILE = [
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'crlf\r\n',
  'back\\slash',
  'ends with a backslash\\',
  '\\N',
  '\\.',
  '\\',
  '\t',
  '',
  `quotes ' " \` and $1::text`,
  'control \u0001\u0002\u0007\u0008\u000b\u000c\u001b\u001f\u007f characters',
  'astral 𝄞 😀 𐍈, combining é',
  'a\t\\N\n\\.\r\\t\\\\',
  `long ${'x\t\\'.repeat(200)}`,
];

/** What Postgres text can hold of `s`: everything but NUL. */
const stored = (s: string) => s.replaceAll('\u0000', '');

/**
 * Decodes COPY text as the server reads it: lines end at a raw newline, fields at a raw tab, `\N` is null and a
 * backslash escapes the next character (`\t`, `\n`, `\r` stand for tab, newline and carriage return).
 */
function readCopyText(bytes: Uint8Array): (string | null)[][] {
  const text = Buffer.from(bytes).toString('utf8');
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  return lines.map((line) =>
    line.split('\t').map((field) => {
      if (field === '\\N') return null;
      return field.replace(/\\(.)/gs, (_, c: string) =>
        c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c,
      );
    }),
  );
}

describe('COPY text', () => {
  const columns: UnnestColumn<(string | null)[]>[] = [0, 1, 2].map((i) => ({
    name: `c${i}`,
    type: 'text',
    value: (row) => row[i],
  }));
  // One character of any kind, the ones COPY treats specially much more often than chance would pick them.
  const unit = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('\t', '\n', '\r', '\\', '\u0000', 'N', '.', '\u0001', '\u007f') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  const field = fc.option(fc.string({ unit, maxLength: 40 }), { nil: null });

  it('every value comes back from the text it encodes, NUL dropped, null as null', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(field, field, field), { maxLength: 20 }), (rows) => {
        const decoded = readCopyText(copyData(columns, rows));
        expect(decoded).toEqual(rows.map((row) => row.map((v) => (v === null ? null : stored(v)))));
      }),
      { numRuns: 300 },
    );
  });

  it('a value never adds a field or a line, whatever it holds', () => {
    const rows = HOSTILE.map((s) => [s, s, null]);
    const text = Buffer.from(copyData(columns, rows)).toString('utf8');
    const lines = text.split('\n');
    expect(lines).toHaveLength(rows.length + 1);
    for (const line of lines.slice(0, -1)) expect(line.split('\t')).toHaveLength(3);
  });
});

const list = await backends();
afterAll(async () => {
  for (const b of list) await b.end();
});

describe.each(list)('hostile text through COPY on $name', (backend) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await freshStore(backend);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('page views, metrics and session summaries keep every text value exactly', async () => {
    const views: PageView[] = HOSTILE.map((s, i) =>
      view({
        id: `v${i}:${s}`,
        sessionId: `s${i}:${s}`,
        visitorKey: `k${i}:${s}`,
        userId: `u${i}:${s}`,
        authenticated: true,
        at: T0 + i,
        path: `/p${i}/${s}`,
        url: `/p${i}/${s}?q=${s}`,
        pageType: s,
        scope: s,
        referrer: s,
        referrerHost: s,
        utmSource: s,
        utmMedium: s,
        utmCampaign: s,
        utmTerm: s,
        utmContent: s,
        browser: s,
        os: s,
        country: s,
        city: s,
        ip: s,
        seq: i + 1,
      }),
    );
    const metrics = views.map((v, i) => metric(v, 'time_on_page', 1_000 + i));
    const sessions = HOSTILE.map((s, i) => {
      const { session } = visit(`s${i}:${s}`, [`/p${i}/${s}`, `/exit/${s}`], {
        visitorKey: `k${i}:${s}`,
        userId: `u${i}:${s}`,
        referrer: s,
        referrerHost: s,
        utmSource: s,
        utmMedium: s,
        utmCampaign: s,
        utmTerm: s,
        utmContent: s,
        browser: s,
        os: s,
        country: s,
        city: s,
        convertedUserId: `c${i}:${s}`,
        convertedAt: T0 + 30_000,
      });
      return session;
    });
    const events = [...views.map(ev.view), ...metrics.map(ev.metric), ...sessions.map(ev.session)];
    expect(await f.store.write(batch(events))).toEqual({ applied: true, written: events.length });

    const s = `"${f.schema}"`;
    const viewRows = await f.probe.rows<Record<string, unknown>>(
      `SELECT id, session_id, visitor_key, user_id, path, url, page_type, scope, referrer, referrer_host, utm_source,
         utm_medium, utm_campaign, utm_term, utm_content, browser, os, country, city, ip, seq
       FROM ${s}.page_views`,
    );
    const byId = new Map(viewRows.map((r) => [r.id, r]));
    for (const v of views) {
      expect(byId.get(v.id), JSON.stringify(v.id)).toEqual({
        id: v.id,
        session_id: v.sessionId,
        visitor_key: v.visitorKey,
        user_id: v.userId,
        path: v.path,
        url: v.url,
        page_type: v.pageType,
        scope: v.scope,
        referrer: v.referrer,
        referrer_host: v.referrerHost,
        utm_source: v.utmSource,
        utm_medium: v.utmMedium,
        utm_campaign: v.utmCampaign,
        utm_term: v.utmTerm,
        utm_content: v.utmContent,
        browser: v.browser,
        os: v.os,
        country: v.country,
        city: v.city,
        ip: v.ip,
        seq: v.seq,
      });
    }
    const metricRows = await f.probe.rows<{ view_id: string; session_id: string; path: string }>(
      `SELECT view_id, session_id, path FROM ${s}.page_metrics`,
    );
    expect(metricRows.sort((a, b) => (a.view_id < b.view_id ? -1 : 1))).toEqual(
      metrics
        .map((m) => ({ view_id: m.viewId, session_id: m.sessionId, path: m.path }))
        .sort((a, b) => (a.view_id < b.view_id ? -1 : 1)),
    );
    for (const session of sessions) {
      expect(await f.probe.session(session.id), JSON.stringify(session.id)).toEqual(session);
    }
  });

  it('NUL is dropped from every text value, the rest of the value kept', async () => {
    const v = view({ id: 'v\u0000nul', path: '/a\u0000b\t', referrer: '\u0000\\N\u0000', city: '\u0000' });
    await f.store.write(batch([ev.view(v)]));
    const rows = await f.probe.rows(`SELECT id, path, referrer, city FROM "${f.schema}".page_views`);
    expect(rows).toEqual([{ id: 'vnul', path: '/ab\t', referrer: '\\N', city: '' }]);
  });
});
