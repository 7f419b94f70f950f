// The components' inputs, shared by gcp, aws and ssh PodRoutes: node lists whose IPs may be Outputs. Plain
// values (names, roles, pod CIDRs: they decide resource names and counts) are checked at once; IPs that arrive
// as Outputs are checked when they resolve, with the same messages, and a bad one fails the update.
import * as pulumi from "@pulumi/pulumi";
import { PodRoutesError, Problem, Validated } from "../core/problems";
import { isPlanOf, workerRoutes, WorkerRoute } from "../core/routes";
import { IP_LATER, NodeInput, PlannedRoute, Role, RouteRow, ValidSpec } from "../core/types";
import { isValidSpec, validateKnownValues, validateSpec } from "../core/validate";

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

/** The nodes, either as a list whose IPs may be Outputs, or as a spec that `validateSpec` made. */
export interface SpecArgs<N extends NodeArgs = NodeArgs> {
  /** The cluster's pod range, one per address family; every pod CIDR must lie inside. Default `10.200.0.0/16`. */
  readonly clusterCidr?: string | string[];
  /** The nodes' own network; pod CIDRs must not overlap it and node IPs must lie in it. */
  readonly nodeCidr?: string;
  /** The nodes. Give these (with clusterCidr and nodeCidr), or `spec`. */
  readonly nodes?: readonly N[];
  /**
   * A spec `validateSpec` (or `requireValidSpec`) made, e.g. from a machines.txt: taken as it is, not
   * validated again. Instead of `nodes`, `clusterCidr` and `nodeCidr`.
   */
  readonly spec?: ValidSpec;
}

/** A node with its role settled: what the plan needs before any IP is known. */
export interface PlainNode {
  readonly name: string;
  readonly role: Role;
  readonly podCidr?: string;
  readonly fqdn?: string;
}

const plainIp = (ip: pulumi.Input<string>): unknown => (typeof ip === "string" ? ip : IP_LATER);

function specInput(args: SpecArgs & { nodes: readonly NodeArgs[] }, origin: string, ips?: readonly string[]) {
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
  return validateKnownValues(specInput({ ...args, nodes: args.nodes }, origin));
}

/** The nodes with their roles, from plain values only (valid once `knownProblems` found nothing). */
export function plainNodes(args: SpecArgs<NodeArgs & { readonly fqdn?: string }>): PlainNode[] {
  return (args.nodes ?? []).map((node) => ({
    name: node.name,
    role: node.role ?? (node.podCidr ? "worker" : "controller"),
    ...(node.podCidr ? { podCidr: node.podCidr } : {}),
    ...(node.fqdn !== undefined ? { fqdn: node.fqdn } : {}),
  }));
}

/** The whole spec, given every node's IP: what `resolvedSpec` checks once the Outputs resolve. */
export function specWithIps(args: SpecArgs, origin: string, ips: readonly string[]): Validated<ValidSpec> {
  return validateSpec(specInput({ ...args, nodes: args.nodes ?? [] }, origin, ips));
}

/**
 * The whole spec once every IP is known; a problem then fails the update with every problem listed. Plain
 * when every IP is (as in the stack program): then no resource input needs to wait on an Output.
 */
export function resolvedSpec(
  args: SpecArgs,
  origin: string,
  context: string,
): ValidSpec | pulumi.Output<ValidSpec> {
  const check = (ips: readonly string[]) => {
    const result = specWithIps(args, origin, ips);
    if (!result.ok) throw new PodRoutesError(result.problems, context);
    return result.value;
  };
  const ips = (args.nodes ?? []).map((node) => node.ip);
  if (ips.every((ip): ip is string => typeof ip === "string")) return check(ips);
  return pulumi.all(ips).apply(check);
}

/** `f` of a value that may be an Output: a plain value gives a plain result, an Output an Output. */
export function derive<T, U>(value: T | pulumi.Output<T>, f: (value: T) => U): U | pulumi.Output<U> {
  return pulumi.Output.isInstance(value)
    ? (value as pulumi.Output<T>).apply((v) => f(v as T))
    : f(value as T);
}

/**
 * Where a component's spec comes from: known now (given as a ValidSpec, or node args with plain IPs, validated
 * here once), or known once the nodes' IPs (Outputs) resolve; then the names, roles and pod CIDRs, which
 * decide what resources exist, are checked and known now.
 */
export type SpecSource =
  | { readonly spec: ValidSpec; readonly nodes: readonly PlainNode[] }
  | { readonly later: pulumi.Output<ValidSpec>; readonly nodes: readonly PlainNode[] };

/** The component's spec, validated once, or every problem with the args known now. */
export function specSource(args: SpecArgs, origin: string, context: string): Validated<SpecSource> {
  if (args.spec !== undefined) {
    const mixed = (["nodes", "clusterCidr", "nodeCidr"] as const).filter((key) => args[key] !== undefined);
    if (mixed.length > 0) {
      return fail(
        origin,
        `give either spec or ${mixed.join(", ")}, not both: the spec holds the nodes and ranges`,
      );
    }
    if (!isValidSpec(args.spec)) {
      return fail(
        origin,
        "spec must be one that validateSpec or requireValidSpec made (a plain object is not checked); pass its result, or give nodes instead",
      );
    }
    return { ok: true, value: { spec: args.spec, nodes: args.spec.nodes } };
  }
  const problems = knownProblems(args, origin);
  if (problems.length > 0) return { ok: false, problems };
  const spec = resolvedSpec(args, origin, context);
  return {
    ok: true,
    value: pulumi.Output.isInstance(spec)
      ? { later: spec, nodes: plainNodes(args) }
      : { spec, nodes: spec.nodes },
  };
}

const fail = (where: string, message: string): Validated<never> => ({
  ok: false,
  problems: [{ where, message }],
});

/** The spec, plain or once it resolves. */
export const specOf = (source: SpecSource): ValidSpec | pulumi.Output<ValidSpec> =>
  "spec" in source ? source.spec : source.later;

/**
 * The plan a component was given with its spec, when its target's `plan` made it for this very spec and route
 * name prefix (the component then plans nothing); a problem when it did not; undefined when none was given.
 */
export function givenPlan<P extends object>(
  given: P | undefined,
  source: SpecSource,
  prefix: string | undefined,
  where: string,
): Validated<P> | undefined {
  if (given === undefined) return undefined;
  if ("spec" in source && isPlanOf(given, source.spec, prefix)) return { ok: true, value: given };
  return fail(
    where,
    "is not the plan of this spec (and routeNamePrefix); pass what the target's plan(spec) returned, or leave it out",
  );
}

/** A cloud route as a component creates it: name and destination known now, the next hop maybe later. */
export interface RouteNow extends WorkerRoute {
  readonly nextHop: pulumi.Input<string>;
}

/**
 * A cloud component's routes, by its target's own `plan` (the offline CLI and the stack run the same one):
 * at once when the spec is known; when IPs arrive later, the names and destinations now (with `preflight`,
 * the plan's checks that need no IP) and the next hops once the plan runs on the resolved spec.
 */
export function cloudRoutesNow(
  source: SpecSource,
  plan: (spec: ValidSpec) => Validated<readonly PlannedRoute[]>,
  preflight: (routes: readonly WorkerRoute[]) => Problem[],
  options: { prefix: string | undefined; context: string; given?: readonly PlannedRoute[]; where: string },
): Validated<RouteNow[]> {
  const { prefix, context } = options;
  const given = givenPlan(options.given, source, prefix, options.where);
  if (given !== undefined) return given.ok ? { ok: true, value: [...given.value] } : given;
  if ("spec" in source) {
    const planned = plan(source.spec);
    return planned.ok ? { ok: true, value: [...planned.value] } : planned;
  }
  const routes = workerRoutes(source.nodes, prefix);
  const problems = preflight(routes);
  if (problems.length > 0) return { ok: false, problems };
  const nextHops = source.later.apply((spec) => {
    const planned = plan(spec);
    if (!planned.ok) throw new PodRoutesError(planned.problems, context);
    return new Map(planned.value.map((r) => [r.destination, r.nextHop]));
  });
  return {
    ok: true,
    value: routes.map((r) => ({ ...r, nextHop: nextHops.apply((hops) => hops.get(r.destination) ?? "") })),
  };
}

/** The runbook's verification table of a cloud component's routes, `where` being its network or table. */
export function routeRows(
  routes: readonly RouteNow[],
  where: pulumi.Input<string>,
): pulumi.Output<RouteRow[]> {
  return pulumi.all([where, pulumi.all(routes.map((r) => r.nextHop))]).apply(([place, hops]) =>
    routes.map((r, i) => ({
      destination: r.destination,
      nextHop: hops[i] as string,
      node: r.node,
      where: place,
    })),
  );
}
