import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { connect } from '../connect.js';
import type { Io } from '../main.js';
import { loadOptional, OPTIONAL } from '../optional-packages.js';
import { STORE_FLAGS, storeFlags } from '../store-flags.js';
import { UsageError } from '../usage-error.js';

/**
 * `anon dashboard`: serve `@anon/dashboard` for a store on 127.0.0.1 until SIGTERM or SIGINT. Bound to loopback
 * only, and the dashboard itself refuses non-loopback requests by default: to publish it, mount it in your app
 * behind your own `authorize`.
 */
export async function dashboardCommand(args: string[], io: Io, help: string): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: { ...STORE_FLAGS, port: { type: 'string' } },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  const port = values.port === undefined ? 4000 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port takes a port number (got "${values.port}")`);
  }
  const { createDashboard, toNodeHandler } = await loadOptional(
    OPTIONAL.dashboard,
    () => import('@anon/dashboard'),
  );
  const conn = await connect(storeFlags(values, io.env));
  const server = createServer(toNodeHandler(createDashboard({ store: conn.store, hot: conn.redis?.hot })));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    io.out(`anon dashboard for ${conn.where} at http://127.0.0.1:${bound}/ — Ctrl-C to stop`);
    await (io.stopSignal ?? new Promise<void>(() => undefined));
    return 0;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await conn.close();
  }
}
