import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOptional, MissingPackageError } from '../src/optional-packages.js';
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
    [['migrate', '--pg-url', 'mysql://db/app'], /PostgreSQL URL .* has the scheme mysql:\/\//],
    [['migrate', '--mongo-url', 'localhost:27017'], /MongoDB URL .* expected a URL like mongodb:\/\//],
    [
      ['report', 'realtime', '--pglite', ':memory:', '--redis-url', '127.0.0.1'],
      /Redis URL .* is not a valid URL/,
    ],
  ])('anon %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain('--help');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('an invalid URL is named, with an example that survives the password masking', async () => {
    const r = await run(['migrate', '--pg-url', 'not a url']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'anon: the PostgreSQL URL (--pg-url / ANON_PG_URL) is not a valid URL: "not a url"; expected a URL like ' +
        "postgres://user@host:5432/database\nRun 'anon migrate --help' for usage.",
    );
  });

  it.each([
    [['--pglite', ':memory:', '--pg-url', 'postgres://postgres@127.0.0.1:1/test'], '--pglite and --pg-url'],
    [['--pg-url', 'postgres://db/app', '--mongo-url', 'mongodb://db/app'], '--pg-url and --mongo-url'],
    [
      ['--pglite', ':memory:', '--pg-url', 'postgres://db/app', '--mongo-url', 'mongodb://db/app'],
      '--pglite, --pg-url and --mongo-url',
    ],
  ])('two store flags are a usage error, not a silent choice: anon migrate %j', async (flags, named) => {
    const r = await run(['migrate', ...flags]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `anon: ${named} each name a store: give one of them\nRun 'anon migrate --help' for usage.`,
    );
  });

  it('a store flag wins over a store of another kind in the environment', async () => {
    // The MongoDB URL of the flag is the one checked (and refused), not the environment's Postgres URL.
    const r = await run(['migrate', '--mongo-url', 'localhost:27017'], {
      ANON_PG_URL: 'postgres://postgres@127.0.0.1:1/x',
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^anon: the MongoDB URL \(--mongo-url \/ ANON_MONGO_URL\) has the scheme localhost:/,
    );
  });

  it('an unreachable database exits 1 and says what to check', async () => {
    const r = await run(['migrate', '--pg-url', 'postgres://postgres@127.0.0.1:1/test']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/test/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('an invalid URL in the environment is named as such', async () => {
    const r = await run(['migrate'], { ANON_PG_URL: 'postgres//nohost' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ANON_PG_URL\) is not a valid URL: "postgres\/\/nohost"/);
  });

  it('an AnonError is printed once prefixed: "anon: [postgres] …", not "anon: [anon] [postgres] …"', async () => {
    const r = await run(['migrate', '--pglite', ':memory:', '--schema', 'Not-A-Schema']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^anon: \[postgres\] .*schema/);
    expect(r.err).not.toContain('[anon]');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('anon --version prints the version of @anon/cli', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(version);
    }
  });

  it('every missing package of a feature is named, with the line that installs them', async () => {
    const feature = {
      what: 'Thing (--thing-url)',
      packages: ['@anon/not-installed', 'not-installed-driver'],
    };
    // The import fails on the driver alone; the adapter is missing too, and the message says so.
    const err = await loadOptional(feature, () => import('not-installed-driver' as string)).catch((e) => e);
    expect(err).toBeInstanceOf(MissingPackageError);
    expect(err.message).toBe(
      'Thing (--thing-url) needs @anon/not-installed and not-installed-driver; @anon/not-installed and ' +
        'not-installed-driver are not installed. Install them in your project: npm i @anon/not-installed ' +
        'not-installed-driver',
    );
  });

  it('one missing package of a feature is "it", and the install line names it alone', async () => {
    // hono is installed (a dev dependency of the CLI): only the driver is missing.
    const feature = { what: 'Thing (--thing-url)', packages: ['hono', 'not-installed-driver'] };
    const err = await loadOptional(feature, () => import('not-installed-driver' as string)).catch((e) => e);
    expect(err).toBeInstanceOf(MissingPackageError);
    expect(err.message).toBe(
      'Thing (--thing-url) needs hono and not-installed-driver; not-installed-driver is not installed. ' +
        'Install it in your project: npm i not-installed-driver',
    );
    const single = await loadOptional(
      { what: 'anon thing', packages: ['not-installed-driver'] },
      () => import('not-installed-driver' as string),
    ).catch((e) => e);
    expect(single.message).toBe(
      'anon thing needs not-installed-driver; not-installed-driver is not installed. ' +
        'Install it in your project: npm i not-installed-driver',
    );
  });

  it('an error that is not a missing package of the feature passes through unchanged', async () => {
    const broken = new Error('driver exploded');
    await expect(loadOptional({ what: 'x', packages: ['pg'] }, () => Promise.reject(broken))).rejects.toBe(
      broken,
    );
    const other = await loadOptional(
      { what: 'x', packages: ['pg'] },
      () => import('some-other-missing' as string),
    ).catch((e) => e);
    expect(other).not.toBeInstanceOf(MissingPackageError);
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
