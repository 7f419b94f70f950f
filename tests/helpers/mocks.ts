// What the tests under Pulumi's mocks (tests/mocks) share: a private key to configure, and the runbooks'
// machines as their clouds' data sources answer for them. Imports no cloud SDK (see stack-sdk-program.ts).

/** A private key, as `pulumi config set --secret pod-routes:sshPrivateKey` would hold one. */
export const TEST_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----";

/**
 * A Linode instance of the Linode runbook, as linode.getInstances answers for it: a public IPv4
 * 203.0.113.n, a private 192.168.140.n, and (with `vlan`) a VLAN interface 10.240.0.n.
 */
export const linodeInstance = (label: string, n: number, vlan = true) => ({
  id: 1000 + n,
  label,
  ipAddress: `203.0.113.${n}`,
  ipv4s: [`203.0.113.${n}`, `192.168.140.${n}`],
  privateIpAddress: `192.168.140.${n}`,
  status: "running",
  configs: [
    {
      interfaces: [
        { purpose: "public", ipv4: { vpc: "", nat11: "" } },
        ...(vlan
          ? [{ purpose: "vlan", label: "k8s", ipamAddress: `10.240.0.${n}/24`, ipv4: { vpc: "", nat11: "" } }]
          : []),
      ],
    },
  ],
});

/** The GCP runbook's route to worker-i's pod CIDR, as `gcloud compute routes create` makes it. */
export const gcpRunbookRoute = (i: number, extra: Record<string, unknown> = {}) => ({
  name: `kubernetes-route-10-200-${i}-0-24`,
  network: "kubernetes-the-hard-way",
  destRange: `10.200.${i}.0/24`,
  nextHopIp: `10.240.0.2${i}`,
  priority: 1000,
  project: "kubernetes-the-hard-way",
  ...extra,
});
