// The project's own test fixtures: the bare-metal runbook's inventory (examples/machines.txt, as users get
// it) and the routes the runbook verifies for it. Nothing outside the repository.
import * as path from "path";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** `IP FQDN HOSTNAME [POD_SUBNET]`: server 198.19.249.10; node-0 198.19.249.34 10.200.0.0/24; node-1 198.19.249.136 10.200.1.0/24. */
export const MACHINES_TXT = path.join(PROJECT_ROOT, "examples", "machines.txt");
/** The lines of examples/machines.txt. */
export const MACHINES_TXT_LINES = [
  "198.19.249.10 server.kubernetes.local server",
  "198.19.249.34 node-0.kubernetes.local node-0 10.200.0.0/24",
  "198.19.249.136 node-1.kubernetes.local node-1 10.200.1.0/24",
];

/** Each host's routes after the runbook's "Provisioning Pod Network Routes", as `ip route` shows them. */
export const EXPECTED_ROUTES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["server", ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"]],
  ["node-0", ["10.200.1.0/24 via 198.19.249.136"]],
  ["node-1", ["10.200.0.0/24 via 198.19.249.34"]],
];

/** EXPECTED_ROUTES as a record: host → its routes. */
export const EXPECTED_ROUTES_BY_HOST: Record<string, string[]> = Object.fromEntries(
  EXPECTED_ROUTES.map(([h, r]) => [h, [...r]]),
);

/** The stack's `routes` output for the runbook's machines: the route table once (not the mesh). */
export const EXPECTED_ROUTE_TABLE = [
  { destination: "10.200.0.0/24", nextHop: "198.19.249.34", node: "node-0", where: "every host but node-0" },
  { destination: "10.200.1.0/24", nextHop: "198.19.249.136", node: "node-1", where: "every host but node-1" },
];
