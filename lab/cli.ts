// `npm run lab -- <command>`: the network lab by hand. `up` reads the machines.txt with pod-routes' own parser
// and rules (lab/machines.ts) and hands lab.sh the result; every other command goes to lab.sh as it is.
//   npm run lab -- up <machines.txt> [labdir]     build the lab (root)
//   npm run lab -- ssh <host> [labdir] -- cmd…    run a command on a host over real ssh
//   npm run lab -- exec <host> [labdir] -- cmd…   run a command in a host's namespaces (root)
//   npm run lab -- down [labdir]                  remove everything the lab made (root)
import { spawnSync } from "child_process";
import * as path from "path";
import { LAB_SH, labUp, PROJECT_ROOT } from "./lab";

const [command, ...rest] = process.argv.slice(2);
if (command === "up") {
  const [machines, labDir = process.env["POD_ROUTES_LAB_DIR"] ?? path.join(PROJECT_ROOT, ".lab")] = rest;
  if (machines === undefined) {
    console.error("usage: npm run lab -- up <machines.txt> [labdir]");
    process.exit(2);
  }
  try {
    const lab = labUp(machines, labDir, (report) => console.error(report));
    console.log(`lab up at ${lab.dir}: ${lab.hosts.map((h) => `${h.name} ${h.ip}`).join(", ")}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
} else {
  const run = spawnSync("bash", [LAB_SH, ...(command !== undefined ? [command] : []), ...rest], {
    stdio: "inherit",
  });
  process.exit(run.status ?? 1);
}
