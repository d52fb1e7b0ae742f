import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BEACON_MAX_BYTES } from '../src/beacon.js';
import {
  type AnonHandle,
  type BindingOptions,
  createBinding,
  DEFAULT_BEACON_PATH,
  readFetchBody,
  readNodeBody,
} from '../src/binding/index.js';
import type { Tracker } from '../src/engine/api.js';
import { createTracker } from '../src/engine/tracker.js';
import { isAnonError } from '../src/errors.js';
import { type MemoryStore, memoryStore } from '../src/memory/index.js';

/** The request of a framework-less app: what the kernel's `request` mapping and the hooks read. */
interface TestRequest {
  url: string;
  method?: string;
  route?: string;
  user?: string;
}

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

function bind(tracker: Tracker, options: BindingOptions<TestRequest> = {}) {
  return createBinding({
    framework: 'test',
    tracker,
    options: { getUserId: (req) => req.user, ...options },
    request: (req: TestRequest) => ({
      method: req.method ?? 'GET',
      url: req.url,
      headers: BROWSER,
      ip: '203.0.113.9',
      route: req.route,
    }),
  });
}

/** A real tracker whose every method throws (as the binding contract's does). */
function throwing(real: Tracker): Tracker {
  return new Proxy(real, {
    get(target, prop) {
      if (typeof Reflect.get(target, prop) !== 'function')
        throw new Error(`tracker.${String(prop)} exploded`);
      return () => {
        throw new Error(`tracker.${String(prop)}() exploded`);
      };
    },
  });
}

/** The real tracker with `newViewId` replaced: counted, or throwing. */
function withNewViewId(real: Tracker, newViewId: () => string): Tracker {
  return Object.create(real, { newViewId: { value: newViewId } }) as Tracker;
}

const body = (value: unknown) => () => Promise.resolve(value);

describe('createBinding', () => {
  let store: MemoryStore;
  let tracker: Tracker;
  beforeEach(() => {
    store = memoryStore();
    tracker = createTracker({ store, sweeper: false, ipMode: 'full' });
  });
  afterEach(() => tracker.close());

  async function views() {
    await tracker.flush();
    return store.dump().pageViews;
  }

  describe('the beacon endpoint', () => {
    it('answers 204 for a valid beacon, 400 for a bad one, 413 past the limit', async () => {
      const binding = bind(tracker);
      const beacon = binding.endpoint('POST', DEFAULT_BEACON_PATH)!;
      const req = { url: DEFAULT_BEACON_PATH, method: 'POST' };
      const status = async (read: () => Promise<unknown>) => (await binding.serve(beacon, req, read)).status;
      expect(await status(body('{"t":"e","v":"abc","sd":50}'))).toBe(204);
      expect(await status(body({ t: 'e', v: 'abc' }))).toBe(204);
      expect(await status(body('not json'))).toBe(400);
      expect(await status(body('{"t":"x"}'))).toBe(400);
      // The reader says "too large" (null), or hands over a string the tracker measures itself.
      expect(await status(body(null))).toBe(413);
      expect(await status(body(`{"t":"p","u":"/${'a'.repeat(BEACON_MAX_BYTES)}"}`))).toBe(413);
    });

    it('asks the body reader for at most BEACON_MAX_BYTES', async () => {
      const binding = bind(tracker);
      const asked: number[] = [];
      await binding.serve(binding.endpoints[0]!, { url: '/' }, async (maxBytes) => {
        asked.push(maxBytes);
        return '{"t":"e","v":"abc"}';
      });
      expect(asked).toEqual([BEACON_MAX_BYTES]);
    });

    it('answers 204, never a 5xx, when the tracker throws or the body cannot be read', async () => {
      const failing = bind(throwing(tracker));
      const beacon = failing.endpoints[0]!;
      expect(await failing.serve(beacon, { url: '/' }, body('{"t":"e","v":"abc"}'))).toEqual({ status: 204 });
      const binding = bind(tracker);
      const broken = () => Promise.reject(new Error('socket hang up'));
      expect(await binding.serve(beacon, { url: '/' }, broken)).toEqual({ status: 204 });
    });

    it('answers an SPA navigation with the new view id, recorded with the mapping and hooks applied', async () => {
      const binding = bind(tracker);
      // The page the navigation leaves: its view id is the one the page hands the browser script.
      const page = binding.open({ url: '/', user: 'user-7' });
      const from = page.viewId;
      binding.track(page, 200);
      await tracker.flush();
      const beacon = binding.endpoint('POST', '/_anon/e?x=1')!;
      const req = { url: '/_anon/e', method: 'POST', user: 'user-7' };
      const navigation = JSON.stringify({ t: 'p', v: from, u: '/spa/page' });
      const answer = await binding.serve(beacon, req, body(navigation));
      // The new view's id, for the browser script to report that page's engagement under.
      expect(answer).toMatchObject({ status: 200, headers: { 'content-type': 'application/json' } });
      const { v } = JSON.parse(answer.body ?? '{}') as { v?: string };
      const spa = (await views()).find((view) => view.url === '/spa/page');
      expect(spa).toMatchObject({ id: v, userId: 'user-7', authenticated: true });
    });

    it('answers on POST at the exact path only, query ignored; beaconPath moves it', () => {
      const binding = bind(tracker);
      expect(binding.endpoint('POST', '/_anon/e')?.path).toBe('/_anon/e');
      expect(binding.endpoint('POST', '/_anon/e?v=1')?.path).toBe('/_anon/e');
      for (const [method, url] of [
        ['GET', '/_anon/e'],
        ['post', '/_anon/e'],
        ['POST', '/_anon/e/'],
        ['POST', '/_anon/ex'],
        ['POST', '/collect'],
      ] as const) {
        expect(binding.endpoint(method, url), `${method} ${url}`).toBeNull();
      }
      const moved = bind(tracker, { beaconPath: '/collect' });
      expect(moved.endpoint('POST', '/collect')?.path).toBe('/collect');
      expect(moved.endpoint('POST', '/_anon/e')).toBeNull();
    });

    it('property: a request is the beacon iff it is a POST whose path before "?" is beaconPath', () => {
      const segment = fc.stringMatching(/^[a-z_.%-]{0,6}$/);
      const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`);
      fc.assert(
        fc.property(
          path,
          fc.oneof(path, fc.string()),
          fc.option(fc.string(), { nil: undefined }),
          fc.constantFrom('GET', 'POST', 'HEAD', 'PUT'),
          (beaconPath, requestPath, query, method) => {
            const binding = bind(tracker, { beaconPath });
            const url = query === undefined ? requestPath : `${requestPath}?${query}`;
            const expected = method === 'POST' && requestPath.split('?')[0] === beaconPath;
            expect(binding.endpoint(method, url) !== null).toBe(expected);
          },
        ),
      );
    });
  });

  describe('the handle', () => {
    it('allocates no view id until the page reads one, and records the one it read', async () => {
      let allocated = 0;
      const counting = withNewViewId(tracker, () => {
        allocated += 1;
        return tracker.newViewId();
      });
      const binding = bind(counting);
      const unread = binding.open({ url: '/posts/1', route: '/posts/:id' });
      binding.track(unread, 200);
      expect(allocated).toBe(0);

      const read = binding.open({ url: '/posts/2', route: '/posts/:id' });
      const viewId = read.viewId;
      expect(viewId).toMatch(/^[0-9A-Za-z_-]{1,64}$/);
      expect(read.viewId).toBe(viewId);
      expect(allocated).toBe(1);
      binding.track(read, 200);

      const stored = await views();
      expect(stored.map((v) => v.url).sort()).toEqual(['/posts/1', '/posts/2']);
      expect(stored.find((v) => v.url === '/posts/2')?.id).toBe(viewId);
      expect(stored.find((v) => v.url === '/posts/1')?.id).not.toBe(viewId);
    });

    it('reads a null view id when the tracker cannot allocate one, and still records the view', async () => {
      const binding = bind(
        withNewViewId(tracker, () => {
          throw new Error('no ids left');
        }),
      );
      const handle = binding.open({ url: '/' });
      expect(handle.viewId).toBeNull();
      binding.track(handle, 200);
      expect((await views()).map((v) => v.url)).toEqual(['/']);
    });

    it('identify works detached, and a signup after a page view converts', async () => {
      const binding = bind(tracker);
      binding.track(binding.open({ url: '/' }), 200);
      const { identify } = binding.open({ url: '/signup', method: 'POST' });
      await identify('new-user', 'signup');
      await tracker.flush();
      const day = new Date().toISOString().slice(0, 10);
      const report = await store.conversions({ from: day, to: day });
      expect(report.signups).toBe(1);
      expect(report.conversions[0]).toMatchObject({ userId: 'new-user' });
    });

    it('never throws or rejects when every tracker call throws', async () => {
      const binding = bind(throwing(tracker));
      const handle = binding.open({ url: '/' });
      expect(handle.viewId).toBeNull();
      await expect(handle.identify('user-1', 'login')).resolves.toBeUndefined();
      expect(() => binding.track(handle, 200)).not.toThrow();
      expect(tracker.stats().tracked).toBe(0);
    });

    it('records nothing for a handle it did not open (one the app replaced)', async () => {
      const binding = bind(tracker);
      const replaced: AnonHandle = { viewId: 'x', identify: async () => {} };
      binding.track(replaced, 200);
      binding.track(binding.open({ url: '/control' }), 200);
      expect((await views()).map((v) => v.url)).toEqual(['/control']);
    });
  });

  describe('hooks and the request mapping', () => {
    it('a hook that throws counts as unset; the others still apply', async () => {
      const binding = bind(tracker, {
        getUserId: () => {
          throw new Error('session store down');
        },
        scope: () => 'community:montreal',
        pageType: () => {
          throw new Error('bug');
        },
      });
      binding.track(binding.open({ url: '/posts/1', route: '/posts/:id', user: 'user-1' }), 200);
      const [view] = await views();
      expect(view).toMatchObject({
        path: '/posts/:id',
        userId: null,
        authenticated: false,
        scope: 'community:montreal',
        pageType: null,
      });
    });

    it('keeps a route pattern, and drops a catch-all for the normalized path', async () => {
      const binding = bind(tracker);
      binding.track(binding.open({ url: '/posts/1', route: '/posts/:id', user: 'u' }), 200);
      binding.track(binding.open({ url: '/files/a/b', route: '/files/*' }), 200);
      binding.track(binding.open({ url: '/about', route: '' }), 200);
      const stored = await views();
      expect(stored.map((v) => v.path).sort()).toEqual(['/about', '/files/a/b', '/posts/:id']);
      expect(stored.find((v) => v.path === '/posts/:id')).toMatchObject({ userId: 'u', pageType: null });
    });

    it('passes the status it is given, so a 404 is not a page view', async () => {
      const binding = bind(tracker);
      binding.track(binding.open({ url: '/missing' }), 404);
      binding.track(binding.open({ url: '/' }), 200);
      expect((await views()).map((v) => v.url)).toEqual(['/']);
      expect(tracker.stats().skippedBy.status).toBe(1);
    });

    it('a request mapping that throws skips that record only', async () => {
      const binding = createBinding({
        framework: 'test',
        tracker,
        options: {},
        request: (req: TestRequest) => {
          if (req.url === '/boom') throw new Error('framework internals changed');
          return { method: 'GET', url: req.url, headers: BROWSER, ip: null, route: null };
        },
      });
      const boom = binding.open({ url: '/boom' });
      expect(() => binding.track(boom, 200)).not.toThrow();
      await expect(boom.identify('u', 'login')).resolves.toBeUndefined();
      binding.track(binding.open({ url: '/' }), 200);
      expect((await views()).map((v) => v.url)).toEqual(['/']);
    });
  });

  it('refuses a beaconPath that is not a path, and a missing tracker, with invalid_config', () => {
    for (const beaconPath of ['collect', '/e?x=1', '/e#top', '']) {
      const error = (() => {
        try {
          bind(tracker, { beaconPath });
        } catch (e) {
          return e;
        }
      })();
      expect(isAnonError(error, 'invalid_config'), beaconPath).toBe(true);
      expect((error as Error).message).toMatch(/^\[anon\] \[test\] beaconPath/);
    }
    expect(() => bind(undefined as unknown as Tracker)).toThrow(/\[anon\] \[test\] pass the tracker/);
  });
});

describe('readNodeBody', () => {
  const stream = (chunks: string[], headers: Record<string, string> = {}) =>
    Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers });

  it('reads a body up to the limit as UTF-8, multi-byte characters split across chunks included', async () => {
    const bytes = Buffer.from('{"t":"p","u":"/café"}');
    const split = bytes.indexOf(0xa9); // the second byte of é
    const req = Object.assign(Readable.from([bytes.subarray(0, split), bytes.subarray(split)]), {
      headers: {},
    });
    expect(await readNodeBody(req, 2048)).toBe('{"t":"p","u":"/café"}');
    expect(await readNodeBody(stream([]), 2048)).toBe('');
  });

  it('resolves null past the limit, by Content-Length or by the bytes read, and drains the rest', async () => {
    expect(await readNodeBody(stream(['x'], { 'content-length': '2049' }), 2048)).toBeNull();
    const req = stream(Array.from({ length: 6 }, () => 'x'.repeat(1000)));
    expect(await readNodeBody(req, 2048)).toBeNull();
    // Drained to its end, not left paused: the connection stays usable for the 413.
    if (!req.readableEnded) await new Promise((resolve) => req.once('end', resolve));
    expect(req.readableEnded).toBe(true);
  });

  it("resolves '' when the upload is aborted", async () => {
    const req = Object.assign(new Readable({ read() {} }), { headers: {} });
    const read = readNodeBody(req, 2048);
    req.push('{"t":');
    req.destroy(new Error('aborted'));
    expect(await read).toBe('');
  });
});

describe('readFetchBody', () => {
  const chunked = (parts: string[]) =>
    new Request('http://x/', {
      method: 'POST',
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);

  it('reads a body up to the limit; none reads as empty', async () => {
    expect(await readFetchBody(chunked(['{"t":', '"e","v":"é"}']), 2048)).toBe('{"t":"e","v":"é"}');
    expect(await readFetchBody(new Request('http://x/'), 2048)).toBe('');
  });

  it('resolves null past the limit, by Content-Length or by the bytes read', async () => {
    const declared = new Request('http://x/', {
      method: 'POST',
      body: 'x',
      headers: { 'content-length': '4096' },
    });
    expect(await readFetchBody(declared, 2048)).toBeNull();
    expect(await readFetchBody(chunked(['x'.repeat(1500), 'x'.repeat(1500)]), 2048)).toBeNull();
    expect(await readFetchBody(chunked(['x'.repeat(1024), 'x'.repeat(1024)]), 2048)).toBe('x'.repeat(2048));
  });
});

describe('@anon/core/binding portability', () => {
  it('imports only core itself: no Node module, no framework, no Node globals', () => {
    const dir = fileURLToPath(new URL('../src/binding/', import.meta.url));
    const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));
    expect(files).toContain('index.ts');
    const specifiers: string[] = [];
    for (const name of files) {
      const source = readFileSync(join(dir, name), 'utf8');
      for (const [, specifier] of source.matchAll(/from '([^']+)'/g))
        specifiers.push(`${name}: ${specifier}`);
      expect(source, name).not.toMatch(/\bBuffer\b|\bprocess\.|require\(/);
    }
    // The pattern reads the imports at all (the kernel imports core's tracker types and errors).
    expect(specifiers.length).toBeGreaterThan(3);
    expect(specifiers.filter((line) => !/: \.\.?\//.test(line))).toEqual([]);
  });
});
