/** The path a view is counted under once the day's budget of distinct paths is spent. */
export const OTHER_PATH = '(other)';

/** Decides, per day, which paths a view may add to the aggregates. */
export interface PathBudget {
  /**
   * The path to count `path` under on `day`: itself when already seen that day, or when a human view still
   * finds room in the day's budget (a bot view, in half of it); else `(other)`. A route pattern the framework reported is always kept.
   */
  admit(day: string, path: string, isBot: boolean, isRoute: boolean): string;
}

/**
 * An in-process budget of `max` distinct paths per day (this day and the one before are held, for views
 * around midnight). Several instances each keep their own, so the store sees at most instances × `max`.
 */
export function createPathBudget(max: number): PathBudget {
  const days = new Map<string, Set<string>>();
  const pathsOf = (day: string): Set<string> => {
    let paths = days.get(day);
    if (paths === undefined) {
      paths = new Set();
      days.set(day, paths);
      if (days.size > 2) {
        const oldest = [...days.keys()].sort()[0]!;
        days.delete(oldest);
      }
    }
    return paths;
  };
  return {
    admit(day, path, isBot, isRoute) {
      const paths = pathsOf(day);
      if (paths.has(path)) return path;
      if (isRoute) {
        paths.add(path);
        return path;
      }
      // Bots may fill half of the budget at most, so a crawler cannot push the day's human pages out.
      if (paths.size >= (isBot ? max / 2 : max)) return OTHER_PATH;
      paths.add(path);
      return path;
    },
  };
}
