import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './deps.js';

/** How `anon` is run from the sources: the CLI's own bin, through tsx, from the repository root. */
export const CLI = ['--import', 'tsx', join(ROOT, 'packages/cli/src/bin.ts')];

/** Runs `anon <args>` to completion; resolves with its exit code and raw output (escapes and all). */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
