export * from './types.js';
export * from './ports.js';
export * from './config.js';
export * from './errors.js';
export * from './normalize/index.js';
export * from './identity.js';
export * from './day.js';
export * from './match-path.js';
export * from './defaults.js';
export * from './beacon.js';
export * from './engine/api.js';
export * from './sessionize.js';
export * from './aggregate.js';
export * from './conversion.js';
// The core-engine helper adds createTracker (engine/tracker.ts).
