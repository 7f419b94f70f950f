import { gcpRunbookRoute } from "../helpers/mocks";
import { ofType, runProgram, runProgramExpectingFailure, created, RunResult } from "./harness";

const ROUTE = "gcp:compute/route:Route";

/** Every input of every route, exactly: a key the component misspells (so the SDK drops it) fails. */
const routeInputs = (result: RunResult) => ofType(result, ROUTE).map((r) => r.inputs);

describe("GCP stack (Pulumi.gcp.yaml)", () => {
  it("creates the runbook's three routes on kubernetes-the-hard-way", async () => {
    const result = await runProgram({ stack: "gcp" });
    expect(routeInputs(result)).toEqual([0, 1, 2].map((i) => gcpRunbookRoute(i)));
    expect(result.outputs["routes"]).toEqual([
      {
        destination: "10.200.0.0/24",
        nextHop: "10.240.0.20",
        node: "worker-0",
        where: "kubernetes-the-hard-way",
      },
      {
        destination: "10.200.1.0/24",
        nextHop: "10.240.0.21",
        node: "worker-1",
        where: "kubernetes-the-hard-way",
      },
      {
        destination: "10.200.2.0/24",
        nextHop: "10.240.0.22",
        node: "worker-2",
        where: "kubernetes-the-hard-way",
      },
    ]);
  });
});

describe("every input of each GCP route", () => {
  it("carries project, priority and description from pod-routes:gcp, and nothing else", async () => {
    const result = await runProgram({
      stack: "gcp",
      overrides: {
        "pod-routes:gcp": {
          project: "pod-routes-prod",
          network: "kthw-vpc",
          priority: 900,
          description: "pod CIDR of a kubernetes worker",
        },
      },
    });
    expect(routeInputs(result)).toEqual(
      [0, 1, 2].map((i) =>
        gcpRunbookRoute(i, {
          project: "pod-routes-prod",
          network: "kthw-vpc",
          priority: 900,
          description: "pod CIDR of a kubernetes worker",
        }),
      ),
    );
  });

  it("leaves project out when no project is set anywhere (the provider's default)", async () => {
    const result = await runProgram({ stack: "gcp", overrides: { "gcp:project": undefined } });
    expect(routeInputs(result)).toEqual(
      [0, 1, 2].map((i) => {
        const { project: _project, ...inputs } = gcpRunbookRoute(i);
        return inputs;
      }),
    );
  });
});

describe("the GCP stack file as shipped", () => {
  it("fails at preview naming the example project left in it", async () => {
    const failure = await runProgramExpectingFailure({ stack: "gcp", asShipped: true });
    expect(failure.message).toContain(
      'gcp:project: still holds the example value "EXAMPLE-your-gcp-project-id"; set your own (pulumi config set gcp:project <value>)',
    );
    expect(created(failure.result)).toEqual([]);
  });
});

describe("GCP route options", () => {
  it("names each route from the component and the destination, under the component", async () => {
    const result = await runProgram({ stack: "gcp" });
    const [component] = ofType(result, "pod-routes:gcp:PodRoutes");
    expect(component?.name).toBe("pod-routes");
    expect(ofType(result, ROUTE).map((r) => [r.name, r.options.parent])).toEqual(
      [0, 1, 2].map((i) => [`pod-routes-10-200-${i}-0-24`, "pod-routes:gcp:PodRoutes::pod-routes"]),
    );
  });

  it("deletes a route before replacing it, since its name is fixed", async () => {
    const result = await runProgram({ stack: "gcp" });
    for (const route of ofType(result, ROUTE)) {
      expect(route.options.deleteBeforeReplace).toBe(true);
      expect(route.options.importId).toBe("");
    }
  });
});

// What `gcloud compute instances describe worker-i` shows in the runbook.
const instance = (i: number, patch: Record<string, unknown> = {}) => ({
  name: `worker-${i}`,
  canIpForward: true,
  metadata: { "pod-cidr": `10.200.${i}.0/24` },
  networkInterfaces: [{ networkIp: `10.240.0.2${i}`, network: "kubernetes-the-hard-way" }],
  ...patch,
});
const GET_INSTANCE = "gcp:compute/getInstance:getInstance";
const discovery = {
  "pod-routes:nodes": undefined,
  "pod-routes:gcp": { discovery: { zone: "us-west1-c", instances: ["worker-0", "worker-1", "worker-2"] } },
};

describe("GCP discovery (instances by name, pod CIDR from metadata)", () => {
  it("reads each worker's IP and pod-cidr metadata, as the runbook does with gcloud", async () => {
    const result = await runProgram({
      stack: "gcp",
      overrides: discovery,
      invokes: { [GET_INSTANCE]: (args) => instance(Number(String(args["name"]).slice(-1))) },
    });
    expect(result.invokes.map((i) => [i.args["name"], i.args["zone"]])).toEqual([
      ["worker-0", "us-west1-c"],
      ["worker-1", "us-west1-c"],
      ["worker-2", "us-west1-c"],
    ]);
    expect(routeInputs(result)).toEqual([0, 1, 2].map((i) => gcpRunbookRoute(i)));
  });

  it("fails before creating anything when instances cannot forward or lack metadata, naming every one", async () => {
    const broken: Record<string, ReturnType<typeof instance>> = {
      "worker-0": instance(0, { canIpForward: false }),
      "worker-1": instance(1, { metadata: {} }),
      "worker-2": instance(2, { metadata: { "pod-cidr": "10.200.2.5/24" } }),
    };
    const failure = await runProgramExpectingFailure({
      stack: "gcp",
      overrides: discovery,
      invokes: { [GET_INSTANCE]: (args) => broken[String(args["name"])] ?? {} },
    });
    expect(created(failure.result)).toEqual([]);
    const message = failure.message;
    expect(message).toContain('gcp instance "worker-0": has canIpForward=false');
    expect(message).toContain("--can-ip-forward");
    expect(message).toContain(
      'gcp instance "worker-1": has no "pod-cidr" metadata; add it, e.g. gcloud compute instances add-metadata worker-1',
    );
    expect(message).toContain(
      'podCidr "10.200.2.5/24" has host bits set (it is not the network address); use "10.200.2.0/24"',
    );
  });
});

describe("GCP stack validation", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      "overlapping pod CIDRs",
      {
        "pod-routes:nodes": [
          { name: "worker-0", ip: "10.240.0.20", podCidr: "10.200.0.0/23" },
          { name: "worker-1", ip: "10.240.0.21", podCidr: "10.200.1.0/24" },
        ],
      },
      "overlaps pod CIDR 10.200.0.0/23",
    ],
    [
      "an unknown setting",
      { "pod-routes:gcp": { netwrok: "kubernetes-the-hard-way" } },
      "pod-routes:gcp.netwrok: unknown setting",
    ],
    [
      "a quota too small for the routes",
      { "pod-routes:gcp": { routeQuota: 2 } },
      "3 routes would exceed the static route quota of 2",
    ],
  ])("rejects %s with a clear error and registers no route", async (_label, overrides, expected) => {
    const failure = await runProgramExpectingFailure({ stack: "gcp", overrides });
    expect(failure.message).toContain(expected);
    expect(created(failure.result)).toEqual([]);
  });
});
