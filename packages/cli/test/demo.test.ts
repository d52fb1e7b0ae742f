import { describe, expect, it } from 'vitest';
import { run } from './support.js';

describe('anon demo', () => {
  it('drives traffic through the demo app over HTTP and prints every report, exit 0', async () => {
    const r = await run(['demo', '--visitors', '40', '--seed', '3']);
    expect(r.code, r.err).toBe(0);
    for (const title of [
      'Top pages',
      'Sessions',
      'Conversions',
      'Funnel',
      'Top journeys',
      'Referrers',
      'Devices',
      'Bots, kept apart',
    ]) {
      expect(r.out).toContain(`■ ${title}`);
    }
    const tracked = Number(/(\d+) page views tracked, (\d+) by bots/.exec(r.out)?.[1]);
    expect(tracked).toBeGreaterThan(40);
    expect(r.out).toMatch(/0 dropped, 0 failures/);
  }, 120_000);

  it("the header's finalized sessions are the Sessions table's plus the bot sessions", async () => {
    const r = await run(['demo', '--visitors', '40', '--seed', '3']);
    expect(r.code, r.err).toBe(0);
    const header = Number(/ · (\d+) sessions? finalized, bots included · /.exec(r.out)?.[1]);
    // The figures on the first row under each table's rule: sessions (people); bot views, bot sessions.
    const people = Number(/■ Sessions\nsessions .*\n[─ ]+\n\s*(\d+) /.exec(r.out)?.[1]);
    const bots = Number(/■ Bots, kept apart\nbot views .*\n[─ ]+\n\s*\d+\s+(\d+)/.exec(r.out)?.[1]);
    expect(people).toBeGreaterThan(0);
    expect(bots).toBeGreaterThan(0);
    expect(header).toBe(people + bots);
  }, 120_000);

  it('the same seed drives the same traffic', async () => {
    const a = await run(['demo', '--visitors', '10', '--seed', '9']);
    const b = await run(['demo', '--visitors', '10', '--seed', '9']);
    const strip = (s: string) => s.replace(/http:\/\/127\.0\.0\.1:\d+/g, '').replace(/· [\d.]+s$/m, '');
    expect(strip(a.out)).toBe(strip(b.out));
  }, 120_000);
});
