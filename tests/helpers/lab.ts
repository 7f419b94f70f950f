// What the tests that run against the lab (lab/lab.ts, lab/boot.ts) share: a scratch directory per test
// file with the lab built in it before the tests and torn down after them (even when tests failed), and the
// ways they read a host back.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  hostExec,
  hostRoutes,
  hostRun,
  hostSnapshot,
  Lab,
  labDown,
  labHost,
  labUp,
  requireRoot,
} from "../../lab/lab";
import { PulumiCli } from "../../lab/pulumi-cli";
import { LOCK_FILE, ROUTE_PROTO } from "../../ssh/host-program/render";
import { MACHINES_TXT, PROJECT_ROOT } from "../fixtures";

/** Something built once for a test file, or the reason it could not be built. */
export interface Fixture<T> {
  /** What was built; when the build failed, throws the reason, as the calling test's failure. */
  readonly get: () => T;
  /** What was built, or undefined (not yet, or the build failed). */
  readonly built: T | undefined;
  /** The scratch directory it was built in ("" until beforeAll ran). */
  readonly tmp: string;
}

export interface FixtureOptions<T> {
  /** The scratch directory is `<os tmpdir>/pod-routes-<name>-*`. */
  name: string;
  /** What is built, for the failure's message: "the network lab". */
  what: string;
  /** Builds it in the scratch directory. */
  build: (tmp: string) => T;
  /** Tears down what `build` may have left in the scratch directory, built or not (it is removed after). */
  teardown: (tmp: string, built: T | undefined) => void;
  /** beforeAll's timeout, when building takes longer than the file's tests. */
  timeout?: number;
}

/**
 * Builds a fixture once for the calling test file (beforeAll) in a fresh scratch directory, and always
 * tears it down and removes the directory (afterAll). A build that throws does not fail the hook: every test
 * that asks for the fixture fails with the reason (never skips).
 */
export function buildOnce<T>(options: FixtureOptions<T>): Fixture<T> {
  let tmp = "";
  let built: T | undefined;
  let setupError: Error | undefined;
  beforeAll(() => {
    try {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), `pod-routes-${options.name}-`));
      built = options.build(tmp);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      setupError = new Error(`cannot build ${options.what}: ${reason}`);
    }
  }, options.timeout);
  afterAll(() => {
    try {
      if (tmp) options.teardown(tmp, built);
    } finally {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
  return {
    get: () => {
      if (built === undefined) throw setupError ?? new Error(`${options.what} was not built`);
      return built;
    },
    get built() {
      return built;
    },
    get tmp() {
      return tmp;
    },
  };
}

export interface LabOptions {
  /** The machines.txt the lab is built from; examples/machines.txt by default. */
  machines?: string;
  /** Runs in the scratch directory before the lab is built (and before root is required). */
  before?: (tmp: string) => void;
  /** Prepares the built lab for the file's tests. */
  setup?: (lab: Lab) => void;
  timeout?: number;
}

/**
 * The network lab (lab/lab.ts, as root) for the calling test file, in `<scratch>/lab`: built before its tests,
 * torn down after them; without root or when it cannot be built, every test that asks for it fails with the
 * reason.
 */
export function useLab(name: string, options: LabOptions = {}): Fixture<Lab> {
  return buildOnce<Lab>({
    name,
    what: "the network lab",
    build: (tmp) => {
      options.before?.(tmp);
      requireRoot();
      const lab = labUp(options.machines ?? MACHINES_TXT, path.join(tmp, "lab"));
      options.setup?.(lab);
      return lab;
    },
    teardown: (tmp) => {
      // Without root nothing was built (and down could not run); down is safe after a failed up.
      const labDir = path.join(tmp, "lab");
      if (process.getuid?.() === 0 && fs.existsSync(labDir)) labDown(labDir);
    },
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  });
}

/** A fresh scratch directory `.tmp/engine-<name>-*` in the checkout, as the engine tests keep their clones. */
export function engineScratch(name: string): string {
  fs.mkdirSync(path.join(PROJECT_ROOT, ".tmp"), { recursive: true });
  return fs.mkdtempSync(path.join(PROJECT_ROOT, ".tmp", `engine-${name}-`));
}

/**
 * As root: an engine test's scratch directory with the lab built in its `lab` folder, from `machines`
 * (a machines.txt, examples/machines.txt by default; or its lines, written to `lab-machines.txt` there).
 */
export function engineLab(
  name: string,
  machines: string | readonly string[] = MACHINES_TXT,
): { dir: string; lab: Lab } {
  requireRoot();
  const dir = engineScratch(name);
  let file: string;
  if (typeof machines === "string") file = machines;
  else {
    file = path.join(dir, "lab-machines.txt");
    fs.writeFileSync(file, `${machines.join("\n")}\n`);
  }
  return { dir, lab: labUp(file, path.join(dir, "lab")) };
}

/** Tears down the lab in `dir`'s `lab` folder, then removes `dir` (nothing when `dir` was never made). */
export function removeLabScratch(dir: string | undefined): void {
  try {
    if (dir) labDown(path.join(dir, "lab"));
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every lab host's snapshot (hostSnapshot), by name: what a host must be back to once pod-routes is gone. */
export function snapshotHosts(lab: Lab): Record<string, string> {
  return Object.fromEntries(lab.hosts.map((h) => [h.name, hostSnapshot(lab, h.name)]));
}

/** The routes pod-routes owns on a host, as `ip route` prints them (without the device). */
export function ourRoutes(lab: Lab, host: string): string[] {
  return hostRoutes(lab, host, "proto", String(ROUTE_PROTO)).map((l) => l.replace(/ dev \S+\s*$/, ""));
}

/** As the README sets a stack up: `pulumi stack select --create <stack>`, then the lab's client key as the secret `keyName` (`config set --secret <keyName> < key`). */
export function createStackWithKey(cli: PulumiCli, lab: Lab, stack: string, keyName: string): void {
  cli.run(["stack", "select", "--create", stack]);
  cli.run(["config", "set", "--secret", keyName], { input: fs.readFileSync(lab.clientKey, "utf8") });
}

/** Waits until `ok()` holds, asking every `every` ms; after `ms`, fails naming `what`. */
export async function until(what: string, ok: () => boolean, ms = 30_000, every = 100): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Whether the host's lock is free: no pod-routes run holds it (`flock -n` gets it). */
export function lockFree(lab: Lab, host: string): boolean {
  return hostRun(lab, host, ["flock", "-n", LOCK_FILE, "true"]).code === 0;
}

/** Another pod-routes run's lock on the host (flock, as the host program takes it), held for `seconds`:
 * resolves once it is held (waiting at most `ms`). */
export async function holdLock(lab: Lab, host: string, seconds: number, ms = 30_000): Promise<void> {
  hostExec(lab, host, [
    "sh",
    "-c",
    `mkdir -p "$(dirname ${LOCK_FILE})" && setsid flock ${LOCK_FILE} sleep ${seconds} </dev/null >/dev/null 2>&1 &`,
  ]);
  await until("the lock is held", () => !lockFree(lab, host), ms);
}

const SSHD = "/usr/sbin/sshd";

/**
 * A second sshd on a lab host, like the lab's but on `port` and with `extra` config lines (and, with
 * `debug`, logging at DEBUG1, which names the negotiated host key algorithm). Its log, and its stop.
 */
export function extraSshd(
  lab: Lab,
  host: string,
  port: number,
  extra: string,
  options: { debug?: boolean } = {},
): { log: () => string; stop: () => void } {
  const h = labHost(lab, host);
  const hdir = path.join(lab.dir, "hosts", host);
  const conf = path.join(hdir, `sshd-${port}.conf`);
  const log = path.join(hdir, `sshd-${port}.log`);
  const pidFile = path.join(hdir, `sshd-${port}.pid`);
  let base = fs
    .readFileSync(path.join(hdir, "sshd_config"), "utf8")
    .replace(`ListenAddress ${h.ip}:22`, `ListenAddress ${h.ip}:${port}`)
    .replace(/^PidFile .*$/m, `PidFile "${pidFile}"`);
  if (options.debug) base = base.replace(/^LogLevel .*$/m, "LogLevel DEBUG1");
  fs.writeFileSync(conf, `${base}${extra}\n`);
  hostExec(lab, host, [SSHD, "-t", "-f", conf]); // a config sshd refuses fails here, with its reason
  hostExec(lab, host, [SSHD, "-f", conf, "-E", log]); // forks into the background
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(pidFile) || fs.readFileSync(pidFile, "utf8").trim() === "") {
    if (Date.now() > deadline)
      throw new Error(`the extra sshd on port ${port} did not start: ${fs.readFileSync(log, "utf8")}`);
    execFileSync("sleep", ["0.05"]);
  }
  const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  return {
    log: () => fs.readFileSync(log, "utf8"),
    stop: () => {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    },
  };
}
