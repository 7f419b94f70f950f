// The components as a library user meets them: plain values (names, roles, pod CIDRs) are checked at once
// and every problem is thrown together; IPs that arrive as Outputs are checked when they resolve, with the
// same messages, and a bad one fails the update.
import * as pulumi from "@pulumi/pulumi";
import { aws, gcp, ssh } from "../../pod-routes";
import { knownProblems, specWithIps } from "../../inputs/nodes";
import { ofType, ProgramFailure, runProgram } from "./harness";

const later = (value: string): pulumi.Output<string> =>
  pulumi.output(new Promise<string>((resolve) => setTimeout(() => resolve(value), 5)));
const workers = (ip: (i: number) => pulumi.Input<string>) =>
  [0, 1, 2].map((i) => ({ name: `worker-${i}`, podCidr: `10.200.${i}.0/24`, ip: ip(i) }));
/** The route gcp.PodRoutes makes on network "net" to worker-i's pod CIDR when given only the network and nodes. */
const defaultGcpRoute = (i: number) => ({
  name: `kubernetes-route-10-200-${i}-0-24`,
  network: "net",
  destRange: `10.200.${i}.0/24`,
  nextHopIp: `10.240.0.2${i}`,
  priority: 1000,
});

describe("plain values are checked at once, every problem together", () => {
  it.each<[string, () => unknown, string[]]>([
    [
      "gcp.PodRoutes",
      () =>
        new gcp.PodRoutes("routes", {
          network: later("kubernetes-the-hard-way"),
          routeQuota: 2,
          nodes: [
            { name: "Worker_0", podCidr: "10.200.0.1/24", ip: later("10.240.0.20") },
            { name: "worker-1", podCidr: "10.200.1.0/24", ip: later("10.240.0.21") },
            { name: "worker-2", podCidr: "10.200.1.0/24", ip: "10.240.0.999" },
          ],
        }),
      [
        'pod-routes found 4 problems in gcp.PodRoutes "routes"',
        'routes: nodes[0]: name "Worker_0" is not an RFC 1123 name',
        'routes: nodes[0]: node: podCidr "10.200.0.1/24" has host bits set (it is not the network address); use "10.200.0.0/24"',
        'routes: nodes[2]: node "worker-2": ip "10.240.0.999" has an octet above 255',
        'routes: nodes[2]: duplicate pod CIDR "10.200.1.0/24"',
      ],
    ],
    [
      "aws.PodRoutes",
      () =>
        new aws.PodRoutes("routes", {
          routeTableId: later("rtb-0a1b2c3d4e5f60718"),
          routeLimit: 2,
          adopt: true,
          nodes: workers((i) => later(`10.240.0.2${i}`)),
        }),
      [
        "routes: routeLimit: route table the route table has 0 other IPv4 routes; adding 3 makes 3, over its limit of 2",
        'routes: nodes: worker "worker-0" has no networkInterfaceId',
        "routes: adopt: needs routeTableId as a plain string",
      ],
    ],
    [
      "ssh.PodRoutes",
      () =>
        new ssh.PodRoutes("routes", {
          privateKey: later("key"),
          nodes: workers((i) => `198.19.249.${10 + i}`),
        }),
      ['routes: hostKeys: has no host key for "worker-0"', 'has no host key for "worker-2"'],
    ],
  ])("%s throws them from its constructor, before any child exists", async (_label, create, expected) => {
    const result = await runProgram({
      stack: "gcp",
      program: async () => {
        create();
      },
    }).catch((error: unknown) => error);
    expect(result).toBeInstanceOf(ProgramFailure);
    const failure = result as ProgramFailure;
    for (const text of expected) expect(failure.message).toContain(text);
    expect(failure.result.resources).toEqual([]);
  });
});

describe("IPs that arrive as Outputs", () => {
  it.each<[string, string, string]>([
    ["outside the node network", "10.240.1.21", "ip 10.240.1.21 is outside the node network 10.240.0.0/24"],
    ["not an address", "10.240.0.300", 'ip "10.240.0.300" has an octet above 255'],
    ["loopback", "127.0.0.1", "ip 127.0.0.1 is a loopback address"],
  ])("are checked when they resolve (%s), with the message a plain value gets", (_label, bad, message) => {
    const args = {
      nodeCidr: "10.240.0.0/24",
      nodes: workers((i) => (i === 1 ? later(bad) : `10.240.0.2${i}`)),
    };
    // Plain: found at once.
    const plain = knownProblems(
      { ...args, nodes: workers((i) => (i === 1 ? bad : `10.240.0.2${i}`)) },
      "routes: nodes",
    );
    // Resolved: the same problem once the Output's value is there (resolvedSpec then fails the update).
    const resolved = specWithIps(args, "routes: nodes", ["10.240.0.20", bad, "10.240.0.22"]);
    expect(resolved.ok).toBe(false);
    if (!resolved.ok) expect(resolved.problems).toEqual(plain);
    expect(plain.map((p) => p.message).join("\n")).toContain(message);
    // And nothing is known to be wrong before it resolves.
    expect(knownProblems(args, "routes: nodes")).toEqual([]);
  });

  it("carry the resolved addresses into every route", async () => {
    const result = await runProgram({
      stack: "gcp",
      program: async () => ({
        routes: new gcp.PodRoutes("routes", {
          network: later("net"),
          nodes: workers((i) => later(`10.240.0.2${i}`)),
        }).routes,
      }),
    });
    expect(ofType(result, "gcp:compute/route:Route").map((r) => r.inputs)).toEqual(
      [0, 1, 2].map(defaultGcpRoute),
    );
    expect((result.outputs["routes"] as { where: string }[]).map((r) => r.where)).toEqual([
      "net",
      "net",
      "net",
    ]);
  });
});

// Every input of every route, compared whole: a key a component misspells is dropped by the SDK (its
// generated constructor copies only the keys it knows), so the route would lack it and these fail.
describe("every input the components give each route", () => {
  it("gcp.PodRoutes: name, network, destRange, nextHopIp, priority, project and description", async () => {
    const result = await runProgram({
      stack: "gcp",
      program: async () => {
        new gcp.PodRoutes("routes", {
          network: later("net"),
          project: later("acme-prod"),
          priority: later("900").apply(Number),
          description: "pod CIDR of a worker",
          routeNamePrefix: "pods",
          nodes: workers((i) => `10.240.0.2${i}`),
        });
      },
    });
    expect(ofType(result, "gcp:compute/route:Route").map((r) => [r.name, r.inputs])).toEqual(
      [0, 1, 2].map((i) => [
        `routes-10-200-${i}-0-24`,
        {
          name: `pods-10-200-${i}-0-24`,
          network: "net",
          destRange: `10.200.${i}.0/24`,
          nextHopIp: `10.240.0.2${i}`,
          priority: 900,
          project: "acme-prod",
          description: "pod CIDR of a worker",
        },
      ]),
    );
  });

  it("gcp.PodRoutes: only the runbook's inputs when project, priority and description are not given", async () => {
    const result = await runProgram({
      stack: "gcp",
      program: async () => {
        new gcp.PodRoutes("routes", { network: "net", nodes: workers((i) => `10.240.0.2${i}`) });
      },
    });
    expect(ofType(result, "gcp:compute/route:Route").map((r) => r.inputs)).toEqual(
      [0, 1, 2].map(defaultGcpRoute),
    );
  });

  it("aws.PodRoutes: routeTableId, networkInterfaceId and the destination of the route's family", async () => {
    const result = await runProgram({
      stack: "aws",
      program: async () => {
        new aws.PodRoutes("routes", {
          routeTableId: later("rtb-0a1b2c3d4e5f60718"),
          clusterCidr: ["10.200.0.0/16", "fd00:10:200::/56"],
          nodes: [
            {
              name: "worker-0",
              ip: later("10.240.0.20"),
              podCidr: "10.200.0.0/24",
              networkInterfaceId: "eni-0",
            },
            {
              name: "worker-1",
              ip: "2600:1f14:abc:de00::21",
              podCidr: "fd00:10:200:1::/64",
              networkInterfaceId: later("eni-1"),
            },
          ],
        });
      },
    });
    expect(ofType(result, "aws:ec2/route:Route").map((r) => [r.name, r.inputs])).toEqual([
      [
        "routes-10-200-0-0-24",
        {
          routeTableId: "rtb-0a1b2c3d4e5f60718",
          networkInterfaceId: "eni-0",
          destinationCidrBlock: "10.200.0.0/24",
        },
      ],
      [
        "routes-fd00-10-200-1---64",
        {
          routeTableId: "rtb-0a1b2c3d4e5f60718",
          networkInterfaceId: "eni-1",
          destinationIpv6CidrBlock: "fd00:10:200:1::/64",
        },
      ],
    ]);
  });
});
