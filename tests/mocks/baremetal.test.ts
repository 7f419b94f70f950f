import * as pulumi from "@pulumi/pulumi";
import { renderHostScripts } from "../../ssh/legacy-hostscript";
import { parseMachinesTxt } from "../../core/machines";
import { requireValidSpec } from "../../core/validate";
import { viaPosixShell } from "../../ssh/component";
import * as fs from "fs";
import * as path from "path";
import {
  created,
  ofType,
  PROJECT_ROOT,
  runProgram,
  runProgramExpectingFailure,
  stackConfig,
} from "./harness";

const COMMAND = "command:remote:Command";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key\n-----END OPENSSH PRIVATE KEY-----";
const withKey = { "pod-routes:sshPrivateKey": KEY };

const stackConfigSsh = () =>
  JSON.parse(stackConfig("baremetal")["pod-routes:ssh"] ?? "{}") as {
    user: string;
    hostKeys: Record<string, string>;
  };

const fixtureScripts = () =>
  renderHostScripts(
    requireValidSpec({
      nodes: parseMachinesTxt(fs.readFileSync(path.join(PROJECT_ROOT, "examples/machines.txt"), "utf8"))
        .nodes,
    }),
  );

describe("bare-metal stack (Pulumi.baremetal.yaml)", () => {
  it("runs one command per host over SSH, with that host's script on stdin and its delete script", async () => {
    const result = await runProgram({
      stack: "baremetal",
      overrides: withKey,
      secretKeys: ["pod-routes:sshPrivateKey"],
    });
    const commands = ofType(result, COMMAND);
    expect(commands.map((c) => c.name)).toEqual([
      "pod-routes-server",
      "pod-routes-node-0",
      "pod-routes-node-1",
    ]);
    const expected = fixtureScripts();
    commands.forEach((command, i) => {
      const script = expected[i]!;
      expect(command.inputs["create"]).toBe("sh -s");
      expect(command.inputs["update"]).toBe("sh -s");
      expect(command.inputs["stdin"]).toBe(script.apply);
      expect(command.inputs["delete"]).toBe(viaPosixShell(script.remove));
      // No SSH setenv of the previous output: stock sshd refuses it and the provider warns every run.
      expect(command.inputs["addPreviousOutputInEnv"]).toBe(false);
      const encoded = /^printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d \| sh$/.exec(
        String(command.inputs["delete"]),
      );
      expect(Buffer.from(encoded?.[1] ?? "", "base64").toString("utf8")).toBe(script.remove);
      const connection = command.inputs["connection"] as Record<string, unknown>;
      expect(connection).toMatchObject({ host: script.host.ip, port: 22, user: "root", privateKey: KEY });
      expect(String(connection["hostKey"])).toMatch(/^ssh-ed25519 AAAA/);
      // Changes are in-place updates: @pulumi/command replaces only when `triggers` change (its SDK says
      // so in replaceOnChanges), and pod-routes sets none. Should a replacement happen anyway (pulumi up
      // --replace), the old command's delete runs before the new create.
      expect(command.inputs["triggers"]).toBeUndefined();
      expect(command.options.deleteBeforeReplace).toBe(true);
    });
    expect(result.outputs["routes"]).toEqual([
      { where: "server", destination: "10.200.0.0/24", nextHop: "198.19.249.34", node: "node-0" },
      { where: "server", destination: "10.200.1.0/24", nextHop: "198.19.249.136", node: "node-1" },
      { where: "node-0", destination: "10.200.1.0/24", nextHop: "198.19.249.136", node: "node-1" },
      { where: "node-1", destination: "10.200.0.0/24", nextHop: "198.19.249.34", node: "node-0" },
    ]);
  });

  it("pins each host's key from pod-routes:ssh.hostKeys, and connects where ssh.connectAddresses says", async () => {
    const keys = stackConfigSsh().hostKeys;
    const result = await runProgram({
      stack: "baremetal",
      overrides: {
        ...withKey,
        "pod-routes:ssh": { ...stackConfigSsh(), connectAddresses: { "node-1": "203.0.113.7" } },
      },
    });
    const connections = ofType(result, COMMAND).map((c) => c.inputs["connection"] as Record<string, unknown>);
    expect(connections.map((c) => [c["host"], c["hostKey"]])).toEqual([
      ["198.19.249.10", keys["server"]],
      ["198.19.249.34", keys["node-0"]],
      ["203.0.113.7", keys["node-1"]],
    ]);
    // The next hops stay the node IPs: only the SSH address moved.
    expect(String(ofType(result, COMMAND)[0]!.inputs["stdin"])).toContain("10.200.1.0/24 198.19.249.136\n");
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
    const commands = ofType(result, COMMAND);
    expect(commands.map((c) => c.name)).toEqual([
      "pod-routes-server",
      "pod-routes-node-0",
      "pod-routes-node-1",
    ]);
    // Without FQDNs, the controller's hosts block lists IP and name.
    expect(String(commands[0]!.inputs["stdin"])).toContain(
      "<<'POD_ROUTES_EOF'\n198.19.249.34 node-0\n198.19.249.136 node-1\nPOD_ROUTES_EOF\n",
    );
  });

  it("keeps the private key secret: the connection reaches the engine as a secret", async () => {
    const result = await runProgram({
      stack: "baremetal",
      overrides: withKey,
      secretKeys: ["pod-routes:sshPrivateKey"],
    });
    const commands = ofType(result, COMMAND);
    expect(commands).toHaveLength(3);
    for (const command of commands) {
      expect(command.secretInputs).toContain("connection");
      for (const key of ["stdin", "create", "update", "delete"])
        expect(JSON.stringify(command.inputs[key])).not.toContain("PRIVATE KEY");
    }
    // Nor does it leak into the stack outputs.
    expect(JSON.stringify(result.outputs)).not.toContain("PRIVATE KEY");
  });

  it("keeps the key secret even when the stack config forgot to mark it secret", async () => {
    const result = await runProgram({ stack: "baremetal", overrides: withKey });
    for (const command of ofType(result, COMMAND)) expect(command.secretInputs).toContain("connection");
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
      "an RSA host key (the provider cannot verify it against current OpenSSH)",
      {
        ...withKey,
        "pod-routes:ssh": { insecureIgnoreHostKeys: true, hostKeys: { "node-0": "ssh-rsa AAAAB3NzaC1yc2E" } },
      },
      'pod-routes:ssh.hostKeys.node-0: is an RSA key (ssh-rsa AAAAB3NzaC1y…), which @pulumi/command can only check with SHA-1 "ssh-rsa" signatures',
    ],
    [
      "a machines file that is missing",
      { ...withKey, "pod-routes:machinesFile": "nope/machines.txt" },
      "pod-routes:machinesFile: cannot read",
    ],
  ])("fails before any command with %s", async (_label, overrides, expected) => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides,
      secretKeys: ["pod-routes:sshPrivateKey"],
    });
    expect(failure.message).toContain(expected);
    expect(ofType(failure.result, COMMAND)).toEqual([]);
  });

  it("reports a broken machines file, an RSA pin and a missing private key together", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "baremetal",
      overrides: {
        "pod-routes:machinesFile": "nope/machines.txt",
        "pod-routes:ssh": { hostKeys: { "node-0": "ssh-rsa AAAAB3NzaC1yc2E" } },
      },
    });
    expect(failure.message).toContain("pod-routes:machinesFile: cannot read");
    expect(failure.message).toContain("pod-routes:ssh.hostKeys.node-0: is an RSA key");
    expect(failure.message).toContain("pod-routes:sshPrivateKey: is not set");
    expect(ofType(failure.result, COMMAND)).toEqual([]);
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
    const commands = ofType(result, COMMAND);
    expect(commands).toHaveLength(3);
    for (const c of commands) {
      expect((c.inputs["connection"] as Record<string, unknown>)["hostKey"]).toBeUndefined();
    }
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("INSECURE: host keys are not checked for server, node-0, node-1"),
      expect.anything(),
    );
    warn.mockRestore();
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
