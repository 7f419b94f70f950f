// bench/RESULTS.md from the numbers `npm run bench` measured (bench/results.json): the tables, the targets
// judged from those numbers, and for a missed target what the same run measured about where the time went.
// Nothing here measures anything.
import type { AnsibleResults, CliRun, Op, StackOps, StartupResults } from "./cli";
import { median } from "./cli";
import type { Insertion, LabApply, ProgramRun, Results } from "./run";

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (a: number, b: number) => (b === 0 ? "—" : `${(a / b).toFixed(2)}×`);
const verdict = (met: boolean) => (met ? "met" : "**not met**");
const signed = (ms: number) => `${ms >= 0 ? "+" : "−"}${s(Math.abs(ms))}`;

/** The operations of the `pulumi` table, in order, by the command users type (`pulumi …`). */
const OPS: readonly { key: keyof Omit<StackOps, "checkpointBytes" | "routeBytes">; label: string }[] = [
  { key: "up", label: "first `up --yes`" },
  { key: "upSkip", label: "first `up --yes --skip-preview`" },
  { key: "noChangeUp", label: "no-change `up --yes`" },
  { key: "noChangeUpSkip", label: "no-change `up --yes --skip-preview`" },
  { key: "refresh", label: "`refresh --yes`" },
  { key: "removeNode", label: "one node removed, `up --yes`" },
  { key: "destroy", label: "`destroy --yes`" },
  { key: "destroyAgain", label: "`destroy --yes`, again" },
];
/** Operations judged against the floor's (the repeat of destroy only shows the run-to-run spread). */
const JUDGED = OPS.filter((o) => o.key !== "destroyAgain");
const FLOOR_TARGET = 1.3;
const STARTUP_TARGET = 1.5;

/** CPU of the rest of the machine during an operation: the lab's sshd and host scripts, and anything else. */
const restOfMachine = (op: Op) => Math.max(0, op.machineCpuMs - op.treeCpuMs);
const programCpu = (op: Op) => op.cpuMs.program;
const engineCpu = (op: Op) => op.cpuMs.cli + op.cpuMs.languageHost + op.cpuMs.other;
const sshSpan = (op: Op) =>
  op.firstSessionMs === null ? "—" : `${s(op.firstSessionMs)}–${s(op.lastSessionMs ?? op.firstSessionMs)}`;
const spans = (xs: { fromMs: number; toMs: number }[]) =>
  xs.length === 0 ? "—" : xs.map((r) => `${s(r.fromMs)}–${s(r.toMs)}`).join(", ");

/**
 * For each run of the program: how long after it started the dynamic provider's process started, which the
 * engine does when the first dynamic resource is registered (its check).
 */
function registrationDelays(op: Op): number[] {
  return op.programRuns.flatMap((prog) => {
    const prov = op.providerRuns.find((p) => p.fromMs >= prog.fromMs && p.fromMs <= prog.toMs + 200);
    return prov ? [prov.fromMs - prog.fromMs] : [];
  });
}

const opsOf = (stack: StackOps) => JUDGED.map(({ key }) => stack[key] as Op);
const medianOr = (xs: number[]) => (xs.length === 0 ? 0 : median(xs));
/** CPU per provider process, over all of a project's operations at one size. */
function providerCpuPerProcess(stack: StackOps): number {
  const ops = opsOf(stack);
  const processes = ops.reduce((n, op) => n + op.providerRuns.length, 0);
  return processes === 0 ? 0 : ops.reduce((n, op) => n + op.cpuMs.provider, 0) / processes;
}
/** From each provider process's start to the first SSH session, where an operation opened any. */
function providerToFirstSsh(op: Op): number | undefined {
  if (op.firstSessionMs === null) return undefined;
  const first = op.firstSessionMs;
  const provider = [...op.providerRuns].reverse().find((r) => r.fromMs <= first);
  return provider ? first - provider.fromMs : undefined;
}

/**
 * Why pod-routes' operations at one size take longer than the floor's, from this run's samples: the
 * program's start (to its first HostRoutes), the provider's processes, the SSH sessions and the machine.
 */
function whyLines(run: CliRun, startup: StartupResults | undefined, cores: number): string[] {
  const p = run.podRoutes;
  const f = run.floor;
  const pd = opsOf(p).flatMap(registrationDelays);
  const fd = opsOf(f).flatMap(registrationDelays);
  const programRuns = opsOf(p).reduce((n, op) => n + op.programRuns.length, 0);
  const lines: string[] = [];
  let program = `The program's start: pod-routes' program registered its first HostRoutes ${s(medianOr(pd))} after it started (median of its ${programRuns} runs in these operations), the floor's program its first resource after ${s(medianOr(fd))}: ${s(medianOr(pd) - medianOr(fd))} more for each run of the program, and \`pulumi up\` runs it twice unless \`--skip-preview\` (the preview's run, the update's).`;
  if (startup) {
    const l = startup.programLoad;
    program += ` Loading index.ts and what it imports takes ${s(l.entryMs - l.pulumiMs)} in plain Node beyond @pulumi/pulumi (which the runtime loads before any program): ${l.tsFiles} TypeScript files of pod-routes that ts-node transpiles at every run, and ${l.modules} modules in all (see Start-up).`;
  }
  lines.push(program);
  const gaps = opsOf(p).flatMap((op) => providerToFirstSsh(op) ?? []);
  let provider = `The provider: each of pod-routes' provider processes used ${s(providerCpuPerProcess(p))} of CPU on average, the floor's ${s(providerCpuPerProcess(f))}; an operation starts one for its preview and one for its update or refresh.`;
  if (startup) {
    const l = startup.providerLoad;
    provider += ` Loading HostRoutes' provider as that process does from a clone (host-routes.ts' shim: ts-node, then ssh/provider-module.ts, ${l.tsFiles} TypeScript files) takes ${s(l.registerMs + l.entryMs)}.`;
  }
  if (gaps.length > 0)
    provider += ` The first SSH session came ${s(median(gaps))} after the provider's process started (median over the operations that opened any).`;
  lines.push(provider);
  const up = p.upSkip;
  const refreshPerHost = Math.round(p.refresh.sessions / run.hosts);
  lines.push(
    `SSH and the hosts: in the first up with \`--skip-preview\` the ${up.sessions} SSH sessions started over ${up.firstSessionMs !== null && up.lastSessionMs !== null ? s(up.lastSessionMs - up.firstSessionMs) : "—"}; pod-routes' host scripts alone, every host at once over OpenSSH without the engine, take ${s(run.hostScriptsMs)} here. The lab's sshd and host scripts run on the same ${cores} cores as the engine (on real hosts they would not): during that up the rest of the machine used ${s(restOfMachine(up))} of CPU (the floor's up: ${s(restOfMachine(f.upSkip))}).` +
      (refreshPerHost >= 2
        ? ` \`pulumi refresh --yes\` opened ${refreshPerHost} sessions per host: it previews first, reading every host, then refreshes, reading every host again.`
        : ""),
  );
  return lines;
}

function cliTables(runs: readonly CliRun[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    out.push(
      `### ${r.hosts} hosts (${r.routes} routes)`,
      "",
      "| operation | pod-routes | SSH sessions | engine's floor | ÷ floor |",
      "| --- | ---: | ---: | ---: | ---: |",
      ...OPS.map(({ key, label }) => {
        const p = r.podRoutes[key] as Op;
        const f = r.floor[key] as Op;
        return `| ${label} | ${s(p.ms)} | ${p.sessions} | ${s(f.ms)} | ${ratio(p.ms, f.ms)} |`;
      }),
      "",
      `Checkpoint after the first up: pod-routes ${Math.round(r.podRoutes.checkpointBytes / 1000)} KB (${Math.round(r.podRoutes.routeBytes / 1000)} KB of it the hosts' routes), the floor ${Math.round(r.floor.checkpointBytes / 1000)} KB (the same routes, ${Math.round(r.floor.routeBytes / 1000)} KB).`,
      "",
    );
  }
  return out;
}

const perRouteCells = (a: AnsibleResults) => {
  const pr = a.perRoute;
  if (pr.estimateMs !== undefined) return `about ${s(pr.estimateMs)} (estimated, see below) | —`;
  return `${s(pr.first.ms)} | ${pr.noChange ? s(pr.noChange.ms) : "—"}`;
};

function baselineTable(runs: readonly CliRun[]): string[] {
  return [
    "| hosts | routes | runbook's loop | Ansible, `ip -batch` per host | …, no change | Ansible, `command` per route | …, again | pod-routes' host scripts alone | `pulumi up --yes` | `pulumi up --yes --skip-preview` | no-change `pulumi up --yes` |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map(
      (r) =>
        `| ${r.hosts} | ${r.routes} | ${s(r.runbookMs)} | ${s(r.ansible.batch.first.ms)} | ${s(r.ansible.batch.noChange.ms)} | ${perRouteCells(r.ansible)} | ${s(r.hostScriptsMs)} | ${s(r.podRoutes.up.ms)} | ${s(r.podRoutes.upSkip.ms)} | ${s(r.podRoutes.noChangeUp.ms)} |`,
    ),
  ];
}

function profileTable(runs: readonly CliRun[]): string[] {
  const delays = (op: Op) => registrationDelays(op).map(s).join(", ") || "—";
  return [
    "| hosts | operation | pod-routes | floor | program runs: first resource after, pod-routes / floor | provider processes, CPU: pod-routes / floor | SSH sessions started | CPU beyond the floor's: program / provider / CLI + language host / rest of machine | machine busy |",
    "| ---: | --- | ---: | ---: | --- | --- | --- | --- | ---: |",
    ...runs.flatMap((r) =>
      JUDGED.map(({ key, label }) => {
        const p = r.podRoutes[key] as Op;
        const f = r.floor[key] as Op;
        const d = [
          programCpu(p) - programCpu(f),
          p.cpuMs.provider - f.cpuMs.provider,
          engineCpu(p) - engineCpu(f),
          restOfMachine(p) - restOfMachine(f),
        ]
          .map(signed)
          .join(" / ");
        return `| ${r.hosts} | ${label} | ${s(p.ms)} | ${s(f.ms)} | ${delays(p)} / ${delays(f)} | ${p.providerRuns.length}, ${s(p.cpuMs.provider)} / ${f.providerRuns.length}, ${s(f.cpuMs.provider)} | ${p.sessions ? `${p.sessions}, ${sshSpan(p)}` : "none"} | ${d} | ${Math.round(p.machineBusy * 100)}% / ${Math.round(f.machineBusy * 100)}% |`;
      }),
    ),
  ];
}

function cliTargets(runs: readonly CliRun[], startup: StartupResults | undefined, cores: number): string[] {
  const lines: string[] = [];
  // 1. Every pod-routes operation within 1.3× of the engine's floor.
  for (const r of runs) {
    const judged = JUDGED.map(({ key, label }) => ({
      label,
      x: (r.podRoutes[key] as Op).ms / (r.floor[key] as Op).ms,
    }));
    const missed = judged.filter((j) => j.x > FLOOR_TARGET);
    lines.push(
      `- Every pod-routes operation within ${FLOOR_TARGET}× of the engine's floor, ${r.hosts} hosts: ${verdict(missed.length === 0)} — ${judged.map((j) => `${j.label} ${j.x.toFixed(2)}×`).join("; ")}.`,
    );
    if (missed.length > 0) {
      lines.push(
        `  Where the time goes at ${r.hosts} hosts (measured in this run; per operation in "Where the time goes" below):`,
      );
      for (const why of whyLines(r, startup, cores)) lines.push(`  - ${why}`);
    }
  }
  // 2. `pulumi up` (with its preview) faster than the runbook's loop and Ansible at its best.
  for (const r of runs) {
    const up = r.podRoutes.up.ms;
    const batch = r.ansible.batch.first.ms;
    const met = up < r.runbookMs && up < batch;
    let line = `- \`pulumi up --yes\` (with the preview it runs by default) faster than the runbook's loop and than Ansible at its best, ${r.hosts} hosts: ${verdict(met)} — ${s(up)}; the runbook's loop ${s(r.runbookMs)} (\`pulumi up\` takes ${ratio(up, r.runbookMs)} as long), Ansible with one \`ip -batch\` per host ${s(batch)} (${ratio(up, batch)} as long).`;
    if (!met) {
      const f = r.floor;
      line += ` The engine's floor for the same \`pulumi up --yes\` (the same number of dynamic resources, doing nothing) takes ${s(f.up.ms)}${f.up.ms >= batch ? `, already more than Ansible's whole job` : ""}; pod-routes' no-change \`pulumi up --yes\`, which opens no SSH session, takes ${s(r.podRoutes.noChangeUp.ms)}, mostly its program and provider starting twice (see above); with \`--skip-preview\` the first up takes ${s(r.podRoutes.upSkip.ms)}; the SSH work itself (pod-routes' host scripts on every host at once, without the engine) takes ${s(r.hostScriptsMs)}.`;
    }
    lines.push(line);
  }
  // 3. Start-up.
  if (startup) {
    const pr = median(startup.podRoutesMs);
    const pd = median(startup.podRoutesDeployedMs);
    const empty = median(startup.emptyMs);
    const met = pr <= STARTUP_TARGET * empty && pd <= STARTUP_TARGET * empty;
    let line = `- \`pulumi preview\` of the 3-host bare-metal stack within ${STARTUP_TARGET}× that of an empty TypeScript program: ${verdict(met)} — ${s(pr)} (nothing deployed) and ${s(pd)} (deployed, no change) against ${s(empty)}: ${ratio(pr, empty)} and ${ratio(pd, empty)} (medians of ${startup.samples}).`;
    if (!met) {
      const p = startup.podRoutesOp;
      const e = startup.emptyOp;
      const lp = startup.programLoad;
      const own = lp.entryMs - lp.pulumiMs;
      const pv = startup.providerLoad;
      line += ` In a sampled preview the program's process used ${s(programCpu(p))} of CPU against the empty program's ${s(programCpu(e))}, and ran ${spans(p.programRuns)} after the command started (the empty one ${spans(e.programRuns)}). Loading index.ts and what it imports takes ${s(own)} in plain Node beyond @pulumi/pulumi (which the runtime has loaded before any program): ${lp.tsFiles} TypeScript files of pod-routes (${Math.round(lp.tsBytes / 1000)} KB) that ts-node transpiles at every run (transpiling them alone takes ${s(lp.transpileMs)}), and ${lp.modules} modules in all. Then the preview starts the dynamic provider to check and diff each HostRoutes (the empty program has none): it ran ${spans(p.providerRuns)} using ${s(p.cpuMs.provider)} of CPU, of which loading HostRoutes' provider from a clone (host-routes.ts' shim: ts-node, then ssh/provider-module.ts, ${pv.tsFiles} TypeScript files) takes ${s(pv.registerMs + pv.entryMs)}.`;
    }
    lines.push(line);
  }
  return lines;
}

function startupSection(st: StartupResults): string[] {
  const row = (label: string, xs: number[], base: number[]) =>
    `| ${label} | ${xs.map((x) => s(x)).join(", ")} | ${s(median(xs))} | ${ratio(median(xs), median(base))} |`;
  const load = (label: string, l: StartupResults["programLoad"]) =>
    `| ${label} | ${l.registerMs} | ${l.entryMs} | ${l.pulumiMs || "—"} | ${l.tsFiles} | ${Math.round(l.tsBytes / 1000)} KB | ${l.transpileMs} | ${l.modules} |`;
  return [
    "## Start-up: `pulumi preview`",
    "",
    `\`pulumi preview\` of the 3-host bare-metal stack (the repository's Pulumi.yaml and Pulumi.baremetal.yaml on examples/machines.txt, against a lab of those three machines: the stack file's own example), and of an empty TypeScript program (a generated project with the same runtime options: \`typescript: true\`, a tsconfig with \`noCheck\`), alternately, ${st.samples} times each after one of each to warm the file cache; then each type-checked (Pulumi.yaml's \`tsconfig\` pointed at one without \`noCheck\` and without SWC: what every run cost before the program's tsconfig said \`noCheck\`). ÷ is against the empty program's median.`,
    "",
    "| preview | each | median | ÷ empty program |",
    "| --- | --- | ---: | ---: |",
    row("empty program", st.emptyMs, st.emptyMs),
    row("3-host stack, nothing deployed", st.podRoutesMs, st.emptyMs),
    row("3-host stack, deployed (no change)", st.podRoutesDeployedMs, st.emptyMs),
    row("empty program, type-checked", st.emptyTypeCheckMs, st.emptyMs),
    row("3-host stack, type-checked", st.podRoutesTypeCheckMs, st.emptyMs),
    "",
    "Loading, in plain Node, as the runtime loads a program and the provider process loads HostRoutes' provider from a clone (bench/load-profile.js, the median of three): ts-node's registration; the entry point and all it imports; @pulumi/pulumi's share of that (in a real run the runtime has loaded it already, before the program); the TypeScript files ts-node transpiled and how long transpiling them again takes; all modules loaded. In ms:",
    "",
    "| what | ts-node | entry | of it @pulumi/pulumi | TypeScript files | their size | transpiling them | modules |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    load("the stack program (index.ts, tsconfig.program.json)", st.programLoad),
    load("HostRoutes' provider from a clone (ssh/provider-module.ts)", st.providerLoad),
    "",
  ];
}

function programSection(r: Results): string[] {
  const floor = new Map(r.program.filter((p) => p.stack === "floor").map((p) => [p.nodes, p.ms]));
  const ratioToFloor = (p: ProgramRun) => {
    const bare = floor.get(p.nodes);
    return p.stack === "floor" || bare === undefined || bare === 0 ? "—" : (p.ms / bare).toFixed(2);
  };
  const max = Math.max(...r.program.filter((p) => p.stack === "baremetal").map((p) => p.nodes));
  return [
    "## Program evaluation under Pulumi mocks (plain Node)",
    "",
    "`floor` is the bare SDK registering the same number of `gcp.compute.Route` with nothing else; the last column is pod-routes ÷ floor.",
    "",
    "| stack | nodes | ms | peak MB | resources | ÷ floor |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...r.program.map(
      (p) => `| ${p.stack} | ${p.nodes} | ${p.ms} | ${p.maxRssMb} | ${p.resources} | ${ratioToFloor(p)} |`,
    ),
    "",
    "Cost of one more node (least-squares slope, ms per node): " +
      Object.entries(r.slopes)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ") +
      ".",
    `The bare-metal stack runs up to ${max} nodes, the SSH path's limit (every host taking 1,024 routes), which the program refuses past at preview: host routes are a full mesh (N hosts × N−1 routes). Its cost grows with the square of N by nature (every host's HostRoutes takes every other worker's route as its input). 5,000 nodes are no longer run (each stack took 1.5–2 minutes there; the whole bench must fit in about 30 minutes on 2 cores); an earlier run's numbers are in the git history of this file.`,
    "",
    ...programTargets(r.program, floor),
  ];
}

// Program evaluation's targets from an earlier issue, judged from this run's numbers, with the floor beside them.
const PROGRAM_TARGETS = [
  { nodes: 1000, ms: 10_000 },
  { nodes: 5000, ms: 60_000 },
];
function programTargets(program: ProgramRun[], floor: Map<number, number>): string[] {
  const lines = PROGRAM_TARGETS.flatMap(({ nodes, ms }) =>
    ["gcp", "aws"].flatMap((stack) => {
      const run = program.find((p) => p.stack === stack && p.nodes === nodes);
      if (!run) return [];
      const bare = floor.get(nodes);
      return [
        `- ${stack}, ${nodes.toLocaleString("en-US")} nodes, under ${ms / 1000} s: ${verdict(run.ms <= ms)} (${s(run.ms)}; the bare SDK alone: ${bare === undefined ? "not measured" : s(bare)}).`,
      ];
    }),
  );
  if (lines.length === 0) return [];
  const missed = PROGRAM_TARGETS.some(({ nodes, ms }) =>
    program.some((p) => (p.stack === "gcp" || p.stack === "aws") && p.nodes === nodes && p.ms > ms),
  );
  return [
    "Targets (program evaluation):",
    "",
    ...lines,
    ...(missed
      ? [
          "",
          "Where one is missed, compare the floor: when the bare SDK registering the same routes with nothing else takes as long, the time is the SDK's, not pod-routes'. A CPU profile of the floor (`node --cpu-prof`) puts most of it in source-map-support mapping the stack trace the SDK takes for every promise and resource; Pulumi's Node.js language host registers source-map-support for every program, so a real `pulumi up` pays it too.",
        ]
      : []),
    "",
  ];
}

function labSection(lab: LabApply[], insert: Insertion[]): string[] {
  return [
    "## The host scripts over SSH, without the engine",
    "",
    "pod-routes: its host script on every host, one SSH session per host, `ip -batch`, hosts in parallel. Runbook: one `ssh` per host with its `ip route add` lines, host after host. By hand: one `ssh … ip route add` per route. (At 30 and 100 hosts the first two are in the `pulumi` section's baseline table.)",
    "",
    "| hosts | routes | pod-routes ms | re-run ms | runbook ms | by hand ms | runbook ÷ pod-routes | by hand ÷ pod-routes |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...lab.map(
      (l) =>
        `| ${l.hosts} | ${l.routes} | ${l.podRoutesMs} | ${l.rerunMs} | ${l.runbookMs} | ${l.byHandMs} | ${(l.runbookMs / l.podRoutesMs).toFixed(1)}× | ${(l.byHandMs / l.podRoutesMs).toFixed(1)}× |`,
    ),
    "",
    "## Route insertion on one host",
    "",
    "| routes | ip -batch ms | one ip route add each ms | ratio |",
    "| ---: | ---: | ---: | ---: |",
    ...insert.map(
      (i) => `| ${i.routes} | ${i.batchMs} | ${i.oneByOneMs} | ${(i.oneByOneMs / i.batchMs).toFixed(1)}× |`,
    ),
    "",
  ];
}

function perRouteNote(runs: readonly CliRun[]): string[] {
  const cut = runs.filter((r) => r.ansible.perRoute.estimateMs !== undefined);
  if (cut.length === 0) return [];
  return cut.map((r) => {
    const pr = r.ansible.perRoute;
    return `At ${r.hosts} hosts the per-route playbook was not run to the end (${r.hosts - 1} routes on each of ${r.hosts} hosts would take most of the bench's half hour, twice): its loop was cut to each host's first ${pr.shorter?.limit} and then first ${pr.limit} routes, which took ${s(pr.shorter?.run.ms ?? 0)} and ${s(pr.first.ms)}; the line through those two (a fixed cost, then the same cost for each further route, every host in parallel) gives about ${s(pr.estimateMs ?? 0)} for all ${r.hosts - 1}. The run with nothing to change does the same work again (each \`ip route replace\` runs), so it costs about the same.`;
  });
}

export function markdown(r: Results): string {
  const cores = r.machine.cpus;
  const ansible = r.cli[0]?.ansible;
  return [
    "# pod-routes benchmarks",
    "",
    `Written by \`npm run bench\`${r.quick ? " `--quick`" : ""} on ${r.date} (${cores} cores, ${r.machine.memoryGb} GB, Node ${r.machine.node}, Pulumi CLI ${r.pulumiVersion}, ansible-core ${r.ansibleVersion}); the whole run took ${Math.round(r.totalMs / 60000)} minutes. Every number and ratio here comes from that one run, on one lab per size. The machine's load average as each section began: ${Object.entries(
      r.load ?? {},
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ", ",
      )} (on ${cores} cores, the lab's hosts share them with everything else).${(r.restarts ?? []).length > 0 ? ` Lab sections started over on a new lab after a failed attempt (the lab is one per machine, shared with other runs): ${r.restarts.map((x) => `"${x}"`).join("; ")}.` : ""}`,
    "",
    "## Targets",
    "",
    ...cliTargets(r.cli, r.startup, cores),
    "",
    "## `pulumi` as users run it, against N lab hosts",
    "",
    "pod-routes: the `pulumi` CLI itself in a clone of this checkout, on the repository's own Pulumi.yaml, Pulumi.baremetal.yaml and stack program (index.ts), set up with the README's commands (`pulumi stack select --create baremetal`, `pulumi config set --secret pod-routes:sshPrivateKey < key`, the hosts' keys pinned with `pulumi config set-all --path --plaintext pod-routes:ssh.hostKeys.<host>=…`, `pod-routes:machinesFile` naming the lab's machines.txt), with a file backend, against N lab hosts (one network namespace with a real sshd each, on this machine). The program runs through the Node.js language host beside the CLI (here the project's test stand-in for the official one, which runs `@pulumi/pulumi/cmd/run` as the official one does). One node removed is the last line of machines.txt gone and its host key unpinned: its HostRoutes is deleted, every other host's updated (one route fewer). Every step is checked on the hosts (`ip route`) and in the CLI's summary.",
    "",
    "The engine's floor: a generated Pulumi TypeScript project with the same runtime options, one dynamic resource per host (in one component) whose provider does nothing, each carrying its host's routes as input (the same data pod-routes' state carries, so removing a node updates every other one), run with the same commands. What pod-routes adds beyond it — its program, its provider, SSH and the hosts' work — is the part pod-routes controls. pod-routes' stack has one resource more (its stack identity).",
    "",
    ...cliTables(r.cli),
    "### Beside the runbook and Ansible",
    "",
    `Same lab, same run, before pod-routes. The runbook's loop: one \`ssh\` per host with its \`ip route add\` lines, host after host. Ansible (ansible-core ${ansible?.version ?? r.ansibleVersion} from PyPI in a virtual environment, scripts/install-ansible.sh): \`forks\` = the host count, \`gather_facts: false\`, the lab's client key and pinned host keys (its known_hosts, strict), Ansible's own SSH defaults (ControlMaster, ControlPersist 60 s; the masters are closed after each run, so every run starts cold as the others do) and pipelining on. As people write it: one \`command: ip route replace <subnet> via <node>\` per route (a loop over the other nodes of the inventory); at its best: one \`shell\` task per host that compares the host's routes with the wanted ones and installs them all with one \`ip -batch\` when they differ (reporting a change only then). pod-routes' host scripts alone: what HostRoutes runs on each host, one OpenSSH session per host, all hosts at once, no engine.`,
    "",
    ...baselineTable(r.cli),
    "",
    ...perRouteNote(r.cli),
    "",
    "### Where the time goes",
    "",
    `Every \`pulumi\` command's process tree sampled every 100 ms: when the program ran (with a preview, twice), and CPU ms by process — the program (\`@pulumi/pulumi/cmd/run\`), the dynamic provider, the CLI with the language host, and the rest of the machine: the lab's sshd and host scripts, which share this machine's ${cores} cores with the engine (real hosts run them on their own), and anything else running. "machine busy" is the share of all ${cores} cores in use.`,
    "",
    ...profileTable(r.cli),
    "",
    ...(r.startup ? startupSection(r.startup) : []),
    ...programSection(r),
    ...labSection(r.lab, r.insert),
  ].join("\n");
}
