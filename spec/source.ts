// Turns the explicit node sources of a stack config (a node list or a machines.txt) into a validated spec.
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "./config";
import { parseMachinesTxt } from "./machines";
import { NodeInput, RouteSpec, SpecInput } from "./types";
import { Problem, validateSpec, Validated } from "./validate";

export interface SourceOptions {
  /** Directory that relative paths (machinesFile) are resolved against: the project root. */
  readonly baseDir: string;
  readonly readFile?: (file: string) => string;
}

/** Builds the spec from whatever explicit nodes the config names, with every problem from both steps. */
export function specFromConfig(config: StackConfig, options: SourceOptions): Validated<RouteSpec> {
  const bounds = { clusterCidr: config.clusterCidr, nodeCidr: config.nodeCidr };
  if (config.machinesFile === undefined) {
    return validateSpec({ ...bounds, nodes: config.nodes, origin: "pod-routes:nodes" });
  }
  const file = path.resolve(options.baseDir, config.machinesFile);
  let text: string;
  try {
    text = (options.readFile ?? ((f: string) => fs.readFileSync(f, "utf8")))(file);
  } catch (error) {
    const problem: Problem = {
      where: "pod-routes:machinesFile",
      message: `cannot read ${file} (${(error as Error).message}); point it at your machines.txt, relative to the project directory`,
    };
    return { ok: false, problems: [problem] };
  }
  return specFromMachinesTxt(text, config.machinesFile, bounds);
}

/** A machines.txt (`IP FQDN HOSTNAME [POD_SUBNET]` lines) as a spec, with the parser's problems first. */
export function specFromMachinesTxt(
  text: string,
  origin: string,
  bounds: Pick<SpecInput, "clusterCidr" | "nodeCidr"> = {},
): Validated<RouteSpec> {
  const parsed = parseMachinesTxt(text, origin);
  return withProblems(validateSpec({ ...bounds, nodes: parsed.nodes, origin }), parsed.problems);
}

/** Validates nodes that a cloud lookup produced, keeping the problems found while looking them up. */
export function specFromNodes(
  config: Pick<StackConfig, "clusterCidr" | "nodeCidr">,
  nodes: NodeInput[],
  origin: string,
  lookupProblems: Problem[] = [],
): Validated<RouteSpec> {
  const input: SpecInput = { clusterCidr: config.clusterCidr, nodeCidr: config.nodeCidr, nodes, origin };
  return withProblems(validateSpec(input), lookupProblems);
}

function withProblems(result: Validated<RouteSpec>, earlier: Problem[]): Validated<RouteSpec> {
  if (earlier.length === 0) return result;
  return { ok: false, problems: [...earlier, ...(result.ok ? [] : result.problems)] };
}
