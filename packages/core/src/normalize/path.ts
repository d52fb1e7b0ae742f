/** A request target split by hand: parsing with `new URL()` on every request costs more than it gives. */
export interface RequestTarget {
  /** Host of an absolute URL, lower-cased, port kept; null for a plain path. */
  host: string | null;
  /** The path exactly as received (not yet normalized). */
  rawPath: string;
  /** The query string without `?` and without the fragment; '' when absent. */
  query: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Split a path (`/posts/1?x=1#top`) or an absolute URL (`https://Example.com/posts/1`) into its parts. */
export function splitTarget(url: string): RequestTarget {
  let rest = url;
  let host: string | null = null;
  const scheme = SCHEME.exec(rest);
  if (scheme !== null) {
    const afterScheme = scheme[0].length;
    let end = afterScheme;
    while (end < rest.length) {
      const c = rest.charCodeAt(end);
      if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
      end++;
    }
    host = hostOf(rest.slice(afterScheme, end));
    rest = rest.slice(end);
  }
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  if (question === -1) return { host, rawPath: rest, query: '' };
  return { host, rawPath: rest.slice(0, question), query: rest.slice(question + 1) };
}

/** The authority of a URL reduced to its lower-cased host and port (credentials dropped); null when empty. */
export function hostOf(authority: string): string | null {
  const at = authority.lastIndexOf('@');
  const host = (at === -1 ? authority : authority.slice(at + 1)).toLowerCase();
  return host === '' ? null : host;
}

/** A host without its port (`example.com:8080` → `example.com`, `[::1]:3000` → `[::1]`). */
export function hostname(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close === -1 ? host : host.slice(0, close + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * A path in the one form anon aggregates on: a leading `/`, repeated slashes collapsed, a trailing slash
 * folded (`/posts/` → `/posts`, `/` stays `/`), the query and fragment dropped, case kept.
 */
export function normalizePath(raw: string): string {
  let path = raw;
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash);
  const question = path.indexOf('?');
  if (question !== -1) path = path.slice(0, question);
  if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  if (path.charCodeAt(0) !== 47) path = `/${path}`;
  if (path.length > 1 && path.charCodeAt(path.length - 1) === 47) path = path.slice(0, -1);
  return path;
}

/** Extensions of files a browser fetches as sub-resources: never page views when no header says otherwise. */
const ASSET_EXTENSIONS = new Set([
  'js',
  'mjs',
  'cjs',
  'css',
  'map',
  'json',
  'xml',
  'txt',
  'webmanifest',
  'wasm',
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'ico',
  'webp',
  'avif',
  'bmp',
  'tif',
  'tiff',
  'heic',
  'woff',
  'woff2',
  'ttf',
  'otf',
  'eot',
  'mp4',
  'webm',
  'mp3',
  'ogg',
  'wav',
  'm4a',
  'mov',
  'zip',
  'gz',
  'br',
  'tar',
  'rar',
  '7z',
]);

/** True when the last segment of `path` ends in a static-asset extension (`/app.js`, `/img/logo.PNG`). */
export function isAssetPath(path: string): boolean {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash || dot === path.length - 1) return false;
  return ASSET_EXTENSIONS.has(path.slice(dot + 1).toLowerCase());
}

const EMAIL_SEGMENT = /^[^@/]+@[^@/]+\.[^@/.]+$/;

/**
 * A path with the secrets a URL can carry in its segments taken out: matrix parameters (`;jsessionid=…`, cut
 * from each segment) and e-mail addresses (a segment that is one, plain or `%40`-escaped, becomes `:email`).
 * The cheap `includes` checks keep the common path free of any work.
 */
export function redactPathSecrets(path: string): string {
  const semicolon = path.includes(';');
  const at = path.includes('@') || path.includes('%40');
  if (!semicolon && !at) return path;
  let segments = path.split('/');
  if (semicolon) segments = segments.map((segment) => segment.split(';', 1)[0]!);
  if (at) {
    segments = segments.map((segment) =>
      EMAIL_SEGMENT.test(segment.replace(/%40/gi, '@')) ? ':email' : segment,
    );
  }
  const joined = segments.join('/');
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}
