// A TypeScript handle on lab/lab.sh, the real network lab: one network namespace per machine on a
// bridge, a real sshd in each (inside the host's own mount namespace: its own /etc and /run), and per node
// a pod namespace. For the e2e tests, the demo and the benchmarks. Needs root; Node's child_process only.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeLabMachines } from "./machines";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const LAB_SH = path.join(PROJECT_ROOT, "lab", "lab.sh");
/** Every namespace the lab creates starts with this. */
export const LAB_PREFIX = "prl-";

/** A lab host's public host keys, `<type> <base64>` each: its sshd offers all three. */
export interface LabHostKeys {
  /** `ssh-ed25519 AAAA…`, the same as LabHost.hostKey. */
  readonly ed25519: string;
  /** `ecdsa-sha2-nistp256 AAAA…`. */
  readonly ecdsa: string;
  /** `ssh-rsa AAAA…`, 3072 bits (signed with rsa-sha2-256/512; the key type is still ssh-rsa). */
  readonly rsa: string;
}

export interface LabHost {
  readonly name: string;
  readonly fqdn: string;
  readonly ip: string;
  /** The host's network namespace, `prl-<name>`. */
  readonly netns: string;
  /** Its pinned public host key, `ssh-ed25519 AAAA…`. */
  readonly hostKey: string;
  /** All of its public host keys, one per type. */
  readonly hostKeys: LabHostKeys;
  readonly podCidr?: string;
  /** The pod's address: the pod subnet's .2; the node is its gateway at .1. */
  readonly podIp?: string;
  readonly podGateway?: string;
  /** The pod's network namespace, `prl-<name>-pod`. */
  readonly podNetns?: string;
  /** The host's sshd when lab.json was written; null while it is stopped (sshd-stop). */
  readonly sshdPid: number | null;
  /** The process holding the host's mount and UTS namespaces for the life of the lab. */
  readonly nsPid: number | null;
}

export interface Lab {
  /** The lab directory (absolute). */
  readonly dir: string;
  /** The root namespace's address on the lab bridge, where ssh connects from. */
  readonly workstationIp: string;
  readonly workstationInterface: string;
  readonly labNetns: string;
  /** Private key authorized for root on every host. */
  readonly clientKey: string;
  /** `IP ssh-ed25519 AAAA…` for every host. */
  readonly knownHosts: string;
  readonly hosts: readonly LabHost[];
}

/** A lab by its directory, or one already read. */
export type LabRef = string | Lab;

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SshOptions {
  /** A known_hosts file other than the lab's (to prove a wrong pinned key is refused). */
  readonly knownHosts?: string;
  /** The remote interpreter that reads the script from stdin; default sh. */
  readonly shell?: "sh" | "bash";
  readonly timeoutMs?: number;
}

export class LabError extends Error {
  override readonly name = "LabError";
}

/** Fails (never skips) without root: the lab needs network namespaces and mounts. */
export function requireRoot(): void {
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  if (uid !== 0) {
    throw new LabError(
      `the network lab needs root (network namespaces, veth, mounts); this process runs as uid ${uid}. ` +
        "Run the e2e tests as root (e.g. sudo npx jest --selectProjects e2e) after sudo bash scripts/lab-deps.sh.",
    );
  }
}

function labDirOf(ref: LabRef): string {
  return typeof ref === "string" ? path.resolve(ref) : ref.dir;
}

export function stderrOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "stderr" in error) {
    const stderr = (error as { stderr: unknown }).stderr;
    if (typeof stderr === "string") return stderr.trim();
    if (Buffer.isBuffer(stderr)) return stderr.toString("utf8").trim();
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs a lab script (lab.sh, lab-boot.sh) with `args`: its stdout, or a LabError with its stderr. */
export function runLabScript(script: string, args: string[], what: string, timeoutMs?: number): string {
  try {
    return execFileSync("bash", [script, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    throw new LabError(`${what} failed: ${stderrOf(error)}`);
  }
}

const labSh = (args: string[], what: string) => runLabScript(LAB_SH, args, what);

/**
 * Builds the lab from a machines.txt (`IP FQDN HOSTNAME [POD_SUBNET]` per line) in labDir, after
 * tearing down any lab that is there. `onReport` receives the script's one-line timing report.
 */
export function labUp(machinesFile: string, labDir: string, onReport?: (line: string) => void): Lab {
  requireRoot();
  // lab.sh takes the machines as pod-routes read and validated them, never the machines.txt itself.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-lab-machines-"));
  try {
    const json = path.join(scratch, "machines.json");
    try {
      writeLabMachines(machinesFile, json);
    } catch (error) {
      throw new LabError((error as Error).message);
    }
    const out = labSh(["up", json, path.resolve(labDir)], "lab up");
    if (onReport) onReport(out.trim());
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return readLab(labDir);
}

/** Removes every lab namespace, process and file; safe after a failed up and safe twice. */
export function labDown(labDir: LabRef): void {
  requireRoot();
  labSh(["down", labDirOf(labDir)], "lab down");
}

/** Writes a machines.txt with n hosts host-00… at 198.19.249.(10+i) with pod subnets 10.200.i.0/24. */
export function genMachines(n: number, file: string): string {
  labSh(["gen", String(n), path.resolve(file)], "lab gen");
  return file;
}

// lab.json, checked field by field: it is written by a shell script, so trust nothing.
export type Json = Record<string, unknown>;
function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
/** A non-empty string field of lab.json. */
export function str(o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") throw new LabError(`${where}: "${key}" must be a non-empty string`);
  return v;
}
function optStr(o: Json, key: string, where: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, where);
}
function hostKeysOf(o: Json, where: string): LabHostKeys {
  const keys = o["hostKeys"];
  if (!isObject(keys)) {
    throw new LabError(
      `${where}: no "hostKeys" object (lab.json from an older lab.sh? bring the lab up again)`,
    );
  }
  const at = `${where}.hostKeys`;
  return { ed25519: str(keys, "ed25519", at), ecdsa: str(keys, "ecdsa", at), rsa: str(keys, "rsa", at) };
}
function pidOrNull(o: Json, key: string, where: string): number | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new LabError(`${where}: "${key}" must be a pid or null`);
  }
  return v;
}

/**
 * A lab's lab.json (`which`: "lab", "booting lab"), checked to be an object with a list of host objects:
 * the file, its object, and each host's object with where it stands (for messages).
 */
export function readLabJson(
  labDir: string,
  which: string,
): { dir: string; file: string; top: Json; hosts: { host: Json; where: string }[] } {
  const dir = path.resolve(labDir);
  const file = path.join(dir, "lab.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new LabError(
      `cannot read ${file} (is the ${which} up?): ${error instanceof Error ? error.message : ""}`,
    );
  }
  if (!isObject(parsed) || !Array.isArray(parsed["hosts"])) throw new LabError(`${file}: no "hosts" list`);
  const hosts = parsed["hosts"].map((host: unknown, i: number) => {
    const where = `${file} hosts[${i}]`;
    if (!isObject(host)) throw new LabError(`${where}: not an object`);
    return { host, where };
  });
  return { dir, file, top: parsed, hosts };
}

export function readLab(labDir: string): Lab {
  const { dir, file, top: parsed, hosts: entries } = readLabJson(labDir, "lab");
  const hosts = entries.map(({ host: h, where }): LabHost => {
    const podCidr = optStr(h, "podCidr", where);
    const podIp = optStr(h, "podIp", where);
    const podGateway = optStr(h, "podGateway", where);
    const podNetns = optStr(h, "podNetns", where);
    return {
      name: str(h, "name", where),
      fqdn: str(h, "fqdn", where),
      ip: str(h, "ip", where),
      netns: str(h, "netns", where),
      hostKey: str(h, "hostKey", where),
      hostKeys: hostKeysOf(h, where),
      ...(podCidr !== undefined ? { podCidr } : {}),
      ...(podIp !== undefined ? { podIp } : {}),
      ...(podGateway !== undefined ? { podGateway } : {}),
      ...(podNetns !== undefined ? { podNetns } : {}),
      sshdPid: pidOrNull(h, "sshdPid", where),
      nsPid: pidOrNull(h, "nsPid", where),
    };
  });
  return {
    dir,
    workstationIp: str(parsed, "workstationIp", file),
    workstationInterface: str(parsed, "workstationInterface", file),
    labNetns: str(parsed, "labNetns", file),
    clientKey: str(parsed, "clientKey", file),
    knownHosts: str(parsed, "knownHosts", file),
    hosts,
  };
}

function resolveLab(ref: LabRef): Lab {
  return typeof ref === "string" ? readLab(ref) : ref;
}

export function labHost(ref: LabRef, name: string): LabHost {
  const lab = resolveLab(ref);
  const found = lab.hosts.find((h) => h.name === name);
  if (!found)
    throw new LabError(
      `no host ${name} in the lab at ${lab.dir} (hosts: ${lab.hosts.map((h) => h.name).join(", ")})`,
    );
  return found;
}

/**
 * The pid holding a host's namespaces, read fresh from the lab directory and checked to still be that
 * holder: entering a reused pid's namespaces could change the real machine.
 */
function holderPid(dir: string, name: string): number {
  const pidFile = path.join(dir, "hosts", name, "ns.pid");
  let pid = NaN;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  } catch {
    throw new LabError(`no lab host ${name} in ${dir} (no ${pidFile}; is the lab up?)`);
  }
  let argv0 = "";
  try {
    argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
  } catch {
    // gone
  }
  if (!Number.isInteger(pid) || argv0 !== `pod-routes-lab:${name}`) {
    throw new LabError(`the namespaces of lab host ${name} are gone (is the lab at ${dir} up?)`);
  }
  return pid;
}

/**
 * Runs a command inside a host's network, mount and UTS namespaces (what a process on that host sees:
 * its routes, its /etc) and returns stdout; throws with stderr when it exits non-zero.
 */
export function hostExec(
  labDir: LabRef,
  host: string,
  cmd: string[],
  options: { input?: string } = {},
): string {
  const dir = labDirOf(labDir);
  const pid = holderPid(dir, host);
  try {
    return execFileSync("nsenter", ["-t", String(pid), "-n", "-m", "-u", "--", ...cmd], {
      encoding: "utf8",
      input: options.input ?? "",
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (error) {
    throw new LabError(`on ${host}: ${cmd.join(" ")} failed: ${stderrOf(error)}`);
  }
}

/** Like hostExec, but returns the exit code and output instead of throwing. */
export function hostRun(
  labDir: LabRef,
  host: string,
  cmd: string[],
  options: { input?: string } = {},
): RunResult {
  const pid = holderPid(labDirOf(labDir), host);
  const r = spawnSync("nsenter", ["-t", String(pid), "-n", "-m", "-u", "--", ...cmd], {
    encoding: "utf8",
    input: options.input ?? "",
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? r.error?.message ?? "" };
}

/** One ping (`ping -c1 -W2`) from fromHost's pod namespace; true when it is answered. */
export function podPing(labDir: LabRef, fromHost: string, toPodIp: string): boolean {
  const h = labHost(labDir, fromHost);
  if (!h.podNetns) throw new LabError(`lab host ${fromHost} has no pod (no POD_SUBNET in machines.txt)`);
  const r = spawnSync(
    "nsenter",
    [`--net=/run/netns/${h.podNetns}`, "--", "ping", "-c1", "-W2", "-q", toPodIp],
    {
      encoding: "utf8",
      timeout: 10_000,
    },
  );
  return r.status === 0;
}

/** The OpenSSH client arguments for root@host with the lab key and strictly pinned host keys. */
export function sshArgs(lab: Lab, host: string, options: { knownHosts?: string } = {}): string[] {
  return [
    "-F",
    "none",
    "-i",
    lab.clientKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${options.knownHosts ?? lab.knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    // Only ever through the lab's veth: once the lab is gone, ssh fails instead of leaving by the
    // machine's default route.
    "-o",
    `BindInterface=${lab.workstationInterface}`,
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR",
    `root@${labHost(lab, host).ip}`,
  ];
}

/** Runs a script on a host over real SSH (stdin to `sh -s`, or `bash -s`), with pinned host keys. */
export function sshRun(lab: Lab, host: string, script: string, options: SshOptions = {}): RunResult {
  const r = spawnSync("ssh", [...sshArgs(lab, host, options), options.shell ?? "sh", "-s"], {
    input: script,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const stderr = (r.stderr ?? "") + (r.error ? `\n${r.error.message}` : "");
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr };
}

/** Stops one host's sshd (its namespaces, routes and /etc stay). */
export function sshdStop(labDir: LabRef, host: string): void {
  labSh(["sshd-stop", host, labDirOf(labDir)], `sshd-stop ${host}`);
}

/** Starts one host's sshd again, with the same host key and the same /etc. */
export function sshdStart(labDir: LabRef, host: string): void {
  labSh(["sshd-start", host, labDirOf(labDir)], `sshd-start ${host}`);
}

/** The lab's namespaces present on this machine now (`prl-*`); empty once the lab is down. */
export function labNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(LAB_PREFIX));
}

/** Lines of `ip route show [filter…]` on a host, trimmed. */
export function hostRoutes(labDir: LabRef, host: string, ...filter: string[]): string[] {
  return hostExec(labDir, host, ["ip", "route", "show", ...filter])
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/**
 * Everything pod-routes' scripts may touch on a host, as text to compare before and after: both route
 * tables, and all of /etc (kind, mode, owner, link target, and each file's content).
 */
const HOST_SNAPSHOT = String.raw`
ip -4 route show table main; echo --; ip -6 route show table main; echo --
find /etc -printf '%y %m %u:%g %p %l\n' | LC_ALL=C sort; echo --
find /etc -type f -exec md5sum {} + | LC_ALL=C sort -k2`;
export function hostSnapshot(labDir: LabRef, host: string): string {
  return hostExec(labDir, host, ["sh", "-c", HOST_SNAPSHOT]);
}

/**
 * Why the lab at `ref` cannot be sent traffic now, or [] when it can: its lab.json is there, every host's
 * namespaces are still held by that host's holder, and every host address routes through the lab's own
 * workstation veth. Anything else (the lab torn down, the machine rebooted, another lab in its place)
 * would send the packets for its addresses out of the machine's default route: callers check this first,
 * and send nothing when it finds a problem.
 */
export function labProblems(ref: LabRef): string[] {
  let lab: Lab;
  try {
    lab = resolveLab(ref);
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
  const problems: string[] = [];
  for (const host of lab.hosts) {
    try {
      holderPid(lab.dir, host.name);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    const route = spawnSync("ip", ["-o", "route", "get", host.ip], { encoding: "utf8" });
    const dev = / dev (\S+)/.exec(route.stdout)?.[1];
    if (route.status !== 0 || dev !== lab.workstationInterface) {
      problems.push(
        `${host.name} (${host.ip}) is not reached through the lab's ${lab.workstationInterface} but ${dev === undefined ? "no interface" : `via ${dev}`}`,
      );
    }
  }
  return problems;
}

/** Throws, naming every problem, unless the lab at `ref` is up and its addresses lead into it. */
export function requireLabUp(ref: LabRef, doing: string): Lab {
  const problems = labProblems(ref);
  if (problems.length > 0) {
    throw new LabError(
      `not ${doing}: the lab at ${labDirOf(ref)} is not the one that is up, so its addresses would leave this machine:\n  - ${problems.join("\n  - ")}`,
    );
  }
  return resolveLab(ref);
}
