import { describe, expect, it } from 'vitest';
import { Lru } from '../src/normalize/lru.js';

describe('user-agent LRU cache', () => {
  it('holds at most its size, dropping the least recently used entries first', () => {
    const lru = new Lru<string, number>(4);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) lru.set(key, i);
    expect(lru.get('a')).toBe(0); // read: a becomes recent
    lru.set('e', 4);
    lru.set('f', 5);
    expect(lru.get('a')).toBe(0);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('c')).toBeUndefined();
    const held = ['a', 'b', 'c', 'd', 'e', 'f'].filter((key) => lru.get(key) !== undefined);
    expect(held.length).toBeLessThanOrEqual(4);
  });

  it('never holds more than its size under a stream of distinct keys', () => {
    const lru = new Lru<number, number>(100);
    for (let i = 0; i < 10_000; i++) lru.set(i, i);
    let held = 0;
    for (let i = 0; i < 10_000; i++) if (lru.get(i) !== undefined) held++;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(100);
    expect(lru.get(9_999)).toBe(9_999);
  });

  it('replaces the value of a key it holds', () => {
    const lru = new Lru<string, number>(10);
    lru.set('k', 1);
    lru.set('k', 2);
    expect(lru.get('k')).toBe(2);
  });

  it('caches nothing with a size of 0 or a size that is not a number', () => {
    for (const size of [0, -3, Number.NaN]) {
      const lru = new Lru<string, number>(size);
      lru.set('k', 1);
      expect(lru.get('k')).toBeUndefined();
    }
  });
});
