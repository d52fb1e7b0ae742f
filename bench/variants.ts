import type { TrackerStats } from '@anon/core';
import type { BatchForm } from './batch-form.js';

/** The frameworks whose hello-world the overhead section loads. */
export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/**
 * A server without anon (bare), with a capture-only middleware (floor: what any request logger pays), with
 * anon on the memory hot store, and with anon on the Redis hot store.
 */
export const VARIANTS = ['bare', 'floor', 'memory', 'redis'] as const;
export type Variant = (typeof VARIANTS)[number];

/** The variants that run anon's tracker. */
export const TRACKED: readonly Variant[] = ['memory', 'redis'];

/** What the parent asks a server process over IPC. */
export type ServerRequest =
  /** Settle the background work of the requests served so far, then report counters (see `Counters`). */
  | { type: 'counters' }
  /** Start (`on: true`) or stop timing each synchronous `track()` call; stopping answers with `probe`. */
  | { type: 'probe'; on: boolean }
  /** Start V8's CPU profiler, or stop it and write the profile to `file` (answers with `profiled`). */
  | { type: 'profile'; on: true }
  | { type: 'profile'; on: false; file: string }
  | { type: 'stop' };

/** A server's cumulative counters, read between load runs: the parent takes differences. */
export interface Counters {
  /** `process.cpuUsage()` user + system, µs, after the background work of every request so far settled. */
  cpuUs: number;
  /** Requests the middleware captured (floor) or tracked (anon); 0 for bare. */
  views: number;
  /** Redis commands the server's client sent (pipelined commands each count); 0 without Redis. */
  redisCommands: number;
}

/** The synchronous `track()` calls timed while the probe was on. */
export interface ProbeTiming {
  calls: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** What a server process says over IPC. */
export type ServerMessage =
  | { type: 'ready'; port: number; batchForm: BatchForm | null }
  | { type: 'counters'; counters: Counters }
  | { type: 'probe'; timing: ProbeTiming | null }
  | { type: 'profiled'; file: string }
  | { type: 'stopped'; stats: TrackerStats | null; storedEvents: number }
  | { type: 'failed'; error: string };
