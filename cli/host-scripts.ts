// `pod-routes script`: every host's script, for people who paste by hand (the runbook variant without SSH
// from the workstation). Each part is self-contained: pasted whole into a root shell on its host, or sent
// with `ssh root@IP sh -s < part`, it makes that host match (or, with --delete, removes what pod-routes
// installed there), and says what it changed. The scripts are the ones `pulumi up` runs.
import { HostPlan } from "../core/routes";
import { RouteSpec } from "../core/types";
import { renderApply, renderDelete } from "../ssh/host-program/render";
import { hostsBlockLines } from "../ssh/plan";

/** The owner identity of a script run by hand: a stack may take such a host over later. */
export const BY_HAND = "by-hand";

export interface ScriptOptions {
  /** One host only (an Error names an unknown host and the known ones). */
  readonly host?: string;
  /** Take over hand-made routes identical to desired ones. */
  readonly adopt?: boolean;
  /** The delete script instead: removes what pod-routes installed on the host, whoever applied it. */
  readonly delete?: boolean;
}

/** The scripts of every host, or of one. */
export function renderScripts(
  spec: RouteSpec,
  hosts: readonly HostPlan[],
  options: ScriptOptions = {},
): string {
  const chosen = options.host === undefined ? hosts : hosts.filter((h) => h.host.name === options.host);
  if (chosen.length === 0) {
    throw new Error(
      `pod-routes: no host named ${JSON.stringify(options.host)}; the hosts are ${hosts.map((h) => h.host.name).join(", ")}`,
    );
  }
  const block = hostsBlockLines(spec);
  return chosen
    .map(({ host, routes }) => {
      const where = `# ---- host ${host.name} (${host.ip}): run as root on that host: paste this part into a root shell there, or: ssh root@${host.ip} sh -s < this-part`;
      const script = options.delete
        ? renderDelete({ host: host.name, owner: "*" })
        : renderApply({
            host: host.name,
            owner: `${BY_HAND}:${host.name}`,
            routes: routes.map(({ destination, nextHop, node }) => ({ destination, nextHop, node })),
            adopt: options.adopt ?? false,
            ...(host.role === "controller" ? { hostsLines: block } : {}),
          });
      return `${where}\n${script}`;
    })
    .join("\n");
}
