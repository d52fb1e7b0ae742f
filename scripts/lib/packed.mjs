// Helpers for the checks that install the packed packages into a scratch app, as a user would.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** A fresh directory under the system temp dir. */
export function scratch(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run a command to completion, inheriting output; throws on a non-zero exit or after `timeoutMs`. */
export function sh(cmd, args, { cwd, timeoutMs = 300_000, env } = {}) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  execFileSync(cmd, args, {
    cwd,
    stdio: 'inherit',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...env },
  });
}

/** Run a command and return its stdout, stderr and exit code (never throws on a non-zero exit). */
export function capture(cmd, args, { cwd, timeoutMs = 60_000, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `@anon/x` → its directory under packages/. */
function packageDir(name) {
  return join(root, 'packages', name.replace(/^@anon\//, ''));
}

/**
 * `pnpm pack` the named workspace packages and every workspace package they depend on (pnpm turns
 * `workspace:^` into a version range, as on publish). Returns the tarball paths. Needs `pnpm build` first.
 */
export function packWorkspace(names, dest) {
  const seen = new Set();
  const queue = [...names];
  const tarballs = [];
  while (queue.length > 0) {
    const name = queue.shift();
    if (seen.has(name)) continue;
    seen.add(name);
    const dir = packageDir(name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
      if (String(range).startsWith('workspace:')) queue.push(dep);
    }
    const out = execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, encoding: 'utf8' });
    const tarball = out.trim().split('\n').at(-1);
    if (!tarball?.endsWith('.tgz')) throw new Error(`pnpm pack in ${dir} printed no tarball:\n${out}`);
    tarballs.push(tarball.startsWith('/') ? tarball : join(dest, tarball));
  }
  return tarballs;
}
