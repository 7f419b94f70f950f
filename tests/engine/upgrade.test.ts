// Upgrading a bare-metal stack from pod-routes 0.1 (one @pulumi/command remote.Command per host) to
// HostRoutes, under the real engine against the lab. The first `pulumi up` after the upgrade creates the
// hosts' HostRoutes, then deletes the old commands; their delete scripts find the new owner record and
// leave the hosts alone, so no host ever loses a route: an `ip monitor` on every host watches for it.
// The engine deletes the old commands through their provider, played here by a stand-in
// (legacy/command-standin.js) since the real one cannot be built on this project's network.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
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
} from "../../lab/lab";
import { ssh } from "../../pod-routes";
import { ROUTE_PROTO, STATE_HEADER } from "../../ssh/scripts";
import { requireValidSpec } from "../../core/validate";
import { parseMachinesTxt } from "../../core/machines";
import { EXPECTED_ROUTES, MACHINES_TXT, PROJECT_ROOT } from "../fixtures";
import { renderHostScripts, viaPosixShell } from "./legacy/hostscript";

jest.setTimeout(600_000);

const EXPECTED = Object.fromEntries(EXPECTED_ROUTES.map(([h, r]) => [h, [...r]])) as Record<string, string[]>;
let lab: Lab;
let engine: Engine;
let dir: string;
let layout: "0.1" | "now" = "0.1";
const baseline: Record<string, string> = {};
const ours = (host: string) =>
  hostRoutes(lab, host, "proto", String(ROUTE_PROTO)).map((l) => l.replace(/ dev \S+\s*$/, ""));

/** A resource of the command provider's, as @pulumi/command 1.2 registered it. */
class RemoteCommand extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super("command:remote:Command", name, props, opts);
  }
}

/** The stack as pod-routes 0.1 registered it: a component, and one remote.Command per host under it. */
function version01(): void {
  const spec = requireValidSpec({ nodes: parseMachinesTxt(fs.readFileSync(MACHINES_TXT, "utf8")).nodes });
  const component = new pulumi.ComponentResource("pod-routes:ssh:PodRoutes", "pod-routes", {}, {});
  const privateKey = pulumi.secret(fs.readFileSync(lab.clientKey, "utf8"));
  for (const scripts of renderHostScripts(spec)) {
    new RemoteCommand(
      `pod-routes-${scripts.host.name}`,
      {
        connection: {
          host: scripts.host.ip,
          port: 22,
          user: "root",
          privateKey,
          hostKey: labHost(lab, scripts.host.name).hostKey,
        },
        create: "sh -s",
        update: "sh -s",
        stdin: scripts.apply,
        delete: viaPosixShell(scripts.remove),
        addPreviousOutputInEnv: false,
      },
      { parent: component, deleteBeforeReplace: true },
    );
  }
}

/** The same stack with this version of pod-routes. */
function current() {
  const c = new ssh.PodRoutes("pod-routes", {
    privateKey: fs.readFileSync(lab.clientKey, "utf8"),
    nodes: lab.hosts.map((h) => ({
      name: h.name,
      ip: h.ip,
      fqdn: h.fqdn,
      hostKey: h.hostKey,
      ...(h.podCidr ? { podCidr: h.podCidr } : {}),
    })),
  });
  return { routes: c.routes };
}

/** `ip monitor route` on every host: every route change while it runs. */
function watchRoutes(): { stop(): Record<string, string> } {
  const seen: Record<string, string> = {};
  const children: ChildProcess[] = lab.hosts.map((h) => {
    const pid = fs.readFileSync(path.join(lab.dir, "hosts", h.name, "ns.pid"), "utf8").trim();
    const child = spawn("nsenter", ["-t", pid, "-n", "--", "ip", "-o", "monitor", "route"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    seen[h.name] = "";
    child.stdout?.on("data", (d: Buffer) => (seen[h.name] += d.toString()));
    return child;
  });
  return {
    stop() {
      for (const c of children) c.kill();
      return seen;
    },
  };
}

beforeAll(async () => {
  requireRoot();
  fs.mkdirSync(path.join(PROJECT_ROOT, ".tmp"), { recursive: true });
  dir = fs.mkdtempSync(path.join(PROJECT_ROOT, ".tmp", "engine-upgrade-"));
  lab = labUp(MACHINES_TXT, path.join(dir, "lab"));
  for (const h of lab.hosts) baseline[h.name] = hostSnapshot(lab, h.name);
  // The stand-in command provider, found on PATH by the engine (as an installed plugin would be).
  process.env["PATH"] = `${path.join(__dirname, "legacy", "bin")}:${process.env["PATH"]}`;
  engine = await createEngine(
    "upgrade",
    async () => {
      if (layout === "0.1") return version01();
      return current();
    },
    { dir: path.join(dir, "engine") },
  );
});

afterAll(() => {
  try {
    if (dir) labDown(path.join(dir, "lab"));
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("upgrading a stack deployed with remote.Command (pod-routes 0.1)", () => {
  it("starts from the old stack: one command per host, the runbook's routes", async () => {
    const up = await engine.stack.up();
    expect(up.summary.resourceChanges).toEqual({ create: 5 });
    for (const [host, routes] of Object.entries(EXPECTED)) expect(ours(host)).toEqual(routes);
    expect(hostSnapshot(lab, "node-0")).toContain("/etc/pod-routes/apply-at-boot.sh");
  });

  it("moves every host to HostRoutes in one up, and no host loses a route at any moment", async () => {
    layout = "now";
    const watch = watchRoutes();
    const up = await engine.stack.up();
    // The watch sees deletions (a route added and removed by hand now), and has the time to print them.
    hostExec(lab, "node-0", ["ip", "route", "add", "10.77.0.0/24", "via", "198.19.249.10"]);
    hostExec(lab, "node-0", ["ip", "route", "del", "10.77.0.0/24"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = watch.stop();
    expect(events["node-0"]).toMatch(/^Deleted 10\.77\.0\.0\/24 via 198\.19\.249\.10/m);
    // The component stays; three HostRoutes are created, then the three old commands deleted.
    expect(up.summary.resourceChanges).toEqual({ create: 3, delete: 3, same: 2 });
    for (const [host, routes] of Object.entries(EXPECTED)) expect(ours(host)).toEqual(routes);
    for (const [host, text] of Object.entries(events)) {
      expect([
        host,
        text.split("\n").filter((l) => l.startsWith("Deleted") && l.includes("10.200.")),
      ]).toEqual([host, []]);
    }
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
  });

  it("leaves each host in the new layout: new owner record and state file, the old boot script gone", () => {
    for (const h of lab.hosts) {
      const snapshot = hostSnapshot(lab, h.name);
      expect(snapshot).not.toContain("apply-at-boot.sh");
      expect(snapshot).toContain("/etc/pod-routes/apply.sh");
      expect(hostExec(lab, h.name, ["cat", "/etc/pod-routes/owner"]).trim()).toBe(
        `pulumi:organization/pod-routes/upgrade:pod-routes-${h.name}`,
      );
      expect(hostExec(lab, h.name, ["head", "-n1", "/etc/pod-routes/routes"]).trim()).toBe(STATE_HEADER);
    }
  });

  it("changes nothing on the next up, and destroy leaves every host as it was before pod-routes", async () => {
    engine.sessions.reset();
    expect((await engine.stack.up()).summary.resourceChanges).toEqual({ same: 5 });
    expect(engine.sessions.count()).toBe(0);
    await engine.stack.destroy();
    for (const h of lab.hosts) expect(hostSnapshot(lab, h.name)).toBe(baseline[h.name]);
  });
});
