// The SSH path (bare metal, Linode, the print-by-hand runbook), pure: what every host needs, and the checks
// that `pulumi up` and the offline CLI both run before anything is created or any mesh is built.
import { planHostRoutes, HostPlan, recordPlan } from "../core/routes";
import { Problem, show, Validated } from "../core/problems";
import { isWorker, RouteSpec } from "../core/types";

/**
 * The most routes one host takes over the SSH path. Host routes are a full mesh (every host gets every
 * other worker's subnet), so hosts × routes grows with the square of the node count: past this, fail at
 * preview with a clear message rather than exhaust memory or time mid-run. The lab proves a host applies,
 * re-runs and deletes this many (tests/e2e/limits.test.ts).
 */
export const MAX_ROUTES_PER_HOST = 1024;

/** What the checks need to know of a node before its IP is known. */
export interface SshNodeFacts {
  readonly name: string;
  readonly role: "worker" | "controller";
  readonly podCidr?: string;
  /** Pinned host key line, if any. */
  readonly hostKey?: string;
  /** Where to connect, for messages (the node IP when not given). */
  readonly address?: string;
}

export interface CheckOptions {
  /** Explicit opt-out of host key pinning. */
  readonly insecureIgnoreHostKeys?: boolean;
  /** Names a setting in a problem, e.g. `hostKeys` → `pod-routes:ssh.hostKeys`. */
  readonly setting?: (name: string) => string;
}

/** The largest number of routes any host gets: controllers get every worker's, workers every other one's. */
export function routesPerHost(nodes: readonly Pick<SshNodeFacts, "role" | "podCidr">[]): number {
  const workers = nodes.filter((n) => n.role === "worker" && n.podCidr !== undefined).length;
  return nodes.some((n) => n.role === "controller") ? workers : Math.max(0, workers - 1);
}

/** Count-based checks: run before the mesh is built, so an oversized cluster fails in milliseconds. */
export function checkSize(
  nodes: readonly Pick<SshNodeFacts, "role" | "podCidr">[],
  setting = (name: string) => name,
): Problem[] {
  const largest = routesPerHost(nodes);
  if (largest <= MAX_ROUTES_PER_HOST) return [];
  return [
    {
      where: setting("nodes"),
      message: `${largest} routes per host exceed what the SSH path supports (${MAX_ROUTES_PER_HOST}); at this size use routing that scales (a BGP speaker such as Calico or kube-router, or the cloud's route tables), or split the cluster`,
    },
  ];
}

/** Every host needs a pinned host key, unless the opt-out is explicit. */
export function checkHostKeys(nodes: readonly SshNodeFacts[], options: CheckOptions = {}): Problem[] {
  if (options.insecureIgnoreHostKeys) return [];
  const setting = options.setting ?? ((name: string) => name);
  return nodes
    .filter((node) => node.hostKey === undefined)
    .map((node) => ({
      where: setting("hostKeys"),
      message: `has no host key for ${show(node.name)}; pin it (ssh-keyscan -t ed25519 ${node.address ?? "<address>"} prints it) or, at your own risk, set ${setting("insecureIgnoreHostKeys")} to true`,
    }));
}

/** Every check that needs no IP: size and host keys. */
export function check(nodes: readonly SshNodeFacts[], options: CheckOptions = {}): Problem[] {
  return [...checkSize(nodes, options.setting), ...checkHostKeys(nodes, options)];
}

/** Each host's routes (the mesh), or every problem; the size check runs before the mesh is built. */
export function plan(
  spec: RouteSpec,
  options: { routeNamePrefix?: string; setting?: (name: string) => string } = {},
): Validated<HostPlan[]> {
  const problems = checkSize(spec.nodes, options.setting);
  if (problems.length > 0) return { ok: false, problems };
  const hosts = planHostRoutes(spec, options.routeNamePrefix);
  return { ok: true, value: recordPlan(hosts, spec, options.routeNamePrefix) };
}

/** The managed /etc/hosts block of a controller: every worker as `IP [FQDN] NAME` (the runbook's lines). */
export function hostsBlockLines(spec: RouteSpec): string[] {
  return spec.nodes
    .filter(isWorker)
    .map((w) => [w.ip, ...(w.fqdn !== undefined ? [w.fqdn] : []), w.name].join(" "));
}
