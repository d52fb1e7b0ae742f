import { buildConversion } from '../conversion.js';
import type { BatchHandler, StoreWriter } from '../ports.js';
import type { AnonEvent, Conversion } from '../types.js';

export interface WorkerCounters {
  onWritten(count: number): void;
  onConversions(count: number): void;
}

/**
 * The queue handler that drains batches into the store: the batch's events in one idempotent write, then
 * the conversions of its signups, built from the sessions just written, in a second write. Any error rejects
 * so the queue retries the whole batch; both writes are idempotent by batch id and event id.
 */
export function createWorkerHandler(store: StoreWriter, counters: WorkerCounters): BatchHandler {
  return async (batch) => {
    const events: AnonEvent[] = [];
    const signups = [];
    for (const event of batch.events) {
      if (event.type !== 'identify') events.push(event);
      else if (event.identify.kind === 'signup') signups.push(event.identify);
    }
    if (events.length > 0) {
      const result = await store.write({ id: batch.id, events });
      counters.onWritten(result.written);
    }
    if (signups.length === 0) return;
    const conversions: AnonEvent[] = [];
    for (const req of signups) {
      const stored = await store.visitorSessions(req.visitorKeys, req.since, req.at);
      const conversion: Conversion | null = buildConversion(req, stored);
      if (conversion !== null) conversions.push({ type: 'conversion', id: conversion.id, conversion });
    }
    const result = await store.write({ id: `${batch.id}:c`, events: conversions });
    if (result.applied) counters.onConversions(result.written);
  };
}
