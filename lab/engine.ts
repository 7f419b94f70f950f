// The real Pulumi engine for the tests, the demo and the benchmarks: the CLI that scripts/install-pulumi.sh
// builds (and the SDK's dynamic-provider shim beside it), a file backend in the workspace, and programs run
// inline through the Automation API (the SDK serves the language runtime itself). Nothing is mocked: the engine registers, diffs, refreshes and deletes the
// resources, and the dynamic provider (HostRoutes) talks to the lab's hosts over SSH.
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT } from "./lab";
import { enginePath, sessionLogEnv, TOOLS_BIN } from "./tools";

export interface Engine {
  readonly dir: string;
  readonly stack: Stack;
  /** Lines the SSH client logged since `sessions.reset()`: one per SSH session any provider opened. */
  readonly sessions: { count(): number; reset(): void; lines(): string[] };
  /** The checkpoint file as it sits on disk. */
  checkpoint(): string;
  /** Removes the workspace and its state. */
  dispose(): void;
}

/** Fails (never skips) with the fix when the engine is not installed. */
export function requireEngine(): void {
  for (const tool of ["pulumi", "pulumi-resource-pulumi-nodejs"]) {
    if (!fs.existsSync(path.join(TOOLS_BIN, tool))) {
      throw new Error(
        `${tool} is not in ${TOOLS_BIN}; run scripts/setup.sh (it builds the Pulumi CLI with scripts/install-pulumi.sh)`,
      );
    }
  }
}

/**
 * A stack of project `pod-routes` named `stackName`, with `program` inline. Its working directory lies in
 * the project's .tmp/ with the project's node_modules beside it, as a user's project has its own: the
 * dynamic provider resolves its code from there.
 */
export async function createEngine(
  stackName: string,
  program: PulumiFn,
  options: { env?: Record<string, string>; dir?: string } = {},
): Promise<Engine> {
  requireEngine();
  fs.mkdirSync(path.join(PROJECT_ROOT, ".tmp"), { recursive: true });
  const dir = options.dir ?? fs.mkdtempSync(path.join(PROJECT_ROOT, ".tmp", `engine-${stackName}-`));
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  fs.mkdirSync(path.join(dir, "home"), { recursive: true });
  if (!fs.existsSync(path.join(dir, "node_modules"))) {
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
  }
  const sessionLog = path.join(dir, "ssh-sessions.log");
  fs.writeFileSync(sessionLog, "");
  // The engine and the providers it starts: the built CLI and shim, and the Node (22) the SDK asks for.
  process.env["PATH"] = enginePath();
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName, projectName: "pod-routes", program },
    {
      workDir: dir,
      projectSettings: { name: "pod-routes", runtime: "nodejs", backend: { url: `file://${dir}/state` } },
      envVars: {
        PULUMI_HOME: path.join(dir, "home"),
        PULUMI_CONFIG_PASSPHRASE: "pod-routes-tests",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        ...sessionLogEnv(sessionLog),
        ...options.env,
      },
    },
  );
  const lines = () => fs.readFileSync(sessionLog, "utf8").split("\n").filter(Boolean);
  return {
    dir,
    stack,
    sessions: { lines, count: () => lines().length, reset: () => fs.writeFileSync(sessionLog, "") },
    checkpoint: () =>
      fs.readFileSync(
        path.join(dir, "state", ".pulumi", "stacks", "pod-routes", `${stackName}.json`),
        "utf8",
      ),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** The engine's output of an operation, for assertions and for a failing test's message. */
export const collect = () => {
  let text = "";
  return { onOutput: (s: string) => void (text += s), text: () => text };
};
