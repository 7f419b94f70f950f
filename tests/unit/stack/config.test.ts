import { decodeConfigMap, engineConfigMap, parseStackConfig } from "../../../stack/config";

const wheres = (raw: Record<string, unknown>) =>
  parseStackConfig(raw).problems.map((p) => `${p.where}: ${p.message}`);
const nodes = [{ name: "worker-0", ip: "10.240.0.20", podCidr: "10.200.0.0/24" }];

describe("stack config", () => {
  it("fills defaults for a minimal GCP stack", () => {
    const result = parseStackConfig({ cloud: "gcp", nodes });
    expect(result.problems).toEqual([]);
    expect(result.value.routeNamePrefix).toBe("kubernetes-route");
    expect(result.value.adopt).toBe(false);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "missing cloud",
      { nodes },
      "pod-routes:cloud: is not set; run `pulumi config set pod-routes:cloud <gcp|aws|linode|baremetal>`",
    ],
    [
      "unknown cloud",
      { cloud: "azure", nodes },
      'pod-routes:cloud: must be one of gcp, aws, linode, baremetal (got "azure")',
    ],
    [
      "misspelt key",
      { cloud: "gcp", nodes, clustrCidr: "10.200.0.0/16" },
      "pod-routes:clustrCidr: unknown setting; check the spelling",
    ],
    [
      "misspelt nested key",
      { cloud: "gcp", nodes, gcp: { netwrok: "x" } },
      "pod-routes:gcp.netwrok: unknown setting",
    ],
    ["bad priority", { cloud: "gcp", nodes, gcp: { priority: -1 } }, "pod-routes:gcp.priority: Too small"],
    ["no node source", { cloud: "gcp" }, "pod-routes:nodes: no node source is set"],
    [
      "two node sources",
      { cloud: "baremetal", nodes, machinesFile: "machines.txt" },
      "several node sources are set (pod-routes:nodes, pod-routes:machinesFile); keep exactly one",
    ],
    [
      "settings of another cloud",
      { cloud: "gcp", nodes, aws: { routeTableId: "rtb-0abc" } },
      'pod-routes:aws: is set but pod-routes:cloud is "gcp"',
    ],
    [
      "aws without a route table",
      { cloud: "aws", nodes, aws: {} },
      "pod-routes:aws: no route table is set; give exactly one of aws.routeTableId",
    ],
    [
      "aws with two route tables",
      { cloud: "aws", nodes, aws: { routeTableId: "rtb-0abc", clusterName: "k" } },
      "several route table sources are set (aws.routeTableId, aws.clusterName)",
    ],
    [
      "bad route table id",
      { cloud: "aws", nodes, aws: { routeTableId: "rtb-0abc;ls" } },
      'pod-routes:aws.routeTableId: must look like "rtb-0123456789abcdef0"',
    ],
    [
      "bad host key",
      { cloud: "baremetal", nodes, ssh: { hostKeys: { "node-0": "not a key" } } },
      "pod-routes:ssh.hostKeys.node-0: must be a public host key line",
    ],
    [
      "machinesFile off bare metal",
      { cloud: "gcp", machinesFile: "m.txt" },
      "pod-routes:machinesFile: is read only by the baremetal cloud",
    ],
  ])("%s", (_label, raw, expected) => {
    expect(wheres(raw).join("\n")).toContain(expected);
  });

  it("never reads or echoes the secret key", () => {
    const problems = wheres({ cloud: "gcp", nodes, sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" });
    expect(problems).toEqual([]);
  });
});

describe("one decoder for the engine's config map and a stack file's", () => {
  // What `pulumi config set` writes: every scalar a string.
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ["adopt as the string true", { adopt: "true" }, { adopt: true }],
    ["adopt as the string false", { adopt: "false" }, { adopt: false }],
    ["adopt as a YAML boolean", { adopt: true }, { adopt: true }],
    [
      "a priority as a string of digits",
      { gcp: { priority: "900" } },
      { gcp: expect.objectContaining({ priority: 900 }) },
    ],
    ["a port as a string", { ssh: { port: "2222" } }, { ssh: expect.objectContaining({ port: 2222 }) }],
    [
      "insecureIgnoreHostKeys as a string",
      { ssh: { insecureIgnoreHostKeys: "true" } },
      { ssh: expect.objectContaining({ insecureIgnoreHostKeys: true }) },
    ],
  ])("accepts %s", (_label, extra, expected) => {
    const cloud = "ssh" in extra ? "baremetal" : "gcp";
    const { map } = engineConfigMap(
      Object.fromEntries(Object.entries({ cloud, nodes, ...extra }).map(([k, v]) => [`pod-routes:${k}`, v])),
    );
    const result = parseStackConfig(decodeConfigMap(map));
    expect(result.problems).toEqual([]);
    expect(result.value).toMatchObject(expected);
  });

  it.each([["yes"], ["1"], ["TRUE"]])("refuses adopt %j with the fix", (value) => {
    expect(wheres({ cloud: "gcp", nodes, adopt: value })).toEqual([
      `pod-routes:adopt: must be true or false (got ${JSON.stringify(value)})`,
    ]);
  });

  it("leaves secure values out of the map, and reads every other key as the engine hands it over", () => {
    expect(
      engineConfigMap({
        "pod-routes:cloud": "gcp",
        "pod-routes:gcp": { priority: 900 },
        "pod-routes:sshPrivateKey": { secure: "v1:abc" },
        "gcp:project": "p",
      }),
    ).toEqual({
      map: { "pod-routes:cloud": "gcp", "pod-routes:gcp": '{"priority":900}', "gcp:project": "p" },
      secure: ["pod-routes:sshPrivateKey"],
    });
  });
});

describe("config keys as users set them", () => {
  it("says to use --path for a literal dotted key", () => {
    expect(wheres({ cloud: "gcp", nodes, "gcp.network": "x" })).toEqual([
      "pod-routes:gcp.network: is a literal key with a dot: Pulumi stores nested settings only with --path. Run `pulumi config rm pod-routes:gcp.network` then `pulumi config set --path 'pod-routes:gcp.network' <value>`",
    ]);
  });

  it("names an example value left in place", () => {
    expect(
      wheres({
        cloud: "baremetal",
        nodes,
        ssh: { hostKeys: { "worker-0": "ssh-ed25519 EXAMPLE-replace-me" } },
      }),
    ).toEqual([
      'pod-routes:ssh.hostKeys.worker-0: still holds the example value "ssh-ed25519 EXAMPLE-replace-me"; replace it with your own (see the comments in the stack file)',
    ]);
  });

  it("never echoes a private key pasted into the wrong key", () => {
    const key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    const text = wheres({ cloud: "baremetal", nodes, ssh: { user: key } }).join("\n");
    expect(text).toContain("pod-routes:ssh.user:");
    expect(text).toContain("a value that looks like a private key (not shown)");
    expect(text).not.toContain("b3BlbnNzaC1rZXktdjEAAAAA");
  });

  it("reports problems of every key together, not the first one only", () => {
    expect(
      wheres({ cloud: "gcp", nodes, gcp: { priority: "high" }, adopt: "maybe", clustrCidr: "x" }),
    ).toEqual([
      "pod-routes:clustrCidr: unknown setting; check the spelling (see the README's stack config reference)",
      'pod-routes:adopt: must be true or false (got "maybe")',
      'pod-routes:gcp.priority: must be a whole number (got "high")',
    ]);
  });
});
