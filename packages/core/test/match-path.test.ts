import { describe, expect, it } from 'vitest';
import { matchPath } from '../src/match-path.js';

describe('matchPath', () => {
  it.each([
    ['/posts', '/posts', true],
    ['/posts', '/posts/1', false],
    ['/posts/*', '/posts/1', true],
    ['/posts/*', '/posts/1/comments', true],
    ['/posts/*', '/posts/', true],
    ['/posts/*', '/posts', false],
    ['*', '/', true],
    ['*', '', true],
    ['/u/*/settings', '/u/ada/settings', true],
    ['/u/*/settings', '/u/ada/b/settings', true],
    ['/u/*/settings', '/u/settings', false],
    ['/a*b*c', '/axxbyyc', true],
    ['/a*b*c', '/acb', false],
    ['/a*a', '/a', false],
    ['/a*a', '/aa', true],
    ['*/x/*', '/y/x/z', true],
    ['/p*q*q', '/pqq', true],
    ['/p*q*q', '/pq', false],
    ['/a.b', '/aXb', false],
    ['/(x)+', '/(x)+', true],
    ['/a**b', '/ab', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(matchPath(pattern, path)).toBe(expected);
  });

  it('answers patterns that would backtrack catastrophically as a regular expression', () => {
    const pattern = `/${'*a'.repeat(30)}b`;
    expect(matchPath(pattern, `/${'a'.repeat(490)}`)).toBe(false);
    expect(matchPath(pattern, `/${'a'.repeat(490)}b`)).toBe(true);
    expect(matchPath(pattern, `/${'a'.repeat(29)}b`)).toBe(false);
  });

  it('keeps working after its compiled-pattern cache fills up', () => {
    for (let i = 0; i < 1_100; i++) expect(matchPath(`/p${i}/*`, `/p${i}/x`)).toBe(true);
    expect(matchPath('/p0/*', '/p1/x')).toBe(false);
  });
});
