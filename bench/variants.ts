import type { TrackerStats } from '@anon/core';

/** The frameworks whose hello-world the overhead section loads. */
export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** A server without anon, with it on the memory hot store, and with it on the Redis hot store. */
export const VARIANTS = ['bare', 'memory', 'redis'] as const;
export type Variant = (typeof VARIANTS)[number];

/** What a server process says over IPC. */
export type ServerMessage =
  | { type: 'ready'; port: number }
  | { type: 'stopped'; stats: TrackerStats | null }
  | { type: 'failed'; error: string };
