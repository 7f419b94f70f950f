// The `pulumi` sections of `npm run bench`: pod-routes' bare-metal stack run by the `pulumi` CLI itself, as
// the README runs it (a clone of this checkout, its own Pulumi.yaml, Pulumi.baremetal.yaml and index.ts,
// `stack select --create`, `config set --secret … <`, `config set --path`, `up --yes`, `refresh`,
// `destroy`), against N lab hosts; beside it, on the same lab in the same run, the runbook's loop, pod-routes'
// host scripts alone, both Ansible playbooks, and the engine's floor: a generated Pulumi TypeScript project
// (same runtime options) whose N dynamic resources do nothing, run through the same commands. And start-up:
// `pulumi preview` of the 3-host stack against that of an empty TypeScript program.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { planHostRoutes } from "../core/routes";
import { RouteSpec } from "../core/types";
import { hostRoutes, Lab, labDown, labUp, PROJECT_ROOT, requireLabUp } from "../lab/lab";
import { ChangeSummary, cloneCheckout, PulumiCli, pulumiCli } from "../lab/pulumi-cli";
import { ROUTE_PROTO } from "../ssh/host-program/render";
import { ansibleProject, AnsibleRun, BATCH_PLAYBOOK, PER_ROUTE_PLAYBOOK } from "./ansible";
import { hostScripts, resetRoutes, runbook, ssh, timed, withLab } from "./helpers";
import { OpResult, runPulumi } from "./proc";

const CLUSTER_CIDR = "10.200.0.0/16";

/** A project `pulumi` runs: pod-routes' own (a clone), or one the bench generates. */
interface Deployment {
  readonly cli: PulumiCli;
  /** Points the stack at the first `count` hosts (a `pulumi config set`). */
  useHosts(count: number): void;
  /** The lab it sends traffic to, checked to be up before every command; none for the floor. */
  readonly lab?: Lab;
  readonly project: string;
  readonly stack: string;
}

/** What one operation cost, without the command's output. */
export type Op = Omit<OpResult, "output">;

/** One project's operations, in the order they ran. */
export interface StackOps {
  /** `pulumi up --yes`: with the preview `pulumi up` runs by default. */
  readonly up: Op;
  readonly noChangeUp: Op;
  /** `pulumi up --yes --skip-preview`, with nothing to change. */
  readonly noChangeUpSkip: Op;
  /** `pulumi refresh --yes`. */
  readonly refresh: Op;
  /** `pulumi up --yes` with the last node gone from the stack's nodes. */
  readonly removeNode: Op;
  /** `pulumi destroy --yes`. */
  readonly destroy: Op;
  /** After the destroy: `pulumi up --yes --skip-preview` from nothing, then `pulumi destroy --yes` again. */
  readonly upSkip: Op;
  readonly destroyAgain: Op;
  /** The checkpoint file after the first up, bytes, and the hosts' route data in it. */
  readonly checkpointBytes: number;
  readonly routeBytes: number;
}

export interface AnsibleResults {
  readonly version: string;
  /** One `ip -batch` per host: a first apply, then a run with nothing to change. */
  readonly batch: { readonly first: AnsibleRun; readonly noChange: AnsibleRun };
  /**
   * One `command` per route: a first apply and a run with the routes in place (the same work again: each
   * `ip route replace` runs). `limit` set: each host's loop was cut to its first `limit` routes, and
   * `estimateMs` scales the measured runs to every route (see `estimatePerRoute`).
   */
  readonly perRoute: {
    readonly first: AnsibleRun;
    readonly noChange?: AnsibleRun;
    readonly limit?: number;
    readonly shorter?: { readonly limit: number; readonly run: AnsibleRun };
    readonly estimateMs?: number;
  };
}

export interface CliRun {
  readonly hosts: number;
  readonly routes: number;
  readonly runbookMs: number;
  /** pod-routes' host scripts over OpenSSH, one session per host, all hosts at once: no engine. */
  readonly hostScriptsMs: number;
  readonly ansible: AnsibleResults;
  readonly podRoutes: StackOps;
  readonly floor: StackOps;
  readonly failures: string[];
}

const strip = ({ output: _output, ...op }: OpResult & { output: string }): Op => op;

function checkpointOf(d: Deployment): { bytes: number; routeBytes: number } {
  const text = d.cli.checkpoint(d.project, d.stack);
  const json = JSON.parse(text) as {
    checkpoint: { latest: { resources?: { inputs?: Record<string, unknown> }[] } };
  };
  const routeBytes = (json.checkpoint.latest.resources ?? []).reduce(
    (n, r) => n + (r.inputs?.["routes"] === undefined ? 0 : JSON.stringify(r.inputs["routes"]).length),
    0,
  );
  return { bytes: Buffer.byteLength(text), routeBytes };
}

/** The specs' plans: every host's route count, for N hosts and for N − 1. */
function routeCounts(spec: RouteSpec): Record<string, number> {
  return Object.fromEntries(planHostRoutes(spec).map((p) => [p.host.name, p.routes.length]));
}

/**
 * The operations, in this order: first up, no-change up (with and without the preview), refresh, one node
 * removed, destroy; then a first up with `--skip-preview` and destroy again. Each result is checked (the
 * CLI's summary; the hosts' routes, for pod-routes); what differs goes to `failures`.
 */
async function sequence(
  d: Deployment,
  name: string,
  spec: RouteSpec,
  failures: string[],
  log: (line: string) => void,
): Promise<StackOps> {
  const n = spec.nodes.length;
  const full = routeCounts(spec);
  const fewer = routeCounts({ ...spec, nodes: spec.nodes.slice(0, -1) });
  const none = Object.fromEntries(spec.nodes.map((h) => [h.name, 0]));
  const expect = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      failures.push(
        `${name} at ${n} hosts, ${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
      );
    }
  };
  const onHosts = (what: string, expected: Record<string, number>) => {
    const lab = d.lab;
    if (!lab) return;
    requireLabUp(lab, `reading the hosts' routes after ${what}`);
    const actual = Object.fromEntries(
      spec.nodes.map((h) => [h.name, hostRoutes(lab, h.name, "proto", String(ROUTE_PROTO)).length]),
    );
    expect(`${what}, routes on the hosts`, actual, { ...none, ...expected });
  };
  const op = async (label: string, args: string[], changes?: (c: ChangeSummary) => boolean) => {
    if (d.lab) requireLabUp(d.lab, `running pulumi ${args.join(" ")}`);
    const r = strip(await runPulumi(d.cli, args));
    if (changes && !changes(r.changes)) expect(`${label}, changes`, r.changes, "as planned");
    log(
      `${name} ${n} hosts, ${label} (${r.command}): ${r.ms} ms, ${r.sessions} SSH sessions, ${JSON.stringify(r.changes)}, CPU ms ${JSON.stringify(r.cpuMs)}, machine ${Math.round(r.machineBusy * 100)}% busy`,
    );
    return r;
  };
  const created = (c: ChangeSummary) => (c.create ?? 0) >= n && !c.update && !c.delete && !c.replace;
  const unchanged = (c: ChangeSummary) => !c.create && !c.update && !c.delete && !c.replace;
  d.useHosts(n);
  const up = await op("first up", ["up", "--yes"], created);
  const resources = up.changes.create ?? 0;
  onHosts("first up", full);
  const checkpoint = checkpointOf(d);
  const noChangeUp = await op("no-change up", ["up", "--yes"], unchanged);
  const noChangeUpSkip = await op(
    "no-change up, --skip-preview",
    ["up", "--yes", "--skip-preview"],
    unchanged,
  );
  const refresh = await op("refresh", ["refresh", "--yes"], (c) => !c.delete && !c.create);
  d.useHosts(n - 1);
  const removeNode = await op(
    "remove one node",
    ["up", "--yes"],
    (c) => c.delete === 1 && c.update === n - 1 && !c.create,
  );
  onHosts("removing one node", fewer);
  const destroy = await op("destroy", ["destroy", "--yes"], (c) => c.delete === resources - 1);
  onHosts("destroy", none);
  d.useHosts(n);
  const upSkip = await op("first up, --skip-preview", ["up", "--yes", "--skip-preview"], created);
  onHosts("first up, --skip-preview", full);
  const destroyAgain = await op("destroy again", ["destroy", "--yes"], (c) => c.delete === resources);
  onHosts("destroy again", none);
  return {
    up,
    noChangeUp,
    noChangeUpSkip,
    refresh,
    removeNode,
    destroy,
    upSkip,
    destroyAgain,
    checkpointBytes: checkpoint.bytes,
    routeBytes: checkpoint.routeBytes,
  };
}

/**
 * `pulumi config set-all --path --plaintext pod-routes:ssh.hostKeys.<host>=<key> …`: every host's key pinned;
 * the stack file's example keys for other hosts (the runbook's server, node-0, node-1) removed.
 */
function pinHostKeys(cli: PulumiCli, lab: Lab, names: readonly string[]): void {
  const ssh = JSON.parse(cli.run(["config", "get", "pod-routes:ssh", "--json"]).stdout) as {
    value?: string;
  };
  const current = JSON.parse(ssh.value ?? "{}") as { hostKeys?: Record<string, string> };
  const others = Object.keys(current.hostKeys ?? {}).filter((h) => !names.includes(h));
  if (others.length > 0) {
    cli.run(["config", "rm-all", "--path", ...others.map((h) => `pod-routes:ssh.hostKeys.${h}`)]);
  }
  const pairs = names.flatMap((name) => {
    const host = lab.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no lab host ${name}`);
    return ["--plaintext", `pod-routes:ssh.hostKeys.${name}=${host.hostKey}`];
  });
  cli.run(["config", "set-all", "--path", ...pairs]);
}

/**
 * pod-routes as the README sets it up: a clone of the checkout, the bare-metal stack selected (created),
 * the lab's client key as the secret, every host's key pinned, and `pod-routes:machinesFile` naming a
 * machines.txt in the clone (the first N lines of the lab's).
 */
function podRoutesDeployment(dir: string, lab: Lab, machinesFile: string): Deployment {
  const clone = cloneCheckout(path.join(dir, "clone"));
  const cli = pulumiCli(clone, path.join(dir, "state"));
  const lines = fs
    .readFileSync(machinesFile, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"));
  const names = lines.map((l) => l.split(/\s+/)[2] ?? "");
  cli.run(["stack", "select", "--create", "baremetal"]);
  cli.run(["config", "set", "--secret", "pod-routes:sshPrivateKey"], {
    input: fs.readFileSync(lab.clientKey, "utf8"),
  });
  pinHostKeys(cli, lab, names);
  let current = names.length;
  return {
    cli,
    lab,
    project: "pod-routes",
    stack: "baremetal",
    // A node removed as a user removes it: its line gone from machines.txt, and its host key from the config.
    useHosts(count) {
      const file = `bench-machines-${count}.txt`;
      fs.writeFileSync(path.join(clone, file), `${lines.slice(0, count).join("\n")}\n`);
      cli.run(["config", "set", "pod-routes:machinesFile", file]);
      if (count < current) {
        cli.run([
          "config",
          "rm-all",
          "--path",
          ...names.slice(count, current).map((h) => `pod-routes:ssh.hostKeys.${h}`),
        ]);
      } else if (count > current) {
        pinHostKeys(cli, lab, names.slice(0, count));
      }
      current = count;
    },
  };
}

/** Pulumi.yaml and tsconfig.json of a generated TypeScript project: the runtime options pod-routes uses. */
function writeTsProject(dir: string, name: string, program: string, extraConfig = ""): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${name}\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n    tsconfig: tsconfig.json\n${extraConfig}`,
  );
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "commonjs",
          moduleResolution: "node",
          strict: true,
          esModuleInterop: true,
          skipLibCheck: true,
          noCheck: true,
          types: ["node"],
        },
        files: ["index.ts"],
      },
      null,
      2,
    )}\n`,
  );
  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name, private: true, main: "index.ts" })}\n`,
  );
  fs.writeFileSync(path.join(dir, "index.ts"), program);
  fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
}

/**
 * Runs `fn` with the project in `dir` type-checked at each run, as a user would have it: Pulumi.yaml's
 * runtime option `tsconfig` pointed at one without `noCheck` and without SWC (ts-node's SWC transpiler cannot
 * type-check, and refuses PULUMI_NODEJS_TRANSPILE_ONLY=false).
 */
async function typeChecked<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const yamlFile = path.join(dir, "Pulumi.yaml");
  const yaml = fs.readFileSync(yamlFile, "utf8");
  const base = /^ {4}tsconfig: (\S+)$/m.exec(yaml)?.[1];
  if (base === undefined) throw new Error(`${yamlFile} names no tsconfig runtime option`);
  const checked = { extends: `./${base}`, compilerOptions: { noCheck: false }, "ts-node": { swc: false } };
  fs.writeFileSync(path.join(dir, "tsconfig.typecheck.json"), `${JSON.stringify(checked)}\n`);
  fs.writeFileSync(yamlFile, yaml.replace(`    tsconfig: ${base}`, "    tsconfig: tsconfig.typecheck.json"));
  try {
    return await fn();
  } finally {
    fs.writeFileSync(yamlFile, yaml);
  }
}

/**
 * The engine's floor: N dynamic resources (in one component, as pod-routes' HostRoutes are) whose provider
 * does nothing, each with its host's routes as input (the same data pod-routes' state carries), so that
 * removing a node updates every other one as it does for pod-routes.
 */
export const FLOOR_PROGRAM = `// The engine's floor for pod-routes' bare-metal stack: one dynamic resource per host that does nothing.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

interface Host {
  name: string;
  routes: Record<string, string>;
}
const hosts = JSON.parse(fs.readFileSync(new pulumi.Config().require("hostsFile"), "utf8")) as Host[];

const provider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news };
  },
  async diff(_id, olds, news) {
    return { changes: JSON.stringify(olds.routes) !== JSON.stringify(news.routes) };
  },
  async create(inputs) {
    return { id: inputs.name, outs: inputs };
  },
  async read(id, props) {
    return { id, props };
  },
  async update(_id, _olds, news) {
    return { outs: news };
  },
  async delete() {},
};

class Noop extends pulumi.dynamic.Resource {
  constructor(name: string, props: Host, opts: pulumi.CustomResourceOptions) {
    super(provider, name, props, opts);
  }
}

class Floor extends pulumi.ComponentResource {
  constructor(name: string) {
    super("floor:index:Floor", name);
    for (const host of hosts) new Noop(\`\${name}-\${host.name}\`, host, { parent: this });
    this.registerOutputs({});
  }
}

new Floor("floor");
`;

function floorDeployment(dir: string, spec: RouteSpec): Deployment {
  const project = path.join(dir, "floor");
  writeTsProject(project, "floor", FLOOR_PROGRAM);
  const cli = pulumiCli(project, path.join(dir, "floor-state"));
  cli.run(["stack", "select", "--create", "bench"]);
  const current = { count: -1 };
  return {
    cli,
    project: "floor",
    stack: "bench",
    useHosts(count) {
      if (current.count === count) return;
      const plans = planHostRoutes({ ...spec, nodes: spec.nodes.slice(0, count) });
      const hosts = plans.map((p) => {
        const routes: Record<string, string> = {};
        for (const r of p.routes) routes[r.destination] = `${r.nextHop} ${r.node}`;
        return { name: p.host.name, routes };
      });
      const file = path.join(project, `hosts-${count}.json`);
      fs.writeFileSync(file, JSON.stringify(hosts));
      cli.run(["config", "set", "floor:hostsFile", file]);
      current.count = count;
    },
  };
}

/** Where the per-route playbook's loop is cut at this many hosts and more (the full run would take too long). */
export const PER_ROUTE_FULL_UP_TO = 30;

/**
 * The per-route playbook's time for every route, from two runs cut to `a` and `b` routes per host: the
 * line through them (a fixed cost plus a cost per route, every host in parallel), at `routes` per host.
 */
export function estimatePerRoute(
  a: { limit: number; ms: number },
  b: { limit: number; ms: number },
  routes: number,
) {
  const perRoute = (b.ms - a.ms) / (b.limit - a.limit);
  return Math.round(a.ms + perRoute * (routes - a.limit));
}

/** A per-route playbook whose loop stops after `limit` routes per host (for the estimate at large N). */
const perRouteCut = (limit: number) =>
  PER_ROUTE_PLAYBOOK.replace(
    `loop: "{{ groups['nodes'] | difference([inventory_hostname]) }}"`,
    `loop: "{{ (groups['nodes'] | difference([inventory_hostname]))[:${limit}] }}"`,
  );

/** Both Ansible playbooks on the lab, each a first apply and a run with nothing to change; the hosts reset after. */
async function ansibleBaselines(
  dir: string,
  lab: Lab,
  ansiblePlaybook: string,
  ctx: {
    version: string;
    expectBoot: (what: string, limit?: number) => void;
    failures: string[];
    log: (line: string) => void;
  },
): Promise<AnsibleResults> {
  const { expectBoot, failures, log } = ctx;
  const hosts = lab.hosts.length;
  const ansible = ansibleProject(dir, lab, ansiblePlaybook, CLUSTER_CIDR);
  try {
    const batchFirst = await ansible.run("batch", BATCH_PLAYBOOK);
    expectBoot("Ansible, one ip -batch per host");
    const batchNoChange = await ansible.run("batch", BATCH_PLAYBOOK);
    log(
      `${hosts} hosts: Ansible, ip -batch per host: ${batchFirst.ms} ms, no change ${batchNoChange.ms} ms (changed ${batchFirst.changed}, then ${batchNoChange.changed})`,
    );
    if (batchNoChange.changed !== 0)
      failures.push(`${hosts} hosts: the ip -batch playbook changed hosts on its second run`);
    resetRoutes(lab);
    let perRoute: AnsibleResults["perRoute"];
    const perHost = hosts - 1;
    if (hosts <= PER_ROUTE_FULL_UP_TO) {
      const first = await ansible.run("per-route", PER_ROUTE_PLAYBOOK);
      expectBoot("Ansible, one command per route");
      const noChange = await ansible.run("per-route", PER_ROUTE_PLAYBOOK);
      log(`${hosts} hosts: Ansible, one command per route: ${first.ms} ms, again ${noChange.ms} ms`);
      perRoute = { first, noChange };
    } else {
      const [a, b] = [2, 6];
      const short = await ansible.run(`per-route-${a}`, perRouteCut(a));
      resetRoutes(lab);
      const first = await ansible.run(`per-route-${b}`, perRouteCut(b));
      expectBoot(`Ansible, one command per route, the first ${b}`, b);
      const estimateMs = estimatePerRoute({ limit: a, ms: short.ms }, { limit: b, ms: first.ms }, perHost);
      log(
        `${hosts} hosts: Ansible, one command per route, cut to ${a} and ${b} routes per host: ${short.ms} and ${first.ms} ms, so about ${estimateMs} ms for all ${perHost}`,
      );
      perRoute = { first, limit: b, shorter: { limit: a, run: short }, estimateMs };
    }
    resetRoutes(lab);
    return { version: ctx.version, batch: { first: batchFirst, noChange: batchNoChange }, perRoute };
  } finally {
    ansible.closeMasters();
  }
}

/** Everything at one lab size: the baselines, then pod-routes through `pulumi`, then the engine's floor. */
export async function cliBench(
  hosts: number,
  ansiblePlaybook: string,
  ansibleVersion: string,
  log: (line: string) => void,
): Promise<CliRun> {
  return withLab(hosts, async (lab, spec, machinesFile) => {
    const dir = path.dirname(machinesFile);
    const failures: string[] = [];
    const check = (code: number, what: string) => code === 0 || failures.push(`${hosts} hosts, ${what}`);
    const scripts = hostScripts(spec);
    const routes = scripts.reduce((n, s) => n + s.plan.routes.length, 0);
    const counts = (proto: string) =>
      Object.fromEntries(
        lab.hosts.map((h) => [h.name, hostRoutes(lab, h.name, "root", CLUSTER_CIDR, "proto", proto).length]),
      );
    const expectBoot = (what: string, limit = Infinity) => {
      requireLabUp(lab, "reading the hosts' routes");
      const actual = counts("boot");
      const expected = Object.fromEntries(
        scripts.map((s) => [s.host.name, Math.min(limit, s.plan.routes.length)]),
      );
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        failures.push(`${hosts} hosts, ${what}: routes on the hosts ${JSON.stringify(actual)}`);
      }
    };

    // The runbook: one ssh per host with its `ip route add` lines, host after host.
    requireLabUp(lab, "running the runbook's loop");
    const runbookMs = await runbook(lab, scripts, check);
    expectBoot("the runbook's loop");
    log(`${hosts} hosts: the runbook's loop ${runbookMs} ms`);
    resetRoutes(lab);

    // pod-routes' host scripts alone: what HostRoutes runs on each host, all hosts at once, no engine.
    requireLabUp(lab, "running pod-routes' host scripts");
    const hostScriptsMs = await timed(async () => {
      const codes = await Promise.all(scripts.map((s) => ssh(lab, s.host.name, ["sh", "-s"], s.apply)));
      codes.forEach((c, i) => check(c, `host script on ${scripts[i]!.host.name}`));
    });
    log(`${hosts} hosts: pod-routes' host scripts alone ${hostScriptsMs} ms`);
    requireLabUp(lab, "removing the host scripts' routes");
    for (const s of scripts) check(await ssh(lab, s.host.name, ["sh", "-s"], s.remove), "host script remove");
    resetRoutes(lab);

    // Ansible, at its best and as people write it; each a first apply and a run with nothing to change.
    const ansible = await ansibleBaselines(path.join(dir, "ansible"), lab, ansiblePlaybook, {
      version: ansibleVersion,
      expectBoot,
      failures,
      log,
    });

    // pod-routes through `pulumi`, then the floor.
    const podRoutes = await sequence(
      podRoutesDeployment(path.join(dir, "pod-routes"), lab, machinesFile),
      "pod-routes",
      spec,
      failures,
      log,
    );
    resetRoutes(lab);
    const floor = await sequence(
      floorDeployment(path.join(dir, "floor"), spec),
      "floor",
      spec,
      failures,
      log,
    );
    return {
      hosts,
      routes,
      runbookMs,
      hostScriptsMs,
      ansible,
      podRoutes,
      floor,
      failures,
    };
  });
}

/** Medians of `samples` runs each, interleaved. */
export interface StartupResults {
  readonly samples: number;
  /** `pulumi preview` of the 3-host bare-metal stack, nothing deployed yet. */
  readonly podRoutesMs: number[];
  /** The same once it is deployed (no change). */
  readonly podRoutesDeployedMs: number[];
  /** `pulumi preview` of an empty TypeScript program (same runtime options). */
  readonly emptyMs: number[];
  /** With a tsconfig without noCheck (and without SWC): the program type-checked at each run. */
  readonly podRoutesTypeCheckMs: number[];
  readonly emptyTypeCheckMs: number[];
  /** A preview's CPU by process, one sample each (pod-routes', the empty program's). */
  readonly podRoutesOp: Op;
  readonly emptyOp: Op;
  /** Loading the stack program (index.ts and what it imports) and the provider from a clone, in plain Node. */
  readonly programLoad: LoadProfile;
  readonly providerLoad: LoadProfile;
}

/** What bench/load-profile.js prints: loading a TypeScript entry point the way the runtime does. */
export interface LoadProfile {
  readonly registerMs: number;
  readonly entryMs: number;
  /** The part of entryMs that was @pulumi/pulumi (already loaded by the runtime in a real run). */
  readonly pulumiMs: number;
  readonly tsFiles: number;
  readonly tsBytes: number;
  readonly transpileMs: number;
  readonly modules: number;
}

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
};

/** bench/load-profile.js in `cwd`: the median of three loads of `entry` with `tsconfig`, by entry time. */
function loadProfile(cwd: string, tsconfig: string, entry: string): LoadProfile {
  const samples = [0, 1, 2].map((): LoadProfile => {
    const out = execFileSync(process.execPath, [path.join(__dirname, "load-profile.js"), tsconfig, entry], {
      cwd,
      encoding: "utf8",
    });
    return JSON.parse(out.trim().split("\n").pop() ?? "{}") as LoadProfile;
  });
  return samples.sort((a, b) => a.entryMs - b.entryMs)[1]!;
}

/**
 * Start-up: `pulumi preview` of the 3-host bare-metal stack (examples/machines.txt, the lab's machines) and
 * of an empty TypeScript program, `samples` times each, alternating; then each with type-checking.
 */
export async function startupBench(
  dir: string,
  samples: number,
  typeCheckSamples: number,
  log: (line: string) => void,
): Promise<StartupResults> {
  const labDir = path.join(dir, "lab");
  const lab = labUp(path.join(PROJECT_ROOT, "examples", "machines.txt"), labDir);
  try {
    const clone = cloneCheckout(path.join(dir, "clone"));
    const cli = pulumiCli(clone, path.join(dir, "state"));
    cli.run(["stack", "select", "--create", "baremetal"]);
    cli.run(["config", "set", "--secret", "pod-routes:sshPrivateKey"], {
      input: fs.readFileSync(lab.clientKey, "utf8"),
    });
    const names = lab.hosts.map((h) => h.name);
    pinHostKeys(cli, lab, names);
    const empty = path.join(dir, "empty");
    writeTsProject(empty, "empty", "// An empty Pulumi program.\nexport {};\n");
    const emptyCli = pulumiCli(empty, path.join(dir, "empty-state"));
    emptyCli.run(["stack", "select", "--create", "bench"]);

    const preview = async (c: PulumiCli, env: Record<string, string> = {}) => {
      if (c === cli) requireLabUp(lab, "previewing the bare-metal stack");
      return strip(await runPulumi(c, ["preview"], env));
    };
    // One of each first, not counted: the file caches warm.
    await preview(cli);
    await preview(emptyCli);
    const podRoutesMs: number[] = [];
    const emptyMs: number[] = [];
    let podRoutesOp: Op | undefined;
    let emptyOp: Op | undefined;
    for (let i = 0; i < samples; i++) {
      const p = await preview(cli);
      const e = await preview(emptyCli);
      podRoutesMs.push(p.ms);
      emptyMs.push(e.ms);
      podRoutesOp ??= p;
      emptyOp ??= e;
    }
    log(
      `start-up: pulumi preview, 3-host stack ${podRoutesMs.join(", ")} ms; empty program ${emptyMs.join(", ")} ms`,
    );
    const podRoutesTypeCheckMs: number[] = [];
    const emptyTypeCheckMs: number[] = [];
    for (let i = 0; i < typeCheckSamples; i++) {
      podRoutesTypeCheckMs.push((await typeChecked(clone, () => preview(cli))).ms);
      emptyTypeCheckMs.push((await typeChecked(empty, () => preview(emptyCli))).ms);
    }
    log(
      `start-up, type-checked: 3-host stack ${podRoutesTypeCheckMs.join(", ")} ms; empty program ${emptyTypeCheckMs.join(", ")} ms`,
    );
    requireLabUp(lab, "deploying the bare-metal stack");
    await runPulumi(cli, ["up", "--yes", "--skip-preview"]);
    const podRoutesDeployedMs: number[] = [];
    for (let i = 0; i < samples; i++) podRoutesDeployedMs.push((await preview(cli)).ms);
    log(`start-up: pulumi preview of the deployed 3-host stack ${podRoutesDeployedMs.join(", ")} ms`);
    requireLabUp(lab, "destroying the bare-metal stack");
    await runPulumi(cli, ["destroy", "--yes", "--skip-preview"]);

    // What loading costs, outside the engine: the stack program's modules, and the provider as the provider
    // process loads it from a clone (host-routes.ts' shim: ts-node, then ssh/provider-module.ts).
    const programLoad = loadProfile(clone, "tsconfig.program.json", "index.ts");
    const providerLoad = loadProfile(clone, "tsconfig.json", "ssh/provider-module.ts");
    log(
      `start-up: loading the program ${JSON.stringify(programLoad)}, the provider ${JSON.stringify(providerLoad)}`,
    );
    return {
      samples,
      podRoutesMs,
      podRoutesDeployedMs,
      emptyMs,
      podRoutesTypeCheckMs,
      emptyTypeCheckMs,
      podRoutesOp: podRoutesOp!,
      emptyOp: emptyOp!,
      programLoad,
      providerLoad,
    };
  } finally {
    labDown(labDir);
  }
}
