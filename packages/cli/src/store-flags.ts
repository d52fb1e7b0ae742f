import { resolveFlags } from './connect.js';

/** Flags every command that opens a store takes. */
export const STORE_FLAGS = {
  pglite: { type: 'string' },
  'pg-url': { type: 'string' },
  'mongo-url': { type: 'string' },
  'redis-url': { type: 'string' },
  'redis-prefix': { type: 'string' },
  schema: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const STORE_HELP = `Store (one of --pglite, --pg-url, --mongo-url; flags win over environment):
  --pglite DIR        embedded Postgres in DIR (':memory:' for a throwaway one)
  --pg-url URL        PostgreSQL (env ANON_PG_URL)
  --mongo-url URL     MongoDB (env ANON_MONGO_URL)
  --redis-url URL     Redis hot store and queue (env ANON_REDIS_URL)
  --redis-prefix P    prefix of Redis keys; the queue is the stream P + 'events' (env ANON_REDIS_PREFIX, default anon:)
  --schema NAME       Postgres schema (default anon)`;

/** The store flags of a parsed command line, resolved against the environment. */
export function storeFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  return resolveFlags(
    {
      pglite: values.pglite as string | undefined,
      pgUrl: values['pg-url'] as string | undefined,
      mongoUrl: values['mongo-url'] as string | undefined,
      redisUrl: values['redis-url'] as string | undefined,
      redisPrefix: values['redis-prefix'] as string | undefined,
      schema: values.schema as string | undefined,
    },
    env,
  );
}
