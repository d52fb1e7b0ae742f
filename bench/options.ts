/** The bench's command line and the budget of each run mode. */

export const SECTIONS = ['overhead', 'cpu', 'hot-store', 'ingest', 'memory'] as const;
export type Section = (typeof SECTIONS)[number];

/** How long and how hard each section runs. */
export interface BenchPlan {
  mode: 'quick' | 'full';
  sections: Section[];
  /** Whether RESULTS.md and results/latest.json are written (a partial `--only` run writes nothing). */
  write: boolean;
  overhead: {
    /** A/B rounds: each round loads bare, memory and Redis once, in alternating order. */
    rounds: number;
    /** Seconds of load per variant per round. */
    seconds: number;
    /** Seconds of unmeasured load per server before the rounds (JIT warm-up). */
    warmupSeconds: number;
    connections: number;
  };
  cpu: { seconds: number; hostileRepeats: number };
  hotStore: { seconds: number; concurrency: number; visitors: number };
  ingest: { sustainSeconds: number; pacedSeconds: number };
  memory: { visitors: number };
}

const QUICK: Omit<BenchPlan, 'sections' | 'write'> = {
  mode: 'quick',
  overhead: { rounds: 2, seconds: 1.5, warmupSeconds: 0.5, connections: 16 },
  cpu: { seconds: 0.75, hostileRepeats: 2 },
  hotStore: { seconds: 3, concurrency: 128, visitors: 20_000 },
  ingest: { sustainSeconds: 5, pacedSeconds: 3 },
  memory: { visitors: 10_000 },
};

const FULL: Omit<BenchPlan, 'sections' | 'write'> = {
  mode: 'full',
  overhead: { rounds: 5, seconds: 5, warmupSeconds: 2, connections: 16 },
  cpu: { seconds: 4, hostileRepeats: 5 },
  hotStore: { seconds: 15, concurrency: 128, visitors: 200_000 },
  ingest: { sustainSeconds: 60, pacedSeconds: 15 },
  memory: { visitors: 50_000 },
};

const USAGE = `usage: pnpm bench [--quick] [--only=${SECTIONS.join(',')}]
  --quick   a short run (under 2 minutes); the default full run takes under 15
  --only    run some sections; results files are left untouched`;

/** Reads `process.argv` (`pnpm bench --quick` and `pnpm bench -- --quick` both work). */
export function parseArgs(argv: string[]): BenchPlan {
  let quick = false;
  let only: Section[] | null = null;
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) {
      only = arg
        .slice('--only='.length)
        .split(',')
        .filter((s) => s !== '')
        .map((s) => {
          if (!(SECTIONS as readonly string[]).includes(s)) throw new UsageError(`unknown section "${s}"`);
          return s as Section;
        });
    } else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else throw new UsageError(`unknown argument "${arg}"`);
  }
  const base = quick ? QUICK : FULL;
  return { ...base, sections: only ?? [...SECTIONS], write: only === null };
}

/** A command line the bench cannot run with. */
export class UsageError extends Error {
  constructor(problem: string) {
    super(problem === '' ? USAGE : `[anon] [bench] ${problem}\n${USAGE}`);
  }
}
