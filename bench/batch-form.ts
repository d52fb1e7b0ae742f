import type { HotStore, RecordInput, SessionRules, SessionStep } from '@anon/core';

/** Whether a hot store answered `recordPageViews` itself or the bench looped `recordPageView` for it. */
export type BatchForm = 'native' | 'looped';

/**
 * `hot` with a `recordPageViews` the bench can always call. A store that has the batch form keeps it; one that
 * predates it (the Redis store while its batch form is written) gets a loop of `recordPageView` calls, all in
 * flight at once and answered in order, which is what the engine would pay for the batch through that store.
 * The bench reports which form ran, so a looped figure is never read as the batch form's.
 */
export function withBatchForm(hot: HotStore): { hot: HotStore; form: BatchForm } {
  const native = (hot as Partial<HotStore>).recordPageViews;
  if (typeof native === 'function') return { hot, form: 'native' };
  const looped = (inputs: readonly RecordInput[], rules: SessionRules): Promise<SessionStep[]> =>
    Promise.all(inputs.map((input) => hot.recordPageView(input, rules)));
  // Delegate every other method to the store itself, bound, so its private state stays its own.
  const wrapped = new Proxy(hot, {
    get(target, key, receiver) {
      if (key === 'recordPageViews') return looped;
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { hot: wrapped, form: 'looped' };
}
