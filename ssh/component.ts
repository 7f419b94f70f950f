// ssh.PodRoutes: the pod routes of every host, installed over SSH (bare metal, Linode): one HostRoutes per
// host, named `<name>-<host>`, that makes the host's routes match the plan and reads them back on refresh.
import * as pulumi from "@pulumi/pulumi";
import { planCloudRoutes, planHostRoutes } from "../core/plan";
import { Problem } from "../core/problems";
import { RouteRow, RouteSpec } from "../core/types";
import {
  derive,
  knownProblems,
  NodeArgs,
  plainNodes,
  resolvedSpec,
  SpecArgs,
  throwProblems,
} from "../inputs/nodes";
import { toStateRoutes } from "./host-program/route-text";
import { HostRoutes, providerVersion, stackIdentity } from "./resource/host-routes";
import { check, hostsBlockLines } from "./plan";
import { DEFAULTS } from "../core/defaults";
import { isResyncInterval, RESYNC_INTERVAL_RULE } from "../core/rules";

export interface SshNodeArgs extends NodeArgs {
  /** Fully qualified name, for the controllers' managed /etc/hosts block. */
  readonly fqdn?: string;
  /** Where to connect, when it is not the node IP (e.g. a public address). A new address is a new machine. */
  readonly address?: pulumi.Input<string>;
  /** The host's pinned public key (`ssh-keyscan -t ed25519 <address>` prints it): ed25519, ECDSA or RSA. */
  readonly hostKey?: pulumi.Input<string>;
}

export interface PodRoutesArgs extends SpecArgs<SshNodeArgs> {
  /** The private key pod-routes logs in with (kept secret). */
  readonly privateKey: pulumi.Input<string>;
  /** SSH user; default `root`. */
  readonly user?: pulumi.Input<string>;
  /** SSH port; default 22. */
  readonly port?: pulumi.Input<number>;
  /** Explicit, loudly warned opt-out of host key pinning for nodes without a `hostKey`. */
  readonly insecureIgnoreHostKeys?: boolean;
  /** Take over hand-made routes identical to desired ones (same destination and next hop). */
  readonly adopt?: boolean;
  readonly routeNamePrefix?: string;
  /** Seconds to connect, shake hands and log in before a host counts as unreachable; default 15. */
  readonly connectTimeoutSeconds?: number;
  /** Seconds a host's script may take before the update fails; default 300. */
  readonly commandTimeoutSeconds?: number;
  /** Also re-check every host's routes on the host itself this often (a systemd timer), e.g. `15min`; default off. */
  readonly resyncInterval?: string;
}

const sshFacts = (args: PodRoutesArgs) =>
  plainNodes(args).map((node, i) => {
    const given = args.nodes[i];
    const address =
      typeof given?.address === "string"
        ? given.address
        : typeof given?.ip === "string"
          ? given.ip
          : undefined;
    return {
      ...node,
      ...(given?.hostKey !== undefined ? { hostKey: "pinned" } : {}),
      ...(address !== undefined ? { address } : {}),
    };
  });

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const problems = knownProblems(args, `${name}: nodes`);
  if (problems.length > 0) return problems;
  if (args.privateKey === undefined) {
    problems.push({ where: `${name}: privateKey`, message: "is required: the key pod-routes logs in with" });
  }
  for (const [key, value, min, max] of [
    ["connectTimeoutSeconds", args.connectTimeoutSeconds, 1, 600],
    ["commandTimeoutSeconds", args.commandTimeoutSeconds, 1, 3600],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      problems.push({
        where: `${name}: ${key}`,
        message: `must be a whole number of seconds from ${min} to ${max}`,
      });
    }
  }
  if (args.resyncInterval !== undefined && !isResyncInterval(args.resyncInterval)) {
    problems.push({
      where: `${name}: resyncInterval`,
      message: `must be ${RESYNC_INTERVAL_RULE} (got ${JSON.stringify(args.resyncInterval)})`,
    });
  }
  problems.push(
    ...check(sshFacts(args), {
      insecureIgnoreHostKeys: args.insecureIgnoreHostKeys ?? false,
      setting: (setting) => `${name}: ${setting}`,
    }),
  );
  return problems;
}

/** The cluster's routes, once each: every host but the worker itself has each one. */
function clusterRows(spec: RouteSpec): RouteRow[] {
  return planCloudRoutes(spec, "").map(({ destination, nextHop, node }) => ({
    destination,
    nextHop,
    node,
    where: `every host but ${node}`,
  }));
}

export class PodRoutes extends pulumi.ComponentResource {
  /** The cluster's route table: each worker's pod CIDR and next hop, once (not the mesh). */
  readonly routes: pulumi.Output<RouteRow[]>;
  /** How many routes each host has. */
  readonly hosts: pulumi.Output<Record<string, number>>;
  /** The HostRoutes resources, by host. */
  readonly resources: Readonly<Record<string, HostRoutes>>;

  constructor(name: string, args: PodRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad args create nothing at all.
    const context = `ssh.PodRoutes ${JSON.stringify(name)}`;
    throwProblems(checkArgs(name, args), context);
    super("pod-routes:ssh:PodRoutes", name, {}, opts);
    const unpinned = args.nodes.filter((n) => n.hostKey === undefined).map((n) => n.name);
    if (unpinned.length > 0) {
      pulumi.log.warn(
        `pod-routes: INSECURE: host keys are not checked for ${unpinned.join(", ")} (insecureIgnoreHostKeys is true); anyone on the path can impersonate these hosts. Pin them.`,
        this,
      );
    }

    const spec = resolvedSpec(args, `${name}: nodes`, context);
    // The whole mesh, once; each host takes its part.
    const plans = derive(spec, (s) => planHostRoutes(s, args.routeNamePrefix));
    const stack = `pulumi:${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    // The owner record on each host is `<stack>@<stack id>:<resource>` (see ownerRecord in provider.ts).
    const stackId = stackIdentity();
    const privateKey = pulumi.secret(args.privateKey);
    const roles = plainNodes(args).map((n) => n.role);
    const resources: Record<string, HostRoutes> = {};
    args.nodes.forEach((node, index) => {
      const plan = derive(plans, (all) => all[index]!);
      const resourceName = `${name}-${node.name}`;
      resources[node.name] = new HostRoutes(
        resourceName,
        {
          host: node.name,
          owner: `${stack}:${resourceName}`,
          stackId,
          address: node.address ?? derive(plan, (p) => p.host.ip),
          port: args.port ?? DEFAULTS.ssh.port,
          user: args.user ?? DEFAULTS.ssh.user,
          ...(node.hostKey !== undefined ? { hostKey: node.hostKey } : {}),
          privateKey,
          routes: derive(plan, (p) => toStateRoutes(p.routes)),
          // Controllers keep every worker's name in /etc/hosts (the runbook's `PRIVATE_IP worker-i` lines).
          ...(roles[index] === "controller"
            ? {
                hostsLines: derive(spec, hostsBlockLines),
              }
            : {}),
          adopt: args.adopt ?? false,
          ...(args.resyncInterval !== undefined ? { resyncInterval: args.resyncInterval } : {}),
          connectTimeoutSeconds: args.connectTimeoutSeconds ?? DEFAULTS.ssh.connectTimeoutSeconds,
          commandTimeoutSeconds: args.commandTimeoutSeconds ?? DEFAULTS.ssh.commandTimeoutSeconds,
          providerVersion: providerVersion(),
        },
        { parent: this },
      );
    });
    this.resources = resources;
    this.routes = pulumi.output(derive(spec, clusterRows));
    this.hosts = pulumi.output(
      derive(plans, (all) => Object.fromEntries(all.map((p) => [p.host.name, p.routes.length]))),
    );
    this.registerOutputs({ routes: this.routes, hosts: this.hosts });
  }
}
