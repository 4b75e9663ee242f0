import { isIP } from "node:net";

const CIDR_V4 = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** IPv4 written as IPv6 (::ffff:203.0.113.7) is the same client for a list. */
function unmapped(ip: string): string {
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return lower;
}

/** A list value for the ipAddress field: an exact IPv4 / IPv6 address or an IPv4 CIDR. */
export function isIpOrCidr(value: string): boolean {
  if (isIP(value) !== 0) return true;
  const m = CIDR_V4.exec(value);
  return m !== null && isIP(m[1]!) === 4 && Number(m[2]) <= 32;
}

/** Matches an address against prepared list values; built once per rule, used per transaction. */
export interface IpMatcher {
  matches(ip: string): string | undefined;
}

export function ipMatcher(values: readonly string[]): IpMatcher {
  const exact = new Map<string, string>();
  const ranges: { base: number; mask: number; value: string }[] = [];
  for (const value of values) {
    const m = CIDR_V4.exec(value);
    if (m) {
      const bits = Number(m[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      ranges.push({ base: (ipv4ToInt(m[1]!) & mask) >>> 0, mask, value });
    } else {
      exact.set(unmapped(value), value);
    }
  }
  return {
    matches(ip) {
      const address = unmapped(ip);
      const hit = exact.get(address);
      if (hit !== undefined || isIP(address) !== 4) return hit;
      const n = ipv4ToInt(address);
      return ranges.find((r) => (n & r.mask) >>> 0 === r.base)?.value;
    },
  };
}
