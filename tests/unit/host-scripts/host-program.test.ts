// Pieces of the host program (ssh/host-program/sh/*.sh) run on their own under dash and bash (and busybox ash
// where installed), against a stand-in for `ip` that answers from canned output and records what it was
// asked: how a run reads the routing table and rules, plans its batch and puts routes back. No root, no
// network: nothing here touches a route or /etc.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONSTANTS, HOST_SCRIPTS_DIR, VERDICTS_AWK } from "../../../ssh/host-program/render";

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const SHELLS: Array<[string, string[]]> = [
  ["dash", ["dash"]],
  ["bash", ["bash", "--posix"]],
  ...(onPath("busybox") && spawnSync("busybox", ["ash", "-c", ":"]).status === 0
    ? [["busybox ash", ["busybox", "ash"]] as [string, string[]]]
    : []),
];
const PARTS = ["common.sh", "lock.sh", "journal.sh", "reconcile.sh"];

/** The answers of the stand-in `ip`, by its arguments (a batch file's path reads FILE): the n-th call
 * gets the n-th answer (the last one again after that). `@FILE@` in an error stands for the batch file. */
type Answer = { out?: string; err?: string; rc?: number };
type Answers = Record<string, Answer[]>;

const FAKE_IP = `#!/bin/sh
args=$*
file=""
case "$1 $2" in
  "-batch "*) file=$2; args="-batch FILE" ;;
  "-force -batch") file=$3; args="-force -batch FILE" ;;
esac
if [ -n "$file" ]; then cat "$file" >>"$FAKE/batches"; fi
echo "$args" >>"$FAKE/calls"
key=$(printf '%s' "$args" | tr -c 'A-Za-z0-9-' '_')
n=$(($(cat "$FAKE/$key.n" 2>/dev/null || echo 0) + 1))
echo "$n" >"$FAKE/$key.n"
i=$n
while [ "$i" -gt 1 ] && [ ! -e "$FAKE/$key.$i.rc" ]; do i=$((i - 1)); done
if [ ! -e "$FAKE/$key.$i.rc" ]; then echo "fake ip: no answer for '$args'" >&2; exit 99; fi
cat "$FAKE/$key.$i.out"
sed "s|@FILE@|$file|g" "$FAKE/$key.$i.err" >&2
exit "$(cat "$FAKE/$key.$i.rc")"
`;

let tmp = "";
let runs = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-host-program-"));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the stand-in ip was asked, one call per line. */
  readonly calls: string[];
  /** The lines of every batch it was given. */
  readonly batches: string[];
  readonly work: string;
}

/** Runs `body` after the host program's parts, with WORK ready (verdicts.awk in it) and `files` in it. */
/** A run that succeeded (status 0, nothing on stderr): its stdout's lines. */
function okLines(r: Run): string[] {
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
  return r.stdout.split("\n");
}

function run(shell: string[], body: string, answers: Answers = {}, files: Record<string, string> = {}): Run {
  const dir = path.join(tmp, String(++runs));
  const bin = path.join(dir, "bin");
  const fake = path.join(dir, "fake");
  const work = path.join(dir, "work");
  for (const d of [bin, fake, work]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(bin, "ip"), FAKE_IP, { mode: 0o755 });
  for (const [args, list] of Object.entries(answers)) {
    const key = args.replace(/[^A-Za-z0-9-]/g, "_");
    list.forEach((a, i) => {
      fs.writeFileSync(path.join(fake, `${key}.${i + 1}.out`), a.out ?? "");
      fs.writeFileSync(path.join(fake, `${key}.${i + 1}.err`), a.err ?? "");
      fs.writeFileSync(path.join(fake, `${key}.${i + 1}.rc`), String(a.rc ?? 0));
    });
  }
  fs.copyFileSync(path.join(HOST_SCRIPTS_DIR, VERDICTS_AWK), path.join(work, "verdicts.awk"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(work, name), text);
  const script = [
    "set -eu",
    ...PARTS.map((p) => `. '${path.join(HOST_SCRIPTS_DIR, p)}'`),
    // The constants the renderer hands the program (exit statuses, PROTO, …), then this harness's own.
    ...CONSTANTS.map(([name, value]) => `${name}='${String(value)}'`),
    "HOST=h MODE=apply ADOPT=0 OWNER=pulumi:a/b/c:h",
    `WORK='${work}' OWNER_FILE='${work}/owner' JOURNAL_FILE='${work}/journal' LOCK_FILE='${work}/lock'`,
    "TAB=$(printf '\\t') LOOK_EXACT=0 BATCH_DONE=0",
    `PATH='${bin}':$PATH FAKE='${fake}'`,
    "export FAKE",
    body,
  ].join("\n");
  const file = path.join(dir, "run.sh");
  fs.writeFileSync(file, script);
  const [bin0, ...pre] = shell;
  const r = spawnSync(bin0!, [...pre, file], { encoding: "utf8", env: { PATH: process.env.PATH } });
  const lines = (f: string) =>
    fs.existsSync(f)
      ? fs
          .readFileSync(f, "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : [];
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    calls: lines(path.join(fake, "calls")),
    batches: lines(path.join(fake, "batches")),
    work,
  };
}

const KERNEL4 = "198.19.249.0/24 dev eth0 proto 2 scope 253 src 198.19.249.34 \n";
const RULES = "0:\tfrom all lookup 255\n32766:\tfrom all lookup 254\n32767:\tfrom all lookup 253\n";
const D4 = "10.200.1.0/24 198.19.249.136 node-1\n";
const D6 = "fd00::a00:100/120 fd00::136 node-1\n";
const ok = (out = ""): Answer[] => [{ out }];
const fails = (err: string, rc = 2): Answer[] => [{ err, rc }];
const NO_IPV6 = fails("RTNETLINK answers: Address family not supported by protocol\n");
const LOOK = 'pr_look\ncat "$WORK/verdicts"';

describe.each(SHELLS)("the host program under %s", (_name, shell) => {
  it("issue 18 item 4: a failed dump of a family the run needs fails it closed, naming the command; a kernel without IPv6 has no IPv6 routes", () => {
    const v4 = { "-N -4 route show table main": ok(KERNEL4), "-N -4 rule show": ok(RULES) };
    // IPv6 desired, its table unreadable: the run ends before anything changes (status 4), naming it.
    const failed = run(
      shell,
      LOOK,
      {
        ...v4,
        "-N -6 route show table main": fails("RTNETLINK answers: Message too long\nDump terminated\n"),
      },
      { desired: D4 + D6, state: "" },
    );
    expect({ status: failed.status, stdout: failed.stdout, stderr: failed.stderr }).toEqual({
      status: 4,
      stdout: "",
      stderr:
        "pod-routes: host h: cannot read its routes and policy rules: 'ip -N -6 route show table main' failed: RTNETLINK answers: Message too long Dump terminated; nothing was changed on this host.\n",
    });
    // IPv6 only in the state file (a route of ours to remove): needed just as much.
    const state = run(
      shell,
      LOOK,
      { ...v4, "-N -6 route show table main": fails("Dump terminated\n") },
      { desired: D4, state: "# pod-routes state 2\nfd00::a00:100/120 fd00::136\n" },
    );
    expect(state.status).toBe(4);
    expect(state.stderr).toContain("'ip -N -6 route show table main' failed: Dump terminated;");
    // A kernel without IPv6: nothing of it to read (the next-hop check refuses IPv6 routes there).
    const none = run(
      shell,
      LOOK,
      { ...v4, "-N -6 route show table main": NO_IPV6, "-N -6 rule show": NO_IPV6 },
      { desired: D4 + D6, state: "" },
    );
    expect({ status: none.status, stderr: none.stderr }).toEqual({ status: 0, stderr: "" });
    expect(none.stdout).toBe("add\t10.200.1.0/24\t198.19.249.136\nadd\tfd00::a00:100/120\tfd00::136\n");
    // IPv4 only: IPv6 is not even read.
    const v4only = run(shell, LOOK, v4, { desired: D4, state: "" });
    expect({ status: v4only.status, stderr: v4only.stderr }).toEqual({ status: 0, stderr: "" });
    expect(v4only.calls).toEqual(["-N -4 route show table main", "-N -4 rule show"]);
    // IPv4's own table unreadable: the old hint stays.
    const old = run(
      shell,
      LOOK,
      { "-N -4 route show table main": fails('Option "-N" is unknown, try "ip -help".\n', 255) },
      {
        desired: D4,
        state: "",
      },
    );
    expect(old.status).toBe(4);
    expect(old.stderr).toContain(
      `'ip -N -4 route show table main' failed: Option "-N" is unknown, try "ip -help". (iproute2 4.20 or later is needed); nothing was changed on this host.`,
    );
  });

  it("issue 18 item 9: a policy rule dump that fails (or stays interrupted) fails the run closed; one interrupted once is read again", () => {
    const table = { "-N -4 route show table main": ok(KERNEL4) };
    const failed = run(
      shell,
      LOOK,
      { ...table, "-N -4 rule show": fails("RTNETLINK answers: Operation not permitted\nDump terminated\n") },
      { desired: D4, state: "" },
    );
    expect({ status: failed.status, stdout: failed.stdout }).toEqual({ status: 4, stdout: "" });
    expect(failed.stderr).toBe(
      "pod-routes: host h: cannot read its routes and policy rules: 'ip -N -4 rule show' failed: RTNETLINK answers: Operation not permitted Dump terminated; nothing was changed on this host.\n",
    );
    // Interrupted (rules changing meanwhile), then whole: the second answer counts, and the rule in the way is seen.
    const interrupted = { out: RULES, err: "Dump was interrupted and may be inconsistent.\n", rc: 0 };
    const again = run(
      shell,
      LOOK,
      {
        ...table,
        "-N -4 rule show": [interrupted, { out: `1000:\tfrom all to 10.200.1.0/24 lookup 100\n${RULES}` }],
      },
      { desired: D4, state: "" },
    );
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: "" });
    expect(again.stdout).toMatch(
      /^conflict\t10\.200\.1\.0\/24\t198\.19\.249\.136\t1000: from all to 10\.200\.1\.0\/24 lookup 100\t/,
    );
    expect(again.calls.filter((c) => c === "-N -4 rule show")).toHaveLength(2);
    // Interrupted every time: it gives up after three reads.
    const never = run(
      shell,
      LOOK,
      { ...table, "-N -4 rule show": [interrupted] },
      { desired: D4, state: "" },
    );
    expect(never.status).toBe(4);
    expect(never.stderr).toContain(
      "'ip -N -4 rule show' failed: Dump was interrupted and may be inconsistent.;",
    );
    expect(never.calls.filter((c) => c === "-N -4 rule show")).toHaveLength(3);
  });

  const VERDICTS = [
    "add\t10.200.1.0/24\t198.19.249.136",
    "change\t10.200.2.0/24\t198.19.249.22\t198.19.249.99",
    "adopt\t10.200.3.0/24\t198.19.249.23\t10.200.3.0/24 via 198.19.249.23 dev eth0 proto static\tip route del 10.200.3.0/24 via 198.19.249.23",
    "adopt\tfd00::a00:100/120\tfd00::136\tfd00::a00:100/120 via fd00::136 dev eth0 proto boot metric 1024 pref medium\tip route del fd00::a00:100/120 via fd00::136 metric 1024",
    "remove\t10.200.4.0/24\t198.19.249.24",
    "keep\t10.200.5.0/24\t198.19.249.25",
    "",
  ].join("\n");

  it("issue 18 item 4: the batch never replaces a route: it adds what must be new, and deletes by exact next hop and protocol what it changes or takes over; each undo line adds or deletes one route", () => {
    const r = run(
      shell,
      'pr_plan_routes\ncat "$WORK/batch"\necho --\ncat "$WORK/undo"\necho "$ADDED $CHANGED $ADOPTED $REMOVED $UNCHANGED"',
      {},
      { verdicts: VERDICTS },
    );
    expect(okLines(r)).toEqual([
      "route add 10.200.1.0/24 via 198.19.249.136 proto 156",
      "route del 10.200.2.0/24 via 198.19.249.99 proto 156",
      "route add 10.200.2.0/24 via 198.19.249.22 proto 156",
      "route del 10.200.3.0/24 via 198.19.249.23 proto 4",
      "route add 10.200.3.0/24 via 198.19.249.23 proto 156",
      "route del fd00::a00:100/120 via fd00::136 proto 3 metric 1024",
      "route add fd00::a00:100/120 via fd00::136 proto 156",
      "route del 10.200.4.0/24 via 198.19.249.24 proto 156",
      "--",
      "route del 10.200.1.0/24 via 198.19.249.136 proto 156",
      "route add 10.200.2.0/24 via 198.19.249.99 proto 156",
      "route del 10.200.2.0/24 via 198.19.249.22 proto 156",
      "route add 10.200.3.0/24 via 198.19.249.23 dev eth0 proto 4",
      "route del 10.200.3.0/24 via 198.19.249.23 proto 156",
      "route add fd00::a00:100/120 via fd00::136 dev eth0 proto 3 metric 1024",
      "route del fd00::a00:100/120 via fd00::136 proto 156",
      "route add 10.200.4.0/24 via 198.19.249.24 proto 156",
      "1 1 2 1 1",
      "",
    ]);
  });

  it("issue 18 item 4: adopting several hand-made routes on one host (the runbook's ip route add, proto boot) in one run: every protocol in the batch and its undo is a number (ip -batch reads a name seen again after a number as that number)", () => {
    // As the look finds the runbook's routes on the server: no protocol printed (boot), named for messages.
    const verdicts = [
      "adopt\t10.200.0.0/24\t198.19.249.34\t10.200.0.0/24 via 198.19.249.34 dev eth0 proto boot\tip route del 10.200.0.0/24 via 198.19.249.34",
      "adopt\t10.200.1.0/24\t198.19.249.136\t10.200.1.0/24 via 198.19.249.136 dev eth0 proto boot\tip route del 10.200.1.0/24 via 198.19.249.136",
      "adopt\t10.200.2.0/24\t198.19.249.22\t10.200.2.0/24 via 198.19.249.22 dev eth0 proto kernel\tip route del 10.200.2.0/24 via 198.19.249.22",
      "adopt\t10.200.3.0/24\t198.19.249.23\t10.200.3.0/24 via 198.19.249.23 dev eth0 proto 17\tip route del 10.200.3.0/24 via 198.19.249.23",
      "",
    ].join("\n");
    const r = run(
      shell,
      'pr_plan_routes\ncat "$WORK/batch"\necho --\ncat "$WORK/undo"\necho "$ADOPTED"',
      {},
      { verdicts },
    );
    expect(okLines(r)).toEqual([
      "route del 10.200.0.0/24 via 198.19.249.34 proto 3",
      "route add 10.200.0.0/24 via 198.19.249.34 proto 156",
      "route del 10.200.1.0/24 via 198.19.249.136 proto 3",
      "route add 10.200.1.0/24 via 198.19.249.136 proto 156",
      "route del 10.200.2.0/24 via 198.19.249.22 proto 2",
      "route add 10.200.2.0/24 via 198.19.249.22 proto 156",
      "route del 10.200.3.0/24 via 198.19.249.23 proto 17",
      "route add 10.200.3.0/24 via 198.19.249.23 proto 156",
      "--",
      "route add 10.200.0.0/24 via 198.19.249.34 dev eth0 proto 3",
      "route del 10.200.0.0/24 via 198.19.249.34 proto 156",
      "route add 10.200.1.0/24 via 198.19.249.136 dev eth0 proto 3",
      "route del 10.200.1.0/24 via 198.19.249.136 proto 156",
      "route add 10.200.2.0/24 via 198.19.249.22 dev eth0 proto 2",
      "route del 10.200.2.0/24 via 198.19.249.22 proto 156",
      "route add 10.200.3.0/24 via 198.19.249.23 dev eth0 proto 17",
      "route del 10.200.3.0/24 via 198.19.249.23 proto 156",
      "4",
      "",
    ]);
    // A protocol the look never names (it reads `ip -N`) is not guessed at: the run ends before any change.
    const odd = run(
      shell,
      "pr_plan_routes\necho planned",
      {},
      {
        verdicts:
          "adopt\t10.200.0.0/24\t198.19.249.34\t10.200.0.0/24 via 198.19.249.34 dev eth0 proto zebra\tx\n",
      },
    );
    expect({ status: odd.status, stdout: odd.stdout }).toEqual({ status: 4, stdout: "" });
    expect(odd.stderr).toContain(
      "pod-routes: host h: cannot plan its route changes: the protocol of 10.200.0.0/24 via 198.19.249.34 dev eth0 proto zebra is not a number; nothing was changed on this host.",
    );
    expect(odd.calls).toEqual([]);
  });

  it("issue 18 item 9: a batch that fails at a line is undone up to that line, last first, and what could not be put back is named", () => {
    const body = [
      "pr_plan_routes",
      'if pr_run_batch; then echo ran; else echo "failed after $BATCH_DONE: $BATCH_WHY"; fi',
      'if pr_undo_routes "$BATCH_DONE"; then echo restored; else echo "not restored:"; cat "$WORK/unrestored"; fi',
    ].join("\n");
    const r = run(
      shell,
      body,
      {
        "-batch FILE": fails("RTNETLINK answers: File exists\nCommand failed @FILE@:3\n", 1),
        // The first undo line fails: 10.200.1.0/24 is still there.
        "-force -batch FILE": fails(
          "RTNETLINK answers: Operation not permitted\nCommand failed @FILE@:2\n",
          1,
        ),
        "-N -4 route show table main": ok(
          `${KERNEL4}10.200.1.0/24 via 198.19.249.136 dev eth0 proto 156 \n10.200.2.0/24 via 198.19.249.99 dev eth0 proto 156 \n`,
        ),
      },
      { verdicts: VERDICTS },
    );
    expect(okLines(r)).toEqual([
      "failed after 2: route add 10.200.2.0/24 via 198.19.249.22 proto 156: RTNETLINK answers: File exists",
      "not restored:",
      "10.200.1.0/24 via 198.19.249.136 proto 156 is still there (ip route del 10.200.1.0/24 via 198.19.249.136 proto 156 removes it)",
      "",
    ]);
    // The batch, then the undo of its first two lines, last first; IPv4 only was read back.
    expect(r.batches.slice(8)).toEqual([
      "route add 10.200.2.0/24 via 198.19.249.99 proto 156",
      "route del 10.200.1.0/24 via 198.19.249.136 proto 156",
    ]);
    expect(r.calls).toEqual(["-batch FILE", "-force -batch FILE", "-N -4 route show table main"]);
  });

  it("issue 18 item 9: a mkdir lock whose holder runs is not stale when its start time cannot be read (no /proc); a holder that is gone, or another process under its pid, is", () => {
    const body = [
      'verdict() { if pr_lock_stale "$1"; then echo stale; else echo live; fi; }',
      "sh -c 'exit 0' & gone=$!",
      "wait",
      'verdict "$$ $(pr_start_time $$) (apply on h by x)"',
      'verdict "$$ 1 (apply on h by x)"',
      'verdict "$gone 1 (apply on h by x)"',
      'verdict "0 1 (apply on h by x)"',
      "# No /proc to read.",
      'cat() { case "$1" in /proc/*) return 1 ;; esac; command cat "$@"; }',
      'verdict "$$ 1 (apply on h by x)"',
      'verdict "$gone 1 (apply on h by x)"',
    ].join("\n");
    const r = run(shell, body);
    expect(okLines(r)).toEqual(["live", "stale", "stale", "stale", "live", "stale", ""]);
  });

  it("issue 18 item 9: a check whose owner record cannot be read fails, rather than report the host as nobody's", () => {
    const body = [
      "MODE=check STATE_KIND=present UNIT_FILE=/nonexistent UNIT_LINK=/nonexistent",
      "HOSTS_BEGIN='# BEGIN pod-routes managed block' HOSTS_END='# END pod-routes managed block'",
      'echo pulumi:a/b/c:h >"$OWNER_FILE"',
      ': >"$WORK/verdicts"',
      'pr_report >"$WORK/report"',
      'head -n 2 "$WORK/report"',
      'sed() { case "$*" in *"$OWNER_FILE"*) echo "sed: read error" >&2; return 4 ;; esac; command sed "$@"; }',
      "pr_report",
    ].join("\n");
    const r = run(shell, body);
    expect({ status: r.status, stdout: r.stdout }).toEqual({
      status: 4,
      stdout: "pod-routes-check\t1\nowner\tpulumi:a/b/c:h\n",
    });
    expect(r.stderr).toMatch(/pod-routes: host h: cannot read .*\/owner\.\n$/);
  });
});
