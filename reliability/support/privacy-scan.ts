import type { Redis } from 'ioredis';
import type { Database } from './database.js';

/** Every key name and value held in a Redis, read by type (SCAN, never KEYS). */
export async function redisValues(redis: Redis): Promise<{ keys: number; values: string[] }> {
  const values: string[] = [];
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of batch) {
      keys += 1;
      values.push(key);
      const type = await redis.type(key);
      if (type === 'string') values.push((await redis.get(key)) ?? '');
      else if (type === 'hash')
        values.push(
          ...Object.entries(await redis.hgetall(key))
            .flat()
            .map(String),
        );
      else if (type === 'zset') values.push(...(await redis.zrange(key, '0', '-1', 'WITHSCORES')));
      else if (type === 'set') values.push(...(await redis.smembers(key)));
      else if (type === 'list') values.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'stream') {
        for (const [id, fields] of await redis.xrange(key, '-', '+')) values.push(id, ...fields);
      } else values.push(`(unread type ${type})`);
    }
  } while (cursor !== '0');
  return { keys, values };
}

/** Every row of every table (partitions included) of the database's schema, as Postgres prints it. */
export async function postgresValues(db: Database): Promise<{ tables: number; values: string[] }> {
  const tables = await db.rows<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1',
    [db.schema],
  );
  const values: string[] = [];
  for (const { name } of tables) {
    const rows = await db.rows<{ row: string }>(`SELECT t::text AS row FROM $schema."${name}" t`);
    values.push(...rows.map((r) => r.row));
  }
  return { tables: tables.length, values };
}

/** Every document of every collection of an emulated Mongo database, as JSON. */
export function mongoValues(db: {
  collectionNames(): string[];
  collection(name: string): { snapshot(): unknown[] };
}): { collections: number; values: string[] } {
  const names = db.collectionNames();
  const values = names.flatMap((name) =>
    db
      .collection(name)
      .snapshot()
      .map((doc) => JSON.stringify(doc)),
  );
  return { collections: names.length, values };
}

/** The needles found in `values`, each with where it was found first. */
export function findings(values: readonly string[], needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const needle of needles) {
    const hit = values.find((value) => value.includes(needle));
    if (hit !== undefined) found.push(`${needle} in ${JSON.stringify(hit.slice(0, 200))}`);
  }
  return found;
}
