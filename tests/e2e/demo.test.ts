// `npm run demo` as a newcomer meets it when something is off: a mistyped action, or no root. A clear
// message and an exit status, never a stack trace. (The demo itself is the engine tests' flow.)
import { spawnSync } from "child_process";
import * as path from "path";
import { requireRoot } from "../../lab/lab";
import { PROJECT_ROOT } from "../fixtures";

const demo = (args: string[], asUser?: string) => {
  const command = [
    process.execPath,
    "-r",
    "ts-node/register/transpile-only",
    path.join(PROJECT_ROOT, "scripts", "demo.ts"),
    ...args,
  ];
  const argv = asUser
    ? ["setpriv", `--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", "--", ...command]
    : command;
  return spawnSync(argv[0]!, argv.slice(1), {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", HOME: "/tmp" },
    timeout: 60_000,
  });
};

describe("npm run demo, used wrongly", () => {
  it("names a mistyped action and shows the usage (exit 2)", () => {
    const run = demo(["dwon"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'demo: unknown action "dwon"\nusage: npm run demo            build the lab and deploy the bare-metal stack to it\n       npm run demo -- down    destroy the stack and remove the lab\n',
    );
  });

  it("says it needs root, and how, when run without it (exit 1)", () => {
    requireRoot(); // to run the demo as another user
    const run = demo([], "65534");
    expect(run.stderr).toBe(
      "demo: the lab builds network namespaces and mounts, which needs root: run `sudo npm run demo` (after `sudo bash scripts/setup.sh`)\n",
    );
    expect(run.status).toBe(1);
  });
});
