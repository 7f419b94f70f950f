// The components' inputs, shared by gcp, aws and ssh PodRoutes: node lists whose IPs may be Outputs. Plain
// values (names, roles, pod CIDRs: they decide resource names and counts) are checked at once; IPs that arrive
// as Outputs are checked when they resolve, with the same messages, and a bad one fails the update.
import * as pulumi from "@pulumi/pulumi";
import { PodRoutesError, Problem, Validated } from "../core/problems";
import { IP_LATER, NodeInput, Role, RouteSpec } from "../core/types";
import { validateKnownValues, validateSpec } from "../core/validate";

export interface NodeArgs {
  /** The node's name as Kubernetes knows it (RFC 1123). Plain: it names resources. */
  readonly name: string;
  /** The node's pod CIDR, e.g. `10.200.0.0/24` (workers only). Plain: it decides which routes exist. */
  readonly podCidr?: string;
  /** `worker` (the default with a podCidr) or `controller` (the default without). */
  readonly role?: Role;
  /** The node's internal IP: the next hop of the routes to its pods. */
  readonly ip: pulumi.Input<string>;
}

export interface SpecArgs<N extends NodeArgs = NodeArgs> {
  /** The cluster's pod range, one per address family; every pod CIDR must lie inside. Default `10.200.0.0/16`. */
  readonly clusterCidr?: string | string[];
  /** The nodes' own network; pod CIDRs must not overlap it and node IPs must lie in it. */
  readonly nodeCidr?: string;
  readonly nodes: readonly N[];
}

/** A node with its role settled: what the plan needs before any IP is known. */
export interface PlainNode {
  readonly name: string;
  readonly role: Role;
  readonly podCidr?: string;
  readonly fqdn?: string;
}

const plainIp = (ip: pulumi.Input<string>): unknown => (typeof ip === "string" ? ip : IP_LATER);

function specInput(args: SpecArgs, origin: string, ips?: readonly string[]) {
  return {
    ...(args.clusterCidr !== undefined ? { clusterCidr: args.clusterCidr } : {}),
    ...(args.nodeCidr !== undefined ? { nodeCidr: args.nodeCidr } : {}),
    origin,
    // Only the spec's own fields: a target's node args carry more (addresses, host keys, interface ids).
    nodes: args.nodes.map((node: NodeArgs & { fqdn?: string }, i): NodeInput => ({
      name: node.name,
      ip: ips ? ips[i] : plainIp(node.ip),
      ...(node.podCidr !== undefined ? { podCidr: node.podCidr } : {}),
      ...(node.role !== undefined ? { role: node.role } : {}),
      ...(node.fqdn !== undefined ? { fqdn: node.fqdn } : {}),
    })),
  };
}

/** Every problem with the values known now; IPs given as Outputs wait for `resolvedSpec`. */
export function knownProblems(args: SpecArgs, origin: string): Problem[] {
  if (!Array.isArray(args.nodes)) {
    return [{ where: origin, message: "must be a list of nodes ({ name, ip, podCidr })" }];
  }
  return validateKnownValues(specInput(args, origin));
}

/** The nodes with their roles, from plain values only (valid once `knownProblems` found nothing). */
export function plainNodes(args: SpecArgs<NodeArgs & { readonly fqdn?: string }>): PlainNode[] {
  return args.nodes.map((node) => ({
    name: node.name,
    role: node.role ?? (node.podCidr ? "worker" : "controller"),
    ...(node.podCidr ? { podCidr: node.podCidr } : {}),
    ...(node.fqdn !== undefined ? { fqdn: node.fqdn } : {}),
  }));
}

/** The whole spec, given every node's IP: what `resolvedSpec` checks once the Outputs resolve. */
export function specWithIps(args: SpecArgs, origin: string, ips: readonly string[]): Validated<RouteSpec> {
  return validateSpec(specInput(args, origin, ips));
}

/**
 * The whole spec once every IP is known; a problem then fails the update with every problem listed. Plain
 * when every IP is (as in the stack program): then no resource input needs to wait on an Output.
 */
export function resolvedSpec(
  args: SpecArgs,
  origin: string,
  context: string,
): RouteSpec | pulumi.Output<RouteSpec> {
  const check = (ips: readonly string[]) => {
    const result = specWithIps(args, origin, ips);
    if (!result.ok) throw new PodRoutesError(result.problems, context);
    return result.value;
  };
  const ips = args.nodes.map((node) => node.ip);
  if (ips.every((ip): ip is string => typeof ip === "string")) return check(ips);
  return pulumi.all(ips).apply(check);
}

/** `f` of a value that may be an Output: a plain value gives a plain result, an Output an Output. */
export function derive<T, U>(value: T | pulumi.Output<T>, f: (value: T) => U): U | pulumi.Output<U> {
  return pulumi.Output.isInstance(value)
    ? (value as pulumi.Output<T>).apply((v) => f(v as T))
    : f(value as T);
}

/** Each node's IP, by name. */
export const ipsByName = (spec: RouteSpec): ReadonlyMap<string, string> =>
  new Map(spec.nodes.map((node) => [node.name, node.ip]));

/** Throws every problem at once, as a component's constructor does before it creates anything. */
export function throwProblems(problems: readonly Problem[], context: string): void {
  if (problems.length > 0) throw new PodRoutesError(problems, context);
}
