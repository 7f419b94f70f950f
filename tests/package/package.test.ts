// pod-routes as users get it: `npm pack` builds the package (tsc, on prepack), and a plain JavaScript
// program in an empty directory, after `npm install <the tarball>`, requires it and gets routes from
// its own resources' Outputs.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

jest.setTimeout(300_000);
const ROOT = path.resolve(__dirname, "..", "..");
let dir = "";
let tarball = "";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-package-"));
  const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(dir, info!.filename);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  // From the npm cache where possible (npm ci filled it); the optional Node binary is not needed here.
  execFileSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--omit=optional", tarball],
    {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  fs.copyFileSync(path.join(__dirname, "consumer.js"), path.join(dir, "consumer.js"));
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships compiled JavaScript with type declarations, and no TypeScript sources or tests", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(files).toContain("package/dist/pod-routes.js");
    expect(files).toContain("package/dist/pod-routes.d.ts");
    expect(files).toContain("package/dist/gcp/component.d.ts");
    expect(files).toContain("package/bin/pod-routes.js");
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => /test/.test(f))).toEqual([]);
    const pkg = JSON.parse(
      fs.readFileSync(path.join(dir, "node_modules", "pod-routes", "package.json"), "utf8"),
    ) as Record<string, unknown>;
    expect(pkg["main"]).toBe("dist/pod-routes.js");
    expect(pkg["types"]).toBe("dist/pod-routes.d.ts");
  });

  it("serves a plain JavaScript program: routes from its instances' Outputs, two GCP components side by side", () => {
    const run = spawnSync(process.execPath, ["consumer.js"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const { routes, registered } = JSON.parse(run.stdout) as {
      routes: { destination: string; nextHop: string; node: string; where: string }[][];
      registered: { type: string; name: string; inputs: Record<string, unknown> }[];
    };
    /** worker-0 and worker-1's routes, their nodes at 10.240.0.<first> and the next address, in `where`. */
    const workerRoutes = (first: number, where: string) =>
      [0, 1].map((i) => ({
        destination: `10.200.${i}.0/24`,
        nextHop: `10.240.0.${first + i}`,
        node: `worker-${i}`,
        where,
      }));
    const [teamA, teamB, cluster, teamD] = routes;
    expect(teamD).toEqual(workerRoutes(60, "net-d"));
    expect(teamA).toEqual(workerRoutes(40, "net-a"));
    expect(teamB?.map((r) => r.where)).toEqual(["net-b", "net-b"]);
    expect(cluster).toEqual(workerRoutes(50, "rtb-0a1b2c3d4e5f60718"));
    // Two components, two sets of routes, no name clash: each named from its component and prefix.
    expect(
      registered
        .filter((r) => r.type === "gcp:compute/route:Route")
        .map((r) => [r.name, r.inputs["name"], r.inputs["nextHopIp"]])
        // In name order: a spec's plain next hops register before the ones waiting for instances.
        .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    ).toEqual([
      ["team-a-10-200-0-0-24", "team-a-10-200-0-0-24", "10.240.0.40"],
      ["team-a-10-200-1-0-24", "team-a-10-200-1-0-24", "10.240.0.41"],
      ["team-b-10-200-0-0-24", "team-b-10-200-0-0-24", "10.240.0.40"],
      ["team-b-10-200-1-0-24", "team-b-10-200-1-0-24", "10.240.0.41"],
      ["team-d-10-200-0-0-24", "team-d-10-200-0-0-24", "10.240.0.60"],
      ["team-d-10-200-1-0-24", "team-d-10-200-1-0-24", "10.240.0.61"],
    ]);
    expect(
      registered.filter((r) => r.type === "aws:ec2/route:Route").map((r) => r.inputs["networkInterfaceId"]),
    ).toEqual(["eni-00aaaabbbbcccc0000", "eni-01aaaabbbbcccc0001"]);
  });
});
