// Upgrading a bare-metal stack from pod-routes 0.1 (one @pulumi/command remote.Command per host) to
// HostRoutes, against the lab. The 0.1 stack is made by an inline Automation API program (0.1's code is not
// here to run through the CLI: the inline program registers exactly what it registered), in a clone of this
// repository, on its own Pulumi.yaml and stack file. Then the user's upgrade is `pulumi up --yes` in that
// clone, through the CLI: it creates the hosts' HostRoutes, then deletes the old commands; their delete
// scripts find the new owner record and leave the hosts alone, so no host ever loses a route: an
// `ip monitor` on every host watches for it. The engine deletes the old commands through their provider,
// played here by a stand-in (legacy/command-standin.js, which logs every delete it ran) since the real one
// cannot be built on this project's network.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { hostExec, hostSnapshot, Lab, labHost, podPing, requireLabUp } from "../../lab/lab";
import { changeSummary, cloneCheckout, PulumiCli, pulumiCli } from "../../lab/pulumi-cli";
import { enginePath } from "../../lab/tools";
import { STATE_HEADER } from "../../ssh/host-program/render";
import { requireValidSpec } from "../../core/validate";
import { parseMachinesTxt } from "../../core/machines";
import { EXPECTED_ROUTES_BY_HOST as EXPECTED, MACHINES_TXT } from "../fixtures";
import { createStackWithKey, engineLab, ourRoutes, removeLabScratch, snapshotHosts } from "../helpers/lab";
import { renderHostScripts, viaPosixShell } from "./legacy/hostscript";

jest.setTimeout(600_000);

let lab: Lab;
let cli: PulumiCli;
let dir: string;
let clone: string;
let deletesLog: string;
let baseline: Record<string, string> = {};
const ours = (host: string) => ourRoutes(lab, host);

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

/** `pulumi <args>` in the clone (only once the lab is the one that is up: see beforeAll). */
const pulumiCmd = (args: readonly string[]) => cli.run(args);

/** The stack's identity, as its StackIdentity resource holds it. */
const stackIdentity = () => {
  const outputs = cli
    .exportStack()
    .deployment.resources?.find((r) => r.type.endsWith("StackIdentity"))?.outputs;
  return Object.values(outputs ?? {}).find((v) => typeof v === "string" && /^[0-9a-f]{16}$/.test(v));
};

/** What the stack's state holds for a host's HostRoutes (its outputs). */
const stateOf = (host: string) =>
  cli.exportStack().deployment.resources?.find((r) => r.urn.endsWith(`HostRoutes::pod-routes-${host}`))
    ?.outputs;

beforeAll(async () => {
  ({ dir, lab } = engineLab("upgrade"));
  baseline = snapshotHosts(lab);
  clone = cloneCheckout(path.join(dir, "clone"));
  deletesLog = path.join(dir, "old-deletes.log");
  fs.writeFileSync(deletesLog, "");
  // The stand-in command provider, found on PATH by the engine (as an installed plugin would be).
  cli = pulumiCli(
    clone,
    path.join(dir, "pulumi"),
    {
      PATH: `${path.join(__dirname, "legacy", "bin")}:${enginePath()}`,
      COMMAND_STANDIN_LOG: deletesLog,
    },
    { lab },
  );
});

afterAll(() => removeLabScratch(dir));

describe("upgrading a stack deployed with remote.Command (pod-routes 0.1)", () => {
  it("starts from the old stack: one command per host, the runbook's routes", async () => {
    // The user's stack as the README sets it up; 0.1's program deploys it (inline: see the header).
    createStackWithKey(cli, lab, "baremetal", "pod-routes:sshPrivateKey");
    for (const h of lab.hosts)
      cli.run(["config", "set", "--path", `pod-routes:ssh.hostKeys.${h.name}`, h.hostKey]);
    requireLabUp(lab, "deploying pod-routes 0.1");
    // The Automation API runs the `pulumi` it finds on this process's PATH: the one the CLI commands run.
    process.env["PATH"] = cli.env["PATH"];
    const old: Stack = await LocalWorkspace.selectStack(
      { stackName: "baremetal", projectName: "pod-routes", program: async () => version01() },
      { workDir: clone, envVars: cli.env as Record<string, string> },
    );
    const up = await old.up();
    expect(up.summary.resourceChanges).toEqual({ create: 5 });
    for (const [host, routes] of Object.entries(EXPECTED)) expect(ours(host)).toEqual(routes);
    expect(hostSnapshot(lab, "node-0")).toContain("/etc/pod-routes/apply-at-boot.sh");
    expect(fs.readFileSync(deletesLog, "utf8")).toBe("");
  });

  it("issue 18 item 10: moves every host to HostRoutes in one pulumi up: every old delete ran, and no host loses a route at any moment", async () => {
    const watch = watchRoutes();
    const up = pulumiCmd(["up", "--yes"]);
    // Each host's watch sees deletions (a route added and removed by hand now), and has the time to print them.
    for (const h of lab.hosts) {
      hostExec(lab, h.name, ["ip", "route", "add", "10.77.0.0/24", "via", "198.19.249.10"]);
      hostExec(lab, h.name, ["ip", "route", "del", "10.77.0.0/24"]);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = watch.stop();
    for (const h of lab.hosts) {
      expect([h.name, events[h.name]]).toEqual([
        h.name,
        expect.stringMatching(/^Deleted 10\.77\.0\.0\/24 via /m),
      ]);
    }
    // Three HostRoutes are created, then the three old commands deleted; the stack and the component stay.
    const summary = changeSummary(up.output);
    expect(summary.delete).toBe(3);
    expect(summary.create).toBeGreaterThanOrEqual(3);
    expect([summary.update, summary.replace]).toEqual([undefined, undefined]);
    for (const [host, routes] of Object.entries(EXPECTED)) expect(ours(host)).toEqual(routes);
    for (const [host, text] of Object.entries(events)) {
      expect([
        host,
        text.split("\n").filter((l) => l.startsWith("Deleted") && l.includes("10.200.")),
      ]).toEqual([host, []]);
    }
    // Every old delete script ran, and each found the new owner and left its host alone.
    const deletes = fs
      .readFileSync(deletesLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { urn: string; stdout: string });
    expect(deletes.map((d) => d.urn.split("::").pop()).sort()).toEqual(
      lab.hosts.map((h) => `pod-routes-${h.name}`).sort(),
    );
    for (const d of deletes) expect(d.stdout).toMatch(/is now managed as pulumi:.*leaving it as it is\./);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
  });

  it("leaves each host in the new layout: new owner record and state file, the old boot script gone", () => {
    for (const h of lab.hosts) {
      const snapshot = hostSnapshot(lab, h.name);
      expect(snapshot).not.toContain("apply-at-boot.sh");
      expect(snapshot).toContain("/etc/pod-routes/apply.sh");
      const owner = hostExec(lab, h.name, ["cat", "/etc/pod-routes/owner"]).trim();
      // The stack's identity (its StackIdentity, kept in the state) is part of the owner record now.
      const identity = stackIdentity();
      expect(identity).toMatch(/^[0-9a-f]{16}$/);
      expect(owner).toBe(`pulumi:organization/pod-routes/baremetal@${identity}:pod-routes-${h.name}`);
      expect(stateOf(h.name)?.["owner"]).toBe(
        `pulumi:organization/pod-routes/baremetal:pod-routes-${h.name}`,
      );
      expect(hostExec(lab, h.name, ["head", "-n1", "/etc/pod-routes/routes"]).trim()).toBe(STATE_HEADER);
    }
  });

  it("changes nothing on the next up, and destroy leaves every host as it was before pod-routes", () => {
    cli.sessions.reset();
    expect(Object.keys(changeSummary(pulumiCmd(["up", "--yes"]).output))).toEqual(["same"]);
    expect(cli.sessions.count()).toBe(0);
    pulumiCmd(["destroy", "--yes"]);
    for (const h of lab.hosts) expect(hostSnapshot(lab, h.name)).toBe(baseline[h.name]);
  });
});
