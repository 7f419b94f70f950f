// A user's own TypeScript program, examples/baremetal-kthw, as its user runs it: its own Pulumi.yaml, the
// packed pod-routes tarball installed with npm, ssh.PodRoutes fed from its stack config, and `pulumi`
// itself (preview, up, a no-change up, destroy) against the lab. The provider in its state is a reference to
// the installed package's module.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hostSnapshot, Lab, labHost, podPing } from "../../lab/lab";
import { changeSummary, cloneCheckout, PulumiCli, pulumiCli } from "../../lab/pulumi-cli";
import { EXPECTED_ROUTES_BY_HOST as EXPECTED, PROJECT_ROOT } from "../fixtures";
import { createStackWithKey, engineLab, ourRoutes, removeLabScratch, snapshotHosts } from "../helpers/lab";

jest.setTimeout(600_000);

let lab: Lab;
let cli: PulumiCli;
let dir: string;
let project: string;
let baseline: Record<string, string> = {};

/** `pulumi <args>` in the project (only once the lab is the one that is up: see beforeAll). */
const pulumi: PulumiCli["run"] = (args, options = {}) => cli.run(args, options);
const ours = (host: string) => ourRoutes(lab, host);

function npm(args: string[], cwd: string): string {
  const run = spawnSync("npm", args, { cwd, encoding: "utf8", timeout: 300_000 });
  if (run.status !== 0)
    throw new Error(`npm ${args.join(" ")} in ${cwd} failed:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

beforeAll(() => {
  ({ dir, lab } = engineLab("example"));
  baseline = snapshotHosts(lab);
  // The package, as the README has users build it: `npm pack` in a clone.
  const clone = cloneCheckout(path.join(dir, "clone"));
  const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], clone)) as {
    filename: string;
  }[];
  const tarball = path.join(dir, packed!.filename);
  // The example, where a user would keep it: its own directory, the tarball installed (from npm's cache).
  project = path.join(dir, "baremetal-kthw");
  fs.cpSync(path.join(PROJECT_ROOT, "examples", "baremetal-kthw"), project, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  pkg.dependencies["pod-routes"] = `file:${tarball}`;
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify(pkg, null, 2));
  npm(["install", "--no-audit", "--no-fund", "--prefer-offline", "--omit=optional"], project);
  cli = pulumiCli(project, path.join(dir, "pulumi"), {}, { lab });
});

afterAll(() => removeLabScratch(dir));

describe("examples/baremetal-kthw: your own program with the packed package, through pulumi", () => {
  it("is configured with pulumi config set --path, the key as a secret", () => {
    createStackWithKey(cli, lab, "lab", "sshPrivateKey");
    const settings = lab.hosts.flatMap((h, i) => [
      ["--path", `machines[${i}].name`, h.name],
      ["--path", `machines[${i}].ip`, h.ip],
      ["--path", `machines[${i}].fqdn`, h.fqdn],
      ["--path", `machines[${i}].hostKey`, h.hostKey],
      ...(h.podCidr !== undefined ? [["--path", `machines[${i}].podCidr`, h.podCidr]] : []),
    ]);
    cli.run([
      "config",
      "set-all",
      ...settings.flatMap(([flag, key, value]) => [flag!, "--plaintext", `${key}=${value}`]),
    ]);
    expect(JSON.parse(cli.run(["config", "get", "machines"]).stdout)).toHaveLength(3);
  });

  it("previews and installs the runbook's routes: pods on different nodes reach each other", () => {
    const preview = pulumi(["preview", "--diff"]);
    expect(preview.output).not.toMatch(/warning|DEP0\d+/i);
    expect(preview.output).toContain('10.200.1.0/24: "198.19.249.136 node-1"');
    const up = pulumi(["up", "--yes"]);
    expect(changeSummary(up.output).create).toBeGreaterThanOrEqual(5);
    for (const [host, routes] of Object.entries(EXPECTED)) expect([host, ours(host)]).toEqual([host, routes]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    expect(JSON.parse(cli.run(["stack", "output", "routesPerHost", "--json"]).stdout)).toEqual({
      server: 2,
      "node-0": 1,
      "node-1": 1,
    });
  });

  it("stores a reference to the installed package's provider, not its code, and changes nothing on a second up", () => {
    const resources = cli.exportStack().deployment.resources ?? [];
    const hosts = resources.filter((r) => r.type.endsWith("HostRoutes"));
    expect(hosts).toHaveLength(3);
    for (const r of hosts) expect(String(r.inputs?.["__provider"]).length).toBeLessThan(1000);
    cli.sessions.reset();
    const again = pulumi(["up", "--yes"]);
    expect(Object.keys(changeSummary(again.output))).toEqual(["same"]);
    expect(cli.sessions.count()).toBe(0);
  });

  it("destroy leaves every host exactly as it was", () => {
    pulumi(["destroy", "--yes"]);
    for (const h of lab.hosts)
      expect([h.name, hostSnapshot(lab, h.name)]).toEqual([h.name, baseline[h.name]]);
  });
});
