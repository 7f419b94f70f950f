// `npm run demo`: the main job on a local default, with the `pulumi` CLI itself. Builds the lab from the
// runbook's machines.txt (network namespaces with a real sshd each, a pod behind each node), then runs, in
// this checkout, what a user runs for the bare-metal stack: a stack file made from Pulumi.baremetal.yaml,
// `pulumi stack init demo`, the host keys and the SSH key into its config, `pulumi preview --diff`, `pulumi up`; and shows
// each host's routes and pod-to-pod pings. The lab lives in .lab/; the demo's own state (a local backend, and
// what it deployed to) in .demo/, which outlives the lab (as after a reboot); the stack file is
// Pulumi.demo.yaml. All three are git-ignored. `npm run demo -- down` destroys the stack, checks that every host is exactly
// as before, and removes the lab; when that lab is gone (a reboot, or another lab in its place) it sends
// nothing to its addresses: it removes the demo's state without contacting any host, and says so.
// scripts/demo.js checks the arguments and root first.
import * as fs from "fs";
import * as path from "path";
import {
  hostRoutes,
  hostSnapshot,
  Lab,
  labDown,
  labHost,
  labProblems,
  labUp,
  podPing,
  PROJECT_ROOT,
  readLab,
} from "../lab/lab";
import { PulumiCli, pulumiCli } from "../lab/pulumi-cli";

const LAB_DIR = path.join(PROJECT_ROOT, ".lab");
const DEMO_DIR = path.join(PROJECT_ROOT, ".demo");
const PULUMI_DIR = path.join(DEMO_DIR, "pulumi");
/** What the demo deployed to: the lab's directory and host keys, and each host as it was before. */
const RECORD = path.join(DEMO_DIR, "demo.json");
const STACK_FILE = path.join(PROJECT_ROOT, "Pulumi.demo.yaml");
const MACHINES = path.join("examples", "machines.txt");

interface DemoRecord {
  readonly labDir: string;
  readonly hostKeys: Record<string, string>;
  readonly baseline: Record<string, string>;
}

const say = (text: string) => console.log(`demo: ${text}`);

/** Runs `pulumi <args>` in the checkout, showing the command and everything it prints. */
function pulumi(cli: PulumiCli, args: string[], options: { input?: string; shown?: string } = {}): string {
  console.log(`\n$ pulumi ${options.shown ?? args.join(" ")}`);
  const result = cli.run(args, { ...(options.input !== undefined ? { input: options.input } : {}) });
  // The CLI says some things on stderr ("Created stack …"); the demo shows all of it, in order, on stdout.
  process.stdout.write(result.stdout);
  if (result.stderr.trim() !== "") process.stdout.write(result.stderr);
  return result.stdout;
}

function cliFor(): PulumiCli {
  // The demo's own backend and PULUMI_HOME in .demo/, and a passphrase for its secrets: nothing of the user's.
  return pulumiCli(PROJECT_ROOT, PULUMI_DIR, { PULUMI_CONFIG_PASSPHRASE: "pod-routes-demo" });
}

async function up(): Promise<number> {
  if (fs.existsSync(RECORD)) {
    say("an earlier demo is recorded; taking it down first");
    await down();
  }
  say(`building the lab from ${MACHINES} (network namespaces, a real sshd per host) ...`);
  fs.rmSync(PULUMI_DIR, { recursive: true, force: true });
  fs.rmSync(STACK_FILE, { force: true });
  const lab = labUp(path.join(PROJECT_ROOT, MACHINES), LAB_DIR);
  fs.mkdirSync(DEMO_DIR, { recursive: true });
  const record: DemoRecord = {
    labDir: lab.dir,
    hostKeys: Object.fromEntries(lab.hosts.map((h) => [h.name, h.hostKey])),
    baseline: Object.fromEntries(lab.hosts.map((h) => [h.name, hostSnapshot(lab, h.name)])),
  };
  fs.writeFileSync(RECORD, JSON.stringify(record));
  const cli = cliFor();
  say("the bare-metal stack, as the README sets it up (stack file Pulumi.demo.yaml, state in .demo/):");
  console.log("\n$ cp Pulumi.baremetal.yaml Pulumi.demo.yaml");
  fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.baremetal.yaml"), STACK_FILE);
  pulumi(cli, ["stack", "init", "demo"]);
  pulumi(cli, ["config", "set", "--secret", "pod-routes:sshPrivateKey"], {
    input: fs.readFileSync(lab.clientKey, "utf8"),
    shown: `config set --secret pod-routes:sshPrivateKey < ${path.relative(PROJECT_ROOT, lab.clientKey)}`,
  });
  for (const host of lab.hosts) {
    pulumi(cli, ["config", "set", "--path", `pod-routes:ssh.hostKeys.${host.name}`, host.hostKey], {
      shown: `config set --path 'pod-routes:ssh.hostKeys.${host.name}' "$(ssh-keyscan -t ed25519 ${host.ip} | cut -d' ' -f2-)"`,
    });
  }
  pulumi(cli, ["preview", "--diff"]);
  pulumi(cli, ["up", "--yes"]);
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
  say("the routes above are what the runbook verifies; try `pulumi` yourself on this stack with:");
  say(
    `  PULUMI_BACKEND_URL=file://${path.join(PULUMI_DIR, "backend")} PULUMI_CONFIG_PASSPHRASE=pod-routes-demo pulumi stack select demo`,
  );
  say("tear it down with: npm run demo -- down");
  return failed ? 1 : 0;
}

/** The recorded demo, if there is one. */
function readRecord(): DemoRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(RECORD, "utf8")) as DemoRecord;
  } catch {
    return undefined;
  }
}

/** Why the recorded lab is not the one that is up now, or [] when it is. */
function labChanged(record: DemoRecord): string[] {
  const problems = labProblems(record.labDir);
  if (problems.length > 0) return problems;
  const lab: Lab = readLab(record.labDir);
  const now = Object.fromEntries(lab.hosts.map((h) => [h.name, h.hostKey]));
  return JSON.stringify(now) === JSON.stringify(record.hostKeys)
    ? []
    : ["the lab that is up now is another one (its hosts have other keys)"];
}

async function down(): Promise<number> {
  const record = readRecord();
  let code = 0;
  if (record !== undefined && fs.existsSync(PULUMI_DIR)) {
    const cli = cliFor();
    const changed = labChanged(record);
    if (changed.length === 0) {
      pulumi(cli, ["destroy", "--yes"]);
      pulumi(cli, ["stack", "rm", "demo", "--yes"]);
      const lab = readLab(record.labDir);
      const differ = lab.hosts.filter((h) => hostSnapshot(lab, h.name) !== record.baseline[h.name]);
      if (differ.length === 0) {
        say("every host is exactly as it was before pod-routes (its routes and all of /etc)");
      } else {
        say(`NOT as before on: ${differ.map((h) => h.name).join(", ")}`);
        code = 1;
      }
    } else {
      say(
        `the lab the demo deployed to is gone, so nothing is sent to its addresses:\n  - ${changed.join("\n  - ")}`,
      );
      say("removing the demo stack's state without contacting any host (its hosts are gone with that lab):");
      pulumi(cli, ["stack", "rm", "demo", "--force", "--yes"]);
    }
  }
  labDown(LAB_DIR);
  fs.rmSync(DEMO_DIR, { recursive: true, force: true });
  fs.rmSync(STACK_FILE, { force: true });
  say("the lab is gone (namespaces, sshd processes, the demo's state and Pulumi.demo.yaml removed)");
  return code;
}

export async function demo(action: "up" | "down"): Promise<number> {
  return action === "down" ? down() : up();
}
