// The SSH client of pod-routes' bare-metal provider: per call, one TCP connection and one session that
// runs one command (a shell reading the host's script on stdin) and brings back its exit code and output.
// Built on ssh2's Client rather than the OpenSSH binary so that host keys are pinned exactly (no
// known_hosts file, no ~/.ssh/config) and every failure comes back as a typed error. No Pulumi here.
import { createHash, createPublicKey } from "crypto";
import * as net from "net";
import { constants as osConstants } from "os";
import { Client, utils } from "ssh2";
import type { ClientChannel, ConnectConfig, ParsedKey, ServerHostKeyAlgorithm } from "ssh2";
import { DEFAULTS } from "../../core/defaults";

export interface SshTarget {
  /** Address to connect to: IPv4, IPv6 or a DNS name. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** OpenSSH or PEM private key text (ed25519, ecdsa, rsa), unencrypted. */
  readonly privateKey: string;
  /**
   * The pinned public host key, `<type> <base64> [comment]`: ssh-ed25519, ecdsa-sha2-nistp256/384/521 or
   * ssh-rsa. Undefined accepts any host key: the insecure opt-out, which the caller must warn about.
   */
  readonly hostKey?: string;
  /** TCP connect, SSH handshake and authentication together; default 15 s. */
  readonly connectTimeoutMs?: number;
  /** The command, from the end of authentication to its exit; default 5 min. */
  readonly commandTimeoutMs?: number;
  /** Bytes read of stdout, and of stderr, before the session is closed as a failure; default 1 MiB each. */
  readonly maxOutputBytes?: number;
}

export interface RunResult {
  /** The command's exit status; 128 + the signal's number when a signal killed it. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The host key the server proved it holds, `<type> <base64>`: what to pin when none was. */
  readonly hostKey: string;
}

export type SshErrorKind = "connect" | "hostkey" | "auth" | "timeout" | "protocol" | "output";

/**
 * How far a failed call got, which decides what its failure may have left on the host:
 * - `not-tried`: refused before any connection (a bad key, port or timeout): nothing was sent anywhere;
 * - `unreached`: no TCP connection was ever made (refused, no route to the host, a name that does not
 *   resolve, or the connect timeout before TCP connected): nothing of pod-routes reached the host;
 * - `host`: the host answered (TCP, the SSH handshake or authentication), but the command was never started
 *   (a host key mismatch, a refused key, a timeout or a lost connection before the session): nothing ran;
 * - `command`: the command was started (or its request sent) and its end was not seen (a command timeout,
 *   a connection lost while it ran, too much output): it may have changed the host.
 */
export type SshReach = "not-tried" | "unreached" | "host" | "command";

/** Why a command could not be run (a command that ran and failed is a RunResult with a non-zero code). */
export class SshError extends Error {
  override readonly name = "SshError";
  constructor(
    readonly kind: SshErrorKind,
    message: string,
    readonly reach: SshReach = "not-tried",
  ) {
    super(message);
  }
}

export interface ParsedHostKey {
  /** The key type of the line, e.g. `ssh-ed25519`. */
  readonly type: string;
  /** The key in SSH wire format: what the server sends and what is compared byte for byte. */
  readonly blob: Buffer;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = DEFAULTS.ssh.connectTimeoutSeconds * 1000;
const DEFAULT_COMMAND_TIMEOUT_MS = DEFAULTS.ssh.commandTimeoutSeconds * 1000;
/** Per stream: a host program's output is a few KB (a check report of 1,024 routes about 100 KB). */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
// A peer that vanishes mid-command (powered off, cable pulled) sends no RST: without keepalives the
// connection would wait for the command timeout. ssh2 gives up after 3 + 1 unanswered pings 10 s apart.
const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_COUNT_MAX = 3;

// The signature algorithms offered to the server for each pinned key type: only the pinned key's own, so
// the server cannot answer with another key of its own that we would have to reject. An RSA key signs
// with SHA-2 only: OpenSSH 8.8 and later refuse SHA-1 "ssh-rsa" signatures, and so does this client.
const HOST_KEY_TYPES: ReadonlyMap<string, { algorithms: ServerHostKeyAlgorithm[]; keyscan: string }> =
  new Map([
    ["ssh-ed25519", { algorithms: ["ssh-ed25519"], keyscan: "ed25519" }],
    ["ecdsa-sha2-nistp256", { algorithms: ["ecdsa-sha2-nistp256"], keyscan: "ecdsa" }],
    ["ecdsa-sha2-nistp384", { algorithms: ["ecdsa-sha2-nistp384"], keyscan: "ecdsa" }],
    ["ecdsa-sha2-nistp521", { algorithms: ["ecdsa-sha2-nistp521"], keyscan: "ecdsa" }],
    ["ssh-rsa", { algorithms: ["rsa-sha2-512", "rsa-sha2-256"], keyscan: "rsa" }],
  ]);
const ANY_HOST_KEY: ServerHostKeyAlgorithm[] = Array.from(HOST_KEY_TYPES.values()).flatMap(
  (t) => t.algorithms,
);
const CLIENT_KEY_TYPES = new Set(HOST_KEY_TYPES.keys());

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A short, printable excerpt of text from the user, for messages. */
function quoted(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** The type name at the start of a key blob (an SSH string), or undefined when it is cut short. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  return n > 0 && n <= 64 && blob.length >= 4 + n ? blob.toString("latin1", 4, 4 + n) : undefined;
}

/** A key blob as a pinnable line, `<type> <base64>`. */
function keyLine(blob: Buffer): string {
  return `${blobType(blob) ?? "unknown"} ${blob.toString("base64")}`;
}

/** Parses a pinned host key line; throws an Error that says what is wrong with it. */
export function parseHostKey(line: string): ParsedHostKey {
  const text = line.trim();
  const types = Array.from(HOST_KEY_TYPES.keys()).join(", ");
  if (text === "") throw new Error("the pinned host key is empty");
  // Never quote any of it: this could be a private key pasted in the wrong place.
  if (text.startsWith("-----BEGIN") || text.startsWith("PuTTY-User-Key-File")) {
    throw new Error(
      "the pinned host key is a private key or a PEM block; pin the host's public key (`ssh-keyscan -t ed25519 <host>`, or /etc/ssh/ssh_host_ed25519_key.pub on the host)",
    );
  }
  // `<type> <base64> [comment]`, as in a .pub file.
  const [type = "", data] = text.split(/\s+/);
  if (!HOST_KEY_TYPES.has(type)) {
    if (data !== undefined && HOST_KEY_TYPES.has(data)) {
      throw new Error(
        `the pinned host key starts with ${quoted(type)} before its type: give the key alone ("${data} AAAA…"), without the host name of a known_hosts or ssh-keyscan line`,
      );
    }
    const cert = type.includes("-cert-") ? " (certificates are not supported: pin the plain host key)" : "";
    // A long base64 word is no type name: perhaps a line of a private key; never quote it.
    const shown = /^[A-Za-z0-9+/=]{20,}$/.test(type)
      ? `(a ${type.length}-character base64 word)`
      : quoted(type);
    throw new Error(`unsupported host key type ${shown}${cert}; pin one of ${types}`);
  }
  if (data === undefined) throw new Error(`the pinned ${type} host key has no key data after its type`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) {
    throw new Error(`the key data of the pinned ${type} host key is not base64 (cut short, or wrapped?)`);
  }
  const blob = Buffer.from(data, "base64");
  const inner = blobType(blob);
  if (inner === undefined) throw new Error(`the key data of the pinned ${type} host key is cut short`);
  if (inner !== type) {
    throw new Error(`the pinned host key says ${type}, but its key data is a ${quoted(inner)} key`);
  }
  // ssh2 decodes the key material; re-encoding it must give the same bytes (nothing missing, nothing
  // trailing, the right curve name) and OpenSSL must accept it (an ECDSA point on its curve).
  const parsed = utils.parseKey(`${type} ${data}`);
  let problem = parsed instanceof Error ? parsed.message : undefined;
  if (!(parsed instanceof Error)) {
    if (!parsed.getPublicSSH().equals(blob)) problem = "unexpected or missing fields";
    else {
      try {
        createPublicKey(parsed.getPublicPEM());
      } catch (error) {
        problem = `OpenSSL cannot use it: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  }
  if (problem !== undefined)
    throw new Error(`the key data of the pinned ${type} host key is malformed (${problem})`);
  return { type, blob, fingerprint: fingerprint(blob) };
}

/** What is wrong with a pinned host key line, or undefined when it can be used. */
export function validateHostKey(line: string): string | undefined {
  try {
    parseHostKey(line);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** ssh2 returns a list for a file of several keys; OpenSSH writes one. */
function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (!Array.isArray(parsed)) return parsed;
  return parsed[0] ?? new Error("no key in the file");
}

/**
 * Replaces anything of `secret` (the private key) that a foreign error message might contain. ssh2's
 * messages are fixed texts today; this keeps that true whatever a future version says.
 */
function redact(message: string, secret: string): string {
  let out = message;
  for (const part of [secret.trim(), ...secret.split(/\s+/)]) {
    if (part.length >= 8) out = out.split(part).join("[redacted]");
  }
  // And any run of 8 or more base64 characters that is part of the key, whole lines or not.
  return out.replace(/[A-Za-z0-9+/=]{8,}/g, (run) => (secret.includes(run) ? "[redacted]" : run));
}

function parsePrivateKey(text: string): { key: ParsedKey } | { problem: string } {
  if (text.trim() === "") return { problem: "the private key is empty" };
  let parsed: ParsedKey | Error;
  try {
    parsed = firstKey(utils.parseKey(text) as ParsedKey | ParsedKey[] | Error);
  } catch {
    // Never its message: it could quote the text.
    parsed = new Error("unreadable");
  }
  if (parsed instanceof Error) {
    if (/encrypt|passphrase/i.test(parsed.message)) {
      return {
        problem:
          "the private key is encrypted with a passphrase; pod-routes needs it unencrypted (decrypt a copy with `ssh-keygen -p -N '' -f <copy>` and keep it as a Pulumi secret)",
      };
    }
    return {
      problem: `the private key cannot be read (${redact(parsed.message, text)}); expected an unencrypted OpenSSH ("-----BEGIN OPENSSH PRIVATE KEY-----") or PEM private key of type ed25519, ecdsa or rsa`,
    };
  }
  if (!parsed.isPrivateKey()) {
    return { problem: "this is a public key; give the private key (the file without .pub)" };
  }
  if (!CLIENT_KEY_TYPES.has(parsed.type)) {
    return { problem: `${parsed.type} private keys are not supported; use an ed25519, ecdsa or rsa key` };
  }
  return { key: parsed };
}

/** What is wrong with a private key's text, or undefined when it can be used. Never contains the key. */
export function validatePrivateKey(text: string): string | undefined {
  const r = parsePrivateKey(text);
  return "problem" in r ? r.problem : undefined;
}

let sessions = 0;

/**
 * How many runScript calls of this process went to the network: each is one connection and at most one
 * session, counted whether or not the host let it in (what tests ask is whether a host was contacted).
 */
export function sessionCount(): number {
  return sessions;
}

/** Counts the attempt (see sessionCount). */
function noteSession(): void {
  sessions += 1;
}

function hostPort(target: SshTarget): string {
  return net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused (is sshd running and listening on that port?)",
  ECONNRESET: "connection reset by the host",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "no such host name",
  EAI_AGAIN: "the host name could not be resolved (temporary DNS failure)",
  ETIMEDOUT: "the TCP connection timed out",
  EPIPE: "the connection was closed by the host",
};

function positive(value: number | undefined, fallback: number, what: string, unit = "ms"): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new SshError("connect", `${what} must be a positive number of ${unit}`);
  return v;
}

/**
 * Runs `command` (e.g. `sh -s`) on the target in one SSH session, with `stdin` written in full to its
 * standard input and then closed; resolves with its exit code and output (UTF-8), whatever the code.
 * Rejects with an SshError when the command could not be run to its end: the host was unreachable, its
 * host key was not the pinned one (then nothing ran), the key was refused, a timeout expired, or the
 * command wrote more than `maxOutputBytes` to stdout or to stderr (then the session is closed at once);
 * its `reach` says how far the call got.
 */
export function runScript(target: SshTarget, command: string, stdin: string): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const where = hostPort(target);
    if (!target.host || !Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
      throw new SshError("connect", `cannot connect to ${where}: not a host and a port from 1 to 65535`);
    }
    const connectTimeoutMs = positive(
      target.connectTimeoutMs,
      DEFAULT_CONNECT_TIMEOUT_MS,
      "connectTimeoutMs",
    );
    const commandTimeoutMs = positive(
      target.commandTimeoutMs,
      DEFAULT_COMMAND_TIMEOUT_MS,
      "commandTimeoutMs",
    );
    const maxOutputBytes = positive(
      target.maxOutputBytes,
      DEFAULT_MAX_OUTPUT_BYTES,
      "maxOutputBytes",
      "bytes",
    );
    const clientKey = parsePrivateKey(target.privateKey);
    if ("problem" in clientKey) throw new SshError("auth", `${where}: ${clientKey.problem}`);
    let pinned: ParsedHostKey | undefined;
    if (target.hostKey !== undefined) {
      try {
        pinned = parseHostKey(target.hostKey);
      } catch (error) {
        throw new SshError("hostkey", `${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    noteSession();

    // Our own socket, handed to ssh2: the one TCP connection of this call, which we can always destroy
    // (ssh2's destroy() skips a socket it has half-closed, and a hostile peer may never close its half).
    const socket = net.connect({ host: target.host, port: target.port });
    const client = new Client();
    let phase: "connecting" | "running" = "connecting";
    // How far this call got (see SshReach): TCP connected, then the command's request sent.
    let reach: SshReach = "unreached";
    socket.once("connect", () => {
      if (reach === "unreached") reach = "host";
    });
    let presented: Buffer | undefined;
    let settled = false;
    const finish = (outcome: RunResult | SshError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome instanceof SshError) {
        // Torn down at once: a hung or hostile peer gets no further say.
        socket.destroy();
        reject(new SshError(outcome.kind, outcome.message, reach));
      } else {
        client.end();
        // sshd closes its side at once; a peer that does not still loses the socket soon.
        setTimeout(() => socket.destroy(), 5_000).unref();
        resolve(outcome);
      }
    };
    const connectTimedOut = (): SshError =>
      new SshError(
        "timeout",
        reach === "unreached"
          ? `${where}: no SSH session within ${connectTimeoutMs} ms: the TCP connection was never made; is the host up and reachable?`
          : `${where}: no SSH session within ${connectTimeoutMs} ms (TCP connect, SSH handshake and authentication); is it sshd that listens on port ${target.port}?`,
      );
    // Our own timer as well as ssh2's readyTimeout: the promise settles on time whatever state ssh2 is in.
    let timer = setTimeout(() => finish(connectTimedOut()), connectTimeoutMs);

    const classify = (error: Error & { level?: string; code?: string }): SshError => {
      if (pinned && presented && !presented.equals(pinned.blob)) {
        const keyscan = `ssh-keyscan ${target.port === 22 ? "" : `-p ${target.port} `}-t ${HOST_KEY_TYPES.get(pinned.type)?.keyscan ?? "ed25519"} ${target.host}`;
        return new SshError(
          "hostkey",
          `host key mismatch for ${where}: it presented ${blobType(presented) ?? "a key"} ${fingerprint(presented)}, but the pinned key is ${pinned.type} ${pinned.fingerprint}; nothing was run. ` +
            `If the host was reinstalled and you trust its new key, re-pin it with \`${keyscan}\` (and compare with \`ssh-keygen -lf\` of its key file on the host); otherwise someone may be in the middle.`,
        );
      }
      if (/no matching host key/i.test(error.message)) {
        return new SshError(
          "hostkey",
          pinned
            ? `${where} has no ${pinned.type} host key it will sign with ${HOST_KEY_TYPES.get(pinned.type)?.algorithms.join(" or ")}, so it cannot be the pinned ${pinned.fingerprint}; list its keys with \`ssh-keyscan ${target.host}\` and pin one of them`
            : `${where} offers no host key algorithm this client accepts (${ANY_HOST_KEY.join(", ")}; never SHA-1 ssh-rsa)`,
        );
      }
      const detail = redact(error.message, target.privateKey);
      switch (error.level) {
        case "client-authentication": {
          const fp = fingerprint(clientKey.key.getPublicSSH());
          return new SshError(
            "auth",
            `${where}: the server refused the key for user ${target.user} (${clientKey.key.type} ${fp}); is its public key in ~/.ssh/authorized_keys of ${target.user} on ${target.host}?`,
          );
        }
        case "client-timeout":
          return phase === "connecting"
            ? connectTimedOut()
            : new SshError(
                "timeout",
                `${where}: the host stopped answering while the command ran (no reply to SSH keepalives for ${((KEEPALIVE_COUNT_MAX + 1) * KEEPALIVE_INTERVAL_MS) / 1000} s); the connection was closed`,
              );
        case "client-socket":
        case "client-dns": {
          const reason = (error.code !== undefined ? SOCKET_ERRORS[error.code] : undefined) ?? detail;
          return new SshError(
            "connect",
            phase === "connecting"
              ? `cannot connect to ${where}: ${reason}`
              : `the connection to ${where} was lost while the command ran: ${reason}`,
          );
        }
        default:
          return new SshError("protocol", `${where}: SSH error: ${detail}`);
      }
    };

    client.on("error", (error) => finish(classify(error)));
    client.on("close", () =>
      finish(
        new SshError(
          phase === "connecting" ? "connect" : "protocol",
          `${where}: the connection closed before ${phase === "connecting" ? "the SSH session was set up" : "the command finished"}`,
        ),
      ),
    );
    client.on("ready", () => {
      phase = "running";
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(
            new SshError(
              "timeout",
              `${where}: the command did not finish within ${commandTimeoutMs} ms; the connection was closed (without a terminal, the command may go on running on the host)`,
            ),
          ),
        commandTimeoutMs,
      );
      const refused = (error: Error): void => {
        // The channel or the exec request was refused: the command never started.
        reach = "host";
        finish(
          new SshError(
            "protocol",
            `${where}: the host refused to start the command: ${redact(error.message, target.privateKey)}`,
          ),
        );
      };
      try {
        // From here on the command may run: its outcome is unknown until its exit status comes back.
        reach = "command";
        client.exec(command, (error, stream) => (error ? refused(error) : collect(stream)));
      } catch (error) {
        refused(error instanceof Error ? error : new Error(String(error)));
      }
    });

    const collect = (stream: ClientChannel): void => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const size = { stdout: 0, stderr: 0 };
      let exit: { code: number; note: string } | undefined;
      // Past the cap nothing more is read: the session is closed and the call fails, naming the limit.
      const take = (which: "stdout" | "stderr", into: Buffer[], chunk: Buffer): void => {
        if (settled) return;
        size[which] += chunk.length;
        if (size[which] > maxOutputBytes) {
          finish(
            new SshError(
              "output",
              `${where}: the command wrote more than ${maxOutputBytes} bytes to ${which}; pod-routes stopped reading and closed the session (what the command did on the host is unknown)`,
            ),
          );
          return;
        }
        into.push(chunk);
      };
      stream.on("data", (chunk: Buffer) => take("stdout", stdout, chunk));
      stream.stderr.on("data", (chunk: Buffer) => take("stderr", stderr, chunk));
      stream.on("exit", (code: number | null, signal?: string, _dump?: string, desc?: string) => {
        if (code !== null) exit = { code, note: "" };
        else {
          // Like a shell: 128 + the signal's number, and the signal's name where a person will look.
          const number = (osConstants.signals as Readonly<Record<string, number | undefined>>)[signal ?? ""];
          const what = `the remote command was killed by signal ${signal ?? "?"}${desc ? ` (${desc})` : ""}\n`;
          exit = { code: number !== undefined ? 128 + number : 255, note: what };
        }
      });
      stream.on("error", (error: Error) =>
        finish(
          new SshError(
            "protocol",
            `${where}: SSH channel error: ${redact(error.message, target.privateKey)}`,
          ),
        ),
      );
      // The channel's close follows the end of stdout; stderr ends on its own.
      let open = 2;
      const ended = (): void => {
        open -= 1;
        if (open > 0) return;
        if (exit === undefined) {
          finish(new SshError("protocol", `${where}: the command ended without an exit status`));
          return;
        }
        let err = Buffer.concat(stderr).toString("utf8");
        if (exit.note) err += `${err === "" || err.endsWith("\n") ? "" : "\n"}${exit.note}`;
        finish({
          code: exit.code,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: err,
          hostKey: presented ? keyLine(presented) : "",
        });
      };
      stream.on("close", ended);
      stream.stderr.on("end", ended);
      stream.end(stdin);
    };

    const config: ConnectConfig = {
      sock: socket,
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: connectTimeoutMs,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      algorithms: { serverHostKey: pinned ? HOST_KEY_TYPES.get(pinned.type)?.algorithms : ANY_HOST_KEY },
      // Called with the key blob once the server has sent it; ssh2 then checks the server's signature
      // with it, so a key that matches here is one the server holds.
      hostVerifier: (key: Buffer): boolean => {
        presented = key;
        return pinned === undefined || key.equals(pinned.blob);
      },
    };
    try {
      client.connect(config);
    } catch (error) {
      finish(
        new SshError(
          "protocol",
          `${where}: ${redact(error instanceof Error ? error.message : String(error), target.privateKey)}`,
        ),
      );
    }
  });
}
