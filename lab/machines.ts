// The lab's machines: a machines.txt read and validated by pod-routes itself (the stack's own machinesFile
// path: core/machines.ts, then validateSpec), then held to what one lab /24 can hold. lab.sh takes the result
// as JSON and parses no machines.txt, CIDR or name of its own.
import * as fs from "fs";
import { formatIp, parseCidr, parseIp } from "../core/cidr";
import { formatProblems, Problem, Validated } from "../core/problems";
import { parseMachinesTxt } from "../core/machines";
import { specFromMachinesTxt } from "../stack/source";

/** One machine as lab.sh builds it. */
export interface LabMachine {
  readonly ip: string;
  readonly fqdn: string;
  /** Also its network namespace's name, `prl-<name>`, and its directory in the lab. */
  readonly name: string;
  readonly podCidr?: string;
  /** The node's address in its pod subnet (the pod's gateway): the subnet's .1. */
  readonly podGateway?: string;
  /** The pod's address: the subnet's .2. */
  readonly podIp?: string;
  readonly podPrefix?: number;
}

/** What lab.sh up reads (its first argument, a JSON file). */
export interface LabMachines {
  /** The hosts' /24, as its first three octets: `198.19.249`. */
  readonly net: string;
  /** The root namespace's address on the lab's bridge: the /24's .1, or .254 when .1 is a host. */
  readonly workstationIp: string;
  readonly machines: readonly LabMachine[];
}

/** The lab's own limits, beyond what pod-routes accepts. */
export const LAB_LIMITS = {
  /** One /24, less its network, broadcast and workstation addresses. */
  maxMachines: 250,
  /** A host name is a directory and part of namespace names: one DNS label, this long at most. */
  maxNameLength: 42,
  /** A pod namespace takes the pod subnet's .1 (the node) and .2 (the pod). */
  podPrefix: { min: 8, max: 30 },
} as const;

/** The lab's machines from a machines.txt's text, or every problem with it: pod-routes' own and the lab's. */
export function labMachines(text: string, origin: string): Validated<LabMachines> {
  // A lab may be machines only (a controller to run a test's own spec against): no worker needed.
  const spec = specFromMachinesTxt(text, origin, { allowNoWorkers: true });
  // The lab's limits are checked on what the file says even when pod-routes refuses some of it, so that
  // every problem is reported at once; values pod-routes refused are its to report.
  const nodes: readonly Machine[] = spec.ok
    ? spec.value.nodes
    : parseMachinesTxt(text, origin).nodes.flatMap((n) =>
        typeof n.ip === "string" && typeof n.name === "string"
          ? [{ ip: n.ip, name: n.name, ...(typeof n.podCidr === "string" ? { podCidr: n.podCidr } : {}) }]
          : [],
      );
  const limits = labLimits(nodes, origin);
  const problems = [...(spec.ok ? [] : spec.problems), ...limits.problems];
  if (!spec.ok || problems.length > 0 || limits.workstationIp === undefined) return { ok: false, problems };
  return {
    ok: true,
    value: {
      net: limits.net,
      workstationIp: limits.workstationIp,
      machines: spec.value.nodes.map((n) => ({
        ip: n.ip,
        fqdn: n.fqdn ?? n.name,
        name: n.name,
        ...podOf(n.podCidr),
      })),
    },
  };
}

type Machine = { readonly ip: string; readonly name: string; readonly podCidr?: string };

/** What one lab /24 can hold; a value that does not parse is skipped (pod-routes reports it). */
function labLimits(
  nodes: readonly Machine[],
  origin: string,
): { problems: Problem[]; net: string; workstationIp?: string } {
  const problems: Problem[] = [];
  const add = (message: string) => problems.push({ where: origin, message });
  if (nodes.length > LAB_LIMITS.maxMachines)
    add(`at most ${LAB_LIMITS.maxMachines} machines fit on the lab's /24`);
  const v4 = nodes.filter((n) => {
    const ip = parseIp(n.ip);
    if (ip.ok && ip.value.family === 6)
      add(`${n.name}: ${n.ip} is not an IPv4 address; the lab's hosts are IPv4`);
    return ip.ok && ip.value.family === 4;
  });
  const net = (v4[0]?.ip ?? "").split(".").slice(0, 3).join(".");
  for (const node of v4) {
    if (!node.ip.startsWith(`${net}.`))
      add(
        `${node.name}: ${node.ip} is not in ${net}.0/24 like the first machine; the lab puts all hosts on one /24`,
      );
    if (node.ip === `${net}.0` || node.ip === `${net}.255`)
      add(`${node.name}: ${node.ip} is the network or broadcast address of ${net}.0/24`);
  }
  for (const node of nodes) {
    if (node.name.includes(".") || node.name.length > LAB_LIMITS.maxNameLength)
      add(`${node.name}: a lab host name is one label of at most ${LAB_LIMITS.maxNameLength} characters`);
    const pod = node.podCidr !== undefined ? parseCidr(node.podCidr) : undefined;
    const { min, max } = LAB_LIMITS.podPrefix;
    if (pod?.ok && (pod.value.family !== 4 || pod.value.prefix < min || pod.value.prefix > max))
      add(
        `${node.name}: the lab's pod subnets are IPv4 with a prefix of /${min} to /${max}, not ${node.podCidr}`,
      );
  }
  const taken = new Set(v4.map((n) => n.ip));
  const workstationIp = [`${net}.1`, `${net}.254`].find((ip) => !taken.has(ip));
  if (workstationIp === undefined)
    add(`both ${net}.1 and ${net}.254 are hosts; the workstation needs one of them`);
  return { problems, net, ...(workstationIp !== undefined ? { workstationIp } : {}) };
}

/** A pod subnet's addresses as the lab uses them: the node at .1 (the gateway), the pod at .2. */
function podOf(
  podCidr: string | undefined,
): Pick<LabMachine, "podCidr" | "podGateway" | "podIp" | "podPrefix"> {
  const pod = podCidr !== undefined ? parseCidr(podCidr) : undefined;
  if (pod === undefined || !pod.ok) return {};
  const { family, start, prefix, text } = pod.value;
  return {
    podCidr: text,
    podGateway: formatIp(family, start + 1n),
    podIp: formatIp(family, start + 2n),
    podPrefix: prefix,
  };
}

/** Writes the machines of a machines.txt as lab.sh's JSON input at `jsonFile`; throws every problem at once. */
export function writeLabMachines(machinesFile: string, jsonFile: string): LabMachines {
  const machines = labMachines(fs.readFileSync(machinesFile, "utf8"), machinesFile);
  if (!machines.ok) {
    throw new Error(`the lab cannot be built from ${machinesFile}:\n${formatProblems(machines.problems)}`);
  }
  fs.writeFileSync(jsonFile, `${JSON.stringify(machines.value, null, 2)}\n`);
  return machines.value;
}
