// AWS, pure: instance facts → nodes and problems, and the route table's limit. The stack layer feeds it
// what it looked up; the component and the offline CLI run the same checks.
import { parseCidr, parseIp } from "../core/cidr";
import { planCloudRoutes, recordPlan } from "../core/plan";
import { Problem, show, Validated } from "../core/problems";
import { NodeInput, PlannedRoute, RouteSpec, Worker } from "../core/types";
import { DEFAULTS } from "../core/defaults";

/** AWS's default "routes per route table" quota. */
export const DEFAULT_ROUTE_LIMIT: number = DEFAULTS.aws.routeLimit;

/** AWS's id for a route, as `pulumi import` and the `import` resource option take it. */
export const importId = (routeTableId: string, destination: string) => `${routeTableId}_${destination}`;

export const CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/";
export const ROUTE_TABLE_ID = /^rtb-[0-9a-f]+$/;
export const INSTANCE_ID = /^i-[0-9a-f]+$/;
/** The AWS provider always fills `userData` with a SHA-1 hash of the user data, never the data itself. */
export const SHA1_HEX = /^[0-9a-f]{40}$/;

/** What pod-routes needs to know about one instance. */
export interface AwsInstanceFacts {
  /** The node name (the instance's Name tag in the runbook). */
  readonly name: string;
  readonly instanceId: string;
  readonly privateIp: string;
  readonly ipv6Addresses: readonly string[];
  /** The primary network interface: the target of the instance's route. */
  readonly networkInterfaceId: string;
  readonly sourceDestCheck: boolean;
  /** User data as it came back, base64 or plain (e.g. `name=worker-0|pod-cidr=10.200.0.0/24`). */
  readonly userData?: string;
  /** True when only the provider's SHA-1 hash of the user data came back, not the data. */
  readonly userDataHashOnly?: boolean;
}

export interface AwsRouteTableFacts {
  readonly id: string;
  readonly vpcId: string;
  /** Destinations already in the table: IPv4 and IPv6 CIDRs, and prefix list ids (`pl-…`). */
  readonly destinations: readonly string[];
}

/** How an instance is found when not by its Name tag: its id and the setting that gave it. */
export interface InstanceIdSource {
  readonly id: string;
  readonly setting: string;
}

/**
 * The runbook's user data, `name=worker-0|pod-cidr=10.200.0.0/24`, base64 or plain; fields may also be on
 * separate lines. Returns the pod-cidr value as written (validation reports a bad one), or undefined.
 */
export function podCidrFromUserData(userData: string | undefined): string | undefined {
  if (userData === undefined || userData.length === 0) return undefined;
  const candidates = [userData];
  if (/^[A-Za-z0-9+/=\s]+$/.test(userData)) candidates.push(Buffer.from(userData, "base64").toString("utf8"));
  for (const text of candidates) {
    for (const field of text.split(/[|\n]/)) {
      const match = /^\s*pod-cidr=(\S+)\s*$/.exec(field);
      if (match) return match[1];
    }
  }
  return undefined;
}

const instanceWhere = (instance: Pick<AwsInstanceFacts, "name" | "instanceId">) =>
  `aws instance ${show(instance.name)} (${instance.instanceId})`;

function sourceDestProblem(instance: AwsInstanceFacts): Problem[] {
  if (!instance.sourceDestCheck) return [];
  return [
    {
      where: instanceWhere(instance),
      message: `has source/destination check on, so it drops packets addressed to its pods; turn it off with \`aws ec2 modify-instance-attribute --instance-id ${instance.instanceId} --no-source-dest-check\` (sourceDestCheck: false where the instance is defined)`,
    },
  ];
}

/**
 * Pure, discovery mode: instances → nodes (IP from the instance, pod CIDR from its user data), with a
 * problem for every instance that cannot carry pod traffic. The nodes still go through validateSpec.
 */
export function nodesFromInstances(instances: readonly AwsInstanceFacts[]): {
  nodes: NodeInput[];
  problems: Problem[];
} {
  const nodes: NodeInput[] = [];
  const problems: Problem[] = [];
  for (const instance of instances) {
    const where = instanceWhere(instance);
    problems.push(...sourceDestProblem(instance));
    const podCidr = podCidrFromUserData(instance.userData);
    if (podCidr === undefined) {
      const seen = instance.userDataHashOnly
        ? "its user data did not come back (only its SHA-1 hash)"
        : instance.userData
          ? "its user data has no pod-cidr field"
          : "it has no user data";
      problems.push({
        where,
        message: `${seen}; launch it with user data "name=${instance.name}|pod-cidr=10.200.N.0/24" as the runbook does, or list the nodes in pod-routes:nodes`,
      });
    }
    nodes.push({ name: instance.name, ip: instance.privateIp, podCidr, origin: where });
  }
  return { nodes, problems };
}

// AWS prints addresses in canonical form already; canonicalize anyway so comparisons never depend on spelling.
const canonicalIp = (text: string) => {
  const parsed = parseIp(text);
  return parsed.ok ? parsed.value.text : (parsed.suggestion ?? text);
};

/**
 * Pure, explicit node list: each worker's instance must have the node's IP (its private IPv4 address, or
 * one of its IPv6 addresses) and its source/destination check off.
 */
export function checkInstancesAgainstNodes(
  instances: readonly AwsInstanceFacts[],
  workers: readonly Worker[],
): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(workers.map((w) => [w.name, w]));
  for (const instance of instances) {
    problems.push(...sourceDestProblem(instance));
    const worker = byName.get(instance.name);
    if (worker === undefined) continue;
    const addresses = [instance.privateIp, ...instance.ipv6Addresses].filter((a) => a).map(canonicalIp);
    if (!addresses.includes(worker.ip)) {
      problems.push({
        where: instanceWhere(instance),
        message: `has private IP ${instance.privateIp || "(none)"}${
          instance.ipv6Addresses.length > 0 ? ` and IPv6 ${instance.ipv6Addresses.join(", ")}` : ""
        } but pod-routes:nodes gives ${show(worker.ip)} for node ${show(worker.name)}; fix the node's ip, or point the node at the right instance (pod-routes:aws.instanceIds)`,
      });
    }
  }
  return problems;
}

export const familyOf = (destination: string): 4 | 6 => (destination.includes(":") ? 6 : 4);
const canonicalCidr = (text: string) => {
  const parsed = parseCidr(text);
  return parsed.ok ? parsed.value.text : (parsed.suggestion ?? text);
};

/**
 * Pure: the route limit, which AWS enforces separately for IPv4 and IPv6 routes. Routes already in the table
 * for a destination pod-routes will (re)create count once. Prefix list routes count as IPv4.
 */
export function checkRouteLimit(
  table: Pick<AwsRouteTableFacts, "id" | "destinations">,
  destinations: readonly string[],
  routeLimit = DEFAULT_ROUTE_LIMIT,
  setting = (name: string) => name,
): Problem[] {
  const ours = new Set(destinations.map(canonicalCidr));
  const others = table.destinations.map(canonicalCidr).filter((d) => !ours.has(d));
  const problems: Problem[] = [];
  for (const family of [4, 6] as const) {
    const adding = [...ours].filter((d) => familyOf(d) === family).length;
    const existing = others.filter((d) => familyOf(d) === family).length;
    if (adding > 0 && existing + adding > routeLimit) {
      problems.push({
        where: setting("routeLimit"),
        message: `route table ${table.id} has ${existing} other IPv${family} routes; adding ${adding} makes ${existing + adding}, over its limit of ${routeLimit} (AWS counts IPv4 and IPv6 routes separately). Ask AWS for a higher "Routes per route table" quota and raise ${setting("routeLimit")} to match, or use fewer, larger pod CIDRs`,
      });
    }
  }
  return problems;
}

export interface PlanOptions {
  /** The route table's id, or words for it when it is only known at deploy time (the `where` column). */
  readonly routeTable: string;
  readonly routeNamePrefix?: string;
  readonly routeLimit?: number;
  /** Destinations already in the table (from a lookup); the limit counts them too. */
  readonly existingDestinations?: readonly string[];
  /** Names a setting in a problem, e.g. `routeLimit` → `pod-routes:aws.routeLimit`. */
  readonly setting?: (name: string) => string;
}

/** The routes to create in the table, or every problem with them. */
export function plan(spec: RouteSpec, options: PlanOptions): Validated<PlannedRoute[]> {
  const routes = planCloudRoutes(spec, options.routeTable, options.routeNamePrefix);
  const problems = checkRouteLimit(
    { id: options.routeTable, destinations: options.existingDestinations ?? [] },
    routes.map((r) => r.destination),
    options.routeLimit,
    options.setting,
  );
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: recordPlan(routes, spec, options.routeNamePrefix) };
}
