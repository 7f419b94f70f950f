// aws.PodRoutes: one aws.ec2.Route per worker in a route table, target = the worker's network interface,
// as the runbook's `aws ec2 create-route --route-table-id … --destination-cidr-block 10.200.i.0/24
// --instance-id …` does (a route "to an instance" is a route to its primary interface).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrSlug } from "../core/cidr";
import { workerRoutes } from "../core/routes";
import { PodRoutesError, Problem, show, Validated } from "../core/problems";
import { PlannedRoute, RouteRow } from "../core/types";
import { cloudRoutesNow, NodeArgs, RouteNow, routeRows, SpecArgs, specSource } from "../inputs/nodes";
import { checkRouteLimit, familyOf, importId, plan } from "./plan";

export interface AwsNodeArgs extends NodeArgs {
  /**
   * The node's network interface: the routes' target (an instance's `primaryNetworkInterfaceId`). Required
   * for workers; the node's `ip` must be an address of this interface.
   */
  readonly networkInterfaceId?: pulumi.Input<string>;
}

export interface PodRoutesArgs extends SpecArgs<AwsNodeArgs> {
  /** With `spec`: each worker's network interface (the routes' target), by node name. */
  readonly networkInterfaceIds?: Readonly<Record<string, pulumi.Input<string>>>;
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
  /**
   * With `spec`: the routes as this target's `plan(spec)` made them (the stack planned them already); without
   * it, the component plans them itself. Only a plan made for this very spec is taken.
   */
  readonly plan?: readonly PlannedRoute[];
}

/** Each node's network interface, from its node args or, with a spec, from networkInterfaceIds. */
const interfacesOf = (args: PodRoutesArgs): ReadonlyMap<string, pulumi.Input<string> | undefined> =>
  new Map(
    args.nodes !== undefined
      ? args.nodes.map((n) => [n.name, n.networkInterfaceId])
      : Object.entries(args.networkInterfaceIds ?? {}),
  );

/** The routes to create, or every problem with the args, as the constructor would throw them. */
function prepare(name: string, args: PodRoutesArgs, context: string): Validated<RouteNow[]> {
  const source = specSource(args, `${name}: nodes`, context);
  if (!source.ok) return source;
  const setting = (key: string) => `${name}: ${key}`;
  const table = typeof args.routeTableId === "string" ? args.routeTableId : "the route table";
  const existing = { id: table, destinations: args.existingDestinations ?? [] };
  const routes = cloudRoutesNow(
    source.value,
    (spec) =>
      plan(spec, {
        routeTable: table,
        routeLimit: args.routeLimit,
        existingDestinations: existing.destinations,
        setting,
        routeNamePrefix: args.routeNamePrefix,
      }),
    (named) =>
      checkRouteLimit(
        existing,
        named.map((r) => r.destination),
        args.routeLimit,
        setting,
      ),
    { prefix: args.routeNamePrefix, context, given: args.plan, where: setting("plan") },
  );
  const problems = routes.ok ? [] : [...routes.problems];
  const interfaces = interfacesOf(args);
  for (const route of workerRoutes(source.value.nodes)) {
    if (interfaces.get(route.node) === undefined) {
      problems.push({
        where: `${name}: nodes`,
        message: `worker ${show(route.node)} has no networkInterfaceId; give its instance's primaryNetworkInterfaceId (the routes' target)`,
      });
    }
  }
  if (args.adopt && typeof args.routeTableId !== "string") {
    problems.push({
      where: setting("adopt"),
      message: "needs routeTableId as a plain string to build the import ids (<routeTableId>_<destination>)",
    });
  }
  return problems.length > 0 || !routes.ok ? { ok: false, problems } : routes;
}

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const prepared = prepare(name, args, `aws.PodRoutes ${JSON.stringify(name)}`);
  return prepared.ok ? [] : prepared.problems;
}

export class PodRoutes extends pulumi.ComponentResource {
  /** The routes, shaped like the runbook's verification table (`where` is the route table). */
  readonly routes: pulumi.Output<RouteRow[]>;
  /** The aws.ec2.Route resources, by destination. */
  readonly resources: Readonly<Record<string, aws.ec2.Route>>;

  constructor(name: string, args: PodRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad args create nothing at all.
    const context = `aws.PodRoutes ${JSON.stringify(name)}`;
    const prepared = prepare(name, args, context);
    if (!prepared.ok) throw new PodRoutesError(prepared.problems, context);
    super("pod-routes:aws:PodRoutes", name, {}, opts);

    const interfaces = interfacesOf(args);
    const resources: Record<string, aws.ec2.Route> = {};
    for (const route of prepared.value) {
      const ipv6 = familyOf(route.destination) === 6;
      // The target waits for the next hop when IPs are Outputs: a node whose IP turns out bad gets no route.
      const interfaceId = interfaces.get(route.node) as pulumi.Input<string>;
      const networkInterfaceId = pulumi.Output.isInstance(route.nextHop)
        ? pulumi.all([route.nextHop, interfaceId]).apply(([, id]) => id)
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
    this.routes = routeRows(prepared.value, args.routeTableId);
    this.registerOutputs({ routes: this.routes });
  }
}
