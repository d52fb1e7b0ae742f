import { parseArgs } from 'node:util';
import { connect } from '../connect.js';
import type { Io } from '../main.js';
import { STORE_FLAGS, storeFlags } from '../store-flags.js';

/** `anon migrate`: apply migrations (Postgres) or ensure indexes (MongoDB); the one command besides the worker that creates. */
export async function migrateCommand(args: string[], io: Io, help: string): Promise<number> {
  const { values } = parseArgs({ args, options: STORE_FLAGS, allowPositionals: false });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const conn = await connect(storeFlags(values, io.env), { store: 'create' });
  try {
    io.out(await conn.prepare());
    return 0;
  } finally {
    await conn.close();
  }
}
