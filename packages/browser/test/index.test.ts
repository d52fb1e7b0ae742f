import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  SCRIPT,
  SCRIPT_ETAG,
  SCRIPT_GZIP_BYTES,
  SCRIPT_PATH,
  SCRIPT_VERSION,
  scriptResponse,
  scriptTag,
} from '@anon/browser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('the page script', () => {
  it('is at most 1 KB minified and gzipped, and its ETag and version are its hash', () => {
    expect(gzipSync(SCRIPT, { level: 9 }).byteLength).toBe(SCRIPT_GZIP_BYTES);
    expect(SCRIPT_GZIP_BYTES).toBeLessThanOrEqual(1024);
    const hash = createHash('sha256').update(SCRIPT).digest('base64url');
    expect(SCRIPT_ETAG).toBe(`"${hash.slice(0, 22)}"`);
    expect(SCRIPT_VERSION).toBe(hash.slice(0, 10));
  });

  it('uses no cookie, no storage and nothing that fingerprints', () => {
    for (const api of [
      'cookie',
      'localStorage',
      'sessionStorage',
      'indexedDB',
      'canvas',
      'userAgent',
      'plugins',
    ]) {
      expect(SCRIPT).not.toContain(api);
    }
  });

  it('src/generated/script.ts is what the build makes of src/script/', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['scripts/build-script.mjs', '--check'], { cwd: root });
    expect(stdout).toMatch(/bytes gzipped \(budget 1024\)/);
  });
});

describe('scriptTag', () => {
  it('renders a deferred tag with the versioned src and the view id', () => {
    expect(scriptTag({ viewId: '0190a1b2-c3d4' })).toBe(
      `<script defer src="${SCRIPT_PATH}?v=${SCRIPT_VERSION}" data-view="0190a1b2-c3d4"></script>`,
    );
  });

  it('leaves out a missing view id and the default beacon path, and names any other', () => {
    expect(scriptTag({ src: '/a.js', viewId: null, beaconPath: '/_anon/e' })).toBe(
      '<script defer src="/a.js"></script>',
    );
    expect(scriptTag({ src: '/a.js', viewId: 'v', beaconPath: '/t/e', nonce: 'n0' })).toBe(
      '<script defer src="/a.js" data-view="v" data-beacon="/t/e" nonce="n0"></script>',
    );
  });

  it('escapes every attribute: no value ever leaves its quotes', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (src, viewId, beaconPath) => {
        const tag = scriptTag({ src, viewId: viewId || 'v', beaconPath: beaconPath || '/b' });
        const inside = tag.slice('<script '.length, -'></script>'.length);
        expect(inside).not.toMatch(/[<>']|&(?!#\d+;)/);
        // Every attribute is name="value" with no quote inside a value.
        expect(inside).toMatch(/^defer( [a-z-]+="[^"]*")+$/);
      }),
    );
  });
});

describe('scriptResponse', () => {
  it('answers 200 with the script, its ETag and a year of max-age', () => {
    expect(scriptResponse()).toEqual({
      status: 200,
      body: SCRIPT,
      headers: {
        'content-type': 'text/javascript; charset=utf-8',
        etag: SCRIPT_ETAG,
        'cache-control': 'public, max-age=31536000',
      },
    });
  });

  it('answers 304 without a body when If-None-Match names the ETag, weakly or in a list, or is *', () => {
    for (const header of [SCRIPT_ETAG, `W/${SCRIPT_ETAG}`, `"x", ${SCRIPT_ETAG}`, '*']) {
      expect(scriptResponse(header)).toMatchObject({ status: 304, body: null });
    }
    expect(scriptResponse('"other"')).toMatchObject({ status: 200, body: SCRIPT });
    expect(scriptResponse(null).status).toBe(200);
  });
});
