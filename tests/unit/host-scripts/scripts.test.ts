// ssh/host-program/render.ts, the renderer of the host scripts: what it puts in a script (the runbook's routes,
// exactly), that it refuses anything that is not a validated value, that a script cut short in transit
// runs nothing, and the check report's format. No root: nothing here touches a route or /etc.
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BOOT_PROGRAM,
  CONSTANTS,
  REPORT_MARK,
  CheckReport,
  DONE_MARK,
  doneLine,
  EXIT_CODES,
  formatCheckReport,
  HOST_SCRIPT_FILES,
  HOST_SCRIPTS_DIR,
  HostScriptInput,
  LOCK_FILE,
  OWNER_FILE,
  parseCheckReport,
  renderApply,
  renderBootProgram,
  renderCheck,
  renderDelete,
  renderHostProgram,
  ROUTE_PROTO,
  safe,
  SCRIPT_FUNCTION,
  STATE_FILE,
  UNIT_FILE,
  VERDICT_KINDS,
  VERDICTS_AWK,
} from "../../../ssh/host-program/render";

const MACHINES_TXT = path.resolve(__dirname, "..", "..", "..", "examples", "machines.txt");
const OWNER = "pulumi:acme/pod-routes/prod:pod-routes-node-0";

interface Machine {
  readonly ip: string;
  readonly fqdn: string;
  readonly name: string;
  readonly podCidr?: string;
}
/** `IP FQDN HOSTNAME [POD_SUBNET]` per line: a machine without a subnet is a controller. */
function machines(text: string): Machine[] {
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter((l) => l !== "")
    .map((l) => {
      const [ip, fqdn, name, podCidr] = l.split(/\s+/) as [string, string, string, string | undefined];
      return { ip, fqdn, name, ...(podCidr ? { podCidr } : {}) };
    });
}
/** Every host's input: a route to every other worker's subnet; controllers keep the /etc/hosts block. */
function inputs(all: readonly Machine[], extra: Partial<HostScriptInput> = {}): HostScriptInput[] {
  const workers = all.filter((m) => m.podCidr);
  return all.map((host) => ({
    host: host.name,
    owner: `pulumi:acme/pod-routes/prod:pod-routes-${host.name}`,
    routes: workers
      .filter((w) => w.name !== host.name)
      .map((w) => ({ destination: w.podCidr!, nextHop: w.ip, node: w.name })),
    ...(host.podCidr ? {} : { hostsLines: workers.map((w) => `${w.ip} ${w.fqdn} ${w.name}`) }),
    ...extra,
  }));
}
const BARE_METAL = inputs(machines(fs.readFileSync(MACHINES_TXT, "utf8")));
// The seed's workers: worker-0..2 at 10.240.0.20-22 with pod subnets 10.200.0-2.0/24.
const SEED = inputs(
  [0, 1, 2].map((i) => ({
    ip: `10.240.0.${20 + i}`,
    fqdn: `worker-${i}.example.internal`,
    name: `worker-${i}`,
    podCidr: `10.200.${i}.0/24`,
  })),
);
const inputOf = (name: string, all = BARE_METAL) => {
  const found = all.find((i) => i.host === name);
  if (!found) throw new Error(`no input for ${name}`);
  return found;
};

/** The lines of the here-document that function `fn` prints. */
function heredoc(script: string, fn: string): string[] {
  const m = new RegExp(`\\n${fn}\\(\\) \\{\\n  cat <<'(POD_ROUTES_[A-Z]+)'\\n([\\s\\S]*?)\\n?\\1\\n\\}`).exec(
    script,
  );
  if (!m) throw new Error(`no here-document for ${fn}`);
  return m[2]!.split("\n").filter((l) => l !== "");
}
function variable(script: string, name: string): string {
  const m = new RegExp(`\\n${name}='([^'\\n]*)'\\n`).exec(script);
  if (!m) throw new Error(`no ${name}`);
  return m[1]!;
}

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-scripts-"));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the bare-metal runbook (examples/machines.txt)", () => {
  it.each([
    ["server", ["10.200.0.0/24 198.19.249.34 node-0", "10.200.1.0/24 198.19.249.136 node-1"]],
    ["node-0", ["10.200.1.0/24 198.19.249.136 node-1"]],
    ["node-1", ["10.200.0.0/24 198.19.249.34 node-0"]],
  ])("%s's apply and check install and compare exactly %j", (host, routes) => {
    expect(heredoc(renderApply(inputOf(host)), "pr_desired")).toEqual(routes);
    expect(heredoc(renderCheck(inputOf(host)), "pr_desired")).toEqual(routes);
  });

  it("gives the managed /etc/hosts block to the controller only", () => {
    const server = renderApply(inputOf("server"));
    expect(heredoc(server, "pr_hosts_block")).toEqual([
      "198.19.249.34 node-0.kubernetes.local node-0",
      "198.19.249.136 node-1.kubernetes.local node-1",
    ]);
    expect(variable(server, "MANAGE_HOSTS")).toBe("1");
    for (const worker of ["node-0", "node-1"]) {
      const script = renderApply(inputOf(worker));
      expect(heredoc(script, "pr_hosts_block")).toEqual([]);
      expect(variable(script, "MANAGE_HOSTS")).toBe("0");
    }
  });

  it("sets the run's variables, and the seed's workers route to each other", () => {
    const script = renderApply({
      ...inputOf("node-0"),
      adopt: true,
      resyncInterval: "15min",
      lockWaitSeconds: 5,
    });
    expect(variable(script, "MODE")).toBe("apply");
    expect(variable(script, "HOST")).toBe("node-0");
    expect(variable(script, "OWNER")).toBe(OWNER);
    expect(variable(script, "ADOPT")).toBe("1");
    expect(variable(script, "RESYNC")).toBe("15min");
    expect(variable(script, "LOCK_WAIT")).toBe("5");
    expect(variable(renderApply(inputOf("node-0")), "RESYNC")).toBe("");
    expect(variable(renderApply(inputOf("node-0")), "LOCK_WAIT")).toBe("60");
    expect(variable(renderCheck(inputOf("node-0")), "MODE")).toBe("check");
    expect(heredoc(renderApply(inputOf("worker-1", SEED)), "pr_desired")).toEqual([
      "10.200.0.0/24 10.240.0.20 worker-0",
      "10.200.2.0/24 10.240.0.22 worker-2",
    ]);
  });
});

describe("the scripts", () => {
  const all = [...BARE_METAL, ...SEED];

  it("are the same text for the same input", () => {
    for (const input of all) {
      expect(renderApply(input)).toBe(renderApply(JSON.parse(JSON.stringify(input)) as HostScriptInput));
      expect(renderCheck(input)).toBe(renderCheck({ ...input }));
      expect(renderDelete({ host: input.host, owner: input.owner })).toBe(
        renderDelete({ host: input.host, owner: input.owner }),
      );
    }
  });

  it("are one function, called on the last line with stdin closed", () => {
    for (const [script, fn] of [
      [renderApply(inputOf("node-0")), SCRIPT_FUNCTION.apply],
      [renderCheck(inputOf("node-0")), SCRIPT_FUNCTION.check],
      [renderDelete({ host: "node-0", owner: OWNER }), SCRIPT_FUNCTION.delete],
    ] as const) {
      const lines = script.trimEnd().split("\n");
      expect(lines[0]).toBe("#!/bin/sh");
      expect(lines[lines.length - 1]).toBe(`{ ${fn} </dev/null; }`);
      expect(lines[lines.length - 2]).toBe(")");
      expect(lines.filter((l) => l === `${fn}() (`)).toHaveLength(1);
      expect(lines.filter((l) => !l.startsWith("#") && l.trim() !== "").indexOf(`${fn}() (`)).toBe(0);
    }
  });

  it("parse under dash and bash (sh -n), and so does the boot program", () => {
    for (const [name, text] of [
      ["apply", renderApply({ ...inputOf("server"), resyncInterval: "1h" })],
      ["check", renderCheck(inputOf("server"))],
      ["delete", renderDelete({ host: "server", owner: "*" })],
      ["boot", renderBootProgram()],
    ] as const) {
      const file = path.join(tmp, `${name}.sh`);
      fs.writeFileSync(file, text);
      for (const shell of ["dash", "bash"]) {
        const r = spawnSync(shell, ["-n", file], { encoding: "utf8" });
        expect({ name, shell, status: r.status, stderr: r.stderr }).toEqual({
          name,
          shell,
          status: 0,
          stderr: "",
        });
      }
    }
  });

  it("carry the host program (the .sh files and verdicts.awk) once, which is also the boot program", () => {
    const program = renderHostProgram();
    for (const part of [...HOST_SCRIPT_FILES, VERDICTS_AWK]) {
      const text = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, part), "utf8").trimEnd();
      expect(program).toContain(text);
      expect(renderApply(inputOf("server")).split(text)).toHaveLength(2);
    }
    expect(renderApply(inputOf("node-0"))).toContain(`\n${program}POD_ROUTES_PROGRAM\n`);
    expect(renderDelete({ host: "node-0", owner: OWNER })).toContain(`\n${program}POD_ROUTES_PROGRAM\n`);
    expect(renderBootProgram()).toBe(`${program}{ pod_routes_boot "$@" </dev/null; }\n`);
    // The constants come from here, once.
    expect(program).toContain(`\nPROTO='${ROUTE_PROTO}'\n`);
    expect(program).toContain(`\nSTATE_FILE='${STATE_FILE}'\n`);
    expect(program).toContain(`\nOWNER_FILE='${OWNER_FILE}'\n`);
    expect(program).toContain(`\nBOOT_PROGRAM='${BOOT_PROGRAM}'\n`);
    expect(program).toContain(`\nUNIT_FILE='${UNIT_FILE}'\n`);
    expect(program).toContain(`\nLOCK_FILE='${LOCK_FILE}'\n`);
  });

  it("issue 16: the host contract is declared once: the rendered program sees exactly the constants, and no part holds a copy", () => {
    const program = renderHostProgram();
    // Rendered against parsed: sh itself reads the program and prints what each constant is there.
    const names = CONSTANTS.map(([name]) => name);
    const shown = spawnSync(
      "sh",
      [
        "-c",
        `${program}\nfor v in ${names.join(" ")}; do eval "printf '%s=%s\\n' \\"\\$v\\" \\"\\\${$v}\\""; done`,
      ],
      { encoding: "utf8" },
    );
    expect(shown.stderr).toBe("");
    expect(shown.stdout.trimEnd().split("\n")).toEqual(CONSTANTS.map(([name, value]) => `${name}=${value}`));
    // The exit statuses are EXIT_CODES, all distinct, and every one is used by the program.
    const { ok, ...failures } = EXIT_CODES;
    expect(ok).toBe(0);
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.keys(EXIT_CODES).length);
    const statuses = CONSTANTS.filter(([name]) => name.startsWith("EX_")).map(([, value]) => value);
    expect(statuses.sort()).toEqual(Object.values(failures).sort());
    for (const [name] of CONSTANTS.filter(([n]) => n.startsWith("EX_")))
      expect(program.split(`"$${name}"`).length).toBeGreaterThan(1);
    // No part of the program sets a constant itself, or writes the protocol number or the report's mark as code.
    for (const part of [...HOST_SCRIPT_FILES, VERDICTS_AWK]) {
      const code = fs
        .readFileSync(path.join(HOST_SCRIPTS_DIR, part), "utf8")
        .split("\n")
        .filter((l) => !/^\s*#/.test(l));
      for (const name of names)
        expect([part, code.filter((l) => new RegExp(`^\\s*${name}=`).test(l))]).toEqual([part, []]);
      expect([part, code.filter((l) => new RegExp(`\\b${ROUTE_PROTO}\\b|${REPORT_MARK}`).test(l))]).toEqual([
        part,
        [],
      ]);
    }
  });

  it("issue 18 item 5: end a run given a nonce with the program's own final line, defined once in scripts.ts", () => {
    const program = renderHostProgram();
    // The mark is one of the constants passed in; the shell files hold no copy of it.
    expect(program).toContain(`\nDONE_MARK='${DONE_MARK}'\n`);
    for (const part of HOST_SCRIPT_FILES) {
      expect(fs.readFileSync(path.join(HOST_SCRIPTS_DIR, part), "utf8")).not.toContain(DONE_MARK);
    }
    // pr_main prints it last, only for a run given a nonce (the boot program and scripts printed for people
    // have none).
    const main = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, "main.sh"), "utf8");
    const body = /^pr_main\(\) \{\n([\s\S]*?)\n\}$/m.exec(main)?.[1] ?? "";
    expect(body.trimEnd().split("\n").at(-1)).toBe(
      `  if [ -n "$NONCE" ]; then printf '%s\\t%s\\n' "$DONE_MARK" "$NONCE"; fi`,
    );
    const nonce = "0123456789abcdef0123456789abcdef";
    for (const script of [
      renderApply({ ...inputOf("node-0"), nonce }),
      renderCheck({ ...inputOf("node-0"), nonce }),
      renderDelete({ host: "node-0", owner: OWNER, nonce }),
    ]) {
      expect(variable(script, "NONCE")).toBe(nonce);
      expect(variable(script, "PREVIOUS_OWNER")).toBe("");
    }
    expect(variable(renderApply(inputOf("node-0")), "NONCE")).toBe("");
    expect(doneLine(nonce)).toBe(`${DONE_MARK}\t${nonce}`);
    for (const bad of ["", "0123", "not-hex-at-all!", `${nonce}'`]) {
      expect(() => renderApply({ ...inputOf("node-0"), nonce: bad })).toThrow(/refuses to put/);
    }
    expect(() => renderApply({ ...inputOf("node-0"), previousOwner: "node-0" })).toThrow(/bare host name/);
  });

  it("keep the delete small enough for a command line (base64 under the kernel's 128 KiB per argument)", () => {
    const encoded = Buffer.from(renderDelete({ host: "node-0", owner: OWNER })).toString("base64");
    expect(encoded.length).toBeLessThan(100 * 1024);
  });
});

// ----------------------------------------------------------------------------------------- refusals

const HOSTILE = [
  "node-0; reboot",
  "node-0 && rm -rf /",
  "$(reboot)",
  "`reboot`",
  "node-0\nreboot",
  "node-0'",
  'node-0"',
  "node-0\\",
  "node-0 ",
  "",
  "${IFS}",
  "node-0|id",
  "node-0>x",
  "POD_ROUTES_DATA",
];

describe("the renderer refuses what is not a validated value", () => {
  const base = inputOf("server");
  const route = base.routes[0]!;
  const cases: Array<[string, () => string]> = [];
  for (const bad of HOSTILE) {
    // Appended to a valid value, these stay valid: "" and a plain word.
    const appendable = /[^A-Za-z0-9_]/.test(bad);
    cases.push([`host ${JSON.stringify(bad)}`, () => renderApply({ ...base, host: bad })]);
    if (appendable)
      cases.push([`owner ${JSON.stringify(bad)}`, () => renderApply({ ...base, owner: `pulumi:x:${bad}` })]);
    if (appendable)
      cases.push([
        `destination ${JSON.stringify(bad)}`,
        () => renderApply({ ...base, routes: [{ ...route, destination: `10.200.0.0/24${bad}` }] }),
      ]);
    if (appendable)
      cases.push([
        `next hop ${JSON.stringify(bad)}`,
        () => renderApply({ ...base, routes: [{ ...route, nextHop: `${bad}198.19.249.34` }] }),
      ]);
    cases.push([
      `node ${JSON.stringify(bad)}`,
      () => renderApply({ ...base, routes: [{ ...route, node: bad }] }),
    ]);
    cases.push([
      `hosts line ${JSON.stringify(bad)}`,
      () => renderApply({ ...base, hostsLines: [`198.19.249.34 node-0 ${bad}`] }),
    ]);
    if (appendable)
      cases.push([
        `resync ${JSON.stringify(bad)}`,
        () => renderApply({ ...base, resyncInterval: `15min${bad}` }),
      ]);
    cases.push([`delete host ${JSON.stringify(bad)}`, () => renderDelete({ host: bad, owner: OWNER })]);
    if (appendable)
      cases.push([
        `delete owner ${JSON.stringify(bad)}`,
        () => renderDelete({ host: "node-0", owner: `*${bad}` }),
      ]);
    cases.push([`check host ${JSON.stringify(bad)}`, () => renderCheck({ ...base, host: bad })]);
  }
  it.each(cases)("%s", (_what, render) => {
    expect(render).toThrow(/pod-routes refuses/);
  });

  it.each([
    [
      "a bare host name as owner (what older versions recorded)",
      () => renderApply({ ...base, owner: "node-0" }),
    ],
    ["a bare host name as the delete's owner", () => renderDelete({ host: "node-0", owner: "node-0" })],
    [
      "an IPv4 pod CIDR via an IPv6 next hop",
      () =>
        renderApply({ ...base, routes: [{ destination: "10.200.0.0/24", nextHop: "fd00::1", node: "n" }] }),
    ],
    [
      "a link-local next hop",
      () => renderApply({ ...base, routes: [{ destination: "fd00::/120", nextHop: "fe80::1", node: "n" }] }),
    ],
    [
      "a /0 destination",
      () =>
        renderApply({ ...base, routes: [{ destination: "0.0.0.0/0", nextHop: "198.19.249.1", node: "n" }] }),
    ],
    ["a /33", () => renderApply({ ...base, routes: [{ ...route, destination: "10.200.0.0/33" }] })],
    [
      "upper-case IPv6",
      () => renderApply({ ...base, routes: [{ destination: "FD00::/120", nextHop: "fd00::1", node: "n" }] }),
    ],
    [
      "a second route to one destination",
      () => renderApply({ ...base, routes: [route, { ...route, nextHop: "198.19.249.99" }] }),
    ],
    ["a hosts line of four words", () => renderApply({ ...base, hostsLines: ["198.19.249.34 a b c"] })],
    ["an interval without unit", () => renderApply({ ...base, resyncInterval: "15" })],
    ["an interval of zero", () => renderApply({ ...base, resyncInterval: "0min" })],
    ["a lock wait of zero", () => renderApply({ ...base, lockWaitSeconds: 0 })],
    ["a fractional lock wait", () => renderApply({ ...base, lockWaitSeconds: 1.5 })],
  ])("%s", (_what, render) => {
    expect(render).toThrow(/pod-routes refuses/);
  });

  it("accepts '*' as the delete's owner (retire by hand), and IPv6 pod CIDRs", () => {
    expect(variable(renderDelete({ host: "node-0", owner: "*" }), "OWNER")).toBe("*");
    const v6 = renderApply({
      ...base,
      routes: [
        { destination: "::a00:100/120", nextHop: "fd00::136", node: "node-1" },
        { destination: "fd00::a00:0/120", nextHop: "fd00::34", node: "node-0" },
      ],
    });
    expect(heredoc(v6, "pr_desired")).toEqual([
      "::a00:100/120 fd00::136 node-1",
      "fd00::a00:0/120 fd00::34 node-0",
    ]);
  });

  it("safe() checks every kind strictly", () => {
    expect(safe("cidr", "10.200.0.0/24")).toBe("10.200.0.0/24");
    expect(safe("ip", "fd00::136")).toBe("fd00::136");
    expect(safe("name", "node-0.kubernetes.local")).toBe("node-0.kubernetes.local");
    expect(safe("owner", OWNER)).toBe(OWNER);
    expect(safe("interval", "90s")).toBe("90s");
    for (const [kind, bad] of [
      ["cidr", "10.200.0.0"],
      ["cidr", "10.200.0.0/024"],
      ["ip", "10.200.0.256"],
      ["ip", "fd00::1%eth0"],
      ["name", "-node"],
      ["name", "Node-0"],
      ["owner", "-pulumi"],
      ["owner", `p${"x".repeat(255)}`],
      ["interval", "15 min"],
      ["seconds", "60s"],
    ] as const) {
      expect(() => safe(kind, bad)).toThrow(/pod-routes refuses/);
    }
  });
});

describe("the interpolated header, for any input the renderer accepts", () => {
  // The header: from `set -eu` to the host program. Its lines are the template's own, `NAME='value'`
  // assignments and here-document data lines, and nothing else.
  const TEMPLATE = new Set([
    "set -eu",
    "# Desired routes: destination, next hop, node.",
    "# The managed /etc/hosts block (a host that keeps one).",
    "pr_desired() {",
    "pr_hosts_block() {",
    "  cat <<'POD_ROUTES_DATA'",
    "POD_ROUTES_DATA",
    "}",
  ]);
  const ASSIGNMENT = /^[A-Z_]+='[A-Za-z0-9._/:=@+*-]*'$/;
  const DATA = /^[0-9a-z.:/ -]+$/;
  // The first line, a comment naming the host and the owner: one line, whatever they are.
  const COMMENT = /^# pod-routes: [A-Za-z0-9._/:=@+*(),; -]+$/;

  function headerOf(script: string): string[] {
    const lines = script.split("\n");
    const start = lines.indexOf("set -eu");
    const end = lines.indexOf("pr_program() {");
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    return [lines[1]!, ...lines.slice(start, end)];
  }

  const hostile = fc.constantFrom(...HOSTILE);
  // Mostly valid values (so that many inputs are accepted), some hostile, some anything at all.
  const mostly = <T>(valid: fc.Arbitrary<T>, ...others: fc.Arbitrary<T>[]) =>
    fc.oneof({ arbitrary: valid, weight: 12 }, ...others.map((arbitrary) => ({ arbitrary, weight: 1 })));
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
  const name = mostly(
    fc.oneof(
      fc.constantFrom("node-0", "server", "node-1.kubernetes.local", "a"),
      fc.stringMatching(/^[a-z0-9][-a-z0-9]{0,20}[a-z0-9]$/),
    ),
    hostile,
    fc.string(),
  );
  const ip = mostly(fc.oneof(ipv4, fc.constantFrom("fd00::136", "::a00:1")), hostile, fc.string());
  const cidr = mostly(
    fc.oneof(
      fc.tuple(ipv4, fc.integer({ min: 0, max: 33 })).map(([a, l]) => `${a}/${l}`),
      fc.constantFrom("::a00:100/120", "fd00::a00:0/120"),
    ),
    hostile,
    fc.string(),
  );
  const owner = mostly(
    fc.oneof(fc.constant(OWNER), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/:=@+-]{0,40}$/)),
    hostile,
    fc.string(),
  );
  const input = fc.record({
    host: name,
    owner,
    routes: fc.array(fc.record({ destination: cidr, nextHop: ip, node: name }), { maxLength: 4 }),
    hostsLines: fc.option(
      fc.array(
        mostly(
          fc.oneof(
            fc.tuple(ip, name, name).map((w) => w.join(" ")),
            fc.tuple(ip, name).map((w) => w.join(" ")),
          ),
          fc.string(),
        ),
        { maxLength: 3 },
      ),
      { nil: undefined },
    ),
    adopt: fc.boolean(),
    resyncInterval: fc.option(mostly(fc.constantFrom("15min", "1h", "30s"), fc.string()), { nil: undefined }),
  });

  it("holds only the template's lines, quoted assignments of a small alphabet, and data lines", () => {
    let accepted = 0;
    fc.assert(
      fc.property(input, (raw) => {
        const given = raw as HostScriptInput;
        for (const render of [renderApply, renderCheck]) {
          let script: string;
          try {
            script = render(given);
          } catch (error) {
            expect(String(error)).toMatch(/pod-routes refuses/);
            continue;
          }
          accepted++;
          for (const line of headerOf(script)) {
            const ok = TEMPLATE.has(line) || ASSIGNMENT.test(line) || DATA.test(line) || COMMENT.test(line);
            if (!ok) throw new Error(`unexpected header line ${JSON.stringify(line)}`);
          }
        }
      }),
      { numRuns: 600 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

// ------------------------------------------------------------------------------------- cut short

describe("a script cut short in transit", () => {
  /** Runs `text` as a file under `shell -x` with nothing on PATH; the trace shows every command run. */
  function run(shell: string, text: string): { status: number | null; trace: string[] } {
    const file = path.join(tmp, "cut.sh");
    fs.writeFileSync(file, text);
    const r = spawnSync(`/bin/${shell}`, ["-x", file], {
      encoding: "utf8",
      cwd: tmp,
      env: { PATH: "/nonexistent" },
      input: "",
    });
    return { status: r.status, trace: (r.stderr ?? "").split("\n").filter((l) => /^\++ /.test(l)) };
  }

  it("runs when whole (the control: the trace shows the call)", () => {
    const r = run("dash", renderApply(inputOf("node-0")));
    expect(r.trace[0]).toBe(`+ ${SCRIPT_FUNCTION.apply}`);
    expect(r.status).not.toBe(0);
  });

  it.each(["dash", "bash"])(
    "runs nothing under %s, wherever it is cut (every line, and mid-line)",
    (shell) => {
      const script = renderApply(inputOf("server"));
      const cuts = new Set<number>();
      // The last cut leaves out only the final newline: the script is whole then, and runs.
      for (let i = script.indexOf("\n"); i !== -1 && i < script.length - 1; i = script.indexOf("\n", i + 1)) {
        cuts.add(i + 1);
      }
      // Mid-line, spread over the script, and every byte of its last two lines.
      for (let i = 0; i < 200; i++) cuts.add(Math.floor((i * 7919) % script.length));
      for (let i = script.lastIndexOf(")\n"); i < script.length - 1; i++) cuts.add(i);
      const step = shell === "bash" ? 3 : 1;
      let checked = 0;
      for (const cut of Array.from(cuts)
        .sort((a, b) => a - b)
        .filter((_, i) => i % step === 0)) {
        const r = run(shell, script.slice(0, cut));
        if (r.trace.length > 0) throw new Error(`cut at byte ${cut} ran: ${r.trace.slice(0, 3).join(" | ")}`);
        checked++;
      }
      expect(checked).toBeGreaterThan(300);
    },
  );

  it("is a syntax error when cut inside the function (what the SSH path reports)", () => {
    const script = renderApply(inputOf("server"));
    const cut = script.indexOf("10.200.0.0/24 198.19.249.34 node-0\n") + 35;
    const file = path.join(tmp, "cut-in-data.sh");
    fs.writeFileSync(file, script.slice(0, cut));
    const r = spawnSync("/bin/dash", [file], { encoding: "utf8", env: { PATH: "/nonexistent" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Syntax error/);
  });
});

// ------------------------------------------------------------------------------------ check report

describe("parseCheckReport", () => {
  const SAMPLE = [
    "pod-routes-check\t1",
    `owner\t${OWNER}`,
    "state\tpresent",
    "verdict\tkeep\t10.200.1.0/24\t198.19.249.136\t198.19.249.136\t-",
    "verdict\tadd\t::a00:100/120\tfd00::136\t-\t-",
    "verdict\tconflict\t10.200.2.0/24\t198.19.249.22\t198.19.249.10\t10.200.2.0/24 via 198.19.249.10 dev eth0 proto static",
    "verdict\tremove\t10.200.3.0/24\t-\t198.19.249.23\t-",
    "hostsblock\tpresent",
    "hosts\t198.19.249.34 node-0.kubernetes.local node-0",
    "unit\tpresent",
    "",
  ].join("\n");

  it("reads a report", () => {
    expect(parseCheckReport(SAMPLE)).toEqual({
      owner: OWNER,
      state: "present",
      verdicts: [
        {
          verdict: "keep",
          destination: "10.200.1.0/24",
          desiredVia: "198.19.249.136",
          liveVia: "198.19.249.136",
          detail: null,
        },
        {
          verdict: "add",
          destination: "::a00:100/120",
          desiredVia: "fd00::136",
          liveVia: null,
          detail: null,
        },
        {
          verdict: "conflict",
          destination: "10.200.2.0/24",
          desiredVia: "198.19.249.22",
          liveVia: "198.19.249.10",
          detail: "10.200.2.0/24 via 198.19.249.10 dev eth0 proto static",
        },
        {
          verdict: "remove",
          destination: "10.200.3.0/24",
          desiredVia: null,
          liveVia: "198.19.249.23",
          detail: null,
        },
      ],
      hostsBlock: "present",
      hosts: ["198.19.249.34 node-0.kubernetes.local node-0"],
      unit: "present",
    });
    expect(formatCheckReport(parseCheckReport(SAMPLE))).toBe(SAMPLE);
    expect(
      parseCheckReport("pod-routes-check\t1\nowner\t\nstate\tmissing\nhostsblock\tmissing\nunit\tmissing\n"),
    ).toEqual({
      owner: "",
      state: "missing",
      verdicts: [],
      hostsBlock: "missing",
      hosts: [],
      unit: "missing",
    });
  });

  const word = fc.stringMatching(/^[0-9a-z.:/]{1,20}$/).filter((w) => w !== "-");
  const text = fc.stringMatching(/^[0-9a-z.:/ ]{1,40}$/).filter((w) => w !== "-" && !w.startsWith(" "));
  const report: fc.Arbitrary<CheckReport> = fc
    .record({
      owner: fc.oneof(
        fc.constant(""),
        fc.constant(OWNER),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/:=@+-]{0,30}$/),
      ),
      state: fc.constantFrom("present", "missing", "legacy" as const),
      verdicts: fc.array(
        fc.record({
          verdict: fc.constantFrom(...VERDICT_KINDS),
          destination: word,
          desiredVia: fc.option(word, { nil: null }),
          liveVia: fc.option(word, { nil: null }),
          detail: fc.option(text, { nil: null }),
        }),
        { maxLength: 5 },
      ),
      hostsBlock: fc.constantFrom("present", "missing", "damaged" as const),
      hosts: fc.array(text, { maxLength: 3 }),
      unit: fc.constantFrom("present", "missing" as const),
    })
    .map((r) => ({ ...r, hosts: r.hostsBlock === "present" ? r.hosts : [] }));

  it("issue 18 item 5: accepts the program's own final line after the report, and nothing after it", () => {
    const nonce = "00112233445566778899aabbccddeeff";
    expect(parseCheckReport(`${SAMPLE}${doneLine(nonce)}\n`)).toEqual(parseCheckReport(SAMPLE));
    expect(() => parseCheckReport(`${SAMPLE}${doneLine(nonce)}\nunit\tpresent\n`)).toThrow(/malformed/);
  });

  it("round-trips any report", () => {
    fc.assert(
      fc.property(report, (r) => {
        expect(parseCheckReport(formatCheckReport(r))).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  const lines = SAMPLE.split("\n");
  it.each([
    ["an empty output", ""],
    ["another report version", SAMPLE.replace("pod-routes-check\t1", "pod-routes-check\t2")],
    ["no header", lines.slice(1).join("\n")],
    ["an unknown state", SAMPLE.replace("state\tpresent", "state\tweird")],
    ["an unknown verdict", SAMPLE.replace("verdict\tkeep", "verdict\tmaybe")],
    ["a verdict with a field missing", SAMPLE.replace("\t198.19.249.136\t-\n", "\t198.19.249.136\n")],
    ["a verdict with a field too many", SAMPLE.replace("\t198.19.249.136\t-\n", "\t198.19.249.136\t-\t-\n")],
    ["a verdict without destination", SAMPLE.replace("verdict\tkeep\t10.200.1.0/24", "verdict\tkeep\t-")],
    ["lines out of order", [lines[0], lines[2], lines[1], ...lines.slice(3)].join("\n")],
    ["no unit line", lines.filter((l) => !l.startsWith("unit")).join("\n")],
    ["something after the unit line", `${SAMPLE}extra\n`],
    ["hosts lines without a block", SAMPLE.replace("hostsblock\tpresent", "hostsblock\tmissing")],
    ["an unknown line", SAMPLE.replace("hostsblock\tpresent", "journal\tpresent\nhostsblock\tpresent")],
    ["carriage returns", SAMPLE.replace(/\n/g, "\r\n")],
    ["an error message instead", "pod-routes: host node-0: must run as root\n"],
  ])("refuses %s with an error naming the line", (_what, bad) => {
    expect(() => parseCheckReport(bad)).toThrow(/malformed check report at line \d+/);
  });
});
