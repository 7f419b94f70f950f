// `npm run bench`: measures pod-routes and writes bench/results.json, then bench/RESULTS.md from it
// (bench/report.ts writes the prose and judges the targets; this file only measures).
//   npm run bench                 everything (as root: the lab needs network namespaces)
//   npm run bench -- --quick      smaller sizes, for trying the bench itself
//   npm run bench -- --render     RESULTS.md again from results.json (after a change to report.ts)
// Program evaluation runs in plain Node child processes (one per measurement, so peak memory is its own);
// the lab sections run real sshd in network namespaces, and the `pulumi` sections the CLI itself.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT, requireLabUp, requireRoot } from "../lab/lab";
import { requireCli } from "../lab/pulumi-cli";
import { TOOLS_BIN } from "../lab/tools";
import { MAX_ROUTES_PER_HOST } from "../ssh/plan";
import { ROUTE_PROTO } from "../ssh/host-program/render";
import { ansibleVersion, installAnsible } from "./ansible";
import { cliBench, CliRun, startupBench, StartupResults } from "./cli";
import { hostScripts, resetRoutes, runbook, ssh, timed, withLab } from "./helpers";
import { markdown } from "./report";

const NODE = process.execPath;
const quick = process.argv.includes("--quick");

export interface ProgramRun {
  stack: string;
  nodes: number;
  ms: number;
  maxRssMb: number;
  resources: number;
}

export interface LabApply {
  hosts: number;
  routes: number;
  podRoutesMs: number;
  rerunMs: number;
  runbookMs: number;
  byHandMs: number;
  failures: string[];
}

export interface Insertion {
  routes: number;
  batchMs: number;
  oneByOneMs: number;
}

export interface Results {
  date: string;
  quick: boolean;
  /** Wall time of the whole `npm run bench`, ms. */
  totalMs: number;
  machine: { cpus: number; memoryGb: number; node: string };
  /** The machine's 1-minute load average as each section started (other work on it shows here). */
  load: Record<string, number>;
  /** Lab sections started over because an attempt failed (another run on this machine took the lab down). */
  restarts: string[];
  pulumiVersion: string;
  ansibleVersion: string;
  startup: StartupResults;
  cli: CliRun[];
  program: ProgramRun[];
  slopes: Record<string, number>;
  lab: LabApply[];
  insert: Insertion[];
}

function measureProgram(stack: string, nodes: number): ProgramRun {
  const out = execFileSync(
    NODE,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "program.ts"), stack, String(nodes)],
    {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 26,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    },
  );
  const last = out.trim().split("\n").pop() ?? "{}";
  return JSON.parse(last) as ProgramRun;
}

/** Least-squares slope of ms over nodes: the cost of one more node. */
function slope(runs: ProgramRun[]): number {
  const n = runs.length;
  const mx = runs.reduce((s, r) => s + r.nodes, 0) / n;
  const my = runs.reduce((s, r) => s + r.ms, 0) / n;
  const num = runs.reduce((s, r) => s + (r.nodes - mx) * (r.ms - my), 0);
  const den = runs.reduce((s, r) => s + (r.nodes - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** pod-routes' host scripts over SSH without the engine, beside the runbook and one `ssh` per route. */
async function labApply(hosts: number): Promise<LabApply> {
  return withLab(hosts, async (lab, spec) => {
    const scripts = hostScripts(spec);
    const failures: string[] = [];
    const check = (code: number, what: string) => code === 0 || failures.push(what);
    requireLabUp(lab, "running the host scripts");
    // pod-routes: one session per host, ip -batch, hosts in parallel.
    const podRoutes = await timed(async () => {
      const codes = await Promise.all(scripts.map((s) => ssh(lab, s.host.name, ["sh", "-s"], s.apply)));
      codes.forEach((c, i) => check(c, `pod-routes apply on ${scripts[i]!.host.name}`));
    });
    const rerun = await timed(async () => {
      const codes = await Promise.all(scripts.map((s) => ssh(lab, s.host.name, ["sh", "-s"], s.apply)));
      codes.forEach((c, i) => check(c, `pod-routes re-run on ${scripts[i]!.host.name}`));
    });
    for (const s of scripts) check(await ssh(lab, s.host.name, ["sh", "-s"], s.remove), "remove");
    resetRoutes(lab);
    // The runbook: one ssh per host, its ip route add lines in sequence, host after host.
    requireLabUp(lab, "running the runbook's loop");
    const runbookMs = await runbook(lab, scripts, check);
    resetRoutes(lab);
    // By hand: one ssh … ip route add per route.
    requireLabUp(lab, "adding routes by hand");
    const byHand = await timed(async () => {
      for (const s of scripts) {
        for (const r of s.plan.routes)
          check(
            await ssh(lab, s.host.name, ["ip", "route", "add", r.destination, "via", r.nextHop]),
            "by hand",
          );
      }
    });
    resetRoutes(lab);
    const routes = scripts.reduce((n, s) => n + s.plan.routes.length, 0);
    return { hosts, routes, podRoutesMs: podRoutes, rerunMs: rerun, runbookMs, byHandMs: byHand, failures };
  });
}

function insertion(routes: number): Insertion {
  const ns = "prl-bench-insert";
  const run = (args: string[], input?: string) => {
    const r = spawnSync("ip", ["netns", "exec", ns, ...args], { input, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  };
  spawnSync("ip", ["netns", "del", ns]);
  execFileSync("ip", ["netns", "add", ns]);
  try {
    run(["ip", "link", "add", "bench0", "type", "veth", "peer", "name", "bench1"]);
    run(["ip", "addr", "add", "192.0.2.1/24", "dev", "bench0"]);
    run(["ip", "link", "set", "bench0", "up"]);
    run(["ip", "link", "set", "bench1", "up"]);
    const dests = Array.from({ length: routes }, (_, i) => `10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`);
    const batch = dests.map((d) => `route replace ${d} via 192.0.2.2 proto ${ROUTE_PROTO}`).join("\n");
    let start = process.hrtime.bigint();
    run(["ip", "-batch", "-"], batch);
    const batchMs = Number(process.hrtime.bigint() - start) / 1e6;
    run(["ip", "route", "flush", "proto", String(ROUTE_PROTO)]);
    const script = dests.map((d) => `ip route add ${d} via 192.0.2.2 proto ${ROUTE_PROTO}`).join("\n");
    start = process.hrtime.bigint();
    run(["sh", "-e", "-s"], script);
    const oneByOneMs = Number(process.hrtime.bigint() - start) / 1e6;
    return { routes, batchMs: Math.round(batchMs), oneByOneMs: Math.round(oneByOneMs) };
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}

async function main() {
  const started = Date.now();
  requireRoot();
  requireCli();
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
  const load: Record<string, number> = {};
  const section = (name: string) => {
    load[name] = Math.round(os.loadavg()[0]! * 100) / 100;
    log(`${name} (load average ${load[name]})`);
  };
  // The lab is one per machine and other runs share it: one whose lab.sh predates the owner check takes
  // every lab down. A lab section that fails is started over on a new lab, up to three attempts.
  const restarts: string[] = [];
  const attempts = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const first = (error instanceof Error ? error.message : String(error))
          .split("\n")
          .slice(0, 3)
          .join(" ");
        if (attempt >= 3) throw error;
        restarts.push(`${name}: ${first}`);
        log(`${name}: attempt ${attempt} failed, starting over on a new lab: ${first}`);
      }
    }
  };
  const playbook = installAnsible();
  const ansible = ansibleVersion(playbook);
  const pulumiVersion = execFileSync(path.join(TOOLS_BIN, "pulumi"), ["version"], {
    encoding: "utf8",
  }).trim();

  // Start-up: `pulumi preview` of the 3-host stack against an empty program's.
  section("start-up");
  const startup = await attempts("start-up", async () => {
    const startupDir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-bench-startup-"));
    try {
      return await startupBench(startupDir, quick ? 2 : 5, quick ? 1 : 2, log);
    } finally {
      fs.rmSync(startupDir, { recursive: true, force: true });
    }
  });

  // `pulumi` at N lab hosts, beside the runbook, Ansible and the engine's floor.
  const cli: CliRun[] = [];
  for (const hosts of quick ? [5, 10] : [30, 100]) {
    section(`pulumi at ${hosts} hosts`);
    cli.push(await attempts(`pulumi at ${hosts} hosts`, () => cliBench(hosts, playbook, ansible, log)));
  }

  // Program evaluation under mocks.
  section("program evaluation");
  const sizes = quick ? [3, 100] : [3, 100, 1000];
  const program: ProgramRun[] = [];
  // Host routes are a full mesh, N hosts × (N−1) routes: the bare-metal stack runs up to the SSH path's
  // limit (every host taking MAX_ROUTES_PER_HOST routes).
  const meshSizes = [
    ...sizes.filter((n) => n <= MAX_ROUTES_PER_HOST),
    ...(quick ? [] : [MAX_ROUTES_PER_HOST + 1]),
  ];
  for (const stack of ["floor", "gcp", "aws", "baremetal"]) {
    for (const nodes of stack === "baremetal" ? meshSizes : sizes) {
      const run = measureProgram(stack, nodes);
      log(`program ${stack} ${nodes} nodes: ${run.ms} ms, ${run.maxRssMb} MB, ${run.resources} resources`);
      program.push(run);
    }
  }

  // The host scripts over SSH, without the engine; route insertion on one host.
  section("host scripts");
  const lab: LabApply[] = [];
  for (const hosts of quick ? [3] : [3, 10]) {
    const r = await attempts(`host scripts at ${hosts} hosts`, () => labApply(hosts));
    log(
      `lab ${hosts} hosts: pod-routes ${r.podRoutesMs} ms, re-run ${r.rerunMs} ms, runbook ${r.runbookMs} ms, by hand ${r.byHandMs} ms`,
    );
    lab.push(r);
  }
  const insert = (quick ? [1000] : [1000, 10000]).map((n) => {
    const r = insertion(n);
    log(`insert ${n} routes: ip -batch ${r.batchMs} ms, one ip route add each ${r.oneByOneMs} ms`);
    return r;
  });

  const results: Results = {
    date: new Date().toISOString(),
    quick,
    totalMs: Date.now() - started,
    machine: { cpus: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    load,
    restarts,
    pulumiVersion,
    ansibleVersion: ansible,
    startup,
    cli,
    program,
    slopes: Object.fromEntries(
      ["floor", "gcp", "aws", "baremetal"].map((s) => [s, slope(program.filter((r) => r.stack === s))]),
    ),
    lab,
    insert,
  };
  fs.writeFileSync(path.join(__dirname, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(__dirname, "RESULTS.md"), markdown(results));
  log(`bench: wrote bench/results.json and bench/RESULTS.md in ${Math.round(results.totalMs / 1000)} s`);
  const failures = [...lab.flatMap((l) => l.failures), ...cli.flatMap((r) => r.failures)];
  if (failures.length > 0) throw new Error(`some lab steps failed: ${failures.join(", ")}`);
}

/** `npm run bench -- --render`: rewrites RESULTS.md from results.json (after a change to report.ts). */
function render(): void {
  const results = JSON.parse(fs.readFileSync(path.join(__dirname, "results.json"), "utf8")) as Results;
  fs.writeFileSync(path.join(__dirname, "RESULTS.md"), markdown(results));
  console.log("bench: rewrote bench/RESULTS.md from bench/results.json");
}

if (process.argv.includes("--render")) {
  render();
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
