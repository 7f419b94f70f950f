// The `pulumi` CLI as users run it, for the engine tests, the demo and the benchmarks: a clone of this
// checkout (its own Pulumi.yaml, stack files and stack program, with the checkout's node_modules), and
// `pulumi …` commands run in it, as the README writes them. The CLI is the one scripts/install-pulumi.sh
// builds; the program runs through the language host beside it (on this machine, the project's test
// stand-in for the official one: scripts/language-host). State goes to a file backend of its own.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LabRef, PROJECT_ROOT, requireLabUp } from "./lab";
import { enginePath, sessionLogEnv, TOOLS_BIN } from "./tools";

/** What one `pulumi` command did. */
export interface CliResult {
  readonly args: readonly string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout then stderr, for assertions on everything the user saw. */
  readonly output: string;
  readonly seconds: number;
}

export interface CliOptions {
  /** Standard input (e.g. a key for `config set --secret … <`). */
  readonly input?: string;
  /** Extra environment for this command only. */
  readonly env?: Readonly<Record<string, string>>;
  /** Default: the command must succeed (exit 0), else this throws with its output. */
  readonly mayFail?: boolean;
  readonly timeoutMs?: number;
  /** Directory to run in; default the project (the clone). */
  readonly cwd?: string;
}

/** Resource changes as the CLI's `Resources:` summary states them. */
export type ChangeSummary = Partial<Record<"create" | "update" | "delete" | "replace" | "same", number>>;

const SUMMARY_WORDS: ReadonlyArray<readonly [RegExp, keyof ChangeSummary]> = [
  [/^\+-\s*(\d+) (?:to replace|replaced)$/, "replace"],
  [/^\+\s*(\d+) (?:to create|created)$/, "create"],
  [/^~\s*(\d+) (?:to update|updated)$/, "update"],
  [/^-\s*(\d+) (?:to delete|deleted)$/, "delete"],
  // "3 unchanged", or after several kinds of change "4 changes. 3 unchanged".
  [/^(?:\d+ changes?\. )?(\d+) unchanged$/, "same"],
];

/** The last `Resources:` block of a preview, up, refresh or destroy (an up's own, after its preview's). */
export function changeSummary(output: string): ChangeSummary {
  const lines = output.split("\n");
  const start = lines.map((l) => l.trim()).lastIndexOf("Resources:");
  if (start < 0) throw new Error(`no "Resources:" summary in:\n${output}`);
  const summary: ChangeSummary = {};
  for (const raw of lines.slice(start + 1)) {
    const line = raw.trim();
    if (line === "") break;
    for (const [pattern, key] of SUMMARY_WORDS) {
      const m = pattern.exec(line);
      if (m) summary[key] = Number(m[1]);
    }
  }
  return summary;
}

/** The files a clone of this checkout has: tracked ones and new ones git does not ignore. */
function checkoutFiles(root: string): string[] {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  });
  if (listed.status !== 0) throw new Error(`git ls-files in ${root} failed: ${listed.stderr}`);
  return listed.stdout.split("\0").filter((f) => f !== "" && fs.existsSync(path.join(root, f)));
}

/**
 * A clone of the checkout at `dir` (as `git clone` would lay it out, uncommitted changes included), with
 * the checkout's node_modules linked in (as `npm ci` would install them).
 */
export function cloneCheckout(dir: string, root: string = PROJECT_ROOT): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const file of checkoutFiles(root)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(dir, file));
    fs.chmodSync(path.join(dir, file), fs.statSync(path.join(root, file)).mode);
  }
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** Fails (never skips) with the fix when the CLI, the shim or the language host is not installed. */
export function requireCli(): void {
  for (const name of ["pulumi", "pulumi-resource-pulumi-nodejs", "pulumi-language-nodejs"]) {
    if (!fs.existsSync(path.join(TOOLS_BIN, name))) {
      throw new Error(
        `${name} is not in ${TOOLS_BIN}; run scripts/setup.sh (scripts/install-pulumi.sh installs the Pulumi CLI there)`,
      );
    }
  }
}

export interface PulumiCli {
  /** Where the commands run: the project (a clone of the checkout, or a user's own project). */
  readonly dir: string;
  /** The environment every command gets (backend, passphrase, PATH, the SSH session log). */
  readonly env: Readonly<Record<string, string>>;
  /** `pulumi <args>`; throws with the output unless it succeeds or `mayFail`. */
  run(args: readonly string[], options?: CliOptions): CliResult;
  /** The same, without blocking (for a command that runs beside another). */
  start(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** Lines the SSH client logged since `reset()`: one per SSH session any provider opened. */
  readonly sessions: { count(): number; reset(): void; lines(): string[] };
  /** The stack's checkpoint as `pulumi stack export` prints it. */
  exportStack(): { deployment: { resources?: StackResource[] } };
  /** The checkpoint file as it sits in the backend. */
  checkpoint(project: string, stack: string): string;
}

export interface StackResource {
  readonly urn: string;
  readonly type: string;
  readonly id?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

/**
 * `pulumi` for the project in `dir`, with state in `stateDir` (a file backend) and a PULUMI_HOME of its own.
 * Nothing else is set: the commands find Pulumi.yaml, the stack files and the program as a user's would.
 * With `lab`, every command first checks that this lab is the one that is up (requireLabUp), so that no
 * command sends the lab's traffic out of the machine.
 */
export function pulumiCli(
  dir: string,
  stateDir: string,
  extraEnv: Record<string, string> = {},
  options: { lab?: LabRef } = {},
): PulumiCli {
  const guard = (args: readonly string[]) => {
    if (options.lab !== undefined) requireLabUp(options.lab, `running pulumi ${args.join(" ")}`);
  };
  requireCli();
  fs.mkdirSync(path.join(stateDir, "backend"), { recursive: true });
  fs.mkdirSync(path.join(stateDir, "home"), { recursive: true });
  const sessionLog = path.join(stateDir, "ssh-sessions.log");
  fs.writeFileSync(sessionLog, "");
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: enginePath(),
    PULUMI_HOME: path.join(stateDir, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(stateDir, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: "pod-routes-tests",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    ...sessionLogEnv(sessionLog),
    ...extraEnv,
  };
  for (const name of ["PULUMI_ACCESS_TOKEN", "PULUMI_NODEJS_TRANSPILE_ONLY", "PULUMI_NODEJS_TSCONFIG_PATH"]) {
    if (!(name in extraEnv)) delete env[name];
  }
  const finish = (
    args: readonly string[],
    options: CliOptions,
    code: number,
    stdout: string,
    stderr: string,
    seconds: number,
  ): CliResult => {
    const result = { args, code, stdout, stderr, output: `${stdout}\n${stderr}`, seconds };
    if (code !== 0 && !options.mayFail) {
      throw new Error(
        `pulumi ${args.join(" ")} exited ${code} after ${seconds.toFixed(1)} s:\n${result.output}`,
      );
    }
    return result;
  };
  const lines = () => fs.readFileSync(sessionLog, "utf8").split("\n").filter(Boolean);
  const cli: PulumiCli = {
    dir,
    env,
    run(args, options = {}) {
      guard(args);
      const started = Date.now();
      const r = spawnSync(path.join(TOOLS_BIN, "pulumi"), args, {
        cwd: options.cwd ?? dir,
        env: { ...env, ...options.env },
        input: options.input ?? "",
        encoding: "utf8",
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 256 * 1024 * 1024,
      });
      const code = r.status ?? (r.signal !== null ? 128 : 1);
      return finish(
        args,
        options,
        code,
        r.stdout ?? "",
        `${r.stderr ?? ""}${r.error ? String(r.error) : ""}`,
        (Date.now() - started) / 1000,
      );
    },
    start(args, options = {}) {
      guard(args);
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const child = spawn(path.join(TOOLS_BIN, "pulumi"), args, {
          cwd: options.cwd ?? dir,
          env: { ...env, ...options.env },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.stdin.end(options.input ?? "");
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
        child.on("error", reject);
        child.on("close", (code) => {
          clearTimeout(timer);
          try {
            resolve(finish(args, options, code ?? 128, stdout, stderr, (Date.now() - started) / 1000));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
    },
    sessions: { lines, count: () => lines().length, reset: () => fs.writeFileSync(sessionLog, "") },
    exportStack() {
      return JSON.parse(cli.run(["stack", "export"]).stdout) as {
        deployment: { resources?: StackResource[] };
      };
    },
    checkpoint(project, stack) {
      return fs.readFileSync(
        path.join(stateDir, "backend", ".pulumi", "stacks", project, `${stack}.json`),
        "utf8",
      );
    },
  };
  return cli;
}
