// A TypeScript handle on lab/lab-boot.sh, the booting lab: hosts that run systemd as PID 1
// (systemd-nspawn containers on a cached Debian root, each in its own network namespace on a bridge), for
// the tests that need a real init: pod-routes.service enabled and run at boot, daemon-reload, the resync
// timer, reboots. Its names (prb-*), subnet (198.19.250.0/24) and lock are its own, apart from lab/lab.ts.
// Needs root, mmdebstrap and systemd-nspawn; Node's child_process only.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  LabError,
  PROJECT_ROOT,
  readLabJson,
  requireRoot,
  RunResult,
  runLabScript,
  stderrOf,
  str,
} from "./lab";
import type { SshTarget } from "../ssh/transport/session";

export const BOOT_SH = path.join(PROJECT_ROOT, "lab", "lab-boot.sh");
/** Every namespace the booting lab creates starts with this. */
export const BOOT_PREFIX = "prb-";
/** The root namespace's veth into the booting lab. */
export const BOOT_WORKSTATION_INTERFACE = "prb-ws";
/** The tools lab-boot.sh needs beyond those of lab.sh, and the Debian packages that bring them. */
export const BOOT_TOOLS: Readonly<Record<string, string>> = {
  "systemd-nspawn": "systemd-container",
  mmdebstrap: "mmdebstrap",
};

export interface BootHost {
  readonly name: string;
  readonly ip: string;
  /** The host's network namespace, `prb-<name>`: it outlives the host's boots. */
  readonly netns: string;
  /** The systemd-nspawn machine name. */
  readonly machine: string;
  /** Its pinned public host key, `ssh-ed25519 AAAA…`, made for this lab. */
  readonly hostKey: string;
}

export interface BootLab {
  readonly dir: string;
  readonly workstationIp: string;
  readonly workstationInterface: string;
  /** The cached Debian root every host's root is an overlay of. */
  readonly image: string;
  /** Private key authorized for root on every host. */
  readonly clientKey: string;
  /** `IP ssh-ed25519 AAAA…` for every host. */
  readonly knownHosts: string;
  readonly hosts: readonly BootHost[];
}

/** What systemd says once a host has finished starting up. */
export type SystemState = "running" | "degraded";

const bootSh = (args: string[], what: string, timeoutMs = 240_000) =>
  runLabScript(BOOT_SH, args, what, timeoutMs);

/** Which of lab-boot.sh's own tools are missing, each with the package that brings it. */
export function missingBootTools(): string[] {
  return Object.entries(BOOT_TOOLS)
    .filter(([tool]) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
    .map(([tool, pkg]) => `${tool} (Debian package ${pkg})`);
}

/** Fails (never skips) without root or without the tools, naming the fix. */
export function requireBootLab(): void {
  requireRoot();
  const missing = missingBootTools();
  if (missing.length > 0) {
    throw new LabError(
      `the booting lab needs ${missing.join(" and ")}; install them with: sudo bash scripts/lab-deps.sh`,
    );
  }
}

export function readBootLab(labDir: string): BootLab {
  const { dir, file, top: parsed, hosts: entries } = readLabJson(labDir, "booting lab");
  const hosts = entries.map(({ host: h, where }): BootHost => {
    const host: BootHost = {
      name: str(h, "name", where),
      ip: str(h, "ip", where),
      netns: str(h, "netns", where),
      machine: str(h, "machine", where),
      hostKey: str(h, "hostKey", where),
    };
    if (!host.netns.startsWith(BOOT_PREFIX))
      throw new LabError(`${where}: netns is not a ${BOOT_PREFIX}* one`);
    return host;
  });
  return {
    dir,
    workstationIp: str(parsed, "workstationIp", file),
    workstationInterface: str(parsed, "workstationInterface", file),
    image: str(parsed, "image", file),
    clientKey: str(parsed, "clientKey", file),
    knownHosts: str(parsed, "knownHosts", file),
    hosts,
  };
}

/**
 * Builds the booting lab in labDir (the cached root first, when it is missing: about half a minute) and
 * boots every host; `onReport` receives the script's one-line timing report.
 */
export function bootLabUp(
  labDir: string,
  hosts: readonly string[],
  onReport?: (line: string) => void,
): BootLab {
  requireBootLab();
  const out = bootSh(["up", path.resolve(labDir), ...hosts], "booting lab up", 600_000);
  if (onReport) onReport(out.trim());
  return readBootLab(labDir);
}

/** Powers every host off and removes every namespace, veth, process, cgroup and file of the lab. */
export function bootLabDown(lab: BootLab | string): void {
  requireRoot();
  bootSh(["down", typeof lab === "string" ? path.resolve(lab) : lab.dir], "booting lab down");
}

export function bootHost(lab: BootLab, name: string): BootHost {
  const found = lab.hosts.find((h) => h.name === name);
  if (!found) {
    throw new LabError(
      `no host ${name} in the booting lab (hosts: ${lab.hosts.map((h) => h.name).join(", ")})`,
    );
  }
  return found;
}

/**
 * Powers a host off (`systemctl poweroff`; `hard`: a power cut). Its network namespace then is what the
 * next power-on finds: eth0 made anew, no route of the last boot (lab-boot.sh checks that none of
 * protocol 156 is left).
 */
export function bootStop(lab: BootLab, host: string, options: { hard?: boolean } = {}): void {
  bootSh(["stop", lab.dir, bootHost(lab, host).name, ...(options.hard ? ["hard"] : [])], `stop ${host}`);
}

/** Boots a host and waits until systemd has finished starting up; returns the system state. */
export function bootStart(lab: BootLab, host: string): SystemState {
  return systemState(bootSh(["start", lab.dir, bootHost(lab, host).name], `start ${host}`));
}

/** A real reboot: power off, the routes of the last boot gone, boot. */
export function bootReboot(lab: BootLab, host: string): SystemState {
  return systemState(bootSh(["reboot", lab.dir, bootHost(lab, host).name], `reboot ${host}`));
}

function systemState(out: string): SystemState {
  const state = out.trim().split("\n").pop() ?? "";
  if (state !== "running" && state !== "degraded")
    throw new LabError(`unexpected system state ${JSON.stringify(state)}`);
  return state;
}

/** Runs a command inside a booted host (its init's namespaces and root); exit code and output. */
export function bootRun(lab: BootLab, host: string, cmd: readonly string[]): RunResult {
  const r = spawnSync("bash", [BOOT_SH, "exec", lab.dir, bootHost(lab, host).name, "--", ...cmd], {
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error?.message ?? ""),
  };
}

/** Like bootRun, but returns stdout and throws with stderr when the command fails. */
export function bootExec(lab: BootLab, host: string, cmd: readonly string[]): string {
  const r = bootRun(lab, host, cmd);
  if (r.code !== 0) throw new LabError(`on ${host}: ${cmd.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a command on the host over real ssh (OpenSSH, the host key pinned, only through prb-ws). */
export function bootSsh(lab: BootLab, host: string, cmd: readonly string[]): RunResult {
  const r = spawnSync("bash", [BOOT_SH, "ssh", lab.dir, bootHost(lab, host).name, "--", ...cmd], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error?.message ?? ""),
  };
}

/**
 * `ip -n <netns> …`: the host's network from outside, whether it runs or not (a powered-off host's
 * routes, or a route a site's network puts there before its init starts).
 */
export function bootNet(lab: BootLab, host: string, args: readonly string[]): string {
  const h = bootHost(lab, host);
  try {
    return execFileSync("ip", ["-n", h.netns, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    throw new LabError(`ip -n ${h.netns} ${args.join(" ")} failed: ${stderrOf(error)}`);
  }
}

/** Throws unless the host's address routes through the lab's own veth: never connect anywhere else. */
export function assertRoutedThroughLab(lab: BootLab, host: string): void {
  const h = bootHost(lab, host);
  const route = execFileSync("ip", ["-4", "route", "get", h.ip], { encoding: "utf8" });
  if (!route.includes(` dev ${lab.workstationInterface} `)) {
    throw new LabError(
      `${h.ip} does not route through ${lab.workstationInterface} (${route.trim()}); not connecting`,
    );
  }
}

/** root@host for ssh/transport/session.ts's runScript: the lab's client key, the host key pinned. */
export function bootTarget(lab: BootLab, host: string, overrides: Partial<SshTarget> = {}): SshTarget {
  assertRoutedThroughLab(lab, host);
  const h = bootHost(lab, host);
  return {
    host: h.ip,
    port: 22,
    user: "root",
    privateKey: fs.readFileSync(lab.clientKey, "utf8"),
    hostKey: h.hostKey,
    connectTimeoutMs: 10_000,
    commandTimeoutMs: 60_000,
    ...overrides,
  };
}

/** The booting lab's namespaces present on this machine now (`prb-*`); empty once it is down. */
export function bootNamespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(BOOT_PREFIX));
}

/** Whether the workstation veth of the booting lab exists. */
export function bootWorkstationLinkExists(): boolean {
  return spawnSync("ip", ["link", "show", BOOT_WORKSTATION_INTERFACE]).status === 0;
}
