// The example programs (examples/*-kthw): a user's own program that creates the workers and hands their
// Outputs to a pod-routes component. Under mocks the "cloud" assigns what the real one would (addresses
// and interface ids the program never wrote), so the routes can only carry them through the Outputs.
import * as path from "path";
import { ofType, PROJECT_ROOT, runProgram } from "./harness";

const example = (name: string) => async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after setMocks, by design
  const program = require(path.join(PROJECT_ROOT, "examples", name, "index.ts")) as Record<string, unknown>;
  return program;
};

describe("examples/gcp-kthw", () => {
  it("routes each worker's pod CIDR to the internal IP of its gcp.compute.Instance", async () => {
    const result = await runProgram({
      stack: "gcp",
      program: example("gcp-kthw"),
      // The mocked cloud answers each instance with an address of its own.
      newResource: (args) =>
        args.type === "gcp:compute/instance:Instance"
          ? { networkInterfaces: [{ networkIp: `10.240.0.${100 + Number(args.name.slice(-1))}` }] }
          : {},
    });
    // Every input, exactly (no project: the program leaves it to the provider).
    expect(ofType(result, "gcp:compute/route:Route").map((r) => r.inputs)).toEqual(
      [0, 1, 2].map((i) => ({
        name: `kubernetes-route-10-200-${i}-0-24`,
        network: "kubernetes-the-hard-way",
        destRange: `10.200.${i}.0/24`,
        nextHopIp: `10.240.0.${100 + i}`,
        priority: 1000,
      })),
    );
    expect(result.outputs["podRouteTable"]).toEqual(
      [0, 1, 2].map((i) => ({
        destination: `10.200.${i}.0/24`,
        nextHop: `10.240.0.${100 + i}`,
        node: `worker-${i}`,
        where: "kubernetes-the-hard-way",
      })),
    );
  });
});

describe("examples/aws-kthw", () => {
  it("targets each worker's primary network interface with its pod CIDR", async () => {
    const result = await runProgram({
      stack: "aws",
      program: example("aws-kthw"),
      newResource: (args) => {
        if (args.type === "aws:ec2/routeTable:RouteTable") return { id: "rtb-0a1b2c3d4e5f60718" };
        if (args.type !== "aws:ec2/instance:Instance") return {};
        const i = Number(args.name.slice(-1));
        return { primaryNetworkInterfaceId: `eni-0${i}ddddeeeeffff000${i}` };
      },
    });
    expect(ofType(result, "aws:ec2/route:Route").map((r) => r.inputs)).toEqual(
      [0, 1, 2].map((i) => ({
        routeTableId: "rtb-0a1b2c3d4e5f60718",
        networkInterfaceId: `eni-0${i}ddddeeeeffff000${i}`,
        destinationCidrBlock: `10.200.${i}.0/24`,
      })),
    );
    expect(result.outputs["podRouteTable"]).toEqual(
      [0, 1, 2].map((i) => ({
        destination: `10.200.${i}.0/24`,
        nextHop: `10.240.0.2${i}`,
        node: `worker-${i}`,
        where: "rtb-0a1b2c3d4e5f60718",
      })),
    );
  });
});
