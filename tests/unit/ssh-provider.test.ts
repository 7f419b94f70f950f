// HostRoutes' provider, the parts that decide without a host: what a change means (update, replacement,
// nothing), what a refresh's report means (drift), and the digest that stands for the applied routes.
import fc from "fast-check";
import {
  appliedDigest,
  driftOf,
  hostRoutesProvider,
  HostRoutesInputs,
  HostRoutesOutputs,
} from "../../ssh/provider";
import { CheckReport } from "../../ssh/scripts";
import { sessionCount } from "../../ssh/session";

const inputs: HostRoutesInputs = {
  host: "node-0",
  owner: "pulumi:organization/pod-routes/dev:pod-routes-node-0",
  // An address nothing answers on: a test that opened a session would fail, not pass.
  address: "192.0.2.1",
  port: 22,
  user: "root",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC7yQ0u4w3x1lYh9Gm6c2dY1f2p8qD4bN0sX5rT9kLmA",
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n-----END OPENSSH PRIVATE KEY-----",
  routes: { "10.200.1.0/24": "10.240.0.21 worker-1", "10.200.2.0/24": "10.240.0.22 worker-2" },
  adopt: false,
  connectTimeoutSeconds: 1,
  commandTimeoutSeconds: 5,
  providerVersion: "0.1.0+000000000000",
};
const { routes: _r, hostsLines: _h, ...rest } = inputs;
const applied: HostRoutesOutputs = { ...rest, applied: appliedDigest(inputs.routes, undefined), drift: [] };

describe("diff", () => {
  it.each<
    [string, Partial<HostRoutesInputs>, Partial<HostRoutesOutputs>, { changes: boolean; replaces: string[] }]
  >([
    ["nothing changed", {}, {}, { changes: false, replaces: [] }],
    [
      "a route added",
      { routes: { ...inputs.routes, "10.200.3.0/24": "10.240.0.23 worker-3" } },
      {},
      { changes: true, replaces: [] },
    ],
    [
      "a next hop changed",
      { routes: { ...inputs.routes, "10.200.2.0/24": "10.240.0.99 worker-2" } },
      {},
      { changes: true, replaces: [] },
    ],
    [
      "only a node renamed (the host's routes are the same)",
      { routes: { ...inputs.routes, "10.200.2.0/24": "10.240.0.22 worker-9" } },
      {},
      { changes: false, replaces: [] },
    ],
    [
      "the hosts block changed",
      { hostsLines: ["10.240.0.21 worker-1"] },
      {},
      { changes: true, replaces: [] },
    ],
    [
      "another machine (a new address)",
      { address: "192.0.2.2" },
      {},
      { changes: true, replaces: ["address"] },
    ],
    ["a new private key", { privateKey: "other" }, {}, { changes: true, replaces: [] }],
    ["a new pinned key", { hostKey: "ssh-ed25519 AAAA" }, {}, { changes: true, replaces: [] }],
    [
      "a new version of what runs on hosts",
      { providerVersion: "0.2.0+111111111111" },
      {},
      { changes: true, replaces: [] },
    ],
    [
      "drift found by the last refresh",
      {},
      { drift: ["10.200.1.0/24 via 10.240.0.21 is missing (removed by hand?)"] },
      { changes: true, replaces: [] },
    ],
  ])("%s", async (_label, news, olds, expected) => {
    const result = await hostRoutesProvider.diff("id", { ...applied, ...olds }, { ...inputs, ...news });
    expect(result).toEqual({ ...expected, deleteBeforeReplace: true });
  });
});

describe("update", () => {
  it("opens no SSH session for what changes nothing on the host (a new key, user or timeout)", async () => {
    const before = sessionCount();
    const result = await hostRoutesProvider.update("id", applied, {
      ...inputs,
      privateKey: "rotated",
      user: "admin",
    });
    expect(sessionCount()).toBe(before);
    expect(result.outs).toMatchObject({
      privateKey: "rotated",
      user: "admin",
      drift: [],
      applied: applied.applied,
    });
    expect(result.outs).not.toHaveProperty("routes");
  });
});

describe("check", () => {
  it.each<[string, Partial<HostRoutesInputs>, string]>([
    ["no private key", { privateKey: "" }, "privateKey"],
    ["a private key that is not one", { privateKey: "hunter2" }, "privateKey"],
    ["a host key that is not one", { hostKey: "ssh-ed25519 not-base64!" }, "hostKey"],
  ])("fails %s, naming the input (never echoing the key)", async (_label, news, property) => {
    const result = await hostRoutesProvider.check(inputs, { ...inputs, ...news });
    expect(result.failures?.map((f) => f.property)).toContain(property);
    expect(JSON.stringify(result.failures)).not.toContain("hunter2");
  });
});

const report = (patch: Partial<CheckReport>): CheckReport => ({
  owner: inputs.owner,
  state: "present",
  verdicts: [
    {
      verdict: "keep",
      destination: "10.200.1.0/24",
      desiredVia: "10.240.0.21",
      liveVia: "10.240.0.21",
      detail: null,
    },
    {
      verdict: "keep",
      destination: "10.200.2.0/24",
      desiredVia: "10.240.0.22",
      liveVia: "10.240.0.22",
      detail: null,
    },
  ],
  hostsBlock: "missing",
  hosts: [],
  unit: "present",
  ...patch,
});

describe("drift (what a refresh reports)", () => {
  it.each<[string, Partial<CheckReport>, string[]]>([
    ["a host as applied", {}, []],
    [
      "a route removed by hand",
      {
        verdicts: [
          {
            verdict: "add",
            destination: "10.200.1.0/24",
            desiredVia: "10.240.0.21",
            liveVia: null,
            detail: null,
          },
          report({}).verdicts[1]!,
        ],
      },
      ["10.200.1.0/24 via 10.240.0.21 is missing (removed by hand?)"],
    ],
    [
      "a foreign route in the way",
      {
        verdicts: [
          report({}).verdicts[0]!,
          {
            verdict: "conflict",
            destination: "10.200.2.0/24",
            desiredVia: "10.240.0.22",
            liveVia: "10.240.0.9",
            detail: "10.200.2.0/24 via 10.240.0.9 dev eth0 proto static",
          },
        ],
      },
      ["10.200.2.0/24 via 10.240.0.22: in the way: 10.200.2.0/24 via 10.240.0.9 dev eth0 proto static"],
    ],
    [
      "a missing state file",
      { state: "missing", verdicts: [], unit: "missing" },
      ["pod-routes' state file /etc/pod-routes/routes is missing (the host was rebuilt or cleaned by hand?)"],
    ],
    [
      "another owner",
      { owner: "pulumi:acme/other/prod:pod-routes-node-0" },
      [
        "the host is now owned by pulumi:acme/other/prod:pod-routes-node-0, not pulumi:organization/pod-routes/dev:pod-routes-node-0",
      ],
    ],
    [
      "a missing boot unit",
      { unit: "missing" },
      [
        "the boot unit /etc/systemd/system/pod-routes.service is missing: the routes would not come back after a reboot",
      ],
    ],
    [
      "routes recorded on the host that this stack did not apply",
      { verdicts: [report({}).verdicts[0]!] },
      ["the routes or /etc/hosts block recorded on the host are not the ones this stack applied"],
    ],
  ])("%s", (_label, patch, expected) => {
    expect(driftOf(applied, report(patch))).toEqual(expected);
  });
});

describe("appliedDigest", () => {
  it("depends on the routes and the hosts block, not on their order or the nodes' names", () => {
    const route = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }));
    fc.assert(
      fc.property(fc.uniqueArray(route, { selector: ([a]) => a, minLength: 1, maxLength: 20 }), (list) => {
        const entries = list.map(([a, b]) => [`10.200.${a}.0/24`, `10.240.0.${b} worker-${a}`] as const);
        const reversed = [...entries].reverse().map(([d, v]) => [d, v.replace("worker", "node")] as const);
        expect(appliedDigest(Object.fromEntries(entries), undefined)).toBe(
          appliedDigest(Object.fromEntries(reversed), undefined),
        );
        const [first, ...others] = entries;
        const moved = [[first![0], "10.240.1.1 x"] as const, ...others];
        expect(appliedDigest(Object.fromEntries(moved), undefined)).not.toBe(
          appliedDigest(Object.fromEntries(entries), undefined),
        );
        expect(appliedDigest(Object.fromEntries(entries), ["a b"])).not.toBe(
          appliedDigest(Object.fromEntries(entries), undefined),
        );
      }),
    );
  });
});
