// Issue 18 under the real Pulumi engine (programs inline through the Automation API, a file backend per
// engine): a malformed private key appears in no output; a create that timed out on the client while the
// host went on is kept in the state, so that the next up finishes it and a destroy cleans the host; and
// two stacks of the same organization, project and name on two backends are two owners, while a stack's
// own hosts recorded before stack identities are taken over by it and rewritten.
// Why inline and not the `pulumi` CLI: item 1 is about a library user's own program passing the key as a
// plain string (the repository's stack program only ever reads it as a secret, which the CLI shows as
// [secret]); items 2 and 8 need programs shaped for the fault (a command timeout shorter than a held lock,
// two backends and a pre-identity owner record in one test). The CLI runs the same engine and provider; the
// user-facing paths are covered through it in baremetal.test.ts, example.test.ts and upgrade.test.ts.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createEngine, Engine } from "../../lab/engine";
import { hostExec, hostSnapshot, Lab, labDown, labHost, labUp, requireRoot } from "../../lab/lab";
import { ssh } from "../../pod-routes";
import { OWNER_FILE } from "../../ssh/host-program/render";
import { MACHINES_TXT } from "../fixtures";
import {
  engineScratch,
  holdLock as holdLockOn,
  lockFree as lockFreeOn,
  ourRoutes,
  until as waitUntil,
} from "../helpers/lab";

jest.setTimeout(900_000);

const STACK_IDENTITY = "pulumi-nodejs:dynamic/pod-routes:StackIdentity";
const HOST_ROUTES = "pulumi-nodejs:dynamic/pod-routes:HostRoutes";

let dir = "";
const engines: Engine[] = [];

beforeAll(() => {
  dir = engineScratch("ssh-faults");
});

afterAll(() => {
  for (const engine of engines) engine.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** An engine of its own (its own backend) for a stack named `stackName` running `program`. */
async function engineFor(name: string, stackName: string, program: () => Promise<Record<string, unknown>>) {
  const engine = await createEngine(stackName, program, { dir: path.join(dir, name) });
  engines.push(engine);
  return engine;
}

/** Everything an operation printed or reported: its output, its events and its error. */
async function everything(
  run: (opts: { onOutput: (s: string) => void; onEvent: (e: unknown) => void }) => Promise<unknown>,
): Promise<{ failed: boolean; text: string }> {
  let text = "";
  const opts = {
    onOutput: (s: string) => void (text += s),
    onEvent: (e: unknown) => void (text += `${JSON.stringify(e)}\n`),
  };
  try {
    const result = await run(opts);
    text += JSON.stringify(result);
    return { failed: false, text };
  } catch (error) {
    text += `${String(error)}\n${(error as Error).stack ?? ""}`;
    return { failed: true, text };
  }
}

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  initErrors?: string[];
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

async function resources(engine: Engine): Promise<StateResource[]> {
  const deployment = (await engine.stack.exportStack()).deployment as { resources?: StateResource[] };
  return deployment.resources ?? [];
}

describe("issue 18 item 1 (no hosts needed)", () => {
  it("issue 18 item 1: a malformed private key appears in no output of a preview or an up", async () => {
    const keyFile = path.join(dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
    const key = fs.readFileSync(keyFile, "utf8");
    const hostKey = fs.readFileSync(`${keyFile}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    const body = key.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
    const malformed: Record<string, string> = {
      // The wrong PEM header around an OpenSSH body.
      "a wrong header": key.replace(/OPENSSH PRIVATE KEY/g, "RSA PRIVATE KEY"),
      // A line of the body damaged.
      "a corrupted line": key.replace(body[1]!, body[1]!.split("").reverse().join("")),
      // Cut short.
      "a key cut short": [key.split("\n")[0], ...body.slice(0, 2), key.split("\n").at(-2)].join("\n"),
    };
    let privateKey = "";
    const engine = await engineFor("key", "key", async () => {
      const routes = new ssh.PodRoutes("pod-routes", {
        privateKey,
        // TEST-NET addresses: nothing is ever contacted (the key is refused first).
        nodes: [
          { name: "node-0", ip: "192.0.2.10", podCidr: "10.200.0.0/24", hostKey },
          { name: "node-1", ip: "192.0.2.11", podCidr: "10.200.1.0/24", hostKey },
        ],
      });
      return { routes: routes.routes };
    });
    for (const [label, text] of Object.entries(malformed)) {
      privateKey = text;
      const runs = [await everything((o) => engine.stack.preview({ ...o, diff: true }))];
      if (label === "a wrong header") runs.push(await everything((o) => engine.stack.up(o)));
      for (const run of runs) {
        expect(run.failed).toBe(true);
        // No piece of the key is anywhere in what the engine printed or reported…
        for (const line of body) {
          for (let at = 0; at + 16 <= line.length; at += 8) {
            const piece = line.slice(at, at + 16);
            if (run.text.includes(piece)) throw new Error(`${label}: the output holds the key's "${piece}"`);
          }
        }
        // …and the problem is named.
        expect(run.text).toContain("privateKey: the private key cannot be read");
      }
    }
    expect((await resources(engine)).filter((r) => r.type === HOST_ROUTES)).toEqual([]);
  });
});

describe("issue 18 on the lab", () => {
  let lab: Lab;
  const baseline: Record<string, string> = {};
  const HOSTS = ["server", "node-0", "node-1"] as const;
  type Host = (typeof HOSTS)[number];

  beforeAll(() => {
    requireRoot();
    lab = labUp(MACHINES_TXT, path.join(dir, "lab"));
    for (const host of HOSTS) baseline[host] = hostSnapshot(lab, host);
  });

  afterAll(() => {
    if (lab) labDown(lab);
  });

  const ours = (host: Host) => ourRoutes(lab, host);
  const owner = (host: Host) => hostExec(lab, host, ["cat", OWNER_FILE]).trim();
  const clean = () => Object.fromEntries(HOSTS.map((h) => [h, hostSnapshot(lab, h) === baseline[h]]));
  const allClean = Object.fromEntries(HOSTS.map((h) => [h, true]));

  /** The lab's hosts (or some of them) as one ssh.PodRoutes, each with the runbook's pod CIDR. */
  const podRoutes = (hosts: readonly Host[], extra: Partial<ssh.PodRoutesArgs> = {}) =>
    new ssh.PodRoutes("pod-routes", {
      privateKey: fs.readFileSync(lab.clientKey, "utf8"),
      nodes: hosts.map((name) => {
        const h = labHost(lab, name);
        // The server has no pod CIDR: a controller.
        return {
          name,
          ip: h.ip,
          hostKey: h.hostKey,
          ...(h.podCidr !== undefined ? { podCidr: h.podCidr } : {}),
        };
      }),
      ...extra,
    });

  // The engine's runs take longer here than the host program alone: wait up to a minute.
  const until = (what: string, ok: () => boolean) => waitUntil(what, ok, 60_000, 200);
  /** Another pod-routes run's lock on the host, held for `seconds`. */
  const holdLock = (host: Host, seconds: number) => holdLockOn(lab, host, seconds, 60_000);
  const lockFree = (host: Host) => lockFreeOn(lab, host);

  it("issue 18 item 2: a create that timed out while the host went on is kept; destroy cleans that host", async () => {
    const engine = await engineFor("timeout", "timeout", async () => {
      const routes = podRoutes(HOSTS, { commandTimeoutSeconds: 3 });
      return { routes: routes.routes };
    });
    const expected = ["10.200.1.0/24 via 198.19.249.136"];

    // node-0 is busy (another run holds its lock) beyond the command timeout: its create fails on the client.
    await holdLock("node-0", 10);
    const first = await everything((o) => engine.stack.up(o));
    expect(first.failed).toBe(true);
    expect(first.text).toContain("applying the routes of host node-0 (198.19.249.34:22)");
    expect(first.text).toContain("the command did not finish within 3000 ms");
    // The engine kept it, with its id and what is known.
    const kept = (await resources(engine)).find((r) => r.urn.endsWith("HostRoutes::pod-routes-node-0"));
    expect(kept?.id).toBe("node-0@198.19.249.34");
    expect(first.text).toContain("pod-routes keeps this host in the stack");
    expect(kept?.outputs?.["applied"]).toBe("");
    expect(kept?.initErrors?.join("\n")).toContain("the command did not finish within 3000 ms");
    // The host program went on when the lock was free: node-0 has its routes, and its owner record.
    await until("node-0 finished the apply", () => ours("node-0").length === 1);
    expect(ours("node-0")).toEqual(expected);

    // A destroy now leaves every host, node-0 too, as it was before pod-routes.
    await engine.stack.destroy();
    expect(clean()).toEqual(allClean);

    // The same again, but the next up finishes the job: node-0 is updated (not created again).
    await until("the lock is free", () => lockFree("node-0"));
    await holdLock("node-0", 10);
    expect((await everything((o) => engine.stack.up(o))).failed).toBe(true);
    await until("the lock is free", () => lockFree("node-0"));
    const again = await engine.stack.up();
    expect(again.summary.resourceChanges).toMatchObject({ update: 1 });
    expect(ours("node-0")).toEqual(expected);
    const state = (await resources(engine)).find((r) => r.urn.endsWith("HostRoutes::pod-routes-node-0"));
    expect(state?.outputs?.["drift"]).toEqual([]);
    expect(state?.initErrors ?? []).toEqual([]);
    await engine.stack.destroy();
    expect(clean()).toEqual(allClean);
  });

  it("issue 18 item 8: a stack of the same name on another backend is refused; the stack's own hosts recorded before stack identities are taken over and rewritten", async () => {
    const program = async () => {
      const routes = podRoutes(["node-0", "node-1"]);
      return { routes: routes.routes };
    };
    // Two teams, each with its own self-managed backend, each a stack `shared` of project `pod-routes`.
    const a = await engineFor("team-a", "shared", program);
    const b = await engineFor("team-b", "shared", program);
    await a.stack.up();
    const recordsOfA = { "node-0": owner("node-0"), "node-1": owner("node-1") };
    const applied = { "node-0": ours("node-0"), "node-1": ours("node-1") };
    expect(applied["node-0"]).toEqual(["10.200.1.0/24 via 198.19.249.136"]);

    // Team B's up is refused on every host, which keeps team A's routes and records.
    const refused = await everything((o) => b.stack.up(o));
    expect(refused.failed).toBe(true);
    for (const host of ["node-0", "node-1"] as const) {
      expect(refused.text).toContain(`host ${host} is managed by another pod-routes stack`);
      expect(owner(host)).toBe(recordsOfA[host]);
      expect(ours(host)).toEqual(applied[host]);
    }
    expect((await resources(b)).filter((r) => r.type === HOST_ROUTES)).toEqual([]);

    // What told them apart: team A's random stack identity, in its state and in the hosts' records.
    const identityOf = async (engine: Engine) =>
      (await resources(engine)).find((r) => r.type === STACK_IDENTITY)?.outputs?.["identity"] as string;
    const idA = await identityOf(a);
    expect(idA).toMatch(/^[0-9a-f]{16}$/);
    const ownerOf = (host: Host, id?: string) =>
      `pulumi:organization/pod-routes/shared${id === undefined ? "" : `@${id}`}:pod-routes-${host}`;
    expect(recordsOfA).toEqual({ "node-0": ownerOf("node-0", idA), "node-1": ownerOf("node-1", idA) });

    // Team A's stack as pod-routes before stack identities left it: no StackIdentity, no stackId, and
    // the hosts' records without one.
    const exported = await a.stack.exportStack();
    const deployment = exported.deployment as { resources: StateResource[] };
    const identityUrn = deployment.resources.find((r) => r.type === STACK_IDENTITY)?.urn;
    deployment.resources = deployment.resources
      .filter((r) => r.type !== STACK_IDENTITY)
      .map((r) => {
        if (r.type !== HOST_ROUTES) return r;
        const { stackId: _in, ...inputs } = r.inputs ?? {};
        const { stackId: _out, ...outputs } = r.outputs ?? {};
        const { stackId: _dep, ...propertyDependencies } = r.propertyDependencies ?? {};
        return {
          ...r,
          inputs,
          outputs,
          propertyDependencies,
          dependencies: (r.dependencies ?? []).filter((d) => d !== identityUrn),
        };
      });
    await a.stack.importStack(exported);
    for (const host of ["node-0", "node-1"] as const) {
      hostExec(lab, host, ["sh", "-c", `printf '%s\\n' '${ownerOf(host)}' >${OWNER_FILE}`]);
    }
    // Team B is still refused: the record of the same name is not its own.
    const stillRefused = await everything((o) => b.stack.up(o));
    expect(stillRefused.failed).toBe(true);
    expect(stillRefused.text).toContain("host node-0 is managed by another pod-routes stack");
    expect(owner("node-0")).toBe(ownerOf("node-0"));

    // Team A's next up takes its own records over and rewrites them with its (new) identity.
    const upgraded = await a.stack.up();
    expect(upgraded.summary.resourceChanges).toMatchObject({ create: 1, update: 2 });
    const idA2 = await identityOf(a);
    expect(idA2).toMatch(/^[0-9a-f]{16}$/);
    for (const host of ["node-0", "node-1"] as const) {
      expect(owner(host)).toBe(ownerOf(host, idA2));
      expect(ours(host)).toEqual(applied[host]);
    }
    // Nothing changed afterwards: no update, and a refresh finds no drift.
    expect((await a.stack.up()).summary.resourceChanges).toEqual({ same: 5 });
    await a.stack.refresh();
    expect((await a.stack.preview()).changeSummary).toEqual({ same: 5 });

    await b.stack.destroy();
    expect([owner("node-0"), ours("node-0")]).toEqual([ownerOf("node-0", idA2), applied["node-0"]]);
    await a.stack.destroy();
    expect(clean()).toEqual(allClean);
  });
});
