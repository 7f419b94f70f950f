// The planner: pure functions from a validated spec to the routes that must exist.
import { cidrSlug, parseCidr } from "./cidr";
import { isWorker, Node, PlannedRoute, RouteSpec, Worker } from "./types";

export const DEFAULT_ROUTE_PREFIX = "kubernetes-route";

/** `kubernetes-route-10-200-0-0-24`: the runbook's own name, derived from the destination only. */
export function routeName(destination: string, prefix = DEFAULT_ROUTE_PREFIX): string {
  return `${prefix}-${cidrSlug(destination)}`;
}

/** GCP's id for a route, as `pulumi import` and the `import` resource option take it. */
export const gcpRouteImportId = (project: string, name: string) =>
  `projects/${project}/global/routes/${name}`;

/** AWS's id for a route, as `pulumi import` and the `import` resource option take it. */
export const awsRouteImportId = (routeTableId: string, destination: string) =>
  `${routeTableId}_${destination}`;

export function workersOf(spec: RouteSpec): Worker[] {
  return spec.nodes.filter(isWorker);
}

/**
 * Cloud routes: one per worker, living in one shared place (a VPC network or a route table).
 * Sorted by name so output is stable whatever order the nodes were listed in.
 */
export function planCloudRoutes(
  spec: RouteSpec,
  where: string,
  prefix = DEFAULT_ROUTE_PREFIX,
): PlannedRoute[] {
  return workersOf(spec)
    .map((worker) => ({
      name: routeName(worker.podCidr, prefix),
      destination: worker.podCidr,
      nextHop: worker.ip,
      node: worker.name,
      where,
    }))
    .sort((a, b) => compareCidrText(a.destination, b.destination));
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
  const routes = workersOf(spec)
    .sort(byDestinationOf)
    .map((worker) => ({
      name: routeName(worker.podCidr, prefix),
      destination: worker.podCidr,
      nextHop: worker.ip,
      node: worker.name,
    }));
  return spec.nodes.map((host) => ({
    host,
    routes: routes
      .filter((route) => route.node !== host.name)
      .map((route) => ({ ...route, where: host.name })),
  }));
}

const byDestinationOf = (a: Worker, b: Worker) => compareCidrText(a.podCidr, b.podCidr);

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
