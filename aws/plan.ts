// AWS, pure: the routes a route table needs (one per worker, target = the worker's interface) and the table's
// limit, which the component, the stack and the offline CLI all check. Finding the instances is the stack's
// discovery (stack/discovery/aws*.ts).
import { familyOf, parseCidr } from "../core/cidr";
import { planCloudRoutes, recordPlan } from "../core/routes";
import { Problem, Validated } from "../core/problems";
import { PlannedRoute, RouteSpec } from "../core/types";
import { DEFAULTS } from "../core/defaults";

/** AWS's default "routes per route table" quota. */
export const DEFAULT_ROUTE_LIMIT: number = DEFAULTS.aws.routeLimit;

/** AWS's id for a route, as `pulumi import` and the `import` resource option take it. */
export const importId = (routeTableId: string, destination: string) => `${routeTableId}_${destination}`;

export interface AwsRouteTableFacts {
  readonly id: string;
  readonly vpcId: string;
  /** Destinations already in the table: IPv4 and IPv6 CIDRs, and prefix list ids (`pl-…`). */
  readonly destinations: readonly string[];
}

export { familyOf } from "../core/cidr";
const canonicalCidr = (text: string) => {
  const parsed = parseCidr(text);
  return parsed.ok ? parsed.value.text : (parsed.suggestion ?? text);
};

/**
 * Pure: the route limit, which AWS enforces separately for IPv4 and IPv6 routes. Routes already in the table
 * for a destination pod-routes will (re)create count once. Prefix list routes count as IPv4.
 */
export function checkRouteLimit(
  table: Pick<AwsRouteTableFacts, "id" | "destinations">,
  destinations: readonly string[],
  routeLimit = DEFAULT_ROUTE_LIMIT,
  setting = (name: string) => name,
): Problem[] {
  const ours = new Set(destinations.map(canonicalCidr));
  const others = table.destinations.map(canonicalCidr).filter((d) => !ours.has(d));
  const problems: Problem[] = [];
  for (const family of [4, 6] as const) {
    const adding = [...ours].filter((d) => familyOf(d) === family).length;
    const existing = others.filter((d) => familyOf(d) === family).length;
    if (adding > 0 && existing + adding > routeLimit) {
      problems.push({
        where: setting("routeLimit"),
        message: `route table ${table.id} has ${existing} other IPv${family} routes; adding ${adding} makes ${existing + adding}, over its limit of ${routeLimit} (AWS counts IPv4 and IPv6 routes separately). Ask AWS for a higher "Routes per route table" quota and raise ${setting("routeLimit")} to match, or use fewer, larger pod CIDRs`,
      });
    }
  }
  return problems;
}

export interface PlanOptions {
  /** The route table's id, or words for it when it is only known at deploy time (the `where` column). */
  readonly routeTable: string;
  readonly routeNamePrefix?: string;
  readonly routeLimit?: number;
  /** Destinations already in the table (from a lookup); the limit counts them too. */
  readonly existingDestinations?: readonly string[];
  /** Names a setting in a problem, e.g. `routeLimit` → `pod-routes:aws.routeLimit`. */
  readonly setting?: (name: string) => string;
}

/** The routes to create in the table, or every problem with them. */
export function plan(spec: RouteSpec, options: PlanOptions): Validated<PlannedRoute[]> {
  const routes = planCloudRoutes(spec, options.routeTable, options.routeNamePrefix);
  const problems = checkRouteLimit(
    { id: options.routeTable, destinations: options.existingDestinations ?? [] },
    routes.map((r) => r.destination),
    options.routeLimit,
    options.setting,
  );
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: recordPlan(routes, spec, options.routeNamePrefix) };
}
