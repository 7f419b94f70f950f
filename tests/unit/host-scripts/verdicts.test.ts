// verdicts.awk, the host scripts' route logic, fed canned `ip -N route show` / `ip -N rule show` output
// (as iproute2 6.1 prints it), desired lines and state lines. No root, no network: only awk, run as the
// hosts run it (mawk, Debian's default; also the machine's default awk, and busybox awk where installed).
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import { HOST_SCRIPTS_DIR, ROUTE_PROTO, VERDICTS_AWK } from "../../../ssh/host-program/render";

const AWK_FILE = path.join(HOST_SCRIPTS_DIR, VERDICTS_AWK);

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
/** The awks to run under: mawk is required (it is what Debian hosts run). */
const AWKS: Array<[string, string[]]> = [
  ["mawk", ["mawk"]],
  ["awk", ["awk"]],
  ...(onPath("busybox") && spawnSync("busybox", ["awk", "BEGIN{}"]).status === 0
    ? [["busybox awk", ["busybox", "awk"]] as [string, string[]]]
    : []),
];

let tmp = "";
beforeAll(() => {
  if (!onPath("mawk")) {
    throw new Error("mawk is missing (Debian's default awk, what the hosts run): apt-get install mawk");
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-verdicts-"));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Input {
  readonly desired?: string[];
  readonly state?: string[] | null;
  readonly table?: string[];
  readonly rules?: string[];
  readonly adopt?: boolean;
  readonly exact?: boolean;
}
let runs = 0;
function file(name: string, lines: string[] | null | undefined): string {
  if (lines === null || lines === undefined) return "/dev/null";
  const f = path.join(tmp, `${++runs}-${name}`);
  fs.writeFileSync(f, lines.map((l) => `${l}\n`).join(""));
  return f;
}
function awk(cmd: string[], args: string[]): string[][] {
  const [bin, ...pre] = cmd;
  // The protocol number comes from the caller, as the host program passes it (-v proto="$PROTO").
  const r = spawnSync(bin!, [...pre, "-v", `proto=${ROUTE_PROTO}`, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}
function verdicts(cmd: string[], input: Input): string[][] {
  const vars = ["-v", `adopt=${input.adopt ? 1 : 0}`, ...(input.exact ? ["-v", "exact=1"] : [])];
  const files = [
    file("desired", input.desired ?? []),
    file("state", input.state),
    file("table", input.table ?? []),
    ...(input.rules ? [file("rules", input.rules)] : []),
  ];
  return awk(cmd, [...vars, "-f", AWK_FILE, ...files]);
}

const HEADER = "# pod-routes state 2";
// node-0's view of the runbook, IPv4 and IPv6.
const D4 = "10.200.1.0/24 198.19.249.136 node-1";
const D6 = "fd00::a00:100/120 fd00::136 node-1";
const KERNEL4 = "198.19.249.0/24 dev eth0 proto 2 scope 253 src 198.19.249.34 ";
const KERNEL6 = "fd00::/64 dev eth0 proto 2 metric 256 pref medium";
const DEFAULT4 = "default via 198.19.249.1 dev eth0 ";
const DEFAULT_RULES = [
  "0:\tfrom all lookup 255",
  "32766:\tfrom all lookup 254",
  "32767:\tfrom all lookup 253",
  "0:\tfrom all lookup 255",
  "32766:\tfrom all lookup 254",
];

interface Case {
  readonly name: string;
  readonly input: Input;
  readonly want: string[][];
}

const CASES: Case[] = [
  // ---------------------------------------------------------------------------- the plain verdicts, IPv4
  {
    name: "add: desired, nothing there",
    input: { desired: [D4], table: [DEFAULT4, KERNEL4], rules: DEFAULT_RULES },
    want: [["add", "10.200.1.0/24", "198.19.249.136"]],
  },
  {
    name: "keep: ours (protocol 156, in the state file), as desired",
    input: {
      desired: [D4],
      state: [HEADER, "10.200.1.0/24 198.19.249.136"],
      table: [KERNEL4, "10.200.1.0/24 via 198.19.249.136 dev eth0 proto 156 "],
    },
    want: [["keep", "10.200.1.0/24", "198.19.249.136"]],
  },
  {
    name: "change: ours, another next hop (the live one in the fourth column)",
    input: {
      desired: [D4],
      state: [HEADER, "10.200.1.0/24 198.19.249.137"],
      table: ["10.200.1.0/24 via 198.19.249.137 dev eth0 proto 156 "],
    },
    want: [["change", "10.200.1.0/24", "198.19.249.136", "198.19.249.137"]],
  },
  {
    name: "remove: ours, no longer desired (via the installed next hop)",
    input: {
      desired: [],
      state: [HEADER, "10.200.2.0/24 198.19.249.22"],
      table: ["10.200.2.0/24 via 198.19.249.22 dev eth0 proto 156 "],
    },
    want: [["remove", "10.200.2.0/24", "198.19.249.22"]],
  },
  {
    name: "in the state file but gone from the table: nothing to remove",
    input: { desired: [], state: [HEADER, "10.200.2.0/24 198.19.249.22"], table: [KERNEL4] },
    want: [],
  },
  {
    name: "identical: a hand-made route exactly like the desired one (what `ip route add` made)",
    input: { desired: [D4], table: ["10.200.1.0/24 via 198.19.249.136 dev eth0 "] },
    want: [
      [
        "identical",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.136 dev eth0 proto boot",
        "ip route del 10.200.1.0/24 via 198.19.249.136",
      ],
    ],
  },
  {
    name: "adopt: the same with adopt=1",
    input: { desired: [D4], table: ["10.200.1.0/24 via 198.19.249.136 dev eth0 proto 4 "], adopt: true },
    want: [
      [
        "adopt",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.136 dev eth0 proto static",
        "ip route del 10.200.1.0/24 via 198.19.249.136",
      ],
    ],
  },
  // --------------------------------------------------------------------------------------- conflicts
  {
    name: "conflict: a static route to the destination via another next hop",
    input: { desired: [D4], table: ["10.200.1.0/24 via 198.19.249.10 dev eth0 proto 4 "] },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.10 dev eth0 proto static",
        "ip route del 10.200.1.0/24 via 198.19.249.10",
      ],
    ],
  },
  {
    name: "conflict: the desired next hop with another metric is not identical",
    input: { desired: [D4], table: ["10.200.1.0/24 via 198.19.249.136 dev eth0 metric 100 "], adopt: true },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.136 dev eth0 metric 100 proto boot",
        "ip route del 10.200.1.0/24 via 198.19.249.136 metric 100",
      ],
    ],
  },
  ...(
    [
      ["6", "blackhole"],
      ["7", "unreachable"],
      ["8", "prohibit"],
      ["9", "throw"],
    ] as const
  ).map(([num, type]): Case => ({
    name: `conflict: a ${type} route (\`ip -N\` prints the type as ${num})`,
    input: { desired: [D4], table: [`${num} 10.200.1.0/24 `], adopt: true },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        `${type} 10.200.1.0/24 proto boot`,
        `ip route del ${type} 10.200.1.0/24`,
      ],
    ],
  })),
  {
    name: "conflict: a more-specific route inside the pod CIDR (any protocol)",
    input: {
      desired: [D4],
      table: ["10.200.1.0/25 via 198.19.249.10 dev eth0 proto 4 ", "10.200.1.7 dev eth0 scope 253 "],
    },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/25 via 198.19.249.10 dev eth0 proto static",
        "ip route del 10.200.1.0/25 via 198.19.249.10",
      ],
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.7 dev eth0 scope link proto boot",
        "ip route del 10.200.1.7 dev eth0",
      ],
    ],
  },
  {
    name: "no conflict: a less-specific route around the pod CIDR (the default, a /16)",
    input: { desired: [D4], table: [DEFAULT4, "10.200.0.0/16 via 198.19.249.1 dev eth0 proto 4 "] },
    want: [["add", "10.200.1.0/24", "198.19.249.136"]],
  },
  {
    name: "conflict: a nexthop-object route and a multipath route",
    input: {
      desired: [D4, "10.200.2.0/24 198.19.249.22 node-2"],
      table: [
        "10.200.1.0/24 nhid 50 via 198.19.249.136 dev eth0 proto 156 ",
        "10.200.2.0/24 proto 4 ",
        "\tnexthop via 198.19.249.22 dev eth0 weight 1 ",
        "\tnexthop via 198.19.249.23 dev eth0 weight 1 ",
      ],
      state: [HEADER, "10.200.1.0/24 198.19.249.136", "10.200.2.0/24 198.19.249.22"],
    },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 nhid 50 via 198.19.249.136 dev eth0 proto 156",
        "ip route del 10.200.1.0/24 nhid 50",
      ],
      [
        "conflict",
        "10.200.2.0/24",
        "198.19.249.22",
        "10.200.2.0/24 proto static",
        "ip route del 10.200.2.0/24",
      ],
    ],
  },
  // ------------------------------------------------------------------------------------ protocol 156
  {
    name: "protocol 156 not in the state file, in the way: a conflict like any other route",
    input: { desired: [D4], state: null, table: ["10.200.1.0/24 via 198.19.249.10 dev eth0 proto 156 "] },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.10 dev eth0 proto 156",
        "ip route del 10.200.1.0/24 via 198.19.249.10",
      ],
    ],
  },
  {
    name: "protocol 156 not in the state file, exactly the desired route (a lost state file): taken over, a no-op",
    input: {
      desired: [D4],
      state: [HEADER, "10.200.2.0/24 198.19.249.22"],
      table: ["10.200.1.0/24 via 198.19.249.136 dev eth0 proto 156 "],
    },
    want: [
      [
        "adopt",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.136 dev eth0 proto 156",
        "ip route del 10.200.1.0/24 via 198.19.249.136",
      ],
    ],
  },
  {
    name: "protocol 156 not in the state file, another next hop: in the way, like any other route",
    input: {
      desired: [D4],
      state: [],
      table: ["10.200.1.0/24 via 198.19.249.34 dev eth0 proto 156 "],
    },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "10.200.1.0/24 via 198.19.249.34 dev eth0 proto 156",
        "ip route del 10.200.1.0/24 via 198.19.249.34",
      ],
    ],
  },
  {
    name: "protocol 156 not in the state file, not in the way: left alone (never removed)",
    input: {
      desired: [D4],
      state: [HEADER, "10.200.1.0/24 198.19.249.136"],
      table: [
        "10.200.1.0/24 via 198.19.249.136 dev eth0 proto 156 ",
        "10.77.0.0/24 via 198.19.249.9 dev eth0 proto 156 ",
      ],
    },
    want: [["keep", "10.200.1.0/24", "198.19.249.136"]],
  },
  {
    name: "protocol 156 routes that are not `<dst> via <ip>` are never ours: nhid, dev only, link-local or IPv6 gateway",
    input: {
      desired: [],
      state: [
        HEADER,
        "10.97.0.0/24 198.19.249.10",
        "10.95.0.0/24 198.19.249.10",
        "10.96.0.0/24 198.19.249.10",
        "fd00:1::/64 fe80::1",
        "10.94.0.0/24 198.19.249.2",
      ],
      table: [
        "10.97.0.0/24 nhid 50 via 198.19.249.10 dev eth0 proto 156 ",
        "10.95.0.0/24 dev eth0 proto 156 scope 253 ",
        "10.96.0.0/24 via inet6 fd00::10 dev eth0 proto 156 ",
        "10.94.0.0/24 proto 156 ",
        "\tnexthop via 198.19.249.2 dev eth0 weight 1 ",
        "\tnexthop via 198.19.249.3 dev eth0 weight 1 ",
        "fd00:1::/64 via fe80::1 dev eth0 proto 156 metric 1024 pref medium",
      ],
    },
    want: [],
  },
  {
    name: "only the number counts: a route whose protocol a site file names `pod-routes` (157) is not ours",
    input: {
      desired: [],
      state: [HEADER, "10.98.0.0/24 198.19.249.10"],
      table: ["10.98.0.0/24 via 198.19.249.10 dev eth0 proto 157 "],
    },
    want: [],
  },
  {
    name: "exact=1 (the delete): ours only via the recorded next hop",
    input: {
      desired: [],
      state: [HEADER, "10.200.1.0/24 198.19.249.136", "10.200.2.0/24 198.19.249.22"],
      table: [
        "10.200.1.0/24 via 198.19.249.137 dev eth0 proto 156 ",
        "10.200.2.0/24 via 198.19.249.22 dev eth0 proto 156 ",
      ],
      exact: true,
    },
    want: [["remove", "10.200.2.0/24", "198.19.249.22"]],
  },
  // ---------------------------------------------------------------------------------- legacy state
  {
    name: "a legacy state file (`route replace <dst> via <hop> proto 156` lines) is state too",
    input: {
      desired: [D4],
      state: [
        "route replace 10.200.1.0/24 via 198.19.249.136 proto 156",
        "route replace 10.200.2.0/24 via 198.19.249.22 proto 156",
      ],
      table: [
        "10.200.1.0/24 via 198.19.249.136 dev eth0 proto 156 ",
        "10.200.2.0/24 via 198.19.249.22 dev eth0 proto 156 ",
      ],
    },
    want: [
      ["keep", "10.200.1.0/24", "198.19.249.136"],
      ["remove", "10.200.2.0/24", "198.19.249.22"],
    ],
  },
  {
    name: "lines that are not routes are reported, not guessed at",
    input: { desired: [D4, "10.200.9.0/33 198.19.249.1 x"], state: [HEADER, "garbage"], table: [] },
    want: [
      ["invalid", "10.200.9.0/33 198.19.249.1 x", "desired"],
      ["invalid", "garbage", "state"],
      ["add", "10.200.1.0/24", "198.19.249.136"],
    ],
  },
  // ------------------------------------------------------------------------------------------ IPv6
  {
    name: "IPv6 add, keep, change, remove",
    input: {
      desired: [D6, "fd00::a00:200/120 fd00::22 node-2", "fd00::a00:300/120 fd00::23 node-3"],
      state: [
        HEADER,
        "fd00::a00:200/120 fd00::22",
        "fd00::a00:300/120 fd00::99",
        "fd00::a00:400/120 fd00::24",
      ],
      table: [
        KERNEL6,
        "fd00::a00:200/120 via fd00::22 dev eth0 proto 156 metric 1024 pref medium",
        "fd00::a00:300/120 via fd00::99 dev eth0 proto 156 metric 1024 pref medium",
        "fd00::a00:400/120 via fd00::24 dev eth0 proto 156 metric 1024 pref medium",
      ],
    },
    want: [
      ["add", "fd00::a00:100/120", "fd00::136"],
      ["keep", "fd00::a00:200/120", "fd00::22"],
      ["change", "fd00::a00:300/120", "fd00::23", "fd00::99"],
      ["remove", "fd00::a00:400/120", "fd00::24"],
    ],
  },
  {
    name: "IPv6 identical: metric 1024 is the default; metric 256 is not",
    input: {
      desired: [D6, "fd00::a00:200/120 fd00::22 node-2"],
      table: [
        "fd00::a00:100/120 via fd00::136 dev eth0 metric 1024 pref medium",
        "fd00::a00:200/120 via fd00::22 dev eth0 metric 256 pref medium",
      ],
    },
    want: [
      [
        "identical",
        "fd00::a00:100/120",
        "fd00::136",
        "fd00::a00:100/120 via fd00::136 dev eth0 metric 1024 pref medium proto boot",
        "ip route del fd00::a00:100/120 via fd00::136 metric 1024",
      ],
      [
        "conflict",
        "fd00::a00:200/120",
        "fd00::22",
        "fd00::a00:200/120 via fd00::22 dev eth0 metric 256 pref medium proto boot",
        "ip route del fd00::a00:200/120 via fd00::22 metric 256",
      ],
    ],
  },
  {
    name: "IPv6 blackhole and more-specific conflicts",
    input: {
      desired: [D6],
      table: [
        "6 fd00::a00:100/120 dev lo metric 1024 pref medium",
        "fd00::a00:180/121 via fd00::9 dev eth0 proto 4 metric 1024 pref medium",
      ],
    },
    want: [
      [
        "conflict",
        "fd00::a00:100/120",
        "fd00::136",
        "blackhole fd00::a00:100/120 dev lo metric 1024 pref medium proto boot",
        "ip route del blackhole fd00::a00:100/120 dev lo metric 1024",
      ],
      [
        "conflict",
        "fd00::a00:100/120",
        "fd00::136",
        "fd00::a00:180/121 via fd00::9 dev eth0 proto static metric 1024 pref medium",
        "ip route del fd00::a00:180/121 via fd00::9 metric 1024",
      ],
    ],
  },
  // --------------------------------------------------------------------- addresses, not their spelling
  {
    name: "the kernel's `::10.0.1.0/120` is TypeScript's `::a00:100/120` (IPv4-compatible spelling)",
    input: {
      desired: ["::a00:100/120 fd00::136 node-1"],
      state: [HEADER, "::a00:100/120 fd00::136"],
      table: ["::10.0.1.0/120 via fd00::136 dev eth0 proto 156 metric 1024 pref medium"],
    },
    want: [["keep", "::a00:100/120", "fd00::136"]],
  },
  {
    name: "upper case, leading zeros and no zero compression are the same address",
    input: {
      desired: ["fd00::a00:100/120 fd00::136 node-1", "10.200.2.0/24 198.19.249.22 node-2"],
      state: [HEADER, "FD00:0:0:0:0:0:0A00:0100/120 FD00::0136", "10.200.2.0/24 198.19.249.22"],
      table: [
        "fd00:0000:0000:0000:0000:0000:0a00:0100/120 via fd00:0:0::136 dev eth0 proto 156 metric 1024 pref medium",
        "10.200.2.0/24 via 198.19.249.22 dev eth0 proto 156 ",
      ],
    },
    want: [
      ["keep", "fd00::a00:100/120", "fd00::136"],
      ["keep", "10.200.2.0/24", "198.19.249.22"],
    ],
  },
  {
    name: "a next hop spelled differently is the same next hop (keep, not change)",
    input: {
      desired: ["::a00:100/120 ::a00:1 node-1"],
      state: [HEADER, "::a00:100/120 ::a00:1"],
      table: ["::10.0.1.0/120 via ::10.0.0.1 dev eth0 proto 156 metric 1024 pref medium"],
    },
    want: [["keep", "::a00:100/120", "::a00:1"]],
  },
  {
    name: "an IPv4 prefix never matches an IPv6 one with the same bits",
    input: {
      desired: ["10.0.1.0/24 198.19.249.136 node-1"],
      table: ["::10.0.1.0/120 via fd00::136 dev eth0 proto 4 metric 1024 pref medium"],
    },
    want: [["add", "10.0.1.0/24", "198.19.249.136"]],
  },
  // ---------------------------------------------------------------------------------- policy rules
  {
    name: "policy rules with a `to` selector overlapping a pod CIDR are conflicts (equal, inside, around)",
    input: {
      desired: [D4, D6],
      table: [],
      rules: [
        ...DEFAULT_RULES,
        "1000:\tfrom all to 10.200.1.0/24 lookup 100",
        "1001:\tfrom all to 10.200.1.128/25 lookup 100",
        "1002:\tfrom all to 10.200.0.0/16 lookup 100",
        "1003:\tfrom all to 10.201.0.0/16 lookup 100",
        "1004:\tnot from all to 10.200.1.0/24 lookup 100",
        "1005:\tfrom all to 10.200.1.0/24 lookup 254",
        "1006:\tfrom 10.200.1.0/24 lookup 100",
        "1000:\tfrom all to fd00::a00:0/112 lookup 100",
      ],
    },
    want: [
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "1000: from all to 10.200.1.0/24 lookup 100",
        "ip rule del priority 1000 to 10.200.1.0/24",
      ],
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "1001: from all to 10.200.1.128/25 lookup 100",
        "ip rule del priority 1001 to 10.200.1.128/25",
      ],
      [
        "conflict",
        "10.200.1.0/24",
        "198.19.249.136",
        "1002: from all to 10.200.0.0/16 lookup 100",
        "ip rule del priority 1002 to 10.200.0.0/16",
      ],
      [
        "conflict",
        "fd00::a00:100/120",
        "fd00::136",
        "1000: from all to fd00::a00:0/112 lookup 100",
        "ip -6 rule del priority 1000 to fd00::a00:0/112",
      ],
    ],
  },
  {
    name: "the default rules are fine",
    input: { desired: [D4], rules: DEFAULT_RULES },
    want: [["add", "10.200.1.0/24", "198.19.249.136"]],
  },
];

describe.each(AWKS)("verdicts.awk under %s", (_name, cmd) => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_title, c) => {
    expect(verdicts(cmd, c.input)).toEqual(c.want);
  });

  it("keeps the desired order, then the state file's, whatever the table's order", () => {
    const dsts = [5, 3, 9, 1].map((i) => `10.200.${i}.0/24`);
    const rows = verdicts(cmd, {
      desired: dsts.slice(0, 2).map((d) => `${d} 198.19.249.1 n`),
      state: [HEADER, ...dsts.map((d) => `${d} 198.19.249.1`)],
      table: [...dsts].reverse().map((d) => `${d} via 198.19.249.1 dev eth0 proto 156 `),
    });
    expect(rows.map((r) => `${r[0]} ${r[1]}`)).toEqual([
      "keep 10.200.5.0/24",
      "keep 10.200.3.0/24",
      "remove 10.200.9.0/24",
      "remove 10.200.1.0/24",
    ]);
  });

  it("checks next hops from `route get` output (mode=hops)", () => {
    const hops = file("hops", [
      "198.19.249.136",
      "198.19.249.34",
      "10.1.1.1",
      "192.0.2.1",
      "fd00::136",
      "::a00:1",
    ]);
    const got = file("routeget", [
      "198.19.249.136 dev eth0 src 198.19.249.34 uid 0 ",
      "    cache ",
      "local 198.19.249.34 dev lo table local src 198.19.249.34 uid 0 ",
      "    cache <local> ",
      "10.1.1.1 via 198.19.249.1 dev eth0 src 198.19.249.34 uid 0 ",
      "    cache ",
      "fd00::136 from :: dev eth0 proto kernel src fd00::34 metric 256 pref medium",
      "::10.0.0.1 from :: dev eth0 proto kernel src fd00::34 metric 256 pref medium",
    ]);
    expect(awk(cmd, ["-v", "mode=hops", "-f", AWK_FILE, hops, got])).toEqual([
      ["local", "198.19.249.34"],
      ["indirect", "10.1.1.1", "198.19.249.1"],
      ["unreachable", "192.0.2.1"],
    ]);
  });

  it("issue 18 item 9: tells which route changes did not take (mode=expect): by destination, next hop and protocol, the last line about a route counting", () => {
    const lines = file("lines", [
      // Put back: there, as ip prints it (protocol boot is not printed; IPv6 spelled otherwise).
      "route add 10.200.3.0/24 via 198.19.249.23 dev eth0 proto boot",
      "route add ::a00:100/120 via FD00::136 proto 156",
      // Put back, but another route (another protocol, another next hop) is there instead.
      "route add 10.200.2.0/24 via 198.19.249.99 proto 156",
      "route add 10.200.6.0/24 via 198.19.249.26 proto static",
      // Removed, and gone; removed, and still there.
      "route del 10.200.1.0/24 via 198.19.249.136 proto 156",
      "route del 10.200.4.0/24 via 198.19.249.24 proto 156",
      // Deleted then added again (an adoption of a protocol-156 route undone): the add counts.
      "route del 10.200.5.0/24 via 198.19.249.25 proto 156",
      "route add 10.200.5.0/24 via 198.19.249.25 dev eth0 proto 156",
      "not a route line",
    ]);
    const table = file("table", [
      KERNEL4,
      "10.200.3.0/24 via 198.19.249.23 dev eth0 ",
      "10.200.2.0/24 via 198.19.249.77 dev eth0 proto 4 ",
      "10.200.6.0/24 via 198.19.249.27 dev eth0 proto 4 ",
      "10.200.4.0/24 via 198.19.249.24 dev eth0 proto 156 ",
      "10.200.5.0/24 via 198.19.249.25 dev eth0 proto 156 ",
      "blackhole 10.200.1.0/24 proto 156 ",
      "::10.0.1.0/120 via fd00::136 dev eth0 proto 156 metric 1024 pref medium",
    ]);
    expect(awk(cmd, ["-v", "mode=expect", "-f", AWK_FILE, lines, table])).toEqual([
      [
        "missing",
        "10.200.2.0/24",
        "198.19.249.99",
        "156",
        "route add 10.200.2.0/24 via 198.19.249.99 proto 156",
      ],
      [
        "missing",
        "10.200.6.0/24",
        "198.19.249.26",
        "static",
        "route add 10.200.6.0/24 via 198.19.249.26 proto static",
      ],
      [
        "left",
        "10.200.4.0/24",
        "198.19.249.24",
        "156",
        "route del 10.200.4.0/24 via 198.19.249.24 proto 156",
      ],
    ]);
  });

  it("takes a thousand routes against a table of two thousand in well under a second", () => {
    const desired = Array.from(
      { length: 1024 },
      (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24 198.19.249.1 n`,
    );
    const table = Array.from(
      { length: 2048 },
      (_, i) => `10.${50 + (i >> 8)}.${i & 255}.0/24 via 198.19.249.1 dev eth0 proto 4 `,
    );
    const started = Date.now();
    const rows = verdicts(cmd, { desired, table, rules: DEFAULT_RULES });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(rows).toHaveLength(1024);
    expect(rows.every((r) => r[0] === "add")).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------ a property

/** Ways to write one IPv6 address: RFC 5952, every group in full upper case, and the last 32 bits dotted. */
function spellings(bytes: number[]): string[] {
  const addr = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
  const parts = addr.parts;
  const full = parts.map((p) => p.toString(16).padStart(4, "0").toUpperCase()).join(":");
  const dotted = `${parts
    .slice(0, 6)
    .map((p) => p.toString(16))
    .join(":")}:${bytes.slice(12).join(".")}`;
  return [addr.toRFC5952String(), full, dotted];
}

describe("verdicts.awk (mawk), property", () => {
  it("a random IPv6 prefix, spelled three ways in the desired, state and table lines, is always `keep`", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dst: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
            len: fc.integer({ min: 1, max: 128 }),
            // Not link-local (fe80::/10): such a next hop needs a device, and is never pod-routes'.
            hop: fc
              .array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 })
              .filter((b) => !(b[0] === 0xfe && (b[1]! & 0xc0) === 0x80)),
            order: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (routes) => {
          // One route per prefix (the network part decides what a prefix is).
          const seen = new Set<string>();
          const unique = routes.filter((r) => {
            const key = `${r.len}/${ipaddr.IPv6.networkAddressFromCIDR(`${ipaddr.fromByteArray(r.dst).toString()}/${r.len}`).toString()}`;
            if (seen.has(key)) return false;
            seen.add(key);
            return true;
          });
          const spelled = unique.map((r) => {
            const d = spellings(r.dst);
            const h = spellings(r.hop);
            return { d, h, o: r.order, len: r.len };
          });
          const rows = verdicts(["mawk"], {
            desired: spelled.map((s) => `${s.d[0]}/${s.len} ${s.h[0]} n`),
            state: [HEADER, ...spelled.map((s) => `${s.d[s.o[0]!]}/${s.len} ${s.h[s.o[1]!]}`)],
            table: spelled.map(
              (s) =>
                `${s.d[s.o[2]!]}/${s.len} via ${s.h[s.o[0]!]} dev eth0 proto 156 metric 1024 pref medium`,
            ),
          });
          expect(rows).toEqual(spelled.map((s) => ["keep", `${s.d[0]}/${s.len}`, s.h[0]]));
        },
      ),
      { numRuns: 60 },
    );
  });
});
