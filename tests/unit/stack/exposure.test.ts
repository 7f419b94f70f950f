// Issue 12, item 8: what the stack config could expose. machinesFile stays inside the project, lines that
// are not an inventory are never echoed, a key pasted into the wrong setting is never echoed whole, and a
// plain-text private key in a stack file is warned about.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../../../cli/routes";
import { parseStackConfig } from "../../../stack/config";
import { readMachinesFile, specFromConfig } from "../../../stack/source";

let project = "";
beforeAll(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-exposure-"));
  fs.writeFileSync(path.join(project, "machines.txt"), "198.19.249.34 node-0.local node-0 10.200.0.0/24\n");
  fs.symlinkSync("/etc/passwd", path.join(project, "link-out.txt"));
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  let out = "";
  let err = "";
  const code = run(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
};

describe("issue 12 item 8: machinesFile", () => {
  it.each([["../../etc/passwd"], ["/etc/passwd"], ["link-out.txt"]])(
    "refuses %j: outside the project directory",
    (file) => {
      const result = readMachinesFile(file, project);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.problems[0]!.where).toBe("pod-routes:machinesFile");
        expect(result.problems[0]!.message).toContain("is outside the project directory");
        expect(result.problems[0]!.message).toContain("copy the machines.txt into the project");
      }
    },
  );

  it("reads a machines.txt inside the project", () => {
    expect(readMachinesFile("machines.txt", project)).toEqual({
      ok: true,
      value: "198.19.249.34 node-0.local node-0 10.200.0.0/24\n",
    });
  });

  it("never echoes a line that is not an inventory line (a file pointed at by mistake)", () => {
    fs.writeFileSync(
      path.join(project, "wrong.txt"),
      "root:x:0:0:root:/root:/bin/bash\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n",
    );
    const spec = specFromConfig({ machinesFile: "wrong.txt" }, { baseDir: project });
    expect(spec.ok).toBe(false);
    const text = JSON.stringify(spec);
    expect(text).toContain('expected \\"IP FQDN HOSTNAME [POD_SUBNET]\\" (3 or 4 fields), got 1 field');
    expect(text).not.toContain("root:x:0");
    expect(text).not.toContain("wJalrXUtnFEMIK7MDENG");
  });
});

describe("issue 12 item 8: keys in the wrong place", () => {
  it("never echoes a private key pasted into another setting", () => {
    const key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----";
    const problems = parseStackConfig({
      cloud: "baremetal",
      machinesFile: "m.txt",
      ssh: { hostKeys: { "node-0": key } },
    }).problems;
    expect(problems.map((p) => p.where)).toEqual(["pod-routes:ssh.hostKeys.node-0"]);
    expect(JSON.stringify(problems)).toContain("a value that looks like a private key (not shown)");
    expect(JSON.stringify(problems)).not.toContain("b3BlbnNzaC1rZXktdjE");
  });

  it("warns about a private key stored in plain text in a stack file, without printing it", () => {
    const file = path.join(project, "Pulumi.plain.yaml");
    fs.writeFileSync(
      file,
      [
        "config:",
        "  pod-routes:cloud: baremetal",
        "  pod-routes:machinesFile: machines.txt",
        "  pod-routes:ssh: { insecureIgnoreHostKeys: true }",
        '  pod-routes:sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjE\\n-----END OPENSSH PRIVATE KEY-----"',
        "",
      ].join("\n"),
    );
    const { code, err } = cli("plan", file);
    expect(code).toBe(0);
    expect(err).toContain(
      "pod-routes: warning: pod-routes:sshPrivateKey is stored in plain text in the stack's config; store it encrypted: `pulumi config set --secret pod-routes:sshPrivateKey < ~/.ssh/id_ed25519`",
    );
    expect(err).not.toContain("b3BlbnNzaC1rZXktdjE");
  });
});
