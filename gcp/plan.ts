// GCP, pure: the routes a VPC network needs (one per worker, next hop = the worker's internal IP), and the
// checks that `pulumi up` and the offline CLI both run before anything is created.
import { planCloudRoutes, recordPlan } from "../core/routes";
import { PlannedRoute, RouteSpec } from "../core/types";
import { Problem, Validated } from "../core/problems";
import { DEFAULTS } from "../core/defaults";

export const DEFAULT_NETWORK: string = DEFAULTS.gcp.network;
/** gcloud's default priority: a hand-made runbook route imports without a diff only if it matches. */
export const DEFAULT_PRIORITY: number = DEFAULTS.gcp.priority;
/** GCP's default static-route quota per project. */
export const DEFAULT_ROUTE_QUOTA: number = DEFAULTS.gcp.routeQuota;

/** GCP's id for a route, as `pulumi import` and the `import` resource option take it. */
export const importId = (project: string, name: string) => `projects/${project}/global/routes/${name}`;

export interface PlanOptions {
  /** The VPC network, for the plan's `where` column. */
  readonly network: string;
  readonly routeNamePrefix?: string;
  readonly routeQuota?: number;
  /** Names a setting in a problem, e.g. `routeQuota` → `pod-routes:gcp.routeQuota`. */
  readonly setting?: (name: string) => string;
}

/** The project's static-route quota: fail before the update rather than half-way through it. */
export function checkRouteQuota(
  routes: number,
  quota = DEFAULT_ROUTE_QUOTA,
  setting = (name: string) => name,
): Problem[] {
  if (routes <= quota) return [];
  return [
    {
      where: setting("routeQuota"),
      message: `${routes} routes would exceed the static route quota of ${quota}; raise the project's quota (and this setting), or use fewer, larger pod CIDRs`,
    },
  ];
}

/** The routes to create, or every problem with them. */
export function plan(spec: RouteSpec, options: PlanOptions): Validated<PlannedRoute[]> {
  const routes = planCloudRoutes(spec, options.network, options.routeNamePrefix);
  const problems = checkRouteQuota(routes.length, options.routeQuota, options.setting);
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: recordPlan(routes, spec, options.routeNamePrefix) };
}
