import { parseArgs } from 'node:util';
import type { ActiveVisitors, ReportQuery } from '@anon/core';
import { connect } from '../connect.js';
import { parseDay } from '../duration.js';
import type { Io } from '../main.js';
import { STORE_FLAGS, storeFlags } from '../store-flags.js';
import { UsageError } from '../usage-error.js';
import { realtimeFromDashboard, realtimeFromRedis } from './realtime.js';
import { FUNNEL_USAGE, isReportName, REPORTS, runReport } from './report.js';

/**
 * `anon report <name>`: one report over a day range from the store, as a table or `--json`; `realtime` reads
 * the Redis hot store or an app's mounted dashboard instead.
 */
export async function reportCommand(args: string[], io: Io, help: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...STORE_FLAGS,
      from: { type: 'string' },
      to: { type: 'string' },
      path: { type: 'string' },
      'include-bots': { type: 'boolean' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      scope: { type: 'string' },
      'dashboard-url': { type: 'string' },
    },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const [name, ...steps] = positionals;
  if (name === undefined) throw new UsageError(`report needs a name: ${REPORTS.join(', ')}`);
  if (!isReportName(name)) throw new UsageError(`unknown report "${name}"; one of ${REPORTS.join(', ')}`);
  if (name === 'funnel' && steps.length === 0) throw new UsageError(FUNNEL_USAGE);
  const to = values.to ? parseDay(values.to, '--to') : new Date().toISOString().slice(0, 10);
  const from = values.from
    ? parseDay(values.from, '--from')
    : new Date(Date.parse(`${to}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10);
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit takes a positive whole number (got "${values.limit}")`);
  const q: ReportQuery = { from, to, limit, includeBots: values['include-bots'] ?? false };
  if (values.path) q.path = values.path;

  const flags = storeFlags(values, io.env);
  if (name === 'realtime') {
    const { overall, scoped, windowMs } = values['dashboard-url']
      ? await realtimeFromDashboard(values['dashboard-url'], values.scope)
      : await realtimeFromRedis(flags, values.scope);
    const json = { activeVisitors: overall, scope: values.scope ?? null, scopeVisitors: scoped, windowMs };
    const line = (a: ActiveVisitors) => `${a.total} (${a.authenticated} signed in, ${a.anonymous} anonymous)`;
    const minutes = Math.round(windowMs / 60_000);
    io.out(
      values.json
        ? JSON.stringify(json, null, 2)
        : `active visitors (last ${minutes} min): ${line(overall)}${scoped ? `\nin ${values.scope}: ${line(scoped)}` : ''}`,
    );
    return 0;
  }
  const conn = await connect(flags);
  try {
    const result = await runReport(conn.store, name, q, steps);
    io.out(
      values.json ? JSON.stringify(result.json, null, 2) : `${name} · ${from} → ${to}\n\n${result.text}`,
    );
    return 0;
  } finally {
    await conn.close();
  }
}
