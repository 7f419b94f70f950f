// The bare-metal stack under the real Pulumi engine, against the lab: the repository's stack program
// (index.ts) with its stack config, run inline through the Automation API, as `pulumi up` runs it. Nothing
// is mocked: the engine plans, applies, refreshes and deletes; HostRoutes (a dynamic provider) talks to the
// lab's real sshd over SSH; the hosts' routes are read back with `ip route` and proven with pings.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createEngine, Engine } from "../../lab/engine";
import {
  hostExec,
  hostRoutes,
  hostSnapshot,
  Lab,
  labDown,
  labHost,
  labUp,
  podPing,
  requireRoot,
  sshdStart,
  sshdStop,
  sshRun,
} from "../../lab/lab";
import { renderDelete, ROUTE_PROTO, STATE_FILE } from "../../ssh/scripts";
import { EXPECTED_ROUTES, MACHINES_TXT, PROJECT_ROOT } from "../fixtures";

jest.setTimeout(600_000);

// The runbook's three machines, and a spare one for a node to move to.
const SPARE = "198.19.249.200 spare.kubernetes.local spare";
const RUNBOOK = fs.readFileSync(MACHINES_TXT, "utf8").trim().split("\n");
const EXPECTED = Object.fromEntries(EXPECTED_ROUTES.map(([h, r]) => [h, [...r]])) as Record<string, string[]>;
const HOSTS = ["server", "node-0", "node-1", "spare"];

let lab: Lab;
let engine: Engine;
let dir: string;
let files = 0;
const baseline: Record<string, string> = {};

/** The routes pod-routes owns on a host, as `ip route` prints them (without the device). */
const ours = (host: string) =>
  hostRoutes(lab, host, "proto", String(ROUTE_PROTO)).map((l) => l.replace(/ dev \S+\s*$/, ""));
const allOurs = () => Object.fromEntries(HOSTS.map((h) => [h, ours(h)]));
const program = async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the stack program, as the engine runs it
  const stackProgram = require(path.join(PROJECT_ROOT, "index.ts")) as () => Promise<Record<string, unknown>>;
  return stackProgram();
};

/** The bare-metal stack for these machines.txt lines, with the lab's host keys pinned by address. */
async function configure(lines: readonly string[], extra: Record<string, unknown> = {}): Promise<void> {
  const file = path.join(dir, `machines-${++files}.txt`);
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  const hostKeys = Object.fromEntries(
    lines.map((line) => {
      const [ip, , name] = line.split(/\s+/);
      return [name, lab.hosts.find((h) => h.ip === ip)?.hostKey];
    }),
  );
  const config: Record<string, { value: string; secret?: boolean }> = {
    "pod-routes:cloud": { value: "baremetal" },
    "pod-routes:clusterCidr": { value: "10.200.0.0/16" },
    "pod-routes:machinesFile": { value: file },
    "pod-routes:ssh": { value: JSON.stringify({ user: "root", hostKeys }) },
    "pod-routes:sshPrivateKey": { value: fs.readFileSync(lab.clientKey, "utf8"), secret: true },
  };
  for (const [key, value] of Object.entries(extra)) config[key] = { value: String(value) };
  await engine.stack.setAllConfig(config);
}

/** What the stack's state says of a host's HostRoutes (its outputs). */
async function stateOf(host: string): Promise<Record<string, unknown> | undefined> {
  const deployment = await engine.stack.exportStack();
  const resources = (
    deployment.deployment as { resources?: { urn: string; outputs?: Record<string, unknown> }[] }
  ).resources;
  return resources?.find((r) => r.urn.endsWith(`HostRoutes::pod-routes-${host}`))?.outputs;
}

async function failureOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return String((error as Error).message);
  }
  throw new Error("expected the operation to fail, but it succeeded");
}

beforeAll(async () => {
  requireRoot();
  fs.mkdirSync(path.join(PROJECT_ROOT, ".tmp"), { recursive: true });
  dir = fs.mkdtempSync(path.join(PROJECT_ROOT, ".tmp", "engine-baremetal-"));
  const machines = path.join(dir, "lab-machines.txt");
  fs.writeFileSync(machines, `${[...RUNBOOK, SPARE].join("\n")}\n`);
  lab = labUp(machines, path.join(dir, "lab"));
  for (const host of HOSTS) baseline[host] = hostSnapshot(lab, host);
  engine = await createEngine("baremetal", program, { dir: path.join(dir, "engine") });
  await configure(RUNBOOK);
});

afterAll(() => {
  try {
    if (dir) labDown(path.join(dir, "lab"));
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("the bare-metal stack under the real engine", () => {
  it("previews one create per host, showing each host's routes", async () => {
    const preview = await engine.stack.preview({ diff: true });
    // The stack, the component, and one HostRoutes per host.
    expect(preview.changeSummary).toEqual({ create: 5 });
    expect(preview.stdout).toContain('10.200.1.0/24: "198.19.249.136 node-1"');
    expect(preview.stdout).toContain('10.200.0.0/24: "198.19.249.34 node-0"');
    expect(preview.stdout).toContain("+ pulumi-nodejs:dynamic/pod-routes:HostRoutes: (create)");
    expect(allOurs()).toEqual({ server: [], "node-0": [], "node-1": [], spare: [] });
  });

  it("installs exactly the runbook's routes, and pods on different nodes reach each other", async () => {
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
    const up = await engine.stack.up();
    expect(up.summary.resourceChanges).toEqual({ create: 5 });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    expect(podPing(lab, "node-1", labHost(lab, "node-0").podIp!)).toBe(true);
    expect(up.outputs["routes"]?.value).toEqual([
      {
        destination: "10.200.0.0/24",
        nextHop: "198.19.249.34",
        node: "node-0",
        where: "every host but node-0",
      },
      {
        destination: "10.200.1.0/24",
        nextHop: "198.19.249.136",
        node: "node-1",
        where: "every host but node-1",
      },
    ]);
    expect(up.outputs["hosts"]?.value).toEqual({ server: 2, "node-0": 1, "node-1": 1 });
  });

  it("stores the SSH private key only encrypted, and no script in the state", () => {
    const checkpoint = engine.checkpoint();
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
    // The provider in the state is a reference to pod-routes' code (here the repository's shim), not the code.
    const resources = (
      JSON.parse(checkpoint) as {
        checkpoint: { latest: { resources: { type: string; inputs?: Record<string, unknown> }[] } };
      }
    ).checkpoint.latest.resources.filter((r) => r.type.endsWith("HostRoutes"));
    expect(resources).toHaveLength(3);
    for (const r of resources) expect(String(r.inputs?.["__provider"]).length).toBeLessThan(3000);
  });

  it("changes nothing on a second up, without opening a single SSH session", async () => {
    engine.sessions.reset();
    const again = await engine.stack.up();
    expect(again.summary.resourceChanges).toEqual({ same: 5 });
    expect(engine.sessions.count()).toBe(0);
    // The up before this one opened one session per host (the log works).
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
  });

  it("finds a route deleted by hand on refresh, and up --refresh puts it back", async () => {
    hostExec(lab, "node-0", ["ip", "route", "del", "10.200.1.0/24"]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
    engine.sessions.reset();
    const refresh = await engine.stack.refresh();
    expect(refresh.summary.resourceChanges).toEqual({ same: 4, update: 1 });
    // One session per host: a refresh reads every host.
    expect(engine.sessions.count()).toBe(3);
    expect((await stateOf("node-0"))?.["drift"]).toEqual([
      "10.200.1.0/24 via 198.19.249.136 is missing (removed by hand?)",
    ]);
    const repair = await engine.stack.up({ refresh: true });
    expect(repair.summary.resourceChanges).toEqual({ same: 4, update: 1 });
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    expect((await stateOf("node-0"))?.["drift"]).toEqual([]);
  });

  it("finds a missing state file and a foreign route in the way, and refuses to replace the foreign route", async () => {
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
    await engine.stack.refresh();
    expect((await stateOf("server"))?.["drift"]).toEqual([
      `pod-routes' state file ${STATE_FILE} is missing (the host was rebuilt or cleaned by hand?)`,
    ]);
    expect(String((await stateOf("node-1"))?.["drift"])).toContain(
      "10.200.0.0/24 via 198.19.249.34: in the way: 10.200.0.0/24 via 198.19.249.10",
    );
    // The up repairs the server; node-1 is refused, naming the route, and left as it is.
    const message = await failureOf(() => engine.stack.up());
    expect(message).toContain("host node-1 (198.19.249.136:22)");
    expect(message).toContain("already has a route 10.200.0.0/24 via 198.19.249.10");
    expect(hostExec(lab, "server", ["cat", STATE_FILE])).toContain("10.200.1.0/24 198.19.249.136");
    expect(hostRoutes(lab, "node-1", "10.200.0.0/24")).toEqual([
      "10.200.0.0/24 via 198.19.249.10 dev eth0 proto static",
    ]);
    // Once the foreign route is gone, the next up converges.
    hostExec(lab, "node-1", ["ip", "route", "del", "10.200.0.0/24"]);
    await engine.stack.up({ refresh: true });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect((await engine.stack.up()).summary.resourceChanges).toEqual({ same: 5 });
  });

  it("keeps a host it cannot reach on refresh, and names it", async () => {
    sshdStop(lab, "node-1");
    try {
      const message = await failureOf(() => engine.stack.refresh());
      expect(message).toContain("pod-routes: refreshing host node-1 (198.19.249.136:22)");
      expect(message).toContain("Its last known state is kept");
      expect(await stateOf("node-1")).toBeDefined();
    } finally {
      sshdStart(lab, "node-1");
    }
    expect((await engine.stack.refresh()).summary.resourceChanges).toEqual({ same: 5 });
  });

  it("fails an up naming a host whose sshd is down, while the other hosts converge", async () => {
    // A new worker on the spare machine: every host gets a route to its pods.
    const withSpare = [...RUNBOOK, "198.19.249.200 spare.kubernetes.local spare 10.200.2.0/24"];
    await configure(withSpare);
    sshdStop(lab, "node-0");
    try {
      // `pulumi up --continue-on-error`: the engine does not stop starting the other hosts at the first failure.
      const run = spawnSync(
        process.execPath,
        [
          "-r",
          "ts-node/register/transpile-only",
          path.join(__dirname, "up-continue.ts"),
          engine.dir,
          "baremetal",
        ],
        { encoding: "utf8", timeout: 300_000, env: process.env },
      );
      expect(run.stderr).toBe("");
      const { message } = JSON.parse(run.stdout) as { message: string };
      expect(message).toContain("host node-0 (198.19.249.34:22): cannot connect to 198.19.249.34:22");
      expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
      expect(ours("server")).toEqual([...EXPECTED["server"]!, "10.200.2.0/24 via 198.19.249.200"]);
      expect(ours("spare")).toEqual(["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"]);
    } finally {
      sshdStart(lab, "node-0");
    }
    const recovery = await engine.stack.up();
    expect(recovery.summary.resourceChanges).toEqual({ same: 5, update: 1 });
    expect(ours("node-0")).toEqual([...EXPECTED["node-0"]!, "10.200.2.0/24 via 198.19.249.200"]);
  });

  it("removes a node: its routes go from every host, and its machine is as it was", async () => {
    await configure(RUNBOOK);
    const removal = await engine.stack.up();
    expect(removal.summary.resourceChanges).toEqual({ delete: 1, same: 2, update: 3 });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    expect(hostSnapshot(lab, "spare")).toBe(baseline["spare"]);
  });

  it("moves a node to another machine: the old one is cleaned first, the new one takes its routes", async () => {
    const moved = RUNBOOK.map((l) =>
      l.replace("198.19.249.136 node-1.kubernetes.local", "198.19.249.200 node-1.kubernetes.local"),
    );
    await configure(moved);
    const up = await engine.stack.up({ diff: true });
    // node-1's HostRoutes is replaced (its address is another machine); the others route to its new address.
    expect(up.summary.resourceChanges).toEqual({ replace: 1, same: 2, update: 2 });
    expect(hostSnapshot(lab, "node-1")).toBe(baseline["node-1"]);
    expect(allOurs()).toEqual({
      server: ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.200"],
      "node-0": ["10.200.1.0/24 via 198.19.249.200"],
      "node-1": [],
      spare: ["10.200.0.0/24 via 198.19.249.34"],
    });
  });

  it("refuses to leave an unreachable old machine silently, and forgets it when told to", async () => {
    await configure(RUNBOOK);
    sshdStop(lab, "spare");
    try {
      const message = await failureOf(() => engine.stack.up());
      expect(message).toContain("removing the routes of host node-1 (198.19.249.200:22)");
      expect(message).toContain("POD_ROUTES_FORGET_UNREACHABLE=node-1");
      expect(message).toContain("pulumi state delete");
      engine.stack.workspace.envVars["POD_ROUTES_FORGET_UNREACHABLE"] = "node-1";
      const forgot = await engine.stack.up();
      expect(forgot.summary.resourceChanges).toMatchObject({ replace: 1 });
    } finally {
      delete engine.stack.workspace.envVars["POD_ROUTES_FORGET_UNREACHABLE"];
      sshdStart(lab, "spare");
    }
    expect(allOurs()).toEqual({ ...EXPECTED, spare: ["10.200.0.0/24 via 198.19.249.34"] });
    // The forgotten machine, cleaned by hand as the message says (the delete script that retires a host).
    const retire = sshRun(lab, "spare", renderDelete({ host: "spare", owner: "*" }));
    expect(retire.code).toBe(0);
    expect(hostSnapshot(lab, "spare")).toBe(baseline["spare"]);
  });

  it("destroy leaves every host exactly as it was before pod-routes", async () => {
    const destroy = await engine.stack.destroy();
    expect(destroy.summary.resourceChanges).toEqual({ delete: 5 });
    for (const host of HOSTS) expect(hostSnapshot(lab, host)).toBe(baseline[host]);
  });

  it("adopts the routes the runbook made by hand only when told to", async () => {
    const runbook: Record<string, string[][]> = {
      server: [
        ["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"],
        ["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"],
      ],
      "node-0": [["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"]],
      "node-1": [["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"]],
    };
    for (const [host, commands] of Object.entries(runbook)) for (const c of commands) hostExec(lab, host, c);
    const message = await failureOf(() => engine.stack.up());
    expect(message).toContain("already has the route 10.200.1.0/24 via 198.19.249.136");
    expect(message).toContain("Set pod-routes:adopt to true");
    await configure(RUNBOOK, { "pod-routes:adopt": "true" });
    const adopted = await engine.stack.up();
    expect(adopted.summary.resourceChanges).toMatchObject({ create: 3 });
    expect(allOurs()).toEqual({ ...EXPECTED, spare: [] });
    await engine.stack.destroy();
    // The adopted routes were pod-routes' from then on: destroy removes them, and nothing else.
    for (const host of HOSTS) expect(ours(host)).toEqual([]);
    for (const host of HOSTS)
      expect(
        hostRoutes(lab, host).filter((l) => l.startsWith("10.200.") && !l.includes("proto kernel")),
      ).toEqual([]);
  });
});
