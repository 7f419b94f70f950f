// One validated spec through the pipeline: `pulumi up` of each stack validates the spec once (the stack's
// source), plans the routes once (the stack plan), and hands both to the component, which takes them as
// they are. Counted on the real modules, as the program calls them.
import * as pulumi from "@pulumi/pulumi";
import * as corePlan from "../../core/routes";
import * as validate from "../../core/validate";
import { gcp, ssh } from "../../pod-routes";
import { requireValidSpec } from "../../core/validate";
import { ValidSpec } from "../../core/types";
import { awsExplicit, ofType, ProgramFailure, runProgram, RunOptions, RunResult } from "./harness";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key\n-----END OPENSSH PRIVATE KEY-----";

describe("one validated spec, planned once, from config to resources", () => {
  afterEach(() => jest.restoreAllMocks());

  it.each<[string, RunOptions, "planHostRoutes" | "planCloudRoutes"]>([
    [
      "baremetal",
      {
        stack: "baremetal",
        overrides: { "pod-routes:sshPrivateKey": KEY },
        secretKeys: ["pod-routes:sshPrivateKey"],
      },
      "planHostRoutes",
    ],
    ["gcp", { stack: "gcp" }, "planCloudRoutes"],
    ["aws", { stack: "aws", ...awsExplicit() }, "planCloudRoutes"],
  ])("the %s stack validates its spec once and plans its routes once", async (_, options, planner) => {
    const validations = jest.spyOn(validate, "validateSpec");
    const plans = jest.spyOn(corePlan, planner);
    const result = await runProgram(options);
    expect(result.resources.length).toBeGreaterThan(1);
    expect(validations).toHaveBeenCalledTimes(1);
    expect(plans).toHaveBeenCalledTimes(1);
  });
});

describe("components take a validated spec as it is", () => {
  const seed = () =>
    requireValidSpec({
      nodes: [0, 1, 2].map((i) => ({
        name: `worker-${i}`,
        ip: `10.240.0.2${i}`,
        podCidr: `10.200.${i}.0/24`,
      })),
    });
  const run = (create: () => void) =>
    runProgram({ stack: "gcp", program: async () => void create() }).catch((error: unknown) => error);

  it("gcp.PodRoutes from a spec: the same routes as from its nodes", async () => {
    const fromSpec = await run(() => new gcp.PodRoutes("routes", { network: "net", spec: seed() }));
    const fromNodes = await run(
      () => new gcp.PodRoutes("routes", { network: "net", nodes: [...seed().nodes] }),
    );
    const inputs = (r: unknown) => ofType(r as RunResult, "gcp:compute/route:Route").map((x) => x.inputs);
    expect(inputs(fromSpec)).toHaveLength(3);
    expect(inputs(fromSpec)).toEqual(inputs(fromNodes));
  });

  it("ssh.PodRoutes from a spec: host keys and addresses by node name", async () => {
    const keys = Object.fromEntries([0, 1, 2].map((i) => [`worker-${i}`, `ssh-ed25519 AAAAkey${i}`]));
    const result = await run(
      () =>
        new ssh.PodRoutes("routes", {
          spec: seed(),
          privateKey: "key",
          hostKeys: keys,
          addresses: { "worker-1": "192.0.2.1" },
        }),
    );
    const hosts = ofType(result as RunResult, "pulumi-nodejs:dynamic/pod-routes:HostRoutes");
    expect(hosts.map((h) => [h.inputs["host"], h.inputs["hostKey"], h.inputs["address"]])).toEqual([
      ["worker-0", keys["worker-0"], "10.240.0.20"],
      ["worker-1", keys["worker-1"], "192.0.2.1"],
      ["worker-2", keys["worker-2"], "10.240.0.22"],
    ]);
  });

  it.each<[string, () => void, string]>([
    [
      "a spec validation did not make",
      () => new gcp.PodRoutes("routes", { network: "net", spec: { ...seed() } as ValidSpec }),
      "routes: nodes: spec must be one that validateSpec or requireValidSpec made",
    ],
    [
      "a spec and nodes",
      () => new gcp.PodRoutes("routes", { network: "net", spec: seed(), nodes: [...seed().nodes] }),
      "routes: nodes: give either spec or nodes, not both",
    ],
    [
      "a plan made for another spec",
      () => {
        const other = gcp.plan(seed(), { network: "net" });
        if (!other.ok) throw new Error("the seed plans");
        new gcp.PodRoutes("routes", { network: "net", spec: seed(), plan: other.value });
      },
      "routes: plan: is not the plan of this spec",
    ],
    [
      "host keys for a machine that is not a node",
      () =>
        new ssh.PodRoutes("routes", {
          spec: seed(),
          privateKey: "key",
          insecureIgnoreHostKeys: true,
          hostKeys: { "worker-9": "ssh-ed25519 AAAA" },
        }),
      'routes: hostKeys: names "worker-9", which is not a node',
    ],
    [
      "a host plan given with node args (their IPs Outputs) instead of its spec",
      () => {
        const spec = seed();
        const hosts = ssh.plan(spec);
        if (!hosts.ok) throw new Error("the seed plans");
        new ssh.PodRoutes("routes", {
          nodes: spec.nodes.map((node) => ({ ...node, ip: pulumi.output(node.ip) })),
          plan: hosts.value,
          privateKey: "key",
          insecureIgnoreHostKeys: true,
        });
      },
      "routes: plan: is not the plan of this spec",
    ],
  ])("refuses %s, creating nothing", async (_, create, expected) => {
    const failure = await run(create);
    expect(failure).toBeInstanceOf(ProgramFailure);
    expect((failure as ProgramFailure).message).toContain(expected);
    expect((failure as ProgramFailure).result.resources).toEqual([]);
  });
});
