import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../../cli/routes";

const ROOT = path.resolve(__dirname, "..", "..");
const MACHINES = path.join(ROOT, "examples", "machines.txt");
function cli(...args: string[]) {
  let out = "";
  let err = "";
  const code = run(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}
// Every file a test writes lives in one directory, removed when the tests are done.
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-cli-"));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
const tmp = (name: string, text: string) => {
  const file = path.join(fs.mkdtempSync(path.join(TMP, "case-")), name);
  fs.writeFileSync(file, text);
  return file;
};
/** A stack file `name` whose config is `lines` (YAML, indented under `config:`). */
const stackYaml = (name: string, lines: string[]) => tmp(name, ["config:", ...lines, ""].join("\n"));
/** Pulumi.gcp.yaml as a user has it after `pulumi config set gcp:project kubernetes-the-hard-way`. */
const GCP = () =>
  tmp(
    "Pulumi.gcp.yaml",
    fs
      .readFileSync(path.join(ROOT, "Pulumi.gcp.yaml"), "utf8")
      .replace("gcp:project: EXAMPLE-your-gcp-project-id", "gcp:project: kubernetes-the-hard-way"),
  );

describe("npm run routes -- plan", () => {
  it("prints the fixture's routes as JSON, exactly the documented shape", () => {
    const { code, out } = cli("plan", MACHINES, "--json");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      routes: [
        { where: "server", destination: "10.200.0.0/24", nextHop: "198.19.249.34", node: "node-0" },
        { where: "server", destination: "10.200.1.0/24", nextHop: "198.19.249.136", node: "node-1" },
        { where: "node-0", destination: "10.200.1.0/24", nextHop: "198.19.249.136", node: "node-1" },
        { where: "node-1", destination: "10.200.0.0/24", nextHop: "198.19.249.34", node: "node-0" },
      ],
    });
  });

  it("plans a cloud stack file with an explicit node list", () => {
    const { code, out } = cli("plan", GCP());
    expect(code).toBe(0);
    expect(out).toContain("kubernetes-the-hard-way  10.200.2.0/24  10.240.0.22  worker-2");
  });

  it("names the example values a shipped stack file still holds", () => {
    const { code, err } = cli("plan", path.join(ROOT, "Pulumi.gcp.yaml"));
    expect(code).toBe(1);
    expect(err).toContain(
      'gcp:project: still holds the example value "EXAMPLE-your-gcp-project-id"; set your own (pulumi config set gcp:project <value>)',
    );
  });

  it("explains that discovery stacks need the engine", () => {
    const { code, err } = cli("plan", path.join(ROOT, "Pulumi.aws.yaml"));
    expect(code).toBe(1);
    expect(err).toContain("discovers its nodes from the cloud at deploy time");
  });

  it("exits non-zero listing every problem in a bad file", () => {
    const file = tmp(
      "machines.txt",
      "198.19.249.10 server\n198.19.249.34 node-0.local node-0 10.200.0.1/24\n198.19.249.34 node-1.local node-1 10.200.0.0/23\n",
    );
    const { code, err, out } = cli("plan", file, "--json");
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain("pod-routes found 3 problems");
    expect(err).toContain('machines.txt:1: expected "IP FQDN HOSTNAME [POD_SUBNET]"');
    expect(err).toContain(
      'podCidr "10.200.0.1/24" has host bits set (it is not the network address); use "10.200.0.0/24"',
    );
    expect(err).toContain('duplicate IP "198.19.249.34"');
  });

  it.each([
    [[]],
    [["frobnicate", MACHINES]],
    [["plan"]],
    [["plan", MACHINES, "extra"]],
    [["plan", "--bogus", MACHINES]],
  ])("usage errors exit 2: %j", (args) => {
    expect(cli(...args).code).toBe(2);
  });
});

describe("npm run routes -- script", () => {
  it("prints all three hosts' scripts", () => {
    const { code, out } = cli("script", MACHINES);
    expect(code).toBe(0);
    expect(out.match(/^# ---- host /gm)).toHaveLength(3);
  });

  it("prints one host with --host, and names the hosts for an unknown one", () => {
    expect(cli("script", MACHINES, "--host", "node-0").out).toContain("HOST='node-0'");
    const { code, err } = cli("script", MACHINES, "--host", "node-7");
    expect(code).toBe(1);
    expect(err).toContain('no host named "node-7"; the hosts are server, node-0, node-1');
  });

  it("prints the scripts `pulumi up` runs, owned by hand so that a stack may take the hosts over later", () => {
    const out = cli("script", MACHINES, "--host", "server").out;
    expect(out).toContain("OWNER='by-hand:server'");
    expect(out).toContain("10.200.1.0/24 198.19.249.136 node-1\n");
    expect(out).toContain("198.19.249.136 node-1.kubernetes.local node-1\n");
    expect(out).toContain("ADOPT='0'");
  });

  it.each<[string, string[], (dir: string) => string]>([
    ["--adopt", ["--adopt"], () => MACHINES],
    [
      "pod-routes:adopt in the stack file, as `pulumi config set` writes it",
      [],
      () =>
        tmp(
          "Pulumi.adopting.yaml",
          'config:\n  pod-routes:cloud: baremetal\n  pod-routes:adopt: "true"\n  pod-routes:ssh: { insecureIgnoreHostKeys: true }\n  pod-routes:sshPrivateKey: { secure: v1:abc }\n  pod-routes:nodes:\n    - { name: node-0, ip: 198.19.249.34, podCidr: 10.200.0.0/24 }\n    - { name: node-1, ip: 198.19.249.136, podCidr: 10.200.1.0/24 }\n',
        ),
    ],
  ])("issue 12 item 9: honours adopt from %s", (_label, flags, file) => {
    const { code, out, err } = cli("script", file(""), ...flags);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.match(/^ADOPT='1'$/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(out).not.toContain("ADOPT='0'");
  });

  it("issue 12 item 9: prints a host's delete script with --delete, for a machine retired by hand", () => {
    const { code, out } = cli("script", MACHINES, "--delete", "--host", "node-1");
    expect(code).toBe(0);
    expect(out).toMatch(/^# ---- host node-1 \(198\.19\.249\.136\)/);
    expect(out).toContain("MODE='delete'");
    expect(out).toContain("OWNER='*'");
    expect(out.trimEnd().endsWith("{ pod_routes_delete </dev/null; }")).toBe(true);
  });

  it("refuses a plan the SSH path cannot run, before printing any script", () => {
    const lines = ["10.0.0.1 gw.example gw"];
    for (let i = 0; i < 1100; i++)
      lines.push(
        `10.1.${Math.floor(i / 250)}.${(i % 250) + 2} n${i}.example n${i} 10.${128 + Math.floor(i / 256)}.${i % 256}.0/24`,
      );
    const { code, out, err } = cli(
      "script",
      tmp("machines.txt", `${lines.join("\n")}\n`),
      "--cluster-cidr",
      "10.128.0.0/9",
    );
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain("1100 routes per host exceed what the SSH path supports (1024)");
  });

  it("explains that cloud stacks have no host scripts", () => {
    const { code, err } = cli("script", GCP());
    expect(code).toBe(1);
    expect(err).toContain("its routes live in the cloud, not on hosts");
  });
});

describe("the pod-routes command (bin/pod-routes.js)", () => {
  const bin = path.join(ROOT, "bin", "pod-routes.js");

  it("prints exactly the JSON on stdout, with nothing around it (no npm banner)", () => {
    const run = spawnSync(process.execPath, [bin, "plan", MACHINES, "--json"], { encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(cli("plan", MACHINES, "--json").out));
    expect(run.stdout).toBe(`${JSON.stringify(JSON.parse(run.stdout))}\n`);
  });

  it("has help as a sub-command, and exits 2 on a usage error", () => {
    const help = spawnSync(process.execPath, [bin, "help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: pod-routes <command>/);
    const wrong = spawnSync(process.execPath, [bin, "plna", MACHINES], { encoding: "utf8" });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('unknown command "plna"');
  });
});

describe("npm run routes -- import-file", () => {
  it("prints the pulumi import file for the GCP runbook's routes", () => {
    const { code, out } = cli("import-file", GCP());
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      resources: [0, 1, 2].map((i) => ({
        type: "gcp:compute/route:Route",
        name: `kubernetes-route-10-200-${i}-0-24`,
        id: `projects/kubernetes-the-hard-way/global/routes/kubernetes-route-10-200-${i}-0-24`,
      })),
    });
  });

  it("prints AWS ids when the route table id is known", () => {
    const file = stackYaml("Pulumi.aws-explicit.yaml", [
      "  pod-routes:cloud: aws",
      "  pod-routes:aws: { routeTableId: rtb-0a1b2c3d4e5f60718 }",
      "  pod-routes:nodes:",
      "    - { name: worker-0, ip: 10.240.0.20, podCidr: 10.200.0.0/24 }",
    ]);
    const { code, out } = cli("import-file", file);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      resources: [
        {
          type: "aws:ec2/route:Route",
          name: "kubernetes-route-10-200-0-0-24",
          id: "rtb-0a1b2c3d4e5f60718_10.200.0.0/24",
        },
      ],
    });
  });

  it("explains that hosts adopt with pod-routes:adopt instead", () => {
    const { code, err } = cli("import-file", MACHINES);
    expect(code).toBe(1);
    expect(err).toContain("on hosts, set pod-routes:adopt");
  });
});

describe("one plan for the CLI and the deploy", () => {
  const stackFile = (name: string, config: Record<string, unknown>) =>
    tmp(
      name,
      `config:\n${Object.entries(config)
        .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
        .join("\n")}\n`,
    );
  const gcpNodes = [0, 1, 2].map((i) => ({
    name: `worker-${i}`,
    ip: `10.240.0.2${i}`,
    podCidr: `10.200.${i}.0/24`,
  }));

  it("refuses a GCP stack over its route quota, as pulumi up does, with the same message", () => {
    const file = stackFile("Pulumi.quota.yaml", {
      "pod-routes:cloud": "gcp",
      "pod-routes:nodes": gcpNodes,
      "pod-routes:gcp": { routeQuota: 1 },
    });
    const { code, err, out } = cli("plan", file);
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain(
      `${file}: pod-routes:gcp.routeQuota: 3 routes would exceed the static route quota of 1; raise the project's quota (and this setting), or use fewer, larger pod CIDRs`,
    );
  });

  it("refuses an AWS stack whose routes exceed the table's limit", () => {
    const file = stackFile("Pulumi.limit.yaml", {
      "pod-routes:cloud": "aws",
      "pod-routes:nodes": gcpNodes,
      "pod-routes:aws": { routeTableId: "rtb-0a1b2c3d4e5f60718", routeLimit: "2" },
    });
    const { code, err } = cli("plan", file);
    expect(code).toBe(1);
    expect(err).toContain(
      "pod-routes:aws.routeLimit: route table rtb-0a1b2c3d4e5f60718 has 0 other IPv4 routes; adding 3 makes 3, over its limit of 2",
    );
  });

  it("refuses a 5,000-node machines.txt at the SSH limit within seconds, before building the mesh", () => {
    const lines = ["10.0.0.1 gw.example gw"];
    for (let i = 0; i < 5000; i++) {
      lines.push(
        `10.${64 + Math.floor(i / 256)}.${i % 256}.1 n-${i}.example n-${i} 10.${128 + Math.floor(i / 256)}.${i % 256}.0/24`,
      );
    }
    const file = tmp("machines.txt", `${lines.join("\n")}\n`);
    const started = Date.now();
    const { code, err } = cli("plan", file, "--json", "--cluster-cidr", "10.128.0.0/9");
    expect(code).toBe(1);
    expect(err).toContain("machines.txt: 5000 routes per host exceed what the SSH path supports (1024)");
    // A correctness bound, not a benchmark: building the 25-million-route mesh would not finish.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it.each([["true"], [true]])(
    "plans a stack file with pod-routes:adopt %j as the engine reads it",
    (adopt) => {
      const file = stackFile("Pulumi.adopt.yaml", {
        "pod-routes:cloud": "gcp",
        "pod-routes:nodes": gcpNodes,
        "pod-routes:adopt": adopt,
      });
      const { code, out, err } = cli("plan", file, "--json");
      expect(err).toBe("");
      expect(code).toBe(0);
      expect((JSON.parse(out) as { routes: unknown[] }).routes).toHaveLength(3);
    },
  );

  it("labels the WHERE column with what it is", () => {
    expect(cli("plan", GCP()).out.split("\n")[0]).toMatch(/^NETWORK +DESTINATION +NEXT HOP +NODE$/);
    expect(cli("plan", MACHINES).out.split("\n")[0]).toMatch(/^HOST +DESTINATION +NEXT HOP +NODE$/);
  });
});

describe("a stack file with one example host key left", () => {
  it("names that key, and does not call the keys that are set missing", () => {
    const file = stackYaml("Pulumi.baremetal.yaml", [
      "  pod-routes:cloud: baremetal",
      "  pod-routes:sshPrivateKey: { secure: v1:abc }",
      "  pod-routes:nodes:",
      "    - { name: node-0, ip: 198.19.249.34, podCidr: 10.200.0.0/24 }",
      "    - { name: node-1, ip: 198.19.249.136, podCidr: 10.200.1.0/24 }",
      "  pod-routes:ssh:",
      "    hostKeys:",
      "      node-0: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC7yQ0u4w3x1lYh9Gm6c2dY1f2p8qD4bN0sX5rT9kLmA",
      "      node-1: ssh-ed25519 EXAMPLE-replace-with-the-key-ssh-keyscan-prints",
    ]);
    const { code, err } = cli("plan", file);
    expect(code).toBe(1);
    expect(err).toContain("pod-routes found 1 problem");
    expect(err).toContain("pod-routes:ssh.hostKeys.node-1: still holds the example value");
    expect(err).not.toContain("has no host key");
  });
});
