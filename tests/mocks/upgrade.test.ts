// Stacks deployed before pod-routes became a library keep their resources: the routes that were created at
// the stack's top level under their runbook names are now the component's children, and each carries an
// alias to its old URN, so the first `pulumi up` after upgrading moves them without replacing any.
import { awsExplicit, ofType, runProgram, RunOptions, RecordedResource } from "./harness";

/** The URNs a resource's aliases name, resolved the way the engine resolves them (no parent: the stack's top level). */
function aliasUrns(resource: RecordedResource, stack: string): string[] {
  return resource.options.aliases.map((alias) => {
    expect(alias.parent).toBe("root");
    return `urn:pulumi:${stack}::pod-routes::${alias.type ?? resource.type}::${alias.name}`;
  });
}

describe.each<[string, string, Partial<RunOptions>]>([
  ["gcp", "gcp:compute/route:Route", {}],
  ["aws", "aws:ec2/route:Route", awsExplicit()],
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
