// Turns the explicit node sources of a stack config (a node list or a machines.txt) into a validated spec.
import * as fs from "fs";
import * as path from "path";
import { parseMachinesTxt } from "../core/machines";
import { Problem, Validated } from "../core/problems";
import { NodeInput, SpecInput, ValidSpec } from "../core/types";
import { validateSpec } from "../core/validate";
import { StackConfig } from "./config";

/** A machines.txt larger than this is not an inventory (1,024 hosts take about 60 KB). */
const MAX_MACHINES_FILE_BYTES = 1 << 20;

export interface SourceOptions {
  /** The project directory: machinesFile is resolved against it and must stay inside it. */
  readonly baseDir: string;
}

/** Reads pod-routes:machinesFile, which must be a file inside the project directory. */
export function readMachinesFile(file: string, baseDir: string): Validated<string> {
  const where = "pod-routes:machinesFile";
  const fail = (message: string): Validated<string> => ({ ok: false, problems: [{ where, message }] });
  const root = fs.realpathSync(baseDir);
  let resolved: string;
  try {
    resolved = fs.realpathSync(path.resolve(baseDir, file));
  } catch {
    return fail(
      `cannot read ${JSON.stringify(file)} (no such file in ${root}); point it at your machines.txt, relative to the project directory`,
    );
  }
  const relative = path.relative(root, resolved);
  if (relative.startsWith("..") || path.isAbsolute(relative)) {
    return fail(
      `${JSON.stringify(file)} is outside the project directory ${root}; copy the machines.txt into the project and point at it there`,
    );
  }
  const stat = fs.statSync(resolved);
  if (!stat.isFile()) return fail(`${JSON.stringify(file)} is not a file`);
  if (stat.size > MAX_MACHINES_FILE_BYTES) {
    return fail(
      `${JSON.stringify(file)} has ${stat.size} bytes; a machines.txt has one short line per machine`,
    );
  }
  return { ok: true, value: fs.readFileSync(resolved, "utf8") };
}

/** Builds the spec from whatever explicit nodes the config names, with every problem from both steps. */
export function specFromConfig(
  config: Pick<StackConfig, "clusterCidr" | "nodeCidr" | "nodes" | "machinesFile">,
  options: SourceOptions,
): Validated<ValidSpec> {
  const bounds = { clusterCidr: config.clusterCidr, nodeCidr: config.nodeCidr };
  if (config.machinesFile === undefined) {
    return validateSpec({ ...bounds, nodes: config.nodes, origin: "pod-routes:nodes" });
  }
  const text = readMachinesFile(config.machinesFile, options.baseDir);
  if (!text.ok) return text as Validated<never>;
  return specFromMachinesTxt(text.value, config.machinesFile, bounds);
}

/** A machines.txt (`IP FQDN HOSTNAME [POD_SUBNET]` lines) as a spec, with the parser's problems first. */
export function specFromMachinesTxt(
  text: string,
  origin: string,
  bounds: Pick<SpecInput, "clusterCidr" | "nodeCidr" | "allowNoWorkers"> = {},
): Validated<ValidSpec> {
  const parsed = parseMachinesTxt(text, origin);
  return withProblems(validateSpec({ ...bounds, nodes: parsed.nodes, origin }), parsed.problems);
}

/** Validates nodes that a cloud lookup produced, keeping the problems found while looking them up. */
export function specFromNodes(
  config: Pick<StackConfig, "clusterCidr" | "nodeCidr">,
  nodes: NodeInput[],
  origin: string,
  lookupProblems: Problem[] = [],
): Validated<ValidSpec> {
  const input: SpecInput = { clusterCidr: config.clusterCidr, nodeCidr: config.nodeCidr, nodes, origin };
  return withProblems(validateSpec(input), lookupProblems);
}

function withProblems(result: Validated<ValidSpec>, earlier: Problem[]): Validated<ValidSpec> {
  if (earlier.length === 0) return result;
  return { ok: false, problems: [...earlier, ...(result.ok ? [] : result.problems)] };
}
