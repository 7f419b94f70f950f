// Issue 18 on the lab's real sshd and host program: HostRoutes' provider (what the engine calls) against
// hosts that misbehave or are busy. A forced command that exits 0 without running the program, a delete
// that times out while another run holds the host's lock, a create whose client gave up while the host
// went on, and a host recorded under an owner identity from before stack identities. Runs as root; without
// root it fails with the reason (never skips).
import * as fs from "fs";
import { hostExec, hostRoutes, hostRun, hostSnapshot, labHost } from "../../lab/lab";
import { hostRoutesProvider, HostRoutesInputs, HostRoutesOutputs } from "../../ssh/resource/provider";
import { OWNER_FILE, ROUTE_PROTO, STATE_DIR } from "../../ssh/host-program/render";
import {
  extraSshd as extraSshdOn,
  holdLock as holdLockOn,
  lockFree as lockFreeOn,
  until,
  useLab,
} from "../helpers/lab";

jest.setTimeout(180_000);

const HOSTS = ["server", "node-0", "node-1"] as const;
type Host = (typeof HOSTS)[number];
/** Each host's routes (the runbook's): destination → `<next hop> <node>`. */
const ROUTES: Record<Host, Record<string, string>> = {
  server: { "10.200.0.0/24": "198.19.249.34 node-0", "10.200.1.0/24": "198.19.249.136 node-1" },
  "node-0": { "10.200.1.0/24": "198.19.249.136 node-1" },
  "node-1": { "10.200.0.0/24": "198.19.249.34 node-0" },
};

let clientKey = "";
const baseline: Record<string, string> = {};

const theLab = useLab("ssh-faults", {
  setup: (lab) => {
    clientKey = fs.readFileSync(lab.clientKey, "utf8");
    for (const host of HOSTS) baseline[host] = hostSnapshot(lab, host);
  },
}).get;

afterAll(() => {
  delete process.env["POD_ROUTES_FORGET_UNREACHABLE"];
});

/** HostRoutes' inputs for a lab host, as ssh.PodRoutes would make them. */
function inputs(host: Host, extra: Partial<HostRoutesInputs> = {}): HostRoutesInputs {
  const h = labHost(theLab(), host);
  return {
    host,
    owner: `pulumi:organization/pod-routes/faults:pod-routes-${host}`,
    address: h.ip,
    port: 22,
    user: "root",
    hostKey: h.hostKey,
    privateKey: clientKey,
    routes: ROUTES[host],
    adopt: false,
    connectTimeoutSeconds: 10,
    commandTimeoutSeconds: 60,
    providerVersion: "0.1.0+issue18",
    ...extra,
  };
}

/** The outputs a successful create of `news` records. */
async function created(news: HostRoutesInputs): Promise<HostRoutesOutputs> {
  return (await hostRoutesProvider.create(news)).outs as HostRoutesOutputs;
}

/** The routes pod-routes owns on a host, as `ip route` prints them (without the device). */
const ours = (host: Host) =>
  hostRoutes(theLab(), host, "proto", String(ROUTE_PROTO)).map((l) => l.replace(/ dev \S+\s*$/, ""));
const cat = (host: Host, file: string) => hostExec(theLab(), host, ["cat", file]);

async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a failure, but it succeeded");
}

/** Another run's lock on the host (flock, as the host program takes it), held for `seconds`. */
const holdLock = (host: Host, seconds: number) => holdLockOn(theLab(), host, seconds);
const lockFree = (host: Host) => lockFreeOn(theLab(), host);

/** A second sshd on node-1, like the lab's but on `port` and with extra config lines; stopped by the result. */
const extraSshd = (port: number, extra: string): (() => void) =>
  extraSshdOn(theLab(), "node-1", port, extra).stop;

describe("issue 18: the provider against busy and misbehaving lab hosts", () => {
  it("issue 18 item 5: a login whose forced command exits 0 without running the program fails the create, and changes nothing", async () => {
    const stop = extraSshd(2210, "ForceCommand cat >/dev/null");
    try {
      const error = await rejection(hostRoutesProvider.create(inputs("node-1", { port: 2210 })));
      expect(error.message).toContain(
        "pod-routes: applying the routes of host node-1 (198.19.249.136:2210) failed: the login exited 0 without the host program's own final line",
      );
      expect(hostSnapshot(theLab(), "node-1")).toBe(baseline["node-1"]);
    } finally {
      stop();
    }
    // The control: through the lab's own sshd the same create installs the routes, and its delete removes them.
    const outs = await created(inputs("node-1"));
    expect(ours("node-1")).toEqual(["10.200.0.0/24 via 198.19.249.34"]);
    await hostRoutesProvider.delete("id", outs);
    expect(hostSnapshot(theLab(), "node-1")).toBe(baseline["node-1"]);
  });

  it("issue 18 item 3: a delete that times out while another run holds the host's lock is not forgotten", async () => {
    const outs = await created(inputs("node-0"));
    expect(ours("node-0")).toEqual(["10.200.1.0/24 via 198.19.249.136"]);
    process.env["POD_ROUTES_FORGET_UNREACHABLE"] = "node-0";
    try {
      await holdLock("node-0", 6);
      const error = await rejection(hostRoutesProvider.delete("id", { ...outs, commandTimeoutSeconds: 2 }));
      expect(error.message).toContain(
        "pod-routes: removing the routes of host node-0 (198.19.249.34:22): 198.19.249.34:22: the command did not finish within 2000 ms",
      );
      expect(error.message).toContain("The host answered, so it is not forgotten");
    } finally {
      delete process.env["POD_ROUTES_FORGET_UNREACHABLE"];
    }
    // Once the other run is done, the delete (safe to repeat) leaves the host as it was.
    await until("the lock is free", () => lockFree("node-0"));
    await hostRoutesProvider.delete("id", outs);
    expect(hostSnapshot(theLab(), "node-0")).toBe(baseline["node-0"]);
  });

  it("issue 18 item 2: a create whose client gave up while the host went on is kept, and its delete cleans the host", async () => {
    await holdLock("server", 5);
    const news = { ...inputs("server", { commandTimeoutSeconds: 2 }), __provider: "serialized" };
    const error = await rejection(hostRoutesProvider.create(news as HostRoutesInputs));
    expect(error.message).toContain("the command did not finish within 2000 ms");
    // What the engine records (the dynamic provider's "resource initialization failed"): id and outputs.
    expect(error["id"]).toBe("server@198.19.249.10");
    const outs = error["properties"] as HostRoutesOutputs;
    expect(outs).toMatchObject({
      host: "server",
      address: "198.19.249.10",
      applied: "",
      __provider: "serialized",
    });
    // The host program went on once the lock was free: the routes are there, with no resource but this one.
    // Finished, not only its routes in place: the files are committed after the route batch, then the lock freed.
    await until("the host finished the apply", () => ours("server").length === 2 && lockFree("server"));
    expect(cat("server", OWNER_FILE)).toBe(`${news.owner}\n`);
    // The kept resource's refresh and delete find it.
    const read = await hostRoutesProvider.read("id", outs);
    expect(read.props?.["drift"]).toEqual([
      "the routes or /etc/hosts block recorded on the host are not the ones this stack applied",
    ]);
    await hostRoutesProvider.delete("id", outs);
    expect(hostSnapshot(theLab(), "server")).toBe(baseline["server"]);
  });

  it("issue 18 item 8: a host recorded before stack identities is taken over by its own resource only, and rewritten", async () => {
    // Recorded by today's identity (no stack id): `pulumi:organization/pod-routes/faults:pod-routes-node-0`.
    const old = await created(inputs("node-0"));
    expect(cat("node-0", OWNER_FILE)).toBe("pulumi:organization/pod-routes/faults:pod-routes-node-0\n");
    // Another team's stack of the same organization, project and name (another backend): refused.
    const theirs = inputs("node-0", { stackId: "fedcba9876543210" });
    const refused = await rejection(hostRoutesProvider.create(theirs));
    expect(refused.message).toContain(
      "is managed by another pod-routes stack: /etc/pod-routes/owner says 'pulumi:organization/pod-routes/faults:pod-routes-node-0', this run is 'pulumi:organization/pod-routes/faults@fedcba9876543210:pod-routes-node-0'",
    );
    expect(refused["id"]).toBeUndefined(); // refused before any change: nothing to keep
    // The same resource, now with its stack's identity: takes its own record over and rewrites it.
    const mine = inputs("node-0", { stackId: "0123456789abcdef" });
    expect((await hostRoutesProvider.diff("id", old, mine)).changes).toBe(true);
    const updated = (await hostRoutesProvider.update("id", old, mine)).outs as HostRoutesOutputs;
    expect(cat("node-0", OWNER_FILE)).toBe(
      "pulumi:organization/pod-routes/faults@0123456789abcdef:pod-routes-node-0\n",
    );
    expect(ours("node-0")).toEqual(["10.200.1.0/24 via 198.19.249.136"]);
    // From now on the other stack is refused by the new record too, and the refresh finds no drift.
    expect((await rejection(hostRoutesProvider.create(theirs))).message).toContain(
      "is managed by another pod-routes stack",
    );
    expect((await hostRoutesProvider.read("id", updated)).props?.["drift"]).toEqual([]);
    // A delete of the old identity leaves the host to its new owner; the new one cleans it.
    await hostRoutesProvider.delete("id", old);
    expect(ours("node-0")).toEqual(["10.200.1.0/24 via 198.19.249.136"]);
    await hostRoutesProvider.delete("id", updated);
    expect(hostSnapshot(theLab(), "node-0")).toBe(baseline["node-0"]);
    expect(hostRun(theLab(), "node-0", ["test", "-e", STATE_DIR]).code).not.toBe(0);
  });
});
