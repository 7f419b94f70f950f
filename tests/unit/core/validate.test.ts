import fc from "fast-check";
import { parseMachinesTxt } from "../../../core/machines";
import { compareCidrText, planCloudRoutes, planHostRoutes } from "../../../core/routes";
import { NodeInput, SpecInput } from "../../../core/types";
import { formatProblems, PodRoutesError } from "../../../core/problems";
import { requireValidSpec, validateSpec } from "../../../core/validate";
import { MACHINES_TXT_LINES } from "../../fixtures";

// The Kubernetes The Hard Way workers (GCP/AWS variant).
const worker = (i: number): NodeInput => ({
  name: `worker-${i}`,
  ip: `10.240.0.2${i}`,
  podCidr: `10.200.${i}.0/24`,
});
const seed = (): SpecInput => ({
  clusterCidr: "10.200.0.0/16",
  nodeCidr: "10.240.0.0/24",
  nodes: [worker(0), worker(1), worker(2)],
  origin: "pod-routes:nodes",
});
const withNode = (index: number, patch: Partial<NodeInput>): SpecInput => {
  const spec = seed();
  const nodes = spec.nodes as NodeInput[];
  nodes[index] = { ...nodes[index], ...patch };
  return spec;
};

const messages = (input: SpecInput): string[] => {
  const result = validateSpec(input);
  return result.ok ? [] : result.problems.map((p) => `${p.where}: ${p.message}`);
};

describe("the seed spec", () => {
  it("is valid and keeps canonical values", () => {
    expect(validateSpec(seed())).toEqual({
      ok: true,
      value: {
        clusterCidrs: ["10.200.0.0/16"],
        nodeCidr: "10.240.0.0/24",
        nodes: [0, 1, 2].map((i) => ({ ...worker(i), role: "worker" })),
      },
    });
  });
});

// Each bad input, and the message that names the value and the fix.
const badInputs: Array<[string, SpecInput, string]> = [
  [
    "empty node list",
    { ...seed(), nodes: [] },
    "pod-routes:nodes: the node list is empty; add at least one node",
  ],
  [
    "node list not a list",
    { ...seed(), nodes: "worker-0" },
    'pod-routes:nodes: must be a list of nodes ({ name, ip, podCidr }), got "worker-0"',
  ],
  [
    "node not an object",
    { ...seed(), nodes: [worker(0), 42] },
    "pod-routes:nodes[1]: must be a node object { name, ip, podCidr }, got 42",
  ],
  [
    "missing name",
    withNode(1, { name: undefined }),
    "pod-routes:nodes[1]: name must be a non-empty string, got nothing",
  ],
  [
    "uppercase name",
    withNode(1, { name: "Worker-1" }),
    'name "Worker-1" is not an RFC 1123 name (lowercase letters, digits, "-" and "."; starting and ending with a letter or digit); use "worker-1"',
  ],
  ["name with underscore", withNode(1, { name: "worker_1" }), 'name "worker_1" is not an RFC 1123 name'],
  ["name ending in a dash", withNode(1, { name: "worker-" }), 'name "worker-" is not an RFC 1123 name'],
  ["name with shell", withNode(1, { name: "w1;reboot" }), 'name "w1;reboot" is not an RFC 1123 name'],
  [
    "name with command substitution",
    withNode(1, { name: "$(reboot)" }),
    'name "$(reboot)" is not an RFC 1123 name',
  ],
  ["name with a newline", withNode(1, { name: "w1\nreboot" }), 'name "w1\\nreboot" is not an RFC 1123 name'],
  [
    "missing ip",
    withNode(0, { ip: undefined }),
    'node "worker-0": ip must be an IP address string like "10.240.0.20", got nothing',
  ],
  [
    "malformed ip",
    withNode(0, { ip: "10.240.0" }),
    'node "worker-0": ip "10.240.0" is not an IPv4 or IPv6 address',
  ],
  [
    "ip with an octet above 255",
    withNode(0, { ip: "10.240.0.300" }),
    'ip "10.240.0.300" has an octet above 255',
  ],
  [
    "ip with leading zeros",
    withNode(0, { ip: "10.240.0.020" }),
    'ip "10.240.0.020" has leading zeros; use "10.240.0.20"',
  ],
  ["ip with backticks", withNode(0, { ip: "`reboot`" }), 'ip "`reboot`" is not an IPv4 or IPv6 address'],
  [
    "malformed pod CIDR",
    withNode(2, { podCidr: "10.200.2.0" }),
    'node "worker-2": podCidr "10.200.2.0" has no prefix length (for example /24)',
  ],
  [
    "non-canonical pod CIDR",
    withNode(0, { podCidr: "10.200.0.1/24" }),
    'node "worker-0": podCidr "10.200.0.1/24" has host bits set (it is not the network address); use "10.200.0.0/24"',
  ],
  [
    "pod CIDR with quotes",
    withNode(0, { podCidr: "10.200.0.0/24' ; reboot '" }),
    "prefix length must be a number from 0 to 32",
  ],
  [
    "pod CIDR not a string",
    withNode(0, { podCidr: 24 }),
    'podCidr must be a CIDR string like "10.200.0.0/24", got 24',
  ],
  [
    "overlapping pod CIDRs",
    withNode(1, { podCidr: "10.200.0.0/23" }),
    'pod CIDR 10.200.0.0/24 of node "worker-0" overlaps pod CIDR 10.200.0.0/23 of node "worker-1"; pod CIDRs must not overlap',
  ],
  [
    "duplicate pod CIDR",
    withNode(1, { podCidr: "10.200.0.0/24" }),
    'duplicate pod CIDR "10.200.0.0/24": node "worker-1" and node "worker-0" (pod-routes:nodes[0]) both have it; give every worker its own pod CIDR',
  ],
  [
    "duplicate name",
    withNode(1, { name: "worker-0" }),
    'duplicate name "worker-0": node "worker-0" and node "worker-0" (pod-routes:nodes[0]) both have it; give every node its own name',
  ],
  [
    "duplicate ip",
    withNode(2, { ip: "10.240.0.20" }),
    'duplicate IP "10.240.0.20": node "worker-2" and node "worker-0" (pod-routes:nodes[0]) both have it',
  ],
  [
    "pod CIDR outside the cluster CIDR",
    withNode(2, { podCidr: "10.201.2.0/24" }),
    "podCidr 10.201.2.0/24 is outside the cluster CIDR 10.200.0.0/16; pick a block inside it or widen clusterCidr",
  ],
  [
    "pod CIDR overlapping the node network",
    { ...withNode(2, { podCidr: "10.240.0.0/25" }), clusterCidr: "10.0.0.0/8" },
    "podCidr 10.240.0.0/25 overlaps the node network 10.240.0.0/24; pods and nodes need separate ranges",
  ],
  [
    "pod CIDR holding a node's address",
    { ...withNode(2, { podCidr: "10.240.0.0/27" }), clusterCidr: "10.0.0.0/8", nodeCidr: undefined },
    'pod CIDR 10.240.0.0/27 of node "worker-2" contains the address 10.240.0.20 of node "worker-0"; pod CIDRs must not overlap the node network',
  ],
  [
    "node ip inside the cluster CIDR",
    { ...withNode(0, { ip: "10.200.9.1" }), nodeCidr: undefined },
    "ip 10.200.9.1 is inside the cluster CIDR 10.200.0.0/16; node addresses must be outside the pod range",
  ],
  [
    "node ip outside the node network",
    withNode(0, { ip: "10.241.0.20" }),
    "ip 10.241.0.20 is outside the node network 10.240.0.0/24; fix the address or nodeCidr",
  ],
  [
    "mixed families in one route",
    { ...withNode(0, { ip: "fd00::20" }), nodeCidr: undefined },
    'node "worker-0" mixes address families: ip fd00::20 is IPv6 but podCidr 10.200.0.0/24 is IPv4',
  ],
  [
    "IPv6 pod CIDR without an IPv6 cluster CIDR",
    { ...withNode(0, { ip: "fd00::20", podCidr: "fd00:200::/64" }), nodeCidr: undefined },
    "podCidr fd00:200::/64 is IPv6 but no IPv6 cluster CIDR is set; add one to clusterCidr",
  ],
  [
    "malformed cluster CIDR",
    { ...seed(), clusterCidr: "10.200.0.0/16x" },
    'clusterCidr: cluster CIDR "10.200.0.0/16x" prefix length must be a number from 0 to 32',
  ],
  [
    "non-canonical cluster CIDR",
    { ...seed(), clusterCidr: "10.200.1.0/16" },
    'cluster CIDR "10.200.1.0/16" has host bits set (it is not the network address); use "10.200.0.0/16"',
  ],
  [
    "two IPv4 cluster CIDRs",
    { ...seed(), clusterCidr: ["10.200.0.0/16", "10.201.0.0/16"] },
    "clusterCidr: has two IPv4 ranges; give at most one per address family",
  ],
  [
    "node network overlapping the cluster",
    { ...seed(), nodeCidr: "10.0.0.0/8" },
    "nodeCidr: node network 10.0.0.0/8 overlaps the cluster CIDR 10.200.0.0/16",
  ],
  [
    "worker without pod CIDR",
    withNode(1, { podCidr: undefined, role: "worker" }),
    'node "worker-1" is a worker without a podCidr; add its podCidr, or make it a controller',
  ],
  [
    "controller with pod CIDR",
    withNode(1, { role: "controller" }),
    'node "worker-1" is a controller with podCidr 10.200.1.0/24; remove the podCidr, or make it a worker',
  ],
  [
    "unknown role",
    withNode(1, { role: "master" }),
    'node "worker-1": role must be "worker" or "controller", got "master"',
  ],
  [
    "unknown field",
    withNode(1, { podCIDR: "10.200.1.0/24" } as Partial<NodeInput>),
    'unknown field "podCIDR"; a node has name, ip, podCidr, role and fqdn',
  ],
  [
    "no workers at all",
    { ...seed(), nodes: [{ name: "controller-0", ip: "10.240.0.10" }] },
    "no node has a podCidr, so there is nothing to route",
  ],
];

describe("validation rejects bad input with a message naming the value and the fix", () => {
  it("has a table of at least 25 bad inputs", () => expect(badInputs.length).toBeGreaterThanOrEqual(25));

  it.each(badInputs)("%s", (_label, input, expected) => {
    const found = messages(input);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toContain(expected);
  });
});

// Issue 12, item 7: node IPs that cannot be next hops, and names that would corrupt /etc/hosts.
describe("issue 12 item 7: addresses that cannot be a node's, and clashing names", () => {
  it.each<[string, Partial<NodeInput>, string]>([
    ["loopback", { ip: "127.0.0.1" }, 'node "worker-1": ip 127.0.0.1 is a loopback address'],
    ["IPv6 loopback", { ip: "::1", podCidr: "fd00:10:200::/64" }, "ip ::1 is a loopback address"],
    ["unspecified", { ip: "0.0.0.0" }, "ip 0.0.0.0 is the unspecified address"],
    ["broadcast", { ip: "255.255.255.255" }, "ip 255.255.255.255 is the broadcast address"],
    ["multicast", { ip: "224.0.0.5" }, "ip 224.0.0.5 is a multicast address"],
    ["link-local", { ip: "169.254.10.20" }, "ip 169.254.10.20 is link-local"],
    ["IPv6 link-local", { ip: "fe80::1", podCidr: "fd00:10:200::/64" }, "ip fe80::1 is link-local"],
    [
      "the node network's own address",
      { ip: "10.240.0.0" },
      "is the network address of the node network 10.240.0.0/24",
    ],
    [
      "the node network's broadcast address",
      { ip: "10.240.0.255" },
      "is the broadcast address of the node network 10.240.0.0/24",
    ],
  ])("refuses a %s node IP, saying why", (_label, patch, expected) => {
    const input = withNode(1, patch);
    if (String(patch.ip).includes(":"))
      (input as { clusterCidr: unknown }).clusterCidr = ["10.200.0.0/16", "fd00:10:200::/56"];
    expect(messages(input).join("\n")).toContain(expected);
  });

  it("refuses two nodes with one FQDN, and an FQDN that is another node's name", () => {
    const input: SpecInput = {
      ...seed(),
      nodes: [
        { ...worker(0), fqdn: "worker-0.example" },
        { ...worker(1), fqdn: "worker-0.example" },
        { ...worker(2), fqdn: "worker-0" },
      ],
    };
    const found = messages(input).join("\n");
    expect(found).toContain('duplicate fqdn "worker-0.example": node "worker-1" and node "worker-0"');
    expect(found).toContain('node "worker-2": fqdn "worker-0" is the name of node "worker-0"');
  });

  it("accepts an IPv6 node IP that is an ordinary address", () => {
    expect(
      messages({
        ...withNode(1, { ip: "fd00::21", podCidr: "fd00:10:200::/64" }),
        clusterCidr: ["10.200.0.0/16", "fd00:10:200::/56"],
        nodeCidr: undefined,
      }),
    ).toEqual([]);
  });
});

describe("every problem at once", () => {
  it("reports all problems of a spec with many, in one error", () => {
    const input: SpecInput = {
      clusterCidr: "10.200.0.0/16",
      origin: "pod-routes:nodes",
      nodes: [
        { name: "worker-0", ip: "10.240.0.20", podCidr: "10.200.0.1/24" },
        { name: "Worker-1", ip: "10.240.0.21", podCidr: "10.200.1.0/24" },
        { name: "worker-2", ip: "10.240.0.21", podCidr: "10.199.2.0/24" },
      ],
    };
    const result = validateSpec(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.where)).toEqual([
      "pod-routes:nodes[0]",
      "pod-routes:nodes[1]",
      "pod-routes:nodes[2]",
      "pod-routes:nodes[2]",
    ]);
    const error = new PodRoutesError(result.problems);
    expect(error.message).toMatch(
      /^pod-routes found 4 problems in the route spec; nothing was created or changed:\n/,
    );
    expect(() => requireValidSpec(input)).toThrow(PodRoutesError);
  });

  it("escapes control characters in values so a message cannot forge lines", () => {
    const text = formatProblems(
      messages(withNode(0, { name: "x\n  - fake: ok" })).map((m) => ({ where: "w", message: m })),
    );
    expect(text.split("\n")).toHaveLength(2);
  });
});

describe("IPv6", () => {
  it("accepts an IPv6-only cluster", () => {
    const result = validateSpec({
      clusterCidr: "fd00:10:200::/56",
      nodes: [
        { name: "worker-0", ip: "fd00:10:240::20", podCidr: "fd00:10:200::/64" },
        { name: "worker-1", ip: "fd00:10:240::21", podCidr: "fd00:10:200:1::/64" },
      ],
    });
    expect(result.ok).toBe(true);
  });
});

describe("machines.txt", () => {
  const fixture = MACHINES_TXT_LINES.join("\n");

  it("reads the runbook's inventory: the server is a controller, nodes are workers", () => {
    const parsed = parseMachinesTxt(`${fixture}\n\n# comment\n`);
    expect(parsed.problems).toEqual([]);
    const spec = requireValidSpec({ nodes: parsed.nodes });
    expect(spec.nodes).toEqual([
      { name: "server", ip: "198.19.249.10", fqdn: "server.kubernetes.local", role: "controller" },
      {
        name: "node-0",
        ip: "198.19.249.34",
        fqdn: "node-0.kubernetes.local",
        role: "worker",
        podCidr: "10.200.0.0/24",
      },
      {
        name: "node-1",
        ip: "198.19.249.136",
        fqdn: "node-1.kubernetes.local",
        role: "worker",
        podCidr: "10.200.1.0/24",
      },
    ]);
  });

  it("plans exactly the runbook's routes per host", () => {
    const spec = requireValidSpec({ nodes: parseMachinesTxt(fixture).nodes });
    const table = planHostRoutes(spec).map((h) => [
      h.host.name,
      h.routes.map((r) => `${r.destination} via ${r.nextHop}`),
    ]);
    expect(table).toEqual([
      ["server", ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"]],
      ["node-0", ["10.200.1.0/24 via 198.19.249.136"]],
      ["node-1", ["10.200.0.0/24 via 198.19.249.34"]],
    ]);
  });

  it("names the line of every malformed entry, and still validates the rest", () => {
    const parsed = parseMachinesTxt(
      "198.19.249.10 server\n198.19.249.34 a b c d\n198.19.249.300 n.local n 10.200.0.0/24\n",
      "m.txt",
    );
    expect(parsed.problems.map((p) => p.where)).toEqual(["m.txt:1", "m.txt:2"]);
    const result = validateSpec({ nodes: parsed.nodes });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.where).toBe("m.txt:3");
  });
});

describe("planner", () => {
  it("names routes after their destination, so re-ordering nodes changes nothing", () => {
    const spec = requireValidSpec(seed());
    const reversed = requireValidSpec({ ...seed(), nodes: [worker(2), worker(0), worker(1)] });
    expect(planCloudRoutes(reversed, "net")).toEqual(planCloudRoutes(spec, "net"));
    expect(planCloudRoutes(spec, "net").map((r) => r.name)).toEqual([
      "kubernetes-route-10-200-0-0-24",
      "kubernetes-route-10-200-1-0-24",
      "kubernetes-route-10-200-2-0-24",
    ]);
  });
});

// Random well-formed clusters: distinct /24s inside 10.200.0.0/16, node IPs in 10.240.0.0/16.
const cluster = fc
  .uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 60 })
  .chain((subnets) =>
    fc.tuple(
      fc.constant(subnets),
      fc.uniqueArray(fc.integer({ min: 1, max: 65000 }), {
        minLength: subnets.length,
        maxLength: subnets.length,
      }),
    ),
  )
  .map(([subnets, hosts]) =>
    subnets.map((s, i) => ({
      name: `node-${i}`,
      ip: `10.240.${Math.floor((hosts[i] ?? 1) / 256)}.${(hosts[i] ?? 1) % 256}`,
      podCidr: `10.200.${s}.0/24`,
    })),
  );

describe("validation properties", () => {
  it("accepts every well-formed cluster and plans one route per worker, none to a host's own subnet", () => {
    fc.assert(
      fc.property(cluster, (nodes) => {
        const spec = requireValidSpec({ clusterCidr: "10.200.0.0/16", nodeCidr: "10.240.0.0/16", nodes });
        expect(planCloudRoutes(spec, "net")).toHaveLength(nodes.length);
        for (const host of planHostRoutes(spec)) {
          expect(host.routes).toHaveLength(nodes.length - 1);
          expect(host.routes.every((r) => r.destination !== host.host.podCidr)).toBe(true);
        }
      }),
    );
  });

  it("rejects a cluster in which any two workers share a pod CIDR, naming both", () => {
    fc.assert(
      fc.property(
        cluster.filter((n) => n.length >= 2),
        fc.nat(),
        fc.nat(),
        (nodes, a, b) => {
          const i = a % nodes.length;
          const j = b % nodes.length;
          fc.pre(i !== j);
          const copy = nodes.map((n) => ({ ...n }));
          copy[j]!.podCidr = copy[i]!.podCidr;
          const result = validateSpec({ clusterCidr: "10.200.0.0/16", nodes: copy });
          return (
            !result.ok &&
            result.problems.some((p) => p.message.includes(`duplicate pod CIDR "${copy[i]!.podCidr}"`))
          );
        },
      ),
    );
  });

  it("rejects a cluster with any worker's pod CIDR moved off its network address, suggesting the fix", () => {
    fc.assert(
      fc.property(cluster, fc.nat(), fc.integer({ min: 1, max: 255 }), (nodes, a, host) => {
        const i = a % nodes.length;
        const copy = nodes.map((n) => ({ ...n }));
        const canonical = copy[i]!.podCidr;
        copy[i]!.podCidr = canonical.replace(".0/24", `.${host}/24`);
        const result = validateSpec({ clusterCidr: "10.200.0.0/16", nodes: copy });
        return !result.ok && result.problems.some((p) => p.message.includes(`use "${canonical}"`));
      }),
    );
  });
});

describe("route order", () => {
  it("sorts destinations numerically, IPv4 before IPv6", () => {
    const sorted = ["fd00:10:200:1::/64", "10.200.10.0/24", "fd00:10:200::/64", "10.200.2.0/24"].sort(
      compareCidrText,
    );
    expect(sorted).toEqual(["10.200.2.0/24", "10.200.10.0/24", "fd00:10:200::/64", "fd00:10:200:1::/64"]);
  });
});
