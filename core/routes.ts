// The route planner (core/routes.ts), pure: which routes must exist for a validated spec: their stable names,
// one per worker for a cloud, and every host's share of the mesh for the SSH path. Each target's plan builds on it.
import { cidrSlug, parseCidr } from "./cidr";
import { isWorker, Node, PlannedRoute, RouteSpec, Worker } from "./types";
import { DEFAULTS } from "./defaults";

export const DEFAULT_ROUTE_PREFIX: string = DEFAULTS.routeNamePrefix;

/** `kubernetes-route-10-200-0-0-24`: the runbook's own name, derived from the destination only. */
export function routeName(destination: string, prefix = DEFAULT_ROUTE_PREFIX): string {
  return `${prefix}-${cidrSlug(destination)}`;
}

export function workersOf(spec: RouteSpec): Worker[] {
  return spec.nodes.filter(isWorker);
}

/** A worker's route before it has a place and a next hop: its stable name, destination and node. */
export interface WorkerRoute {
  readonly name: string;
  readonly destination: string;
  readonly node: string;
}

/**
 * One route per worker (a node with a pod CIDR), sorted by destination so the order never depends on the
 * node list's. Needs only plain values: components call it before the nodes' IPs are known.
 */
export function workerRoutes(
  nodes: readonly Pick<Node, "name" | "podCidr" | "role">[],
  prefix = DEFAULT_ROUTE_PREFIX,
): WorkerRoute[] {
  return nodes
    .flatMap((node) =>
      node.role === "worker" && node.podCidr !== undefined
        ? [{ name: routeName(node.podCidr, prefix), destination: node.podCidr, node: node.name }]
        : [],
    )
    .sort((a, b) => compareCidrText(a.destination, b.destination));
}

/** Cloud routes: one per worker, living in one shared place (a VPC network or a route table). */
export function planCloudRoutes(
  spec: RouteSpec,
  where: string,
  prefix = DEFAULT_ROUTE_PREFIX,
): PlannedRoute[] {
  const ipOf = new Map(spec.nodes.map((n) => [n.name, n.ip]));
  return workerRoutes(spec.nodes, prefix).map((route) => ({
    ...route,
    nextHop: ipOf.get(route.node) as string,
    where,
  }));
}

export interface HostPlan {
  readonly host: Node;
  /** Every other worker's pod CIDR via that worker; never the host's own subnet. */
  readonly routes: readonly PlannedRoute[];
}

/**
 * Host routes, as the bare-metal runbook adds them: each host gets a route to every other worker's pod CIDR;
 * controllers get all of them, and a worker never gets a route to its own subnet (it is directly connected).
 */
export function planHostRoutes(spec: RouteSpec, prefix = DEFAULT_ROUTE_PREFIX): HostPlan[] {
  // Named once per worker, not once per host and worker: the mesh has N × (N − 1) entries.
  const routes = planCloudRoutes(spec, "", prefix);
  return spec.nodes.map((host) => ({
    host,
    routes: routes
      .filter((route) => route.node !== host.name)
      .map((route) => ({ ...route, where: host.name })),
  }));
}

/** Numeric order for readable tables: 10.200.2.0/24 before 10.200.10.0/24, IPv4 before IPv6. */
export function compareCidrText(a: string, b: string): number {
  const key = (text: string) => {
    const cidr = parseCidr(text);
    // Validated specs only hold canonical CIDRs; anything else sorts last, as text.
    return cidr.ok
      ? `${cidr.value.family}${cidr.value.start.toString(16).padStart(32, "0")}/${String(cidr.value.prefix).padStart(3, "0")}`
      : `9${text}`;
  };
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Every plan a target's `plan` made, with the spec and route name prefix it was made for. */
const madeFor = new WeakMap<object, { spec: RouteSpec; prefix: string | undefined }>();

/** Records that a target's `plan` made `plan` for this spec and prefix (see `isPlanOf`). */
export function recordPlan<P extends object>(plan: P, spec: RouteSpec, prefix: string | undefined): P {
  madeFor.set(plan, { spec, prefix });
  return plan;
}

/**
 * True when a target's `plan` made `plan` for this very spec and route name prefix: a component takes such a
 * plan as it is (the stack planned it already) and plans nothing again.
 */
export function isPlanOf(plan: object, spec: RouteSpec, prefix: string | undefined): boolean {
  const made = madeFor.get(plan);
  return made !== undefined && made.spec === spec && made.prefix === prefix;
}
