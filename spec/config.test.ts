import { parseStackConfig } from "./config";

const wheres = (raw: Record<string, unknown>) => {
  const result = parseStackConfig(raw);
  return result.ok ? [] : result.problems.map((p) => `${p.where}: ${p.message}`);
};
const nodes = [{ name: "worker-0", ip: "10.240.0.20", podCidr: "10.200.0.0/24" }];

describe("stack config", () => {
  it("fills defaults for a minimal GCP stack", () => {
    const result = parseStackConfig({ cloud: "gcp", nodes });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.routeNamePrefix).toBe("kubernetes-route");
      expect(result.value.adopt).toBe(false);
    }
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
