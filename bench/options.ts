/** The bench's command line and the budget of each run mode. */
import { FRAMEWORKS, type Framework } from './variants.js';

export const SECTIONS = ['overhead', 'cpu', 'hot-store', 'ingest', 'memory'] as const;
export type Section = (typeof SECTIONS)[number];

/** How long and how hard each section runs. */
export interface BenchPlan {
  mode: 'quick' | 'full';
  sections: Section[];
  /** Whether RESULTS.md and results/latest.json are written (a partial `--only` run writes nothing). */
  write: boolean;
  /** `--report`: only render RESULTS.md again from results/latest.json (after editing SHORTFALLS.md). */
  reportOnly: boolean;
  /** `--profile=<framework>[:seconds[:variant]]`: profile one framework's server instead of running the sections. */
  profile: { framework: Framework; seconds: number; variant: 'memory' | 'redis' } | null;
  overhead: {
    /** Interleaved rounds: each round loads bare, floor, memory and Redis once, the order flipped each round. */
    rounds: number;
    /** Seconds of load per variant per round. */
    seconds: number;
    /** Seconds of unmeasured load per server before the rounds (JIT warm-up). */
    warmupSeconds: number;
    /** Seconds of load on the memory server with each `track()` call timed (the request-path CPU). */
    probeSeconds: number;
    connections: number;
  };
  cpu: { seconds: number; hostileRepeats: number; hostileStreamSeconds: number };
  hotStore: { seconds: number; concurrency: number; batchSize: number; visitors: number };
  ingest: { sustainSeconds: number; pacedSeconds: number };
  memory: { visitors: number };
}

type Budget = Omit<BenchPlan, 'sections' | 'write' | 'profile' | 'reportOnly'>;

// The quick run is a smoke run of every figure under 2 minutes: 4 frameworks × 4 servers start (about 5 s
// per framework), so each window is short; its figures are noisy, the full run's are the record.
const QUICK: Budget = {
  mode: 'quick',
  overhead: { rounds: 2, seconds: 0.75, warmupSeconds: 0.25, probeSeconds: 0.5, connections: 16 },
  cpu: { seconds: 0.5, hostileRepeats: 1, hostileStreamSeconds: 2 },
  hotStore: { seconds: 1.5, concurrency: 8, batchSize: 256, visitors: 20_000 },
  ingest: { sustainSeconds: 3, pacedSeconds: 2 },
  memory: { visitors: 5_000 },
};

const FULL: Budget = {
  mode: 'full',
  overhead: { rounds: 4, seconds: 4, warmupSeconds: 2, probeSeconds: 3, connections: 16 },
  cpu: { seconds: 3, hostileRepeats: 5, hostileStreamSeconds: 10 },
  hotStore: { seconds: 10, concurrency: 8, batchSize: 256, visitors: 100_000 },
  ingest: { sustainSeconds: 60, pacedSeconds: 15 },
  memory: { visitors: 50_000 },
};

const USAGE = `usage: pnpm bench [--quick] [--only=${SECTIONS.join(',')}] [--report] [--profile=<${FRAMEWORKS.join('|')}>[:seconds[:memory|redis]]]
  --quick     a short run (under 2 minutes); the default full run takes about 10
  --only      run some sections; results files are left untouched
  --report    only render RESULTS.md again from results/latest.json (e.g. after editing SHORTFALLS.md)
  --profile   only profile one framework's memory (or redis) variant under load (default 10 s): a .cpuprofile
              to bench/results/profiles/ (read it with: node --import tsx bench/profile-top.ts <file>)`;

/** Reads `process.argv` (`pnpm bench --quick` and `pnpm bench -- --quick` both work). */
export function parseArgs(argv: string[]): BenchPlan {
  let quick = false;
  let only: Section[] | null = null;
  let profile: BenchPlan['profile'] = null;
  let reportOnly = false;
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg === '--report') reportOnly = true;
    else if (arg.startsWith('--profile=')) {
      const [framework = '', seconds = '10', variant = 'memory'] = arg.slice('--profile='.length).split(':');
      if (variant !== 'memory' && variant !== 'redis')
        throw new UsageError(`bad profile variant "${variant}"`);
      if (!(FRAMEWORKS as readonly string[]).includes(framework))
        throw new UsageError(`unknown framework "${framework}"`);
      const s = Number(seconds);
      if (!Number.isFinite(s) || s <= 0) throw new UsageError(`bad profile seconds "${seconds}"`);
      profile = { framework: framework as Framework, seconds: s, variant };
    } else if (arg.startsWith('--only=')) {
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
  return {
    ...base,
    sections: only ?? [...SECTIONS],
    write: only === null && profile === null,
    profile,
    reportOnly,
  };
}

/** A command line the bench cannot run with. */
export class UsageError extends Error {
  constructor(problem: string) {
    super(problem === '' ? USAGE : `[anon] [bench] ${problem}\n${USAGE}`);
  }
}
