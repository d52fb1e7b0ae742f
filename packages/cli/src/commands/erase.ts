import { parseArgs } from 'node:util';
import { connect } from '../connect.js';
import type { Io } from '../main.js';
import { STORE_FLAGS, storeFlags } from '../store-flags.js';
import { UsageError } from '../usage-error.js';

/**
 * `anon erase --user ID`: delete one user's sessions, page views, metrics and conversion (GDPR art. 17) and say
 * what went. Aggregates keep their counts, which hold no identifier.
 */
export async function eraseCommand(args: string[], io: Io, help: string): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: { ...STORE_FLAGS, user: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  if (values.user === undefined || values.user === '') throw new UsageError('erase needs --user ID');
  const conn = await connect(storeFlags(values, io.env));
  try {
    const erased = await conn.store.eraseUser(values.user);
    io.out(
      values.json
        ? JSON.stringify({ user: values.user, ...erased })
        : `erased user ${JSON.stringify(values.user)}: ${erased.sessions} sessions, ${erased.pageViews} page views, ` +
            `${erased.metrics} metrics, ${erased.conversions} conversions`,
    );
    return 0;
  } finally {
    await conn.close();
  }
}
