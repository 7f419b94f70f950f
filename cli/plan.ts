// The offline planner behind `npm run routes -- plan`: reads a machines.txt or a Pulumi.<stack>.yaml
// with explicit nodes and returns the routes pod-routes would create, without Pulumi or credentials.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { defaultGcpConfig, NAMESPACE, parseStackConfig, StackConfig } from "../spec/config";
import { awsRouteImportId, gcpRouteImportId, planCloudRoutes, planHostRoutes } from "../spec/plan";
import { specFromConfig, specFromMachinesTxt } from "../spec/source";
import { PlannedRoute, RouteSpec } from "../spec/types";
import { Problem, Validated } from "../spec/validate";

export interface LoadedInput {
  readonly spec: RouteSpec;
  /** Set when the input was a stack file. */
  readonly config?: StackConfig;
  /** The stack's `gcp:project`, when it sets one. */
  readonly gcpProject?: string;
}

export function isStackFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Reads and validates either kind of input, collecting every problem. */
export function loadInput(file: string, options: { clusterCidr?: string } = {}): Validated<LoadedInput> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    return {
      ok: false,
      problems: [{ where: file, message: `cannot read the file: ${(error as Error).message}` }],
    };
  }
  if (isStackFile(file)) return loadStackFile(file, text);
  const spec = specFromMachinesTxt(
    text,
    path.basename(file),
    options.clusterCidr !== undefined ? { clusterCidr: options.clusterCidr } : {},
  );
  return spec.ok ? { ok: true, value: { spec: spec.value } } : spec;
}

function loadStackFile(file: string, text: string): Validated<LoadedInput> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return {
      ok: false,
      problems: [{ where: file, message: `is not valid YAML: ${(error as Error).message}` }],
    };
  }
  const configMap = (doc as { config?: unknown } | null)?.config;
  if (typeof configMap !== "object" || configMap === null) {
    return {
      ok: false,
      problems: [{ where: file, message: "has no config: map; is it a Pulumi.<stack>.yaml?" }],
    };
  }
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configMap)) {
    // Secrets (`secure:` values) are not needed to plan and are never read here.
    if (key.startsWith(`${NAMESPACE}:`)) raw[key.slice(NAMESPACE.length + 1)] = value;
  }
  const parsed = parseStackConfig(raw);
  if (!parsed.ok)
    return { ok: false, problems: parsed.problems.map((p) => ({ ...p, where: `${file}: ${p.where}` })) };
  const config = parsed.value;
  if (config.nodes === undefined && config.machinesFile === undefined) {
    const problem: Problem = {
      where: file,
      message:
        "this stack discovers its nodes from the cloud at deploy time; the offline planner needs pod-routes:nodes or pod-routes:machinesFile (use `pulumi preview` for discovery stacks)",
    };
    return { ok: false, problems: [problem] };
  }
  const spec = specFromConfig(config, { baseDir: path.dirname(path.resolve(file)) });
  if (!spec.ok) return spec;
  const gcpProject = (configMap as Record<string, unknown>)["gcp:project"];
  return {
    ok: true,
    value: { spec: spec.value, config, ...(typeof gcpProject === "string" ? { gcpProject } : {}) },
  };
}

/** The routes to create: per host for SSH targets and machines.txt, one shared place for clouds. */
export function planFor(input: LoadedInput): PlannedRoute[] {
  const { spec, config } = input;
  const prefix = config?.routeNamePrefix;
  switch (config?.cloud) {
    case "gcp":
      return planCloudRoutes(spec, (config.gcp ?? defaultGcpConfig()).network, prefix);
    case "aws": {
      const aws = config.aws;
      const table =
        aws?.routeTableId ??
        (aws?.clusterName !== undefined
          ? `route table tagged kubernetes.io/cluster/${aws.clusterName}`
          : `route table from ${aws?.stackReference?.name ?? "the stack reference"}`);
      return planCloudRoutes(spec, table, prefix);
    }
    default:
      return planHostRoutes(spec, prefix).flatMap((host) => host.routes);
  }
}

/**
 * The file `pulumi import --file` takes, to adopt routes made by hand: the runbook's gcloud routes
 * (`projects/<project>/global/routes/<name>`) or aws ec2 create-route entries (`<table>_<destination>`).
 */
export function importFile(
  input: LoadedInput,
  file: string,
  gcpProjectFromStack?: string,
): Validated<string> {
  const { config, spec } = input;
  const prefix = config?.routeNamePrefix;
  if (config?.cloud === "gcp") {
    const project = config.gcp?.project ?? gcpProjectFromStack;
    if (project === undefined) {
      return {
        ok: false,
        problems: [
          { where: file, message: "has no gcp:project (or pod-routes:gcp.project); import ids need it" },
        ],
      };
    }
    const routes = planCloudRoutes(spec, (config.gcp ?? defaultGcpConfig()).network, prefix);
    const resources = routes.map((r) => ({
      type: "gcp:compute/route:Route",
      name: r.name,
      id: gcpRouteImportId(project, r.name),
    }));
    return { ok: true, value: JSON.stringify({ resources }, null, 2) };
  }
  if (config?.cloud === "aws") {
    const table = config.aws?.routeTableId;
    if (table === undefined) {
      return {
        ok: false,
        problems: [
          {
            where: file,
            message:
              "needs pod-routes:aws.routeTableId for import ids (found by tag or stack reference only at deploy time; use pod-routes:adopt instead)",
          },
        ],
      };
    }
    const routes = planCloudRoutes(spec, table, prefix);
    const resources = routes.map((r) => ({
      type: "aws:ec2/route:Route",
      name: r.name,
      id: awsRouteImportId(table, r.destination),
    }));
    return { ok: true, value: JSON.stringify({ resources }, null, 2) };
  }
  return {
    ok: false,
    problems: [
      {
        where: file,
        message:
          "import files are for cloud routes (gcp, aws); on hosts, set pod-routes:adopt to take over hand-made routes",
      },
    ],
  };
}

/** Exactly the JSON shape documented in DESIGN.md. */
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

/** A table like the runbooks' verification output. */
export function routesTable(routes: readonly PlannedRoute[]): string {
  const header = ["WHERE", "DESTINATION", "NEXT HOP", "NODE"];
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
