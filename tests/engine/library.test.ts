// The library under the real engine: IPs that arrive as Outputs are checked when they resolve, and a bad one
// fails the update with the same message a plain value gets, before any host is touched.
import { spawnSync } from "child_process";
import * as path from "path";

jest.setTimeout(300_000);

describe("ssh.PodRoutes with IPs that are Outputs", () => {
  it("fails the update naming the bad IP, with the plain value's message, and creates no host", () => {
    const run = spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.join(__dirname, "library-program.ts")],
      { encoding: "utf8", timeout: 240_000 },
    );
    expect(run.stderr).toBe("");
    const { message, types } = JSON.parse(run.stdout) as { message: string; types: string[] };
    expect(message).toContain('pod-routes found 1 problem in ssh.PodRoutes "pod-routes"');
    expect(message).toContain(
      'pod-routes: nodes[1]: node "node-1": ip 198.19.250.136 is outside the node network 198.19.249.0/24; fix the address or nodeCidr',
    );
    expect(types.filter((t) => t.includes("HostRoutes"))).toEqual([]);
  });
});
