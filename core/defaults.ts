// Every default of pod-routes, once: the stack config's schema (stack/config.ts), the components, the target
// plans and the SSH client take them from here, and a unit test holds the README's config reference to them.
export const DEFAULTS = {
  /** The cluster's pod range (Kubernetes The Hard Way's). */
  clusterCidr: "10.200.0.0/16",
  /** Route names are `<prefix>-<destination>`, as the runbook names them. */
  routeNamePrefix: "kubernetes-route",
  adopt: false,
  gcp: { network: "kubernetes-the-hard-way", priority: 1000, routeQuota: 250 },
  aws: { routeLimit: 50 },
  linode: { privateNetwork: "default" },
  ssh: {
    user: "root",
    port: 22,
    insecureIgnoreHostKeys: false,
    connectTimeoutSeconds: 15,
    commandTimeoutSeconds: 300,
  },
} as const;
