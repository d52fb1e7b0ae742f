import { mergeSession } from '@anon/core/adapter';

/**
 * The monotonic merge of a stored session summary with an incoming one (docs/semantics.md, `session`): core's
 * `mergeSession`, under the name the suites and the generator's truth have always used. The store contract
 * checks every store against it on random summaries, and against hand-written expectations.
 * @deprecated Use `mergeSession` from `@anon/core/adapter`.
 */
export const mergeSessionSummary = mergeSession;
