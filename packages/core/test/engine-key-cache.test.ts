import { describe, expect, it, vi } from 'vitest';
import { type Hasher, webCryptoHasher } from '../src/index.js';
import { IPHONE, MIN, memoryRig, navigation } from './engine-fixtures.js';

function countingHasher(): Hasher & { calls: number } {
  const inner = webCryptoHasher();
  const counter = {
    calls: 0,
    hmac(key: string, message: string) {
      counter.calls += 1;
      return inner.hmac(key, message);
    },
  };
  return counter;
}

describe('visitor-key cache', () => {
  it("hashes a returning visitor's key once per salt, and each new visitor's once", async () => {
    const hasher = countingHasher();
    const { tracker, clock, store } = memoryRig({ hasher });
    for (let i = 0; i < 5; i++) {
      tracker.track(navigation(`/posts/${i}`, { ua: IPHONE, ip: '198.51.100.40' }));
      clock.advance(MIN);
    }
    tracker.track(navigation('/', { ua: IPHONE, ip: '198.51.100.41' }));
    await tracker.flush();
    expect(hasher.calls).toBe(2);
    const sessions = await store.sessions({ from: '2000-01-01', to: '2100-01-01' });
    expect(sessions.sessions).toBe(2);
    expect(sessions.pageViews).toBe(6);
  });
});

describe('expired salts', () => {
  it('are forgotten by the hasher once they leave the current/previous pair, and only then', async () => {
    const inner = webCryptoHasher();
    const used: string[] = [];
    const forgotten: string[] = [];
    const hasher: Hasher = {
      hmac(key, message) {
        if (!used.includes(key)) used.push(key);
        return inner.hmac(key, message);
      },
      forget(key) {
        forgotten.push(key);
        inner.forget?.(key);
      },
    };
    const { tracker, clock } = memoryRig({ hasher });
    const DAY = 24 * 60 * MIN;
    const forgottenAfter: string[][] = [];
    for (let day = 0; day < 4; day++) {
      tracker.track(navigation('/', { ua: IPHONE, ip: '198.51.100.40' }));
      await tracker.flush();
      forgottenAfter.push([...forgotten]);
      clock.advance(DAY);
    }
    // One salt per day; a visitor's key is hashed with the current salt (and the previous one for continuity).
    expect(used.length).toBe(4);
    expect(forgottenAfter[0]).toEqual([]);
    expect(forgottenAfter[1]).toEqual([]);
    // Day 2's pair is (day 2, day 1): day 0's salt leaves; day 3's pair drops day 1's.
    expect(forgottenAfter[2]).toEqual([used[0]]);
    expect(forgottenAfter[3]).toEqual([used[0], used[1]]);
  });

  it('a forgotten key is imported again on its next use, and gives the same HMAC', async () => {
    const importKey = vi.spyOn(globalThis.crypto.subtle, 'importKey');
    try {
      const hasher = webCryptoHasher();
      const first = await hasher.hmac('salt-a', 'message');
      await hasher.hmac('salt-a', 'message');
      expect(importKey).toHaveBeenCalledTimes(1);
      hasher.forget?.('salt-a');
      expect(await hasher.hmac('salt-a', 'message')).toBe(first);
      expect(importKey).toHaveBeenCalledTimes(2);
    } finally {
      importKey.mockRestore();
    }
  });
});
