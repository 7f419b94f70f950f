// ssh/transport/session.ts against the real lab: OpenSSH sshd with ed25519, ECDSA and RSA host keys, in network
// namespaces. What pod-routes' bare-metal provider relies on: a script on stdin comes back as exit code
// and output; a host whose key is not the pinned one is refused before anything runs; every failure is
// an SshError of the right kind, on time, naming the host and never the private key; one connection and
// one session per call, counted. Runs as root; without root it fails with the reason (never skips).
import { execFileSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { hostExec, hostRun, labHost, LabHostKeys, PROJECT_ROOT, sshdStart, sshdStop } from "../../lab/lab";
import {
  parseHostKey,
  runScript,
  RunResult,
  sessionCount,
  SshError,
  SshTarget,
} from "../../ssh/transport/session";
import { extraSshd as extraSshdOn, useLab } from "../helpers/lab";

jest.setTimeout(120_000);

const MACHINES = path.join(PROJECT_ROOT, "examples", "machines.txt");
const KEY_TYPES: (keyof LabHostKeys)[] = ["ed25519", "ecdsa", "rsa"];

let clientKey = "";
let sshLog = "";
/** Every SshError message seen, to check at the end that none holds any of the private key. */
const messages: string[] = [];

const fixture = useLab("ssh-session", {
  machines: MACHINES,
  before: (tmp) => {
    sshLog = path.join(tmp, "ssh.log");
    // The tests' session log (lab/ssh-session-log.js), on this process's ssh2.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- test infrastructure in plain JS
    (require("../../lab/ssh-session-log.js") as { countSessions(m: unknown, f: string): void }).countSessions(
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the very module ssh/transport/session.ts uses
      require("ssh2"),
      sshLog,
    );
  },
  setup: (lab) => {
    clientKey = fs.readFileSync(lab.clientKey, "utf8");
  },
});
const theLab = fixture.get;

/** root@<host of the lab> with the lab's client key and the host's pinned ed25519 key. */
function target(host: string, overrides: Partial<SshTarget> = {}): SshTarget {
  const h = labHost(theLab(), host);
  return {
    host: h.ip,
    port: 22,
    user: "root",
    privateKey: clientKey,
    hostKey: h.hostKeys.ed25519,
    connectTimeoutMs: 10_000,
    commandTimeoutMs: 60_000,
    ...overrides,
  };
}

/** The SshError a call rejects with (the test fails if it resolves), and how long it took. */
async function failure(p: Promise<RunResult>): Promise<{ error: SshError; ms: number }> {
  const started = Date.now();
  let result: RunResult;
  try {
    result = await p;
  } catch (error) {
    if (!(error instanceof SshError)) throw error;
    messages.push(error.message);
    return { error, ms: Date.now() - started };
  }
  throw new Error(`expected an SshError, but the command ran: ${JSON.stringify(result)}`);
}

/** A file path on a host that a script creates: it exists afterwards only if the script ran. */
function marker(): { path: string; script: string } {
  const file = `/root/ran-${randomBytes(6).toString("hex")}`;
  return { path: file, script: `touch ${file}\necho ran\n` };
}
function existsOn(host: string, file: string): boolean {
  return hostRun(theLab(), host, ["test", "-e", file]).code === 0;
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}
function sshdLog(host: string): string {
  return fs.readFileSync(path.join(theLab().dir, "hosts", host, "sshd.log"), "utf8");
}
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * A second sshd on node-1, like the lab's but on `port`, logging at DEBUG1 (which names the negotiated
 * host key algorithm) and with extra config lines. Stopped (and its files removed) by the returned function.
 */
const extraSshd = (port: number, extra: string) =>
  extraSshdOn(theLab(), "node-1", port, extra, { debug: true });

describe("runScript on the lab", () => {
  it.each(KEY_TYPES)("runs a script fed on stdin with a pinned %s host key", async (type) => {
    const h = labHost(theLab(), "node-0");
    const r = await runScript(
      target("node-0", { hostKey: h.hostKeys[type] }),
      "sh -s",
      'echo "out ✓"; hostname; echo err >&2; exit 3\n',
    );
    expect(r).toEqual({ code: 3, stdout: "out ✓\nnode-0\n", stderr: "err\n", hostKey: h.hostKeys[type] });
  });

  it.each([
    ["rsa-sha2-512,rsa-sha2-256", "rsa-sha2-512"],
    ["rsa-sha2-256", "rsa-sha2-256"],
  ])(
    "with a pinned RSA key, signs with SHA-2 (server HostKeyAlgorithms %s → %s)",
    async (algorithms, negotiated) => {
      const port = algorithms.includes("512") ? 2201 : 2202;
      const sshd = extraSshd(port, `HostKeyAlgorithms ${algorithms}`);
      try {
        const r = await runScript(
          target("node-1", { port, hostKey: labHost(theLab(), "node-1").hostKeys.rsa }),
          "sh -s",
          "echo rsa-ok\n",
        );
        expect(r).toMatchObject({ code: 0, stdout: "rsa-ok\n" });
        expect(sshd.log()).toContain(`kex: host key algorithm: ${negotiated}`);
      } finally {
        sshd.stop();
      }
    },
  );

  it("never offers SHA-1 ssh-rsa: a server that only signs with it is refused before anything runs", async () => {
    const sshd = extraSshd(2203, "HostKeyAlgorithms ssh-rsa");
    const m = marker();
    try {
      const { error } = await failure(
        runScript(
          target("node-1", { port: 2203, hostKey: labHost(theLab(), "node-1").hostKeys.rsa }),
          "sh -s",
          m.script,
        ),
      );
      expect(error.kind).toBe("hostkey");
      expect(error.message).toMatch(
        /198\.19\.249\.136:2203 has no ssh-rsa host key .*rsa-sha2-512 or rsa-sha2-256/,
      );
      // The server's side of it: exactly what this client offered (sshd may log it a moment later).
      const offered = /no matching host key type found\. Their offer: rsa-sha2-512,rsa-sha2-256 /;
      const deadline = Date.now() + 5_000;
      while (!offered.test(sshd.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(sshd.log()).toMatch(offered);
      expect(existsOn("node-1", m.path)).toBe(false);
    } finally {
      sshd.stop();
    }
  });

  it.each(KEY_TYPES)(
    "refuses node-0 pinned with node-1's %s key: kind hostkey, both fingerprints, nothing ran",
    async (type) => {
      const l = theLab();
      const real = parseHostKey(labHost(l, "node-0").hostKeys[type]);
      const wrong = parseHostKey(labHost(l, "node-1").hostKeys[type]);
      const m = marker();
      const { error } = await failure(
        runScript(target("node-0", { hostKey: labHost(l, "node-1").hostKeys[type] }), "sh -s", m.script),
      );
      expect(error.kind).toBe("hostkey");
      expect(error.message).toContain("198.19.249.34:22");
      expect(error.message).toContain(`presented ${real.type} ${real.fingerprint}`);
      expect(error.message).toContain(`pinned key is ${wrong.type} ${wrong.fingerprint}`);
      expect(error.message).toContain(`ssh-keyscan -t ${type} 198.19.249.34`);
      expect(existsOn("node-0", m.path)).toBe(false);
      // The same script with the right key does create the file: its absence above means something.
      const r = await runScript(
        target("node-0", { hostKey: labHost(l, "node-0").hostKeys[type] }),
        "sh -s",
        m.script,
      );
      expect(r).toMatchObject({ code: 0, stdout: "ran\n" });
      expect(existsOn("node-0", m.path)).toBe(true);
    },
  );

  it("connects without a pinned key (the insecure opt-out) and reports the key it accepted", async () => {
    const r = await runScript(target("server", { hostKey: undefined }), "sh -s", "hostname\n");
    expect(r).toMatchObject({ code: 0, stdout: "server\n" });
    expect(Object.values(labHost(theLab(), "server").hostKeys)).toContain(r.hostKey);
  });

  it("fails with kind auth when the server refuses the private key", async () => {
    const file = path.join(fixture.tmp, "stranger");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
    const stranger = fs.readFileSync(file, "utf8");
    const { error } = await failure(runScript(target("node-0", { privateKey: stranger }), "sh -s", "true\n"));
    expect(error.kind).toBe("auth");
    expect(error.message).toMatch(
      /198\.19\.249\.34:22: the server refused the key for user root .*authorized_keys/,
    );
    for (const line of stranger.split("\n").filter((l) => l.length > 8 && !l.startsWith("-----"))) {
      expect(error.message).not.toContain(line);
    }
  });

  it("fails with kind connect, naming host and port, when sshd is stopped", async () => {
    const l = theLab();
    sshdStop(l, "node-1");
    try {
      const { error, ms } = await failure(runScript(target("node-1"), "sh -s", "true\n"));
      expect(error.kind).toBe("connect");
      expect(error.message).toMatch(/^cannot connect to 198\.19\.249\.136:22: connection refused/);
      expect(ms).toBeLessThan(5_000);
    } finally {
      sshdStart(l, "node-1");
    }
    expect(await runScript(target("node-1"), "sh -s", "echo back\n")).toMatchObject({
      code: 0,
      stdout: "back\n",
    });
  });

  it("fails with kind connect, naming the host, for a name that does not resolve", async () => {
    // .invalid never resolves (RFC 6761); a resolver that is slow to say so hits the connect timeout.
    const { error, ms } = await failure(
      runScript(
        target("server", { host: "no-such-host.invalid", connectTimeoutMs: 5_000 }),
        "sh -s",
        "true\n",
      ),
    );
    expect(["connect", "timeout"]).toContain(error.kind);
    expect(error.message).toContain("no-such-host.invalid:22");
    expect(ms).toBeLessThan(15_000);
  });

  describe("gives up by the connect timeout", () => {
    const LIMIT = 1_500;
    let silent: net.Server | undefined;
    const open = new Set<net.Socket>();
    beforeAll(async () => {
      // Accepts TCP connections and never says a word: not even an SSH version line.
      silent = net.createServer((socket) => {
        open.add(socket);
        socket.resume(); // reads (so it sees the client go), answers nothing
        socket.on("close", () => open.delete(socket));
      });
      const ip = fixture.built?.workstationIp ?? "127.0.0.1";
      await new Promise<void>((resolve) => silent?.listen(0, ip, resolve));
    });
    afterAll(async () => {
      open.forEach((s) => s.destroy());
      await new Promise((resolve) => silent?.close(resolve));
    });

    it("when the listener accepts TCP but never speaks SSH, and closes that connection", async () => {
      const address = silent?.address() as net.AddressInfo;
      const { error, ms } = await failure(
        runScript(
          target("server", { host: address.address, port: address.port, connectTimeoutMs: LIMIT }),
          "sh -s",
          "true\n",
        ),
      );
      expect(["connect", "timeout"]).toContain(error.kind);
      expect(error.message).toContain(`${address.address}:${address.port}`);
      expect(error.message).toContain(`${LIMIT} ms`);
      expect(ms).toBeGreaterThanOrEqual(LIMIT - 50);
      expect(ms).toBeLessThan(3 * LIMIT);
      // The connection is torn down, not left open.
      const deadline = Date.now() + 2_000;
      while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(open.size).toBe(0);
    });

    it("when nothing answers at the address (no host on the lab's network)", async () => {
      const { error, ms } = await failure(
        runScript(target("server", { host: "198.19.249.250", connectTimeoutMs: LIMIT }), "sh -s", "true\n"),
      );
      expect(["connect", "timeout"]).toContain(error.kind);
      expect(error.message).toContain("198.19.249.250:22");
      expect(ms).toBeLessThan(3 * LIMIT);
    });
  });

  it("fails with kind timeout when the command outlives commandTimeoutMs", async () => {
    const limit = 1_500;
    const { error, ms } = await failure(
      runScript(target("node-0", { commandTimeoutMs: limit }), "sh -s", "echo started; sleep 30\n"),
    );
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/^198\.19\.249\.34:22: the command did not finish within 1500 ms/);
    expect(ms).toBeGreaterThanOrEqual(limit);
    expect(ms).toBeLessThan(3 * limit);
  });

  it("fails, rather than hangs, when the connection is lost mid-command", async () => {
    const l = theLab();
    const pidFile = `/root/session-${randomBytes(6).toString("hex")}`;
    const started = Date.now();
    const call = failure(runScript(target("node-0"), "sh -s", `echo $PPID > ${pidFile}; sleep 30\n`));
    // $PPID of the script is the sshd process serving this connection: killing it drops the connection.
    while (hostRun(l, "node-0", ["test", "-s", pidFile]).code !== 0) {
      if (Date.now() - started > 10_000) throw new Error("the script did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
    const sshdPid = hostExec(l, "node-0", ["cat", pidFile]).trim();
    hostExec(l, "node-0", ["sh", "-c", `kill -KILL ${sshdPid}`]);
    const { error, ms } = await call;
    expect(["connect", "protocol"]).toContain(error.kind);
    expect(error.reach).toBe("command");
    expect(error.message).toContain("198.19.249.34:22");
    expect(ms).toBeLessThan(10_000);
  });

  it("reports a command killed by a signal as 128 + its number, with its name in stderr", async () => {
    const r = await runScript(target("node-0"), "sh -s", "echo before; kill -KILL $$\n");
    expect(r.code).toBe(128 + 9);
    expect(r.stdout).toBe("before\n");
    expect(r.stderr).toContain("killed by signal SIGKILL");
  });

  it("carries a 2 MB script to the host and 2 MB of output back intact", async () => {
    // Base64 lines: a heredoc body that cannot contain its terminator.
    const payload =
      (
        randomBytes(1_536_000)
          .toString("base64")
          .match(/.{1,76}/g) ?? []
      ).join("\n") + "\n";
    expect(payload.length).toBeGreaterThan(2_000_000);
    const sha = createHash("sha256").update(payload).digest("hex");
    const script = `sha256sum <<'PAYLOAD_END'\n${payload}PAYLOAD_END\n`;
    const r = await runScript(target("node-1"), "sh -s", script);
    expect(r).toEqual(expect.objectContaining({ code: 0, stdout: `${sha}  -\n`, stderr: "" }));

    // stdin is closed after the last byte (cat would wait forever otherwise) and stdout comes back whole
    // (under a cap raised above the default 1 MiB).
    const echoed = await runScript(target("node-1", { maxOutputBytes: 4 * 1024 * 1024 }), "cat", payload);
    expect(echoed.code).toBe(0);
    expect(echoed.stdout.length).toBe(payload.length);
    expect(createHash("sha256").update(echoed.stdout).digest("hex")).toBe(sha);

    // A command that exits without reading its stdin is no error.
    expect(await runScript(target("node-1"), "exit 4", payload)).toMatchObject({ code: 4 });
  });

  it("issue 18 item 6: a command that prints without end is cut off at 1 MiB per stream, naming the host and the limit", async () => {
    const l = theLab();
    for (const [stream, command] of [
      ["stdout", "head -c 50000000 /dev/zero && echo done >/root/flood-finished"],
      ["stderr", "head -c 50000000 /dev/zero >&2 && echo done >/root/flood-finished"],
    ] as const) {
      hostRun(l, "node-0", ["rm", "-f", "/root/flood-finished"]);
      const started = Date.now();
      const { error } = await failure(runScript(target("node-0"), "sh -s", `${command}\n`));
      expect(error.kind).toBe("output");
      expect(error.reach).toBe("command");
      expect(error.message).toBe(
        `198.19.249.34:22: the command wrote more than 1048576 bytes to ${stream}; pod-routes stopped reading and closed the session (what the command did on the host is unknown)`,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      // The session is gone: the writer on the host gets no further (SIGPIPE), it does not run to its end.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(existsOn("node-0", "/root/flood-finished")).toBe(false);
    }
    // Under the cap, the output comes back whole.
    const r = await runScript(target("node-0"), "sh -s", "head -c 1048576 /dev/zero | tr '\\0' y\n");
    expect(r.stdout).toBe("y".repeat(1024 * 1024));
  });

  it("issue 18 item 3: says how far a failed call got: never reached, reached without running, or ran", async () => {
    const l = theLab();
    // Refused: nothing reached the host (what POD_ROUTES_FORGET_UNREACHABLE may forget).
    sshdStop(l, "node-1");
    try {
      const { error } = await failure(runScript(target("node-1"), "sh -s", "true\n"));
      expect([error.kind, error.reach]).toEqual(["connect", "unreached"]);
    } finally {
      sshdStart(l, "node-1");
    }
    // No machine at the address: the connect timeout, before any TCP connection.
    const none = await failure(
      runScript(target("server", { host: "198.19.249.250", connectTimeoutMs: 1_500 }), "sh -s", "true\n"),
    );
    expect(none.error.reach).toBe("unreached");
    // The host answered, and nothing ran: a host key mismatch, a refused key.
    const mismatch = await failure(
      runScript(target("node-0", { hostKey: labHost(l, "node-1").hostKeys.ed25519 }), "sh -s", "true\n"),
    );
    expect([mismatch.error.kind, mismatch.error.reach]).toEqual(["hostkey", "host"]);
    // The command ran and its end was not seen: a command timeout (e.g. waiting for another run's lock).
    const slow = await failure(
      runScript(target("node-0", { commandTimeoutMs: 1_000 }), "sh -s", "sleep 5\n"),
    );
    expect([slow.error.kind, slow.error.reach]).toEqual(["timeout", "command"]);
    // Refused before connecting (a bad key): not tried at all.
    const bad = await failure(runScript(target("node-0", { privateKey: "garbage" }), "sh -s", "true\n"));
    expect(bad.error.reach).toBe("not-tried");
  });

  it("opens exactly one connection and one session per call, counted and logged", async () => {
    const l = theLab();
    const before = { count: sessionCount(), log: lines(sshLog).length, sshd: sshdLog("node-0") };
    const r = await runScript(target("node-0"), "sh -s", "true\n");
    expect(r.code).toBe(0);
    await failure(
      runScript(target("node-0", { hostKey: labHost(l, "node-1").hostKeys.ed25519 }), "sh -s", "true\n"),
    );
    // Refused before any connection (the pinned key is not a key): not counted.
    await failure(runScript(target("node-0", { hostKey: "ssh-ed25519 AAAA" }), "sh -s", "true\n"));
    expect(sessionCount() - before.count).toBe(2);
    const logged = lines(sshLog).slice(before.log);
    expect(logged).toHaveLength(2);
    for (const line of logged)
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z root@198\.19\.249\.34:22$/);
    // The server's view: two TCP connections, one session (the refused one never got that far).
    const after = sshdLog("node-0").slice(before.sshd.length);
    expect(count(after, "Connection from 198.19.249.1 ")).toBe(2);
    expect(count(after, "Starting session: command for root")).toBe(1);

    // Three hosts at once: three sessions, each its own answer.
    const all = await Promise.all(
      ["server", "node-0", "node-1"].map((h) => runScript(target(h), "hostname", "")),
    );
    expect(all.map((x) => x.stdout)).toEqual(["server\n", "node-0\n", "node-1\n"]);
    expect(sessionCount() - before.count).toBe(5);
    expect(lines(sshLog).slice(before.log)).toHaveLength(5);
  });

  it("never puts the private key in an error message", () => {
    expect(messages.length).toBeGreaterThanOrEqual(10);
    const secretLines = clientKey.split("\n").filter((line) => line.length > 8 && !line.startsWith("-----"));
    expect(secretLines.length).toBeGreaterThan(0);
    for (const message of messages) {
      for (const line of secretLines) expect(message).not.toContain(line);
    }
  });
});
