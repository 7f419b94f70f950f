// The input of the offline CLI (cli/input.ts): reads a machines.txt or a Pulumi.<stack>.yaml and plans it with the very
// functions `pulumi up` uses (stack/stack-plan.ts, and each target's plan and checks), without Pulumi or
// credentials. Anything the deploy would refuse for the same input, this refuses with the same message.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { HostPlan } from "../core/routes";
import { Problem, Validated } from "../core/problems";
import { PlannedRoute, RouteSpec } from "../core/types";
import * as awsPlan from "../aws/plan";
import * as gcpPlan from "../gcp/plan";
import * as sshPlan from "../ssh/plan";
import { CloudName, engineConfigMap, StackConfig } from "../stack/config";
import { planStack } from "../stack/stack-plan";
import { specFromMachinesTxt } from "../stack/source";

export interface LoadedInput {
  readonly spec: RouteSpec;
  /** Set when the input was a stack file. */
  readonly config?: StackConfig;
  readonly cloud: CloudName | "machines.txt";
  /** Every host's routes, for the SSH path (machines.txt, baremetal, linode). */
  readonly hosts?: HostPlan[];
  /** The routes to create: cloud routes, or every host's. */
  readonly routes: PlannedRoute[];
  /** The stack's `gcp:project`, when it sets one. */
  readonly gcpProject?: string;
}

export type Loaded = Validated<LoadedInput> & { warnings: string[] };

export function isStackFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Reads and plans either kind of input, collecting every problem. */
export function loadInput(file: string, options: { clusterCidr?: string } = {}): Loaded {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const problem = {
      where: file,
      message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    };
    return { ok: false, problems: [problem], warnings: [] };
  }
  if (isStackFile(file)) return loadStackFile(file, text);
  return { ...planMachines(text, path.basename(file), options.clusterCidr), warnings: [] };
}

/** A machines.txt: the bare-metal runbook's hosts, planned as the baremetal stack plans them. */
export function planMachines(text: string, origin: string, clusterCidr?: string): Validated<LoadedInput> {
  const spec = specFromMachinesTxt(text, origin, clusterCidr !== undefined ? { clusterCidr } : {});
  if (!spec.ok) return spec;
  // The size check runs before the mesh is built: a too-large inventory fails in milliseconds.
  const hosts = sshPlan.plan(spec.value, { setting: () => origin });
  if (!hosts.ok) return hosts;
  return {
    ok: true,
    value: {
      spec: spec.value,
      cloud: "machines.txt",
      hosts: hosts.value,
      routes: hosts.value.flatMap((h) => h.routes),
    },
  };
}

function loadStackFile(file: string, text: string): Loaded {
  const fail = (problems: Problem[], warnings: string[] = []): Loaded => ({ ok: false, problems, warnings });
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return fail([{ where: file, message: `is not valid YAML: ${(error as Error).message}` }]);
  }
  const configMap = (doc as { config?: unknown } | null)?.config;
  if (typeof configMap !== "object" || configMap === null) {
    return fail([{ where: file, message: "has no config: map; is it a Pulumi.<stack>.yaml?" }]);
  }
  // The map the engine would hand the program: one decoder for both (stack/config.ts).
  const { map, secure } = engineConfigMap(configMap as Record<string, unknown>);
  const planned = planStack({ config: map, secretKeys: secure, baseDir: path.dirname(path.resolve(file)) });
  const warnings = planned.warnings;
  if (!planned.ok)
    return fail(
      planned.problems.map((p) => ({ ...p, where: `${file}: ${p.where}` })),
      warnings,
    );
  const { config, spec, routes, hosts, cloud } = planned.value;
  if (!spec) {
    return fail(
      [
        {
          where: file,
          message:
            "this stack discovers its nodes from the cloud at deploy time; the offline planner needs pod-routes:nodes or pod-routes:machinesFile (use `pulumi preview` for discovery stacks)",
        },
      ],
      warnings,
    );
  }
  const gcpProject = map["gcp:project"];
  return {
    ok: true,
    warnings,
    value: {
      spec,
      config,
      cloud,
      routes: routes ?? (hosts ?? []).flatMap((h) => h.routes),
      ...(hosts ? { hosts } : {}),
      ...(gcpProject !== undefined ? { gcpProject } : {}),
    },
  };
}

/**
 * The file `pulumi import --file` takes, to adopt routes made by hand: the runbook's gcloud routes
 * (`projects/<project>/global/routes/<name>`) or aws ec2 create-route entries (`<table>_<destination>`).
 * The routes are named as earlier versions named them at the stack's top level (`kubernetes-route-…`);
 * the stack program's aliases then move them under its component on the next `pulumi up`, unchanged.
 */
export function importFile(input: LoadedInput, file: string): Validated<string> {
  const { config, routes } = input;
  const fail = (message: string): Validated<string> => ({ ok: false, problems: [{ where: file, message }] });
  if (config?.cloud === "gcp") {
    const project = config.gcp?.project ?? input.gcpProject;
    if (project === undefined)
      return fail("has no gcp:project (or pod-routes:gcp.project); import ids need it");
    const resources = routes.map((r) => ({
      type: "gcp:compute/route:Route",
      name: r.name,
      id: gcpPlan.importId(project, r.name),
    }));
    return { ok: true, value: JSON.stringify({ resources }, null, 2) };
  }
  if (config?.cloud === "aws") {
    const table = config.aws?.routeTableId;
    if (table === undefined) {
      return fail(
        "needs pod-routes:aws.routeTableId and pod-routes:nodes for import ids (a table found by tag or stack reference, and discovered nodes, are known only at deploy time; use pod-routes:adopt instead)",
      );
    }
    const resources = routes.map((r) => ({
      type: "aws:ec2/route:Route",
      name: r.name,
      id: awsPlan.importId(table, r.destination),
    }));
    return { ok: true, value: JSON.stringify({ resources }, null, 2) };
  }
  return fail(
    "import files are for cloud routes (gcp, aws); on hosts, set pod-routes:adopt to take over hand-made routes",
  );
}

/** Exactly the documented JSON shape: `{"routes":[{"where","destination","nextHop","node"}]}`. */
export function routesJson(routes: readonly PlannedRoute[]): string {
  return JSON.stringify({
    routes: routes.map((r) => ({
      where: r.where,
      destination: r.destination,
      nextHop: r.nextHop,
      node: r.node,
    })),
  });
}

/** What the WHERE column holds, per kind of input. */
const WHERE_HEADER: Record<LoadedInput["cloud"], string> = {
  gcp: "NETWORK",
  aws: "ROUTE TABLE",
  baremetal: "HOST",
  linode: "HOST",
  "machines.txt": "HOST",
};

/** A table like the runbooks' verification output. */
export function routesTable(
  routes: readonly PlannedRoute[],
  cloud: LoadedInput["cloud"] = "machines.txt",
): string {
  const header = [WHERE_HEADER[cloud], "DESTINATION", "NEXT HOP", "NODE"];
  const rows = routes.map((r) => [r.where, r.destination, r.nextHop, r.node]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
