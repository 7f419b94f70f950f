// The bare-metal stack as users run it: `pulumi` itself, in a clone of this repository, on its own
// Pulumi.yaml, Pulumi.baremetal.yaml and stack program (index.ts), with the commands the README gives
// (`stack select --create`, `config set --secret … < key`, `config set --path`, `preview --diff`, `up --yes`,
// `stack output`, `refresh`, `destroy`), against the lab. Nothing is mocked: the engine plans, applies,
// refreshes and deletes; HostRoutes (a dynamic provider) talks to the lab's real sshd; the hosts' routes are
// read back with `ip route` and proven with pings. The program runs through the language host beside the CLI
// (here the project's test stand-in for the official one, scripts/language-host).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  hostExec,
  hostRoutes,
  hostRun,
  hostSnapshot,
  Lab,
  labHost,
  podPing,
  sshdStart,
  sshdStop,
  sshRun,
} from "../../lab/lab";
import {
  changeSummary,
  CliOptions,
  CliResult,
  cloneCheckout,
  PulumiCli,
  pulumiCli,
} from "../../lab/pulumi-cli";
import {
  cutTranscript,
  readmeTranscript,
  TranscriptName,
  TRANSCRIPTS,
  withTranscript,
} from "../../lab/transcripts";
import { LOCK_FILE, renderDelete, STATE_FILE } from "../../ssh/host-program/render";
import {
  EXPECTED_ROUTE_TABLE,
  EXPECTED_ROUTES_BY_HOST as EXPECTED,
  MACHINES_TXT,
  PROJECT_ROOT,
} from "../fixtures";
import { createStackWithKey, engineLab, ourRoutes, removeLabScratch, snapshotHosts } from "../helpers/lab";

jest.setTimeout(600_000);

// The runbook's three machines, and a spare one for a node to move to.
const SPARE = "198.19.249.200 spare.kubernetes.local spare";
const RUNBOOK = fs.readFileSync(MACHINES_TXT, "utf8").trim().split("\n");
const HOSTS = ["server", "node-0", "node-1", "spare"];

let lab: Lab;
let cli: PulumiCli;
let dir: string;
let clone: string;
let files = 0;
const pinned: Record<string, string> = {};
let baseline: Record<string, string> = {};

/** `pulumi <args>` in the clone (only once the lab is the one that is up: see beforeAll). */
const pulumi = (args: readonly string[], options: CliOptions = {}): CliResult => cli.run(args, options);
/** A command that must fail: its whole output. */
function failing(args: readonly string[], options: CliOptions = {}): string {
  const result = pulumi(args, { ...options, mayFail: true });
  if (result.code === 0)
    throw new Error(`pulumi ${args.join(" ")} succeeded; expected it to fail:\n${result.output}`);
  return result.output;
}

/** The routes pod-routes owns on a host, as `ip route` prints them (without the device). */
const ours = (host: string) => ourRoutes(lab, host);
const allOurs = () => Object.fromEntries(HOSTS.map((h) => [h, ours(h)]));

/** Pins a host's key as the README says: `pulumi config set --path 'pod-routes:ssh.hostKeys.<host>' …`. */
function pin(name: string, ip: string): void {
  const key = lab.hosts.find((h) => h.ip === ip)?.hostKey;
  if (key === undefined) throw new Error(`no lab host at ${ip}`);
  if (pinned[name] === key) return;
  cli.run(["config", "set", "--path", `pod-routes:ssh.hostKeys.${name}`, key]);
  pinned[name] = key;
}

/** The stack on these machines.txt lines: a file in the clone, named by `pod-routes:machinesFile`. */
function configure(lines: readonly string[]): void {
  const file = `machines-${++files}.txt`;
  fs.writeFileSync(path.join(clone, file), `${lines.join("\n")}\n`);
  cli.run(["config", "set", "pod-routes:machinesFile", file]);
  const names = new Set<string>();
  for (const line of lines) {
    const [ip = "", , name = ""] = line.split(/\s+/);
    pin(name, ip);
    names.add(name);
  }
  // A node removed from the stack: its pinned key goes too (pod-routes refuses keys of hosts it does not know).
  for (const name of Object.keys(pinned).filter((n) => !names.has(n))) {
    cli.run(["config", "rm", "--path", `pod-routes:ssh.hostKeys.${name}`]);
    delete pinned[name];
  }
}

/**
 * The README's transcript `name` must be what the CLI printed here; `npm run readme-transcripts` (this file
 * with POD_ROUTES_WRITE_TRANSCRIPTS=1) writes it into the README instead.
 */
function pinTranscript(name: TranscriptName, text: string): void {
  const readmeFile = path.join(PROJECT_ROOT, "README.md");
  const readme = fs.readFileSync(readmeFile, "utf8");
  if (process.env["POD_ROUTES_WRITE_TRANSCRIPTS"] === "1") {
    fs.writeFileSync(readmeFile, withTranscript(readme, name, text));
  } else {
    expect([name, readmeTranscript(readme, name)]).toEqual([name, text]);
  }
}

/** What the stack's state says of a host's HostRoutes (its outputs). */
function stateOf(host: string): Record<string, unknown> | undefined {
  return cli.exportStack().deployment.resources?.find((r) => r.urn.endsWith(`HostRoutes::pod-routes-${host}`))
    ?.outputs;
}

beforeAll(() => {
  ({ dir, lab } = engineLab("baremetal", [...RUNBOOK, SPARE]));
  baseline = snapshotHosts(lab);
  clone = cloneCheckout(path.join(dir, "clone"));
  cli = pulumiCli(clone, path.join(dir, "pulumi"), {}, { lab });
});

afterAll(() => removeLabScratch(dir));

describe("the bare-metal stack through the pulumi CLI, as the README runs it", () => {
  it("sets the stack up with the README's commands: the key as a secret, the host keys with --path", () => {
    createStackWithKey(cli, lab, "baremetal", "pod-routes:sshPrivateKey");
    // The stack file names examples/machines.txt, the lab's machines: only the host keys are the user's.
    for (const line of RUNBOOK) {
      const [ip = "", , name = ""] = line.split(/\s+/);
      pin(name, ip);
    }
    const stackFile = fs.readFileSync(path.join(clone, "Pulumi.baremetal.yaml"), "utf8");
    expect(stackFile).toContain("pod-routes:machinesFile: examples/machines.txt");
    expect(stackFile).toContain("secure: v1:");
    expect(stackFile).not.toMatch(/hostKeys:[^]*EXAMPLE/);
  });

  it("previews one create per host, showing each host's routes, with no warning", () => {
    const preview = pulumi(["preview", "--diff"]);
    // The stack, the component, the stack's identity (StackIdentity), and one HostRoutes per host.
    expect(changeSummary(preview.output)).toEqual({ create: 6 });
    expect(preview.output).toContain('10.200.1.0/24: "198.19.249.136 node-1"');
    expect(preview.output).toContain('10.200.0.0/24: "198.19.249.34 node-0"');
    expect(preview.output).toContain("+ pulumi-nodejs:dynamic/pod-routes:HostRoutes: (create)");
    expect(preview.output).not.toMatch(/warning|DEP0\d+/i);
    expect(allOurs()).toEqual({ server: [], "node-0": [], "node-1": [], spare: [] });
  });

  it("installs exactly the runbook's routes, and pods on different nodes reach each other", () => {
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
    const up = pulumi(["up", "--yes"]);
    expect(changeSummary(up.output)).toEqual({ create: 6 });
    expect(up.output).not.toMatch(/warning/i);
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    expect(podPing(lab, "node-1", labHost(lab, "node-0").podIp!)).toBe(true);
    expect(JSON.parse(cli.run(["stack", "output", "routes", "--json"]).stdout)).toEqual(EXPECTED_ROUTE_TABLE);
    expect(JSON.parse(cli.run(["stack", "output", "hosts", "--json"]).stdout)).toEqual({
      server: 2,
      "node-0": 1,
      "node-1": 1,
    });
  });

  it("stores the SSH private key only encrypted, and no script in the state", () => {
    const checkpoint = cli.checkpoint("pod-routes", "baremetal");
    const keyLines = fs
      .readFileSync(lab.clientKey, "utf8")
      .split("\n")
      .filter((l) => l.length > 20 && !l.startsWith("-----"));
    expect(keyLines.length).toBeGreaterThan(0);
    for (const line of keyLines) expect(checkpoint).not.toContain(line);
    expect(checkpoint).toContain("pod-routes-node-0");
    // Every copy of the key in the state is a secret's ciphertext.
    const copies = checkpoint.match(/"privateKey":\{"[0-9a-f]{32}":"[0-9a-f]{32}","ciphertext":"v1:/g) ?? [];
    expect(copies.length).toBe(2 * 3); // inputs and outputs of each host
    expect(checkpoint).not.toMatch(/"privateKey":"/);
    expect(checkpoint).not.toMatch(/ip -batch|#!\/bin\/sh|POD_ROUTES_DATA/);
    // The provider in the state is a reference to pod-routes' code (here the clone's shim), not the code.
    const resources = (
      JSON.parse(checkpoint) as {
        checkpoint: { latest: { resources: { type: string; inputs?: Record<string, unknown> }[] } };
      }
    ).checkpoint.latest.resources.filter((r) => r.type.endsWith("HostRoutes"));
    expect(resources).toHaveLength(3);
    for (const r of resources) expect(String(r.inputs?.["__provider"]).length).toBeLessThan(3000);
  });

  it("changes nothing on a second up, without opening a single SSH session", () => {
    cli.sessions.reset();
    const again = pulumi(["up", "--yes"]);
    expect(changeSummary(again.output)).toEqual({ same: 6 });
    expect(cli.sessions.count()).toBe(0);
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
  });

  it("issue 17 item 1: after npm run build and npm pack, pulumi preview still runs the stack program: no change, no warning", () => {
    for (const step of [
      ["run", "build"],
      ["pack", "--pack-destination", dir],
    ]) {
      const built = spawnSync("npm", step, { cwd: clone, encoding: "utf8", timeout: 300_000 });
      expect([step.join(" "), built.status, built.stderr.slice(-2000)]).toEqual([
        step.join(" "),
        0,
        expect.any(String),
      ]);
      expect(fs.existsSync(path.join(clone, "dist", "pod-routes.js"))).toBe(true);
      const preview = pulumi(["preview", "--diff"]);
      // Without Pulumi.yaml's `main`, the runtime ran package.json's export (the library root): `- 4 to delete`.
      expect([step.join(" "), changeSummary(preview.output)]).toEqual([step.join(" "), { same: 6 }]);
      expect(preview.output).not.toMatch(/warning|DEP0\d+|entry point/i);
    }
    fs.rmSync(path.join(clone, "dist"), { recursive: true, force: true });
  });

  it("issue 17 item 2: runs the program without type-checking the project (that is npm run typecheck's job)", () => {
    const file = path.join(clone, "stack", "source.ts");
    const original = fs.readFileSync(file, "utf8");
    // A type error that changes nothing at run time: a type-checking runtime fails the preview on it.
    fs.writeFileSync(
      file,
      `${original}\nexport const typeCheckProbe: number = "not a number" as unknown as string;\n`,
    );
    try {
      const preview = pulumi(["preview"]);
      expect(changeSummary(preview.output)).toEqual({ same: 6 });
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it("finds a route deleted by hand on refresh, and up --refresh puts it back", () => {
    hostExec(lab, "node-0", ["ip", "route", "del", "10.200.1.0/24"]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
    cli.sessions.reset();
    const refresh = pulumi(["refresh", "--yes", "--diff"]);
    expect(changeSummary(refresh.output)).toEqual({ same: 5, update: 1 });
    expect(refresh.output).toContain('"10.200.1.0/24 via 198.19.249.136 is missing (removed by hand?)"');
    pinTranscript(
      TRANSCRIPTS.refreshDrift,
      cutTranscript(refresh.output, "node-0", "drift", "pulumi refresh --diff"),
    );
    // One session per host and pass: `pulumi refresh` previews (reading every host), then refreshes.
    expect(cli.sessions.count()).toBe(2 * 3);
    expect(stateOf("node-0")?.["drift"]).toEqual([
      "10.200.1.0/24 via 198.19.249.136 is missing (removed by hand?)",
    ]);
    const repair = pulumi(["up", "--yes", "--refresh"]);
    expect(changeSummary(repair.output)).toEqual({ same: 5, update: 1 });
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    expect(stateOf("node-0")?.["drift"]).toEqual([]);
  });

  it("finds a missing state file and a foreign route in the way, and refuses to replace the foreign route", () => {
    hostExec(lab, "server", ["rm", STATE_FILE]);
    hostExec(lab, "node-1", [
      "ip",
      "route",
      "replace",
      "10.200.0.0/24",
      "via",
      "198.19.249.10",
      "proto",
      "static",
    ]);
    pulumi(["refresh", "--yes"]);
    expect(stateOf("server")?.["drift"]).toEqual([
      `pod-routes' state file ${STATE_FILE} is missing (the host was rebuilt or cleaned by hand?)`,
    ]);
    expect(String(stateOf("node-1")?.["drift"])).toContain(
      "10.200.0.0/24 via 198.19.249.34: in the way: 10.200.0.0/24 via 198.19.249.10",
    );
    // The up repairs the server; node-1 is refused, naming the route, and left as it is.
    const message = failing(["up", "--yes"]);
    expect(message).toContain("host node-1 (198.19.249.136:22)");
    expect(message).toContain("already has a route 10.200.0.0/24 via 198.19.249.10");
    expect(hostExec(lab, "server", ["cat", STATE_FILE])).toContain("10.200.1.0/24 198.19.249.136");
    expect(hostRoutes(lab, "node-1", "10.200.0.0/24")).toEqual([
      "10.200.0.0/24 via 198.19.249.10 dev eth0 proto static",
    ]);
    // Once the foreign route is gone, the next up converges.
    hostExec(lab, "node-1", ["ip", "route", "del", "10.200.0.0/24"]);
    pulumi(["up", "--yes", "--refresh"]);
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(changeSummary(pulumi(["up", "--yes"]).output)).toEqual({ same: 6 });
  });

  it("keeps a host it cannot reach on refresh, and names it", () => {
    sshdStop(lab, "node-1");
    try {
      const message = failing(["refresh", "--yes"]);
      expect(message).toContain("pod-routes: refreshing host node-1 (198.19.249.136:22)");
      expect(message).toContain("Its last known state is kept");
      expect(stateOf("node-1")).toBeDefined();
    } finally {
      sshdStart(lab, "node-1");
    }
    expect(changeSummary(pulumi(["refresh", "--yes"]).output)).toEqual({ same: 6 });
  });

  it("fails an up naming a host whose sshd is down, while with --continue-on-error the other hosts converge", () => {
    // A new worker, node-2, on the spare machine: every host gets a route to its pods.
    configure([...RUNBOOK, "198.19.249.200 node-2.kubernetes.local node-2 10.200.2.0/24"]);
    const preview = pulumi(["preview", "--diff"]);
    pinTranscript(TRANSCRIPTS.previewNodeAdded, cutTranscript(preview.output, "pod-routes-node-0", "routes"));
    sshdStop(lab, "node-0");
    try {
      const message = failing(["up", "--yes", "--continue-on-error"]);
      expect(message).toContain("host node-0 (198.19.249.34:22): cannot connect to 198.19.249.34:22");
      expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
      expect(ours("server")).toEqual([...EXPECTED["server"]!, "10.200.2.0/24 via 198.19.249.200"]);
      expect(ours("spare")).toEqual(["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"]);
    } finally {
      sshdStart(lab, "node-0");
    }
    const recovery = pulumi(["up", "--yes"]);
    expect(changeSummary(recovery.output)).toEqual({ same: 6, update: 1 });
    expect(ours("node-0")).toEqual([...EXPECTED["node-0"]!, "10.200.2.0/24 via 198.19.249.200"]);
  });

  it("removes a node: its routes go from every host, and its machine is as it was", () => {
    configure(RUNBOOK);
    const removal = pulumi(["up", "--yes"]);
    expect(changeSummary(removal.output)).toEqual({ delete: 1, same: 3, update: 3 });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(hostSnapshot(lab, "spare")).toBe(baseline["spare"]);
  });

  it("moves a node to another machine: the old one is cleaned first, the new one takes its routes", () => {
    configure(
      RUNBOOK.map((l) =>
        l.replace("198.19.249.136 node-1.kubernetes.local", "198.19.249.200 node-1.kubernetes.local"),
      ),
    );
    const up = pulumi(["up", "--yes", "--diff"]);
    // node-1's HostRoutes is replaced (its address is another machine); the others route to its new address.
    expect(changeSummary(up.output)).toEqual({ replace: 1, same: 3, update: 2 });
    expect(hostSnapshot(lab, "node-1")).toBe(baseline["node-1"]);
    expect(allOurs()).toEqual({
      server: ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.200"],
      "node-0": ["10.200.1.0/24 via 198.19.249.200"],
      "node-1": [],
      spare: ["10.200.0.0/24 via 198.19.249.34"],
    });
  });

  it("refuses to leave an unreachable old machine silently, and forgets it when told to", () => {
    configure(RUNBOOK);
    sshdStop(lab, "spare");
    try {
      const message = failing(["up", "--yes"]);
      expect(message).toContain("removing the routes of host node-1 (198.19.249.200:22)");
      expect(message).toContain("POD_ROUTES_FORGET_UNREACHABLE=node-1");
      expect(message).toContain("pulumi state delete");
      const forgot = pulumi(["up", "--yes"], { env: { POD_ROUTES_FORGET_UNREACHABLE: "node-1" } });
      expect(changeSummary(forgot.output)).toMatchObject({ replace: 1 });
    } finally {
      sshdStart(lab, "spare");
    }
    expect(allOurs()).toEqual({ ...EXPECTED, spare: ["10.200.0.0/24 via 198.19.249.34"] });
    // The forgotten machine, cleaned by hand as the message says (the delete script that retires a host).
    const retire = sshRun(lab, "spare", renderDelete({ host: "spare", owner: "*" }));
    expect(retire.code).toBe(0);
    expect(hostSnapshot(lab, "spare")).toBe(baseline["spare"]);
  });

  it("issue 18 item 11: a refresh beside another run on a host takes turns with it (the host's lock), then reads it", async () => {
    // Another pod-routes run on node-0 (a second stack's, the boot unit, a script by hand) holds the lock 15 s,
    // longer than a whole refresh takes here: finishing after it, and only then, shows the refresh waited.
    const started = Date.now();
    hostExec(lab, "node-0", [
      "sh",
      "-c",
      `mkdir -p "$(dirname ${LOCK_FILE})" && setsid flock ${LOCK_FILE} sleep 15 </dev/null >/dev/null 2>&1 &`,
    ]);
    const held = () => hostRun(lab, "node-0", ["flock", "-n", LOCK_FILE, "true"]).code !== 0;
    expect(held()).toBe(true);
    const refresh = await cli.start(["refresh", "--yes"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    expect(held()).toBe(false);
    expect(changeSummary(refresh.output)).toEqual({ same: 6 });
    expect(stateOf("node-0")?.["drift"]).toEqual([]);
  });

  it("destroy leaves every host exactly as it was before pod-routes", () => {
    const destroy = pulumi(["destroy", "--yes"]);
    expect(changeSummary(destroy.output)).toEqual({ delete: 6 });
    for (const host of HOSTS) expect(hostSnapshot(lab, host)).toBe(baseline[host]);
  });

  it("adopts the routes the runbook made by hand only when told to", () => {
    const runbook: Record<string, string[][]> = {
      server: [
        ["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"],
        ["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"],
      ],
      "node-0": [["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"]],
      "node-1": [["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"]],
    };
    for (const [host, commands] of Object.entries(runbook)) for (const c of commands) hostExec(lab, host, c);
    const message = failing(["up", "--yes"]);
    expect(message).toContain("already has the route 10.200.1.0/24 via 198.19.249.136");
    expect(message).toContain("Set pod-routes:adopt to true");
    cli.run(["config", "set", "pod-routes:adopt", "true"]);
    const adopted = pulumi(["up", "--yes"]);
    expect(changeSummary(adopted.output)).toMatchObject({ create: 3 });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    pulumi(["destroy", "--yes"]);
    // The adopted routes were pod-routes' from then on: destroy removes them, and nothing else.
    for (const host of HOSTS) expect(ours(host)).toEqual([]);
    for (const host of HOSTS)
      expect(
        hostRoutes(lab, host).filter((l) => l.startsWith("10.200.") && !l.includes("proto kernel")),
      ).toEqual([]);
  });

  it("issue 18 item 11: takes over hosts set up by hand with npx pod-routes script, and destroy cleans them", () => {
    cli.run(["config", "set", "pod-routes:adopt", "false"]);
    // The runbook by hand, pod-routes' way: each host's script from `npx pod-routes script`, piped to `sh -s`.
    for (const host of ["server", "node-0", "node-1"]) {
      const script = spawnSync(
        process.execPath,
        [path.join(PROJECT_ROOT, "bin", "pod-routes.js"), "script", MACHINES_TXT, "--host", host],
        { cwd: PROJECT_ROOT, encoding: "utf8" },
      );
      expect([host, script.status, script.stderr]).toEqual([host, 0, ""]);
      expect(sshRun(lab, host, script.stdout).code).toBe(0);
    }
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(hostExec(lab, "node-0", ["cat", "/etc/pod-routes/owner"]).trim()).toBe("by-hand:node-0");
    // The stack takes them over without adopt: the routes are pod-routes' own already. (After the destroy
    // above the whole stack is created again: the stack, the component, its identity and three hosts.)
    const up = pulumi(["up", "--yes"]);
    expect(changeSummary(up.output)).toEqual({ create: 6 });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(hostExec(lab, "node-0", ["cat", "/etc/pod-routes/owner"]).trim()).toMatch(
      /^pulumi:organization\/pod-routes\/baremetal@[0-9a-f]{16}:pod-routes-node-0$/,
    );
    pulumi(["destroy", "--yes"]);
    for (const host of HOSTS) expect([host, hostSnapshot(lab, host)]).toEqual([host, baseline[host]]);
  });
});
