import { main } from '@anon/cli';
import { generateTraffic } from '@anon/testing';
import { describe, expect, it } from 'vitest';

export const traffic = generateTraffic({ seed: 7, visitors: 30, days: 2 });
export const range = ['--from', traffic.from, '--to', traffic.to];

/** Run the CLI in-process and capture what it prints. */
export async function run(args: string[], env: NodeJS.ProcessEnv = {}, stopSignal?: Promise<void>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env,
    ...(stopSignal ? { stopSignal } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const REPORT_SHAPES: [string, string[], (json: unknown) => void][] = [
  [
    'overview',
    [],
    (j) => {
      const o = j as { days: { pageViews: number }[]; total: { pageViews: number; uniqueVisitors: number } };
      expect(o.total.pageViews).toBeGreaterThan(0);
      expect(o.days.reduce((sum, d) => sum + d.pageViews, 0)).toBe(o.total.pageViews);
    },
  ],
  ['entry', [], (j) => expect((j as { sessions: number }[])[0]?.sessions).toBeGreaterThan(0)],
  ['exit', [], (j) => expect((j as { sessions: number }[])[0]?.sessions).toBeGreaterThan(0)],
  ['countries', [], (j) => expect(Array.isArray(j)).toBe(true)],
  ['pages', [], (j) => expect((j as { path: string }[])[0]).toHaveProperty('uniqueVisitors')],
  ['sessions', [], (j) => expect(j).toHaveProperty('bounceRate')],
  ['conversions', [], (j) => expect(j).toHaveProperty('conversionRate')],
  ['funnel', ['/', '/posts/*'], (j) => expect((j as unknown[]).length).toBe(2)],
  ['journeys', [], (j) => expect((j as { steps: string[] }[])[0]?.steps.length).toBeGreaterThan(0)],
  ['referrers', [], (j) => expect(Array.isArray(j)).toBe(true)],
  ['campaigns', [], (j) => expect(Array.isArray(j)).toBe(true)],
  ['devices', [], (j) => expect(j).toHaveProperty('browsers')],
  ['bots', [], (j) => expect((j as { views: number }).views).toBeGreaterThan(0)],
];

export function commandSuite(
  label: string,
  flags: () => string[],
  env: () => NodeJS.ProcessEnv = () => ({}),
) {
  describe(`anon CLI on ${label}`, () => {
    it('migrate on a store already migrated says it is up to date', async () => {
      const r = await run(['migrate', ...flags()], env());
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/ is up to date \(schema version \d+\)$/);
    });

    for (const [name, steps, check] of REPORT_SHAPES) {
      it(`report ${name} prints a table, and JSON with --json`, async () => {
        const text = await run(['report', name, ...steps, ...range, ...flags()], env());
        expect(text.code, text.err).toBe(0);
        expect(text.out.split('\n')[0]).toBe(`${name} · ${traffic.from} → ${traffic.to}`);
        expect(text.out).toMatch(/─{3,}/);
        const json = await run(['report', name, ...steps, ...range, '--json', ...flags()], env());
        expect(json.code, json.err).toBe(0);
        check(JSON.parse(json.out));
      });
    }

    it('report pages agrees with the brute-force truth', async () => {
      const json = await run(['report', 'pages', ...range, '--limit', '100', '--json', ...flags()], env());
      const expected = traffic.truth.topPages({ from: traffic.from, to: traffic.to, limit: 100 });
      expect(JSON.parse(json.out)).toEqual(JSON.parse(JSON.stringify(expected)));
    });

    it('purge --dry-run counts without removing, then purge removes the same', async () => {
      const dry = await run(['purge', '--older-than', '1d', '--dry-run', '--json', ...flags()], env());
      expect(dry.code, dry.err).toBe(0);
      const planned = JSON.parse(dry.out);
      expect(planned.dryRun).toBe(true);
      expect(planned.sessions).toBeGreaterThan(0);
      const again = JSON.parse(
        (await run(['purge', '--older-than', '1d', '--dry-run', '--json', ...flags()], env())).out,
      );
      expect(again.sessions).toBe(planned.sessions);
      const real = await run(['purge', '--older-than', '1d', ...flags()], env());
      expect(real.code, real.err).toBe(0);
      expect(real.out).toContain(`removed ${planned.sessions} sessions, ${planned.pageViews} page views`);
      const after = JSON.parse(
        (await run(['purge', '--older-than', '1d', '--dry-run', '--json', ...flags()], env())).out,
      );
      expect(after.sessions).toBe(0);
    });
  });
}
