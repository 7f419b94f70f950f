// aws.PodRoutes: one aws.ec2.Route per worker in a route table, target = the worker's network interface,
// as the runbook's `aws ec2 create-route --route-table-id … --destination-cidr-block 10.200.i.0/24
// --instance-id …` does (a route "to an instance" is a route to its primary interface).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrSlug } from "../core/cidr";
import { planCloudRoutes, workerRoutes } from "../core/plan";
import { Problem, show } from "../core/problems";
import { RouteRow, toRows } from "../core/types";
import { knownProblems, NodeArgs, plainNodes, resolvedSpec, SpecArgs, throwProblems } from "../inputs/nodes";
import { checkRouteLimit, familyOf, importId } from "./plan";

export interface AwsNodeArgs extends NodeArgs {
  /**
   * The node's network interface: the routes' target (an instance's `primaryNetworkInterfaceId`). Required
   * for workers; the node's `ip` must be an address of this interface.
   */
  readonly networkInterfaceId?: pulumi.Input<string>;
}

export interface PodRoutesArgs extends SpecArgs<AwsNodeArgs> {
  /** The route table the routes go in, e.g. `rtb-0123456789abcdef0`. Must be plain with `adopt`. */
  readonly routeTableId: pulumi.Input<string>;
  /** Routes per route table (AWS's quota, counted per address family); more fail before any change. Default 50. */
  readonly routeLimit?: number;
  /** Destinations already in the table that count against the limit (the stack looks them up). */
  readonly existingDestinations?: readonly string[];
  /** Resource names are `<name>-<destination>`; the prefix names routes in the `routes` output only. */
  readonly routeNamePrefix?: string;
  /**
   * Take over routes that already exist for these destinations (made with `aws ec2 create-route`) instead of
   * failing: each route is imported (`<routeTableId>_<destination>`). Needs `routeTableId` as a plain string.
   */
  readonly adopt?: boolean;
}

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const problems = knownProblems(args, `${name}: nodes`);
  if (problems.length > 0) return problems;
  const routes = workerRoutes(plainNodes(args), args.routeNamePrefix);
  const table = typeof args.routeTableId === "string" ? args.routeTableId : "the route table";
  problems.push(
    ...checkRouteLimit(
      { id: table, destinations: args.existingDestinations ?? [] },
      routes.map((r) => r.destination),
      args.routeLimit,
      (setting) => `${name}: ${setting}`,
    ),
  );
  const byName = new Map(args.nodes.map((n) => [n.name, n]));
  for (const route of routes) {
    if (byName.get(route.node)?.networkInterfaceId === undefined) {
      problems.push({
        where: `${name}: nodes`,
        message: `worker ${show(route.node)} has no networkInterfaceId; give its instance's primaryNetworkInterfaceId (the routes' target)`,
      });
    }
  }
  if (args.adopt && typeof args.routeTableId !== "string") {
    problems.push({
      where: `${name}: adopt`,
      message: "needs routeTableId as a plain string to build the import ids (<routeTableId>_<destination>)",
    });
  }
  return problems;
}

export class PodRoutes extends pulumi.ComponentResource {
  /** The routes, shaped like the runbook's verification table (`where` is the route table). */
  readonly routes: pulumi.Output<RouteRow[]>;
  /** The aws.ec2.Route resources, by destination. */
  readonly resources: Readonly<Record<string, aws.ec2.Route>>;

  constructor(name: string, args: PodRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad args create nothing at all.
    const context = `aws.PodRoutes ${JSON.stringify(name)}`;
    throwProblems(checkArgs(name, args), context);
    super("pod-routes:aws:PodRoutes", name, {}, opts);

    const spec = resolvedSpec(args, `${name}: nodes`, context);
    const byName = new Map(args.nodes.map((n) => [n.name, n]));
    const resources: Record<string, aws.ec2.Route> = {};
    for (const route of workerRoutes(plainNodes(args), args.routeNamePrefix)) {
      const ipv6 = familyOf(route.destination) === 6;
      // The target waits for the spec when IPs are Outputs: a node whose IP turns out bad gets no route.
      const interfaceId = byName.get(route.node)?.networkInterfaceId as pulumi.Input<string>;
      const networkInterfaceId = pulumi.Output.isInstance(spec)
        ? pulumi.all([spec, interfaceId]).apply(([, id]) => id)
        : interfaceId;
      // Every input spelled out, none through a conditional spread (a spread key escapes TypeScript's
      // excess-property check): a misspelled one is a compile error. An undefined input is left out, exactly
      // as if it were not written (the SDK sets every key of RouteArgs either way).
      const inputs: aws.ec2.RouteArgs = {
        routeTableId: args.routeTableId,
        networkInterfaceId,
        destinationCidrBlock: ipv6 ? undefined : route.destination,
        destinationIpv6CidrBlock: ipv6 ? route.destination : undefined,
      };
      const options: pulumi.CustomResourceOptions = {
        parent: this,
        // Earlier versions created these at the stack's top level under the physical-style name.
        aliases: [{ name: route.name, parent: pulumi.rootStackResource }],
        // A table holds one route per destination, so a replacement must remove the old one first.
        deleteBeforeReplace: true,
        import:
          args.adopt && typeof args.routeTableId === "string"
            ? importId(args.routeTableId, route.destination)
            : undefined,
      };
      resources[route.destination] = new aws.ec2.Route(
        `${name}-${cidrSlug(route.destination)}`,
        inputs,
        options,
      );
    }
    this.resources = resources;
    this.routes = pulumi
      .all([args.routeTableId, spec])
      .apply(([where, s]) => toRows(planCloudRoutes(s, where, args.routeNamePrefix)));
    this.registerOutputs({ routes: this.routes });
  }
}
