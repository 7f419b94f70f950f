// One measurement of program evaluation under Pulumi's mocks, in plain Node (jest makes the SDK far slower).
//   node -r ts-node/register/transpile-only bench/program.ts <gcp|aws|baremetal|floor> <nodes>
// Prints one JSON line: { stack, nodes, ms, maxRssMb, resources }.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const [stack = "gcp", countText = "3"] = process.argv.slice(2);
const nodes = Number(countText);
const ROOT = path.resolve(__dirname, "..");

// N workers: IPs in 10.240.0.0/16, pod CIDRs /24s in 10.64.0.0/10 (room for 16,384 workers).
const nodeList = Array.from({ length: nodes }, (_, i) => ({
  name: `worker-${i}`,
  ip: `10.240.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  podCidr: `10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`,
}));

const config: Record<string, unknown> = {
  "pod-routes:clusterCidr": "10.64.0.0/10",
  "pod-routes:nodeCidr": "10.240.0.0/16",
  "pod-routes:nodes": nodeList,
};
if (stack === "gcp" || stack === "floor") {
  Object.assign(config, {
    "pod-routes:cloud": "gcp",
    "pod-routes:gcp": { routeQuota: 100000 },
    "gcp:project": "bench",
  });
} else if (stack === "aws") {
  Object.assign(config, {
    "pod-routes:cloud": "aws",
    "pod-routes:aws": { routeTableId: "rtb-0123456789abcdef0", routeLimit: 100000 },
  });
} else if (stack === "baremetal") {
  Object.assign(config, {
    "pod-routes:cloud": "baremetal",
    "pod-routes:ssh": { insecureIgnoreHostKeys: true },
    "pod-routes:sshPrivateKey": "bench-key",
  });
}

async function main() {
  const encoded = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  pulumi.runtime.setAllConfig(encoded, ["pod-routes:sshPrivateKey"]);
  // The insecure-host-key warning names every host; keep the measurement output readable.
  pulumi.log.warn = () => Promise.resolve();
  let resources = 0;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources++;
        if (args.type.endsWith(":HostRoutes")) {
          // What HostRoutes' provider returns: its inputs without the routes (kept once, in the inputs).
          const {
            routes: _routes,
            hostsLines: _hostsLines,
            ...rest
          } = args.inputs as Record<string, unknown>;
          return { id: `${args.name}-id`, state: { ...rest, applied: "0123456789abcdef", drift: [] } };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => {
        if (args.token === "aws:ec2/getRouteTable:getRouteTable")
          return { id: args.inputs["routeTableId"], vpcId: "vpc-0123", routes: [] };
        if (args.token === "aws:ec2/getInstance:getInstance") {
          const name = String(args.inputs["filters"][0].values[0]);
          const node = nodeList[Number(name.slice("worker-".length))]!;
          return {
            id: "i-0abc",
            privateIp: node.ip,
            networkInterfaceId: `eni-${name}`,
            sourceDestCheck: false,
            userData: "",
            userDataBase64: "",
          };
        }
        throw new Error(`no mock for ${args.token}`);
      },
    },
    "pod-routes",
    stack,
    false,
    // ssh.PodRoutes names each host's owner after the organization, as the engine gives it.
    "organization",
  );
  // Load everything before the clock starts: module loading is not program evaluation.
  const gcp = await import("@pulumi/gcp");
  const program =
    stack === "floor"
      ? undefined
      : ((await import(path.join(ROOT, "index.ts"))) as { default: () => Promise<Record<string, unknown>> })
          .default;
  const start = process.hrtime.bigint();
  // In the program's root stack, as the language host runs it (the components' aliases name it).
  await pulumi.runtime.runInPulumiStack(async () => {
    if (program) {
      const outputs = await program();
      const routes = outputs["routes"] as pulumi.Input<object[]>;
      await new Promise<void>((resolve) => pulumi.output(routes).apply(() => resolve()));
      return outputs;
    }
    // The floor: the bare SDK registering the same routes, with nothing else.
    for (const node of nodeList) {
      new gcp.compute.Route(
        `kubernetes-route-${node.podCidr.replace(/[./]/g, "-")}`,
        {
          name: `kubernetes-route-${node.podCidr.replace(/[./]/g, "-")}`,
          network: "kubernetes-the-hard-way",
          destRange: node.podCidr,
          nextHopIp: node.ip,
          priority: 1000,
        },
        { deleteBeforeReplace: true },
      );
    }
    return undefined;
  });
  // Wait until every registration reached the mock monitor: the stack, the component (gcp, aws and ssh
  // PodRoutes), and one resource per node.
  const expected = stack === "floor" ? nodes + 1 : nodes + 2;
  while (resources < expected) await new Promise((resolve) => setTimeout(resolve, 5));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ stack, nodes, ms: Math.round(ms), maxRssMb: Math.round(maxRssMb), resources })}\n`,
  );
  // The stack's last RPC (its outputs) before exiting, or the SDK reports it as a leaked promise.
  await pulumi.runtime.disconnect();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
