// The provider-agnostic route spec: what every source produces and every cloud module consumes.

export type Role = "worker" | "controller";

/**
 * A node IP that is not known yet (a `pulumi.Output` of an instance that does not exist yet): the checks that
 * need it wait until it resolves; every other check runs at once.
 */
export const IP_LATER: unique symbol = Symbol("pod-routes: node ip known later");

/** One node as a source describes it, before validation. Every field may be wrong. */
export interface NodeInput {
  name?: unknown;
  ip?: unknown;
  podCidr?: unknown;
  role?: unknown;
  /** Fully qualified name, for the managed /etc/hosts block (machines.txt has one per line). */
  fqdn?: unknown;
  /** Where this node came from, for messages (e.g. `machines.txt:3` or `pod-routes:nodes[2]`). */
  origin?: string;
}

export interface SpecInput {
  clusterCidr?: unknown;
  nodeCidr?: unknown;
  nodes?: unknown;
  /** Prefix for messages about the node list, e.g. `pod-routes:nodes`. */
  origin?: string;
  /**
   * Accept a node list without a worker: an inventory of machines (the lab's), not yet something to route.
   * A route spec needs one, so this is off everywhere else.
   */
  allowNoWorkers?: boolean;
}

export interface Node {
  readonly name: string;
  readonly ip: string;
  readonly role: Role;
  readonly fqdn?: string;
  /** Set for workers: the block of pod addresses routed to this node. */
  readonly podCidr?: string;
}

export interface Worker extends Node {
  readonly role: "worker";
  readonly podCidr: string;
}

export interface RouteSpec {
  /** One block per address family; every pod CIDR lies inside one of them. */
  readonly clusterCidrs: readonly string[];
  /** The network the nodes' own addresses live in, when known; pod CIDRs must not overlap it. */
  readonly nodeCidr?: string;
  readonly nodes: readonly Node[];
}

declare const VALIDATED: unique symbol;
/**
 * A route spec that `validateSpec` made: only validation can make one (the brand is not exported, and
 * `isValidSpec` checks at run time that validation made this very object, which is frozen). Every layer
 * after validation takes this type, so nothing validates a spec twice.
 */
export type ValidSpec = RouteSpec & { readonly [VALIDATED]: true };

export const isWorker = (node: Node): node is Worker => node.role === "worker" && node.podCidr !== undefined;

/** One route to create: traffic for `destination` goes to `nextHop`, the node that owns those pods. */
export interface PlannedRoute {
  /** Stable resource name derived from the destination, e.g. `kubernetes-route-10-200-0-0-24`. */
  readonly name: string;
  readonly destination: string;
  readonly nextHop: string;
  readonly node: string;
  /** The host, network or route table the route lives in. */
  readonly where: string;
}

/** One row of a `routes` output, shaped like the runbooks' verification table. */
export type RouteRow = Pick<PlannedRoute, "destination" | "nextHop" | "node" | "where">;

export const toRows = (routes: readonly PlannedRoute[]): RouteRow[] =>
  routes.map(({ destination, nextHop, node, where }) => ({ destination, nextHop, node, where }));
