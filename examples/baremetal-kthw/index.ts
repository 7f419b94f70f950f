// Kubernetes The Hard Way on bare metal, as your own Pulumi program: the machines come from this stack's
// config (the runbook's machines.txt as data, each host's pinned key beside it), and ssh.PodRoutes installs
// every host's routes over SSH. Set it up with:
//   pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519
//   pulumi config set --path 'machines[0].name' server
//   pulumi config set --path 'machines[0].ip' 198.19.249.10
//   pulumi config set --path 'machines[0].fqdn' server.kubernetes.local
//   pulumi config set --path 'machines[0].hostKey' "$(ssh-keyscan -t ed25519 198.19.249.10 | cut -d' ' -f2-)"
//   pulumi config set --path 'machines[1].name' node-0 … and 'machines[1].podCidr' 10.200.0.0/24 for a worker
import * as pulumi from "@pulumi/pulumi";
import { ssh } from "pod-routes";

/** One line of the runbook's machines.txt (`IP FQDN HOSTNAME [POD_SUBNET]`), with the host's pinned key. */
interface Machine {
  readonly name: string;
  readonly ip: string;
  readonly fqdn?: string;
  readonly podCidr?: string;
  /** `ssh-ed25519 AAAA…`, as `ssh-keyscan -t ed25519 <ip> | cut -d' ' -f2-` prints it. */
  readonly hostKey: string;
}

const config = new pulumi.Config();
const machines = config.requireObject<Machine[]>("machines");

const routes = new ssh.PodRoutes("pod-routes", {
  privateKey: config.requireSecret("sshPrivateKey"),
  clusterCidr: config.get("clusterCidr") ?? "10.200.0.0/16",
  nodes: machines.map((m) => ({
    name: m.name,
    ip: m.ip,
    hostKey: m.hostKey,
    ...(m.fqdn !== undefined ? { fqdn: m.fqdn } : {}),
    ...(m.podCidr !== undefined ? { podCidr: m.podCidr } : {}),
  })),
});

/** The cluster's routes (destination, next hop, node), as the runbook verifies them. */
export const podRouteTable = routes.routes;
/** How many routes each host got. */
export const routesPerHost = routes.hosts;
