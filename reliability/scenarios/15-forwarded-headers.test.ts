import { createTracker } from '@anon/core';
import { memoryHotStore, memoryStore } from '@anon/core/memory';
import { describe, expect, it } from 'vitest';
import { type Framework, startApp } from '../support/apps.js';
import { quiet, report } from '../support/figures.js';
import { browser, humanUa, send } from '../support/http.js';

// The guarantee: X-Forwarded-For is the framework's business (its trust-proxy setting); forged values change
// nothing unless the app trusts a proxy.
describe('forged X-Forwarded-For', () => {
  const SENT = 50;

  const run = async (framework: Framework, trustProxy: boolean) => {
    const store = memoryStore();
    const tracker = createTracker({ hot: memoryHotStore(), store, logger: quiet });
    const app = await startApp(framework, tracker, { trustProxy });
    const ua = humanUa(`xff-${framework}`);
    const answers = [];
    for (let i = 0; i < SENT; i++) {
      const forged = { 'x-forwarded-for': `203.0.113.${i}`, 'x-real-ip': `192.0.2.${i}` };
      answers.push(await send(app.port, `/posts/${i}`, { headers: browser(ua, forged) }));
    }
    await tracker.close();
    await app.close();
    const { pageViews, sessions } = store.dump();
    const visitors = new Set(pageViews.map((v) => v.visitorKey)).size;
    report(`forged X-Forwarded-For (${framework}, trust proxy ${trustProxy ? 'on' : 'off'})`, {
      sent: SENT,
      stored: pageViews.length,
      dropped: tracker.stats().dropped,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: { visitors, sessions: sessions.length },
    });
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(pageViews).toHaveLength(SENT);
    return { visitors, sessions: sessions.length };
  };

  for (const framework of ['express', 'fastify'] as const) {
    it(`change nothing on ${framework} without trust proxy`, async () => {
      expect(await run(framework, false)).toEqual({ visitors: 1, sessions: 1 });
    });
    it(`are the client address on ${framework} once a proxy is trusted`, async () => {
      expect(await run(framework, true)).toEqual({ visitors: SENT, sessions: SENT });
    });
  }
});
