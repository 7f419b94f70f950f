// The largest route count the SSH path supports per host, proven on a real lab host over real SSH.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireValidSpec } from "../../core/validate";
import { planHostRoutes } from "../../core/routes";
import { renderApply, renderDelete, ROUTE_PROTO } from "../../ssh/host-program/render";
import { hostsBlockLines, MAX_ROUTES_PER_HOST } from "../../ssh/plan";
import { checkSshStack } from "../../stack/stack-plan";
import { defaultSshConfig } from "../../stack/config";
import { hostExec, Lab, labUp, sshRun } from "../../lab/lab";
import { removeLabScratch } from "../helpers/lab";

jest.setTimeout(300_000);

// One controller and `workers` workers on a /16, pod CIDRs in 10.64.0.0/10: the controller gets them all.
const specWith = (workers: number) =>
  requireValidSpec({
    clusterCidr: "10.64.0.0/10",
    nodes: [
      { name: "gw", ip: "198.19.249.10" },
      ...Array.from({ length: workers }, (_, i) => ({
        name: `w-${i}`,
        ip: `10.240.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        podCidr: `10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`,
      })),
    ],
  });

let lab: Lab;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-limits-"));
  const machines = path.join(dir, "machines.txt");
  fs.writeFileSync(machines, "198.19.249.10 gw.kubernetes.local gw\n");
  lab = labUp(machines, path.join(dir, "lab"));
  // The workers' addresses are on a network the host is directly attached to.
  hostExec(lab, "gw", ["ip", "addr", "add", "10.240.255.254/16", "dev", "eth0"]);
});

afterAll(() => removeLabScratch(dir));

describe(`the SSH path at its limit (${MAX_ROUTES_PER_HOST} routes per host)`, () => {
  it("applies, re-runs without change, and deletes the maximum on a real host", () => {
    const spec = specWith(MAX_ROUTES_PER_HOST);
    const plan = planHostRoutes(spec).find((p) => p.host.name === "gw")!;
    expect(plan.routes).toHaveLength(MAX_ROUTES_PER_HOST);
    const owner = "pulumi:organization/pod-routes/limits:pod-routes-gw";
    const apply = renderApply({ host: "gw", owner, routes: plan.routes, hostsLines: hostsBlockLines(spec) });
    const first = sshRun(lab, "gw", apply);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`added ${MAX_ROUTES_PER_HOST}, changed 0`);
    const count = () =>
      hostExec(lab, "gw", ["ip", "route", "show", "proto", String(ROUTE_PROTO)])
        .trim()
        .split("\n")
        .filter(Boolean).length;
    expect(count()).toBe(MAX_ROUTES_PER_HOST);
    const again = sshRun(lab, "gw", apply);
    expect(again.stdout).toContain(`unchanged ${MAX_ROUTES_PER_HOST}; files changed: none`);
    expect(sshRun(lab, "gw", renderDelete({ host: "gw", owner })).code).toBe(0);
    expect(count()).toBe(0);
  });

  const plan = (workers: number) =>
    checkSshStack(specWith(workers), { ...defaultSshConfig(), insecureIgnoreHostKeys: true });

  it("plans every host's script at the limit: the whole mesh, not just one host", () => {
    const result = plan(MAX_ROUTES_PER_HOST);
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join("\n"));
    expect(result.value).toHaveLength(MAX_ROUTES_PER_HOST + 1);
    // The controller takes every worker's subnet; each worker every other one's.
    expect(result.value.flatMap((host) => host.routes)).toHaveLength(
      MAX_ROUTES_PER_HOST + MAX_ROUTES_PER_HOST * (MAX_ROUTES_PER_HOST - 1),
    );
  });

  it("reports the limit together with every other SSH problem, all at once", () => {
    const result = checkSshStack(specWith(MAX_ROUTES_PER_HOST + 1), defaultSshConfig());
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.map((p) => p.where)).toEqual([
        "pod-routes:nodes",
        ...Array.from({ length: MAX_ROUTES_PER_HOST + 2 }, () => "pod-routes:ssh.hostKeys"),
      ]);
      expect(result.problems[1]!.message).toContain('has no host key for "gw"');
    }
  });

  it("refuses one route more at preview, with a clear message, before rendering any script", () => {
    const result = plan(MAX_ROUTES_PER_HOST + 1);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems[0]!.message).toContain(
        `${MAX_ROUTES_PER_HOST + 1} routes per host exceed what the SSH path supports (${MAX_ROUTES_PER_HOST})`,
      );
  });
});
