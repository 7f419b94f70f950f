// `npm run demo` as a newcomer meets it: the normal path (the lab, `pulumi preview` and `pulumi up`, pings),
// `npm run demo -- down` leaving every host exactly as before, `down` after the lab is gone (nothing sent to
// its addresses), and the demo used wrongly (a clear message and an exit status, never a stack trace).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { labDown, requireRoot } from "../../lab/lab";
import { PROJECT_ROOT } from "../fixtures";

jest.setTimeout(600_000);

const LAB_DIR = path.join(PROJECT_ROOT, ".lab");

/** `npm run demo -- <args>`, as root, from the checkout. */
const npmDemo = (args: string[]) =>
  spawnSync("npm", ["run", "-s", "demo", "--", ...args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    timeout: 540_000,
    env: { ...process.env, CI: "true" },
  });

/** scripts/demo.js copied alone into a world-readable directory, run as `uid`: what it says before anything else. */
function launcherAs(uid: string, args: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-demo-"));
  try {
    fs.chmodSync(dir, 0o755);
    fs.copyFileSync(path.join(PROJECT_ROOT, "scripts", "demo.js"), path.join(dir, "demo.js"));
    fs.chmodSync(path.join(dir, "demo.js"), 0o644);
    return spawnSync(
      "setpriv",
      [
        `--reuid=${uid}`,
        `--regid=${uid}`,
        "--clear-groups",
        "--",
        process.execPath,
        path.join(dir, "demo.js"),
        ...args,
      ],
      { cwd: dir, encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: "/tmp" }, timeout: 60_000 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(() => requireRoot());
afterAll(() => {
  // Never leave a lab behind, whatever failed.
  if (fs.existsSync(LAB_DIR) || fs.existsSync(path.join(PROJECT_ROOT, ".demo"))) npmDemo(["down"]);
});

describe("npm run demo", () => {
  it("issue 18 item 11: the normal path deploys with pulumi, pods reach each other, and down leaves every host as before", () => {
    const up = npmDemo([]);
    expect([up.status, up.stderr]).toEqual([0, ""]);
    expect(up.stdout).toContain("$ pulumi preview --diff");
    expect(up.stdout).toContain("$ pulumi up --yes");
    expect(up.stdout).toMatch(/^\s+\+ 6 created$/m);
    expect(up.stdout).toContain("10.200.1.0/24 via 198.19.249.136 dev eth0 proto pod-routes");
    expect(up.stdout).toContain("pod on node-0 (10.200.0.2) -> pod on node-1 (10.200.1.2): reply");
    expect(up.stdout).toContain("pod on node-1 (10.200.1.2) -> pod on node-0 (10.200.0.2): reply");
    expect(up.stdout).not.toMatch(/warning/i);
    expect(fs.existsSync(path.join(PROJECT_ROOT, "Pulumi.demo.yaml"))).toBe(true);

    const down = npmDemo(["down"]);
    expect([down.status, down.stderr]).toEqual([0, ""]);
    expect(down.stdout).toContain("$ pulumi destroy --yes");
    expect(down.stdout).toContain(
      "every host is exactly as it was before pod-routes (its routes and all of /etc)",
    );
    expect(fs.existsSync(LAB_DIR)).toBe(false);
    expect(fs.existsSync(path.join(PROJECT_ROOT, ".demo"))).toBe(false);
    expect(fs.existsSync(path.join(PROJECT_ROOT, "Pulumi.demo.yaml"))).toBe(false);
  });

  it("issue 17 item 5: down after the lab is gone sends nothing to its addresses and removes the demo's state", () => {
    expect(npmDemo([]).status).toBe(0);
    labDown(LAB_DIR); // as a reboot would: the namespaces and their routes are gone
    const down = npmDemo(["down"]);
    expect([down.status, down.stderr]).toEqual([0, ""]);
    expect(down.stdout).toContain(
      "the lab the demo deployed to is gone, so nothing is sent to its addresses",
    );
    expect(down.stdout).toContain("$ pulumi stack rm demo --force --yes");
    expect(down.stdout).not.toContain("pulumi destroy");
    expect(fs.existsSync(LAB_DIR)).toBe(false);
    expect(fs.existsSync(path.join(PROJECT_ROOT, ".demo"))).toBe(false);
    expect(fs.existsSync(path.join(PROJECT_ROOT, "Pulumi.demo.yaml"))).toBe(false);
  });
});

describe("npm run demo, used wrongly", () => {
  it("names a mistyped action and shows the usage (exit 2)", () => {
    const run = launcherAs("0", ["dwon"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'demo: unknown action "dwon"\nusage: npm run demo            build the lab and deploy the bare-metal stack to it with pulumi\n       npm run demo -- down    destroy the stack and remove the lab\n',
    );
  });

  it("issue 18 item 10: says it needs root, and how, when run without it (exit 1), wherever the checkout lies", () => {
    const run = launcherAs("65534", []);
    expect(run.stderr).toBe(
      "demo: the lab builds network namespaces and mounts, which needs root: run `sudo npm run demo` (after `sudo bash scripts/setup.sh`)\n",
    );
    expect(run.status).toBe(1);
  });
});
