import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createTables, type Tables } from './tables.js';

/**
 * The tables saved in `file`, or empty tables when there is no such file yet. A table missing from an older
 * file starts empty; a unique-visitor entry saved before entries counted views stands for one human view.
 */
export async function loadTables(file: string): Promise<Tables> {
  if (!existsSync(file)) return createTables();
  const tables = { ...createTables(), ...(JSON.parse(await readFile(file, 'utf8')) as Partial<Tables>) };
  for (const entry of tables.uniques) entry.views ??= 1;
  return tables;
}

/** Saves the tables as JSON, through a temporary file so a crash never leaves half a file. */
export async function saveTables(file: string, tables: Tables): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(tables));
  await rename(`${file}.tmp`, file);
}
