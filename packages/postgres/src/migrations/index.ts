import { initial } from './0001-initial.js';
import { rollups } from './0002-rollups.js';
import { botSessions } from './0003-bot-sessions.js';

/**
 * One schema version. Migrations ship as TypeScript string modules (not loose `.sql` files) so they survive
 * bundling and need no file system at runtime; each is a list of single statements because PGlite's
 * parameterized `query` runs one statement at a time.
 */
export interface Migration {
  version: number;
  name: string;
  /** The statements, given the quoted schema name. */
  statements: (schema: string) => string[];
}

/** Every migration, in version order. Append only: a shipped migration never changes. */
export const MIGRATIONS: readonly Migration[] = [initial, rollups, botSessions];
