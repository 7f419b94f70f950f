// The library under the real engine: IPs that arrive as Outputs are checked when they resolve, and a bad one
// fails the update with the same message a plain value gets, before any host is touched. Against the lab,
// with a valid key and pinned hosts, so that HostRoutes could be created: the same program with good IPs
// (the control) creates them.
import { spawnSync } from "child_process";
import * as path from "path";
import { hostSnapshot, Lab } from "../../lab/lab";
import { engineLab, removeLabScratch } from "../helpers/lab";

jest.setTimeout(300_000);

let dir: string;
let lab: Lab;

function runProgram(variant: "good" | "bad"): { message: string; types: string[] } {
  const run = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "library-program.ts"), lab.dir, variant],
    { encoding: "utf8", timeout: 240_000 },
  );
  expect(run.stderr).toBe("");
  return JSON.parse(run.stdout) as { message: string; types: string[] };
}

beforeAll(() => {
  ({ dir, lab } = engineLab("library"));
});

afterAll(() => removeLabScratch(dir));

describe("ssh.PodRoutes with IPs that are Outputs", () => {
  it("creates a HostRoutes per host when the IPs are good (the control: creation is possible here)", () => {
    const { message, types } = runProgram("good");
    expect(message).toBe("");
    expect(types.filter((t) => t.includes("HostRoutes"))).toHaveLength(2);
  });

  it("issue 18 item 10: fails the update naming the bad IP, with the plain value's message, and creates no host, touches no host", () => {
    const before = lab.hosts.map((h) => hostSnapshot(lab, h.name));
    const { message, types } = runProgram("bad");
    expect(message).toContain('pod-routes found 1 problem in ssh.PodRoutes "pod-routes"');
    expect(message).toContain(
      'pod-routes: nodes[1]: node "node-1": ip 198.19.250.136 is outside the node network 198.19.249.0/24; fix the address or nodeCidr',
    );
    expect(types.filter((t) => t.includes("HostRoutes"))).toEqual([]);
    expect(lab.hosts.map((h) => hostSnapshot(lab, h.name))).toEqual(before);
  });
});
