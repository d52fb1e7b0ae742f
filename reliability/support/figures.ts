/** What every scenario reports: the traffic it sent and where each unit of it went. */
export interface Figures {
  sent: number;
  stored: number;
  dropped: number;
  errors: number;
  /** Scenario-specific figures (latency, heap, counts), printed after the four. */
  extra?: Record<string, string | number>;
}

/**
 * Prints the scenario's line, `[reliability] <name>: sent N / stored N / dropped N / errors N | extra…`, the
 * format docs/reliability.md quotes.
 */
export function report(name: string, figures: Figures): void {
  const extra = Object.entries(figures.extra ?? {})
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  const line =
    `[reliability] ${name}: sent ${figures.sent} / stored ${figures.stored} / dropped ${figures.dropped}` +
    ` / errors ${figures.errors}${extra === '' ? '' : ` | ${extra}`}`;
  // stdout directly: the line must show whatever the reporter does with console output.
  process.stdout.write(`${line}\n`);
}

/** Bytes as MB with one decimal. */
export const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** Heap in use after a full collection (the suite runs with --expose-gc). */
export function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** A logger that keeps the suite's output to its figures (the failures are counted in `stats().failures`). */
export const quiet = { warn: () => undefined, error: () => undefined };
