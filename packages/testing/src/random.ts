import type { Millis } from '@anon/core';

/** A small seeded pseudo-random source: the same seed always gives the same sequence. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** `length` lower-case hex digits. */
  hex(length: number): string;
}

/**
 * mulberry32: 32 bits of state, good enough spread for traffic shapes, and identical on every runtime
 * (no `Math.random`, so a failing seed can be replayed).
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[int(0, items.length - 1)] as T;
    },
    chance: (p: number) => next() < p,
    hex: (length: number) => {
      let out = '';
      while (out.length < length) out += int(0, 0xffff).toString(16).padStart(4, '0');
      return out.slice(0, length);
    },
  };
}

/**
 * A UUIDv7 whose timestamp is `at` and whose random bits come from `random`: ids look like the ones the
 * tracker allocates (stores may keep them in `uuid` columns) and stay deterministic.
 */
export function seededUuidv7(random: Random, at: Millis): string {
  const ts = Math.max(0, Math.floor(at)).toString(16).padStart(12, '0').slice(-12);
  const variant = (8 + random.int(0, 3)).toString(16);
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${random.hex(3)}-${variant}${random.hex(3)}-${random.hex(12)}`;
}
