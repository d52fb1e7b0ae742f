/**
 * Prints the functions with the most self time in a V8 `.cpuprofile` (what `node --cpu-prof` and `pnpm bench
 * --profile=<framework>` write): `node --import tsx bench/profile-top.ts <file.cpuprofile> [count=25]`.
 * Self time is the samples whose top frame is the function; GC, idle and program time are V8's own nodes.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time per function (name + file + line), µs, heaviest first, with the profile's total. */
export function selfTimes(profile: CpuProfile): { totalUs: number; rows: { fn: string; us: number }[] } {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const { samples = [], timeDeltas = [] } = profile;
  // Each sample's time is the delta to the next sample (the last one gets none), as DevTools computes it.
  for (let i = 0; i < samples.length; i++) {
    const next = timeDeltas[i + 1] ?? 0;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, next));
  }
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byNode.get(id)?.callFrame;
    if (frame === undefined) continue;
    const where =
      frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
    const fn = `${frame.functionName || '(anonymous)'}${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const rows = [...byFunction].map(([fn, us]) => ({ fn, us })).sort((a, b) => b.us - a.us);
  return { totalUs: profile.endTime - profile.startTime, rows };
}

/** A path shortened to what says where it is: the package or the repository-relative file. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.+)$/.exec(path);
  if (pnpm) return pnpm[1]!;
  const repo = /\/(packages|bench)\/(.+)$/.exec(path);
  return repo ? `${repo[1]}/${repo[2]}` : path;
}

function main(): void {
  const [file, countArg = '25'] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [count=25]');
    process.exit(2);
  }
  const { totalUs, rows } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const count = Number(countArg);
  console.log(`${(totalUs / 1e6).toFixed(2)} s profiled; top ${count} functions by self time:`);
  console.log('   self ms      %  function');
  for (const row of rows.slice(0, count)) {
    const ms = (row.us / 1_000).toFixed(1).padStart(9);
    const pct = ((100 * row.us) / totalUs).toFixed(1).padStart(6);
    console.log(`${ms} ${pct}  ${row.fn}`);
  }
}

main();
