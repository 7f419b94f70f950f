// One `pulumi` command as the bench runs it, timed, with where its CPU went: the command's process tree
// (the CLI, the language host, the program, the dynamic provider) sampled from /proc every 100 ms, the whole
// tree's CPU from this process's reaped-children counters, and the machine's (the lab's sshd and host
// scripts run on the same cores).
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { changeSummary, ChangeSummary, PulumiCli } from "../lab/pulumi-cli";
import { TOOLS_BIN } from "../lab/tools";

/** The parts of a `pulumi` command's process tree, by what each process is. */
export const KINDS = ["cli", "languageHost", "program", "provider", "other"] as const;
export type Kind = (typeof KINDS)[number];

/** One process of the tree: its kind, CPU, and when it was first and last seen (ms after the start). */
export interface ProcSpan {
  readonly kind: Kind;
  readonly cpuMs: number;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface OpResult {
  /** `pulumi` and its arguments. */
  readonly command: string;
  readonly ms: number;
  /** SSH sessions the provider opened (lines in POD_ROUTES_SSH_LOG). */
  readonly sessions: number;
  /** From the start: the first and the last SSH session. */
  readonly firstSessionMs: number | null;
  readonly lastSessionMs: number | null;
  /** The CLI's `Resources:` summary. */
  readonly changes: ChangeSummary;
  /** CPU ms by kind (sampled), and of the whole tree (exact, once it has exited). */
  readonly cpuMs: Record<Kind, number>;
  readonly treeCpuMs: number;
  /** CPU ms of the whole machine during the command, and its share of the machine's capacity. */
  readonly machineCpuMs: number;
  readonly machineBusy: number;
  /** The program's runs (the preview's and the update's), the providers' processes. */
  readonly programRuns: { fromMs: number; toMs: number; cpuMs: number }[];
  readonly providerRuns: { fromMs: number; toMs: number; cpuMs: number }[];
}

const TICK_MS = 10; // USER_HZ 100

function statFields(pid: number | "self"): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, starting at field 3 (state).
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function childrenCpuMs(): number {
  const f = statFields("self")!;
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

function machine(): { busyMs: number; totalMs: number } {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((s, x) => s + x, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busyMs: (total - idle) * TICK_MS, totalMs: total * TICK_MS };
}

function kindOf(pid: number): Kind | undefined {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
  const line = argv.join(" ");
  if (argv[0] !== undefined && path.basename(argv[0]) === "pulumi") return "cli";
  if (line.includes("pulumi-language-nodejs")) return "languageHost";
  // The shim's `node -e "…require.resolve('@pulumi/pulumi/cmd/dynamic-provider')"` is not the provider.
  if (line.includes("dynamic-provider") && argv[1] !== "-e") return "provider";
  if (/cmd[/]run\b/.test(line)) return "program";
  return "other";
}

/** Follows the process tree below `root` by scanning /proc; each pid's parent is read once. */
class TreeSampler {
  private readonly parent = new Map<number, number>();
  private readonly tree = new Set<number>();
  readonly procs = new Map<number, { kind: Kind; cpuMs: number; fromMs: number; toMs: number }>();
  constructor(private readonly root: number) {
    this.tree.add(root);
  }
  sample(atMs: number): void {
    let fresh: number[];
    try {
      fresh = fs
        .readdirSync("/proc")
        .filter((e) => /^[0-9]+$/.test(e))
        .map(Number)
        .filter((pid) => !this.parent.has(pid));
    } catch {
      return;
    }
    for (const pid of fresh) {
      const f = statFields(pid);
      if (f) this.parent.set(pid, Number(f[1]));
    }
    // Parents before children, whatever order the pids came in.
    let added = true;
    while (added) {
      added = false;
      for (const pid of fresh) {
        if (!this.tree.has(pid) && this.tree.has(this.parent.get(pid) ?? -1)) {
          this.tree.add(pid);
          added = true;
        }
      }
    }
    for (const pid of this.tree) {
      const f = statFields(pid);
      if (!f) continue;
      const cpuMs = (Number(f[11]) + Number(f[12])) * TICK_MS;
      const seen = this.procs.get(pid);
      // A process forked by the CLI shows its parent's command line until it execs: classify again.
      const kind = seen && seen.kind !== "other" ? seen.kind : (kindOf(pid) ?? "other");
      this.procs.set(pid, { kind, cpuMs, fromMs: seen?.fromMs ?? atMs, toMs: atMs });
    }
  }
}

/**
 * Runs `pulumi <args>` for `cli` (its environment and directory), sampling its process tree; throws with the
 * output unless it exits 0.
 */
export async function runPulumi(
  cli: PulumiCli,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<OpResult & { output: string }> {
  cli.sessions.reset();
  const cpu0 = childrenCpuMs();
  const m0 = machine();
  const started = process.hrtime.bigint();
  const startedAt = Date.now();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  const child = spawn(path.join(TOOLS_BIN, "pulumi"), args, {
    cwd: cli.dir,
    env: { ...cli.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const sampler = new TreeSampler(child.pid!);
  const timer = setInterval(() => sampler.sample(elapsed()), 100);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c ?? 128));
  });
  const ms = Math.round(elapsed());
  clearInterval(timer);
  const m1 = machine();
  const treeCpuMs = childrenCpuMs() - cpu0;
  const output = `${stdout}\n${stderr}`;
  if (code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${code} after ${ms} ms:\n${output}`);
  const cpuMs = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  const runs = (kind: Kind) =>
    [...sampler.procs.values()]
      .filter((p) => p.kind === kind)
      .map((p) => ({ fromMs: Math.round(p.fromMs), toMs: Math.round(p.toMs), cpuMs: p.cpuMs }))
      .sort((a, b) => a.fromMs - b.fromMs);
  for (const p of sampler.procs.values()) cpuMs[p.kind] += p.cpuMs;
  const times = cli.sessions
    .lines()
    .map((l) => Date.parse(l.split(" ")[0] ?? "") - startedAt)
    .filter((t) => Number.isFinite(t));
  return {
    command: `pulumi ${args.join(" ")}`,
    ms,
    sessions: times.length,
    firstSessionMs: times.length ? Math.min(...times) : null,
    lastSessionMs: times.length ? Math.max(...times) : null,
    changes: changeSummary(output),
    cpuMs,
    treeCpuMs,
    machineCpuMs: m1.busyMs - m0.busyMs,
    machineBusy: (m1.busyMs - m0.busyMs) / Math.max(1, m1.totalMs - m0.totalMs),
    programRuns: runs("program"),
    providerRuns: runs("provider"),
    output,
  };
}
