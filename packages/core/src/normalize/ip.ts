import type { IpMode } from '../config.js';
import { truncate } from './truncate.js';

/** Longest IP text kept in `rawIp` when it does not parse (a bogus proxy header must not grow memory). */
export const RAW_IP_MAX = 100;

type ParsedIp = { version: 4; octets: number[] } | { version: 6; groups: number[] };

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    octets.push(value);
  }
  return octets;
}

function parseGroups(text: string, allowIpv4Tail: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (allowIpv4Tail && i === parts.length - 1 && part.includes('.')) {
      const octets = parseIpv4(part);
      if (octets === null) return null;
      groups.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    } else {
      if (!/^[0-9a-f]{1,4}$/i.test(part)) return null;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

function parseIpv6(text: string): number[] | null {
  const zone = text.indexOf('%');
  const address = zone === -1 ? text : text.slice(0, zone);
  const gap = address.indexOf('::');
  if (gap === -1) {
    const groups = parseGroups(address, true);
    return groups !== null && groups.length === 8 ? groups : null;
  }
  if (address.indexOf('::', gap + 1) !== -1) return null;
  const head = parseGroups(address.slice(0, gap), false);
  const tail = parseGroups(address.slice(gap + 2), true);
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Parse an IPv4 or IPv6 address (brackets and a zone id allowed); IPv4-mapped IPv6 comes back as IPv4. */
export function parseIp(text: string): ParsedIp | null {
  let address = text.trim();
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close === -1) return null;
    address = address.slice(1, close);
  }
  if (!address.includes(':')) {
    const octets = parseIpv4(address);
    return octets === null ? null : { version: 4, octets };
  }
  const groups = parseIpv6(address);
  if (groups === null) return null;
  if (groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0)) {
    return { version: 4, octets: [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff] };
  }
  return { version: 6, groups };
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function formatIp(ip: ParsedIp): string {
  return ip.version === 4 ? ip.octets.join('.') : formatIpv6(ip.groups);
}

export interface IpFields {
  /** As received (trimmed, IPv4-mapped IPv6 reduced to IPv4), '' when missing; never stored. */
  rawIp: string;
  /** What `mode` allows storing: null for `drop` and for an address that does not parse. */
  ip: string | null;
}

/** The IP for the visitor key and the IP to store, per `mode` (`truncate`: IPv4 /24, IPv6 /48). */
export function ipFields(value: unknown, mode: IpMode): IpFields {
  if (typeof value !== 'string' || value.trim() === '') return { rawIp: '', ip: null };
  const parsed = parseIp(value);
  const rawIp = parsed?.version === 4 ? formatIp(parsed) : truncate(value.trim(), RAW_IP_MAX);
  if (parsed === null) return { rawIp, ip: null };
  if (mode === 'full') return { rawIp, ip: formatIp(parsed) };
  if (mode === 'truncate') {
    if (parsed.version === 4)
      return { rawIp, ip: `${parsed.octets[0]}.${parsed.octets[1]}.${parsed.octets[2]}.0` };
    return {
      rawIp,
      ip: formatIpv6([parsed.groups[0]!, parsed.groups[1]!, parsed.groups[2]!, 0, 0, 0, 0, 0]),
    };
  }
  // `drop`, and any mode this version does not know: storing nothing is the safe reading.
  return { rawIp, ip: null };
}
