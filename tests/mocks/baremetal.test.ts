// The bare-metal stack under Pulumi's mocks: one HostRoutes per host, with the host's routes as structured
// inputs (never a script), its connection, its pinned key, and the private key as a secret.
import * as pulumi from "@pulumi/pulumi";
import { EXPECTED_ROUTE_TABLE } from "../fixtures";
import { created, ofType, runProgram, runProgramExpectingFailure, USER_VALUES } from "./harness";

const HOST_ROUTES = "pulumi-nodejs:dynamic/pod-routes:HostRoutes";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key\n-----END OPENSSH PRIVATE KEY-----";
const withKey = { "pod-routes:sshPrivateKey": KEY };
/** The stack with the key set as `pulumi config set --secret` sets it. */
const withSecretKey = { stack: "baremetal", overrides: withKey, secretKeys: ["pod-routes:sshPrivateKey"] };

/** The SSH settings a user puts in place of the stack file's EXAMPLE host keys. */
const stackConfigSsh = () =>
  USER_VALUES["baremetal"]!["pod-routes:ssh"] as {
    user: string;
    hostKeys: Record<string, string>;
  };

describe("bare-metal stack (Pulumi.baremetal.yaml)", () => {
  it("registers one HostRoutes per host with its routes as data, its connection and its pinned key", async () => {
    const result = await runProgram(withSecretKey);
    const hosts = ofType(result, HOST_ROUTES);
    expect(hosts.map((h) => [h.name, h.options.parent])).toEqual(
      ["server", "node-0", "node-1"].map((n) => [`pod-routes-${n}`, "pod-routes:ssh:PodRoutes::pod-routes"]),
    );
    const keys = stackConfigSsh().hostKeys;
    const byName = Object.fromEntries(hosts.map((h) => [h.inputs["host"], h.inputs]));
    expect(byName["server"]).toMatchObject({
      address: "198.19.249.10",
      port: 22,
      user: "root",
      hostKey: keys["server"],
      privateKey: KEY,
      owner: "pulumi:organization/pod-routes/baremetal:pod-routes-server",
      routes: { "10.200.0.0/24": "198.19.249.34 node-0", "10.200.1.0/24": "198.19.249.136 node-1" },
      // The controller keeps the workers' names in /etc/hosts, FQDN too (machines.txt has them).
      hostsLines: [
        "198.19.249.34 node-0.kubernetes.local node-0",
        "198.19.249.136 node-1.kubernetes.local node-1",
      ],
      adopt: false,
      connectTimeoutSeconds: 15,
      commandTimeoutSeconds: 300,
    });
    expect(byName["node-0"]?.["routes"]).toEqual({ "10.200.1.0/24": "198.19.249.136 node-1" });
    expect(byName["node-1"]?.["routes"]).toEqual({ "10.200.0.0/24": "198.19.249.34 node-0" });
    // Workers keep no /etc/hosts block; nothing in the state is a script.
    expect(byName["node-0"]?.["hostsLines"]).toBeUndefined();
    for (const host of hosts) {
      expect(String(host.inputs["providerVersion"])).toMatch(/^0\.1\.0\+[0-9a-f]{12}$/);
      expect(JSON.stringify({ ...host.inputs, __provider: undefined })).not.toMatch(
        /#!\/bin\/sh|ip -batch|set -eu/,
      );
      // Another address is another machine: its old routes go first.
      expect(host.options.deleteBeforeReplace).toBe(true);
      expect(host.options.additionalSecretOutputs).toEqual(["privateKey"]);
    }
    // The route table once (not the mesh), and each host's count.
    expect(result.outputs["routes"]).toEqual(EXPECTED_ROUTE_TABLE);
    expect(result.outputs["hosts"]).toEqual({ server: 2, "node-0": 1, "node-1": 1 });
  });

  it("passes the SSH timeouts and the resync timer from pod-routes:ssh to every host", async () => {
    const result = await runProgram({
      stack: "baremetal",
      overrides: {
        ...withKey,
        "pod-routes:ssh": {
          ...stackConfigSsh(),
          connectTimeoutSeconds: "5",
          commandTimeoutSeconds: 60,
          resyncInterval: "15min",
        },
      },
    });
    for (const host of ofType(result, HOST_ROUTES)) {
      expect(host.inputs).toMatchObject({
        connectTimeoutSeconds: 5,
        commandTimeoutSeconds: 60,
        resyncInterval: "15min",
      });
    }
  });

  it("connects where ssh.connectAddresses says; the next hops stay the node IPs", async () => {
    const result = await runProgram({
      stack: "baremetal",
      overrides: {
        ...withKey,
        "pod-routes:ssh": { ...stackConfigSsh(), connectAddresses: { "node-1": "203.0.113.7" } },
      },
    });
    const hosts = ofType(result, HOST_ROUTES);
    expect(hosts.map((h) => h.inputs["address"])).toEqual(["198.19.249.10", "198.19.249.34", "203.0.113.7"]);
    expect(hosts[0]!.inputs["routes"]).toMatchObject({ "10.200.1.0/24": "198.19.249.136 node-1" });
  });

  it("reads an explicit pod-routes:nodes list as well as a machines file", async () => {
    const result = await runProgram({
      stack: "baremetal",
      overrides: {
        ...withKey,
        "pod-routes:machinesFile": undefined,
        "pod-routes:nodes": [
          { name: "server", ip: "198.19.249.10" },
          { name: "node-0", ip: "198.19.249.34", podCidr: "10.200.0.0/24" },
          { name: "node-1", ip: "198.19.249.136", podCidr: "10.200.1.0/24" },
        ],
      },
    });
    const hosts = ofType(result, HOST_ROUTES);
    expect(hosts.map((h) => h.name)).toEqual(["pod-routes-server", "pod-routes-node-0", "pod-routes-node-1"]);
    // Without FQDNs, the controller's hosts block lists IP and name.
    expect(hosts[0]!.inputs["hostsLines"]).toEqual(["198.19.249.34 node-0", "198.19.249.136 node-1"]);
  });

  it("keeps the private key secret: it reaches the engine as a secret, and nowhere else", async () => {
    const result = await runProgram(withSecretKey);
    const hosts = ofType(result, HOST_ROUTES);
    expect(hosts).toHaveLength(3);
    for (const host of hosts) {
      expect(host.secretInputs).toEqual(["privateKey"]);
      const { privateKey: _key, ...rest } = host.inputs;
      expect(JSON.stringify(rest)).not.toContain("PRIVATE KEY");
    }
    expect(JSON.stringify(result.outputs)).not.toContain("PRIVATE KEY");
  });

  it("keeps the key secret even when the stack config forgot to mark it secret", async () => {
    const result = await runProgram({ stack: "baremetal", overrides: withKey });
    for (const host of ofType(result, HOST_ROUTES)) expect(host.secretInputs).toEqual(["privateKey"]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "no private key",
      {},
      "pod-routes:sshPrivateKey: is not set; run `pulumi config set --secret pod-routes:sshPrivateKey",
    ],
    [
      "a host without a pinned key",
      { ...withKey, "pod-routes:ssh": { hostKeys: { server: "ssh-ed25519 AAAAC3Nz" } } },
      'pod-routes:ssh.hostKeys: has no host key for "node-0"; pin it (ssh-keyscan -t ed25519 198.19.249.34 prints it)',
    ],
    [
      "a host key for a host that is not a node",
      {
        ...withKey,
        "pod-routes:ssh": { insecureIgnoreHostKeys: true, hostKeys: { "node-9": "ssh-ed25519 AAAAC3Nz" } },
      },
      'names host "node-9", which is not a node',
    ],
    [
      "a hostile node name",
      {
        ...withKey,
        "pod-routes:machinesFile": undefined,
        "pod-routes:nodes": [
          { name: "node-0;reboot", ip: "198.19.249.34", podCidr: "10.200.0.0/24" },
          { name: "node-1", ip: "198.19.249.136", podCidr: "10.200.1.0/24" },
        ],
      },
      'name "node-0;reboot" is not an RFC 1123 name',
    ],
    [
      "a machines file that is missing",
      { ...withKey, "pod-routes:machinesFile": "nope/machines.txt" },
      "pod-routes:machinesFile: cannot read",
    ],
  ])("fails before any host is touched with %s", async (_label, overrides, expected) => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides,
      secretKeys: ["pod-routes:sshPrivateKey"],
    });
    expect(failure.message).toContain(expected);
    expect(created(failure.result)).toEqual([]);
  });

  it("reports a broken machines file, a bad host key and a missing private key together", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides: {
        "pod-routes:machinesFile": "nope/machines.txt",
        "pod-routes:ssh": { hostKeys: { "node-0": "ssh-dss AAAAB3NzaC1kc3M" } },
      },
    });
    expect(failure.message).toContain("pod-routes:machinesFile: cannot read");
    expect(failure.message).toContain("pod-routes:ssh.hostKeys.node-0: must be a public host key line");
    expect(failure.message).toContain("pod-routes:sshPrivateKey: is not set");
    expect(created(failure.result)).toEqual([]);
  });

  it("pins RSA host keys too (checked with SHA-2 signatures)", async () => {
    const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7";
    const result = await runProgram({
      stack: "baremetal",
      overrides: {
        ...withKey,
        "pod-routes:ssh": { hostKeys: { ...stackConfigSsh().hostKeys, "node-0": rsa } },
      },
    });
    expect(ofType(result, HOST_ROUTES)[1]!.inputs["hostKey"]).toBe(rsa);
  });

  it("reports missing host keys and a missing private key together", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides: { "pod-routes:ssh": { hostKeys: { server: "ssh-ed25519 AAAAC3Nz" } } },
    });
    expect(failure.message).toContain('has no host key for "node-0"');
    expect(failure.message).toContain("pod-routes:sshPrivateKey: is not set");
  });

  it("accepts unpinned hosts only with the explicit opt-out, and warns naming them", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    const result = await runProgram({
      stack: "baremetal",
      overrides: { ...withKey, "pod-routes:ssh": { insecureIgnoreHostKeys: true } },
    });
    const hosts = ofType(result, HOST_ROUTES);
    expect(hosts).toHaveLength(3);
    for (const h of hosts) expect(h.inputs["hostKey"]).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("INSECURE: host keys are not checked for server, node-0, node-1"),
      expect.anything(),
    );
    warn.mockRestore();
  });
});

describe("the stack file as shipped", () => {
  it("fails at preview naming every example host key left in it, and creates nothing", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides: withKey,
      asShipped: true,
    });
    for (const host of ["server", "node-0", "node-1"]) {
      expect(failure.message).toContain(
        `pod-routes:ssh.hostKeys.${host}: still holds the example value "ssh-ed25519 EXAMPLE-replace-with-the-key-ssh-keyscan-prints"; replace it with your own`,
      );
    }
    expect(created(failure.result)).toEqual([]);
  });
});

describe("every problem of every layer at once", () => {
  it("reports config, spec and SSH-plan problems together, registering nothing", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides: {
        "pod-routes:machinesFile": undefined,
        // spec: two nodes with one address; SSH plan: node-1 has no pinned key; config: a port that is no port
        "pod-routes:nodes": [
          { name: "node-0", ip: "198.19.249.34", podCidr: "10.200.0.0/24" },
          { name: "node-1", ip: "198.19.249.34", podCidr: "10.200.1.0/24" },
        ],
        "pod-routes:ssh": {
          port: "twenty-two",
          hostKeys: {
            "node-0": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC7yQ0u4w3x1lYh9Gm6c2dY1f2p8qD4bN0sX5rT9kLmA",
          },
        },
        "pod-routes:sshPrivateKey": "key",
      },
    });
    expect(failure.message).toContain('pod-routes:ssh.port: must be a whole number (got "twenty-two")');
    expect(failure.message).toContain('duplicate IP "198.19.249.34"');
    expect(failure.message).toContain('pod-routes:ssh.hostKeys: has no host key for "node-1"');
    expect(created(failure.result)).toEqual([]);
  });
});
