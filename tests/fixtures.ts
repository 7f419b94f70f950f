// The project's own test fixtures: the bare-metal runbook's inventory (examples/machines.txt, as users get
// it) and the routes the runbook verifies for it. Nothing outside the repository.
import * as path from "path";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** `IP FQDN HOSTNAME [POD_SUBNET]`: server 198.19.249.10; node-0 198.19.249.34 10.200.0.0/24; node-1 198.19.249.136 10.200.1.0/24. */
export const MACHINES_TXT = path.join(PROJECT_ROOT, "examples", "machines.txt");

/** Each host's routes after the runbook's "Provisioning Pod Network Routes", as `ip route` shows them. */
export const EXPECTED_ROUTES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["server", ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"]],
  ["node-0", ["10.200.1.0/24 via 198.19.249.136"]],
  ["node-1", ["10.200.0.0/24 via 198.19.249.34"]],
];
