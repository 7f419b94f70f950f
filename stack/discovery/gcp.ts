// GCP discovery for the stack program: read each worker's IP and pod CIDR from its instance, as the runbook
// does with `gcloud compute instances describe`.
import * as gcp from "@pulumi/gcp";
import { Problem, show } from "../../core/problems";
import { NodeInput } from "../../core/types";

/** What the runbook reads from an instance: `gcloud compute instances describe … --format 'value[separator=" "](networkInterfaces[0].networkIP,metadata.items[0].value)'`. */
export interface GcpInstanceFacts {
  readonly name: string;
  readonly networkIp?: string;
  readonly podCidr?: string;
  readonly canIpForward: boolean;
}

export async function lookupInstance(
  name: string,
  zone: string,
  project?: string,
): Promise<GcpInstanceFacts> {
  const instance = await gcp.compute.getInstance({ name, zone, ...(project ? { project } : {}) });
  const podCidr = instance.metadata?.["pod-cidr"];
  const networkIp = instance.networkInterfaces?.[0]?.networkIp;
  return {
    name,
    canIpForward: instance.canIpForward,
    ...(networkIp ? { networkIp } : {}),
    ...(podCidr ? { podCidr } : {}),
  };
}

/** Pure: instance facts → nodes, with a problem for every instance that cannot carry pod traffic. */
export function nodesFromInstances(facts: readonly GcpInstanceFacts[]): {
  nodes: NodeInput[];
  problems: Problem[];
} {
  const problems: Problem[] = [];
  const nodes: NodeInput[] = [];
  for (const instance of facts) {
    const where = `gcp instance ${show(instance.name)}`;
    if (!instance.canIpForward) {
      problems.push({
        where,
        message:
          "has canIpForward=false, so it would drop packets for its pods; recreate it with --can-ip-forward (canIpForward: true)",
      });
    }
    if (instance.podCidr === undefined) {
      problems.push({
        where,
        message: `has no "pod-cidr" metadata; add it, e.g. gcloud compute instances add-metadata ${instance.name} --metadata pod-cidr=10.200.0.0/24`,
      });
    }
    if (instance.networkIp === undefined) {
      problems.push({ where, message: "has no internal IP on networkInterfaces[0]" });
    }
    nodes.push({ name: instance.name, ip: instance.networkIp, podCidr: instance.podCidr, origin: where });
  }
  return { nodes, problems };
}
