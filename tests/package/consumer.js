// A plain JavaScript program, as a user would write one, run against the installed pod-routes package under
// Pulumi's mocks: GCP and AWS workers whose addresses and interface ids only the (mocked) cloud knows, two
// GCP components with different prefixes in one program, one more from a validated spec (a machines.txt), and
// an AWS one. Prints what was registered.
"use strict";
const pulumi = require("@pulumi/pulumi");

const registered = [];
pulumi.runtime
  .setMocks(
    {
      newResource(args) {
        const state = { ...args.inputs };
        const i = Number(args.name.slice(-1));
        if (args.type === "gcp:compute/instance:Instance")
          state.networkInterfaces = [{ networkIp: `10.240.0.${40 + i}` }];
        if (args.type === "aws:ec2/instance:Instance") {
          state.privateIp = `10.240.0.${50 + i}`;
          state.primaryNetworkInterfaceId = `eni-0${i}aaaabbbbcccc000${i}`;
        }
        if (args.type.endsWith("route:Route"))
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state };
      },
      call: () => ({}),
    },
    "consumer",
    "dev",
  )
  .then(async () => {
    const { gcp: podRoutesGcp, aws: podRoutesAws, core } = require("pod-routes");
    const gcp = require("@pulumi/gcp");
    const aws = require("@pulumi/aws");
    const gcpWorkers = [0, 1].map(
      (i) =>
        new gcp.compute.Instance(`gworker-${i}`, {
          machineType: "e2-small",
          zone: "us-west1-c",
          bootDisk: {},
          networkInterfaces: [{}],
        }),
    );
    const gcpNodes = gcpWorkers.map((w, i) => ({
      name: `worker-${i}`,
      podCidr: `10.200.${i}.0/24`,
      ip: w.networkInterfaces.apply((n) => n[0].networkIp),
    }));
    const a = new podRoutesGcp.PodRoutes("team-a", {
      network: "net-a",
      routeNamePrefix: "team-a",
      nodes: gcpNodes,
    });
    const b = new podRoutesGcp.PodRoutes("team-b", {
      network: "net-b",
      routeNamePrefix: "team-b",
      nodes: gcpNodes,
    });
    const awsWorkers = [0, 1].map(
      (i) => new aws.ec2.Instance(`aworker-${i}`, { ami: "ami-0123", instanceType: "t3.micro" }),
    );
    const c = new podRoutesAws.PodRoutes("cluster", {
      routeTableId: "rtb-0a1b2c3d4e5f60718",
      nodes: awsWorkers.map((w, i) => ({
        name: `worker-${i}`,
        podCidr: `10.200.${i}.0/24`,
        ip: w.privateIp,
        networkInterfaceId: w.primaryNetworkInterfaceId,
      })),
    });
    // A spec made once by the package's own validation, from a machines.txt, taken as it is.
    const machines =
      "10.240.0.60 worker-0.k worker-0 10.200.0.0/24\n10.240.0.61 worker-1.k worker-1 10.200.1.0/24\n";
    const spec = core.requireValidSpec({ nodes: core.parseMachinesTxt(machines).nodes });
    const d = new podRoutesGcp.PodRoutes("team-d", { network: "net-d", routeNamePrefix: "team-d", spec });
    const routes = await new Promise((resolve) =>
      pulumi.all([a.routes, b.routes, c.routes, d.routes]).apply(resolve),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.stdout.write(JSON.stringify({ routes, registered }));
  })
  .catch((error) => {
    process.stderr.write(String(error && error.stack ? error.stack : error));
    process.exit(1);
  });
