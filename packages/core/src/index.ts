// What an app developer uses. Rules and helpers for writing a store live in `@anon/core/adapter`; the
// in-memory ports in `@anon/core/memory`; the kit a framework binding is built from in `@anon/core/binding`.
export * from './beacon.js';
export * from './config.js';
export { buildConversion } from './conversion.js';
export * from './day.js';
export * from './defaults.js';
export * from './engine/api.js';
export { finalizationEvents } from './engine/events.js';
export { resolveConfig } from './engine/resolve-config.js';
export { createTracker, DEFAULT_SWEEP_INTERVAL_MS, MAX_IN_FLIGHT } from './engine/tracker.js';
export * from './errors.js';
export * from './identity.js';
export * from './match-path.js';
export * from './normalize/index.js';
export * from './ports.js';
export * from './sessionize.js';
export * from './types.js';
