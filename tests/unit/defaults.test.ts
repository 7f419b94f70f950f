// Every default once (core/defaults.ts): the stack config's schema applies exactly those, and the README's
// stack config reference says exactly those (a table row per setting; its last column is the default).
import * as fs from "fs";
import * as path from "path";
import { DEFAULTS } from "../../core/defaults";
import { parseStackConfig } from "../../stack/config";

const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

/** The README's config reference: the first column's settings → the last column's backquoted defaults. */
function readmeDefaults(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of README.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line.split(" | ");
    const keys = [...(cells[0] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const defaults = [...(cells[cells.length - 1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    rows.set(keys.join(", "), defaults);
  }
  return rows;
}

describe("issue 16: defaults live in one table", () => {
  it.each([
    ["clusterCidr", [DEFAULTS.clusterCidr]],
    ["routeNamePrefix", [DEFAULTS.routeNamePrefix]],
    ["adopt", [String(DEFAULTS.adopt)]],
    // The row also names gcp:project, the provider's setting, as a default of gcp.project.
    [
      "gcp.network, gcp.project, gcp.priority, gcp.description",
      [DEFAULTS.gcp.network, "gcp:project", String(DEFAULTS.gcp.priority)],
    ],
    ["gcp.routeQuota", [String(DEFAULTS.gcp.routeQuota)]],
    ["aws.routeLimit", [String(DEFAULTS.aws.routeLimit)]],
    ["linode.privateNetwork", [DEFAULTS.linode.privateNetwork]],
    ["ssh.user, ssh.port", [DEFAULTS.ssh.user, String(DEFAULTS.ssh.port)]],
    ["ssh.insecureIgnoreHostKeys", [String(DEFAULTS.ssh.insecureIgnoreHostKeys)]],
    [
      "ssh.connectTimeoutSeconds, ssh.commandTimeoutSeconds",
      [String(DEFAULTS.ssh.connectTimeoutSeconds), String(DEFAULTS.ssh.commandTimeoutSeconds)],
    ],
  ])("the README's config reference gives %s the defaults of core/defaults.ts", (keys, expected) => {
    expect(readmeDefaults().get(keys)).toEqual(expected);
  });

  it("the stack config schema fills in exactly those defaults", () => {
    const { value } = parseStackConfig({
      cloud: "baremetal",
      gcp: {},
      aws: { routeTableId: "rtb-0123" },
      ssh: {},
    });
    expect(value).toMatchObject({
      routeNamePrefix: DEFAULTS.routeNamePrefix,
      adopt: DEFAULTS.adopt,
      gcp: DEFAULTS.gcp,
      aws: DEFAULTS.aws,
      ssh: DEFAULTS.ssh,
    });
  });
});
