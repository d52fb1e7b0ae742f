import { describe, expect, it } from 'vitest';
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
