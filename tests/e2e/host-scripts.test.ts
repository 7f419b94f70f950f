// The host scripts (ssh/host-program/render.ts, ssh/host-program/sh) on real hosts: the network lab built from
// examples/machines.txt (server, node-0, node-1), each with a real sshd, its own /etc, /run and /tmp, real
// `ip`, real pings between pods. The scripts go over real OpenSSH to `sh -s`, as the SSH path sends them.
// Issue 12's items each have a test named after them; the baseline behaviours of the SSH path come first.
// Runs as root; without root, or when the lab cannot be built, every test fails with the reason.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  hostExec,
  hostRoutes,
  hostRun,
  hostSnapshot,
  labHost,
  podPing,
  RunResult,
  sshArgs,
  sshRun,
} from "../../lab/lab";
import {
  BOOT_PROGRAM,
  EXIT_CODES,
  HostScriptInput,
  JOURNAL_FILE,
  parseCheckReport,
  renderApply,
  renderBootProgram,
  renderCheck,
  renderDelete,
  RESYNC_TIMER_FILE,
  RESYNC_TIMER_LINK,
  ROUTE_PROTO,
  STATE_FILE,
  STATE_HEADER,
  UNIT_FILE,
  UNIT_LINK,
} from "../../ssh/host-program/render";
import { useLab } from "../helpers/lab";

jest.setTimeout(300_000);

const MACHINES_TXT = path.resolve(__dirname, "..", "..", "examples", "machines.txt");
const HOSTS = ["server", "node-0", "node-1"] as const;
type Host = (typeof HOSTS)[number];
const IP: Record<Host, string> = {
  server: "198.19.249.10",
  "node-0": "198.19.249.34",
  "node-1": "198.19.249.136",
};
const IP6: Record<Host, string> = { server: "fd00::10", "node-0": "fd00::34", "node-1": "fd00::136" };
// The runbook's routes (examples/machines.txt).
const EXPECTED: Record<Host, string[]> = {
  server: ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"],
  "node-0": ["10.200.1.0/24 via 198.19.249.136"],
  "node-1": ["10.200.0.0/24 via 198.19.249.34"],
};
const HOSTS_LINES = [
  "198.19.249.34 node-0.kubernetes.local node-0",
  "198.19.249.136 node-1.kubernetes.local node-1",
];
const STACK = "pulumi:acme/pod-routes/prod";
const OTHER_STACK = "pulumi:acme/pod-routes/staging";
// Made by hand before pod-routes ever ran: must survive every run and every delete.
const FOREIGN = "10.99.0.0/24 via 198.19.249.10";
const HAND_EDIT_BEFORE = "10.1.1.1 before.example";
const HAND_EDIT_AFTER = "10.1.1.2 after.example";

/** The test's stand-in for `ip` (mounted over /usr/local/sbin inside one host only): the real ip, then
 * what /tmp/ipwrap.* ask for: a pause as a run looks at the routing table (it holds the lock then), a
 * route batch that fails after its first line, or SIGKILL of the whole run right after its route batch;
 * and for issue 18: a command that fails as ip says it (ipwrap.deny: the start of its arguments, then the
 * error's lines), route changes with -force that fail (what puts routes back, or finishes a journal:
 * ipwrap.failforce), what another tool does just before the first route batch (ipwrap.race, a script) or
 * SIGKILL of the run just before it (ipwrap.killbefore). */
const IP_WRAPPER = `#!/bin/sh
if [ "$1 $2 $3" = "-N -4 route" ] && [ -e /tmp/ipwrap.sleep ]; then sleep "$(cat /tmp/ipwrap.sleep)"; fi
if [ -e /tmp/ipwrap.deny ]; then
  case "$*" in "$(sed -n 1p /tmp/ipwrap.deny)"*) sed 1d /tmp/ipwrap.deny >&2; exit 2 ;; esac
fi
if [ "$1 $2" = "-force -batch" ] && [ -e /tmp/ipwrap.failforce ]; then
  f=$3
  if [ "$f" = - ]; then f=/tmp/ipwrap.stdin; cat >"$f"; fi
  if grep -qE '^route (add|replace|del) ' "$f"; then
    echo "RTNETLINK answers: Operation not permitted" >&2
    exit 1
  fi
  exec /usr/bin/ip -force -batch "$f"
fi
if [ "$1" = -batch ] && [ -f "$2" ] && grep -qE '^route (add|replace|del) ' "$2"; then
  if [ -e /tmp/ipwrap.race ]; then mv /tmp/ipwrap.race /tmp/ipwrap.race.run && sh /tmp/ipwrap.race.run; fi
  if [ -e /tmp/ipwrap.killbefore ]; then rm -f /tmp/ipwrap.killbefore; kill -KILL 0; fi
fi
if [ "$1" = -batch ] && [ -f "$2" ] && [ -e /tmp/ipwrap.fail ] && grep -qE '^route (add|replace|del) ' "$2"; then
  rm -f /tmp/ipwrap.fail
  head -n 1 "$2" | /usr/bin/ip -batch -
  echo "Error: the test made this batch fail after its first line" >&2
  exit 1
fi
/usr/bin/ip "$@"
rc=$?
if [ "$1" = -batch ] && [ -f "$2" ] && [ -e /tmp/ipwrap.kill ] && grep -qE '^route (add|replace|del) ' "$2"; then
  rm -f /tmp/ipwrap.kill
  kill -KILL 0
fi
exit $rc
`;

// ------------------------------------------------------------------------------------------------ setup

const baseline: Partial<Record<Host, string>> = {};

/** The lab, or the reason it could not be built, as the test's failure. */
const lab = useLab("host-scripts", {
  machines: MACHINES_TXT,
  setup: (built) => {
    for (const host of HOSTS) {
      hostExec(built, host, ["ip", "-6", "addr", "add", `${IP6[host]}/64`, "dev", "eth0", "nodad"]);
    }
    hostExec(built, "node-0", ["ip", "route", "add", ...FOREIGN.split(" ")]);
    hostExec(built, "server", ["sh", "-c", `echo '${HAND_EDIT_BEFORE}' >> /etc/hosts`]);
    for (const host of HOSTS) baseline[host] = hostSnapshot(built, host);
  },
  timeout: 600_000,
}).get;

// ---------------------------------------------------------------------------------------------- helpers

const ownerOf = (host: string, stack = STACK) => `${stack}:pod-routes-${host}`;
const route = (line: string, node: string) => {
  const [destination, , nextHop] = line.split(" ") as [string, string, string];
  return { destination, nextHop, node };
};
const nodeOf = (nextHop: string) => HOSTS.find((h) => IP[h] === nextHop || IP6[h] === nextHop) ?? "node-x";
/** The runbook's input for a host (routes as given, or the runbook's), with options. */
function input(host: Host, extra: Partial<HostScriptInput> = {}, routes?: string[]): HostScriptInput {
  return {
    host,
    owner: ownerOf(host),
    routes: (routes ?? EXPECTED[host]).map((l) => route(l, nodeOf(l.split(" ")[2]!))),
    ...(host === "server" ? { hostsLines: HOSTS_LINES } : {}),
    ...extra,
  };
}
const apply = (host: Host, extra: Partial<HostScriptInput> = {}, routes?: string[]) =>
  sshRun(lab(), host, renderApply(input(host, extra, routes)));
const check = (host: Host, extra: Partial<HostScriptInput> = {}, routes?: string[]) => {
  const r = sshRun(lab(), host, renderCheck(input(host, extra, routes)));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return parseCheckReport(r.stdout);
};
const remove = (host: Host, owner = ownerOf(host)) => sshRun(lab(), host, renderDelete({ host, owner }));
/** pod-routes' routes on a host (protocol 156), as `<dst> via <hop>`. */
const ours = (host: Host, family: "-4" | "-6" = "-4") =>
  hostExec(lab(), host, ["ip", family, "route", "show", "proto", String(ROUTE_PROTO)])
    .split("\n")
    .map((l) => l.trim().replace(/ dev \S+.*$/, ""))
    .filter((l) => l !== "");
const snapshot = (host: Host) => hostSnapshot(lab(), host);
const sh = (host: Host, script: string) => hostExec(lab(), host, ["sh", "-c", script]);
const cat = (host: Host, file: string) => hostExec(lab(), host, ["cat", file]);
const exists = (host: Host, file: string) => hostRun(lab(), host, ["test", "-e", file]).code === 0;
const summary = (host: string, a: number, c: number, d: number, r: number, u: number) =>
  `pod-routes: ${host}: added ${a}, changed ${c}, adopted ${d}, removed ${r}, unchanged ${u};`;
const unchanged = (host: string, n: number) => `${summary(host, 0, 0, 0, 0, n)} files changed: none\n`;
/** The state file's routes, as `<dst> via <hop>`. */
const stateRoutes = (host: Host) =>
  cat(host, STATE_FILE)
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.replace(" ", " via "));
const hostsBlock = (host: Host) => {
  const m = /# BEGIN pod-routes managed block\n([\s\S]*?)# END pod-routes managed block\n/.exec(
    cat(host, "/etc/hosts"),
  );
  return m ? m[1]!.split("\n").filter((l) => l !== "") : null;
};

function expectOk(r: RunResult): RunResult {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return r;
}
/** Removes whatever pod-routes left on a host (OWNER='*'), and checks it is as before the tests. */
function retire(host: Host): void {
  const r = remove(host, "*");
  expect(r.code).toBe(0);
  expect(ours(host)).toEqual([]);
  expect(ours(host, "-6")).toEqual([]);
  expect(snapshot(host)).toBe(baseline[host]);
}
/** Runs a script over SSH without waiting (for runs at the same time). */
function sshAsync(host: Host, script: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn("ssh", [...sshArgs(lab(), host), "sh", "-s"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(script);
  });
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Mounts IP_WRAPPER as /usr/local/sbin/ip inside the host (on a tmpfs over /usr/local/sbin). */
const mountIpWrapper = (host: Host) =>
  hostExec(
    lab(),
    host,
    [
      "sh",
      "-c",
      "mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin && cat >/usr/local/sbin/ip && chmod 0755 /usr/local/sbin/ip",
    ],
    { input: IP_WRAPPER },
  );
/** Unmounts the wrapper, and forgets what /tmp/ipwrap.* asked of it. */
const unmountIpWrapper = (host: Host) =>
  hostExec(lab(), host, ["sh", "-c", "rm -f /tmp/ipwrap.*; umount /usr/local/sbin"]);
function withIpWrapper<T>(host: Host, body: () => T): T {
  mountIpWrapper(host);
  try {
    return body();
  } finally {
    unmountIpWrapper(host);
  }
}
async function withIpWrapperAsync<T>(host: Host, body: () => Promise<T>): Promise<T> {
  mountIpWrapper(host);
  try {
    return await body();
  } finally {
    unmountIpWrapper(host);
  }
}

// ------------------------------------------------------------------------------------------------ tests

describe("the host scripts in the lab: the SSH path's baseline", () => {
  it("start with pods that cannot reach each other, on hosts with IPv6 addresses", () => {
    expect(podPing(lab(), "node-0", labHost(lab(), "node-1").podIp!)).toBe(false);
    expect(hostExec(lab(), "node-0", ["ip", "-6", "addr", "show", "dev", "eth0"])).toContain("fd00::34/64");
  });

  it("install exactly the runbook's routes on every host (protocol 156), and pods reach each other", () => {
    for (const host of HOSTS) {
      const r = expectOk(apply(host));
      expect(r.stdout).toMatch(
        new RegExp(`^${summary(host, EXPECTED[host].length, 0, 0, 0, 0)} files changed: `),
      );
      expect(ours(host)).toEqual(EXPECTED[host]);
    }
    expect(hostRoutes(lab(), "node-0")).toContain(
      "10.200.1.0/24 via 198.19.249.136 dev eth0 proto pod-routes",
    );
    expect(podPing(lab(), "node-0", labHost(lab(), "node-1").podIp!)).toBe(true);
    expect(podPing(lab(), "node-1", labHost(lab(), "node-0").podIp!)).toBe(true);
  });

  it("change nothing when run again, under dash (sh) and bash alike", () => {
    for (const shell of ["sh", "bash"] as const) {
      for (const host of HOSTS) {
        const before = snapshot(host);
        const r = sshRun(lab(), host, renderApply(input(host)), { shell });
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
          code: 0,
          stdout: unchanged(host, EXPECTED[host].length),
          stderr: "",
        });
        expect(snapshot(host)).toBe(before);
      }
    }
  });

  it("keep the controller's /etc/hosts block; hand edits before and after it survive", () => {
    expect(hostsBlock("server")).toEqual(HOSTS_LINES);
    expect(cat("server", "/etc/hosts")).toContain(HAND_EDIT_BEFORE);
    sh("server", `echo '${HAND_EDIT_AFTER}' >> /etc/hosts`);
    try {
      expect(expectOk(apply("server")).stdout).toBe(unchanged("server", 2));
      const after = cat("server", "/etc/hosts");
      expect(after).toContain(`${HAND_EDIT_BEFORE}\n# BEGIN pod-routes managed block\n`);
      expect(after).toContain(`# END pod-routes managed block\n${HAND_EDIT_AFTER}\n`);
      expect(after.match(/BEGIN pod-routes/g)).toHaveLength(1);
      // Another list of workers: the block changes in place, the rest stays.
      const r = expectOk(apply("server", { hostsLines: [HOSTS_LINES[0]!] }));
      expect(r.stdout).toContain("files changed: /etc/hosts\n");
      expect(hostsBlock("server")).toEqual([HOSTS_LINES[0]]);
      expect(cat("server", "/etc/hosts")).toContain(`# END pod-routes managed block\n${HAND_EDIT_AFTER}\n`);
      expect(cat("node-0", "/etc/hosts")).not.toContain("pod-routes");
      // Damaged markers are refused, and nothing changes.
      sh("server", "sed -i '/^# END pod-routes managed block$/d' /etc/hosts");
      const before = snapshot("server");
      const damaged = apply("server");
      expect(damaged.code).toBe(EXIT_CODES.refused);
      expect(damaged.stderr).toContain("has a damaged pod-routes block in /etc/hosts");
      expect(snapshot("server")).toBe(before);
    } finally {
      sh("server", "sed -i '/^# BEGIN pod-routes managed block$/,$d' /etc/hosts");
      sh("server", `echo '${HAND_EDIT_AFTER}' >> /etc/hosts`);
    }
    expectOk(apply("server"));
    sh("server", `sed -i '/^${HAND_EDIT_AFTER}$/d' /etc/hosts`);
  });

  it.each([
    [
      "node-1",
      "10.200.0.0/24 via 198.19.249.10 proto static",
      "pod-routes: host node-1 already has a route 10.200.0.0/24 via 198.19.249.10 dev eth0 proto static that pod-routes did not create; it conflicts with the desired 10.200.0.0/24 via 198.19.249.34. Remove it (ip route del 10.200.0.0/24 via 198.19.249.10) or change the spec, then run again.",
    ],
    [
      "node-0",
      "blackhole 10.200.1.0/24",
      "pod-routes: host node-0 already has a route blackhole 10.200.1.0/24 proto boot that pod-routes did not create; it conflicts with the desired 10.200.1.0/24 via 198.19.249.136. Remove it (ip route del blackhole 10.200.1.0/24)",
    ],
  ] as const)(
    "refuse a conflicting hand-made route on %s (%s), name it, and change nothing",
    (host, made, message) => {
      retire(host);
      sh(host, `ip route add ${made}`);
      try {
        const before = snapshot(host);
        const r = apply(host);
        expect(r.code).toBe(EXIT_CODES.refused);
        expect(r.stderr).toContain(message);
        expect(r.stderr).toContain(
          `pod-routes: host ${host}: 1 problem(s); nothing was changed on this host.`,
        );
        expect(r.stdout).toBe("");
        expect(snapshot(host)).toBe(before);
      } finally {
        sh(host, `ip route del ${made}`);
      }
      expectOk(apply(host));
      expect(ours(host)).toEqual(EXPECTED[host]);
    },
  );

  it("report an identical hand-made route (the runbook's own `ip route add`), and take it over only with adopt", () => {
    retire("node-0");
    sh("node-0", "ip route add 10.200.1.0/24 via 198.19.249.136");
    const handMade = snapshot("node-0");
    const r = apply("node-0");
    expect(r.code).toBe(EXIT_CODES.refused);
    expect(r.stderr).toContain(
      "pod-routes: host node-0 already has the route 10.200.1.0/24 via 198.19.249.136 dev eth0 proto boot, made by hand (pod-routes did not create it). Set pod-routes:adopt to true",
    );
    expect(snapshot("node-0")).toBe(handMade);
    const adopted = expectOk(apply("node-0", { adopt: true }));
    expect(adopted.stdout).toMatch(new RegExp(`^${summary("node-0", 0, 0, 1, 0, 0)}`));
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(expectOk(apply("node-0")).stdout).toBe(unchanged("node-0", 1));
    // Taken over: the delete removes it.
    expectOk(remove("node-0"));
    expect(snapshot("node-0")).toBe(baseline["node-0"]);
    expectOk(apply("node-0"));
  });

  it("refuse a next hop that is not directly reachable, and change nothing", () => {
    const before = snapshot("node-0");
    const r = apply("node-0", {}, [
      ...EXPECTED["node-0"],
      "10.200.7.0/24 via 10.99.0.7",
      "10.200.8.0/24 via 192.0.2.8",
      "10.200.9.0/24 via 198.19.249.34",
    ]);
    expect(r.code).toBe(EXIT_CODES.refused);
    expect(r.stderr).toContain(
      "pod-routes: host node-0 cannot reach next hop 10.99.0.7 directly (it is routed via 198.19.249.10); the nodes must share a network.",
    );
    expect(r.stderr).toContain("pod-routes: host node-0 has no route to next hop 192.0.2.8;");
    expect(r.stderr).toContain(
      "pod-routes: host node-0: next hop 198.19.249.34 is an address of this host itself.",
    );
    expect(r.stderr).toContain("pod-routes: host node-0: 3 problem(s); nothing was changed on this host.");
    expect(snapshot("node-0")).toBe(before);
  });

  it("write /etc/hosts in place where it cannot be renamed over (a bind mount, as in containers)", () => {
    sh("server", "cp -p /etc/hosts /tmp/hosts.bind && mount --bind /tmp/hosts.bind /etc/hosts");
    try {
      const r = expectOk(apply("server", { hostsLines: [HOSTS_LINES[1]!] }));
      expect(r.stdout).toContain("files changed: /etc/hosts\n");
      expect(cat("server", "/tmp/hosts.bind")).toContain(
        `# BEGIN pod-routes managed block\n${HOSTS_LINES[1]}\n# END pod-routes managed block\n`,
      );
      expect(
        hostExec(lab(), "server", ["find", "/etc", "-maxdepth", "1", "-name", ".pod-routes-staged.*"]),
      ).toBe("");
    } finally {
      sh("server", "umount /etc/hosts; rm -f /tmp/hosts.bind");
    }
    expect(hostsBlock("server")).toEqual(HOSTS_LINES);
    expect(expectOk(apply("server")).stdout).toBe(unchanged("server", 2));
  });

  it("run nothing of a script cut short in transit", () => {
    const script = renderApply(
      input("server", {}, ["10.200.0.0/24 via 198.19.249.34", "10.200.9.0/24 via 198.19.249.136"]),
    );
    // Cut right after the first desired route: run as it arrived, a naive script would take 10.200.1.0/24
    // for no longer desired and remove it.
    const cut =
      script.indexOf("10.200.0.0/24 198.19.249.34 node-0\n") + "10.200.0.0/24 198.19.249.34 node-0\n".length;
    const before = snapshot("server");
    const r = sshRun(lab(), "server", script.slice(0, cut));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Syntax error/);
    expect(snapshot("server")).toBe(before);
    // Cut in its last line, it is no command at all either.
    const last = sshRun(lab(), "server", script.slice(0, script.length - 8));
    expect(last.code).toBe(2);
    expect(snapshot("server")).toBe(before);
  });

  it("check: reports how a host stands (a route removed by hand, a missing state file, a foreign route in the way) and changes nothing", () => {
    const before = snapshot("server");
    const report = check("server");
    expect(snapshot("server")).toBe(before);
    expect(report).toEqual({
      owner: ownerOf("server"),
      state: "present",
      verdicts: [
        {
          verdict: "keep",
          destination: "10.200.0.0/24",
          desiredVia: IP["node-0"],
          liveVia: IP["node-0"],
          detail: null,
        },
        {
          verdict: "keep",
          destination: "10.200.1.0/24",
          desiredVia: IP["node-1"],
          liveVia: IP["node-1"],
          detail: null,
        },
      ],
      hostsBlock: "present",
      hosts: HOSTS_LINES,
      unit: "present",
    });
    // A route removed by hand: to be added.
    sh("node-0", "ip route del 10.200.1.0/24");
    expect(check("node-0").verdicts).toEqual([
      { verdict: "add", destination: "10.200.1.0/24", desiredVia: IP["node-1"], liveVia: null, detail: null },
    ]);
    // A route no longer desired: to be removed.
    expectOk(apply("node-0"));
    expect(check("node-0", {}, []).verdicts).toEqual([
      {
        verdict: "remove",
        destination: "10.200.1.0/24",
        desiredVia: null,
        liveVia: IP["node-1"],
        detail: null,
      },
    ]);
    // A host pod-routes never applied, with a foreign route in the way.
    retire("node-1");
    sh("node-1", "ip route add 10.200.0.0/24 via 198.19.249.10 proto static");
    try {
      const fresh = check("node-1");
      expect(fresh).toEqual({
        owner: "",
        state: "missing",
        verdicts: [
          {
            verdict: "conflict",
            destination: "10.200.0.0/24",
            desiredVia: IP["node-0"],
            liveVia: IP.server,
            detail: "10.200.0.0/24 via 198.19.249.10 dev eth0 proto static",
          },
        ],
        hostsBlock: "missing",
        hosts: [],
        unit: "missing",
      });
    } finally {
      sh("node-1", "ip route del 10.200.0.0/24 via 198.19.249.10");
    }
    expect(snapshot("node-1")).toBe(baseline["node-1"]);
    expectOk(apply("node-1"));
  });

  it("keep the hand-made foreign route through apply and delete; the delete leaves every host exactly as before", () => {
    const before = Object.fromEntries(HOSTS.map((h) => [h, snapshot(h)]));
    for (const host of HOSTS) expect(ours(host)).toEqual(EXPECTED[host]);
    expect(hostRoutes(lab(), "node-0")).toContain(`${FOREIGN} dev eth0`);
    for (const host of HOSTS) {
      const r = expectOk(remove(host));
      expect(r.stdout).toMatch(
        new RegExp(
          `^pod-routes: ${host}: removed ${EXPECTED[host].length} routes; files removed or changed: `,
        ),
      );
      expect(snapshot(host)).toBe(baseline[host]);
    }
    expect(hostRoutes(lab(), "node-0")).toContain(`${FOREIGN} dev eth0`);
    expect(podPing(lab(), "node-0", labHost(lab(), "node-1").podIp!)).toBe(false);
    for (const host of HOSTS) expectOk(apply(host));
    for (const host of HOSTS) expect(snapshot(host)).toBe(before[host]);
  });
});

describe("issue 12", () => {
  it("item 1: a foreign static route survives a simulated reboot (the boot program runs the same checks)", () => {
    const unit = cat("node-0", UNIT_FILE);
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    expect(execStart).toBe(`/bin/sh ${BOOT_PROGRAM} boot`);
    expect(unit).toMatch(/^After=network-online.target$/m);
    expect(hostExec(lab(), "node-0", ["readlink", UNIT_LINK]).trim()).toBe(UNIT_FILE);
    // The boot program is the apply's own program.
    expect(cat("node-0", BOOT_PROGRAM)).toBe(renderBootProgram());
    const boot = () => hostRun(lab(), "node-0", execStart!.split(" "));

    // A reboot: the kernel starts without pod-routes' routes; the site's own static route to a pod CIDR
    // comes up before pod-routes.service.
    sh("node-0", `ip route flush proto ${ROUTE_PROTO}`);
    sh("node-0", "ip route add 10.200.1.0/24 via 198.19.249.10 proto static");
    try {
      const r = boot();
      expect(r.code).toBe(EXIT_CODES.refused);
      expect(r.stderr).toContain(
        "already has a route 10.200.1.0/24 via 198.19.249.10 dev eth0 proto static that pod-routes did not create",
      );
      expect(hostRoutes(lab(), "node-0", "10.200.1.0/24")).toEqual([
        "10.200.1.0/24 via 198.19.249.10 dev eth0 proto static",
      ]);
      expect(ours("node-0")).toEqual([]);
      // Every boot, the same.
      expect(boot().code).toBe(EXIT_CODES.refused);
      expect(hostRoutes(lab(), "node-0", "10.200.1.0/24")).toEqual([
        "10.200.1.0/24 via 198.19.249.10 dev eth0 proto static",
      ]);
    } finally {
      sh("node-0", "ip route del 10.200.1.0/24 via 198.19.249.10");
    }
    // Without it, the boot puts the routes back.
    const r = boot();
    expect({ code: r.code, stdout: r.stdout }).toEqual({
      code: 0,
      stdout: `${summary("node-0", 1, 0, 0, 0, 0)} files changed: none\n`,
    });
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(podPing(lab(), "node-0", labHost(lab(), "node-1").podIp!)).toBe(true);

    // It waits while a next hop is not reachable yet (the interface comes up after the unit starts).
    sh("node-0", `ip route flush proto ${ROUTE_PROTO}`);
    const started = Date.now();
    const waited = hostRun(lab(), "node-0", [
      "sh",
      "-c",
      `ip addr del ${IP["node-0"]}/24 dev eth0 && (sleep 3; ip addr add ${IP["node-0"]}/24 dev eth0) & ${execStart}; rc=$?; wait; exit $rc`,
    ]);
    expect({ code: waited.code, stderr: waited.stderr }).toEqual({ code: 0, stderr: "" });
    expect(Date.now() - started).toBeGreaterThan(2500);
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    // (Taking the address away took the hand-made route through it too: put back for the other tests.)
    sh("node-0", `ip route add ${FOREIGN}`);

    // The periodic resync: written and enabled only when asked for.
    expect(exists("node-0", RESYNC_TIMER_FILE)).toBe(false);
    const withTimer = expectOk(apply("node-0", { resyncInterval: "15min" }));
    expect(withTimer.stdout).toContain(RESYNC_TIMER_LINK);
    expect(cat("node-0", RESYNC_TIMER_FILE)).toMatch(/^OnUnitActiveSec=15min$/m);
    expect(hostExec(lab(), "node-0", ["readlink", RESYNC_TIMER_LINK]).trim()).toBe(RESYNC_TIMER_FILE);
    expect(cat("node-0", "/etc/systemd/system/pod-routes-resync.service")).toContain(
      `ExecStart=/bin/sh ${BOOT_PROGRAM} resync`,
    );
    sh("node-0", "ip route del 10.200.1.0/24");
    expectOk(hostRun(lab(), "node-0", ["/bin/sh", BOOT_PROGRAM, "resync"]));
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expectOk(apply("node-0"));
    expect(exists("node-0", RESYNC_TIMER_FILE)).toBe(false);
    expect(exists("node-0", RESYNC_TIMER_LINK)).toBe(false);
  });

  it("item 2: a run with /etc read-only changes no route, and says so", () => {
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    sh("node-0", "mount --bind /etc /etc && mount -o remount,bind,ro /etc");
    try {
      const before = snapshot("node-0");
      const r = apply("node-0", {}, ["10.200.7.0/24 via 198.19.249.136"]);
      expect(r.code).toBe(EXIT_CODES.refused);
      expect(r.stderr).toMatch(
        /pod-routes: host node-0: cannot write its files: \/etc is read-only \(.*Read-only file system.*\); nothing was changed on this host\./,
      );
      expect(r.stdout).toBe("");
      expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
      expect(snapshot("node-0")).toBe(before);
      // Nothing to write: a run that changes nothing still succeeds.
      expect(expectOk(apply("node-0")).stdout).toBe(unchanged("node-0", 1));
    } finally {
      sh("node-0", "umount /etc");
    }
    expect(hostRun(lab(), "node-0", ["touch", "/etc/.pod-routes-writable"]).code).toBe(0);
    sh("node-0", "rm -f /etc/.pod-routes-writable");
  });

  it("item 2: a route batch that fails half-way is undone: routes and files as they were", () => {
    const before = snapshot("node-0");
    withIpWrapper("node-0", () => {
      sh("node-0", ": >/tmp/ipwrap.fail");
      const r = apply("node-0", {}, ["10.200.7.0/24 via 198.19.249.136", "10.200.8.0/24 via 198.19.249.136"]);
      expect(r.code).toBe(EXIT_CODES.rolledBack);
      expect(r.stderr).toMatch(
        /pod-routes: host node-0: a route change failed \(.*the test made this batch fail.*\); the routes pod-routes had before were restored and nothing else was changed on this host\./,
      );
      expect(r.stdout).toBe("");
    });
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(snapshot("node-0")).toBe(before);
  });

  it("item 2: a run killed right after its route batch is completed by the next run, or by the boot program", () => {
    const S2 = ["10.200.7.0/24 via 198.19.249.136"];
    // Killed (SIGKILL, the whole session) between the route change and the commit of the files.
    withIpWrapper("node-0", () => {
      sh("node-0", ": >/tmp/ipwrap.kill");
      const r = apply("node-0", {}, S2);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe("");
    });
    expect(ours("node-0")).toEqual(S2);
    expect(stateRoutes("node-0")).toEqual(EXPECTED["node-0"]);
    expect(exists("node-0", JOURNAL_FILE)).toBe(true);
    // A check (it changes nothing) sees the host as the journal will leave it.
    expect(check("node-0", {}, S2).verdicts.map((v) => v.verdict)).toEqual(["keep"]);
    expect(exists("node-0", JOURNAL_FILE)).toBe(true);

    // The boot program finishes it: the files of that run, and nothing else to do.
    const boot = hostRun(lab(), "node-0", ["/bin/sh", BOOT_PROGRAM, "boot"]);
    expect(boot.code).toBe(0);
    expect(boot.stderr).toContain(
      `pod-routes: host node-0: finishing a run that was interrupted before it committed its files (${JOURNAL_FILE}).`,
    );
    expect(boot.stdout).toContain(summary("node-0", 0, 0, 0, 0, 1));
    expect(exists("node-0", JOURNAL_FILE)).toBe(false);
    expect(cat("node-0", STATE_FILE)).toBe(`${STATE_HEADER}\n10.200.7.0/24 198.19.249.136\n`);
    expect(ours("node-0")).toEqual(stateRoutes("node-0"));

    // Killed again, going back: the next apply finishes that run, then does its own.
    withIpWrapper("node-0", () => {
      sh("node-0", ": >/tmp/ipwrap.kill");
      expect(apply("node-0").code).not.toBe(0);
    });
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(stateRoutes("node-0")).toEqual(S2);
    const next = apply("node-0", {}, [
      "10.200.1.0/24 via 198.19.249.136",
      "10.200.8.0/24 via 198.19.249.136",
    ]);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain("finishing a run that was interrupted before it committed its files");
    expect(next.stdout).toMatch(
      new RegExp(`^${summary("node-0", 1, 0, 0, 0, 1)} files changed: ${STATE_FILE}\n`),
    );
    expect(ours("node-0")).toEqual(stateRoutes("node-0"));
    expect(hostExec(lab(), "node-0", ["find", "/etc", "-name", ".pod-routes-staged.*"])).toBe("");
    expectOk(apply("node-0"));
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
  });

  it("item 3: 8 pairs of concurrent applies with different specs end with live routes equal to the state file", async () => {
    const A = input("server");
    const B = input(
      "server",
      { hostsLines: [HOSTS_LINES[0]!, "198.19.249.136 node-5.kubernetes.local node-5"] },
      ["10.200.0.0/24 via 198.19.249.34", "10.200.5.0/24 via 198.19.249.136"],
    );
    const specOf = (routes: string[]) =>
      [A, B].find(
        (s) =>
          JSON.stringify(s.routes.map((r) => `${r.destination} via ${r.nextHop}`)) === JSON.stringify(routes),
      );
    const consistent = () => {
      const state = stateRoutes("server");
      expect(ours("server")).toEqual(state);
      const spec = specOf(state);
      expect(spec).toBeDefined();
      expect(hostsBlock("server")).toEqual(spec!.hostsLines);
    };
    const pairs = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const [first, second] = i % 2 === 0 ? [A, B] : [B, A];
        const runs = await Promise.all([
          sshAsync("server", renderApply(first)),
          sshAsync("server", renderApply(second)),
        ]);
        for (const r of runs)
          expect({
            code: r.code,
            stderr: r.stderr.replace(/^pod-routes: host server: waiting .*\n/m, ""),
          }).toEqual({ code: 0, stderr: "" });
        consistent();
      }
    };
    // With flock, then with the mkdir lock (no flock on the host).
    await pairs(8);
    hostExec(lab(), "server", ["sh", "-c", ": >/tmp/noflock && mount --bind /tmp/noflock /usr/bin/flock"]);
    try {
      await pairs(4);
      expect(exists("server", "/run/lock/pod-routes.lock.d")).toBe(false);
      // A lock left by a run that was killed (its process is gone) is stale: taken over, and said so.
      sh(
        "server",
        "mkdir /run/lock/pod-routes.lock.d && echo '999999 1 (apply on server by a killed run)' >/run/lock/pod-routes.lock.d/holder",
      );
      const stale = apply("server");
      expect(stale.code).toBe(0);
      expect(stale.stderr).toContain(
        "removed a stale lock (/run/lock/pod-routes.lock.d) left by pid 999999 (apply on server by a killed run).",
      );
      expect(exists("server", "/run/lock/pod-routes.lock.d")).toBe(false);
    } finally {
      hostExec(lab(), "server", ["umount", "/usr/bin/flock"]);
    }

    // A run that waits longer than its lock wait gives up with 75, naming the holder; nothing changed.
    for (const lock of ["flock", "mkdir"] as const) {
      if (lock === "mkdir") hostExec(lab(), "server", ["mount", "--bind", "/tmp/noflock", "/usr/bin/flock"]);
      try {
        await withIpWrapperAsync("server", async () => {
          sh("server", "echo 4 >/tmp/ipwrap.sleep");
          const holder = sshAsync("server", renderApply(A));
          await sleep(1500);
          const before = stateRoutes("server");
          const waiter = sshRun(lab(), "server", renderApply({ ...B, lockWaitSeconds: 1 }));
          expect(waiter.code).toBe(EXIT_CODES.lockTimeout);
          expect(waiter.stderr).toMatch(
            /another pod-routes run still holds \/run\/lock\/pod-routes\.lock(\.d)? after 1s: pid \d+ \(apply on server by pulumi:acme\/pod-routes\/prod:pod-routes-server, since [-0-9T:]+Z\)\. Nothing was changed/,
          );
          expect(waiter.stdout).toBe("");
          expect(stateRoutes("server")).toEqual(before);
          expect((await holder).code).toBe(0);
        });
      } finally {
        if (lock === "mkdir") hostExec(lab(), "server", ["umount", "/usr/bin/flock"]);
      }
    }
    consistent();
    expectOk(apply("server"));
  });

  it("item 4: a delete on a never-applied host changes nothing (not even a protocol-156 route it did not record)", () => {
    retire("node-1");
    sh("node-1", "ip route add 10.77.0.0/24 via 198.19.249.10 proto 156");
    try {
      const before = snapshot("node-1");
      for (const owner of [ownerOf("node-1"), "*"]) {
        const r = expectOk(remove("node-1", owner));
        expect(r.stdout).toBe(
          `pod-routes: node-1: no ${STATE_FILE} here: pod-routes did not apply this host (or it was removed already); nothing was changed.\n`,
        );
        expect(snapshot("node-1")).toBe(before);
      }
      // Applied, then deleted: that route is still not pod-routes' own.
      expectOk(apply("node-1"));
      expectOk(remove("node-1"));
      expect(snapshot("node-1")).toBe(before);
      // A file that is not pod-routes' own keeps /etc/pod-routes (never rm -rf).
      expectOk(apply("node-1"));
      sh("node-1", "echo kept >/etc/pod-routes/site-notes");
      const kept = remove("node-1");
      expect(kept.code).toBe(0);
      expect(kept.stderr).toContain(
        "pod-routes: host node-1: /etc/pod-routes holds files pod-routes did not create (site-notes ); it was left in place.",
      );
      expect(cat("node-1", "/etc/pod-routes/site-notes")).toBe("kept\n");
      expect(ours("node-1")).toEqual(["10.77.0.0/24 via 198.19.249.10"]);
      sh("node-1", "rm /etc/pod-routes/site-notes && rmdir /etc/pod-routes");
      expect(snapshot("node-1")).toBe(before);
    } finally {
      sh("node-1", "ip route del 10.77.0.0/24 via 198.19.249.10 proto 156; rm -f /etc/pod-routes/site-notes");
    }
    expect(snapshot("node-1")).toBe(baseline["node-1"]);
    expectOk(apply("node-1"));
  });

  it("item 4: a host owned by another stack is refused by its apply and left alone by its delete", () => {
    const other = ownerOf("node-0", OTHER_STACK);
    expect(cat("node-0", "/etc/pod-routes/owner")).toBe(`${ownerOf("node-0")}\n`);
    const before = snapshot("node-0");
    const refused = apply("node-0", { owner: other });
    expect(refused.code).toBe(EXIT_CODES.refused);
    expect(refused.stderr).toContain(
      `pod-routes: host node-0 is managed by another pod-routes stack: /etc/pod-routes/owner says '${ownerOf("node-0")}', this run is '${other}'. Release it first:`,
    );
    expect(refused.stderr).toContain("nothing was changed on this host.");
    expect(snapshot("node-0")).toBe(before);
    const left = expectOk(remove("node-0", other));
    expect(left.stdout).toBe(
      `pod-routes: node-0: this host is now managed as ${ownerOf("node-0")} (not ${other}); leaving it as it is.\n`,
    );
    expect(snapshot("node-0")).toBe(before);

    // The same stack under another node name (a rename) takes the host over; the old name's delete then
    // leaves it alone.
    const renamed = `${STACK}:pod-routes-node-9`;
    expect(expectOk(apply("node-0", { owner: renamed })).stdout).toBe(
      `${summary("node-0", 0, 0, 0, 0, 1)} files changed: /etc/pod-routes/owner\n`,
    );
    expect(expectOk(remove("node-0")).stdout).toContain("leaving it as it is.");
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);

    // Retired by hand (OWNER='*'), whoever owns it; then the other stack may take it.
    expectOk(remove("node-0", "*"));
    expect(snapshot("node-0")).toBe(baseline["node-0"]);
    expectOk(apply("node-0", { owner: other }));
    expect(cat("node-0", "/etc/pod-routes/owner")).toBe(`${other}\n`);
    expectOk(remove("node-0", other));
    expect(snapshot("node-0")).toBe(baseline["node-0"]);
    expectOk(apply("node-0"));
  });

  it("item 4: the state and owner of older versions are taken over (legacy state lines, bare host name)", () => {
    retire("node-0");
    // What pod-routes before owner identities left on a host.
    sh(
      "node-0",
      [
        "ip route add 10.200.1.0/24 via 198.19.249.136 proto 156",
        "ip route add 10.200.9.0/24 via 198.19.249.136 proto 156",
        "mkdir -p /etc/pod-routes",
        "printf 'route replace 10.200.1.0/24 via 198.19.249.136 proto 156\\nroute replace 10.200.9.0/24 via 198.19.249.136 proto 156\\n' >/etc/pod-routes/routes",
        "echo node-0 >/etc/pod-routes/owner",
        "printf '#!/bin/sh\\nip -force -batch /etc/pod-routes/routes\\n' >/etc/pod-routes/apply-at-boot.sh",
      ].join(" && "),
    );
    const legacy = check("node-0");
    expect(legacy.owner).toBe("node-0");
    expect(legacy.state).toBe("legacy");
    expect(legacy.verdicts.map((v) => [v.verdict, v.destination])).toEqual([
      ["keep", "10.200.1.0/24"],
      ["remove", "10.200.9.0/24"],
    ]);
    const r = expectOk(apply("node-0"));
    expect(r.stdout).toMatch(new RegExp(`^${summary("node-0", 0, 0, 0, 1, 1)}`));
    expect(r.stdout).toContain("/etc/pod-routes/apply-at-boot.sh");
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(cat("node-0", STATE_FILE)).toBe(`${STATE_HEADER}\n10.200.1.0/24 198.19.249.136\n`);
    expect(cat("node-0", "/etc/pod-routes/owner")).toBe(`${ownerOf("node-0")}\n`);
    expect(exists("node-0", "/etc/pod-routes/apply-at-boot.sh")).toBe(false);
    expect(check("node-0").state).toBe("present");
    expectOk(remove("node-0"));
    expect(snapshot("node-0")).toBe(baseline["node-0"]);
    expectOk(apply("node-0"));
  });

  it("item 4: a site name for protocol 156, and protocol-156 routes with nhid, a device only or an IPv6 gateway, break nothing", () => {
    const odd = [
      "10.98.0.0/24 via 198.19.249.10 dev eth0 proto 99",
      "10.97.0.0/24 nhid 50 via 198.19.249.10 dev eth0 proto 156",
      "10.96.0.0/24 via inet6 fd00::10 dev eth0 proto 156",
      "10.95.0.0/24 dev eth0 proto 156 scope 253",
    ];
    expectOk(apply("node-0"));
    sh(
      "node-0",
      [
        "printf '156\\tsite-bgp\\n99\\tpod-routes\\n' >/etc/iproute2/rt_protos.d/site.conf",
        "ip route add 10.98.0.0/24 via 198.19.249.10 proto 99",
        "ip nexthop add id 50 via 198.19.249.10 dev eth0",
        "ip route add 10.97.0.0/24 nhid 50 proto 156",
        "ip route add 10.96.0.0/24 via inet6 fd00::10 proto 156",
        "ip route add 10.95.0.0/24 dev eth0 proto 156",
        // Those it recorded, too (a state file that says more than what is ours).
        `printf '${STATE_HEADER}\\n10.200.1.0/24 198.19.249.136\\n10.97.0.0/24 198.19.249.10\\n10.96.0.0/24 198.19.249.10\\n10.95.0.0/24 198.19.249.10\\n10.98.0.0/24 198.19.249.10\\n' >${STATE_FILE}`,
      ].join(" && "),
    );
    try {
      const live = () =>
        hostExec(lab(), "node-0", ["ip", "-N", "route", "show"])
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => /^10\.9[5-8]\./.test(l));
      expect(live()).toEqual([...odd].reverse());
      const r = expectOk(apply("node-0"));
      expect(r.stdout).toBe(`${summary("node-0", 0, 0, 0, 0, 1)} files changed: ${STATE_FILE}\n`);
      expect(live()).toEqual([...odd].reverse());
      expect(expectOk(apply("node-0")).stdout).toBe(unchanged("node-0", 1));
      expectOk(remove("node-0"));
      expect(live()).toEqual([...odd].reverse());
      expect(exists("node-0", "/etc/iproute2/rt_protos.d/site.conf")).toBe(true);
    } finally {
      sh(
        "node-0",
        "ip route del 10.98.0.0/24 proto 99; ip route del 10.97.0.0/24; ip route del 10.96.0.0/24; ip route del 10.95.0.0/24; ip nexthop del id 50; rm -f /etc/iproute2/rt_protos.d/site.conf",
      );
    }
    expect(snapshot("node-0")).toBe(baseline["node-0"]);
    expectOk(apply("node-0"));
  });

  it("item 5: IPv6 /120 pod CIDRs are stable over re-runs (the kernel prints ::a00:100/120 as ::10.0.1.0/120)", () => {
    const routes = [...EXPECTED["node-0"], "::a00:100/120 via fd00::136", "fd00::a00:100/120 via fd00::136"];
    const first = expectOk(apply("node-0", {}, routes));
    expect(first.stdout).toMatch(
      new RegExp(`^${summary("node-0", 2, 0, 0, 0, 1)} files changed: ${STATE_FILE}\n`),
    );
    expect(ours("node-0", "-6")).toEqual(["::10.0.1.0/120 via fd00::136", "fd00::a00:100/120 via fd00::136"]);
    for (const shell of ["sh", "bash"] as const) {
      const before = snapshot("node-0");
      const again = sshRun(lab(), "node-0", renderApply(input("node-0", {}, routes)), { shell });
      expect({ code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({
        code: 0,
        stdout: unchanged("node-0", 3),
        stderr: "",
      });
      expect(snapshot("node-0")).toBe(before);
    }
    expect(check("node-0", {}, routes).verdicts.map((v) => `${v.verdict} ${v.destination}`)).toEqual([
      "keep 10.200.1.0/24",
      "keep ::a00:100/120",
      "keep fd00::a00:100/120",
    ]);
    // And they go again.
    expect(expectOk(apply("node-0")).stdout).toMatch(new RegExp(`^${summary("node-0", 0, 0, 0, 2, 1)}`));
    expect(ours("node-0", "-6")).toEqual([]);
  });

  it.each([
    [
      "a more-specific route inside the pod CIDR",
      "ip route add 10.200.1.0/25 via 198.19.249.10",
      "ip route del 10.200.1.0/25 via 198.19.249.10",
      "already has a route 10.200.1.0/25 via 198.19.249.10 dev eth0 proto boot that pod-routes did not create; it conflicts with the desired 10.200.1.0/24 via 198.19.249.136. Remove it (ip route del 10.200.1.0/25 via 198.19.249.10)",
    ],
    [
      "a policy rule sending the pod CIDR elsewhere",
      "ip rule add to 10.200.1.0/24 lookup 100 priority 1000",
      "ip rule del priority 1000 to 10.200.1.0/24",
      "already has a policy rule '1000: from all to 10.200.1.0/24 lookup 100' (it sends traffic for that destination elsewhere) that pod-routes did not create; it conflicts with the desired 10.200.1.0/24 via 198.19.249.136. Remove it (ip rule del priority 1000 to 10.200.1.0/24)",
    ],
  ])("item 6: %s is refused, named, and nothing changes", (_what, make, undo, message) => {
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    sh("node-0", make);
    try {
      const before = snapshot("node-0");
      const rules = hostExec(lab(), "node-0", ["ip", "rule", "show"]);
      const r = apply("node-0", {}, [...EXPECTED["node-0"], "10.200.7.0/24 via 198.19.249.136"]);
      expect(r.code).toBe(EXIT_CODES.refused);
      expect(r.stderr).toContain(`pod-routes: host node-0 ${message}`);
      expect(r.stderr).toContain("pod-routes: host node-0: 1 problem(s); nothing was changed on this host.");
      expect(snapshot("node-0")).toBe(before);
      expect(hostExec(lab(), "node-0", ["ip", "rule", "show"])).toBe(rules);
      expect(check("node-0").verdicts.map((v) => v.verdict)).toEqual(["conflict"]);
    } finally {
      sh("node-0", undo);
    }
    expect(expectOk(apply("node-0")).stdout).toBe(unchanged("node-0", 1));
  });

  it("end: pulumi destroy's deletes leave every host as it was, and the real machine was never touched", () => {
    for (const host of HOSTS) {
      expectOk(remove(host));
      expect(snapshot(host)).toBe(baseline[host]);
    }
    expect(fs.existsSync("/etc/pod-routes")).toBe(false);
    expect(fs.readFileSync("/etc/hosts", "utf8")).not.toContain("pod-routes managed block");
  });
});

// Issue 18, items 4 and 9: no foreign route taken over, even one that appears while a run is under way, and
// no check that reads the system failing open. Each test starts from a host it sets up itself.
describe("issue 18", () => {
  /** `ip` fails for commands whose arguments start with `args`, printing `error`'s lines. */
  const deny = (host: Host, args: string, ...error: string[]) =>
    hostExec(lab(), host, ["sh", "-c", "cat >/tmp/ipwrap.deny"], { input: [args, ...error, ""].join("\n") });
  /**
   * Under the ip wrapper, with `ip <args…>` failing as `error` says (a dump of the kernel's tables that fails):
   * a run of `routes` cannot run, naming `command` and its error, and changes nothing; a check cannot tell
   * either, and fails rather than report a route as missing. Then `andThen`, still under the wrapper.
   * The host's snapshot from before.
   */
  function withFailedDump(
    host: Host,
    routes: string[],
    failure: { args: string; command: string; error: string[] },
    andThen: () => void = () => {},
  ): string {
    const before = snapshot(host);
    withIpWrapper(host, () => {
      deny(host, failure.args, ...failure.error);
      const r = apply(host, {}, routes);
      expect(r.code).toBe(EXIT_CODES.cannotRun);
      expect(r.stderr).toContain(`'${failure.command}' failed: ${failure.error.join(" ")}`);
      expect(r.stderr).toContain("nothing was changed on this host.");
      expect(r.stdout).toBe("");
      expect(snapshot(host)).toBe(before);
      expect(sshRun(lab(), host, renderCheck(input(host, {}, routes))).code).toBe(EXIT_CODES.cannotRun);
      andThen();
    });
    return before;
  }
  /** What another tool does on the host just before the run's first route batch. */
  const race = (host: Host, command: string) =>
    hostExec(lab(), host, ["sh", "-c", "cat >/tmp/ipwrap.race"], { input: `/usr/bin/ip ${command}\n` });
  /**
   * A run (`apply(host, extra, routes)`) while another tool runs `ip <command>` on the host just before the
   * run's first route batch: it rolls back, its stderr naming each of `messages` and the routes restored.
   */
  function rolledBackByRace(
    host: Host,
    command: string,
    messages: string[],
    extra: Partial<HostScriptInput> = {},
    routes?: string[],
  ): ReturnType<typeof apply> {
    return withIpWrapper(host, () => {
      race(host, command);
      const r = apply(host, extra, routes);
      expect(r.code).toBe(EXIT_CODES.rolledBack);
      for (const message of messages) expect(r.stderr).toContain(message);
      expect(r.stderr).toContain(ROLLED_BACK);
      return r;
    });
  }
  const ROLLED_BACK =
    "the routes pod-routes had before were restored and nothing else was changed on this host.";

  it.each([
    [
      "a static route of the same metric: the batch's `route add` fails",
      "10.200.0.0/24 via 198.19.249.10 proto static",
      "10.200.0.0/24 via 198.19.249.10 dev eth0 proto static",
    ],
    [
      "a route of another metric: found by the check after the batch",
      "10.200.0.0/24 via 198.19.249.10 proto static metric 50",
      "10.200.0.0/24 via 198.19.249.10 dev eth0 proto static metric 50",
    ],
    [
      "a more-specific route inside the pod CIDR: found by the check after the batch",
      "10.200.0.0/25 via 198.19.249.10",
      "10.200.0.0/25 via 198.19.249.10 dev eth0 proto boot",
    ],
  ])(
    "issue 18 item 4: a foreign route that appears between the checks and the batch (%s) is not taken over: the run rolls back and names it",
    (_what, made, shown) => {
      retire("node-1");
      const before = snapshot("node-1");
      const dst = made.split(" ")[0]!;
      try {
        const r = rolledBackByRace("node-1", `route add ${made}`, [
          `pod-routes: host node-1 already has a route ${shown} that pod-routes did not create; it conflicts with the desired 10.200.0.0/24 via 198.19.249.34.`,
          dst === "10.200.0.0/24" && !made.includes("metric")
            ? "pod-routes: host node-1: a route change failed (route add 10.200.0.0/24 via 198.19.249.34 proto 156: RTNETLINK answers: File exists); "
            : `pod-routes: host node-1: a route change failed (routes changed while it ran: ${shown} is in the way of 10.200.0.0/24); `,
        ]);
        expect(r.stderr).not.toMatch(/awk|syntax error/);
        expect(r.stdout).toBe("");
        expect(hostRoutes(lab(), "node-1", dst)).toEqual([shown.replace(" proto boot", "")]);
        expect(ours("node-1")).toEqual([]);
        expect(exists("node-1", STATE_FILE)).toBe(false);
      } finally {
        sh("node-1", `ip route del ${made} 2>/dev/null || true`);
      }
      expect(snapshot("node-1")).toBe(before);
      expectOk(apply("node-1"));
      expect(ours("node-1")).toEqual(EXPECTED["node-1"]);
    },
  );

  it("issue 18 item 4: a route of its own that a foreign one replaced before the batch is not taken over by a change (nor removed by the delete)", () => {
    retire("node-0");
    expectOk(apply("node-0"));
    try {
      rolledBackByRace(
        "node-0",
        "route replace 10.200.1.0/24 via 198.19.249.77 proto static",
        [
          "a route change failed (route del 10.200.1.0/24 via 198.19.249.136 proto 156: RTNETLINK answers: No such process)",
          "pod-routes: host node-0 already has a route 10.200.1.0/24 via 198.19.249.77 dev eth0 proto static that pod-routes did not create",
        ],
        {},
        ["10.200.1.0/24 via 198.19.249.10"],
      );
      expect(hostRoutes(lab(), "node-0", "10.200.1.0/24")).toEqual([
        "10.200.1.0/24 via 198.19.249.77 dev eth0 proto static",
      ]);
      expect(stateRoutes("node-0")).toEqual(EXPECTED["node-0"]);
      // The state file still names 10.200.1.0/24, but that route is not pod-routes' own: its delete keeps it.
      expectOk(remove("node-0"));
      expect(hostRoutes(lab(), "node-0", "10.200.1.0/24")).toEqual([
        "10.200.1.0/24 via 198.19.249.77 dev eth0 proto static",
      ]);
    } finally {
      sh("node-0", "ip route del 10.200.1.0/24 via 198.19.249.77 2>/dev/null || true");
    }
    expect(snapshot("node-0")).toBe(baseline["node-0"]);
    expectOk(apply("node-0"));
  });

  it("issue 18 item 4: adopt takes over only the hand-made route it checked (one replaced before the batch stays), and a failed adoption puts it back", () => {
    retire("node-0");
    sh("node-0", "ip route add 10.200.1.0/24 via 198.19.249.136");
    const handMade = snapshot("node-0");
    try {
      rolledBackByRace(
        "node-0",
        "route replace 10.200.1.0/24 via 198.19.249.77 proto static",
        [
          "pod-routes: host node-0 already has a route 10.200.1.0/24 via 198.19.249.77 dev eth0 proto static that pod-routes did not create",
        ],
        { adopt: true },
      );
      expect(hostRoutes(lab(), "node-0", "10.200.1.0/24")).toEqual([
        "10.200.1.0/24 via 198.19.249.77 dev eth0 proto static",
      ]);
      expect(ours("node-0")).toEqual([]);
      expect(exists("node-0", STATE_FILE)).toBe(false);
    } finally {
      sh("node-0", "ip route del 10.200.1.0/24 via 198.19.249.77 proto static 2>/dev/null || true");
    }
    // The hand-made route back; an adoption that fails half-way leaves it as it was.
    sh("node-0", "ip route add 10.200.1.0/24 via 198.19.249.136");
    expect(snapshot("node-0")).toBe(handMade);
    withIpWrapper("node-0", () => {
      sh("node-0", ": >/tmp/ipwrap.fail");
      const r = apply("node-0", { adopt: true });
      expect(r.code).toBe(EXIT_CODES.rolledBack);
      expect(r.stderr).toContain(ROLLED_BACK);
    });
    expect(snapshot("node-0")).toBe(handMade);
    expect(expectOk(apply("node-0", { adopt: true })).stdout).toMatch(
      new RegExp(`^${summary("node-0", 0, 0, 1, 0, 0)}`),
    );
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
  });

  it("issue 18 item 4: adopting several hand-made routes on one host (the runbook's ip route add, proto boot) in one run", () => {
    const runbook = () =>
      sh(
        "server",
        "ip route add 10.200.0.0/24 via 198.19.249.34 && ip route add 10.200.1.0/24 via 198.19.249.136",
      );
    retire("server");
    runbook();
    const handMade = snapshot("server");
    // A batch that deletes a proto-boot route after adding a proto-156 one: every line takes.
    const adopted = apply("server", { adopt: true });
    expect({ code: adopted.code, stderr: adopted.stderr }).toEqual({ code: 0, stderr: "" });
    expect(adopted.stdout).toMatch(new RegExp(`^${summary("server", 0, 0, 2, 0, 0)}`));
    expect(ours("server")).toEqual(EXPECTED.server);
    expect(hostRoutes(lab(), "server").filter((l) => l.startsWith("10.200."))).toEqual(
      EXPECTED.server.map((l) => `${l} dev eth0 proto pod-routes`),
    );
    expect(expectOk(apply("server")).stdout).toBe(unchanged("server", 2));
    // Taken over: the delete removes both.
    expectOk(remove("server"));
    expect(snapshot("server")).toBe(baseline.server);
    // Made by hand again; a policy rule that appears before the batch fails the check after it: the whole
    // batch is undone, and both hand-made routes are back exactly (proto boot, not 156).
    runbook();
    expect(snapshot("server")).toBe(handMade);
    try {
      const r = rolledBackByRace(
        "server",
        "rule add to 10.200.0.0/24 lookup 100 priority 1000",
        [
          "a route change failed (routes changed while it ran: 1000: from all to 10.200.0.0/24 lookup 100 is in the way of 10.200.0.0/24)",
        ],
        { adopt: true },
      );
      expect(r.stdout).toBe("");
      expect(ours("server")).toEqual([]);
      expect(exists("server", STATE_FILE)).toBe(false);
    } finally {
      sh("server", "ip rule del priority 1000 to 10.200.0.0/24 2>/dev/null || true");
    }
    expect(snapshot("server")).toBe(handMade);
    expect(expectOk(apply("server", { adopt: true })).stdout).toMatch(
      new RegExp(`^${summary("server", 0, 0, 2, 0, 0)}`),
    );
    expect(ours("server")).toEqual(EXPECTED.server);
  });

  it("issue 18 item 4: a failed IPv6 dump fails the run closed (a foreign IPv6 route is not taken over); a host without IPv6 applies its IPv4 routes", () => {
    retire("node-0");
    expectOk(apply("node-0"));
    const routes = [...EXPECTED["node-0"], "fd00::a00:100/120 via fd00::136"];
    sh("node-0", "ip -6 route add fd00::a00:100/120 via fd00::10 proto static");
    try {
      const dump = {
        args: "-N -6 route",
        command: "ip -N -6 route show table main",
        error: ["RTNETLINK answers: Message too long", "Dump terminated"],
      };
      withFailedDump("node-0", routes, dump, () => {
        // A kernel without IPv6 (every IPv6 request: "Address family not supported"): IPv4 routes still apply.
        deny("node-0", "-N -6", "RTNETLINK answers: Address family not supported by protocol");
        const v4 = expectOk(apply("node-0", {}, [...EXPECTED["node-0"], "10.200.7.0/24 via 198.19.249.136"]));
        expect(v4.stdout).toMatch(new RegExp(`^${summary("node-0", 1, 0, 0, 0, 1)}`));
      });
      expect(hostExec(lab(), "node-0", ["ip", "-6", "route", "show", "fd00::a00:100/120"]).trim()).toMatch(
        /^fd00::a00:100\/120 via fd00::10 dev eth0 proto static/,
      );
    } finally {
      sh("node-0", "ip -6 route del fd00::a00:100/120 via fd00::10 2>/dev/null || true");
    }
    expectOk(apply("node-0"));
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(ours("node-0", "-6")).toEqual([]);
  });

  it("issue 18 item 9: with `ip rule show` failing, a run refuses and changes nothing (a rule in the way would go unseen)", () => {
    retire("node-0");
    expectOk(apply("node-0"));
    const routes = [...EXPECTED["node-0"], "10.200.7.0/24 via 198.19.249.136"];
    sh("node-0", "ip rule add to 10.200.7.0/24 lookup 100 priority 1000");
    try {
      const before = withFailedDump("node-0", routes, {
        args: "-N -4 rule",
        command: "ip -N -4 rule show",
        error: ["RTNETLINK answers: Operation not permitted", "Dump terminated"],
      });
      // Once the rules can be read, the rule is refused as ever.
      const r = apply("node-0", {}, routes);
      expect(r.code).toBe(EXIT_CODES.refused);
      expect(r.stderr).toContain("already has a policy rule '1000: from all to 10.200.7.0/24 lookup 100'");
      expect(snapshot("node-0")).toBe(before);
    } finally {
      sh("node-0", "ip rule del priority 1000 to 10.200.7.0/24");
    }
    expect(expectOk(apply("node-0")).stdout).toBe(unchanged("node-0", 1));
  });

  it("issue 18 item 9: a journal whose route deletion fails is kept, and the run fails naming the route", () => {
    retire("node-0");
    expectOk(apply("node-0"));
    const S2 = ["10.200.7.0/24 via 198.19.249.136"];
    withIpWrapper("node-0", () => {
      // Killed after writing its journal, before its route batch: 10.200.1.0/24 is to go.
      sh("node-0", ": >/tmp/ipwrap.killbefore");
      expect(apply("node-0", {}, S2).code).not.toBe(0);
      expect(exists("node-0", JOURNAL_FILE)).toBe(true);
      expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
      // The next run cannot remove it.
      sh("node-0", ": >/tmp/ipwrap.failforce");
      const before = snapshot("node-0");
      const r = apply("node-0", {}, S2);
      expect(r.code).toBe(EXIT_CODES.cannotRun);
      expect(r.stderr).toContain(
        `pod-routes: host node-0: cannot finish ${JOURNAL_FILE}: 10.200.1.0/24 via 198.19.249.136 proto 156 is still there (ip route del 10.200.1.0/24 via 198.19.249.136 proto 156 removes it); ip said: RTNETLINK answers: Operation not permitted; the journal is kept (the next run, or the boot program, tries again) and nothing else was changed on this host.\n`,
      );
      expect(r.stdout).toBe("");
      expect(exists("node-0", JOURNAL_FILE)).toBe(true);
      expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
      expect(snapshot("node-0")).toBe(before);
    });
    // Once it can: the next run finishes the journal, then does its own.
    const next = apply("node-0", {}, S2);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain("finishing a run that was interrupted before it committed its files");
    expect(exists("node-0", JOURNAL_FILE)).toBe(false);
    expect(ours("node-0")).toEqual(S2);
    expect(stateRoutes("node-0")).toEqual(S2);
    expect(hostExec(lab(), "node-0", ["find", "/etc", "-name", ".pod-routes-staged.*"])).toBe("");
    expectOk(apply("node-0"));
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
  });

  it("issue 18 item 9: a rollback that cannot put the routes back says which, with its own exit status", () => {
    retire("node-0");
    expectOk(apply("node-0"));
    const before = snapshot("node-0");
    withIpWrapper("node-0", () => {
      // The batch fails after its first line (10.200.7.0/24 added), and nothing can be put back.
      sh("node-0", ": >/tmp/ipwrap.fail && : >/tmp/ipwrap.failforce");
      const r = apply("node-0", {}, ["10.200.7.0/24 via 198.19.249.136", "10.200.8.0/24 via 198.19.249.136"]);
      expect(r.code).toBe(EXIT_CODES.notRestored);
      expect(r.stderr).toContain("pod-routes: host node-0: a route change failed (");
      expect(r.stderr).toContain(
        "could not put back: 10.200.7.0/24 via 198.19.249.136 proto 156 is still there (ip route del 10.200.7.0/24 via 198.19.249.136 proto 156 removes it)",
      );
      expect(r.stderr).not.toContain("were restored");
      expect(r.stdout).toBe("");
    });
    expect(ours("node-0")).toEqual([...EXPECTED["node-0"], "10.200.7.0/24 via 198.19.249.136"]);
    // No file changed: the state file is the one before.
    expect(stateRoutes("node-0")).toEqual(EXPECTED["node-0"]);
    sh("node-0", "ip route del 10.200.7.0/24 via 198.19.249.136 proto 156");
    expect(snapshot("node-0")).toBe(before);
  });
});
