/**
 * The drivers and adapters are optional peer dependencies of `@anon/cli`, loaded only by the command that needs
 * them: `npm i @anon/cli` stays small, and a project installs what it runs (it usually has them already).
 */

/** What a command loads on demand: a name for the message and the packages that provide it. */
export interface OptionalFeature {
  what: string;
  packages: readonly string[];
}

/** Every on-demand feature of the CLI and the packages it needs. */
export const OPTIONAL = {
  postgres: { what: 'PostgreSQL (--pg-url)', packages: ['@anon/postgres', 'pg'] },
  pglite: { what: 'PGlite (--pglite)', packages: ['@anon/postgres', '@electric-sql/pglite'] },
  mongo: { what: 'MongoDB (--mongo-url)', packages: ['@anon/mongo', 'mongodb'] },
  redis: { what: 'Redis (--redis-url)', packages: ['@anon/redis', 'ioredis'] },
  dashboard: { what: 'anon dashboard', packages: ['@anon/dashboard'] },
  demo: {
    what: 'anon demo',
    packages: ['@anon/postgres', '@electric-sql/pglite', '@anon/hono', 'hono', '@hono/node-server'],
  },
} as const satisfies Record<string, OptionalFeature>;

/** A package a command needs is not installed: said in one line with the install command (exit code 1). */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
}

/**
 * Run `load` (the feature's dynamic imports). When one of the feature's own packages cannot be found, throw a
 * {@link MissingPackageError} naming every one of them that is missing and the line that installs them; any other
 * failure passes through unchanged.
 */
export async function loadOptional<T>(feature: OptionalFeature, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const first = missingNamed(err, feature.packages);
    if (first === null) throw err;
    // The import stops at the first package it cannot find: look for the others, so one install line fixes all.
    const missing: string[] = [];
    for (const name of feature.packages) if (await isMissing(name)) missing.push(name);
    const absent = missing.length > 0 ? missing : [first];
    const one = absent.length === 1;
    throw new MissingPackageError(
      `${feature.what} needs ${listed(feature.packages)}; ${listed(absent)} ${one ? 'is' : 'are'} not installed. ` +
        `Install ${one ? 'it' : 'them'} in your project: npm i ${absent.join(' ')}`,
      { cause: err },
    );
  }
}

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');
}

/** Whether importing `name` fails because `name` itself cannot be found. */
async function isMissing(name: string): Promise<boolean> {
  try {
    await import(name);
    return false;
  } catch (err) {
    return missingNamed(err, [name]) !== null;
  }
}

/** The package of `candidates` a module-not-found error is about, or null for any other error. */
function missingNamed(err: unknown, candidates: readonly string[]): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  // ESM says ERR_MODULE_NOT_FOUND ("Cannot find package 'pg' imported from …"); the CommonJS build's require
  // says MODULE_NOT_FOUND ("Cannot find module 'pg'"). A package that is there but broken keeps its own error.
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return null;
  const message = err instanceof Error ? err.message : '';
  return candidates.find((name) => message.includes(`'${name}'`)) ?? null;
}
