// The root README's Install section, followed as a new user would, in an ESM and in a CommonJS app: install
// what its `pnpm add` lines name, no more (our packages from their packed tarballs, the rest from the npm registry),
// type-check its TypeScript block(s) under `strict` and NodeNext, run the app, make one browser request, stop
// it with SIGTERM, and check that it exits on its own and that the page view reached PGlite. Needs
// `pnpm build` first and the npm registry; every step has a time limit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, packWorkspace, root, scratch, sh } from './lib/packed.mjs';

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const install = readme.slice(readme.indexOf('\n## Install\n'));
// Every `pnpm add` line of the Install section's first shell block (`-D` ones too: the types a TypeScript user
// adds), and nothing else: what the README says to install is all the app gets.
const shell = /```sh\n([\s\S]*?)```/.exec(install)?.[1] ?? '';
const packages = [...shell.matchAll(/^\s*pnpm add ([^#\n]+)/gm)].flatMap((m) =>
  m[1]
    .trim()
    .split(/\s+/)
    .filter((word) => !word.startsWith('-')),
);
assert.ok(packages.length > 0, 'README: no `pnpm add` line in the Install section');
const code = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
assert.ok(code.includes('listen('), 'README: no TypeScript block that starts a server');

const work = scratch('anon-readme-');
const keep = process.env.ANON_KEEP_SCRATCH === '1';
try {
  mkdirSync(join(work, 'tarballs'));
  const ours = packWorkspace(
    packages.filter((p) => p.startsWith('@anon/')),
    join(work, 'tarballs'),
  );
  const theirs = packages.filter((p) => !p.startsWith('@anon/'));
  // One node_modules for both apps: each app is a folder whose package.json says its module type.
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'readme-check', private: true }));
  // Exactly the README's packages (typescript itself, the tool that checks the snippet, comes from this repository).
  sh('npm', ['i', '--no-audit', '--no-fund', '--loglevel=error', ...ours, ...theirs], { cwd: work });

  const port = 20_000 + Math.floor(Math.random() * 20_000);
  for (const type of ['module', 'commonjs']) {
    const app = join(work, type);
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ private: true, type }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          types: ['node'],
          // As `tsc --init` sets it: PGlite's declarations name Emscripten types it does not depend on.
          skipLibCheck: true,
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(app, 'src', 'app.ts'), code);
    console.log(`\n-- README snippet as ${type === 'module' ? 'ESM' : 'CommonJS'}`);
    sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { timeoutMs: 120_000 });
    await runOnce(app, port);
    const views = await capture(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { PGlite } from '@electric-sql/pglite';
         const db = new PGlite('./analytics');
         const one = async (sql) => (await db.query(sql)).rows[0].n;
         console.log(JSON.stringify({
           views: await one('SELECT count(*)::int AS n FROM anon.page_views'),
           sessions: await one('SELECT count(*)::int AS n FROM anon.sessions'),
         }));
         await db.close();`,
      ],
      { cwd: app },
    );
    assert.equal(views.code, 0, views.stderr);
    assert.deepEqual(JSON.parse(views.stdout), { views: 1, sessions: 1 }, 'the one request is one page view');
    console.log(`${type}: type-checks, serves, records the page view in PGlite, exits on SIGTERM`);
  }
} finally {
  if (keep) console.log(`scratch kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/** Start the compiled app, wait for it to listen, GET / as a browser, SIGTERM it, wait for a clean exit. */
async function runOnce(app, port) {
  const child = spawn(process.execPath, ['dist/app.js'], {
    cwd: app,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    await within(
      60_000,
      'the app to listen',
      () =>
        new Promise((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (chunk) => {
            out += chunk;
            process.stdout.write(chunk);
            if (out.includes('listening on')) resolve();
          });
          exited.then(() => reject(new Error(`the app exited before listening:\n${out}`)));
        }),
    );
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      headers: {
        accept: 'text/html,application/xhtml+xml',
        'user-agent':
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      },
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Hello/);
    child.kill('SIGTERM');
    const { code, signal } = await within(120_000, 'the app to exit after SIGTERM', () => exited);
    assert.equal(signal, null, `the app was killed by ${signal}`);
    assert.equal(code, 0, `the app exited with ${code}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** `fn()`, or a failure naming what did not happen in time. */
async function within(ms, what, fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
