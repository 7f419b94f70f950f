// One operation of the bare-metal stack under the real Pulumi engine, as users run pod-routes: bench/engine.ts
// compiles this file (TypeScript's transpileModule, nothing else) into a consumer directory where
// `npm install <the npm pack tarball>` put pod-routes, and runs it there with plain Node. So `pod-routes` and
// `@pulumi/pulumi` are the installed package's (the engine serializes HostRoutes' provider as
// `require("pod-routes/host-routes-provider")`), and nothing from the repository's sources is loaded: only
// type imports may name it.
//   node engine-driver.js <config.json> <up|refresh|destroy>
// Prints one JSON line: the operation's DriverResult.
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";

/** What bench/engine.ts (engineBench) writes for the driver. */
export interface DriverConfig {
  /** The engine's working directory: inside the consumer directory, so its node_modules is the package's. */
  readonly dir: string;
  readonly stackName: string;
  /** The Pulumi CLI and the dynamic-provider shim. */
  readonly toolsBin: string;
  readonly privateKeyFile: string;
  readonly nodes: readonly { name: string; ip: string; hostKey: string; podCidr?: string }[];
  /** Automation API `parallel` (the CLI's --parallel); absent: the engine's default. */
  readonly parallel?: number;
  /** More environment for the engine and the providers it starts (e.g. PULUMI_SKIP_CHECKPOINTS). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Profiles the operation: the engine's events (which make the CLI write an event log and this process
   * read it) and the CPU time of this process's descendants (the CLI, the provider), sampled every 50 ms.
   * Both cost time themselves, so a profiled operation is not one of the measured ones.
   */
  readonly profile?: boolean;
}

/** A profiled operation: where its time and CPU went. */
export interface DriverProfile {
  /** From the start: the engine's first HostRoutes step, and the most HostRoutes steps in flight at once. */
  readonly firstStepMs: number | null;
  readonly maxInFlight: number;
  /**
   * CPU ms: `driver` (this process: the inline program), `pulumi` (the CLI), `provider` (the dynamic
   * provider), `other` (the shim's shell and its `node -e`), and `machine` (all processes: the lab's sshd and
   * host scripts too).
   */
  readonly cpuMs: Record<string, number>;
}

export interface DriverResult {
  readonly op: string;
  /**
   * Wall time of the operation: the Automation API call, which runs the CLI's operation (`pulumi up`: the
   * engine, the program, the providers) and then `pulumi stack output` and `pulumi stack history` for its
   * result.
   */
  readonly ms: number;
  /** The CLI's operation alone (`pulumi up --yes --skip-preview`, `pulumi refresh …`, `pulumi destroy …`). */
  readonly cliMs: number;
  /** How long `require("pod-routes")` took in this process (before the operation, not in `ms`). */
  readonly requireMs: number;
  /** SSH sessions the provider opened (lines in POD_ROUTES_SSH_LOG). */
  readonly sessions: number;
  readonly changes: Record<string, number>;
  /** From the start of the operation: the first and the last SSH session the provider opened. */
  readonly firstSessionMs: number | null;
  readonly lastSessionMs: number | null;
  /** Where the last SSH session went (`user@address:port`). */
  readonly lastSessionTarget: string | null;
  /** CPU time: this process (the inline program), and the CLI and the providers it started (reaped). */
  readonly driverCpuMs: number;
  readonly childrenCpuMs: number;
  /** Share of the machine's CPU time that was busy during the operation (all processes, sshd too). */
  readonly machineBusy: number;
  readonly profile?: DriverProfile;
}

/** utime + stime of the reaped children of this process, in ms (/proc/self/stat fields 16 and 17). */
function childrenCpuMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): cutime and cstime are fields 16 and 17.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

/** Busy and total jiffies of the machine (/proc/stat's cpu line). */
function machineJiffies(): { busy: number; total: number } {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((s, v) => s + v, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU ms (utime + stime, at 100 clock ticks a second) and kind of every process below `root`. */
function descendants(root: number): Map<number, { cpuMs: number; kind: string }> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(entry), Number(fields[1]));
      comm.set(Number(entry), stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      cpu.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // gone
    }
  }
  const found = new Map<number, { cpuMs: number; kind: string }>();
  for (const [pid, cpuMs] of cpu) {
    let p: number | undefined = pid;
    while (p !== undefined && p > 1 && p !== root) p = parent.get(p);
    if (p !== root || pid === root) continue;
    let kind = comm.get(pid) === "pulumi" ? "pulumi" : "other";
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("dynamic-provider")) kind = "provider";
    } catch {
      // gone
    }
    found.set(pid, { cpuMs, kind });
  }
  return found;
}

/** Samples descendants until stopped; returns the last CPU time seen of each, summed by kind. */
function cpuSampler(): () => Record<string, number> {
  const seen = new Map<number, { cpuMs: number; kind: string }>();
  const sample = () => {
    for (const [pid, v] of descendants(process.pid)) {
      const kind = seen.get(pid)?.kind === "provider" ? "provider" : v.kind;
      seen.set(pid, { cpuMs: v.cpuMs, kind });
    }
  };
  const timer = setInterval(sample, 50);
  return () => {
    clearInterval(timer);
    const byKind: Record<string, number> = {};
    for (const { cpuMs, kind } of seen.values()) byKind[kind] = (byKind[kind] ?? 0) + cpuMs;
    return byKind;
  };
}

async function main(): Promise<void> {
  const [configFile = "", op = "up"] = process.argv.slice(2);
  const loading = process.hrtime.bigint();
  const { ssh } = await import("pod-routes");
  const requireMs = Math.round(Number(process.hrtime.bigint() - loading) / 1e6);
  const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as DriverConfig;
  const { dir } = config;
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  fs.mkdirSync(path.join(dir, "home"), { recursive: true });
  const sessionLog = path.join(dir, "ssh-sessions.log");
  fs.writeFileSync(sessionLog, "");
  // The engine and the providers it starts: the built CLI and shim, and this Node (22).
  process.env["PATH"] = [config.toolsBin, path.dirname(process.execPath), process.env["PATH"]].join(":");
  const privateKey = fs.readFileSync(config.privateKeyFile, "utf8");
  const program = async () => {
    const routes = new ssh.PodRoutes("pod-routes", {
      privateKey,
      nodes: config.nodes.map((n) => ({ ...n })),
    });
    return { hosts: routes.hosts };
  };
  // The CLI, with each of its runs timed (PulumiCommand.run is internal to the Automation API).
  const pulumiCommand = await PulumiCommand.get();
  const cli = pulumiCommand as unknown as { run: (args: string[], ...rest: unknown[]) => Promise<unknown> };
  const runCli = cli.run.bind(pulumiCommand);
  const cliRuns: { command: string; ms: number }[] = [];
  cli.run = async (args, ...rest) => {
    const t = Date.now();
    try {
      return await runCli(args, ...rest);
    } finally {
      cliRuns.push({ command: args[0] ?? "", ms: Date.now() - t });
    }
  };
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: config.stackName, projectName: "pod-routes", program },
    {
      workDir: dir,
      pulumiCommand,
      projectSettings: { name: "pod-routes", runtime: "nodejs", backend: { url: `file://${dir}/state` } },
      envVars: {
        PULUMI_HOME: path.join(dir, "home"),
        PULUMI_CONFIG_PASSPHRASE: "pod-routes-bench",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        POD_ROUTES_SSH_LOG: sessionLog,
        ...config.env,
      },
    },
  );

  let start = 0;
  let firstStep: number | null = null;
  let inFlight = 0;
  let maxInFlight = 0;
  const onEvent = (event: EngineEvent) => {
    if (event.resourcePreEvent && event.resourcePreEvent.metadata.type.endsWith("HostRoutes")) {
      firstStep ??= Date.now() - start;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
    if (event.resOutputsEvent && event.resOutputsEvent.metadata.type.endsWith("HostRoutes")) inFlight -= 1;
  };
  const options = {
    ...(config.profile ? { onEvent } : {}),
    ...(config.parallel !== undefined ? { parallel: config.parallel } : {}),
  };
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  const machine0 = machineJiffies();
  const stopSampler = config.profile ? cpuSampler() : undefined;
  cliRuns.length = 0;
  start = Date.now();
  let changes: Record<string, number> | undefined;
  if (op === "up") changes = (await stack.up(options)).summary.resourceChanges;
  else if (op === "refresh") changes = (await stack.refresh(options)).summary.resourceChanges;
  else if (op === "destroy") changes = (await stack.destroy(options)).summary.resourceChanges;
  else throw new Error(`unknown operation ${op}`);
  const ms = Date.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineJiffies();
  const byProcess = stopSampler?.();
  // One line per session: `<ISO time> <user@address:port> <command>`.
  const sessions = fs
    .readFileSync(sessionLog, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [time = "", target = ""] = line.split(" ");
      return { ms: Date.parse(time) - start, target };
    })
    .sort((a, b) => a.ms - b.ms);
  const times = sessions.map((s) => s.ms);
  const result: DriverResult = {
    op,
    ms,
    cliMs: cliRuns.find((r) => r.command === op)?.ms ?? -1,
    requireMs,
    sessions: times.length,
    changes: changes ?? {},
    firstSessionMs: times.length > 0 ? Math.min(...times) : null,
    lastSessionMs: times.length > 0 ? Math.max(...times) : null,
    lastSessionTarget: sessions[sessions.length - 1]?.target ?? null,
    driverCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    childrenCpuMs: Math.round(childrenCpuMs() - children0),
    machineBusy:
      Math.round(((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100) /
      100,
    ...(byProcess
      ? {
          profile: {
            firstStepMs: firstStep,
            maxInFlight,
            cpuMs: {
              driver: Math.round((cpu.user + cpu.system) / 1000),
              ...byProcess,
              machine: ((machine1.busy - machine0.busy) * 1000) / 100,
            },
          },
        }
      : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
