export { type Io, main } from './main.js';
export { UsageError } from './usage-error.js';
