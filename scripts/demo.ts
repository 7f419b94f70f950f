// `npm run demo`: the main job on a local default. Builds the lab from the runbook's machines.txt (network
// namespaces with a real sshd each, a pod behind each node), then deploys the bare-metal stack to it through
// the Pulumi engine, as `pulumi up` would (the repository's stack program, run inline by the Automation API
// with a local backend in .lab/), and shows the preview, each host's routes and pod-to-pod pings.
// `npm run demo -- down` destroys the stack (the hosts are left as before) and removes the lab.
import * as fs from "fs";
import * as path from "path";
import { createEngine, Engine, requireEngine } from "../lab/engine";
import { hostRoutes, Lab, labDown, labHost, labUp, podPing, PROJECT_ROOT, readLab } from "../lab/lab";

const LAB_DIR = path.join(PROJECT_ROOT, ".lab");
const ENGINE_DIR = path.join(LAB_DIR, "engine");
const MACHINES = path.join("examples", "machines.txt");
const USAGE =
  "usage: npm run demo            build the lab and deploy the bare-metal stack to it\n       npm run demo -- down    destroy the stack and remove the lab";

const say = (text: string) => console.log(`demo: ${text}`);

const program = async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the stack program, as the engine runs it
  const stackProgram = require(path.join(PROJECT_ROOT, "index.ts")) as () => Promise<Record<string, unknown>>;
  return stackProgram();
};

async function stackFor(lab: Lab): Promise<Engine> {
  const engine = await createEngine("demo", program, { dir: ENGINE_DIR });
  await engine.stack.setAllConfig({
    "pod-routes:cloud": { value: "baremetal" },
    "pod-routes:clusterCidr": { value: "10.200.0.0/16" },
    "pod-routes:machinesFile": { value: MACHINES },
    "pod-routes:ssh": {
      value: JSON.stringify({
        user: "root",
        hostKeys: Object.fromEntries(lab.hosts.map((h) => [h.name, h.hostKey])),
      }),
    },
    "pod-routes:sshPrivateKey": { value: fs.readFileSync(lab.clientKey, "utf8"), secret: true },
  });
  return engine;
}

async function up(): Promise<number> {
  say(`building the lab from ${MACHINES} (network namespaces, a real sshd per host) ...`);
  // A new lab has new hosts: the state of an earlier demo is about the old ones.
  fs.rmSync(ENGINE_DIR, { recursive: true, force: true });
  const lab = labUp(path.join(PROJECT_ROOT, MACHINES), LAB_DIR);
  const engine = await stackFor(lab);
  say("pulumi preview --diff:");
  const preview = await engine.stack.preview({ diff: true });
  process.stdout.write(preview.stdout);
  say("pulumi up:");
  await engine.stack.up({ onOutput: (text) => process.stdout.write(text) });
  let failed = false;
  for (const host of lab.hosts) {
    console.log(`\n${host.name}$ ip route`);
    for (const line of hostRoutes(lab, host.name)) console.log(`  ${line}`);
  }
  const pods = lab.hosts.filter((h) => h.podIp !== undefined);
  console.log("");
  for (const from of pods) {
    for (const to of pods) {
      if (from === to) continue;
      const ok = podPing(lab, from.name, labHost(lab, to.name).podIp as string);
      console.log(
        `pod on ${from.name} (${from.podIp}) -> pod on ${to.name} (${to.podIp}): ${ok ? "reply" : "NO REPLY"}`,
      );
      failed ||= !ok;
    }
  }
  say("the routes above are what the runbook verifies; a second `npm run demo` starts over with a new lab;");
  say("tear it down with: npm run demo -- down");
  return failed ? 1 : 0;
}

async function down(): Promise<number> {
  if (fs.existsSync(path.join(ENGINE_DIR, "state")) && fs.existsSync(path.join(LAB_DIR, "lab.json"))) {
    say("pulumi destroy:");
    const engine = await stackFor(readLab(LAB_DIR));
    await engine.stack.destroy({ onOutput: (text) => process.stdout.write(text) });
  }
  labDown(LAB_DIR);
  fs.rmSync(ENGINE_DIR, { recursive: true, force: true });
  say("the lab is gone (namespaces, sshd processes and .lab/ removed)");
  return 0;
}

async function main(args: string[]): Promise<number> {
  const action = args[0] ?? "up";
  if (!["up", "down"].includes(action) || args.length > 1) {
    console.error(`demo: unknown action ${JSON.stringify(args.join(" "))}\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error(
      "demo: the lab builds network namespaces and mounts, which needs root: run `sudo npm run demo` (after `sudo bash scripts/setup.sh`)",
    );
    return 1;
  }
  requireEngine();
  return action === "down" ? down() : up();
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // The engine's and the lab's errors say what went wrong; a stack trace adds nothing for a demo.
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
