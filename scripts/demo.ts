// `npm run demo`: the main job on a local default. Builds the lab from the runbook's machines.txt (network
// namespaces with real sshd), installs every host's pod routes over SSH with the same scripts the Pulumi
// bare-metal stack runs, then shows each host's `ip route` and a pod-to-pod ping.
// `npm run demo -- down` removes the lab.
import * as fs from "fs";
import * as path from "path";
import { formatProblems } from "../core/problems";
import { renderHostScripts } from "../ssh/legacy-hostscript";
import { specFromMachinesTxt } from "../stack/source";
import { hostRoutes, labDown, labHost, labUp, PROJECT_ROOT, podPing, sshRun } from "../lab/lab";

const LAB_DIR = path.join(PROJECT_ROOT, ".lab");

function main(args: string[]): number {
  if (args[0] === "down") {
    labDown(LAB_DIR);
    console.log("demo: the lab is gone (namespaces, sshd processes and .lab/ removed)");
    return 0;
  }
  const machinesFile = args[0] ?? path.join(PROJECT_ROOT, "examples", "machines.txt");
  const spec = specFromMachinesTxt(fs.readFileSync(machinesFile, "utf8"), path.basename(machinesFile));
  if (!spec.ok) {
    console.error(formatProblems(spec.problems, machinesFile));
    return 1;
  }
  console.log(`demo: building the lab from ${path.relative(process.cwd(), machinesFile)} ...`);
  const lab = labUp(machinesFile, LAB_DIR);
  let failed = false;
  for (const scripts of renderHostScripts(spec.value)) {
    const result = sshRun(lab, scripts.host.name, scripts.apply);
    process.stdout.write(result.stdout);
    if (result.code !== 0) {
      process.stderr.write(result.stderr);
      failed = true;
    }
  }
  for (const node of spec.value.nodes) {
    console.log(`\n${node.name}$ ip route`);
    for (const line of hostRoutes(lab, node.name)) console.log(`  ${line}`);
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
  console.log(
    `\ndemo: the routes above are what the runbook verifies; tear the lab down with: npm run demo -- down`,
  );
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
