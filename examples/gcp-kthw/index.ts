// Kubernetes The Hard Way on GCP, with the pod routes in the same program as the workers: each worker's
// internal IP reaches gcp.PodRoutes as an Output, so the routes follow the instances (no copied addresses).
import * as gcp from "@pulumi/gcp";
import * as podRoutes from "pod-routes";

const network = new gcp.compute.Network("kubernetes-the-hard-way", {
  name: "kubernetes-the-hard-way",
  autoCreateSubnetworks: false,
});
const subnet = new gcp.compute.Subnetwork("kubernetes", {
  name: "kubernetes",
  network: network.id,
  ipCidrRange: "10.240.0.0/24",
});

const workers = [0, 1, 2].map(
  (i) =>
    new gcp.compute.Instance(`worker-${i}`, {
      name: `worker-${i}`,
      machineType: "e2-standard-2",
      zone: "us-west1-c",
      // Pod traffic is forwarded by the node: without this, GCP drops it.
      canIpForward: true,
      bootDisk: { initializeParams: { image: "ubuntu-os-cloud/ubuntu-2204-lts", size: 200 } },
      networkInterfaces: [{ subnetwork: subnet.id, networkIp: `10.240.0.2${i}` }],
      metadata: { "pod-cidr": `10.200.${i}.0/24` },
      tags: ["kubernetes-the-hard-way", "worker"],
    }),
);

const routes = new podRoutes.gcp.PodRoutes("pod-routes", {
  network: network.name,
  clusterCidr: "10.200.0.0/16",
  nodeCidr: "10.240.0.0/24",
  nodes: workers.map((worker, i) => ({
    name: `worker-${i}`,
    podCidr: `10.200.${i}.0/24`,
    ip: worker.networkInterfaces.apply((interfaces) => interfaces[0]?.networkIp ?? ""),
  })),
});

export const podRouteTable = routes.routes;
