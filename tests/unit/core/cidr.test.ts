import fc from "fast-check";
import {
  cidrSlug,
  containsCidr,
  findOverlaps,
  formatIp,
  overlaps,
  parseCidr,
  parseIp,
  Parsed,
} from "../../../core/cidr";

/** A parse that failed with `error`, suggesting `suggestion` (or nothing). */
function expectRejected(parsed: Parsed<unknown>, error: string, suggestion: string | undefined): void {
  expect(parsed.ok).toBe(false);
  if (!parsed.ok) {
    expect(parsed.error).toBe(error);
    expect(parsed.suggestion).toBe(suggestion);
  }
}

describe("parseIp", () => {
  it.each([
    ["10.240.0.20", 4, "10.240.0.20"],
    ["0.0.0.0", 4, "0.0.0.0"],
    ["255.255.255.255", 4, "255.255.255.255"],
    ["fd00::1", 6, "fd00::1"],
    ["2001:db8::", 6, "2001:db8::"],
  ])("accepts %s", (input, family, text) => {
    const parsed = parseIp(input);
    expect(parsed).toEqual({ ok: true, value: expect.objectContaining({ family, text }) });
  });

  it.each([
    ["010.240.0.20", "has leading zeros", "10.240.0.20"],
    ["10.240.0.256", "has an octet above 255", undefined],
    ["10.240.0", "is not an IPv4 or IPv6 address", undefined],
    ["FD00::1", "is not in canonical form", "fd00::1"],
    ["fd00:0:0::1", "is not in canonical form", "fd00::1"],
    ["::ffff:10.0.0.1", "is an IPv4-mapped IPv6 address", "10.0.0.1"],
    ["fe80::1%eth0", "is not an IPv4 or IPv6 address", undefined],
    ["10.0.0.1;reboot", "is not an IPv4 or IPv6 address", undefined],
    ["", "is empty", undefined],
  ])("rejects %j: %s", (input, error, suggestion) => expectRejected(parseIp(input), error, suggestion));
});

describe("parseCidr", () => {
  it.each([
    ["10.200.0.0/24", "10.200.0.0/24", 4, 24],
    ["10.200.0.0/16", "10.200.0.0/16", 4, 16],
    ["0.0.0.0/0", "0.0.0.0/0", 4, 0],
    ["10.200.0.7/32", "10.200.0.7/32", 4, 32],
    ["fd00:10:200::/64", "fd00:10:200::/64", 6, 64],
  ])("accepts %s", (input, text, family, prefix) => {
    expect(parseCidr(input)).toEqual({ ok: true, value: expect.objectContaining({ text, family, prefix }) });
  });

  it.each([
    ["10.200.0.1/24", "has host bits set (it is not the network address)", "10.200.0.0/24"],
    ["10.200.1.0/16", "has host bits set (it is not the network address)", "10.200.0.0/16"],
    ["010.200.0.0/24", "address has leading zeros", "10.200.0.0/24"],
    ["10.200.0.0/33", "prefix length must be a number from 0 to 32", undefined],
    ["10.200.0.0/024", "prefix length must be a number from 0 to 32", undefined],
    ["10.200.0.0", "has no prefix length (for example /24)", undefined],
    ["10.200.0.0/", "prefix length must be a number from 0 to 32", undefined],
    ["fd00::1/64", "has host bits set (it is not the network address)", "fd00::/64"],
    ["FD00::/64", "address is not in canonical form", "fd00::/64"],
    ["fd00::/129", "prefix length must be a number from 0 to 128", undefined],
  ])("rejects %j: %s", (input, error, suggestion) => expectRejected(parseCidr(input), error, suggestion));
});

describe("cidrSlug", () => {
  it.each([
    ["10.200.0.0/24", "10-200-0-0-24"],
    ["10.200.10.0/24", "10-200-10-0-24"],
    ["fd00:10:200::/64", "fd00-10-200---64"],
  ])("%s → %s", (cidr, slug) => expect(cidrSlug(cidr)).toBe(slug));
});

// Properties over the whole IPv4 space.
const ipv4 = fc.bigInt({ min: 0n, max: 2n ** 32n - 1n });
const prefix4 = fc.integer({ min: 0, max: 32 });
const blockOf = (value: bigint, prefix: number) => {
  const hostMask = (1n << BigInt(32 - prefix)) - 1n;
  return `${formatIp(4, value & ~hostMask)}/${prefix}`;
};

describe("CIDR properties", () => {
  it("every address round-trips through its text", () => {
    fc.assert(
      fc.property(ipv4, (value) => {
        const parsed = parseIp(formatIp(4, value));
        return parsed.ok && parsed.value.value === value;
      }),
    );
  });

  it("a block with host bits set is rejected with its network address as the fix, and that fix is accepted", () => {
    fc.assert(
      fc.property(ipv4, prefix4, (value, prefix) => {
        const input = `${formatIp(4, value)}/${prefix}`;
        const parsed = parseCidr(input);
        const canonical = blockOf(value, prefix);
        if (input === canonical) return parsed.ok;
        return !parsed.ok && parsed.suggestion === canonical && parseCidr(canonical).ok;
      }),
    );
  });

  it("overlap is symmetric and matches containment for CIDR blocks (they nest or are disjoint)", () => {
    fc.assert(
      fc.property(ipv4, prefix4, ipv4, prefix4, (v1, p1, v2, p2) => {
        const a = parseCidr(blockOf(v1, p1));
        const b = parseCidr(blockOf(v2, p2));
        if (!a.ok || !b.ok) return false;
        const nested = containsCidr(a.value, b.value) || containsCidr(b.value, a.value);
        return (
          overlaps(a.value, b.value) === overlaps(b.value, a.value) && overlaps(a.value, b.value) === nested
        );
      }),
    );
  });

  it("the sweep finds exactly the overlapping pairs that comparing every pair finds", () => {
    const blocks = fc.array(
      fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 16n - 1n }), fc.integer({ min: 8, max: 24 })).map(([v, p]) => {
        const parsed = parseCidr(blockOf(0x0ac80000n + v * 256n, p));
        if (!parsed.ok) throw new Error("generator produced a bad block");
        return parsed.value;
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(blocks, (cidrs) => {
        const indexed = cidrs.map((cidr, index) => ({ cidr, index }));
        const key = (i: number, j: number) => `${Math.min(i, j)}:${Math.max(i, j)}`;
        const swept = new Set(findOverlaps(indexed, (x) => x.cidr).map(([x, y]) => key(x.index, y.index)));
        const brute = new Set<string>();
        for (let i = 0; i < indexed.length; i++)
          for (let j = i + 1; j < indexed.length; j++)
            if (overlaps(cidrs[i]!, cidrs[j]!)) brute.add(key(i, j));
        expect([...swept].sort()).toEqual([...brute].sort());
      }),
    );
  });
});
