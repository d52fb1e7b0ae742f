// `npm i @anon/cli` from its packed tarball, as a user would (optional peers are not installed): the install
// stays under 5 MB, `anon --version` works, and a command whose driver is missing names the packages to install
// instead of crashing. Needs `pnpm build` first; installs nothing from the registry but @anon/cli's own
// dependencies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, packWorkspace, root, scratch, sh } from './lib/packed.mjs';

const LIMIT_KB = 5 * 1024;

const work = scratch('anon-cli-install-');
try {
  mkdirSync(join(work, 'tarballs'));
  const tarballs = packWorkspace(['@anon/cli'], join(work, 'tarballs'));
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'cli-install-check', private: true }));
  sh('npm', ['i', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: work });

  const kb = Number(
    execFileSync('du', ['-sk', 'node_modules'], { cwd: work, encoding: 'utf8' }).split('\t')[0],
  );
  const installed = execFileSync('ls', ['node_modules', 'node_modules/@anon'], {
    cwd: work,
    encoding: 'utf8',
  });
  console.log(`npm i @anon/cli: node_modules is ${(kb / 1024).toFixed(1)} MB\n${installed}`);
  assert.ok(kb < LIMIT_KB, `@anon/cli installs ${kb} KB, over the ${LIMIT_KB} KB budget`);
  // The CLI ships no sourcemaps and not the CommonJS copy of its bin, which nothing runs (`bin` is dist/bin.js).
  const shipped = readdirSync(join(work, 'node_modules/@anon/cli/dist'));
  const unwanted = shipped.filter((f) => f.endsWith('.map') || (f.startsWith('bin.') && f !== 'bin.js'));
  assert.deepEqual(unwanted, [], `@anon/cli ships ${unwanted.join(', ')}`);
  assert.ok(
    shipped.includes('bin.js') && shipped.includes('index.cjs'),
    `@anon/cli ships ${shipped.join(', ')}`,
  );

  const anon = (...args) => capture(join(work, 'node_modules/.bin/anon'), args, { cwd: work });
  const { version } = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8'));
  const v = await anon('--version');
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), version);

  const pglite = await anon('migrate', '--pglite', join(work, 'db'));
  assert.equal(pglite.code, 1, pglite.stderr);
  assert.equal(
    pglite.stderr,
    'anon: PGlite (--pglite) needs @anon/postgres and @electric-sql/pglite; @anon/postgres and ' +
      '@electric-sql/pglite are not installed. Install them in your project: npm i @anon/postgres ' +
      '@electric-sql/pglite\n',
  );

  const redis = await anon('worker', '--pglite', ':memory:', '--redis-url', 'redis://127.0.0.1:6379');
  assert.equal(redis.code, 1, redis.stderr);
  assert.match(redis.stderr, /npm i @anon\/postgres @electric-sql\/pglite/);

  const url = await anon('migrate', '--pg-url', 'not a url');
  assert.equal(url.code, 2, url.stderr);
  assert.equal(
    url.stderr,
    'anon: the PostgreSQL URL (--pg-url / ANON_PG_URL) is not a valid URL: "not a url"; expected a URL like ' +
      "postgres://user@host:5432/database\nRun 'anon migrate --help' for usage.\n",
  );
  console.log(
    `@anon/cli: ${(kb / 1024).toFixed(1)} MB installed; --version and missing-driver messages work`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
