import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The third-party modules the suite drives, loaded from the workspace package that already depends on each
 * (reliability/ is not a workspace package, so it has no node_modules of its own). Types come from the same
 * places through reliability/tsconfig.json's `paths`.
 */
const from = (pkg: string) =>
  createRequire(fileURLToPath(new URL(`../../packages/${pkg}/package.json`, import.meta.url)));

export const express = from('express')('express') as typeof import('express');
export const fastify = from('fastify')('fastify') as typeof import('fastify');
export const ioredis = from('redis')('ioredis') as typeof import('ioredis');
export const pg = from('postgres')('pg') as typeof import('pg');

/** The repository root, for spawning the CLI and fixtures with paths that do not depend on the cwd. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
