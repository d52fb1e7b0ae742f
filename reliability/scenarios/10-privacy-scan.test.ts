import { randomBytes } from 'node:crypto';
import { mongoStore } from '@anon/mongo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedDb } from '../../packages/mongo/test/emulated/emulated-db.js';
import { type App, startApp, viewIdOf } from '../support/apps.js';
import { type Database, openDatabase } from '../support/database.js';
import { report } from '../support/figures.js';
import { type Answer, browser, humanUa, inParallel, send } from '../support/http.js';
import { findings, mongoValues, postgresValues, redisValues } from '../support/privacy-scan.js';
import { namesFor, redisTracker } from '../support/redis-stack.js';
import { OwnRedis, postgresMissing, redisServerMissing, required, until } from '../support/services.js';

const ok =
  required('Postgres', await postgresMissing()) && required('redis-server', await redisServerMissing());

const secret = (label: string) => `${label}${randomBytes(6).toString('hex')}`;

interface Visitor {
  ip: string;
  ua: string;
  cookie: string;
  auth: string;
  token: string;
  password: string;
  code: string;
}

/** A visitor from `ip` whose user agent, cookie, Authorization and secret query values are all unique. */
const visitor = (ip: string): Visitor => ({
  ip,
  ua: humanUa(secret('uamark')),
  cookie: secret('cookieval'),
  auth: secret('authval'),
  token: secret('tokenval'),
  password: secret('pwval'),
  code: secret('codeval'),
});

/** What must be in no stored value: each of the visitor's secrets, its user agent and the UA's unique mark. */
const needlesOf = (w: Visitor): string[] => [
  w.ip,
  w.ua,
  w.ua.split(' ').at(-2)!,
  w.cookie,
  w.auth,
  w.token,
  w.password,
  w.code,
];

// Hole 10 and docs/privacy.md: nothing from IPs, user agents, cookies, auth headers or secret query values is
// stored — checked in every value Redis and Postgres hold after a mixed run, live sessions included.
describe.runIf(ok)('a privacy scan of every stored value after a mixed run', () => {
  const VISITORS = 40;
  const VIEWS = 4;
  const names = namesFor('privacy');
  let redis: OwnRedis;
  let db: Database;
  let apps: App[] = [];
  let stacks: ReturnType<typeof redisTracker>[] = [];

  const visitors = Array.from({ length: VISITORS }, (_, v) =>
    visitor(v % 2 === 0 ? `198.51.100.${100 + v}` : `2001:db8:5ca1:${v.toString(16)}::7`),
  );

  beforeAll(async () => {
    redis = await OwnRedis.start();
    db = await openDatabase('privacy');
    stacks = [
      redisTracker(redis, names, { store: db.store, worker: true }),
      redisTracker(redis, names, { store: db.store, worker: true }),
    ];
    apps = [
      await startApp('express', stacks[0]!.tracker, { trustProxy: true }),
      await startApp('fastify', stacks[1]!.tracker, { trustProxy: true }),
    ];
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const stack of stacks) {
      await stack.tracker.close();
      stack.client.disconnect();
    }
    await redis?.kill();
    await db?.drop();
  });

  it('finds no raw IP, user agent, cookie, Authorization value or secret query value', async () => {
    const answers: Answer[] = [];
    await inParallel(VISITORS, 8, async (v) => {
      const who = visitors[v]!;
      const headers = browser(who.ua, {
        'x-forwarded-for': who.ip,
        cookie: `sid=${who.cookie}; theme=dark`,
        authorization: `Bearer ${who.auth}`,
        referer: `https://ref.example/from?token=${who.token}`,
      });
      let page: Answer | null = null;
      for (let view = 0; view < VIEWS; view++) {
        const app = apps[(v + view) % 2]!;
        const query = `?utm_source=okcampaign&token=${who.token}&password=${who.password}&code=${who.code}`;
        page = await send(app.port, `/posts/${view}${query}`, { headers });
        answers.push(page);
        // Recorded before the next view goes to the other instance: two instances recording one visitor's
        // views out of order make the older one the session's last view (reported separately), and its
        // engagement beacon would then find no view to count for.
        await stacks[(v + view) % 2]!.tracker.flush();
      }
      // Engagement and an SPA navigation carrying the same secrets, through the beacon.
      const app = apps[v % 2]!;
      const beacon = (body: object) =>
        send(app.port, '/_anon/e', {
          method: 'POST',
          headers: { ...headers, 'content-type': 'text/plain' },
          body: JSON.stringify(body),
        });
      // The last view went through either instance: both must have recorded it before its engagement comes.
      for (const stack of stacks) await stack.tracker.flush();
      answers.push(await beacon({ t: 'e', v: viewIdOf(page?.body ?? ''), ms: 1_000, sd: 40 }));
    });
    for (const stack of stacks) await stack.tracker.flush();
    const sent = VISITORS * VIEWS;
    await until(
      async () =>
        (await db.count('SELECT count(*) FROM $schema.page_views')) >= sent &&
        (await db.count("SELECT count(*) FROM $schema.page_metrics WHERE metric = 'scroll_depth'")) >=
          VISITORS,
      20_000,
    );

    const needles = visitors.flatMap(needlesOf);
    const admin = redis.admin();
    const inRedis = await redisValues(admin);
    admin.disconnect();
    const inPostgres = await postgresValues(db);
    const found = [...findings(inRedis.values, needles), ...findings(inPostgres.values, needles)];
    const stored = await db.count('SELECT count(*) FROM $schema.page_views');
    const metrics = await db.count("SELECT count(*) FROM $schema.page_metrics WHERE metric = 'scroll_depth'");
    report('10 privacy scan', {
      sent: answers.length,
      stored: stored + metrics,
      dropped: stacks.reduce((n, s) => n + s.tracker.stats().dropped, 0),
      errors: answers.filter((a) => a.status >= 400 || a.status === 0).length,
      extra: {
        'Redis keys scanned': inRedis.keys,
        'Postgres tables scanned': inPostgres.tables,
        'Postgres rows scanned': inPostgres.values.length,
        'needles searched': needles.length,
        'needles found': found.length,
      },
    });
    // The scan reads what it claims to: the allowlisted UTM value is there, in both Postgres and Redis' keys.
    expect(inPostgres.values.some((value) => value.includes('okcampaign'))).toBe(true);
    expect(inRedis.keys).toBeGreaterThan(VISITORS);
    expect(stored).toBe(sent);
    expect(metrics).toBe(VISITORS);
    expect(found).toEqual([]);
  });

  it('finds no session id or e-mail address carried in a path segment', async () => {
    const jsession = secret('jsess');
    const email = `${secret('mail')}@example.com`;
    const headers = browser(humanUa(secret('segments')));
    const answers = [
      await send(apps[0]!.port, `/posts/9;jsessionid=${jsession}`, { headers }),
      await send(apps[1]!.port, `/p/users/${email}`, { headers }),
    ];
    for (const stack of stacks) await stack.tracker.flush();
    await until(
      async () =>
        (await db.count("SELECT count(*) FROM $schema.page_views WHERE at > now() - interval '1 minute'")) >=
        162,
      10_000,
    );
    const found = findings((await postgresValues(db)).values, [jsession, email]);
    report('10 privacy scan (path-segment secrets)', {
      sent: 2,
      stored: await db.count('SELECT count(*) FROM $schema.page_views'),
      dropped: 0,
      errors: answers.filter((a) => a.status !== 200).length,
      extra: { 'secrets found': found.length },
    });
    expect(found).toEqual([]);
  });
});

// The same scan for MongoDB. No MongoDB server can run on this machine, so the Mongo store writes to the emulated
// collections its own tests use (mingo behind the driver's interface): what is scanned is every document the
// adapter's real write path builds, not what a server would add.
describe.runIf(ok)('a privacy scan of every Mongo document after a mixed run (emulated collections)', () => {
  const VISITORS = 20;
  const VIEWS = 3;
  const names = namesFor('privacy-mongo');
  const mongo = new EmulatedDb();
  let redis: OwnRedis;
  let app: App;
  let stack: ReturnType<typeof redisTracker>;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    stack = redisTracker(redis, names, { store: mongoStore(mongo), worker: true });
    app = await startApp('express', stack.tracker, { trustProxy: true });
  });
  afterAll(async () => {
    await app?.close();
    await stack?.tracker.close();
    stack?.client.disconnect();
    await redis?.kill();
  });

  it('finds no raw IP, user agent, cookie, Authorization value or secret query value', async () => {
    const visitors = Array.from({ length: VISITORS }, (_, v) =>
      visitor(v % 2 === 0 ? `203.0.113.${10 + v}` : `2001:db8:feed:${v.toString(16)}::9`),
    );
    const answers: Answer[] = [];
    await inParallel(VISITORS, 4, async (v) => {
      const who = visitors[v]!;
      const headers = browser(who.ua, {
        'x-forwarded-for': who.ip,
        cookie: `sid=${who.cookie}`,
        authorization: `Bearer ${who.auth}`,
        referer: `https://ref.example/from?token=${who.token}`,
      });
      let page: Answer | null = null;
      for (let view = 0; view < VIEWS; view++) {
        page = await send(
          app.port,
          `/posts/${view}?utm_source=okcampaign&token=${who.token}&password=${who.password}&code=${who.code}`,
          {
            headers,
          },
        );
        answers.push(page);
      }
      await stack.tracker.flush();
      answers.push(
        await send(app.port, '/_anon/e', {
          method: 'POST',
          headers: { ...headers, 'content-type': 'text/plain' },
          body: JSON.stringify({ t: 'e', v: viewIdOf(page?.body ?? ''), ms: 1_000, sd: 40 }),
        }),
      );
    });
    await stack.tracker.flush();
    const sent = VISITORS * VIEWS;
    const pageViews = () => mongo.collection('anon_page_views').snapshot().length;
    await until(async () => pageViews() >= sent, 20_000);

    const needles = visitors.flatMap(needlesOf);
    const inMongo = mongoValues(mongo);
    const found = findings(inMongo.values, needles);
    report('10 privacy scan (Mongo, emulated collections)', {
      sent: answers.length,
      stored: pageViews(),
      dropped: stack.tracker.stats().dropped,
      errors: answers.filter((a) => a.status >= 400 || a.status === 0).length,
      extra: {
        'collections scanned': inMongo.collections,
        'documents scanned': inMongo.values.length,
        'needles searched': needles.length,
        'needles found': found.length,
      },
    });
    // The scan reads what it claims to: the allowlisted UTM value is in the stored documents.
    expect(inMongo.values.some((value) => value.includes('okcampaign'))).toBe(true);
    expect(inMongo.collections).toBeGreaterThan(3);
    expect(pageViews()).toBe(sent);
    expect(found).toEqual([]);
  });
});
