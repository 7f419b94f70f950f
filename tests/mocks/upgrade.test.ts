// Stacks deployed before pod-routes became a library keep their resources: the routes that were created at
// the stack's top level under their runbook names are now the component's children, and each carries an
// alias to its old URN, so the first `pulumi up` after upgrading moves them without replacing any.
import { ofType, runProgram, RunOptions, RecordedResource } from "./harness";

const awsRunbook: Partial<RunOptions> = {
  overrides: {
    "pod-routes:aws": { routeTableId: "rtb-0a1b2c3d4e5f60718" },
    "pod-routes:nodes": [0, 1, 2].map((i) => ({
      name: `worker-${i}`,
      ip: `10.240.0.2${i}`,
      podCidr: `10.200.${i}.0/24`,
    })),
  },
  invokes: {
    "aws:ec2/getRouteTable:getRouteTable": () => ({
      id: "rtb-0a1b2c3d4e5f60718",
      vpcId: "vpc-0123456789abcdef0",
      routes: [],
    }),
    "aws:ec2/getInstance:getInstance": (args) => {
      const name = String((args["filters"] as { values: string[] }[])[0]!.values[0]);
      const i = Number(name.slice(-1));
      return {
        id: `i-0${i}aaaabbbbcccc000${i}`,
        privateIp: `10.240.0.2${i}`,
        networkInterfaceId: `eni-0${i}`,
        sourceDestCheck: false,
        userData: "",
        userDataBase64: "",
      };
    },
  },
};

/** The URNs a resource's aliases name, resolved the way the engine resolves them (no parent: the stack's top level). */
function aliasUrns(resource: RecordedResource, stack: string): string[] {
  return resource.options.aliases.map((alias) => {
    expect(alias.parent).toBe("root");
    return `urn:pulumi:${stack}::pod-routes::${alias.type ?? resource.type}::${alias.name}`;
  });
}

describe.each<[string, string, Partial<RunOptions>]>([
  ["gcp", "gcp:compute/route:Route", {}],
  ["aws", "aws:ec2/route:Route", awsRunbook],
])("upgrading a %s stack from the top-level layout", (stack, type, options) => {
  it("gives every route an alias to its old top-level URN, and nothing else changes name", async () => {
    const result = await runProgram({ stack, ...options });
    const routes = ofType(result, type);
    expect(routes).toHaveLength(3);
    for (const [i, route] of routes.entries()) {
      // Where the previous layout put it: the stack's top level, named kubernetes-route-<destination>.
      const old = `urn:pulumi:${stack}::pod-routes::${type}::kubernetes-route-10-200-${i}-0-24`;
      expect(aliasUrns(route, stack)).toEqual([old]);
      expect(route.options.parent).toBe(`pod-routes:${stack}:PodRoutes::pod-routes`);
      // The new name and parent differ, so the alias is what carries the state over.
      expect(route.name).toBe(`pod-routes-10-200-${i}-0-24`);
    }
  });
});

describe("upgrading an SSH stack", () => {
  it("keeps the component's type and name, so nothing above the hosts moves", async () => {
    const result = await runProgram({ stack: "baremetal", overrides: { "pod-routes:sshPrivateKey": "key" } });
    const [component] = ofType(result, "pod-routes:ssh:PodRoutes");
    expect([component?.name, component?.options.parent]).toEqual(["pod-routes", ""]);
  });
});
