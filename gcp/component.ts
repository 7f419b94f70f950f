// gcp.PodRoutes: one gcp.compute.Route per worker on a VPC network, next hop = the worker's internal IP, as
// `gcloud compute routes create kubernetes-route-10-200-${i}-0-24 --next-hop-address 10.240.0.2${i}` does.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { cidrSlug } from "../core/cidr";
import { PodRoutesError, Problem, Validated } from "../core/problems";
import { PlannedRoute, RouteRow } from "../core/types";
import { cloudRoutesNow, NodeArgs, RouteNow, routeRows, SpecArgs, specSource } from "../inputs/nodes";
import { checkRouteQuota, DEFAULT_PRIORITY, importId, plan } from "./plan";

export interface PodRoutesArgs extends SpecArgs<NodeArgs> {
  /** The VPC network the routes belong to, e.g. `kubernetes-the-hard-way` (name or self link). */
  readonly network: pulumi.Input<string>;
  /** The project; defaults to the provider's. Must be a plain string with `adopt`. */
  readonly project?: pulumi.Input<string>;
  /** Route priority; default 1000 (gcloud's default, so runbook routes import without a diff). */
  readonly priority?: pulumi.Input<number>;
  /** Route description; default none (gcloud sets none). */
  readonly description?: pulumi.Input<string>;
  /** Physical route names are `<prefix>-<destination>`, e.g. `kubernetes-route-10-200-0-0-24`. Plain. */
  readonly routeNamePrefix?: string;
  /** The project's static-route quota; more routes fail before anything is created. Default 250. */
  readonly routeQuota?: number;
  /**
   * Take over routes that already exist with these names (made by hand with gcloud) instead of failing on
   * "already exists": each route is imported (`projects/<project>/global/routes/<name>`). Needs `project`.
   */
  readonly adopt?: boolean;
  /**
   * With `spec`: the routes as this target's `plan(spec)` made them (the stack planned them already); without
   * it, the component plans them itself. Only a plan made for this very spec is taken.
   */
  readonly plan?: readonly PlannedRoute[];
}

/** The routes to create, or every problem with the args, as the constructor would throw them. */
function prepare(name: string, args: PodRoutesArgs, context: string): Validated<RouteNow[]> {
  const source = specSource(args, `${name}: nodes`, context);
  if (!source.ok) return source;
  const setting = (key: string) => `${name}: ${key}`;
  const routes = cloudRoutesNow(
    source.value,
    (spec) =>
      plan(spec, {
        network: "",
        routeQuota: args.routeQuota,
        setting,
        routeNamePrefix: args.routeNamePrefix,
      }),
    (named) => checkRouteQuota(named.length, args.routeQuota, setting),
    { prefix: args.routeNamePrefix, context, given: args.plan, where: setting("plan") },
  );
  const problems = routes.ok ? [] : [...routes.problems];
  if (args.adopt && typeof args.project !== "string") {
    problems.push({
      where: setting("adopt"),
      message:
        "needs the project as a plain string to build the import ids (projects/<project>/global/routes/<name>); set project",
    });
  }
  return problems.length > 0 || !routes.ok ? { ok: false, problems } : routes;
}

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const prepared = prepare(name, args, `gcp.PodRoutes ${JSON.stringify(name)}`);
  return prepared.ok ? [] : prepared.problems;
}

export class PodRoutes extends pulumi.ComponentResource {
  /** The routes, shaped like the runbook's verification table (`where` is the network). */
  readonly routes: pulumi.Output<RouteRow[]>;
  /** The gcp.compute.Route resources, by destination. */
  readonly resources: Readonly<Record<string, gcp.compute.Route>>;

  constructor(name: string, args: PodRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad args create nothing at all.
    const context = `gcp.PodRoutes ${JSON.stringify(name)}`;
    const prepared = prepare(name, args, context);
    if (!prepared.ok) throw new PodRoutesError(prepared.problems, context);
    super("pod-routes:gcp:PodRoutes", name, {}, opts);

    const resources: Record<string, gcp.compute.Route> = {};
    for (const route of prepared.value) {
      // Every input spelled out, none through a conditional spread (a spread key escapes TypeScript's
      // excess-property check): a misspelled one is a compile error. An undefined input is the provider's
      // default, exactly as if it were left out (the SDK sets every key of RouteArgs either way).
      const inputs: gcp.compute.RouteArgs = {
        // The runbook's own name, so a re-ordered node list never replaces a route. Everything here must
        // match a hand-made route for an import to show no diff: name, network, destRange, nextHopIp,
        // priority and description.
        name: route.name,
        network: args.network,
        destRange: route.destination,
        nextHopIp: route.nextHop,
        priority: args.priority ?? DEFAULT_PRIORITY,
        project: args.project,
        description: args.description,
      };
      const options: pulumi.CustomResourceOptions = {
        parent: this,
        // Earlier versions created these at the stack's top level under their physical name.
        aliases: [{ name: route.name, parent: pulumi.rootStackResource }],
        // Every field forces a replacement and the name is fixed, so the old route must go first.
        deleteBeforeReplace: true,
        import:
          args.adopt && typeof args.project === "string" ? importId(args.project, route.name) : undefined,
      };
      resources[route.destination] = new gcp.compute.Route(
        `${name}-${cidrSlug(route.destination)}`,
        inputs,
        options,
      );
    }
    this.resources = resources;
    this.routes = routeRows(prepared.value, args.network);
    this.registerOutputs({ routes: this.routes });
  }
}
