import { describe, expect, it } from 'vitest';
import { hostname, isAssetPath, normalizePath, splitTarget } from '../src/normalize/path.js';
import { truncate } from '../src/normalize/truncate.js';

describe('path normalization', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['/posts/', '/posts'],
    ['/posts//42///comments/', '/posts/42/comments'],
    ['//', '/'],
    ['/Posts/ABC', '/Posts/ABC'],
    ['posts/1', '/posts/1'],
    ['/search?q=x#top', '/search'],
    ['/docs#intro', '/docs'],
    ['/posts/:id/', '/posts/:id'],
  ])('%j → %j', (raw, expected) => {
    expect(normalizePath(raw)).toBe(expected);
  });
});

describe('request target split', () => {
  it('keeps a plain path and its query, dropping the fragment', () => {
    expect(splitTarget('/a/b?x=1&y=2#frag')).toEqual({ host: null, rawPath: '/a/b', query: 'x=1&y=2' });
    expect(splitTarget('/a#frag?notquery')).toEqual({ host: null, rawPath: '/a', query: '' });
  });

  it('drops scheme and host of an absolute URL, lower-casing the host and dropping credentials', () => {
    expect(splitTarget('https://user:pw@Example.COM:8443/Blog/?utm_source=x')).toEqual({
      host: 'example.com:8443',
      rawPath: '/Blog/',
      query: 'utm_source=x',
    });
    expect(splitTarget('HTTP://Example.com')).toEqual({ host: 'example.com', rawPath: '', query: '' });
    expect(splitTarget('http:///path')).toEqual({ host: null, rawPath: '/path', query: '' });
  });

  it('hostname drops a port, also after an IPv6 literal', () => {
    expect(hostname('example.com:3000')).toBe('example.com');
    expect(hostname('[::1]:3000')).toBe('[::1]');
    expect(hostname('[::1')).toBe('[::1');
    expect(hostname('example.com')).toBe('example.com');
  });
});

describe('static assets', () => {
  it.each([
    '/app.js',
    '/styles/site.css',
    '/app.js.map',
    '/img/Logo.PNG',
    '/fonts/a.woff2',
    '/feed.xml',
    '/robots.txt',
  ])('%s is an asset', (path) => expect(isAssetPath(path)).toBe(true));
  it.each(['/', '/posts/42', '/v1.2/docs', '/file.', '/about.html', '/report.pdf'])(
    '%s is not an asset',
    (path) => expect(isAssetPath(path)).toBe(false),
  );
});

describe('truncate', () => {
  it('keeps short strings and cuts long ones to the limit', () => {
    expect(truncate('abc', 5)).toBe('abc');
    expect(truncate('abcdef', 3)).toBe('abc');
  });

  it('never splits a surrogate pair', () => {
    const emoji = '😀'; // two UTF-16 code units
    const cut = truncate(`ab${emoji}`, 3);
    expect(cut).toBe('ab');
    expect(truncate(`ab${emoji}`, 4)).toBe(`ab${emoji}`);
    expect(truncate(`${emoji}${emoji}`, 3)).toBe(emoji);
  });
});
