// `npm run routes -- script`: every host's script, for people who paste by hand (the runbook variant
// without SSH from the workstation). Each part is self-contained: pasted whole into a root shell on its
// host, or sent with `ssh root@IP sh -s < part`, it makes that host match, and says what it changed.
import { RouteSpec } from "../core/types";
import { scriptsFor } from "../ssh/legacy-hostscript";

/** The scripts of every host, or of `host` only (an Error names an unknown host and the known ones). */
export function renderScripts(
  spec: RouteSpec,
  options: { host?: string; prefix?: string; adopt?: boolean } = {},
): string {
  return scriptsFor(spec, options)
    .map((s) =>
      [
        `# ---- host ${s.host.name} (${s.host.ip}): run as root on that host: paste this part into a root shell there, or: ssh root@${s.host.ip} sh -s < this-part`,
        s.apply,
      ].join("\n"),
    )
    .join("\n");
}
