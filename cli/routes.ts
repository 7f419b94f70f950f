// `pod-routes <command>` (npx pod-routes …, or npm run routes -- …): the offline side of pod-routes, on the
// same plan and checks as the Pulumi program (stack/stack-plan.ts), without Pulumi or credentials.
import { parseArgs } from "util";
import { formatProblems } from "../core/problems";
import { importFile, loadInput, routesJson, routesTable } from "./input";
import { renderScripts } from "./host-scripts";

export const USAGE = `usage: pod-routes <command> [options]        (in this repository: npx pod-routes …)

commands:
  plan <machines.txt | Pulumi.<stack>.yaml> [--json] [--cluster-cidr CIDR]
      print the routes pod-routes would create; --json prints
      {"routes":[{"where","destination","nextHop","node"}]}
  script <machines.txt | Pulumi.<stack>.yaml> [--host NAME] [--adopt] [--delete] [--cluster-cidr CIDR]
      print the shell each host runs, to paste by hand (or: ssh root@HOST sh -s < part).
      --adopt takes over hand-made routes identical to the desired ones (a stack file's
      pod-routes:adopt counts too); --delete prints the script that removes what pod-routes
      installed on a host (for a machine you retire)
  import-file <Pulumi.<stack>.yaml>
      print the file \`pulumi import --file\` takes to adopt the runbook's hand-made routes (gcp, aws;
      the stack file needs pod-routes:nodes, and for aws pod-routes:aws.routeTableId)
  help
      print this

Exit status: 0 on success, 1 when the input has problems (all are listed), 2 on a usage error.`;

const COMMANDS = ["plan", "script", "import-file", "help"] as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export function run(argv: readonly string[], io: Io): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        host: { type: "string" },
        adopt: { type: "boolean", default: false },
        delete: { type: "boolean", default: false },
        "cluster-cidr": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, file, ...extra] = positionals;
  if (values.help || command === "help") {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined || !(COMMANDS as readonly string[]).includes(command)) {
    io.err(`${command === undefined ? "no command given" : `unknown command "${command}"`}\n\n${USAGE}`);
    return 2;
  }
  if (file === undefined || extra.length > 0) {
    io.err(`${command} takes exactly one file\n\n${USAGE}`);
    return 2;
  }
  const misplaced = [
    ...(command !== "plan" && values.json ? ["--json"] : []),
    ...(command !== "script" && (values.adopt || values.delete || values.host !== undefined)
      ? ["--host, --adopt and --delete"]
      : []),
  ];
  if (misplaced.length > 0) {
    io.err(
      `${misplaced.join(" and ")} ${misplaced.length > 1 ? "do" : "does"} not go with ${command}\n\n${USAGE}`,
    );
    return 2;
  }
  const clusterCidr = values["cluster-cidr"];
  const input = loadInput(file, clusterCidr !== undefined ? { clusterCidr } : {});
  for (const warning of input.warnings) io.err(`pod-routes: warning: ${warning}`);
  if (!input.ok) {
    io.err(formatProblems(input.problems, file));
    return 1;
  }
  if (command === "import-file") {
    const result = importFile(input.value, file);
    if (!result.ok) {
      io.err(formatProblems(result.problems, file));
      return 1;
    }
    io.out(result.value);
    return 0;
  }
  const { routes, cloud, hosts, spec, config } = input.value;
  if (command === "plan") {
    io.out(values.json ? routesJson(routes) : routesTable(routes, cloud));
    return 0;
  }
  if (hosts === undefined) {
    io.err(
      `pod-routes: ${file} is a ${cloud} stack: its routes live in the cloud, not on hosts; \`script\` is for machines.txt and the baremetal and linode stacks`,
    );
    return 1;
  }
  try {
    io.out(
      renderScripts(spec, hosts, {
        adopt: values.adopt || (config?.adopt ?? false),
        delete: values.delete,
        ...(values.host !== undefined ? { host: values.host } : {}),
      }),
    );
    return 0;
  } catch (error) {
    io.err((error as Error).message);
    return 1;
  }
}

/** The `pod-routes` command (bin/pod-routes.js): stdout for results, stderr for problems, exit status as documented. */
export function main(argv: readonly string[]): void {
  process.exitCode = run(argv, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
}

if (require.main === module) main(process.argv.slice(2));
