import { describe, expect, it } from 'vitest';
import { run } from './support.js';

describe('usage errors exit 2 and failures exit 1, without stack traces', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['report'], /report needs a name/],
    [['report', 'nope', '--pglite', ':memory:'], /unknown report "nope"/],
    [['report', 'pages', '--from', '2026-13-45', '--pglite', ':memory:'], /--from takes a day/],
    [['report', 'pages', '--to', '2026-11-31', '--pglite', ':memory:'], /--to takes a day/],
    [['report', 'pages', '--from', '2026-02-02', '--to', '2026-01-01', '--pglite', ':memory:'], /is after/],
    [['report', 'pages', '--limit', '0', '--pglite', ':memory:'], /--limit/],
    [['report', 'funnel', '--pglite', ':memory:'], /funnel takes its steps/],
    [['report', 'pages', '--bogus'], /bogus/],
    [['purge', '--pglite', ':memory:'], /--older-than/],
    [['purge', '--older-than', 'ninety days', '--pglite', ':memory:'], /duration/],
    [['migrate'], /no store configured/],
    [['report', 'realtime', '--pglite', ':memory:'], /needs Redis/],
  ])('anon %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain('--help');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('an unreachable database exits 1 and says what to check', async () => {
    const r = await run(['migrate', '--pg-url', 'postgres://postgres@127.0.0.1:1/test']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/test/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('an unreachable Redis exits 1', async () => {
    const r = await run(['report', 'realtime', '--pglite', ':memory:', '--redis-url', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not reach Redis/);
  });

  it.each([
    ['--help'],
    ['migrate', '--help'],
    ['report', '--help'],
    ['worker', '--help'],
    ['purge', '--help'],
    ['demo', '--help'],
  ])('anon %j prints usage and exits 0', async (...args) => {
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: anon/);
  });
});
