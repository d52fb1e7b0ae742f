import { parseArgs } from 'node:util';
import { connect } from '../connect.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../main.js';
import { STORE_FLAGS, storeFlags } from '../store-flags.js';
import { UsageError } from '../usage-error.js';

/**
 * `anon purge --older-than 90d`: delete anonymous sessions, their page views and metrics started before the
 * cut-off; `--dry-run` says what would go and changes nothing.
 */
export async function purgeCommand(args: string[], io: Io, help: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...STORE_FLAGS,
      'older-than': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  if (!values['older-than']) throw new UsageError('purge needs --older-than, e.g. --older-than 90d');
  const age = parseDuration(values['older-than'], '--older-than');
  const before = Date.now() - age;
  const conn = await connect(storeFlags(values, io.env));
  try {
    const dryRun = values['dry-run'] ?? false;
    const removed = await conn.store.purge(before, { dryRun });
    const verb = dryRun ? 'would remove' : 'removed';
    io.out(
      values.json
        ? JSON.stringify({ dryRun, before: new Date(before).toISOString(), ...removed })
        : `${verb} ${removed.sessions} sessions, ${removed.pageViews} page views and ${removed.metrics} metrics started before ${new Date(before).toISOString()}`,
    );
    return 0;
  } finally {
    await conn.close();
  }
}
