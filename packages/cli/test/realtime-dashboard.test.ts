import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTracker } from '@anon/core';
import { memoryStore } from '@anon/core/memory';
import { createDashboard, toNodeHandler } from '@anon/dashboard';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './support.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const BASE = '/_anon/dashboard';

// An app on the in-process memory hot store: only the app knows who is on the site, and its mounted dashboard
// answers `anon report realtime --dashboard-url` over real HTTP.
describe('report realtime --dashboard-url, with the memory hot store', () => {
  const store = memoryStore();
  const tracker = createTracker({ store, sweeper: false });
  let server: Server;
  let url: string;

  beforeAll(async () => {
    for (const [ip, path, userId] of [
      ['100.64.0.1', '/', null],
      ['100.64.0.1', '/posts/1', null],
      ['100.64.0.2', '/posts/1', 'user-2'],
      ['100.64.0.3', '/', null],
    ] as const) {
      tracker.track({
        method: 'GET',
        url: path,
        status: 200,
        ip,
        userId,
        headers: { accept: 'text/html', 'user-agent': UA },
      });
    }
    await tracker.flush();
    const handler = toNodeHandler(createDashboard({ store, tracker, basePath: BASE }));
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BASE}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await tracker.close();
  });

  it('prints the authenticated / anonymous split, overall and for a scope', async () => {
    const json = await run([
      'report',
      'realtime',
      '--json',
      '--dashboard-url',
      url,
      '--scope',
      'page:/posts/1',
    ]);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toEqual({
      activeVisitors: await tracker.activeVisitors(),
      scope: 'page:/posts/1',
      scopeVisitors: await tracker.activeVisitors('page:/posts/1'),
      windowMs: 300_000,
    });
    expect(JSON.parse(json.out).activeVisitors).toEqual({ total: 3, authenticated: 1, anonymous: 2 });
    const text = await run(['report', 'realtime', '--dashboard-url', url]);
    expect(text.out).toContain('active visitors (last 5 min): 3 (1 signed in, 2 anonymous)');
  });

  it('says why when the dashboard cannot answer', async () => {
    const missing = await run(['report', 'realtime', '--dashboard-url', `${url}/nowhere`]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/real time failed/);
    const bad = await run(['report', 'realtime', '--dashboard-url', 'not a url']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--dashboard-url is not a URL/);
  });
});
