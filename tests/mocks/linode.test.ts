import * as pulumi from "@pulumi/pulumi";
import { linodeInstance, TEST_KEY } from "../helpers/mocks";
import { InvokeHandler, ofType, runProgram, runProgramExpectingFailure } from "./harness";

const HOST_ROUTES = "pulumi-nodejs:dynamic/pod-routes:HostRoutes";
const base = { "pod-routes:sshPrivateKey": TEST_KEY };

// The Linode runbook: controller-0..2 and worker-0..2, each with a public IPv4, a private 192.168 address,
// and (as this stack expects) a VLAN interface 10.240.0.1x / 10.240.0.2x.
const LABELS: Record<string, number> = {
  "controller-0": 10,
  "controller-1": 11,
  "controller-2": 12,
  "worker-0": 20,
  "worker-1": 21,
  "worker-2": 22,
};
const lookups = (vlan = true, missing: string[] = []): Record<string, InvokeHandler> => ({
  "linode:index/getInstances:getInstances": (args) => {
    const filter = (args["filters"] as { name: string; values: string[]; matchBy: string }[])[0]!;
    const label = filter.values[0]!;
    if (filter.name !== "label" || filter.matchBy !== "exact")
      throw new Error("expected an exact label filter");
    return {
      instances:
        missing.includes(label) || !(label in LABELS) ? [] : [linodeInstance(label, LABELS[label]!, vlan)],
    };
  },
});

/** A host's desired routes as `<destination> <next hop>` lines, and its /etc/hosts block. */
const desired = (host: { inputs: Record<string, unknown> }) =>
  Object.entries(host.inputs["routes"] as Record<string, string>).map(([d, v]) => `${d} ${v.split(" ")[0]}`);
const hostsBlock = (host: { inputs: Record<string, unknown> }) =>
  (host.inputs["hostsLines"] as string[] | undefined) ?? [];

describe("Linode stack (Pulumi.linode.yaml)", () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
  });
  afterEach(() => warn.mockRestore());

  it("connects to each instance's public IP and routes via its VLAN address; controllers get every worker", async () => {
    const result = await runProgram({
      stack: "linode",
      overrides: base,
      invokes: lookups(),
      secretKeys: ["pod-routes:sshPrivateKey"],
    });
    const commands = ofType(result, HOST_ROUTES);
    expect(commands.map((c) => c.name)).toEqual([
      "pod-routes-controller-0",
      "pod-routes-controller-1",
      "pod-routes-controller-2",
      "pod-routes-worker-0",
      "pod-routes-worker-1",
      "pod-routes-worker-2",
    ]);
    for (const command of commands) {
      expect(command.secretInputs).toEqual(["privateKey"]);
      const host = command.name.replace("pod-routes-", "");
      expect(command.inputs["address"]).toBe(`203.0.113.${LABELS[host]}`);
    }
    // Every controller: routes to all three workers' pod CIDRs via their VLAN addresses, and the managed
    // /etc/hosts block naming each worker by its private (VLAN) address, as the runbook's lines do.
    for (const controller of commands.slice(0, 3)) {
      expect(desired(controller)).toEqual([
        "10.200.0.0/24 10.240.0.20",
        "10.200.1.0/24 10.240.0.21",
        "10.200.2.0/24 10.240.0.22",
      ]);
      expect(hostsBlock(controller)).toEqual([
        "10.240.0.20 worker-0",
        "10.240.0.21 worker-1",
        "10.240.0.22 worker-2",
      ]);
    }
    // Every worker: the other workers' subnets, never its own, and no hosts block.
    commands.slice(3).forEach((worker, i) => {
      expect(desired(worker)).toEqual(
        [0, 1, 2].filter((j) => j !== i).map((j) => `10.200.${j}.0/24 10.240.0.2${j}`),
      );
      expect(worker.inputs["hostsLines"]).toBeUndefined();
    });
    // Instances were looked up one by one, by exact label.
    expect(result.invokes.map((i) => i.args["filters"])).toEqual(
      Object.keys(LABELS).map((label) => [{ name: "label", values: [label], matchBy: "exact" }]),
    );
    // The route table once, not the mesh; and how many routes each host has.
    expect(result.outputs["routes"]).toContainEqual({
      where: "every host but worker-2",
      destination: "10.200.2.0/24",
      nextHop: "10.240.0.22",
      node: "worker-2",
    });
    expect(result.outputs["routes"]).toHaveLength(3);
    expect(result.outputs["hosts"]).toEqual({
      "controller-0": 3,
      "controller-1": 3,
      "controller-2": 3,
      "worker-0": 2,
      "worker-1": 2,
      "worker-2": 2,
    });
    // The example stack does not pin host keys yet: the preview says so, loudly, naming the hosts.
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("INSECURE: host keys are not checked for controller-0, controller-1"),
      expect.anything(),
    );
  });

  it("warns, with the fix, when the default private network would drop pod traffic", async () => {
    const result = await runProgram({
      stack: "linode",
      overrides: {
        ...base,
        "pod-routes:linode": {
          controllers: ["controller-0"],
          workers: ["worker-0", "worker-1"],
          podCidrs: { "worker-0": "10.200.0.0/24", "worker-1": "10.200.1.0/24" },
          privateNetwork: "default",
        },
      },
      invokes: lookups(false),
    });
    expect(ofType(result, HOST_ROUTES)).toHaveLength(3);
    // Next hops are the private 192.168 addresses; connections still go to the public ones.
    const controller = ofType(result, HOST_ROUTES)[0]!;
    expect(desired(controller)).toEqual(["10.200.0.0/24 192.168.140.20", "10.200.1.0/24 192.168.140.21"]);
    expect(hostsBlock(controller)).toEqual(["192.168.140.20 worker-0", "192.168.140.21 worker-1"]);
    expect(controller.inputs["address"]).toBe("203.0.113.10");
    // Not marked secret in the config, and still secret on the wire.
    expect(controller.secretInputs).toEqual(["privateKey"]);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("drops packets whose source is outside 192.168.128.0/17"),
    );
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('set pod-routes:linode.privateNetwork to "vlan" or "vpc"'),
    );
  });

  it("finds the private address in the IPv4 list when privateIpAddress is empty", async () => {
    const answers = lookups(false);
    const result = await runProgram({
      stack: "linode",
      overrides: {
        ...base,
        "pod-routes:linode": {
          workers: ["worker-0", "worker-1"],
          podCidrs: { "worker-0": "10.200.0.0/24", "worker-1": "10.200.1.0/24" },
          privateNetwork: "default",
        },
      },
      invokes: {
        "linode:index/getInstances:getInstances": (args) => {
          const found = answers["linode:index/getInstances:getInstances"]!(args) as {
            instances: Record<string, unknown>[];
          };
          return { instances: found.instances.map((i) => ({ ...i, privateIpAddress: "", ipAddress: "" })) };
        },
      },
    });
    const [worker0, worker1] = ofType(result, HOST_ROUTES);
    expect(desired(worker0!)).toEqual(["10.200.1.0/24 192.168.140.21"]);
    expect(desired(worker1!)).toEqual(["10.200.0.0/24 192.168.140.20"]);
    expect(worker0!.inputs["address"]).toBe("203.0.113.20");
  });

  it("does not warn about dropped pod traffic on a VLAN", async () => {
    await runProgram({
      stack: "linode",
      overrides: base,
      invokes: lookups(),
      secretKeys: ["pod-routes:sshPrivateKey"],
    });
    expect(warn).not.toHaveBeenCalledWith(expect.stringContaining("drops packets"));
  });

  it("fails before any command when an instance is missing or has no VLAN address", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "linode",
      overrides: base,
      invokes: lookups(true, ["worker-2"]),
    });
    expect(failure.message).toContain('linode instance "worker-2": 0 instances have this exact label');
    expect(ofType(failure.result, HOST_ROUTES)).toEqual([]);
    const noVlan = await runProgramExpectingFailure({
      stack: "linode",
      overrides: base,
      invokes: lookups(false),
    });
    expect(noVlan.message).toContain('linode instance "worker-0": has no VLAN interface address');
    expect(ofType(noVlan.result, HOST_ROUTES)).toEqual([]);
  });
});
