// ssh/transport/session.ts without a network: pinned host key lines and private keys are checked, with messages that
// say what is wrong (and never quote a private key), and fingerprints are those `ssh-keygen -lf` prints.
// Keys come from the real ssh-keygen, in a temporary directory.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  parseHostKey,
  runScript,
  sessionCount,
  SshError,
  validateHostKey,
  validatePrivateKey,
} from "../../ssh/transport/session";

let tmp = "";

/** A fresh key pair from ssh-keygen: its private text, its public line, and `ssh-keygen -lf` of it. */
function keygen(name: string, args: string[]): { priv: string; pub: string; lf: string } {
  const file = path.join(tmp, name);
  execFileSync("ssh-keygen", ["-q", "-N", "", "-C", `comment of ${name}`, "-f", file, ...args]);
  return {
    priv: fs.readFileSync(file, "utf8"),
    pub: fs.readFileSync(`${file}.pub`, "utf8").trim(),
    lf: execFileSync("ssh-keygen", ["-lf", `${file}.pub`], { encoding: "utf8" }),
  };
}

const KEY_TYPES = [
  ["ed25519", ["-t", "ed25519"], "ssh-ed25519"],
  ["ecdsa-256", ["-t", "ecdsa", "-b", "256"], "ecdsa-sha2-nistp256"],
  ["ecdsa-384", ["-t", "ecdsa", "-b", "384"], "ecdsa-sha2-nistp384"],
  ["ecdsa-521", ["-t", "ecdsa", "-b", "521"], "ecdsa-sha2-nistp521"],
  ["rsa", ["-t", "rsa", "-b", "2048"], "ssh-rsa"],
  ["rsa-pem", ["-t", "rsa", "-b", "2048", "-m", "PEM"], "ssh-rsa"],
] as const;
const keys = new Map<string, { priv: string; pub: string; lf: string }>();
function key(name: string): { priv: string; pub: string; lf: string } {
  const k = keys.get(name);
  if (!k) throw new Error(`no key ${name}`);
  return k;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-ssh-unit-"));
  for (const [name, args] of KEY_TYPES) keys.set(name, keygen(name, [...args]));
  keys.set(
    "encrypted",
    (() => {
      const file = path.join(tmp, "encrypted");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret123", "-f", file]);
      return { priv: fs.readFileSync(file, "utf8"), pub: "", lf: "" };
    })(),
  );
  keys.set("dsa", keygen("dsa", ["-t", "dsa"]));
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("parseHostKey", () => {
  it.each(KEY_TYPES)(
    "reads a %s public key line with the fingerprint ssh-keygen -lf prints",
    (name, _args, type) => {
      const k = key(name);
      const parsed = parseHostKey(k.pub); // with its comment, as in a .pub file
      expect(parsed.type).toBe(type);
      expect(k.lf).toContain(` ${parsed.fingerprint} `);
      expect(parsed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(parsed.blob.toString("base64")).toBe(k.pub.split(" ")[1]);
      // Without the comment, and with stray spaces around it, it is the same key.
      const [t, b64] = k.pub.split(" ");
      expect(parseHostKey(`  ${t}   ${b64} \n`).blob.equals(parsed.blob)).toBe(true);
      expect(validateHostKey(k.pub)).toBeUndefined();
    },
  );

  it("explains what is wrong with a bad line", () => {
    const ed = key("ed25519").pub.split(" ");
    const ec = key("ecdsa-256").pub.split(" ");
    const edB64 = ed[1] ?? "";
    const ecB64 = ec[1] ?? "";
    // A valid ECDSA encoding whose point is not on the curve: the last byte of Y changed.
    const offCurve = Buffer.from(ecB64, "base64");
    offCurve.writeUInt8(offCurve.readUInt8(offCurve.length - 1) ^ 1, offCurve.length - 1);
    const cases: [string, RegExp][] = [
      ["", /empty/],
      ["   \n", /empty/],
      [key("ed25519").priv, /private key/],
      [
        `198.19.249.34 ssh-ed25519 ${edB64}`,
        /starts with "198\.19\.249\.34" before its type.*without the host name/,
      ],
      [
        `ssh-dss ${edB64}`,
        /unsupported host key type "ssh-dss"; pin one of ssh-ed25519, ecdsa-sha2-nistp256/,
      ],
      [`ssh-ed25519-cert-v01@openssh.com ${edB64}`, /certificates are not supported/],
      ["ssh-ed25519", /no key data/],
      ["ssh-ed25519 not-base64!", /not base64/],
      [`ssh-ed25519 ${edB64.slice(0, 40)}`, /not base64|malformed|cut short/],
      ["ssh-ed25519 AAAA", /cut short/],
      [`ssh-ed25519 ${ecB64}`, /says ssh-ed25519, but its key data is a "ecdsa-sha2-nistp256" key/],
      [
        `ecdsa-sha2-nistp384 ${ecB64}`,
        /says ecdsa-sha2-nistp384, but its key data is a "ecdsa-sha2-nistp256" key/,
      ],
      [`ecdsa-sha2-nistp256 ${offCurve.toString("base64")}`, /malformed/],
      [
        `ssh-ed25519 ${Buffer.concat([Buffer.from(edB64, "base64"), Buffer.from([0, 0, 0, 1, 7])]).toString("base64")}`,
        /malformed/,
      ],
    ];
    for (const [line, message] of cases) {
      expect(() => parseHostKey(line)).toThrow(message);
      expect(validateHostKey(line)).toMatch(message);
    }
  });

  it("never quotes a private key given as the host key", () => {
    for (const name of ["ed25519", "rsa-pem"]) {
      const priv = key(name).priv;
      const message = validateHostKey(priv) ?? "";
      expect(message).toMatch(/private key/);
      for (const line of priv.split("\n").filter((l) => l.length > 8 && !l.startsWith("-----"))) {
        expect(message).not.toContain(line);
      }
    }
  });
});

describe("validatePrivateKey", () => {
  it.each(KEY_TYPES)("accepts an unencrypted %s private key", (name) => {
    expect(validatePrivateKey(key(name).priv)).toBeUndefined();
  });

  it("explains what is wrong with a bad key, without quoting it", () => {
    const ed = key("ed25519").priv;
    const lines = ed.split("\n");
    // The base64 body cut in half: still framed as a key, no longer one.
    const truncated = [...lines.slice(0, 2), ...lines.slice(-2)].join("\n");
    const cases: [string, RegExp][] = [
      ["", /empty/],
      ["not a key at all", /cannot be read.*OpenSSH.*PEM/],
      [truncated, /cannot be read/],
      [key("encrypted").priv, /encrypted with a passphrase/],
      [key("ed25519").pub, /public key/],
      [key("dsa").priv, /ssh-dss private keys are not supported/],
    ];
    for (const [text, message] of cases) {
      const got = validatePrivateKey(text) ?? "";
      expect(got).toMatch(message);
      for (const line of text.split("\n").filter((l) => l.length > 8 && !l.startsWith("-----"))) {
        expect(got).not.toContain(line);
      }
    }
  });
});

describe("runScript before any connection", () => {
  it("refuses a bad pinned key, a bad private key or a bad port without contacting the host", async () => {
    const before = sessionCount();
    const base = { host: "192.0.2.1", port: 22, user: "root", privateKey: key("ed25519").priv };
    const attempts: [Parameters<typeof runScript>[0], string, RegExp][] = [
      [{ ...base, hostKey: "ssh-ed25519 AAAA" }, "hostkey", /192\.0\.2\.1:22: the key data .* cut short/],
      [
        { ...base, privateKey: key("encrypted").priv },
        "auth",
        /192\.0\.2\.1:22: the private key is encrypted/,
      ],
      [{ ...base, privateKey: "garbage" }, "auth", /cannot be read/],
      [{ ...base, port: 0 }, "connect", /not a host and a port/],
      [{ ...base, connectTimeoutMs: -1 }, "connect", /connectTimeoutMs must be a positive number/],
    ];
    for (const [target, kind, message] of attempts) {
      const error = await runScript(target, "sh -s", "true").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SshError);
      expect(error).toMatchObject({ kind, message: expect.stringMatching(message) });
      expect((error as Error).message).not.toContain(key("encrypted").priv.split("\n")[1]);
    }
    expect(sessionCount()).toBe(before);
  });
});
