// Bare metal: the runbook's machines.txt (or an explicit node list), routes installed over SSH on each host,
// as `ssh root@server ip route add 10.200.0.0/24 via …` does, but idempotent, persistent and reversible.
//
// One remote.Command per host (providers/ssh.ts), named `pod-routes-<host>`: create and update run the
// host's apply script (`sh -s`, the script on stdin), delete runs its delete script. How its lifecycle
// keeps a command from ever undoing its successor, with @pulumi/command 1.2.1:
//   - Changes are in-place updates. The provider replaces a Command only when `triggers` change, and
//     pod-routes sets none; new routes, a new hosts block, a new address, user or key all reach the host as
//     an update that re-runs the reconciling apply script with the new inputs.
//   - The resource name is the host name, so the same host keeps the same resource across runs. Removing a
//     node deletes its command: its delete script runs on that host (after the other hosts' updates have
//     dropped their routes to it) and leaves it as it was before pod-routes.
//   - Renaming a node (same machine) creates the new command before the engine deletes the old one. The
//     apply script records the command that owns the host (/etc/pod-routes/owner), and a delete script
//     whose host is owned by another command leaves it alone, so the old delete cannot undo the new create.
//   - A replacement anyway (`pulumi up --replace`, or a future provider that replaces on more inputs) runs
//     with deleteBeforeReplace: the old delete, then the new create. In the default order the old delete
//     would run last and remove every pod-routes route from the host under the same owner (the lab proves
//     both orders: tests/e2e/routes.test.ts).
//   - Delete runs with the inputs in the state: the old connection and the old stdin (the apply script).
//     The delete script never reads stdin (it runs with stdin closed), so that is harmless.
//   - When the connection moves to a different machine (say a host was rebuilt at a new address), the
//     update runs on the new one; the old machine is not cleaned up by Pulumi (it is gone, or run the
//     delete script there by hand).
// Host keys: connection.hostKey (supported by @pulumi/command 1.2.1) pins each host's key, from
// pod-routes:ssh.hostKeys; the provider accepts exactly that key and offers only its algorithm. A host
// without one is an error unless pod-routes:ssh.insecureIgnoreHostKeys is true, and then every run warns,
// naming the unpinned hosts.
import { specFromConfig } from "../spec/source";
import { deploySsh } from "./ssh";
import { RouteProvider } from "./types";

export const baremetalProvider: RouteProvider = {
  cloud: "baremetal",
  async deploy(context) {
    // deploySsh reports every problem (the machines file, the nodes, SSH settings, a missing key) at once.
    const spec = specFromConfig(context.config, { baseDir: context.baseDir });
    return deploySsh(spec, context.config, context.sshPrivateKey);
  },
};
