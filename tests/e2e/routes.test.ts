// The bare-metal runbook, for real: network namespaces for server, node-0 and node-1 with a real sshd in
// each, real `ip route`, real pings between pods.
//
// What runs on the hosts is what `pulumi up` would run, as close as this machine allows without the
// engine: the real index.ts under Pulumi's mocks (tests/mocks/harness.ts) with the bare-metal stack,
// pointed at the lab (its machines file, the lab's host keys pinned in pod-routes:ssh.hostKeys, the lab's
// client key as pod-routes:sshPrivateKey) yields one remote.Command per host; each command's own
// `connection`, `create`/`update`/`delete` and `stdin` are then executed the way @pulumi/command 1.2.1's
// provider executes them: a Go client built on golang.org/x/crypto/ssh with the provider's host key
// handling (ParseAuthorizedKey → FixedHostKey, host key algorithms limited to the pinned key's type), the
// command run in one session with `stdin` on standard input. Creates and updates run in program order
// and deletes of commands that left the program run last, as the engine orders them.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROUTE_PROTO } from "../../ssh/legacy-hostscript";
import { ofType, runProgram } from "../mocks/harness";
import { tool } from "../tools";
import {
  hostExec,
  hostRoutes,
  hostSnapshot,
  Lab,
  labDown,
  labHost,
  labUp,
  podPing,
  RunResult,
  sshRun,
} from "../../lab/lab";
import { MACHINES_TXT, PROJECT_ROOT } from "../fixtures";

jest.setTimeout(240_000);

const MACHINES = fs.readFileSync(MACHINES_TXT, "utf8").trim().split("\n");
const HOSTS = ["server", "node-0", "node-1"];
// The runbook's verification for examples/machines.txt (tests/fixtures.ts).
const EXPECTED: Record<string, string[]> = {
  server: ["10.200.0.0/24 via 198.19.249.34", "10.200.1.0/24 via 198.19.249.136"],
  "node-0": ["10.200.1.0/24 via 198.19.249.136"],
  "node-1": ["10.200.0.0/24 via 198.19.249.34"],
};
// Made by hand before pod-routes ever ran: must survive every run and the delete.
const FOREIGN = "10.99.0.0/24 via 198.19.249.10";
const HAND_EDIT_BEFORE = "10.1.1.1 before.example";
const HAND_EDIT_AFTER = "10.1.1.2 after.example";

// ------------------------------------------------------------------------------------------------ setup

let lab: Lab;
let dir: string;
let client: string;
const baseline: Record<string, string> = {};
let baselineHosts = "";

const snapshot = (name: string) => hostSnapshot(lab, name);
const withoutHostsFile = (snap: string) =>
  snap
    .split("\n")
    .filter((l) => !/^[0-9a-f]{32} {2}\/etc\/hosts$/.test(l))
    .join("\n");
const ours = (name: string) =>
  hostRoutes(lab, name, "proto", String(ROUTE_PROTO)).map((l) => l.replace(/ dev \S+\s*$/, ""));
const etcHosts = (name: string) => hostExec(lab, name, ["cat", "/etc/hosts"]);

// The provider's SSH client, in Go: what @pulumi/command 1.2.1 does in provider/pkg/provider/remote
// (connection.go: SSHConfig; commandOutputs.go: run), minus retries and logging.
const CLIENT_GO = String.raw`package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// encoding/json matches the keys (host, port, user, privateKey, hostKey, command, stdin) to these fields.
type request struct {
	Host       string
	Port       float64
	User       string
	PrivateKey string
	HostKey    *string
	Command    string
	Stdin      *string
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(255)
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		fail("%v", err)
	}
	config := &ssh.ClientConfig{User: req.User, Timeout: 10 * time.Second}
	if req.HostKey != nil {
		publicKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*req.HostKey))
		if err != nil {
			fail("failed to parse host key: %v", err)
		}
		config.HostKeyCallback = ssh.FixedHostKey(publicKey)
		config.HostKeyAlgorithms = []string{publicKey.Type()}
	} else {
		config.HostKeyCallback = ssh.InsecureIgnoreHostKey()
	}
	signer, err := ssh.ParsePrivateKey([]byte(req.PrivateKey))
	if err != nil {
		fail("%v", err)
	}
	config.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	client, err := ssh.Dial("tcp", net.JoinHostPort(req.Host, strconv.Itoa(int(req.Port))), config)
	if err != nil {
		fail("%v", err)
	}
	session, err := client.NewSession()
	if err != nil {
		fail("%v", err)
	}
	if req.Stdin != nil && len(*req.Stdin) > 0 {
		session.Stdin = strings.NewReader(*req.Stdin)
	}
	session.Stdout = os.Stdout
	session.Stderr = os.Stderr
	err = session.Run(req.Command)
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitStatus())
	}
	if err != nil {
		fail("%v", err)
	}
}
`;
// The x/crypto version @pulumi/command 1.2.1's provider is built with (provider/go.mod).
const CLIENT_GO_MOD =
  "module podroutes/remotecommandclient\n\ngo 1.24\n\nrequire golang.org/x/crypto v0.48.0\n";

/** Builds the client once per source version into ~/.cache/pod-routes (scripts/setup.sh installs Go). */
function buildClient(): string {
  const hash = createHash("sha256").update(CLIENT_GO).update(CLIENT_GO_MOD).digest("hex").slice(0, 12);
  const cache = path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "pod-routes");
  const bin = path.join(cache, `remote-command-client-${hash}`);
  if (fs.existsSync(bin)) return bin;
  const src = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-client-"));
  try {
    fs.writeFileSync(path.join(src, "main.go"), CLIENT_GO);
    fs.writeFileSync(path.join(src, "go.mod"), CLIENT_GO_MOD);
    fs.mkdirSync(cache, { recursive: true });
    const built = spawnSync(tool("go", ["version"]), ["build", "-o", `${bin}.tmp`, "."], {
      cwd: src,
      env: { ...process.env, GOFLAGS: "-mod=mod" },
      encoding: "utf8",
      timeout: 600_000,
    });
    if (built.error || built.status !== 0) {
      throw new Error(
        `building the SSH client that stands in for @pulumi/command failed (it needs Go ≥ 1.24, which scripts/setup.sh installs, and the Go module proxy): ${built.error?.message ?? built.stderr}`,
      );
    }
    fs.renameSync(`${bin}.tmp`, bin);
    return bin;
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------ the program and the provider

interface Connection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey: string;
  readonly hostKey?: string;
}
/** One remote.Command as the program registers it. */
interface Command {
  readonly name: string;
  readonly connection: Connection;
  readonly create: string;
  readonly update: string;
  readonly delete: string;
  readonly stdin: string;
}
type Stack = Map<string, Command>;
let machinesFiles = 0;
let projectTmp = "";

/**
 * Runs the real program (bare-metal stack) for these machines.txt lines, with the lab's host keys pinned
 * (by address, so a renamed node keeps its machine's key) and the lab's client key as the secret.
 */
async function program(machines: readonly string[], config: Record<string, unknown> = {}): Promise<Stack> {
  // machinesFile must lie inside the project directory.
  const file = path.join(projectTmp, `machines-${++machinesFiles}.txt`);
  fs.writeFileSync(file, `${machines.join("\n")}\n`);
  const keyOf = (ip: string) => lab.hosts.find((h) => h.ip === ip)?.hostKey;
  const hostKeys = Object.fromEntries(
    machines.map((line) => line.split(/\s+/)).map(([ip, , name]) => [name, keyOf(ip ?? "")]),
  );
  const result = await runProgram({
    stack: "baremetal",
    overrides: {
      "pod-routes:machinesFile": file,
      "pod-routes:ssh": { user: "root", hostKeys },
      "pod-routes:sshPrivateKey": fs.readFileSync(lab.clientKey, "utf8"),
      ...config,
    },
    secretKeys: ["pod-routes:sshPrivateKey"],
  });
  const stack: Stack = new Map();
  for (const resource of ofType(result, "command:remote:Command")) {
    expect(resource.secretInputs).toContain("connection");
    const connection = { value: resource.inputs["connection"] };
    expect(resource.options.deleteBeforeReplace).toBe(true);
    stack.set(resource.name, {
      name: resource.name,
      connection: connection.value as Connection,
      create: String(resource.inputs["create"]),
      update: String(resource.inputs["update"]),
      delete: String(resource.inputs["delete"]),
      stdin: String(resource.inputs["stdin"]),
    });
  }
  return stack;
}

/** What the provider does for one create, update or delete: `command` in one session, `stdin` on stdin. */
function remote(connection: Connection, command: string, stdin: string): RunResult {
  const request = path.join(dir, "request.json");
  fs.writeFileSync(request, JSON.stringify({ ...connection, command, stdin }), { mode: 0o600 });
  try {
    const r = spawnSync(client, [request], { encoding: "utf8", timeout: 120_000 });
    return {
      code: r.status ?? -1,
      stdout: r.stdout ?? "",
      stderr: (r.stderr ?? "") + (r.error?.message ?? ""),
    };
  } finally {
    fs.rmSync(request, { force: true });
  }
}
const create = (c: Command) => remote(c.connection, c.create, c.stdin);
const update = (c: Command) => remote(c.connection, c.update, c.stdin);
// The provider runs `delete` with the state's inputs: the old connection and the old stdin.
const destroy = (c: Command) => remote(c.connection, c.delete, c.stdin);
const hostOf = (c: Command) => c.name.replace(/^pod-routes-/, "");

/**
 * `pulumi up` from one program to the next, in the engine's order: creates and updates (of commands whose
 * inputs changed) in program order, then deletes of the commands that left the program. No command is
 * replaced: none has `triggers`, the only input @pulumi/command replaces on. Stops at the first failure.
 */
function up(before: Stack, after: Stack): Record<string, string> {
  const out: Record<string, string> = {};
  const check = (what: string, c: Command, r: RunResult) => {
    if (r.code !== 0) throw new Error(`${what} of ${c.name} failed (${r.code}): ${r.stderr}`);
    out[hostOf(c)] = r.stdout.trim();
  };
  for (const [name, next] of after) {
    const previous = before.get(name);
    if (!previous) check("create", next, create(next));
    else if (JSON.stringify(previous) !== JSON.stringify(next)) check("update", next, update(next));
  }
  for (const [name, gone] of before) if (!after.has(name)) check("delete", gone, destroy(gone));
  return out;
}

let stack: Stack = new Map();
const command = (host: string) => {
  const found = stack.get(`pod-routes-${host}`);
  if (!found) throw new Error(`no command for ${host}`);
  return found;
};

beforeAll(async () => {
  client = buildClient();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-e2e-"));
  fs.mkdirSync(path.join(PROJECT_ROOT, ".tmp"), { recursive: true });
  projectTmp = fs.mkdtempSync(path.join(PROJECT_ROOT, ".tmp", "e2e-"));
  lab = labUp(MACHINES_TXT, path.join(dir, "lab"));
  hostExec(lab, "node-0", ["ip", "route", "add", ...FOREIGN.split(" ")]);
  hostExec(lab, "server", ["sh", "-c", `echo '${HAND_EDIT_BEFORE}' >> /etc/hosts`]);
  for (const name of HOSTS) baseline[name] = snapshot(name);
  baselineHosts = etcHosts("server");
});

afterAll(() => {
  if (dir) {
    try {
      labDown(path.join(dir, "lab"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(projectTmp, { recursive: true, force: true });
    }
  }
});

// ------------------------------------------------------------------------------------------------ tests

describe("the bare-metal runbook in a real lab, as pulumi up runs it", () => {
  it("starts with pods that cannot reach each other (the routes are what makes it work)", () => {
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
  });

  it("registers one command per host, connecting to the node IP with the host's key pinned", async () => {
    stack = await program(MACHINES);
    expect([...stack.keys()]).toEqual(HOSTS.map((h) => `pod-routes-${h}`));
    for (const name of HOSTS) {
      expect(command(name).connection).toMatchObject({
        host: labHost(lab, name).ip,
        port: 22,
        user: "root",
        hostKey: labHost(lab, name).hostKey,
      });
    }
  });

  it("installs exactly the runbook's routes on every host, under the pod-routes protocol", () => {
    const out = up(new Map(), stack);
    expect(out["server"]).toMatch(
      /^pod-routes: server: added 2, changed 0, adopted 0, removed 0, unchanged 0;/,
    );
    for (const name of HOSTS) expect(ours(name)).toEqual(EXPECTED[name]);
    expect(hostRoutes(lab, "node-0")).toContain("10.200.1.0/24 via 198.19.249.136 dev eth0 proto pod-routes");
    expect(hostRoutes(lab, "node-0")).toContain(`${FOREIGN} dev eth0`);
  });

  it("lets pods on different nodes ping each other, both ways", () => {
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    expect(podPing(lab, "node-1", labHost(lab, "node-0").podIp!)).toBe(true);
  });

  it("gives the controller the managed /etc/hosts block; hand edits before and after it survive", () => {
    const hosts = etcHosts("server");
    expect(hosts).toContain(
      "# BEGIN pod-routes managed block\n198.19.249.34 node-0.kubernetes.local node-0\n198.19.249.136 node-1.kubernetes.local node-1\n# END pod-routes managed block\n",
    );
    expect(hosts).toContain(HAND_EDIT_BEFORE);
    hostExec(lab, "server", ["sh", "-c", `echo '${HAND_EDIT_AFTER}' >> /etc/hosts`]);
    const again = update(command("server"));
    expect(again.code).toBe(0);
    const after = etcHosts("server");
    expect(after).toContain(HAND_EDIT_BEFORE);
    expect(after).toContain(HAND_EDIT_AFTER);
    expect(after.match(/BEGIN pod-routes/g)).toHaveLength(1);
    // Workers get no block; their /etc is as it was apart from pod-routes' own files.
    expect(etcHosts("node-0")).toBe(etcHosts("node-1"));
    expect(etcHosts("node-0")).not.toContain("pod-routes");
  });

  it("changes nothing when it runs again, under dash (sh) and bash alike", () => {
    for (const shell of ["sh -s", "bash -s"]) {
      const before = Object.fromEntries(HOSTS.map((n) => [n, snapshot(n)]));
      for (const name of HOSTS) {
        const c = command(name);
        const result = remote(c.connection, shell, c.stdin);
        expect(result.code).toBe(0);
        expect(result.stdout.trim()).toBe(
          `pod-routes: ${name}: added 0, changed 0, adopted 0, removed 0, unchanged ${EXPECTED[name]!.length}; files changed: none`,
        );
        expect(snapshot(name)).toBe(before[name]);
      }
    }
  });

  it("restores the routes after a simulated reboot, from the state file via the unit's ExecStart", () => {
    const unit = hostExec(lab, "node-0", ["cat", "/etc/systemd/system/pod-routes.service"]);
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    expect(execStart).toBe("/bin/sh /etc/pod-routes/apply-at-boot.sh");
    expect(unit).toMatch(/^After=network-online.target$/m);
    expect(
      hostExec(lab, "node-0", [
        "readlink",
        "/etc/systemd/system/multi-user.target.wants/pod-routes.service",
      ]).trim(),
    ).toBe("/etc/systemd/system/pod-routes.service");
    hostExec(lab, "node-0", ["ip", "route", "flush", "proto", String(ROUTE_PROTO)]);
    expect(ours("node-0")).toEqual([]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
    hostExec(lab, "node-0", execStart!.split(" "));
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
  });

  it.each([
    [
      "node-1",
      ["10.200.0.0/24", "via", "198.19.249.10", "proto", "static"],
      "pod-routes: host node-1 already has a route 10.200.0.0/24 via 198.19.249.10 dev eth0 proto static that pod-routes did not create; it conflicts with the desired 10.200.0.0/24 via 198.19.249.34. Remove it (ip route del 10.200.0.0/24 via 198.19.249.10)",
    ],
    [
      "node-0",
      ["blackhole", "10.200.1.0/24"],
      "pod-routes: host node-0 already has a route blackhole 10.200.1.0/24 proto boot that pod-routes did not create",
    ],
  ])(
    "refuses a conflicting hand-made route on %s, names it, and changes nothing on that host",
    (name, route, message) => {
      const destination = route.find((w) => w.includes("/"))!;
      hostExec(lab, name, ["ip", "route", "del", destination]);
      hostExec(lab, name, ["ip", "route", "add", ...route]);
      const before = snapshot(name);
      const result = update(command(name));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain(
        `pod-routes: host ${name}: 1 problem(s); nothing was changed on this host.`,
      );
      expect(result.stdout).toBe("");
      expect(snapshot(name)).toBe(before);
      // Once the route is gone, the next run puts pod-routes' back.
      hostExec(lab, name, ["ip", "route", "del", ...route]);
      expect(update(command(name)).code).toBe(0);
      expect(ours(name)).toEqual(EXPECTED[name]);
    },
  );

  it("runs nothing of a script cut short in transit", () => {
    // The server's script cut right after the first of its two desired routes: run as it arrived, a naive
    // script would take 10.200.1.0/24 for no longer desired and remove it.
    const c = command("server");
    const cut = c.stdin.indexOf("10.200.0.0/24 198.19.249.34\n") + "10.200.0.0/24 198.19.249.34\n".length;
    const before = snapshot("server");
    const result = remote(c.connection, c.create, c.stdin.slice(0, cut));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Syntax error|syntax error/);
    expect(snapshot("server")).toBe(before);
  });

  it("removes a node's routes everywhere when it leaves the spec, and nothing else", async () => {
    const without = await program(MACHINES.filter((l) => !l.includes(" node-1 ")));
    const out = up(stack, without);
    expect(out["server"]).toContain("removed 1");
    expect(out["node-0"]).toContain("removed 1");
    expect(out["node-1"]).toMatch(/^pod-routes: node-1: removed 1 routes;/);
    expect(ours("server")).toEqual(["10.200.0.0/24 via 198.19.249.34"]);
    expect(ours("node-0")).toEqual([]);
    // node-1, whose command was deleted, is exactly as it was before pod-routes.
    expect(snapshot("node-1")).toBe(baseline["node-1"]);
    expect(etcHosts("server")).not.toContain("node-1");
    expect(hostRoutes(lab, "node-0")).toContain(`${FOREIGN} dev eth0`);
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(false);
    // And back again.
    up(without, stack);
    for (const name of HOSTS) expect(ours(name)).toEqual(EXPECTED[name]);
  });

  it("renames a node without losing its routes: the old command's delete leaves the new one's host alone", async () => {
    const renamed = await program(MACHINES.map((l) => l.replace(/node-1/g, "node-9")));
    expect([...renamed.keys()]).toEqual(["pod-routes-server", "pod-routes-node-0", "pod-routes-node-9"]);
    const out = up(stack, renamed);
    expect(out["node-9"]).toContain("added 0, changed 0, adopted 0, removed 0, unchanged 1");
    expect(out["node-1"]).toBe(
      "pod-routes: node-1: this host is now managed as node-9 (a later pod-routes command took it over); leaving it as it is.",
    );
    for (const name of HOSTS) expect(ours(name)).toEqual(EXPECTED[name]);
    expect(etcHosts("server")).toContain("198.19.249.136 node-9.kubernetes.local node-9\n");
    expect(podPing(lab, "node-0", labHost(lab, "node-1").podIp!)).toBe(true);
    up(renamed, stack);
    for (const name of HOSTS) expect(ours(name)).toEqual(EXPECTED[name]);
    expect(etcHosts("server")).toContain("198.19.249.136 node-1.kubernetes.local node-1\n");
  });

  it("replaces a command delete-first (deleteBeforeReplace): the other order would undo the successor", () => {
    const c = command("node-0");
    // What a replacement runs with deleteBeforeReplace: the old command's delete, then the new one's create.
    expect(destroy(c).code).toBe(0);
    expect(create(c).code).toBe(0);
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
    // The engine's default order, create then delete, ends with no routes at all: why the option is set.
    expect(create(c).code).toBe(0);
    expect(destroy(c).code).toBe(0);
    expect(ours("node-0")).toEqual([]);
    expect(create(c).code).toBe(0);
    expect(ours("node-0")).toEqual(EXPECTED["node-0"]);
  });

  it("refuses a host whose key is not the pinned one, before running anything", async () => {
    const before = snapshot("node-0");
    const wrong = await program(MACHINES, {
      "pod-routes:ssh": {
        user: "root",
        hostKeys: {
          server: labHost(lab, "server").hostKey,
          "node-0": labHost(lab, "node-1").hostKey,
          "node-1": labHost(lab, "node-1").hostKey,
        },
      },
    });
    const c = wrong.get("pod-routes-node-0")!;
    const result = remote(c.connection, "echo reached; touch /etc/pod-routes-reached", "");
    expect(result.code).toBe(255);
    expect(result.stderr).toContain("ssh: handshake failed: ssh: host key mismatch");
    expect(result.stdout).toBe("");
    expect(snapshot("node-0")).toBe(before);
    // The right key gets in (the same probe, harmless, then removed).
    expect(remote(command("node-0").connection, "echo reached", "").stdout).toBe("reached\n");
    // And OpenSSH with a known_hosts that names the wrong key refuses as well.
    const knownHosts = path.join(dir, "wrong_known_hosts");
    fs.writeFileSync(knownHosts, `${labHost(lab, "node-0").ip} ${labHost(lab, "node-1").hostKey}\n`);
    const openssh = sshRun(lab, "node-0", "echo reached", { knownHosts });
    expect(openssh.code).not.toBe(0);
    expect(openssh.stdout).not.toContain("reached");
    expect(openssh.stderr).toMatch(/host key|Host key verification failed/i);
  });

  it("pulumi destroy: the deletes leave every host exactly as it was before pod-routes", () => {
    up(stack, new Map());
    for (const name of HOSTS) {
      if (name === "server") {
        expect(withoutHostsFile(snapshot(name))).toBe(withoutHostsFile(baseline[name]!));
      } else {
        expect(snapshot(name)).toBe(baseline[name]);
      }
    }
    // The server's /etc/hosts: as before, plus the line added by hand while the block was there.
    expect(etcHosts("server")).toBe(`${baselineHosts}${HAND_EDIT_AFTER}\n`);
    expect(hostRoutes(lab, "node-0")).toContain(`${FOREIGN} dev eth0`);
    stack = new Map();
  });

  it("adopts the routes the runbook's own ip route add commands made, and a later delete removes them", async () => {
    const runbook: Record<string, string[][]> = {
      server: [
        ["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"],
        ["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"],
      ],
      "node-0": [["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"]],
      "node-1": [["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"]],
    };
    for (const [name, commands] of Object.entries(runbook)) for (const c of commands) hostExec(lab, name, c);
    const handMade = Object.fromEntries(HOSTS.map((n) => [n, snapshot(n)]));

    // Without adopt: reported clearly, nothing claimed.
    const plain = await program(MACHINES);
    for (const name of HOSTS) {
      const result = create(plain.get(`pod-routes-${name}`)!);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        `pod-routes: host ${name} already has the route ${EXPECTED[name]![0]} dev eth0 proto boot, made by hand (pod-routes did not create it). Set pod-routes:adopt to true`,
      );
      expect(snapshot(name)).toBe(handMade[name]);
    }

    // With adopt: the same routes, now pod-routes' own; nothing else changed.
    const adopting = await program(MACHINES, { "pod-routes:adopt": true });
    const out = up(new Map(), adopting);
    for (const name of HOSTS) {
      expect(out[name]).toContain(`adopted ${EXPECTED[name]!.length}`);
      expect(ours(name)).toEqual(EXPECTED[name]);
      const plainRoutes = (lines: string[]) => lines.map((l) => l.replace(/ proto pod-routes/, ""));
      expect(plainRoutes(hostRoutes(lab, name))).toEqual(
        plainRoutes(
          handMade[name]!.split("--")[0]!
            .trim()
            .split("\n")
            .map((l) => l.trim()),
        ),
      );
    }
    up(adopting, new Map());
    for (const name of HOSTS) expect(ours(name)).toEqual([]);
  });

  it("never touched the real machine", () => {
    expect(fs.existsSync("/etc/pod-routes")).toBe(false);
    expect(fs.readFileSync("/etc/hosts", "utf8")).not.toContain("pod-routes managed block");
    const real = spawnSync("ip", ["route", "show", "proto", String(ROUTE_PROTO)], { encoding: "utf8" });
    expect(real.stdout).toBe("");
  });
});
