// The per-host scripts of the SSH path: what they route (the runbook's fixture, exactly), that hostile input
// never reaches them, that nothing but validated spec values is ever interpolated, and that a script cut
// short cannot run.
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import { renderScripts } from "../../cli/script";
import {
  APPLY_FUNCTION,
  DELETE_FUNCTION,
  HOSTS_BEGIN,
  HOSTS_END,
  HostScripts,
  renderHostScripts,
} from "../../ssh/legacy-hostscript";
import { parseMachinesTxt } from "../../core/machines";
import { planHostRoutes } from "../../core/plan";
import { isWorker, RouteSpec } from "../../core/types";
import { requireValidSpec, validateSpec } from "../../core/validate";
import { EXPECTED_ROUTES, MACHINES_TXT } from "../fixtures";

const fixtureSpec = requireValidSpec({
  nodes: parseMachinesTxt(fs.readFileSync(MACHINES_TXT, "utf8")).nodes,
});
const fixtureScripts = renderHostScripts(fixtureSpec);
const scriptOf = (name: string, scripts: readonly HostScripts[] = fixtureScripts): HostScripts => {
  const found = scripts.find((s) => s.host.name === name);
  if (!found) throw new Error(`no script for ${name}`);
  return found;
};

/** The body of the heredoc that `cat >"$WORK/<file>"` writes, as lines. */
function heredoc(script: string, file: string): string[] {
  const match = new RegExp(`cat >"\\$WORK/${file}" <<'POD_ROUTES_EOF'\\n([\\s\\S]*?)POD_ROUTES_EOF\\n`).exec(
    script,
  );
  if (!match) throw new Error(`no ${file} section`);
  return match[1]!.split("\n").filter((l) => l.length > 0);
}

describe("the runbook's fixture (examples/machines.txt)", () => {
  const expected = EXPECTED_ROUTES.map(([host, routes]) => [host, [...routes]] as [string, string[]]);

  it("lists the expected routes of every host in machines.txt", () => {
    expect(expected.map(([host]) => host)).toEqual(fixtureSpec.nodes.map((n) => n.name));
  });

  it.each(expected)("%s gets exactly %j", (host, routes) => {
    const plan = planHostRoutes(fixtureSpec).find((p) => p.host.name === host);
    expect(plan?.routes.map((r) => `${r.destination} via ${r.nextHop}`)).toEqual(routes);
    // …and its script installs exactly those (destination and next hop per line).
    expect(heredoc(scriptOf(host).apply, "desired")).toEqual(routes.map((r) => r.replace(" via ", " ")));
  });

  it("gives the managed /etc/hosts block to the controller only, listing every worker", () => {
    expect(heredoc(scriptOf("server").apply, "hosts-block")).toEqual([
      "198.19.249.34 node-0.kubernetes.local node-0",
      "198.19.249.136 node-1.kubernetes.local node-1",
    ]);
    expect(scriptOf("server").apply).toContain("\nMANAGE_HOSTS=1\n");
    for (const worker of ["node-0", "node-1"]) {
      expect(heredoc(scriptOf(worker).apply, "hosts-block")).toEqual([]);
      expect(scriptOf(worker).apply).toContain("\nMANAGE_HOSTS=0\n");
    }
  });

  it("marks its routes with the pod-routes protocol and persists them for the boot unit", () => {
    const apply = scriptOf("node-0").apply;
    expect(apply).toContain('echo "route replace $dst via $via proto $PROTO"');
    expect(apply).toContain("\nPROTO=156\n");
    expect(apply).toContain("printf '156\\tpod-routes\\n'");
    expect(apply).toContain("ExecStart=/bin/sh /etc/pod-routes/apply-at-boot.sh");
    expect(apply).toContain("After=network-online.target");
    expect(apply).toContain(
      'if [ -n "$files_changed" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi',
    );
  });
});

describe("script structure", () => {
  const all = [
    ...fixtureScripts.flatMap((s) => [s.apply, s.remove]),
    ...renderHostScripts(fixtureSpec, { adopt: true }).map((s) => s.apply),
  ];

  it.each(["dash", "bash"])("every script parses under %s (POSIX sh)", (shell) => {
    for (const script of all) {
      const result = spawnSync(shell, ["-n"], { input: script, encoding: "utf8" });
      expect(result.error).toBeUndefined();
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    }
  });

  it("runs only from the call on its last line, with stdin closed, after a header of comments", () => {
    for (const [script, fn] of fixtureScripts.flatMap((s): Array<[string, string]> => [
      [s.apply, APPLY_FUNCTION],
      [s.remove, DELETE_FUNCTION],
    ])) {
      const lines = script.split("\n");
      const start = lines.indexOf(`${fn}() (`);
      expect(start).toBeGreaterThan(0);
      expect(lines.slice(0, start).every((l) => l.startsWith("#"))).toBe(true);
      expect(lines.slice(-3)).toEqual([")", `${fn} </dev/null`, ""]);
    }
  });

  // The SSH path sends the script on stdin; a dropped connection delivers only its beginning. A naive
  // script would run that part: with the desired-routes list cut short, it would remove the routes missing
  // from it. Every cut inside the function must be a syntax error, so that nothing runs.
  it.each(["dash", "bash"])(
    "a script cut short anywhere inside its function is a syntax error (%s)",
    (shell) => {
      const script = scriptOf("server").apply;
      // From the end of the line that opens the function (a cut inside that line leaves a word that names
      // no command) to just before the line that closes it.
      const body = script.indexOf(`${APPLY_FUNCTION}() (\n`) + `${APPLY_FUNCTION}() (\n`.length;
      const end = script.lastIndexOf("\n)\n");
      const cuts = new Set<number>();
      for (let at = body; at <= end; at += 97) cuts.add(at);
      for (let at = script.indexOf("\n", body); at >= 0 && at < end; at = script.indexOf("\n", at + 1))
        cuts.add(at + 1);
      for (const cut of cuts) {
        const result = spawnSync(shell, ["-n"], { input: script.slice(0, cut), encoding: "utf8" });
        expect({ cut, status: result.status }).toEqual({ cut, status: 2 });
      }
    },
  );

  it("passes adopt through as ADOPT=1, and nothing else changes", () => {
    const plain = scriptOf("node-1").apply;
    const adopting = scriptOf("node-1", renderHostScripts(fixtureSpec, { adopt: true })).apply;
    expect(adopting).toContain("\nADOPT=1\n");
    expect(adopting.replace("\nADOPT=1\n", "\nADOPT=0\n")).toBe(plain);
  });
});

describe("renderScripts (npm run routes -- script)", () => {
  it("prints every host's apply script, or one with host", () => {
    const all = renderScripts(fixtureSpec, {});
    expect(all.match(/^# ---- host /gm)).toHaveLength(3);
    const one = renderScripts(fixtureSpec, { host: "node-0" });
    expect(one).toContain(scriptOf("node-0").apply);
    expect(one).not.toContain("HOST=server");
  });

  it("names the unknown host and the known ones", () => {
    expect(() => renderScripts(fixtureSpec, { host: "node-7" })).toThrow(
      'no host named "node-7"; the hosts are server, node-0, node-1',
    );
  });
});

// ---------------------------------------------------------------------------------------- hostile input

const HOSTILE = [
  "; reboot",
  "$(reboot)",
  "`reboot`",
  "a\nreboot",
  "a\rb",
  "'",
  '"',
  "a b",
  "a\tb",
  "|",
  "&",
  ">x",
  "<x",
  "\\",
  "*",
  "~",
  "#",
  "{a,b}",
  "a\u0000b",
  "ñ",
];
const node0 = { name: "node-0", ip: "198.19.249.34", podCidr: "10.200.0.0/24", fqdn: "node-0.example" };
const node1 = { name: "node-1", ip: "198.19.249.36", podCidr: "10.200.1.0/24" };

describe("hostile input never reaches a script", () => {
  describe.each(["name", "fqdn", "ip", "podCidr"] as const)("in %s", (field) => {
    it.each(HOSTILE)("%j is rejected by validation, naming the field", (evil) => {
      const value = field === "name" ? `node${evil}` : `${node0[field]}${evil}`;
      const result = validateSpec({ nodes: [{ ...node0, [field]: value }, node1] });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems.map((p) => p.message).join("\n")).toContain(field);
    });
  });

  it.each(["-rf", "-", "a-", ".a", "a..b", "A", "a_b", "a".repeat(64)])(
    "the name %j is rejected (not an RFC 1123 name: no option-like or malformed names)",
    (name) => {
      expect(validateSpec({ nodes: [{ ...node0, name }, node1] }).ok).toBe(false);
    },
  );

  it.each([
    ["name", { name: "a$(reboot)" }, '"a$(reboot)"'],
    ["fqdn", { fqdn: "a.example;reboot" }, '"a.example;reboot"'],
    ["ip", { ip: "198.19.249.34 ; reboot" }, '"198.19.249.34 ; reboot"'],
    ["podCidr", { podCidr: "10.200.0.0/24`reboot`" }, '"10.200.0.0/24`reboot`"'],
  ])("the generator itself refuses an unvalidated %s (defense in depth)", (_field, change, shown) => {
    const spec: RouteSpec = {
      clusterCidrs: ["10.200.0.0/16"],
      nodes: [
        { name: "ctl", ip: "198.19.249.10", role: "controller" },
        { ...node0, role: "worker" as const, ...change },
        { ...node1, role: "worker" as const },
      ],
    };
    expect(() => renderHostScripts(spec)).toThrow(`pod-routes refuses to put ${shown} in a script`);
  });
});

// ------------------------------------------------------------------------------------------- properties

/**
 * The script with every spec-dependent part replaced by a placeholder: the desired routes, the hosts block,
 * and the host's name on the HOST= line and in the header comment. Everything else must be the same for
 * every spec; with the parts themselves checked against the spec, that proves each interpolated value is
 * one of the spec's validated values.
 */
function skeleton(script: string, host: string): string {
  return script
    .replace(/(cat >"\$WORK\/desired" <<'POD_ROUTES_EOF'\n)[\s\S]*?(POD_ROUTES_EOF\n)/, "$1<ROUTES>\n$2")
    .replace(/(cat >"\$WORK\/hosts-block" <<'POD_ROUTES_EOF'\n)[\s\S]*?(POD_ROUTES_EOF\n)/, "$1<HOSTS>\n$2")
    .replace(/^HOST=.*$/m, (line) => (line === `HOST=${host}` ? "HOST=<HOST>" : line))
    .replace(`for host ${host}. Generated`, "for host <HOST>. Generated")
    .replace(`installed on host ${host}, and nothing else.`, "installed on host <HOST>, and nothing else.");
}
const reference = {
  controller: skeleton(scriptOf("server").apply, "server"),
  worker: skeleton(scriptOf("node-0").apply, "node-0"),
  remove: skeleton(scriptOf("node-0").remove, "node-0"),
};
const SAFE_TEXT = /^[\x20-\x7e\n]*$/;

function checkScripts(spec: RouteSpec): void {
  const workers = spec.nodes.filter(isWorker);
  for (const scripts of renderHostScripts(spec)) {
    const { apply, remove, host } = scripts;
    expect(apply).toMatch(SAFE_TEXT);
    expect(remove).toMatch(SAFE_TEXT);
    expect(skeleton(apply, host.name)).toBe(reference[host.role]);
    expect(skeleton(remove, host.name)).toBe(reference.remove);
    // The routes: every other worker's pod CIDR via that worker, nothing else (order aside).
    const routes = workers.filter((w) => w.name !== host.name).map((w) => `${w.podCidr} ${w.ip}`);
    expect([...heredoc(apply, "desired")].sort()).toEqual([...routes].sort());
    // The hosts block: every worker's own ip, fqdn and name, on controllers only.
    const block = workers.map((w) => [w.ip, ...(w.fqdn !== undefined ? [w.fqdn] : []), w.name].join(" "));
    expect(heredoc(apply, "hosts-block")).toEqual(host.role === "controller" ? block : []);
  }
}

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?$/);
const field = fc.constantFrom("name", "ip", "podCidr", "fqdn");
/** Valid specs of 1–6 nodes (IPv4 and IPv6, workers and controllers), sometimes with one field spoiled. */
const specs = fc.record({
  base: label,
  nodes: fc.array(
    fc.record({ worker: fc.boolean(), v6: fc.boolean(), fqdn: fc.option(label, { nil: undefined }) }),
    { minLength: 1, maxLength: 6 },
  ),
  spoil: fc.option(
    fc.record({
      index: fc.nat({ max: 5 }),
      field,
      value: fc.oneof(fc.constantFrom(...HOSTILE), fc.string(), fc.string({ unit: "binary" })),
    }),
    { nil: undefined, freq: 2 },
  ),
});

describe("properties: for any accepted spec", () => {
  it("scripts hold only safe characters, and every interpolated value is one of the spec's", () => {
    let accepted = 0;
    fc.assert(
      fc.property(specs, ({ base, nodes, spoil }) => {
        const input = nodes.map((n, i): Record<string, unknown> => ({
          name: `${base}-${i}`,
          ip: n.v6 ? `fd00:198::${(i + 16).toString(16)}` : `198.19.249.${10 + i}`,
          ...(n.worker
            ? { podCidr: n.v6 ? `fd00:10:200:${(i + 1).toString(16)}::/64` : `10.200.${i}.0/24` }
            : {}),
          ...(n.fqdn !== undefined ? { fqdn: `${n.fqdn}.example` } : {}),
        }));
        const target = spoil ? input[spoil.index % input.length] : undefined;
        if (spoil && target) target[spoil.field] = spoil.value;
        const result = validateSpec({ clusterCidr: ["10.200.0.0/16", "fd00:10:200::/48"], nodes: input });
        if (spoil && target && /[^a-z0-9.:/-]/.test(spoil.value)) expect(result.ok).toBe(false);
        if (!result.ok) return;
        accepted++;
        checkScripts(result.value);
      }),
      { numRuns: 300 },
    );
    // The generator must mostly produce accepted specs, or the property proves little.
    expect(accepted).toBeGreaterThan(100);
  });

  it("holds for the fixture and for a large cluster too", () => {
    checkScripts(fixtureSpec);
    checkScripts(
      requireValidSpec({
        clusterCidr: "10.64.0.0/10",
        nodes: [
          { name: "gw", ip: "198.19.249.10", fqdn: "gw.kubernetes.local" },
          ...Array.from({ length: 300 }, (_, i) => ({
            name: `w-${i}`,
            ip: `10.240.${Math.floor(i / 250)}.${(i % 250) + 1}`,
            podCidr: `10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`,
          })),
        ],
      }),
    );
  });
});

describe("the managed /etc/hosts block markers", () => {
  it("are fixed lines the apply and delete scripts both know", () => {
    for (const text of [scriptOf("server").apply, scriptOf("server").remove]) {
      expect(text).toContain(`-v b='${HOSTS_BEGIN}' -v e='${HOSTS_END}'`);
    }
  });
});
