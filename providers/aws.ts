// AWS: one aws.ec2.Route per worker in the cluster's route table, target = the worker's primary network
// interface, as the runbook's `aws ec2 create-route --route-table-id … --destination-cidr-block 10.200.i.0/24
// --instance-id …` does (a route "to an instance" is a route to its primary interface).
//
// Everything is looked up and checked before the first route is registered: the route table (by id, by the
// cluster tag, or from another stack's output), each worker's instance, its source/destination check, its
// private IP and pod CIDR, and the table's route limit. Any problem stops the run with all of them listed.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseCidr, parseIp } from "../spec/cidr";
import { AwsConfig, StackConfig } from "../spec/config";
import { awsRouteImportId, planCloudRoutes, workersOf } from "../spec/plan";
import { specFromConfig, specFromNodes } from "../spec/source";
import { NodeInput, PlannedRoute, RouteSpec, Worker } from "../spec/types";
import { Problem, SpecError, show } from "../spec/validate";
import { DeployContext, RouteProvider, toRows } from "./types";

export const CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/";
const ROUTE_TABLE_ID = /^rtb-[0-9a-f]+$/;
const INSTANCE_ID = /^i-[0-9a-f]+$/;
/** The AWS provider always fills `userData` with a SHA-1 hash of the user data, never the data itself. */
const SHA1_HEX = /^[0-9a-f]{40}$/;

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

// ---- Pure helpers: facts → nodes and problems, nodes → routes. Tested without Pulumi. ----

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

const familyOf = (destination: string): 4 | 6 => (destination.includes(":") ? 6 : 4);
const canonicalCidr = (text: string) => {
  const parsed = parseCidr(text);
  return parsed.ok ? parsed.value.text : (parsed.suggestion ?? text);
};

/**
 * Pure: the route limit, which AWS enforces separately for IPv4 and IPv6 routes. Routes already in the table
 * for a destination pod-routes will (re)create count once. Prefix list routes count as IPv4.
 */
export function checkRouteLimit(
  table: AwsRouteTableFacts,
  destinations: readonly string[],
  routeLimit: number,
): Problem[] {
  const ours = new Set(destinations.map(canonicalCidr));
  const others = table.destinations.map(canonicalCidr).filter((d) => !ours.has(d));
  const problems: Problem[] = [];
  for (const family of [4, 6] as const) {
    const adding = [...ours].filter((d) => familyOf(d) === family).length;
    const existing = others.filter((d) => familyOf(d) === family).length;
    if (adding > 0 && existing + adding > routeLimit) {
      problems.push({
        where: "pod-routes:aws.routeLimit",
        message: `route table ${table.id} has ${existing} other IPv${family} routes; adding ${adding} makes ${existing + adding}, over its limit of ${routeLimit} (AWS counts IPv4 and IPv6 routes separately). Ask AWS for a higher "Routes per route table" quota and raise pod-routes:aws.routeLimit to match, or use fewer, larger pod CIDRs`,
      });
    }
  }
  return problems;
}

/**
 * One route per planned route, at the stack's top level so that routes made by hand can be imported as
 * they are. For an import to show no diff the route table, destination and target must match; the
 * runbook's `--instance-id` routes point at the instance's primary interface, which is what this sets.
 */
export function createAwsRoutes(
  planned: readonly PlannedRoute[],
  interfaceOf: ReadonlyMap<string, string>,
  adopt: boolean,
): aws.ec2.Route[] {
  return planned.map((route) => {
    const networkInterfaceId = interfaceOf.get(route.node);
    if (networkInterfaceId === undefined) throw new Error(`no network interface known for ${route.node}`);
    const destination =
      familyOf(route.destination) === 6
        ? { destinationIpv6CidrBlock: route.destination }
        : { destinationCidrBlock: route.destination };
    return new aws.ec2.Route(
      route.name,
      { routeTableId: route.where, networkInterfaceId, ...destination },
      {
        // A table holds one route per destination, so a replacement must remove the old one first.
        deleteBeforeReplace: true,
        ...(adopt ? { import: awsRouteImportId(route.where, route.destination) } : {}),
      },
    );
  });
}

// ---- Lookups: thin wrappers over the AWS data sources and the StackReference, answered by mocks in tests. ----

/** ` (the error, on one line)`, or nothing when the error says nothing (as invoke errors under mocks do). */
function because(error: unknown): string {
  const text = String(error instanceof Error ? error.message : error)
    .replace(/\s+/g, " ")
    .trim();
  if (text.length === 0) return "";
  return ` (${text.length > 300 ? `${text.slice(0, 300)}…` : text})`;
}

async function lookupInstance(
  name: string,
  vpcId: string,
  byId: InstanceIdSource | undefined,
): Promise<AwsInstanceFacts | Problem> {
  try {
    const found = await aws.ec2.getInstance({
      getUserData: true,
      ...(byId !== undefined
        ? { instanceId: byId.id, filters: [{ name: "vpc-id", values: [vpcId] }] }
        : {
            filters: [
              { name: "tag:Name", values: [name] },
              { name: "vpc-id", values: [vpcId] },
              // Terminated instances keep their tags for a while; they must not count as a match.
              { name: "instance-state-name", values: ["pending", "running", "stopping", "stopped"] },
            ],
          }),
    });
    const base64 = found.userDataBase64 || undefined;
    const plain = found.userData && !SHA1_HEX.test(found.userData) ? found.userData : undefined;
    const userData = base64 ?? plain;
    return {
      name,
      instanceId: found.id,
      privateIp: found.privateIp,
      ipv6Addresses: found.ipv6Addresses ?? [],
      networkInterfaceId: found.networkInterfaceId,
      sourceDestCheck: found.sourceDestCheck,
      ...(userData !== undefined ? { userData } : {}),
      ...(userData === undefined && found.userData ? { userDataHashOnly: true } : {}),
    };
  } catch (error) {
    return byId !== undefined
      ? {
          where: `aws instance ${show(name)} (${byId.id})`,
          message: `cannot be read in ${vpcId}, the route table's VPC${because(error)}; check the id in ${byId.setting}`,
        }
      : {
          where: `aws instance ${show(name)}`,
          message: `cannot be found by its Name tag in ${vpcId}, the route table's VPC${because(error)}; make sure exactly one live instance there has the tag Name=${name}, or give its id in pod-routes:aws.instanceIds`,
        };
  }
}

/** The route table: by explicit id, by the one id another stack exports, or by the cluster tag. */
async function lookupRouteTable(
  awsConfig: AwsConfig,
  referencedId: string | undefined,
): Promise<AwsRouteTableFacts | Problem> {
  let tableId = awsConfig.routeTableId ?? referencedId;
  let setting =
    awsConfig.routeTableId !== undefined ? "pod-routes:aws.routeTableId" : "pod-routes:aws.stackReference";
  if (awsConfig.clusterName !== undefined) {
    setting = "pod-routes:aws.clusterName";
    const tag = `${CLUSTER_TAG_PREFIX}${awsConfig.clusterName}`;
    const within = awsConfig.vpcId !== undefined ? ` in ${awsConfig.vpcId}` : "";
    let ids: string[];
    try {
      // As the runbook: `describe-route-tables --filters Name=tag-key,Values=kubernetes.io/cluster/<name>`,
      // which matches the tag whatever its value (owned or shared).
      const found = await aws.ec2.getRouteTables({
        filters: [
          { name: "tag-key", values: [tag] },
          ...(awsConfig.vpcId !== undefined ? [{ name: "vpc-id", values: [awsConfig.vpcId] }] : []),
        ],
      });
      ids = found.ids ?? [];
    } catch (error) {
      return {
        where: setting,
        message: `cannot list route tables with the tag ${tag}${because(error)}`,
      };
    }
    if (ids.length !== 1) {
      return {
        where: setting,
        message:
          ids.length === 0
            ? `no route table${within} has the tag ${tag}; tag the cluster's route table (aws ec2 create-tags --resources rtb-… --tags Key=${tag},Value=shared), or set pod-routes:aws.routeTableId instead of clusterName`
            : `${ids.length} route tables${within} have the tag ${tag} (${ids.join(", ")}), and routes must not go to the wrong one; remove the tag from all but the cluster's table, or set pod-routes:aws.routeTableId (or pod-routes:aws.vpcId) to pick one`,
      };
    }
    tableId = ids[0];
  }
  if (tableId === undefined) return { where: setting, message: "no route table id could be resolved" };
  try {
    const table = await aws.ec2.getRouteTable({ routeTableId: tableId });
    // The data source already leaves out the `local` route and propagated routes, which the limit does not count.
    const destinations = (table.routes ?? [])
      .map((r) => r.cidrBlock || r.ipv6CidrBlock || r.destinationPrefixListId)
      .filter((d): d is string => Boolean(d));
    return { id: tableId, vpcId: table.vpcId, destinations };
  } catch (error) {
    return {
      where: setting,
      message: `route table ${tableId} cannot be read${because(error)}; check the id and the provider's region (aws:region)`,
    };
  }
}

interface ReferencedIds {
  readonly tableId?: string;
  readonly instanceIds: ReadonlyMap<string, InstanceIdSource>;
  readonly problems: Problem[];
}

/**
 * Reads another stack's outputs, like CloudFormation's `!ImportValue hard-k8s-rtb`. Awaited here, before
 * planning, so that the referenced ids are checked before any route exists.
 */
async function readStackReference(
  reference: NonNullable<AwsConfig["stackReference"]>,
): Promise<ReferencedIds> {
  const problems: Problem[] = [];
  const instanceIds = new Map<string, InstanceIdSource>();
  const stack = new pulumi.StackReference(reference.name);
  const read = async (output: string): Promise<{ value: unknown; secret: boolean } | Problem> => {
    try {
      const details = await stack.getOutputDetails(output);
      const secret = details.value === undefined && details.secretValue !== undefined;
      return { value: secret ? details.secretValue : details.value, secret };
    } catch (error) {
      return {
        where: "pod-routes:aws.stackReference.name",
        message: `cannot read stack ${show(reference.name)}${because(error)}; give it as organization/project/stack`,
      };
    }
  };
  const shown = (got: { value: unknown; secret: boolean }) =>
    got.value === undefined ? "no such output" : got.secret ? "a secret value" : show(got.value);

  const table = await read(reference.routeTableOutput);
  let tableId: string | undefined;
  if ("where" in table) problems.push(table);
  else if (typeof table.value === "string" && ROUTE_TABLE_ID.test(table.value)) tableId = table.value;
  else {
    problems.push({
      where: "pod-routes:aws.stackReference.routeTableOutput",
      message: `output ${show(reference.routeTableOutput)} of stack ${reference.name} is not a route table id (got ${shown(table)}); export the table id there (the CloudFormation export hard-k8s-rtb), or name the right output`,
    });
  }
  for (const [node, output] of Object.entries(reference.instanceOutputs ?? {})) {
    const got = await read(output);
    if ("where" in got) problems.push(got);
    else if (typeof got.value === "string" && INSTANCE_ID.test(got.value)) {
      instanceIds.set(node, { id: got.value, setting: `output ${show(output)} of stack ${reference.name}` });
    } else {
      problems.push({
        where: `pod-routes:aws.stackReference.instanceOutputs.${node}`,
        message: `output ${show(output)} of stack ${reference.name} is not an instance id (got ${shown(got)}); export node ${show(node)}'s instance id there (like the CloudFormation export hard-k8s-worker-N)`,
      });
    }
  }
  // A problem reading the stack itself is the same for every output; say it once.
  const unique = problems.filter((p, i) => problems.findIndex((q) => q.message === p.message) === i);
  return { ...(tableId !== undefined ? { tableId } : {}), instanceIds, problems: unique };
}

// ---- The provider: resolve and check everything, then create the routes. ----

const isProblem = (value: object): value is Problem => "where" in value && "message" in value;

interface Resolved {
  readonly planned: PlannedRoute[];
  readonly interfaceOf: ReadonlyMap<string, string>;
}

/** Looks up and checks everything, collecting every problem; throws a SpecError before any route exists. */
async function resolveAll(config: StackConfig, awsConfig: AwsConfig, baseDir: string): Promise<Resolved> {
  const problems: Problem[] = [];
  const reference = awsConfig.stackReference ? await readStackReference(awsConfig.stackReference) : undefined;
  problems.push(...(reference?.problems ?? []));

  // The instances to look up: the discovery list, or the workers of the explicit node list.
  let declared: RouteSpec | undefined;
  let names: string[] = [];
  let known: ReadonlySet<string> | undefined;
  if (awsConfig.discovery) {
    names = [...awsConfig.discovery.instances];
    known = new Set(names);
  } else {
    const result = specFromConfig(config, { baseDir });
    if (result.ok) {
      declared = result.value;
      names = workersOf(declared).map((w) => w.name);
      known = new Set(declared.nodes.map((n) => n.name));
    } else problems.push(...result.problems);
  }

  const idOf = new Map<string, InstanceIdSource>(reference?.instanceIds ?? []);
  for (const [node, id] of Object.entries(awsConfig.instanceIds ?? {})) {
    idOf.set(node, { id, setting: `pod-routes:aws.instanceIds.${node}` });
  }
  const nodeKeys = [
    ...Object.keys(awsConfig.instanceIds ?? {}).map((node) => ["pod-routes:aws.instanceIds", node] as const),
    ...Object.keys(awsConfig.stackReference?.instanceOutputs ?? {}).map(
      (node) => ["pod-routes:aws.stackReference.instanceOutputs", node] as const,
    ),
  ];
  // Only when the node names are known (a broken node list is reported on its own).
  const unknown = known === undefined ? [] : nodeKeys.filter(([, node]) => !known.has(node));
  for (const [setting, node] of unknown) {
    problems.push({
      where: `${setting}.${node}`,
      message: `names ${show(node)}, which is not a node (${[...(known ?? [])].join(", ")}); fix the name or remove the entry`,
    });
  }

  let table: AwsRouteTableFacts | undefined;
  if (!(awsConfig.stackReference && reference?.tableId === undefined)) {
    const found = await lookupRouteTable(awsConfig, reference?.tableId);
    if (isProblem(found)) problems.push(found);
    else table = found;
  }
  if (table && awsConfig.vpcId !== undefined && table.vpcId !== awsConfig.vpcId) {
    problems.push({
      where: "pod-routes:aws.vpcId",
      message: `is ${awsConfig.vpcId}, but route table ${table.id} is in ${table.vpcId}; fix pod-routes:aws.vpcId or the route table`,
    });
  }

  // Instances are looked up only in the table's VPC, so that a same-named instance elsewhere never matches.
  const vpcId = table?.vpcId ?? awsConfig.vpcId;
  const instances: AwsInstanceFacts[] = [];
  if (vpcId !== undefined && names.length > 0) {
    const found = await Promise.all(names.map((name) => lookupInstance(name, vpcId, idOf.get(name))));
    for (const item of found) {
      if (isProblem(item)) problems.push(item);
      else instances.push(item);
    }
  }

  let spec: RouteSpec | undefined;
  let destinations: string[] = [];
  if (declared) {
    problems.push(...checkInstancesAgainstNodes(instances, workersOf(declared)));
    spec = declared;
    destinations = workersOf(declared).map((w) => w.podCidr);
  } else if (instances.length > 0) {
    const fromInstances = nodesFromInstances(instances);
    problems.push(...fromInstances.problems);
    const result = specFromNodes(config, fromInstances.nodes, "pod-routes:aws.discovery.instances");
    if (result.ok) spec = result.value;
    else problems.push(...result.problems);
    // With some workers broken, the limit is still checked for the pod CIDRs that are known.
    destinations = [
      ...new Set(
        fromInstances.nodes
          .map((n) => (typeof n.podCidr === "string" ? parseCidr(n.podCidr) : undefined))
          .flatMap((parsed) => (parsed?.ok ? [parsed.value.text] : [])),
      ),
    ];
  }
  if (table) problems.push(...checkRouteLimit(table, destinations, awsConfig.routeLimit));

  if (problems.length > 0) throw new SpecError(problems);
  if (!spec || !table) {
    throw new SpecError([{ where: "pod-routes:aws", message: "no nodes or route table could be resolved" }]);
  }
  return {
    planned: planCloudRoutes(spec, table.id, config.routeNamePrefix),
    interfaceOf: new Map(instances.map((i) => [i.name, i.networkInterfaceId])),
  };
}

export const awsProvider: RouteProvider = {
  cloud: "aws",
  async deploy(context: DeployContext) {
    const awsConfig = context.config.aws;
    if (!awsConfig) {
      throw new SpecError([
        {
          where: "pod-routes:aws",
          message:
            "is required when cloud is aws: set aws.clusterName, aws.routeTableId or aws.stackReference",
        },
      ]);
    }
    const { planned, interfaceOf } = await resolveAll(context.config, awsConfig, context.baseDir);
    createAwsRoutes(planned, interfaceOf, context.config.adopt);
    return toRows(planned);
  },
};
