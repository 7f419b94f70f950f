// ssh.PodRoutes: the pod routes of every host, installed over SSH (bare metal, Linode): one HostRoutes per
// host, named `<name>-<host>`, that makes the host's routes match the plan and reads them back on refresh.
import * as pulumi from "@pulumi/pulumi";
import { HostPlan, planCloudRoutes, planHostRoutes } from "../core/routes";
import { PodRoutesError, Problem, Validated } from "../core/problems";
import { RouteRow, RouteSpec } from "../core/types";
import { derive, givenPlan, NodeArgs, SpecArgs, SpecSource, specOf, specSource } from "../inputs/nodes";
import { toStateRoutes } from "./host-program/route-text";
import { HostRoutes, providerVersion, stackIdentity } from "./resource/host-routes";
import { check, hostsBlockLines, plan } from "./plan";
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
  /** With `spec`: each host's pinned public key, by node name (as a node's `hostKey`). */
  readonly hostKeys?: Readonly<Record<string, pulumi.Input<string>>>;
  /** With `spec`: where to connect, by node name, when it is not the node IP (as a node's `address`). */
  readonly addresses?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * With `spec`: every host's routes as `plan(spec)` made them (the stack planned them already); without it,
   * the component plans them itself. Only a plan made for this very spec is taken.
   */
  readonly plan?: readonly HostPlan[];
}

/** What the component knows of a node besides the spec: where to connect and its pinned key. */
interface HostExtras {
  readonly address?: pulumi.Input<string>;
  readonly hostKey?: pulumi.Input<string>;
}

/** Each node's extras, from its node args or, with a spec, from the hostKeys and addresses maps. */
function extrasOf(args: PodRoutesArgs): ReadonlyMap<string, HostExtras> {
  if (args.nodes !== undefined) return new Map(args.nodes.map((n) => [n.name, n]));
  const names = [...(args.spec?.nodes ?? [])].map((n) => n.name);
  return new Map(
    names.map((n) => [
      n,
      {
        ...(args.addresses?.[n] !== undefined ? { address: args.addresses[n] } : {}),
        ...(args.hostKeys?.[n] !== undefined ? { hostKey: args.hostKeys[n] } : {}),
      },
    ]),
  );
}

/** The spec and every host's plan (or the plan once IPs resolve), or every problem with the args. */
function prepare(
  name: string,
  args: PodRoutesArgs,
  context: string,
): Validated<{ source: SpecSource; plans: HostPlan[] | pulumi.Output<HostPlan[]> }> {
  const source = specSource(args, `${name}: nodes`, context);
  if (!source.ok) return source;
  const setting = (key: string) => `${name}: ${key}`;
  const problems: Problem[] = [];
  if (args.privateKey === undefined) {
    problems.push({ where: setting("privateKey"), message: "is required: the key pod-routes logs in with" });
  }
  for (const [key, value, min, max] of [
    ["connectTimeoutSeconds", args.connectTimeoutSeconds, 1, 600],
    ["commandTimeoutSeconds", args.commandTimeoutSeconds, 1, 3600],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      problems.push({
        where: setting(key),
        message: `must be a whole number of seconds from ${min} to ${max}`,
      });
    }
  }
  if (args.resyncInterval !== undefined && !isResyncInterval(args.resyncInterval)) {
    problems.push({
      where: setting("resyncInterval"),
      message: `must be ${RESYNC_INTERVAL_RULE} (got ${JSON.stringify(args.resyncInterval)})`,
    });
  }
  const nodes = source.value.nodes;
  const known = new Set(nodes.map((n) => n.name));
  for (const [key, map] of [
    ["hostKeys", args.hostKeys],
    ["addresses", args.addresses],
  ] as const) {
    for (const host of Object.keys(map ?? {}).filter((h) => !known.has(h))) {
      problems.push({ where: setting(key), message: `names ${JSON.stringify(host)}, which is not a node` });
    }
  }
  const extras = extrasOf(args);
  const spec = "spec" in source.value ? source.value.spec : undefined;
  const plainIps = new Map<string, pulumi.Input<string>>(
    (args.nodes ?? spec?.nodes ?? []).map((n) => [n.name, n.ip]),
  );
  const facts = nodes.map((node) => {
    const { address, hostKey } = extras.get(node.name) ?? {};
    const ip = plainIps.get(node.name);
    const connect = typeof address === "string" ? address : typeof ip === "string" ? ip : undefined;
    return {
      name: node.name,
      role: node.role,
      ...(node.podCidr !== undefined ? { podCidr: node.podCidr } : {}),
      ...(hostKey !== undefined ? { hostKey: "pinned" } : {}),
      ...(connect !== undefined ? { address: connect } : {}),
    };
  });
  problems.push(...check(facts, { insecureIgnoreHostKeys: args.insecureIgnoreHostKeys ?? false, setting }));
  if (problems.length > 0) return { ok: false, problems };

  const given = givenPlan(args.plan, source.value, args.routeNamePrefix, setting("plan"));
  if (given !== undefined) {
    return given.ok ? { ok: true, value: { source: source.value, plans: [...given.value] } } : given;
  }
  const from = source.value;
  if ("later" in from) {
    const plans = from.later.apply((s) => planHostRoutes(s, args.routeNamePrefix));
    return { ok: true, value: { source: from, plans } };
  }
  const planned = plan(from.spec, {
    setting,
    ...(args.routeNamePrefix !== undefined ? { routeNamePrefix: args.routeNamePrefix } : {}),
  });
  return planned.ok ? { ok: true, value: { source: source.value, plans: planned.value } } : planned;
}

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const prepared = prepare(name, args, `ssh.PodRoutes ${JSON.stringify(name)}`);
  return prepared.ok ? [] : prepared.problems;
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
    const prepared = prepare(name, args, context);
    if (!prepared.ok) throw new PodRoutesError(prepared.problems, context);
    super("pod-routes:ssh:PodRoutes", name, {}, opts);
    const { source, plans } = prepared.value;
    const extras = extrasOf(args);
    const unpinned = source.nodes.filter((n) => extras.get(n.name)?.hostKey === undefined).map((n) => n.name);
    if (unpinned.length > 0) {
      pulumi.log.warn(
        `pod-routes: INSECURE: host keys are not checked for ${unpinned.join(", ")} (insecureIgnoreHostKeys is true); anyone on the path can impersonate these hosts. Pin them.`,
        this,
      );
    }

    const spec = specOf(source);
    const stack = `pulumi:${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    // The owner record on each host is `<stack>@<stack id>:<resource>` (see ownerRecord in provider.ts).
    const stackId = stackIdentity();
    const privateKey = pulumi.secret(args.privateKey);
    const resources: Record<string, HostRoutes> = {};
    source.nodes.forEach((node, index) => {
      // The whole mesh was planned once; each host takes its part.
      const plan = derive(plans, (all) => all[index]!);
      const { address, hostKey } = extras.get(node.name) ?? {};
      const resourceName = `${name}-${node.name}`;
      resources[node.name] = new HostRoutes(
        resourceName,
        {
          host: node.name,
          owner: `${stack}:${resourceName}`,
          stackId,
          address: address ?? derive(plan, (p) => p.host.ip),
          port: args.port ?? DEFAULTS.ssh.port,
          user: args.user ?? DEFAULTS.ssh.user,
          ...(hostKey !== undefined ? { hostKey } : {}),
          privateKey,
          routes: derive(plan, (p) => toStateRoutes(p.routes)),
          // Controllers keep every worker's name in /etc/hosts (the runbook's `PRIVATE_IP worker-i` lines).
          ...(node.role === "controller" ? { hostsLines: derive(spec, hostsBlockLines) } : {}),
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
