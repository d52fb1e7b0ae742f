// SIGNATURE STUB — the core-normalize helper implements this.

/** True when `path` equals `pattern`, or matches it with `*` standing for any run of characters (`/` included). */
export declare function matchPath(pattern: string, path: string): boolean;
