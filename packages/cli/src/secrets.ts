/**
 * The CLI prints where it connects (`worker: Redis redis://:***@host → Postgres …`) and the errors of drivers, and
 * neither may show a password: not in `user:password@`, not in the password-only form Redis uses
 * (`redis://:password@host`), not in a query parameter (`?password=`, which pg and ioredis both read).
 */

/** In free text: a URL's scheme and user name, then its password up to the last `@` before a space. */
const USER_INFO_IN_TEXT = /([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):(\S*)@/gi;
/** A query parameter carrying a credential: `password`, `sslpassword`, `pass`, `pwd`, `secret`, `token`, `apikey`. */
const SECRET_PARAM = /([?&;])([a-z_]*(?:pass|pwd|secret|token|api_?key)[a-z_]*)=([^&#\s]*)/gi;
/** Secrets this short are masked only where they sit in a URL: masked in free text they would mangle it. */
const MIN_FREE_TEXT_SECRET = 4;
const MASK = '***';

/** Where a value's user info starts: after its first `://` (`--pg-url=postgres://`), else at its start. */
function userInfoStart(value: string): number {
  const scheme = /^[^/]*?:\/\//.exec(value);
  return scheme ? scheme[0].length : 0;
}

/**
 * The parts of one URL-like value (a flag's value, an environment variable): the password is everything between
 * the first `:` of the user info and the value's last `@`, so one that holds `@`, `/` or a space (unencoded, as
 * people type them) is still all of it. Null when the value has no password.
 */
function splitPassword(value: string): { before: string; password: string; after: string } | null {
  const at = value.lastIndexOf('@');
  if (at < 0) return null;
  const start = userInfoStart(value);
  const colon = value.indexOf(':', start);
  if (colon < 0 || colon > at) return null;
  return { before: value.slice(0, colon + 1), password: value.slice(colon + 1, at), after: value.slice(at) };
}

/** One URL as given (valid or not), with its password and credential parameters shown as `***`. */
export function redactUrl(url: string): string {
  const parts = splitPassword(url);
  const masked = parts && parts.password !== '' ? `${parts.before}${MASK}${parts.after}` : url;
  return masked.replace(SECRET_PARAM, `$1$2=${MASK}`);
}

/** Any text, with the password and credential parameters of every URL in it shown as `***`. */
export function redactText(text: string): string {
  return text.replace(USER_INFO_IN_TEXT, `$1$2:${MASK}@`).replace(SECRET_PARAM, `$1$2=${MASK}`);
}

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The credentials in one URL-like value: its password and credential parameters, as written and decoded. */
export function secretsIn(value: string): string[] {
  const found = [...value.matchAll(SECRET_PARAM)].map((m) => m[3] as string);
  const parts = splitPassword(value);
  if (parts) found.push(parts.password);
  return [...new Set(found.flatMap((s) => [s, decoded(s)]))].filter((s) => s !== '' && s !== MASK);
}

/** Every credential the CLI may connect with: in its arguments and in the `ANON_*` environment variables. */
export function secretsOf(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const values = [...argv];
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('ANON_') && value !== undefined) values.push(value);
  }
  return values.flatMap(secretsIn);
}

/**
 * A function that masks, in any text, every URL's credentials and each of `secrets` (the credentials of the
 * command line and the environment): a driver's error message may quote a password without its URL.
 */
export function masker(secrets: readonly string[]): (text: string) => string {
  const literal = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_FREE_TEXT_SECRET)
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of literal) out = out.split(secret).join(MASK);
    return redactText(out);
  };
}
