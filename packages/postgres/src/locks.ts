/** First key of every advisory lock the store takes ('anon' in ASCII), so ours never collide with an app's. */
const LOCK_CLASS = 0x616e6f6e;

/** FNV-1a, 32 bits, as a signed int4: a stable lock key for a name. */
function hash32(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

type Purpose = 'migrate' | 'partitions' | 'purge' | 'bot-sessions' | 'statements';

/** The two int4 keys of the advisory lock named `purpose` for `schema`. */
export function advisoryLockKeys(schema: string, purpose: Purpose): [number, number] {
  return [LOCK_CLASS, hash32(`${purpose}:${schema}`)];
}

/** SQL and parameters taking a transaction-scoped advisory lock named `purpose` for `schema`. */
export function advisoryLock(schema: string, purpose: Purpose): [string, unknown[]] {
  return ['SELECT pg_advisory_xact_lock($1::int, $2::int)', advisoryLockKeys(schema, purpose)];
}
