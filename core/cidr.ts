// IP and CIDR parsing and arithmetic. Addresses are held as bigints so IPv4 and IPv6 share one code path.
import * as ipaddr from "ipaddr.js";

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 for IPv6. */
  readonly text: string;
}

export interface Cidr {
  readonly family: Family;
  /** First address of the block. */
  readonly start: bigint;
  /** Last address of the block. */
  readonly end: bigint;
  readonly prefix: number;
  /** Canonical text, e.g. `10.200.0.0/24`. */
  readonly text: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; suggestion?: string };

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Only hex digits, colons and (for embedded IPv4) dots: rejects zone ids, spaces and anything a shell would read.
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;

export const bits = (family: Family): number => (family === 4 ? 32 : 128);

/**
 * The family of an address or block already parsed to canonical text (or, for AWS, a prefix list id, which
 * counts as IPv4): only IPv6 text holds a ":".
 */
export const familyOf = (text: string): Family => (text.includes(":") ? 6 : 4);

function bytesToBigint(bytes: number[]): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join(".");
  }
  const parts: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

export function parseIp(input: string): Parsed<Ip> {
  if (typeof input !== "string" || input.length === 0) return { ok: false, error: "is empty" };
  if (IPV4.test(input)) {
    const value = bytesToBigint(input.split(".").map(Number));
    return { ok: true, value: { family: 4, value, text: input } };
  }
  if (/^\d+(\.\d+){3}$/.test(input)) {
    const octets = input.split(".").map((o) => Number(o));
    if (octets.every((o) => o <= 255)) {
      const canonical = octets.join(".");
      return { ok: false, error: "has leading zeros", suggestion: canonical };
    }
    return { ok: false, error: "has an octet above 255" };
  }
  if (input.includes(":") && IPV6_CHARS.test(input) && ipaddr.IPv6.isValid(input)) {
    const address = ipaddr.IPv6.parse(input);
    if (address.isIPv4MappedAddress()) {
      return {
        ok: false,
        error: "is an IPv4-mapped IPv6 address",
        suggestion: address.toIPv4Address().toString(),
      };
    }
    const text = address.toRFC5952String();
    if (text !== input) return { ok: false, error: "is not in canonical form", suggestion: text };
    return { ok: true, value: { family: 6, value: bytesToBigint(address.toByteArray()), text } };
  }
  return { ok: false, error: "is not an IPv4 or IPv6 address" };
}

export function parseCidr(input: string): Parsed<Cidr> {
  if (typeof input !== "string" || input.length === 0) return { ok: false, error: "is empty" };
  const slash = input.indexOf("/");
  if (slash < 0) return { ok: false, error: "has no prefix length (for example /24)" };
  const addressText = input.slice(0, slash);
  const prefixText = input.slice(slash + 1);
  const address = parseIp(addressText);
  if (!address.ok) {
    if (address.suggestion !== undefined && /^\d{1,3}$/.test(prefixText)) {
      const retry = parseCidr(`${address.suggestion}/${prefixText}`);
      if (retry.ok) return { ok: false, error: `address ${address.error}`, suggestion: retry.value.text };
    }
    return { ok: false, error: `address ${address.error}` };
  }
  const { family, value } = address.value;
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits(family)) {
    return { ok: false, error: `prefix length must be a number from 0 to ${bits(family)}` };
  }
  const prefix = Number(prefixText);
  const hostBits = BigInt(bits(family) - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const start = value & ~hostMask;
  const end = start | hostMask;
  const text = `${formatIp(family, start)}/${prefix}`;
  if (start !== value) {
    return { ok: false, error: "has host bits set (it is not the network address)", suggestion: text };
  }
  return { ok: true, value: { family, start, end, prefix, text } };
}

export function containsIp(block: Cidr, ip: Ip): boolean {
  return block.family === ip.family && block.start <= ip.value && ip.value <= block.end;
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/**
 * Every pair of overlapping blocks, found with one sort and a sweep (O(n log n + k)), so that
 * validating thousands of nodes stays linear in practice rather than comparing every pair.
 */
export function findOverlaps<T>(items: readonly T[], cidrOf: (item: T) => Cidr): Array<[T, T]> {
  const sorted = [...items].sort((x, y) => {
    const a = cidrOf(x);
    const b = cidrOf(y);
    if (a.family !== b.family) return a.family - b.family;
    if (a.start !== b.start) return a.start < b.start ? -1 : 1;
    return a.end < b.end ? 1 : a.end > b.end ? -1 : 0;
  });
  const pairs: Array<[T, T]> = [];
  // Blocks still open at the sweep position; CIDR blocks nest or are disjoint, so this is a stack.
  const open: T[] = [];
  for (const item of sorted) {
    const cidr = cidrOf(item);
    while (open.length > 0) {
      const top = cidrOf(open[open.length - 1] as T);
      if (top.family === cidr.family && top.end >= cidr.start) break;
      open.pop();
    }
    for (const outer of open) pairs.push([outer, item]);
    open.push(item);
  }
  return pairs;
}

/** `10.200.0.0/24` → `10-200-0-0-24`, usable in resource names (lowercase letters, digits and dashes). */
export function cidrSlug(cidr: string): string {
  return cidr.toLowerCase().replace(/[.:/]/g, "-");
}
