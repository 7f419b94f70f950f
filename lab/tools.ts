// Tools the tests, the demo and the benchmarks use that npm does not ship, installed by scripts/setup.sh into
// the tools cache: go (scripts/install-go.sh), actionlint (scripts/install-tools.sh), and the Pulumi CLI with
// the SDK's dynamic-provider shim (scripts/install-pulumi.sh).
import { spawnSync } from "child_process";
import * as path from "path";

export const TOOLS_BIN = path.join(
  process.env["POD_ROUTES_TOOLS"] ??
    path.join(process.env["HOME"] ?? "/root", ".cache", "pod-routes", "tools"),
  "bin",
);

/** The tools cache's copy of `name`, else the one on PATH; a clear error naming the fix when neither runs. */
export function tool(name: string, versionArgs: readonly string[]): string {
  for (const candidate of [path.join(TOOLS_BIN, name), name]) {
    if (spawnSync(candidate, versionArgs).status === 0) return candidate;
  }
  throw new Error(`${name} is not installed; run scripts/setup.sh (it installs it into ${TOOLS_BIN})`);
}

/** The PATH the engine runs with: the CLI, its shim and language host first; then node_modules/.bin, whose
 * `node` is the Node 22 the SDK needs; then the caller's. */
export function enginePath(): string {
  return [TOOLS_BIN, path.join(__dirname, "..", "node_modules", ".bin"), process.env["PATH"] ?? ""].join(":");
}

/** The environment that makes every Node process the engine starts log its SSH sessions to `file`
 * (lab/ssh-session-log.js, loaded with NODE_OPTIONS). */
export function sessionLogEnv(file: string): Record<string, string> {
  return {
    POD_ROUTES_SSH_LOG: file,
    NODE_OPTIONS: [process.env["NODE_OPTIONS"], `--require=${path.join(__dirname, "ssh-session-log.js")}`]
      .filter(Boolean)
      .join(" "),
  };
}
