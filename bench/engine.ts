// The engine section of `npm run bench`: the bare-metal stack (ssh.PodRoutes, one HostRoutes per host)
// under the real Pulumi engine against lab hosts, as users run it: pod-routes installed from its `npm pack`
// tarball into an empty project, and a small compiled driver (engine-driver.ts) there that runs one
// operation through the Automation API. Beside it, on the same lab, the runbook's way of installing the same
// routes.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { hostRoutes, Lab, PROJECT_ROOT } from "../lab/lab";
import { requireEngine } from "../lab/engine";
import { TOOLS_BIN } from "../lab/tools";
import { ROUTE_PROTO } from "../ssh/scripts";
import type { DriverConfig, DriverProfile, DriverResult } from "./engine-driver";
import { hostScripts, resetRoutes, runbook, withLab } from "./helpers";

/** An empty project with pod-routes installed from its tarball, and the compiled driver. */
export interface Consumer {
  readonly dir: string;
  readonly driver: string;
  /** The tarball's size, and how long packing and installing took. */
  readonly tarballBytes: number;
  readonly installMs: number;
}

/** `npm pack` the repository and `npm install` the tarball into a fresh directory (as tests/package does). */
export function installConsumer(): Consumer {
  requireEngine();
  const start = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-bench-consumer-"));
  try {
    const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [info] = JSON.parse(packed) as { filename: string }[];
    const tarball = path.join(dir, info!.filename);
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    // From the npm cache where possible; the optional Node binary is not needed here.
    execFileSync(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", "--omit=optional", tarball],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    const source = fs.readFileSync(path.join(__dirname, "engine-driver.ts"), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
      fileName: "engine-driver.ts",
    });
    const driver = path.join(dir, "engine-driver.js");
    fs.writeFileSync(driver, outputText);
    return { dir, driver, tarballBytes: fs.statSync(tarball).size, installMs: Date.now() - start };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export function disposeConsumer(consumer: Consumer): void {
  fs.rmSync(consumer.dir, { recursive: true, force: true });
}

/** What the checkpoint holds, after the first up. */
export interface CheckpointSize {
  /** The checkpoint file, bytes on disk. */
  readonly bytes: number;
  readonly perHostBytes: number;
  /** Every HostRoutes' `routes` input, JSON-measured: the hosts' route data. */
  readonly routeBytes: number;
  /** (bytes − routeBytes) ÷ hosts: what each host costs besides its routes. */
  readonly otherPerHostBytes: number;
  /** One HostRoutes resource as the checkpoint holds it (JSON), without its routes. */
  readonly resourceBytes: number;
  /** The largest parts of that resource, `where` → bytes of JSON (e.g. `inputs.privateKey`). */
  readonly largestParts: Record<string, number>;
  /** The serialized dynamic provider (`__provider`), and whether it is the installed package's require. */
  readonly providerBytes: number;
  readonly providerIsPackageRequire: boolean;
}

interface CheckpointResource {
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

function checkpointSize(file: string, hosts: number): CheckpointSize {
  const text = fs.readFileSync(file, "utf8");
  const bytes = fs.statSync(file).size;
  const json = JSON.parse(text) as { checkpoint: { latest: { resources: CheckpointResource[] } } };
  const hostRoutes = json.checkpoint.latest.resources.filter((r) => r.type.endsWith(":HostRoutes"));
  const routeBytes = hostRoutes.reduce((n, r) => n + JSON.stringify(r.inputs?.["routes"] ?? {}).length, 0);
  // One resource, without its routes: its fields and its inputs' and outputs' properties by size.
  const sample = hostRoutes[0];
  const parts: [string, number][] = [];
  let resourceBytes = 0;
  let provider = "";
  if (sample) {
    const { routes: _routes, ...inputs } = sample.inputs ?? {};
    const rest = { ...sample, inputs };
    resourceBytes = JSON.stringify(rest).length;
    for (const [key, value] of Object.entries(rest)) {
      if ((key === "inputs" || key === "outputs") && typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) parts.push([`${key}.${k}`, JSON.stringify(v).length]);
      } else parts.push([key, JSON.stringify(value).length]);
    }
    provider = String(sample.inputs?.["__provider"] ?? "");
  }
  parts.sort((a, b) => b[1] - a[1]);
  return {
    bytes,
    perHostBytes: Math.round(bytes / hosts),
    routeBytes,
    otherPerHostBytes: Math.round((bytes - routeBytes) / hosts),
    resourceBytes,
    largestParts: Object.fromEntries(parts.slice(0, 6)),
    providerBytes: provider.length,
    providerIsPackageRequire: provider.includes('require("pod-routes/host-routes-provider")'),
  };
}

/**
 * A variant of the engine's run, measured apart from the plain one: profiled (engine events and CPU by
 * process, which cost time themselves), or with an engine option set (the Automation API's `parallel`, or
 * an environment variable of the CLI's).
 */
export interface Variant {
  readonly label: string;
  readonly parallel?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly profile?: boolean;
}

/** A variant's first up, removing one node, and destroy. */
export interface VariantRun extends Variant {
  readonly up: DriverResult;
  readonly removeNode: DriverResult;
  readonly destroy: DriverResult;
}

export interface EngineRun {
  readonly hosts: number;
  readonly routes: number;
  /** The runbook's way on the same lab, in the same run: one ssh per host, host after host. */
  readonly runbookMs: number;
  /** The address of the host whose node is removed. */
  readonly removedAddress: string;
  /** The plain run: the engine's defaults, no profiling. */
  readonly up: DriverResult;
  readonly noChangeUp: DriverResult;
  readonly refresh: DriverResult;
  /** One worker fewer: its HostRoutes is deleted, every other host's is updated (one route fewer). */
  readonly removeNode: DriverResult;
  readonly destroy: DriverResult;
  readonly checkpoint: CheckpointSize;
  readonly variants: VariantRun[];
  readonly failures: string[];
}

/** pod-routes' routes on every host, by count. */
function routeCounts(lab: Lab): Record<string, number> {
  return Object.fromEntries(
    lab.hosts.map((h) => [h.name, hostRoutes(lab, h.name, "proto", String(ROUTE_PROTO)).length]),
  );
}

/** The variants the bench runs at `hosts` hosts beside the plain run. */
export function variantsFor(hosts: number): Variant[] {
  return [
    { label: "defaults, again" },
    { label: "profiled", profile: true },
    { label: `parallel ${hosts}`, parallel: hosts },
    { label: "PULUMI_SKIP_CHECKPOINTS=true", env: { PULUMI_SKIP_CHECKPOINTS: "true" } },
  ];
}

/**
 * The engine's operations on a lab of `hosts` hosts, after the runbook's way on the same lab: first up, an
 * up that changes nothing, refresh, removing one worker, destroy; then each variant's first up, removal and
 * destroy. Every step's effect on the hosts is checked; what differs is in `failures`.
 */
export async function engineBench(
  consumer: Consumer,
  hosts: number,
  variants: readonly Variant[],
  log: (line: string) => void,
): Promise<EngineRun> {
  return withLab(hosts, async (lab, spec) => {
    const failures: string[] = [];
    const check = (code: number, what: string) => code === 0 || failures.push(what);
    const expect = (what: string, actual: unknown, expected: unknown) => {
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        failures.push(
          `${hosts} hosts, ${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
        );
      }
    };
    const scripts = hostScripts(spec);
    const routes = scripts.reduce((n, s) => n + s.plan.routes.length, 0);

    // The runbook, first, on clean hosts; then the hosts are clean again.
    const runbookMs = await runbook(lab, scripts, check);
    log(`engine ${hosts} hosts: runbook ${runbookMs} ms`);
    resetRoutes(lab);

    const engineDir = fs.mkdtempSync(path.join(consumer.dir, `engine-${hosts}-`));
    const configFile = path.join(engineDir, "driver.json");
    const nodes = lab.hosts.map((h) => ({
      name: h.name,
      ip: h.ip,
      hostKey: h.hostKey,
      ...(h.podCidr !== undefined ? { podCidr: h.podCidr } : {}),
    }));
    const run = (
      op: "up" | "refresh" | "destroy",
      label: string,
      count: number,
      variant: Variant = { label: "" },
    ): DriverResult => {
      const config: DriverConfig = {
        dir: engineDir,
        stackName: "bench",
        toolsBin: TOOLS_BIN,
        privateKeyFile: lab.clientKey,
        nodes: nodes.slice(0, count),
        ...(variant.parallel !== undefined ? { parallel: variant.parallel } : {}),
        ...(variant.env !== undefined ? { env: variant.env } : {}),
        ...(variant.profile ? { profile: true } : {}),
      };
      fs.writeFileSync(configFile, JSON.stringify(config));
      const r = spawnSync(process.execPath, [consumer.driver, configFile, op], {
        cwd: consumer.dir,
        encoding: "utf8",
        timeout: 30 * 60_000,
        maxBuffer: 1 << 26,
      });
      const what = `engine ${hosts} hosts, ${variant.label ? `${variant.label}: ` : ""}${label}`;
      if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}${r.error ?? ""}`);
      const result = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as DriverResult;
      const p = result.profile;
      log(
        `${what}: ${result.ms} ms (pulumi ${op} ${result.cliMs} ms), ${result.sessions} SSH sessions, ${JSON.stringify(result.changes)}, CPU busy ${Math.round(result.machineBusy * 100)}%` +
          (p
            ? ` (first step at ${p.firstStepMs} ms, at most ${p.maxInFlight} in flight, CPU ms ${JSON.stringify(p.cpuMs)})`
            : ""),
      );
      return result;
    };
    const all = (n: number) => Object.fromEntries(lab.hosts.map((h) => [h.name, n]));
    const others = hosts - 1;
    const removed = lab.hosts[hosts - 1]!.name;
    const removedAddress = lab.hosts[hosts - 1]!.ip;
    const upAndCheck = (label: string, variant?: Variant) => {
      const up = run("up", "first up", hosts, variant);
      expect(`${label}first up`, up.changes, { create: hosts + 2 });
      expect(`${label}sessions of the first up`, up.sessions, hosts);
      expect(`${label}routes after the first up`, routeCounts(lab), all(hosts - 1));
      return up;
    };
    const removeAndCheck = (label: string, variant?: Variant) => {
      const removal = run("up", "remove one node", others, variant);
      expect(`${label}remove one node`, removal.changes, { delete: 1, same: 2, update: others });
      expect(`${label}sessions of removing one node`, removal.sessions, hosts);
      expect(`${label}routes after removing one node`, routeCounts(lab), {
        ...all(others - 1),
        [removed]: 0,
      });
      return removal;
    };
    const destroyAndCheck = (label: string, variant?: Variant) => {
      const destroy = run("destroy", "destroy", others, variant);
      expect(`${label}destroy`, destroy.changes, { delete: others + 2 });
      expect(`${label}routes after destroy`, routeCounts(lab), all(0));
      return destroy;
    };
    try {
      const up = upAndCheck("");
      const checkpoint = checkpointSize(
        path.join(engineDir, "state", ".pulumi", "stacks", "pod-routes", "bench.json"),
        hosts,
      );
      if (!checkpoint.providerIsPackageRequire) {
        failures.push(
          `${hosts} hosts: HostRoutes' provider is not serialized as the installed package's require`,
        );
      }
      log(
        `engine ${hosts} hosts: checkpoint ${checkpoint.bytes} bytes, ${checkpoint.perHostBytes} per host, ${checkpoint.otherPerHostBytes} per host besides route data (provider ${checkpoint.providerBytes} bytes)`,
      );
      const noChangeUp = run("up", "no-change up", hosts);
      expect("no-change up", noChangeUp.changes, { same: hosts + 2 });
      expect("sessions of the no-change up", noChangeUp.sessions, 0);
      const refresh = run("refresh", "refresh", hosts);
      expect("refresh", refresh.changes, { same: hosts + 2 });
      expect("sessions of the refresh", refresh.sessions, hosts);
      const removeNode = removeAndCheck("");
      const destroy = destroyAndCheck("");
      const variantRuns: VariantRun[] = variants.map((variant) => {
        const label = `${variant.label}: `;
        return {
          ...variant,
          up: upAndCheck(label, variant),
          removeNode: removeAndCheck(label, variant),
          destroy: destroyAndCheck(label, variant),
        };
      });
      return {
        hosts,
        routes,
        runbookMs,
        removedAddress,
        up,
        noChangeUp,
        refresh,
        removeNode,
        destroy,
        checkpoint,
        variants: variantRuns,
        failures,
      };
    } finally {
      fs.rmSync(engineDir, { recursive: true, force: true });
    }
  });
}

/** What the engine section stores in results.json. */
export interface EngineResults {
  readonly consumer: { readonly tarballBytes: number; readonly installMs: number };
  readonly pulumiVersion: string;
  readonly runs: EngineRun[];
}

const CHECKPOINT_LIMIT = 1_000_000;
const OTHER_PER_HOST_LIMIT = 5_000;

const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const pct = (a: number, b: number) => `${Math.round((a / b - 1) * 100)}%`;
/** `ms (CLI's operation ms)`. */
const both = (r: DriverResult) => `${r.ms} (${r.cliMs})`;
const sessionSpan = (r: DriverResult) =>
  r.firstSessionMs === null ? "none" : `${r.firstSessionMs}–${r.lastSessionMs} ms`;
/** CPU of the rest of the machine: everything but the driver, the CLI, the provider and the shim. */
const restOfMachine = (cpu: Record<string, number>) =>
  Math.round(
    (cpu["machine"] ?? 0) -
      (cpu["driver"] ?? 0) -
      (cpu["pulumi"] ?? 0) -
      (cpu["provider"] ?? 0) -
      (cpu["other"] ?? 0),
  );
const cpuSplit = (p: DriverProfile | undefined) =>
  p === undefined
    ? "not profiled"
    : `the program (the driver process) ${p.cpuMs["driver"]} ms, the Pulumi CLI ${p.cpuMs["pulumi"]} ms, the provider ${p.cpuMs["provider"]} ms, and the rest of the machine ${restOfMachine(p.cpuMs)} ms`;

/** The engine section of RESULTS.md, targets judged from its own numbers. */
export function engineMarkdown(engine: EngineResults, cpus: number): string[] {
  const runs = engine.runs;
  const cell = (r: DriverResult | undefined, plain: DriverResult) =>
    r === undefined ? "—" : `${both(r)} | ${x(r.ms, plain.ms)}`;
  const mainRows = runs.map(
    (r) =>
      `| ${r.hosts} | ${r.routes} | ${r.runbookMs} | ${both(r.up)} | ${x(r.runbookMs, r.up.ms)} | ${both(r.noChangeUp)} | ${both(r.refresh)} | ${both(r.removeNode)} | ${both(r.destroy)} |`,
  );
  const sessionRows = runs.map(
    (r) =>
      `| ${r.hosts} | ${r.up.sessions} | ${r.noChangeUp.sessions} | ${r.refresh.sessions} | ${r.removeNode.sessions} | ${r.destroy.sessions} |`,
  );
  const checkpointRows = runs.map(
    (r) =>
      `| ${r.hosts} | ${r.checkpoint.bytes} | ${r.checkpoint.perHostBytes} | ${r.checkpoint.routeBytes} | ${r.checkpoint.otherPerHostBytes} | ${r.checkpoint.resourceBytes} | ${r.checkpoint.providerBytes}${r.checkpoint.providerIsPackageRequire ? "" : " (**not the package's require**)"} |`,
  );
  const variantRows = runs.flatMap((r) =>
    r.variants.map(
      (v) =>
        `| ${r.hosts} | ${v.label} | ${cell(v.up, r.up)} | ${cell(v.removeNode, r.removeNode)} | ${cell(v.destroy, r.destroy)} |`,
    ),
  );
  const profileRows = runs.flatMap((r) => {
    const v = findVariant(r, (variant) => variant.profile === true);
    if (!v) return [];
    return (
      [
        ["first up", v.up],
        ["remove one node", v.removeNode],
        ["destroy", v.destroy],
      ] as const
    ).map(([op, d]) => {
      const p = d.profile;
      return `| ${r.hosts} | ${op} | ${both(d)} | ${p?.firstStepMs ?? "—"} | ${sessionSpan(d)} | ${p?.maxInFlight ?? "—"} | ${p?.cpuMs["driver"] ?? "—"} | ${p?.cpuMs["pulumi"] ?? "—"} | ${p?.cpuMs["provider"] ?? "—"} | ${p ? restOfMachine(p.cpuMs) : "—"} | ${Math.round(d.machineBusy * 100)}% |`;
    });
  });
  const largest = runs[runs.length - 1]?.checkpoint;
  return [
    "## The SSH stack under the real Pulumi engine (lab hosts)",
    "",
    `The bare-metal stack as users run it: pod-routes installed from its \`npm pack\` tarball (${Math.round((engine.consumer.tarballBytes / 1024) * 10) / 10} KB; packed and installed in ${(engine.consumer.installMs / 1000).toFixed(1)} s) into an empty project, where a small compiled driver (bench/engine-driver.ts) runs the program \`new ssh.PodRoutes("pod-routes", { privateKey, nodes })\` — one HostRoutes per host, a dynamic provider that installs the host's routes over SSH — inline through the Automation API, with the Pulumi CLI ${engine.pulumiVersion} and a file backend, against N lab hosts (one network namespace and a real sshd each). Every operation is a fresh driver process. Its time is the Automation API call, which runs the CLI's operation (\`pulumi up --yes --skip-preview\`, \`pulumi refresh\`, \`pulumi destroy\`) and then \`pulumi stack output\` and \`pulumi stack history\` for its result; the CLI's operation alone is in parentheses. The engine runs with its defaults (no \`--parallel\`).`,
    "",
    "The runbook's way, on the same lab in the same run just before the engine: one `ssh` per host with its `ip route add` lines, host after host. Removing one node drops the last worker: its host's HostRoutes is deleted and every other host's is updated (one route fewer). Every step is checked on the hosts (`ip route`) and in the engine's summary.",
    "",
    "Times in ms, the CLI's operation alone in parentheses:",
    "",
    "| hosts | routes | runbook | first up | runbook ÷ first up | no-change up | refresh | remove one node | destroy |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...mainRows,
    "",
    "SSH sessions the provider opened (one line each in `POD_ROUTES_SSH_LOG`):",
    "",
    "| hosts | first up | no-change up | refresh | remove one node | destroy |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...sessionRows,
    "",
    "The checkpoint after the first up, in bytes: the file on disk; the hosts' route data (every HostRoutes' `routes` input, JSON-measured as the file stores it); what each host costs besides its routes ((file − route data) ÷ hosts); one HostRoutes resource without its routes; and the serialized provider (`__provider`, stored in its inputs and its outputs), which for the installed package is a `require(\"pod-routes/host-routes-provider\")`.",
    "",
    "| hosts | checkpoint | per host | route data | per host besides route data | one HostRoutes without routes | provider |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...checkpointRows,
    "",
    ...(largest
      ? [
          `The largest parts of one HostRoutes besides its routes, in JSON bytes: ${Object.entries(
            largest.largestParts,
          )
            .map(([k, v]) => `\`${k}\` ${v}`)
            .join(
              ", ",
            )}. The secrets (\`privateKey\`) are ciphertext, in the inputs and again in the outputs (read and delete get only the outputs); \`stackTrace\` and \`sourcePosition\` are the engine's record of where the program registered the resource.`,
          "",
        ]
      : []),
    "### Engine options and profiles",
    "",
    "Each variant runs a first up, removing one node and destroy again on the same lab (ms, the CLI's operation alone in parentheses, and ÷ the plain run above). `defaults, again` repeats the plain run: how far it lands from the plain one is this machine's run-to-run variation. `profiled` reads the engine's events and samples the CPU time of the driver's processes every 50 ms, which costs time itself; `parallel N` sets the Automation API's `parallel` (`pulumi up --parallel N`); `PULUMI_SKIP_CHECKPOINTS=true` makes the engine write the checkpoint once at the end instead of after every step (experimental: an update that is interrupted loses what it did).",
    "",
    "| hosts | variant | first up | ÷ plain | remove one node | ÷ plain | destroy | ÷ plain |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...variantRows,
    "",
    `The profiled runs: when the first HostRoutes step began and the SSH sessions started (ms after the start), the most HostRoutes steps in flight at once, and CPU ms by process — the driver (the inline program and the Automation API), the Pulumi CLI (the engine), the dynamic provider (HostRoutes over ssh2), and the rest of the machine: the lab's sshd and host scripts, which here share this machine's ${cpus} cores with the engine (real hosts run them on their own), and anything else that ran.`,
    "",
    "| hosts | operation | ms | first step at | SSH sessions started | most in flight | CPU: driver | CLI | provider | rest of machine | machine busy |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...profileRows,
    "",
    ...engineTargets(runs, cpus),
  ];
}

/** The issue's targets for the engine, judged from this run, with what explains a miss. */
function engineTargets(runs: EngineRun[], cpus: number): string[] {
  const at = (hosts: number) => runs.find((r) => r.hosts === hosts);
  const notMeasured = (what: string, hosts: number) =>
    `- ${what}: not measured in this run (no ${hosts}-host lab; \`--quick\`).`;
  const verdict = (met: boolean) => (met ? "met" : "**not met**");
  const lines: string[] = ["Targets:", ""];

  const r30 = at(30);
  if (!r30) lines.push(notMeasured("First up at 30 hosts at least 3× faster than the runbook's way", 30));
  else {
    const ratio = r30.runbookMs / r30.up.ms;
    const budget = Math.round(r30.runbookMs / 3);
    let line = `- First up at 30 hosts at least 3× faster than the runbook's way: ${verdict(ratio >= 3)} — ${ratio.toFixed(2)}× (first up ${r30.up.ms} ms, \`pulumi up\` alone ${r30.up.cliMs} ms; the runbook's way ${r30.runbookMs} ms, so 3× means ${budget} ms at most).`;
    if (ratio < 3) {
      const noChange = r30.noChangeUp;
      const par = findVariant(r30, (v) => v.parallel !== undefined);
      const prof = findVariant(r30, (v) => v.profile === true);
      line += ` An up that changes nothing, and opens no SSH session at all, took ${noChange.ms} ms (\`pulumi up\` alone ${noChange.cliMs} ms), ${x(noChange.ms, budget)} that budget: the engine's own cost for this stack (the CLI, the program, the dynamic provider's process with a check and a diff per host, the checkpoint) before any host is touched${noChange.cliMs > budget ? ", and `pulumi up` alone is over the budget too" : ""}.`;
      line += ` The first up's SSH sessions started ${sessionSpan(r30.up)} after its start${prof?.up.profile ? `, at most ${prof.up.profile.maxInFlight} steps in flight (the CLI's default parallelism; the first step began at ${prof.up.profile.firstStepMs} ms)` : ""}, with the machine's CPU ${Math.round(r30.up.machineBusy * 100)}% busy.`;
      if (par) {
        const faster = par.up.ms < 0.9 * r30.up.ms;
        line += ` With \`parallel ${par.parallel}\` the first up took ${par.up.ms} ms (${x(par.up.ms, r30.up.ms)} of the plain run): ${faster ? "the default parallelism costs time here, but not enough to reach the target" : `the engine's parallelism is not what limits it, the ${cpus} cores are`}.`;
      }
      if (prof?.up.profile) {
        line += ` In the profiled first up the CPU went to ${cpuSplit(prof.up.profile)} (the lab's sshd and host scripts, on the same cores).`;
      }
      const r100 = at(100);
      if (r100) {
        line += ` At 100 hosts the first up is ${x(r100.runbookMs, r100.up.ms)} faster than the runbook's way (${r100.up.ms} against ${r100.runbookMs} ms): the engine's fixed cost weighs less there, and the runbook's way costs more per host (${r100.hosts - 1} \`ip route add\` each).`;
      }
    }
    lines.push(line);
  }

  const r100 = at(100);
  if (!r100)
    lines.push(notMeasured("Removing one node at 100 hosts no slower than the first up at 100", 100));
  else {
    const rm = r100.removeNode;
    const up = r100.up;
    // The plain run and its repeat: two samples of each, judged on their means.
    const samples = [r100, ...r100.variants.filter(isDefaults)];
    const mean = (f: (r: EngineRun | VariantRun) => number) =>
      Math.round(samples.reduce((n, r) => n + f(r), 0) / samples.length);
    const meanRm = mean((r) => r.removeNode.ms);
    const meanUp = mean((r) => r.up.ms);
    let line = `- Removing one node at 100 hosts no slower than the first up at 100: ${verdict(meanRm <= meanUp)} — ${meanRm} ms against ${meanUp} ms on average over ${samples.length} runs with the engine's defaults (${x(meanRm, meanUp)}; each: ${samples.map((r) => `${r.removeNode.ms} against ${r.up.ms} ms, \`pulumi up\` alone ${r.removeNode.cliMs} against ${r.up.cliMs} ms`).join("; ")}), with ${rm.sessions} SSH sessions against ${up.sessions}.`;
    if (meanRm > meanUp) {
      const prof = findVariant(r100, (v) => v.profile === true);
      const skip = findVariant(r100, (v) => v.env?.["PULUMI_SKIP_CHECKPOINTS"] !== undefined);
      const par = findVariant(r100, (v) => v.parallel !== undefined);
      line += ` It does as much SSH as the first up (${r100.hosts - 1} updates, one delete), and takes ${pct(meanRm, meanUp)} more time.`;
      if (prof?.up.profile && prof.removeNode.profile) {
        line += ` In the profiled runs the Pulumi CLI used ${prof.removeNode.profile.cpuMs["pulumi"]} ms of CPU for the removal against ${prof.up.profile.cpuMs["pulumi"]} ms for the first up (the provider: ${prof.removeNode.profile.cpuMs["provider"]} against ${prof.up.profile.cpuMs["provider"]} ms): the engine rewrites the whole checkpoint after every step, and during a removal it holds all ${r100.hosts} hosts from the first step on, while during a first up it grows from nothing; each update also costs a diff call to the provider.`;
      }
      if (skip) {
        line += ` With \`PULUMI_SKIP_CHECKPOINTS=true\` the removal took ${skip.removeNode.ms} ms and the first up ${skip.up.ms} ms (removal ÷ first up ${x(skip.removeNode.ms, skip.up.ms)}, against ${x(meanRm, meanUp)} without it).`;
      }
      if (par) {
        line += ` With \`parallel ${par.parallel}\`: removal ${par.removeNode.ms} ms, first up ${par.up.ms} ms.`;
      }
      if (rm.lastSessionTarget?.includes(`@${r100.removedAddress}:`)) {
        line += ` The removed host's delete was the removal's last SSH session (started at ${rm.lastSessionMs} ms of ${rm.ms}): the engine deletes what the program no longer declares only after the program has ended and the updates are done.`;
      }
    }
    lines.push(line);
  }

  if (!r30) lines.push(notMeasured("Refresh at 30 hosts within 1.5× of the first up at 30", 30));
  else {
    const ratio = r30.refresh.ms / r30.up.ms;
    let line = `- Refresh at 30 hosts within 1.5× of the first up at 30: ${verdict(ratio <= 1.5)} — ${ratio.toFixed(2)}× (refresh ${r30.refresh.ms} ms, \`pulumi refresh\` alone ${r30.refresh.cliMs} ms; first up ${r30.up.ms} ms).`;
    if (ratio > 1.5) {
      line += ` The refresh opened ${r30.refresh.sessions} SSH sessions (one read per host), started ${sessionSpan(r30.refresh)} after its start, with the machine's CPU ${Math.round(r30.refresh.machineBusy * 100)}% busy.`;
    }
    lines.push(line);
  }

  if (!r100)
    lines.push(
      notMeasured("Checkpoint at 100 hosts under 1 MB, at most 5 KB per host besides route data", 100),
    );
  else {
    const c = r100.checkpoint;
    let line = `- Checkpoint at 100 hosts under 1 MB (10⁶ bytes): ${verdict(c.bytes < CHECKPOINT_LIMIT)} — ${c.bytes} bytes (${c.routeBytes} of them route data). At most 5 KB (5,000 bytes) per host besides the hosts' route data: ${verdict(c.otherPerHostBytes <= OTHER_PER_HOST_LIMIT)} — ${c.otherPerHostBytes} bytes.`;
    if (c.bytes >= CHECKPOINT_LIMIT || c.otherPerHostBytes > OTHER_PER_HOST_LIMIT) {
      line += ` The largest parts of a HostRoutes besides its routes: ${Object.entries(c.largestParts)
        .map(([k, v]) => `\`${k}\` ${v}`)
        .join(", ")} bytes.`;
    }
    lines.push(line);
  }
  return lines;
}

/** A variant with the engine's defaults: a repeat of the plain run. */
function isDefaults(v: Variant): boolean {
  return v.parallel === undefined && v.env === undefined && !v.profile;
}

function findVariant(run: EngineRun, pred: (v: VariantRun) => boolean): VariantRun | undefined {
  return run.variants.find(pred);
}
