// GCP: one gcp.compute.Route per worker on the cluster's VPC network, next hop = the worker's internal IP,
// as `gcloud compute routes create kubernetes-route-10-200-${i}-0-24 --next-hop-address 10.240.0.2${i}` does.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { GcpConfig, defaultGcpConfig } from "../spec/config";
import { gcpRouteImportId, planCloudRoutes } from "../spec/plan";
import { specFromConfig, specFromNodes } from "../spec/source";
import { NodeInput, PlannedRoute, RouteSpec } from "../spec/types";
import { Problem, SpecError, show, Validated } from "../spec/validate";
import { DeployContext, RouteProvider, toRows } from "./types";

/** What the runbook reads from an instance: `gcloud compute instances describe … --format 'value[separator=" "](networkInterfaces[0].networkIP,metadata.items[0].value)'`. */
export interface GcpInstanceFacts {
  readonly name: string;
  readonly networkIp?: string;
  readonly podCidr?: string;
  readonly canIpForward: boolean;
}

export async function lookupInstance(
  name: string,
  zone: string,
  project?: string,
): Promise<GcpInstanceFacts> {
  const instance = await gcp.compute.getInstance({ name, zone, ...(project ? { project } : {}) });
  const podCidr = instance.metadata?.["pod-cidr"];
  const networkIp = instance.networkInterfaces?.[0]?.networkIp;
  return {
    name,
    canIpForward: instance.canIpForward,
    ...(networkIp ? { networkIp } : {}),
    ...(podCidr ? { podCidr } : {}),
  };
}

/** Pure: instance facts → nodes, with a problem for every instance that cannot carry pod traffic. */
export function nodesFromInstances(facts: readonly GcpInstanceFacts[]): {
  nodes: NodeInput[];
  problems: Problem[];
} {
  const problems: Problem[] = [];
  const nodes: NodeInput[] = [];
  for (const instance of facts) {
    const where = `gcp instance ${show(instance.name)}`;
    if (!instance.canIpForward) {
      problems.push({
        where,
        message:
          "has canIpForward=false, so it would drop packets for its pods; recreate it with --can-ip-forward (canIpForward: true)",
      });
    }
    if (instance.podCidr === undefined) {
      problems.push({
        where,
        message: `has no "pod-cidr" metadata; add it, e.g. gcloud compute instances add-metadata ${instance.name} --metadata pod-cidr=10.200.0.0/24`,
      });
    }
    if (instance.networkIp === undefined) {
      problems.push({ where, message: "has no internal IP on networkInterfaces[0]" });
    }
    nodes.push({ name: instance.name, ip: instance.networkIp, podCidr: instance.podCidr, origin: where });
  }
  return { nodes, problems };
}

/** Pure: the routes to create, or every problem with them (including the project's static route quota). */
export function planGcpRoutes(
  spec: RouteSpec,
  gcpConfig: GcpConfig,
  prefix: string,
): Validated<PlannedRoute[]> {
  const routes = planCloudRoutes(spec, gcpConfig.network, prefix);
  if (routes.length > gcpConfig.routeQuota) {
    return {
      ok: false,
      problems: [
        {
          where: "pod-routes:gcp.routeQuota",
          message: `${routes.length} routes would exceed the static route quota of ${gcpConfig.routeQuota}; raise the project's quota (and this setting), or use fewer, larger pod CIDRs`,
        },
      ],
    };
  }
  return { ok: true, value: routes };
}

/**
 * One route per planned route, at the stack's top level so that routes made by hand can be imported as
 * they are (adopt, or `pulumi import --file`). With `adoptProject`, each route carries the `import` option.
 */
export function createGcpRoutes(
  planned: readonly PlannedRoute[],
  gcpConfig: GcpConfig,
  adoptProject?: string,
): gcp.compute.Route[] {
  return planned.map(
    (route) =>
      new gcp.compute.Route(
        route.name,
        {
          // The runbook's own name, so a re-ordered node list never replaces a route. Everything here must
          // match a hand-made route for an import to show no diff: name, network, destRange, nextHopIp,
          // priority (gcloud's default is 1000) and description (gcloud sets none).
          name: route.name,
          network: gcpConfig.network,
          destRange: route.destination,
          nextHopIp: route.nextHop,
          priority: gcpConfig.priority,
          ...(gcpConfig.project ? { project: gcpConfig.project } : {}),
          ...(gcpConfig.description !== undefined ? { description: gcpConfig.description } : {}),
        },
        {
          // Every field forces a replacement and the name is fixed, so the old route must go first.
          deleteBeforeReplace: true,
          ...(adoptProject !== undefined ? { import: gcpRouteImportId(adoptProject, route.name) } : {}),
        },
      ),
  );
}

/** The project routes live in: pod-routes:gcp.project, else the provider's gcp:project. */
export function gcpProject(gcpConfig: GcpConfig): string | undefined {
  return gcpConfig.project ?? new pulumi.Config("gcp").get("project");
}

async function resolveSpec(context: DeployContext, gcpConfig: GcpConfig): Promise<RouteSpec> {
  const { config } = context;
  let result: Validated<RouteSpec>;
  if (gcpConfig.discovery) {
    const { zone, instances } = gcpConfig.discovery;
    const facts = await Promise.all(instances.map((name) => lookupInstance(name, zone, gcpConfig.project)));
    const { nodes, problems } = nodesFromInstances(facts);
    result = specFromNodes(config, nodes, "pod-routes:gcp.discovery.instances", problems);
  } else {
    result = specFromConfig(config, { baseDir: context.baseDir });
  }
  if (!result.ok) throw new SpecError(result.problems);
  return result.value;
}

export const gcpProvider: RouteProvider = {
  cloud: "gcp",
  async deploy(context) {
    const gcpConfig = context.config.gcp ?? defaultGcpConfig();
    const spec = await resolveSpec(context, gcpConfig);
    const planned = planGcpRoutes(spec, gcpConfig, context.config.routeNamePrefix);
    if (!planned.ok) throw new SpecError(planned.problems);
    let adoptProject: string | undefined;
    if (context.config.adopt) {
      adoptProject = gcpProject(gcpConfig);
      if (adoptProject === undefined) {
        throw new SpecError([
          {
            where: "pod-routes:adopt",
            message: "needs the project to build import ids; set gcp:project or pod-routes:gcp.project",
          },
        ]);
      }
    }
    createGcpRoutes(planned.value, gcpConfig, adoptProject);
    return toRows(planned.value);
  },
};
