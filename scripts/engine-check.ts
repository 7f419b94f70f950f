// `npm run engine-check` (as root): the real Pulumi engine runs the bare-metal stack (index.ts) against the
// lab: preview, up, a second up, removing a node, a host whose sshd is down, recovery, destroy. Each step
// checks what the hosts and the engine report and the run exits 1 at the first mismatch.
//
// Needs the `pulumi` CLI and the command provider plugin (pulumi-resource-command, v1.2.x): with a normal
// Pulumi install, `pulumi plugin install resource command v1.2.1`; on PATH also works. Not part of
// `npm test`: the only network of this project's CI is the package registries, and the Go module proxy
// refuses the provider's module (see the README). The program runs inline through the Automation API,
// so the Node.js language host is not needed.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
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
} from "../lab/lab";
import { MACHINES_TXT } from "../tests/fixtures";
import { ROUTE_PROTO } from "../ssh/legacy-hostscript";

const log = (message: string) => console.log(`engine-check: ${message}`);
class CheckFailed extends Error {}
function check(what: string, ok: boolean, detail: unknown = ""): void {
  if (!ok)
    throw new CheckFailed(`${what}: FAILED ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  log(`ok   ${what}`);
}
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const snapshot = (lab: Lab) => Object.fromEntries(lab.hosts.map((h) => [h.name, hostSnapshot(lab, h.name)]));
const ourRoutes = (lab: Lab) =>
  Object.fromEntries(lab.hosts.map((h) => [h.name, hostRoutes(lab, h.name, "proto", String(ROUTE_PROTO))]));

// The bare-metal runbook's routes for examples/machines.txt, with and without node-1.
const RUNBOOK = {
  server: ["10.200.0.0/24 via 198.19.249.34 dev eth0", "10.200.1.0/24 via 198.19.249.136 dev eth0"],
  "node-0": ["10.200.1.0/24 via 198.19.249.136 dev eth0"],
  "node-1": ["10.200.0.0/24 via 198.19.249.34 dev eth0"],
};
const WITHOUT_NODE_1 = { server: ["10.200.0.0/24 via 198.19.249.34 dev eth0"], "node-0": [], "node-1": [] };

function preflight(): void {
  const pulumi = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  if (pulumi.status !== 0)
    throw new CheckFailed(
      "no `pulumi` on PATH: install it (https://www.pulumi.com/docs/install/) or `. scripts/pulumi-env.sh`",
    );
  const onPath = spawnSync("sh", ["-c", "command -v pulumi-resource-command"]).status === 0;
  const installed = spawnSync("pulumi", ["plugin", "ls"], { encoding: "utf8" }).stdout.includes("command");
  if (!onPath && !installed)
    throw new CheckFailed(
      "the command provider plugin is missing: `pulumi plugin install resource command v1.2.1`, or put pulumi-resource-command on PATH",
    );
  log(`pulumi ${pulumi.stdout.trim()}, command provider ${onPath ? "on PATH" : "installed as a plugin"}`);
}

async function main(): Promise<void> {
  requireRoot();
  preflight();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-engine-"));
  const lab = labUp(MACHINES_TXT, path.join(dir, "lab"));
  try {
    const before = snapshot(lab);
    const machines = fs.readFileSync(MACHINES_TXT, "utf8").trim().split("\n");
    let files = 0;
    fs.mkdirSync(path.join(dir, "state"));
    const stack = await LocalWorkspace.createOrSelectStack(
      {
        stackName: "lab",
        projectName: "pod-routes",
        // Inline: the SDK serves the language runtime in this process (no pulumi-language-nodejs needed).
        program: async () => ((await import("../index")) as { default: () => Promise<object> }).default(),
      },
      {
        workDir: dir,
        projectSettings: { name: "pod-routes", runtime: "nodejs", backend: { url: `file://${dir}/state` } },
        envVars: { PULUMI_CONFIG_PASSPHRASE: "engine-check", PULUMI_SKIP_UPDATE_CHECK: "true" },
      },
    );
    /** The bare-metal stack for these machines.txt lines, with the lab's host keys pinned. */
    const configure = async (lines: string[]) => {
      const file = path.join(dir, `machines-${++files}.txt`);
      fs.writeFileSync(file, `${lines.join("\n")}\n`);
      // Keys by address: a renamed node is still the same machine.
      const hostKeys = Object.fromEntries(
        lines.map((line) => {
          const [ip, , name] = line.split(/\s+/);
          return [name, lab.hosts.find((h) => h.ip === ip)?.hostKey];
        }),
      );
      await stack.setAllConfig({
        "pod-routes:cloud": { value: "baremetal" },
        "pod-routes:clusterCidr": { value: "10.200.0.0/16" },
        "pod-routes:machinesFile": { value: file },
        "pod-routes:ssh": { value: JSON.stringify({ user: "root", hostKeys }) },
        "pod-routes:sshPrivateKey": { value: fs.readFileSync(lab.clientKey, "utf8"), secret: true },
      });
    };
    const quiet = { onOutput: () => undefined };

    await configure(machines);
    const preview = await stack.preview(quiet);
    // The stack, the pod-routes component, and one command per host.
    check(
      "preview: one create per host and nothing else",
      same(preview.changeSummary, { create: 5 }),
      preview.changeSummary,
    );

    const up = await stack.up(quiet);
    check("up: creates them", same(up.summary.resourceChanges, { create: 5 }), up.summary.resourceChanges);
    check("up: every host has exactly the runbook's routes", same(ourRoutes(lab), RUNBOOK), ourRoutes(lab));
    const node1Pod = labHost(lab, "node-1").podIp ?? "";
    check("up: a pod on node-0 reaches a pod on node-1", podPing(lab, "node-0", node1Pod));
    const rows = up.outputs["routes"]?.value as { where: string; destination: string; nextHop: string }[];
    const fromOutput = Object.fromEntries(
      Object.keys(RUNBOOK).map((h) => [
        h,
        rows.filter((r) => r.where === h).map((r) => `${r.destination} via ${r.nextHop} dev eth0`),
      ]),
    );
    check("stack output routes matches the hosts", same(fromOutput, ourRoutes(lab)), fromOutput);

    // The backend's files as they sit on disk (exportStack() would decrypt them).
    const stateFiles = fs.readdirSync(path.join(dir, "state"), { recursive: true, encoding: "utf8" });
    const stored = stateFiles
      .map((f) => path.join(dir, "state", f))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, "utf8"));
    const keyBody = fs.readFileSync(lab.clientKey, "utf8").split("\n")[1] ?? "";
    check(
      "the SSH private key is stored only encrypted",
      stored.some((text) => text.includes("pod-routes-node-0")) &&
        keyBody.length > 20 &&
        stored.every((text) => !text.includes(keyBody)),
    );

    const again = await stack.up(quiet);
    check(
      "second up: no changes",
      same(again.summary.resourceChanges, { same: 5 }),
      again.summary.resourceChanges,
    );

    await configure(machines.filter((line) => !line.includes(" node-1 ")));
    const removal = await stack.up(quiet);
    // node-1's command is deleted; server and node-0 drop their route to it; the rest stays.
    check(
      "removing node-1: delete 1, update 2 (server, node-0)",
      same(removal.summary.resourceChanges, { delete: 1, same: 2, update: 2 }),
      removal.summary.resourceChanges,
    );
    check(
      "removing node-1: its routes are gone everywhere, nothing else",
      same(ourRoutes(lab), WITHOUT_NODE_1),
      ourRoutes(lab),
    );

    await configure(machines);
    sshdStop(lab, "node-0");
    let failure = "";
    try {
      await stack.up(quiet);
    } catch (error) {
      failure = String((error as Error).message);
    }
    check(
      "a host whose sshd is down fails the up, naming it",
      /pod-routes-node-0[\s\S]*connection refused/.test(failure),
      failure.slice(-600),
    );
    const partial = ourRoutes(lab);
    check(
      "the other hosts get their routes; node-0 is left as it was",
      same(partial, { ...RUNBOOK, "node-0": [] }),
      partial,
    );
    sshdStart(lab, "node-0");
    const recovery = await stack.up(quiet);
    check(
      "after recovery, the next up converges",
      same(ourRoutes(lab), RUNBOOK),
      recovery.summary.resourceChanges,
    );

    // Renaming a node: the engine creates the new command before it deletes the old one, and both
    // reach the same machine. The old command's delete must not undo its successor.
    await configure(
      machines.map((line) =>
        line.replace(" node-1.kubernetes.local node-1 ", " node-9.kubernetes.local node-9 "),
      ),
    );
    const rename = await stack.up(quiet);
    check(
      "renaming node-1 to node-9: its routes stay on every host",
      same(ourRoutes(lab), RUNBOOK),
      rename.summary.resourceChanges,
    );
    const owner = hostExec(lab, "node-1", ["cat", "/etc/pod-routes/owner"]).trim();
    check("renaming node-1 to node-9: the machine is now managed as node-9", owner === "node-9", owner);
    check(
      "renaming node-1 to node-9: server's /etc/hosts names node-9",
      hostExec(lab, "server", ["cat", "/etc/hosts"]).includes(
        "198.19.249.136 node-9.kubernetes.local node-9",
      ),
    );

    await stack.destroy(quiet);
    const after = snapshot(lab);
    for (const host of Object.keys(before))
      check(
        `destroy leaves ${host} exactly as before`,
        before[host] === after[host],
        `\n${before[host]}\n---\n${after[host]}`,
      );
    log("every check passed");
  } finally {
    labDown(path.join(dir, "lab"));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof CheckFailed ? `engine-check: ${error.message}` : error);
  process.exit(1);
});
