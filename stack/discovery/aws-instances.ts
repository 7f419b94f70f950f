// AWS discovery, pure: what the lookups found about instances (stack/discovery/aws.ts asks EC2) → nodes and
// problems: the pod CIDR from the runbook's user data, the source/destination check, and a listed node's IP
// against its instance. The nodes still go through validateSpec.
import { parseIp } from "../../core/cidr";
import { Problem, show } from "../../core/problems";
import { NodeInput, Worker } from "../../core/types";

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
