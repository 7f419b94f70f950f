// One validation pass over a route spec that collects every problem, so a user fixes them all in one go
// and no resource is created from a spec with any problem in it.
import * as ipaddr from "ipaddr.js";
import {
  bits,
  Cidr,
  Ip,
  containsCidr,
  containsIp,
  findOverlaps,
  overlaps,
  parseCidr,
  parseIp,
  Parsed,
} from "./cidr";
import { PodRoutesError, Problem, show, Validated } from "./problems";
import { IP_LATER, Node, NodeInput, Role, RouteSpec, SpecInput, ValidSpec } from "./types";
import { DEFAULTS } from "./defaults";
import { isRfc1123Name, RFC1123_RULE } from "./rules";

export { isRfc1123Name } from "./rules";

export const DEFAULT_CLUSTER_CIDR: string = DEFAULTS.clusterCidr;

function cidrProblem(label: string, raw: unknown, parsed: Parsed<Cidr> | undefined): string {
  if (typeof raw !== "string") return `${label} must be a CIDR string like "10.200.0.0/24", got ${show(raw)}`;
  if (parsed === undefined || parsed.ok) return "";
  const fix = parsed.suggestion !== undefined ? `; use ${show(parsed.suggestion)}` : "";
  return `${label} ${show(raw)} ${parsed.error}${fix}`;
}

function ipProblem(label: string, raw: unknown, parsed: Parsed<Ip> | undefined): string {
  if (typeof raw !== "string")
    return `${label} must be an IP address string like "10.240.0.20", got ${show(raw)}`;
  if (parsed === undefined || parsed.ok) return "";
  const fix = parsed.suggestion !== undefined ? `; use ${show(parsed.suggestion)}` : "";
  return `${label} ${show(raw)} ${parsed.error}${fix}`;
}

interface CheckedNode {
  readonly where: string;
  readonly name?: string;
  readonly ip?: Ip;
  readonly podCidr?: Cidr;
  readonly role?: Role;
  readonly fqdn?: string;
}

const describe = (node: CheckedNode): string =>
  node.name !== undefined ? `node ${show(node.name)}` : "node";

/**
 * Every problem of a spec, in one pass. Node IPs given as `IP_LATER` (they arrive later, as Outputs) are
 * skipped along with every check that needs them; `validateSpec` runs again once they are known.
 */
export function validateSpec(input: SpecInput): Validated<ValidSpec> {
  const { problems, checked, clusterCidrs, nodeCidr } = collect(input);
  if (problems.length > 0) return { ok: false, problems };
  if (checked.some((n) => n.ip === undefined)) {
    return {
      ok: false,
      problems: [{ where: input.origin ?? "nodes", message: "some node IPs are not known yet" }],
    };
  }
  const nodes: Node[] = checked.map((n) => ({
    name: n.name as string,
    ip: (n.ip as Ip).text,
    role: n.role as Role,
    ...(n.fqdn !== undefined ? { fqdn: n.fqdn } : {}),
    ...(n.podCidr ? { podCidr: n.podCidr.text } : {}),
  }));
  const spec: RouteSpec = {
    clusterCidrs: Object.freeze(clusterCidrs.map((c) => c.text)),
    ...(nodeCidr ? { nodeCidr: nodeCidr.text } : {}),
    nodes: Object.freeze(nodes.map((node) => Object.freeze(node))),
  };
  validated.add(Object.freeze(spec));
  return { ok: true, value: spec as ValidSpec };
}

/** Every spec validateSpec made (and froze): what `isValidSpec` trusts. */
const validated = new WeakSet<object>();

/** True for a spec that validateSpec made, and only for one: the components take it without checking it again. */
export function isValidSpec(value: unknown): value is ValidSpec {
  return typeof value === "object" && value !== null && validated.has(value);
}

/** The problems of the values known now (names, roles, pod CIDRs, plain IPs), skipping IPs given as `IP_LATER`. */
export function validateKnownValues(input: SpecInput): Problem[] {
  return collect(input).problems;
}

function collect(input: SpecInput): {
  problems: Problem[];
  checked: CheckedNode[];
  clusterCidrs: Cidr[];
  nodeCidr: Cidr | undefined;
} {
  const problems: Problem[] = [];
  const origin = input.origin ?? "nodes";
  const add = (where: string, message: string) => problems.push({ where, message });

  // Cluster CIDRs: one per address family.
  const clusterRaw = input.clusterCidr ?? DEFAULT_CLUSTER_CIDR;
  const clusterList: unknown[] = Array.isArray(clusterRaw) ? clusterRaw : [clusterRaw];
  const clusterCidrs: Cidr[] = [];
  if (clusterList.length === 0)
    add("clusterCidr", `is empty; set it to the cluster's pod range, e.g. "${DEFAULT_CLUSTER_CIDR}"`);
  for (const raw of clusterList) {
    const parsed = typeof raw === "string" ? parseCidr(raw) : undefined;
    if (parsed?.ok) {
      if (clusterCidrs.some((c) => c.family === parsed.value.family)) {
        add("clusterCidr", `has two IPv${parsed.value.family} ranges; give at most one per address family`);
      } else clusterCidrs.push(parsed.value);
    } else add("clusterCidr", cidrProblem("cluster CIDR", raw, parsed));
  }

  let nodeCidr: Cidr | undefined;
  if (input.nodeCidr !== undefined) {
    const parsed = typeof input.nodeCidr === "string" ? parseCidr(input.nodeCidr) : undefined;
    if (parsed?.ok) {
      nodeCidr = parsed.value;
      for (const cluster of clusterCidrs) {
        if (overlaps(cluster, nodeCidr)) {
          add(
            "nodeCidr",
            `node network ${nodeCidr.text} overlaps the cluster CIDR ${cluster.text}; pods and nodes need separate ranges`,
          );
        }
      }
    } else add("nodeCidr", cidrProblem("node network", input.nodeCidr, parsed));
  }

  // Nodes, one by one.
  const checked: CheckedNode[] = [];
  if (!Array.isArray(input.nodes)) {
    add(origin, `must be a list of nodes ({ name, ip, podCidr }), got ${show(input.nodes)}`);
  } else if (input.nodes.length === 0) {
    add(origin, "the node list is empty; add at least one node with a name, an ip and a podCidr");
  } else {
    input.nodes.forEach((raw: unknown, index) => {
      checked.push(checkNode(raw, `${origin}[${index}]`, clusterCidrs, nodeCidr, add));
    });
  }

  checkDuplicates(checked, (n) => n.name, "name", "give every node its own name", add);
  checkDuplicates(checked, (n) => n.ip?.text, "IP", "give every node its own address", add);
  checkDuplicates(checked, (n) => n.podCidr?.text, "pod CIDR", "give every worker its own pod CIDR", add);
  // Names and FQDNs share one namespace: both end up as names in the controllers' /etc/hosts block.
  checkDuplicates(checked, (n) => n.fqdn, "fqdn", "give every node its own fqdn", add);
  const byName = new Map(checked.flatMap((n) => (n.name !== undefined ? [[n.name, n] as const] : [])));
  for (const node of checked) {
    const other = node.fqdn !== undefined ? byName.get(node.fqdn) : undefined;
    if (other !== undefined && other !== node) {
      add(
        node.where,
        `${describe(node)}: fqdn ${show(node.fqdn)} is the name of ${describe(other)} (${other.where}); /etc/hosts would resolve it to two addresses: give the node its own fqdn`,
      );
    }
  }

  // Pod CIDRs must be disjoint from each other and must not hold any node's address.
  type Block = { node: CheckedNode; cidr: Cidr; kind: "pods" | "address" };
  const blocks: Block[] = [];
  for (const node of checked) {
    if (node.podCidr) blocks.push({ node, cidr: node.podCidr, kind: "pods" });
    if (node.ip) {
      const full = node.ip.family === 4 ? 32 : 128;
      blocks.push({
        node,
        kind: "address",
        cidr: { ...node.ip, start: node.ip.value, end: node.ip.value, prefix: full },
      });
    }
  }
  for (const [a, b] of findOverlaps(blocks, (block) => block.cidr)) {
    if (a.kind === "pods" && b.kind === "pods") {
      if (a.cidr.text === b.cidr.text) continue; // reported as a duplicate
      add(
        b.node.where,
        `pod CIDR ${b.cidr.text} of ${describe(b.node)} overlaps pod CIDR ${a.cidr.text} of ${describe(a.node)}; pod CIDRs must not overlap`,
      );
    } else if (a.kind !== b.kind) {
      const pods = a.kind === "pods" ? a : b;
      const address = a.kind === "pods" ? b : a;
      add(
        pods.node.where,
        `pod CIDR ${pods.cidr.text} of ${describe(pods.node)} contains the address ${address.node.ip?.text} of ${describe(address.node)}; pod CIDRs must not overlap the node network`,
      );
    }
  }

  const workers = checked.filter((n) => n.role === "worker");
  if (checked.length > 0 && workers.length === 0 && problems.length === 0 && !input.allowNoWorkers) {
    add(origin, "no node has a podCidr, so there is nothing to route; give each worker its podCidr");
  }

  return { problems, checked, clusterCidrs, nodeCidr };
}

/** Why an address cannot be a node's (a next hop), or undefined when it can. */
function unusableAddress(ip: Ip, nodeCidr: Cidr | undefined): string | undefined {
  const range = ipaddr.parse(ip.text).range();
  const why: Record<string, string> = {
    unspecified: "is the unspecified address",
    loopback: "is a loopback address",
    broadcast: "is the broadcast address",
    multicast: "is a multicast address",
    linkLocal: "is link-local (a next hop must be routable on the nodes' network, not only on one link)",
  };
  if (range in why) return why[range];
  if (nodeCidr && nodeCidr.family === ip.family && nodeCidr.prefix < bits(ip.family) - 1) {
    if (ip.value === nodeCidr.start) return `is the network address of the node network ${nodeCidr.text}`;
    if (ip.family === 4 && ip.value === nodeCidr.end)
      return `is the broadcast address of the node network ${nodeCidr.text}`;
  }
  return undefined;
}

function checkNode(
  raw: unknown,
  defaultWhere: string,
  clusterCidrs: readonly Cidr[],
  nodeCidr: Cidr | undefined,
  add: (where: string, message: string) => void,
): CheckedNode {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add(defaultWhere, `must be a node object { name, ip, podCidr }, got ${show(raw)}`);
    return { where: defaultWhere };
  }
  const input = raw as NodeInput;
  const where = input.origin ?? defaultWhere;
  const known = new Set(["name", "ip", "podCidr", "role", "fqdn", "origin"]);
  for (const key of Object.keys(input)) {
    if (!known.has(key))
      add(where, `unknown field ${show(key)}; a node has name, ip, podCidr, role and fqdn`);
  }

  let name: string | undefined;
  if (typeof input.name !== "string" || input.name.length === 0) {
    add(where, `name must be a non-empty string, got ${show(input.name)}`);
  } else if (!isRfc1123Name(input.name)) {
    const lower = input.name.toLowerCase();
    const hint = lower !== input.name && isRfc1123Name(lower) ? `; use ${show(lower)}` : "";
    add(where, `name ${show(input.name)} is not an RFC 1123 name (${RFC1123_RULE})${hint}`);
  } else name = input.name;
  const self = name !== undefined ? `node ${show(name)}` : "node";

  let fqdn: string | undefined;
  if (input.fqdn !== undefined) {
    if (typeof input.fqdn === "string" && isRfc1123Name(input.fqdn)) fqdn = input.fqdn;
    else
      add(
        where,
        `${self}: fqdn ${show(input.fqdn)} is not an RFC 1123 name (lowercase letters, digits, "-" and ".")`,
      );
  }

  let ip: Ip | undefined;
  if (input.ip !== IP_LATER) {
    const parsedIp = typeof input.ip === "string" ? parseIp(input.ip) : undefined;
    if (parsedIp?.ok) {
      const unusable = unusableAddress(parsedIp.value, nodeCidr);
      if (unusable)
        add(where, `${self}: ip ${parsedIp.value.text} ${unusable}; give the node's own internal address`);
      else ip = parsedIp.value;
    } else add(where, `${self}: ${ipProblem("ip", input.ip, parsedIp)}`);
  }

  let podCidr: Cidr | undefined;
  // An absent, null or empty podCidr all mean "no pod CIDR" (machines.txt's server line has none).
  const hasPodCidr = input.podCidr !== undefined && input.podCidr !== null && input.podCidr !== "";
  if (hasPodCidr) {
    const parsed = typeof input.podCidr === "string" ? parseCidr(input.podCidr) : undefined;
    if (parsed?.ok) podCidr = parsed.value;
    else add(where, `${self}: ${cidrProblem("podCidr", input.podCidr, parsed)}`);
  }

  let role: Role | undefined;
  if (input.role === undefined) {
    role = hasPodCidr ? "worker" : "controller";
  } else if (input.role === "worker" || input.role === "controller") {
    role = input.role;
    if (role === "worker" && !hasPodCidr) {
      add(where, `${self} is a worker without a podCidr; add its podCidr, or make it a controller`);
    }
    if (role === "controller" && podCidr) {
      add(
        where,
        `${self} is a controller with podCidr ${podCidr.text}; remove the podCidr, or make it a worker`,
      );
    }
  } else {
    add(where, `${self}: role must be "worker" or "controller", got ${show(input.role)}`);
  }

  if (ip && podCidr && ip.family !== podCidr.family) {
    add(
      where,
      `${self} mixes address families: ip ${ip.text} is IPv${ip.family} but podCidr ${podCidr.text} is IPv${podCidr.family}; a route's destination and next hop must be the same family`,
    );
  }
  if (podCidr) {
    const cluster = clusterCidrs.find((c) => c.family === podCidr.family);
    if (cluster && !containsCidr(cluster, podCidr)) {
      add(
        where,
        `${self}: podCidr ${podCidr.text} is outside the cluster CIDR ${cluster.text}; pick a block inside it or widen clusterCidr`,
      );
    } else if (!cluster && clusterCidrs.length > 0) {
      add(
        where,
        `${self}: podCidr ${podCidr.text} is IPv${podCidr.family} but no IPv${podCidr.family} cluster CIDR is set; add one to clusterCidr`,
      );
    }
    if (nodeCidr && overlaps(nodeCidr, podCidr)) {
      add(
        where,
        `${self}: podCidr ${podCidr.text} overlaps the node network ${nodeCidr.text}; pods and nodes need separate ranges`,
      );
    }
  }
  if (ip) {
    const cluster = clusterCidrs.find((c) => containsIp(c, ip));
    if (cluster) {
      add(
        where,
        `${self}: ip ${ip.text} is inside the cluster CIDR ${cluster.text}; node addresses must be outside the pod range`,
      );
    }
    if (nodeCidr && nodeCidr.family === ip.family && !containsIp(nodeCidr, ip)) {
      add(
        where,
        `${self}: ip ${ip.text} is outside the node network ${nodeCidr.text}; fix the address or nodeCidr`,
      );
    }
  }
  return {
    where,
    ...(fqdn !== undefined ? { fqdn } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(ip ? { ip } : {}),
    ...(podCidr ? { podCidr } : {}),
    ...(role ? { role } : {}),
  };
}

function checkDuplicates(
  nodes: readonly CheckedNode[],
  key: (node: CheckedNode) => string | undefined,
  label: string,
  fix: string,
  add: (where: string, message: string) => void,
): void {
  const first = new Map<string, CheckedNode>();
  for (const node of nodes) {
    const value = key(node);
    if (value === undefined) continue;
    const earlier = first.get(value);
    if (earlier) {
      add(
        node.where,
        `duplicate ${label} ${show(value)}: ${describe(node)} and ${describe(earlier)} (${earlier.where}) both have it; ${fix}`,
      );
    } else first.set(value, node);
  }
}

/** Validates and returns the spec, or throws a PodRoutesError listing every problem. */
export function requireValidSpec(input: SpecInput, context?: string): ValidSpec {
  const result = validateSpec(input);
  if (!result.ok) throw new PodRoutesError(result.problems, context);
  return result.value;
}
