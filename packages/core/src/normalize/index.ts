export { finish, normalize, type Screened, screen } from './normalize.js';
export { isSecretKey } from './query.js';
export { createRouteMatcher, type RouteMatcher } from './routes.js';
export type { NormalizedRequest, NormalizeResult, SkipReason } from './types.js';
export { createUaParser, type ParsedUserAgent, type UaParser } from './user-agent.js';
