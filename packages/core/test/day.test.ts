import { describe, expect, it } from 'vitest';
import { dayOf } from '../src/day.js';
import { isAnonError } from '../src/errors.js';

describe('dayOf', () => {
  it('gives the UTC day by arithmetic', () => {
    expect(dayOf(0, 'UTC')).toBe('1970-01-01');
    expect(dayOf(-1, 'UTC')).toBe('1969-12-31');
    expect(dayOf(Date.UTC(2026, 0, 15, 23, 59, 59, 999), 'UTC')).toBe('2026-01-15');
    expect(dayOf(Date.UTC(2024, 1, 29, 12), 'UTC')).toBe('2024-02-29');
    expect(dayOf(Date.UTC(2000, 11, 31), 'Etc/UTC')).toBe('2000-12-31');
  });

  it('agrees with Date for UTC over many days', () => {
    const mismatches: number[] = [];
    for (let at = Date.UTC(1899, 0, 1); at < Date.UTC(2101, 0, 1); at += 86_400_000 * 7 + 3_600_123) {
      if (dayOf(at, 'UTC') !== new Date(at).toISOString().slice(0, 10)) mismatches.push(at);
    }
    expect(mismatches).toEqual([]);
  });

  it('counts days in a configured IANA time zone', () => {
    const lateUtc = Date.UTC(2026, 0, 16, 3); // 22:00 on the 15th in Toronto (UTC−5)
    expect(dayOf(lateUtc, 'UTC')).toBe('2026-01-16');
    expect(dayOf(lateUtc, 'America/Toronto')).toBe('2026-01-15');
    expect(dayOf(Date.UTC(2026, 0, 15, 20), 'Asia/Tokyo')).toBe('2026-01-16');
    // Across a DST change: 2026-03-08 07:30 UTC is 03:30 EDT in Toronto.
    expect(dayOf(Date.UTC(2026, 2, 8, 7, 30), 'America/Toronto')).toBe('2026-03-08');
    expect(dayOf(Date.UTC(2026, 2, 8, 4, 30), 'America/Toronto')).toBe('2026-03-07');
  });

  it('throws a typed error for an unknown zone or a time that is not finite', () => {
    let error: unknown;
    try {
      dayOf(0, 'Mars/Olympus_Mons');
    } catch (caught) {
      error = caught;
    }
    expect(isAnonError(error, 'invalid_config')).toBe(true);
    expect(String((error as Error).message)).toContain('[anon] [core] timeZone "Mars/Olympus_Mons"');
    expect(() => dayOf(Number.NaN, 'UTC')).toThrow(/finite time/);
    expect(() => dayOf(9e15, 'Europe/Paris')).toThrow(/finite time/);
  });
});
