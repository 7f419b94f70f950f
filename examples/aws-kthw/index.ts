// Kubernetes The Hard Way on AWS, with the pod routes in the same program as the workers: each worker's
// private IP and primary network interface reach aws.PodRoutes as Outputs.
import * as aws from "@pulumi/aws";
import * as podRoutes from "pod-routes";

const vpc = new aws.ec2.Vpc("kubernetes-the-hard-way", {
  cidrBlock: "10.240.0.0/24",
  enableDnsHostnames: true,
  tags: { Name: "kubernetes-the-hard-way" },
});
const subnet = new aws.ec2.Subnet("kubernetes", { vpcId: vpc.id, cidrBlock: "10.240.0.0/24" });
const routeTable = new aws.ec2.RouteTable("kubernetes", {
  vpcId: vpc.id,
  tags: { "kubernetes.io/cluster/kubernetes-the-hard-way": "owned" },
});
new aws.ec2.RouteTableAssociation("kubernetes", { subnetId: subnet.id, routeTableId: routeTable.id });

const workers = [0, 1, 2].map(
  (i) =>
    new aws.ec2.Instance(`worker-${i}`, {
      ami: "ami-0123456789abcdef0",
      instanceType: "t3.micro",
      subnetId: subnet.id,
      privateIp: `10.240.0.2${i}`,
      // Pod traffic is forwarded by the node: with the check on, EC2 drops it.
      sourceDestCheck: false,
      userData: `name=worker-${i}|pod-cidr=10.200.${i}.0/24`,
      tags: { Name: `worker-${i}` },
    }),
);

const routes = new podRoutes.aws.PodRoutes("pod-routes", {
  routeTableId: routeTable.id,
  clusterCidr: "10.200.0.0/16",
  nodeCidr: "10.240.0.0/24",
  nodes: workers.map((worker, i) => ({
    name: `worker-${i}`,
    podCidr: `10.200.${i}.0/24`,
    ip: worker.privateIp,
    networkInterfaceId: worker.primaryNetworkInterfaceId,
  })),
});

export const podRouteTable = routes.routes;
