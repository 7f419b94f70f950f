// HostRoutes' provider, the parts that decide without a host: what a change means (update, replacement,
// nothing), what a refresh's report means (drift), and the digest that stands for the applied routes.
import { execFileSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Connection, Server, ServerChannel } from "ssh2";
import {
  appliedDigest,
  driftOf,
  hostRoutesProvider,
  HostRoutesInputs,
  HostRoutesOutputs,
} from "../../ssh/resource/provider";
import { CheckReport, parseCheckReport } from "../../ssh/host-program/render";
import { sessionCount } from "../../ssh/transport/session";

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
    expect(result.failures?.map((f) => f.reason.split(":")[0])).toContain(property);
    expect(JSON.stringify(result.failures)).not.toContain("hunter2");
  });

  it("issue 18 item 1: reports a bad key on no property, so that the engine cannot print its value", async () => {
    // The engine prints a failure that names a property as `property <p> value <its value> has a problem`,
    // a secret's value in clear; a failure without a property as `<resource> has a problem: <reason>`.
    const body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW";
    const wrongHeader = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`;
    for (const news of [{ privateKey: wrongHeader }, { privateKey: "" }, { hostKey: wrongHeader }]) {
      const result = await hostRoutesProvider.check(inputs, { ...inputs, ...news });
      expect(result.failures?.length).toBeGreaterThan(0);
      for (const failure of result.failures ?? []) {
        expect(failure.property).toBe("");
        expect(failure.reason).toMatch(/^(privateKey|hostKey): /);
        expect(failure.reason).not.toContain(body.slice(0, 16));
      }
    }
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

// ------------------------------------------------------------------------------------------------------
// Issue 18: what the provider does with a host that misbehaves. The host is a fake SSH server on loopback
// (ssh2's Server, any key accepted): it receives the script and answers as each test tells it.

interface FakeHost {
  readonly port: number;
  readonly hostKey: string;
  /** Every script received (once stdin ended). */
  readonly scripts: string[];
  close(): Promise<void>;
}

let tmp = "";
let clientKey = "";
const hosts: FakeHost[] = [];

function keygen(name: string): { priv: string; pub: string } {
  const file = path.join(tmp, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  return { priv: fs.readFileSync(file, "utf8"), pub: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** A fake host that runs `answer` with each script it receives (after its stdin ended). */
async function fakeHost(answer: (script: string, channel: ServerChannel) => void): Promise<FakeHost> {
  const key = keygen(`host-${hosts.length}`);
  const scripts: string[] = [];
  const clients: Connection[] = [];
  const server = new Server({ hostKeys: [key.priv] }, (client) => {
    clients.push(client);
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => ctx.accept());
    client.on("ready", () => {
      client.on("session", (accept) => {
        accept().on("exec", (acceptExec) => {
          const channel = acceptExec();
          let script = "";
          channel.on("data", (chunk: Buffer) => (script += chunk.toString("utf8")));
          channel.on("end", () => {
            scripts.push(script);
            answer(script, channel);
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host: FakeHost = {
    port: (server.address() as net.AddressInfo).port,
    hostKey: key.pub.split(" ").slice(0, 2).join(" "),
    scripts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const client of clients) client.end();
      }),
  };
  hosts.push(host);
  return host;
}

/** The variable `name` as the script assigns it (`NAME='value'`). */
const variable = (script: string, name: string): string | undefined =>
  new RegExp(`^${name}='([^']*)'$`, "m").exec(script)?.[1];

/** What a good run of the real program prints last: its nonce, from the script. */
const done = (script: string) => `pod-routes-done\t${variable(script, "NONCE") ?? "?"}\n`;

/** The fake host's inputs: the routes of `inputs`, the fake's address, port and key. */
const at = (host: FakeHost, extra: Partial<HostRoutesInputs> = {}): HostRoutesInputs => ({
  ...inputs,
  address: "127.0.0.1",
  port: host.port,
  hostKey: host.hostKey,
  privateKey: clientKey,
  connectTimeoutSeconds: 5,
  commandTimeoutSeconds: 5,
  ...extra,
});

const rejection = async (p: Promise<unknown>): Promise<Error & Record<string, unknown>> => {
  try {
    await p;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a failure, but it succeeded");
};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-provider-unit-"));
  clientKey = keygen("client").priv;
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  delete process.env["POD_ROUTES_FORGET_UNREACHABLE"];
});

describe("issue 18: a host that misbehaves", () => {
  it("the fake host, as the real program answers: create, update and delete succeed", async () => {
    const host = await fakeHost((script, channel) => {
      channel.write(`pod-routes: node-0: added 2, changed 0\n${done(script)}`);
      channel.exit(0);
      channel.end();
    });
    const created = await hostRoutesProvider.create({
      ...at(host),
      __provider: "serialized",
    } as HostRoutesInputs);
    expect(created.id).toBe("node-0@127.0.0.1");
    expect(created.outs).toMatchObject({ applied: applied.applied, drift: [], __provider: "serialized" });
    await hostRoutesProvider.delete(created.id, created.outs as HostRoutesOutputs);
    expect(host.scripts).toHaveLength(2);
  });

  it("issue 18 item 2: a create whose command timed out keeps the resource: its id and outputs go to the engine with the error", async () => {
    const host = await fakeHost(() => undefined); // takes the script and never answers
    const news = { ...at(host, { commandTimeoutSeconds: 1 }), __provider: "serialized" } as HostRoutesInputs;
    const error = await rejection(hostRoutesProvider.create(news));
    expect(error.message).toMatch(/host node-0 \(127\.0\.0\.1:\d+\).*did not finish within 1000 ms/);
    // What the dynamic provider's shim turns into "resource initialization failed" (the engine keeps it).
    expect(error["id"]).toBe("node-0@127.0.0.1");
    expect(error["reasons"]).toEqual([error.message]);
    const outs = error["properties"] as HostRoutesOutputs & { __provider?: string };
    expect(outs).toMatchObject({ host: "node-0", owner: inputs.owner, address: "127.0.0.1", applied: "" });
    expect(outs.__provider).toBe("serialized"); // the delete needs it to find the provider
    expect(outs.drift).toEqual([expect.stringContaining("did not finish")]);
    expect(outs).not.toHaveProperty("routes");
    // The next up runs the host again (a diff), and the engine's delete has what it needs.
    expect((await hostRoutesProvider.diff("id", outs, news)).changes).toBe(true);
  });

  it("issue 18 item 2: a failure that proves nothing reached the host stays a plain failure", async () => {
    const refused = await fakeHost((script, channel) => {
      channel.stderr.write("pod-routes: host node-0: 10.200.1.0/24 via 10.240.0.9 is in the way\n");
      channel.exit(1); // EXIT_CODES.refused: nothing changed
      channel.end();
    });
    const other = keygen("other-host");
    for (const news of [
      at(refused),
      // A host key mismatch: nothing ran.
      at(refused, { hostKey: other.pub.split(" ").slice(0, 2).join(" ") }),
      // A refused connection.
      at(refused, { port: await closedPort() }),
    ]) {
      const error = await rejection(hostRoutesProvider.create(news));
      expect(error["id"]).toBeUndefined();
      expect(error.message).toContain("host node-0 (127.0.0.1:");
    }
  });

  it("issue 18 item 3: forgets only a machine that was never reached, and only when named (no wildcard)", async () => {
    // Accepts TCP and never speaks SSH: a machine that answers (it may be busy, or hold the lock).
    const silent = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    // Takes the script, then never answers: a delete that may be running (or waiting for another run's lock).
    const hanging = await fakeHost(() => undefined);
    try {
      const silentPort = (silent.address() as net.AddressInfo).port;
      const props = (extra: Partial<HostRoutesInputs>): HostRoutesOutputs => {
        const { routes: _routes, hostsLines: _hosts, ...rest } = at(hanging, extra);
        return { ...rest, applied: "x", drift: [] };
      };
      process.env["POD_ROUTES_FORGET_UNREACHABLE"] = "node-0";
      // The TCP connection was made: not forgotten.
      const answered = await rejection(
        hostRoutesProvider.delete("id", props({ port: silentPort, connectTimeoutSeconds: 1 })),
      );
      expect(answered.message).toContain("no SSH session within 1000 ms");
      expect(answered.message).not.toContain("POD_ROUTES_FORGET_UNREACHABLE=node-0");
      // The delete was sent and timed out: not forgotten.
      const timedOut = await rejection(hostRoutesProvider.delete("id", props({ commandTimeoutSeconds: 1 })));
      expect(timedOut.message).toContain("did not finish within 1000 ms");
      // Refused: never reached. Forgotten when named (by host or address), not with `*`.
      const port = await closedPort();
      await expect(hostRoutesProvider.delete("id", props({ port }))).resolves.toBeUndefined();
      process.env["POD_ROUTES_FORGET_UNREACHABLE"] = "127.0.0.1";
      await expect(hostRoutesProvider.delete("id", props({ port }))).resolves.toBeUndefined();
      process.env["POD_ROUTES_FORGET_UNREACHABLE"] = "*";
      const wildcard = await rejection(hostRoutesProvider.delete("id", props({ port })));
      expect(wildcard.message).toContain("connection refused");
      expect(wildcard.message).toContain("POD_ROUTES_FORGET_UNREACHABLE=node-0");
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("issue 18 item 5: a login that exits 0 without the program's own final line fails (create, refresh, delete)", async () => {
    // A forced command (or a wrapper) that swallows the script and exits 0.
    const forced = await fakeHost((_script, channel) => {
      channel.write("Welcome!\n");
      channel.exit(0);
      channel.end();
    });
    // A wrapper that prints a final line, but not this run's.
    const replayed = await fakeHost((_script, channel) => {
      channel.write(`pod-routes-done\t${"0".repeat(32)}\n`);
      channel.exit(0);
      channel.end();
    });
    for (const host of [forced, replayed]) {
      const error = await rejection(hostRoutesProvider.create(at(host)));
      expect(error.message).toMatch(
        /host node-0 \(127\.0\.0\.1:\d+\) failed: the login exited 0 without the host program's own final line/,
      );
      // Whether the program ran is unknown: the resource is kept, for a later delete.
      expect(error["id"]).toBe("node-0@127.0.0.1");
      const { routes: _routes, hostsLines: _hosts, ...rest } = at(host);
      const props: HostRoutesOutputs = { ...rest, applied: "x", drift: [] };
      await expect(hostRoutesProvider.read("id", props)).rejects.toThrow(
        /without the host program's own final line/,
      );
      await expect(hostRoutesProvider.delete("id", props)).rejects.toThrow(
        /without the host program's own final line/,
      );
    }
    // Each run has its own nonce.
    const nonces = [...forced.scripts, ...replayed.scripts].map((s) => variable(s, "NONCE"));
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(nonces.every((n) => /^[0-9a-f]{32}$/.test(n ?? ""))).toBe(true);
  });

  it("issue 18 item 6: a host that prints without end fails the run at 1 MiB per stream, naming the host and the limit", async () => {
    const flood = await fakeHost((_script, channel) => {
      const chunk = Buffer.alloc(64 * 1024, "y");
      const write = (): void => {
        while (channel.writable && channel.write(chunk)) {
          // keep writing until the channel pushes back
        }
        if (channel.writable) channel.once("drain", write);
      };
      write();
    });
    const started = Date.now();
    const error = await rejection(hostRoutesProvider.create(at(flood, { commandTimeoutSeconds: 60 })));
    expect(error.message).toMatch(
      /host node-0 \(127\.0\.0\.1:\d+\): .*wrote more than 1048576 bytes to stdout; pod-routes stopped reading and closed the session/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(error["id"]).toBe("node-0@127.0.0.1"); // it ran: what it did is unknown
  });

  it("issue 18 item 7: host text in errors and drift carries no control characters, and is bounded", async () => {
    const evil = "\u001b[2J\u001b]0;owned\u0007\u009b31m\u202e";
    const loud = await fakeHost((_script, channel) => {
      channel.stderr.write(`${evil}refused${evil}\r\n${"x".repeat(100_000)}\n`);
      channel.exit(1);
      channel.end();
    });
    const error = await rejection(hostRoutesProvider.create(at(loud)));
    expect(error.message).toContain("refused");
    // eslint-disable-next-line no-control-regex -- what must not be there
    expect(error.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(error.message.length).toBeLessThan(5_000);

    // A forged check report: its fields reach the drift, which the checkpoint keeps.
    const forged = [
      "pod-routes-check\t1",
      `owner\t${evil}pulumi:acme/x/y:z${"o".repeat(5_000)}`,
      "state\tpresent",
      `verdict\tconflict\t10.200.1.0/24\t10.240.0.21\t10.240.0.9\t${evil}in the way${evil}`,
      ...Array.from(
        { length: 3_000 },
        (_, i) => `verdict\tadd\t10.${i >> 8}.${i & 255}.0/24\t10.240.0.21\t-\t-`,
      ),
      "hostsblock\tmissing",
      "unit\tpresent",
      "",
    ].join("\n");
    const drift = driftOf(applied, parseCheckReport(forged));
    expect(drift.length).toBeLessThanOrEqual(1_101);
    expect(drift[drift.length - 1]).toMatch(/^… and \d+ more$/);
    for (const entry of drift) {
      // eslint-disable-next-line no-control-regex -- what must not be there
      expect(entry).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
      expect(entry.length).toBeLessThan(400);
    }
    expect(drift[1]).toContain("in the way");
  });

  it("issue 18 item 8: the owner record holds the stack's identity; an update from a record without one takes over that record only", async () => {
    const host = await fakeHost((script, channel) => {
      channel.write(`pod-routes: node-0: added 0\n${done(script)}`);
      channel.exit(0);
      channel.end();
    });
    const oldNews = at(host);
    const { routes: _routes, hostsLines: _hosts, ...rest } = oldNews;
    const olds: HostRoutesOutputs = { ...rest, applied: applied.applied, drift: [] };
    const news = { ...oldNews, stackId: "0123456789abcdef" } as HostRoutesInputs;
    // The same routes, a new identity: an update, which opens a session.
    expect((await hostRoutesProvider.diff("id", olds, news)).changes).toBe(true);
    const result = await hostRoutesProvider.update("id", olds, news);
    const script = host.scripts[host.scripts.length - 1] ?? "";
    expect(variable(script, "OWNER")).toBe(
      "pulumi:organization/pod-routes/dev@0123456789abcdef:pod-routes-node-0",
    );
    expect(variable(script, "PREVIOUS_OWNER")).toBe("pulumi:organization/pod-routes/dev:pod-routes-node-0");
    expect(result.outs).toMatchObject({ stackId: "0123456789abcdef", drift: [] });
    expect(result.outs).not.toHaveProperty("previousOwner");
    // Once rewritten, the next run takes nothing over but its own record; the delete removes its own.
    await hostRoutesProvider.update("id", result.outs as HostRoutesOutputs, {
      ...news,
      routes: { "10.200.1.0/24": "10.240.0.21 worker-1" },
    });
    expect(variable(host.scripts[host.scripts.length - 1] ?? "", "PREVIOUS_OWNER")).toBe("");
    await hostRoutesProvider.delete("id", result.outs as HostRoutesOutputs);
    expect(variable(host.scripts[host.scripts.length - 1] ?? "", "OWNER")).toBe(
      "pulumi:organization/pod-routes/dev@0123456789abcdef:pod-routes-node-0",
    );
  });
});

/** A loopback port nothing listens on (a connection to it is refused). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
