// AWS discovery for the stack program: the route table (by id, by the cluster tag, or from another stack's
// output), each worker's instance (its interface, IP, source/destination check, user data), and the table's
// route limit. Everything is looked up and checked before any route exists; problems are reported together.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseCidr } from "../../core/cidr";
import { workersOf } from "../../core/routes";
import { PodRoutesError, Problem, show } from "../../core/problems";
import { ValidSpec } from "../../core/types";
import { AwsRouteTableFacts, checkRouteLimit } from "../../aws/plan";
import {
  AwsInstanceFacts,
  checkInstancesAgainstNodes,
  CLUSTER_TAG_PREFIX,
  INSTANCE_ID,
  InstanceIdSource,
  nodesFromInstances,
  ROUTE_TABLE_ID,
  SHA1_HEX,
} from "./aws-instances";
import { AwsConfig, StackConfig } from "../config";
import { setting } from "../stack-plan";
import { specFromNodes } from "../source";

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

export interface Resolved {
  readonly spec: ValidSpec;
  readonly table: AwsRouteTableFacts;
  /** Each worker's primary network interface: the routes' target. */
  readonly interfaceOf: ReadonlyMap<string, string>;
}

/** Looks up and checks everything, collecting every problem; throws a PodRoutesError before any route exists. */
export async function resolveAws(
  config: Partial<StackConfig>,
  awsConfig: AwsConfig,
  declared: ValidSpec | undefined,
  earlier: readonly Problem[],
): Promise<Resolved> {
  const problems: Problem[] = [];
  const reference = awsConfig.stackReference ? await readStackReference(awsConfig.stackReference) : undefined;
  problems.push(...(reference?.problems ?? []));

  // The instances to look up: the discovery list, or the workers of the explicit node list.
  let names: string[] = [];
  let known: ReadonlySet<string> | undefined;
  if (awsConfig.discovery) {
    names = [...awsConfig.discovery.instances];
    known = new Set(names);
  } else if (declared) {
    names = workersOf(declared).map((w) => w.name);
    known = new Set(declared.nodes.map((n) => n.name));
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

  let spec: ValidSpec | undefined;
  let destinations: string[] = [];
  if (declared) {
    problems.push(...checkInstancesAgainstNodes(instances, workersOf(declared)));
    spec = declared;
    destinations = workersOf(declared).map((w) => w.podCidr);
  } else if (instances.length > 0) {
    const fromInstances = nodesFromInstances(instances);
    problems.push(...fromInstances.problems);
    const result = specFromNodes(
      { clusterCidr: config.clusterCidr, nodeCidr: config.nodeCidr },
      fromInstances.nodes,
      "pod-routes:aws.discovery.instances",
    );
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
  if (table) {
    problems.push(...checkRouteLimit(table, destinations, awsConfig.routeLimit, setting("aws.")));
  }

  if (problems.length > 0 || earlier.length > 0) throw new PodRoutesError([...earlier, ...problems]);
  if (!spec || !table) {
    throw new PodRoutesError([
      { where: "pod-routes:aws", message: "no nodes or route table could be resolved" },
    ]);
  }
  return {
    spec,
    table,
    interfaceOf: new Map(instances.map((i) => [i.name, i.networkInterfaceId])),
  };
}
