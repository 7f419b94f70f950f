// gcp.PodRoutes: one gcp.compute.Route per worker on a VPC network, next hop = the worker's internal IP, as
// `gcloud compute routes create kubernetes-route-10-200-${i}-0-24 --next-hop-address 10.240.0.2${i}` does.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { cidrSlug } from "../core/cidr";
import { planCloudRoutes, workerRoutes } from "../core/plan";
import { Problem } from "../core/problems";
import { RouteRow, toRows } from "../core/types";
import {
  derive,
  ipsByName,
  knownProblems,
  NodeArgs,
  plainNodes,
  resolvedSpec,
  SpecArgs,
  throwProblems,
} from "../inputs/nodes";
import { checkRouteQuota, DEFAULT_PRIORITY, importId } from "./plan";

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
}

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const problems = knownProblems(args, `${name}: nodes`);
  if (problems.length > 0) return problems;
  const routes = workerRoutes(plainNodes(args), args.routeNamePrefix);
  problems.push(...checkRouteQuota(routes.length, args.routeQuota, (setting) => `${name}: ${setting}`));
  if (args.adopt && typeof args.project !== "string") {
    problems.push({
      where: `${name}: adopt`,
      message:
        "needs the project as a plain string to build the import ids (projects/<project>/global/routes/<name>); set project",
    });
  }
  return problems;
}

export class PodRoutes extends pulumi.ComponentResource {
  /** The routes, shaped like the runbook's verification table (`where` is the network). */
  readonly routes: pulumi.Output<RouteRow[]>;
  /** The gcp.compute.Route resources, by destination. */
  readonly resources: Readonly<Record<string, gcp.compute.Route>>;

  constructor(name: string, args: PodRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad args create nothing at all.
    const context = `gcp.PodRoutes ${JSON.stringify(name)}`;
    throwProblems(checkArgs(name, args), context);
    super("pod-routes:gcp:PodRoutes", name, {}, opts);

    const spec = resolvedSpec(args, `${name}: nodes`, context);
    const ipOf = derive(spec, ipsByName);
    const resources: Record<string, gcp.compute.Route> = {};
    for (const route of workerRoutes(plainNodes(args), args.routeNamePrefix)) {
      const nextHopIp = derive(ipOf, (ips) => ips.get(route.node) ?? "");
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
        nextHopIp,
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
    this.routes = pulumi
      .all([args.network, spec])
      .apply(([where, s]) => toRows(planCloudRoutes(s, where, args.routeNamePrefix)));
    this.registerOutputs({ routes: this.routes });
  }
}
