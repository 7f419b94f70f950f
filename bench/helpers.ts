// What the lab sections of the bench share: a lab of N generated hosts, one ssh session to a host, the
// runbook's way of installing routes, and putting the hosts back as they were.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseMachinesTxt } from "../core/machines";
import { planHostRoutes } from "../core/routes";
import { RouteSpec } from "../core/types";
import { requireValidSpec } from "../core/validate";
import { hostExec, Lab, labDown, labUp, PROJECT_ROOT, sshArgs } from "../lab/lab";
import { hostsBlockLines } from "../ssh/plan";
import { renderApply, renderDelete, ROUTE_PROTO } from "../ssh/host-program/render";

/** One ssh session to a lab host (the lab's pinned keys, bound to the lab's interface), async. */
export function ssh(lab: Lab, host: string, args: string[], input?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("ssh", [...sshArgs(lab, host), ...args], { stdio: ["pipe", "ignore", "inherit"] });
    child.stdin.end(input ?? "");
    child.on("close", (code) => resolve(code ?? -1));
  });
}

export async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Math.round(Number(process.hrtime.bigint() - start) / 1e6);
}

/** Every host's apply and delete script, as HostRoutes runs them. */
export function hostScripts(spec: RouteSpec) {
  const block = hostsBlockLines(spec);
  return planHostRoutes(spec).map((plan) => {
    const owner = `pulumi:bench/pod-routes/bench:pod-routes-${plan.host.name}`;
    return {
      host: plan.host,
      plan,
      apply: renderApply({
        host: plan.host.name,
        owner,
        routes: plan.routes,
        ...(plan.host.role === "controller" ? { hostsLines: block } : {}),
      }),
      remove: renderDelete({ host: plan.host.name, owner }),
    };
  });
}
export type HostScript = ReturnType<typeof hostScripts>[number];

/** The runbook: one ssh per host, its `ip route add` lines in sequence, host after host. */
export async function runbook(
  lab: Lab,
  scripts: readonly HostScript[],
  check: (code: number, what: string) => void,
): Promise<number> {
  return timed(async () => {
    for (const s of scripts) {
      const lines = s.plan.routes.map((r) => `ip route add ${r.destination} via ${r.nextHop}`).join("; ");
      check(await ssh(lab, s.host.name, [lines || "true"]), `runbook on ${s.host.name}`);
    }
  });
}

/** Removes every pod route from every host, pod-routes' (its protocol) and the runbook's (proto boot). */
export function resetRoutes(lab: Lab): void {
  for (const h of lab.hosts) {
    hostExec(lab, h.name, ["ip", "route", "flush", "root", "10.200.0.0/16", "proto", String(ROUTE_PROTO)]);
    hostExec(lab, h.name, ["ip", "route", "flush", "root", "10.200.0.0/16", "proto", "boot"]);
  }
}

/**
 * Runs `fn` against a lab of `hosts` generated hosts (lab/lab.sh gen) with their route spec; the lab
 * and its directory are removed afterwards, whatever happens.
 */
export async function withLab<T>(
  hosts: number,
  fn: (lab: Lab, spec: RouteSpec, machinesFile: string) => Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-bench-"));
  try {
    const machines = path.join(dir, "machines.txt");
    execFileSync("bash", [path.join(PROJECT_ROOT, "lab/lab.sh"), "gen", String(hosts), machines]);
    const spec = requireValidSpec({ nodes: parseMachinesTxt(fs.readFileSync(machines, "utf8")).nodes });
    const lab = labUp(machines, path.join(dir, "lab"));
    try {
      return await fn(lab, spec, machines);
    } finally {
      labDown(path.join(dir, "lab"));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
