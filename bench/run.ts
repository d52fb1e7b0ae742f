/**
 * `pnpm bench [--quick] [--only=…] [--profile=<framework>]`: per-request overhead, CPU per tracked request,
 * the Redis hot store, ingest into Postgres and PGlite, and memory per visitor. It prints figures and writes
 * them to bench/results/latest.json and bench/RESULTS.md; it never fails on a number, only when it cannot run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type CpuResult, measureCpu } from './cpu.js';
import { type HotStoreResult, measureHotStore } from './hot-store.js';
import { type IngestResult, measureIngest } from './ingest.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { type MemoryResult, measureMemory } from './memory.js';
import { type BenchPlan, parseArgs, type Section, UsageError } from './options.js';
import { measureOverhead, type OverheadResult, profileServer } from './overhead.js';
import { renderResults } from './report.js';
import { round } from './stats.js';

/** Everything one run measured; what `results/latest.json` holds. */
export interface BenchResults {
  mode: BenchPlan['mode'];
  machine: MachineInfo;
  /** Seconds each section took, and the machine's 1-minute load average when it ended. */
  sections: Partial<Record<Section, { seconds: number; loadAverage: number; error?: string }>>;
  overhead?: OverheadResult;
  cpu?: CpuResult;
  hotStore?: HotStoreResult;
  ingest?: { postgres: IngestResult; pglite: IngestResult };
  memory?: MemoryResult;
  totalSeconds: number;
}

const log = (line: string) => console.log(line);

async function main(): Promise<void> {
  const plan = parseArgs(process.argv.slice(2));
  if (plan.reportOnly) {
    const json = fileURLToPath(new URL('./results/latest.json', import.meta.url));
    const results = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
    writeFileSync(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), renderResults(results));
    log('wrote bench/RESULTS.md from bench/results/latest.json');
    return;
  }
  const started = performance.now();
  log(`[anon] [bench] ${plan.mode} run: ${plan.sections.join(', ')}`);
  const machine = await machineInfo();
  log(
    `  ${machine.cores} × ${machine.cpuModel}, Node ${machine.node}, Redis ${machine.redis ?? 'unreachable'}, Postgres ${machine.postgres ?? 'unreachable'}, load ${os.loadavg()[0]!.toFixed(2)}`,
  );
  if (plan.profile !== null) {
    const dir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const { framework, seconds, variant } = plan.profile;
    const name = `${framework}-${variant}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
    log(`\nprofile: ${framework}, ${variant} hot store, ${seconds} s of load`);
    await profileServer(framework, variant, seconds, 16, `${dir}${name}`, log);
    log(`wrote bench/results/profiles/${name}`);
    log(`top self time: node --import tsx bench/profile-top.ts bench/results/profiles/${name}`);
    return;
  }
  const results: BenchResults = { mode: plan.mode, machine, sections: {}, totalSeconds: 0 };
  const runners: Record<Section, () => Promise<void>> = {
    overhead: async () => {
      results.overhead = await measureOverhead(plan, log);
    },
    cpu: async () => {
      results.cpu = await measureCpu(plan, log);
    },
    'hot-store': async () => {
      results.hotStore = await measureHotStore(plan, log);
    },
    ingest: async () => {
      results.ingest = await measureIngest(plan, log);
    },
    memory: async () => {
      results.memory = await measureMemory(plan, log);
    },
  };
  for (const section of plan.sections) {
    log(`\n${section}`);
    const t0 = performance.now();
    let error: string | undefined;
    try {
      await runners[section]();
    } catch (e) {
      // One broken section (a package still moving, a server gone) must not hide the others' figures.
      error = String((e as Error)?.stack ?? e)
        .split('\n')
        .slice(0, 3)
        .join(' ');
      log(`  FAILED: ${error}`);
    }
    results.sections[section] = {
      seconds: round((performance.now() - t0) / 1_000, 1),
      loadAverage: round(os.loadavg()[0]!, 2),
      ...(error === undefined ? {} : { error }),
    };
  }
  results.totalSeconds = round((performance.now() - started) / 1_000, 1);
  log(`\n[anon] [bench] done in ${results.totalSeconds} s`);
  if (!plan.write) {
    log('(--only: results files left untouched)');
    return;
  }
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), renderResults(results));
  log('wrote bench/results/latest.json and bench/RESULTS.md');
}

main().then(
  // Servers, pools and timers are all closed by now; exit anyway so a stray handle cannot hang the run.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
