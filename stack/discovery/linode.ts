// Linode discovery for the stack program: instances found by exact label; SSH to each one's public IPv4,
// next hop = its address on the chosen private network (default, VLAN or VPC).
import * as linode from "@pulumi/linode";
import { containsCidr, containsIp, parseCidr, parseIp } from "../../core/cidr";
import { Problem, show } from "../../core/problems";
import { NodeInput } from "../../core/types";
import { LinodeConfig } from "../config";

/** Linode's default private network only carries packets whose source is inside this block. */
export const LINODE_PRIVATE_BLOCK = "192.168.128.0/17";
const privateBlock = parseCidr(LINODE_PRIVATE_BLOCK);

export interface LinodeInstanceFacts {
  readonly label: string;
  readonly publicIp?: string;
  /** The address other nodes reach it on, on the configured private network. */
  readonly privateIp?: string;
}

type Instance = Awaited<ReturnType<typeof linode.getInstances>>["instances"][number];

/** Whether an address is on Linode's default private network (192.168.128.0/17). */
export function isLinodePrivate(ip: string): boolean {
  const address = parseIp(ip);
  return privateBlock.ok && address.ok && containsIp(privateBlock.value, address.value);
}

/** Pure: the address on the chosen private network (default private IP, VLAN ipam address or VPC address). */
export function factsFromInstance(
  instance: Instance,
  network: LinodeConfig["privateNetwork"],
): LinodeInstanceFacts {
  const interfaces = (instance.configs ?? []).flatMap((c) => c.interfaces ?? []);
  let privateIp: string | undefined;
  // The default private address: privateIpAddress, or else the one in the instance's IPv4 list that lies
  // in Linode's private block (the list holds public and private addresses alike).
  if (network === "default")
    privateIp = instance.privateIpAddress || (instance.ipv4s ?? []).find(isLinodePrivate) || undefined;
  else if (network === "vlan")
    privateIp = interfaces.find((i) => i.purpose === "vlan")?.ipamAddress?.split("/")[0];
  else privateIp = interfaces.find((i) => i.purpose === "vpc")?.ipv4?.vpc || undefined;
  const publicIp =
    instance.ipAddress || (instance.ipv4s ?? []).find((ip) => !isLinodePrivate(ip)) || undefined;
  return { label: instance.label, ...(publicIp ? { publicIp } : {}), ...(privateIp ? { privateIp } : {}) };
}

/** Pure: nodes from the instances, with every problem; and whether pod traffic would be dropped. */
export function nodesFromLinode(
  facts: readonly LinodeInstanceFacts[],
  config: LinodeConfig,
): { nodes: NodeInput[]; problems: Problem[]; dropsPodTraffic: boolean } {
  const problems: Problem[] = [];
  const controllers = new Set(config.controllers);
  const nodes = facts.map((f): NodeInput => {
    const where = `linode instance ${show(f.label)}`;
    if (f.privateIp === undefined) {
      problems.push({
        where,
        message:
          config.privateNetwork === "default"
            ? "has no private IPv4; add one (linode-cli linodes ip-add --type ipv4 --public false) or use a VLAN/VPC"
            : `has no ${config.privateNetwork.toUpperCase()} interface address; attach it, or set pod-routes:linode.privateNetwork`,
      });
    }
    if (f.publicIp === undefined)
      problems.push({ where, message: "has no public IPv4 to connect to over SSH" });
    const podCidr = controllers.has(f.label) ? undefined : config.podCidrs[f.label];
    if (!controllers.has(f.label) && podCidr === undefined) {
      problems.push({
        where,
        message: `has no pod CIDR; add it to pod-routes:linode.podCidrs (e.g. "${f.label}": "10.200.0.0/24")`,
      });
    }
    return {
      name: f.label,
      ip: f.privateIp,
      role: controllers.has(f.label) ? "controller" : "worker",
      origin: where,
      ...(podCidr ? { podCidr } : {}),
    };
  });
  const dropsPodTraffic =
    config.privateNetwork === "default" &&
    privateBlock.ok &&
    Object.values(config.podCidrs).some((cidr) => {
      const parsed = parseCidr(cidr);
      return parsed.ok && !containsCidr(privateBlock.value, parsed.value);
    });
  return { nodes, problems, dropsPodTraffic };
}

export async function lookupLinode(
  label: string,
  network: LinodeConfig["privateNetwork"],
): Promise<LinodeInstanceFacts | Problem> {
  const found = await linode.getInstances({
    filters: [{ name: "label", values: [label], matchBy: "exact" }],
  });
  if (found.instances.length !== 1) {
    return {
      where: `linode instance ${show(label)}`,
      message: `${found.instances.length} instances have this exact label; pod-routes needs exactly one`,
    };
  }
  return factsFromInstance(found.instances[0] as Instance, network);
}
