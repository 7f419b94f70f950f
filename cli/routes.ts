// `npm run routes -- <command>`: the offline side of pod-routes, on the same planner as the Pulumi program.
import { parseArgs } from "util";
import { formatProblems } from "../core/problems";
import { importFile, loadInput, routesJson, routesTable } from "./plan";
import { renderScripts } from "./script";

export const USAGE = `usage: npm run routes -- <command> [options]

commands:
  plan <machines.txt | Pulumi.<stack>.yaml> [--json] [--cluster-cidr CIDR]
      print the routes pod-routes would create
  script <machines.txt | Pulumi.<stack>.yaml> [--host NAME] [--cluster-cidr CIDR]
      print the shell each host runs (for pasting by hand)
  import-file <Pulumi.<stack>.yaml>
      print the file \`pulumi import --file\` takes to adopt the runbook's hand-made routes (gcp, aws)

Exit status: 0 on success, 1 when the input has problems (all are listed), 2 on a usage error.`;

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
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined || !["plan", "script", "import-file"].includes(command)) {
    io.err(`${command === undefined ? "no command given" : `unknown command "${command}"`}\n\n${USAGE}`);
    return 2;
  }
  if (file === undefined || extra.length > 0) {
    io.err(`${command} takes exactly one file\n\n${USAGE}`);
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
  if (command === "plan") {
    const { routes, cloud } = input.value;
    io.out(values.json ? routesJson(routes) : routesTable(routes, cloud));
    return 0;
  }
  try {
    const prefix = input.value.config?.routeNamePrefix;
    io.out(
      renderScripts(input.value.spec, {
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(prefix !== undefined ? { prefix } : {}),
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
