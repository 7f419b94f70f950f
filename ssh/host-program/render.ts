// The per-host scripts of the SSH path (bare metal, Linode, the print-by-hand runbook), rendered from the
// shell and awk files in ./sh. Pure, with no Pulumi import: the same input always yields the
// same text, and every value put into a script is checked again here against a strict pattern (the spec's
// validation already guarantees them; this is defense in depth).
//
// A script is one shell function called on its last line (`pod_routes_apply() ( … )` then
// `{ pod_routes_apply </dev/null; }`): a script cut short in transit (the SSH path sends it on stdin of
// `sh -s`) is a syntax error, or defines a function nobody calls, and changes nothing. Inside it:
//   - the run's variables (MODE, HOST, OWNER, ADOPT, MANAGE_HOSTS, RESYNC, LOCK_WAIT, PREVIOUS_OWNER,
//     NONCE), validated;
//   - its data as quoted here-documents (desired routes, the /etc/hosts block lines);
//   - the host program itself as a quoted here-document, which the function evals: the constants below,
//     verdicts.awk and the .sh files. The apply writes the very same text to /etc/pod-routes/apply.sh, the
//     boot program that pod-routes.service runs (`sh /etc/pod-routes/apply.sh boot`), so that the boot
//     re-applies the state file with the same checks, from the same code.
import * as fs from "fs";
import * as path from "path";
import { familyOf, parseCidr, parseIp } from "../../core/cidr";
import { isResyncInterval, isRfc1123Name } from "../../core/rules";
import { fromReportField, HostRoute, toReportField, toReportFields, toScriptLine } from "./route-text";

/** Protocol number that marks routes pod-routes installed (free in the kernel's 0..255 registry). */
export const ROUTE_PROTO = 156;
/** The name /etc/iproute2/rt_protos.d gives it: cosmetic; the scripts only ever compare the number. */
export const ROUTE_PROTO_NAME = "pod-routes";
export const STATE_DIR = "/etc/pod-routes";
/** The routes pod-routes installed: a header line, then `<dst> <via>` per line. */
export const STATE_FILE = `${STATE_DIR}/routes`;
/** The first line of a state file; one without it is a legacy one (`route replace <dst> via <hop> proto 156`). */
export const STATE_HEADER = "# pod-routes state 2";
/**
 * The owner identity of the host. Older pod-routes delete scripts read this path and leave the host alone
 * when it does not equal their bare host name, so it must stay here and never hold a bare host name.
 */
export const OWNER_FILE = `${STATE_DIR}/owner`;
/** Directories pod-routes had to create, so that the delete script removes them again (when empty). */
export const CREATED_DIRS_FILE = `${STATE_DIR}/created-dirs`;
/** Written before a run changes routes, removed once its files are committed (see journal.sh). */
export const JOURNAL_FILE = `${STATE_DIR}/journal`;
/** The boot program: the host program itself; `sh BOOT_PROGRAM boot|resync|check`. */
export const BOOT_PROGRAM = `${STATE_DIR}/apply.sh`;
/** What older versions ran at boot; an apply removes it. */
export const LEGACY_BOOT_SCRIPT = `${STATE_DIR}/apply-at-boot.sh`;
export const UNIT_FILE = "/etc/systemd/system/pod-routes.service";
export const UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/pod-routes.service";
export const RESYNC_SERVICE_FILE = "/etc/systemd/system/pod-routes-resync.service";
export const RESYNC_TIMER_FILE = "/etc/systemd/system/pod-routes-resync.timer";
export const RESYNC_TIMER_LINK = "/etc/systemd/system/timers.target.wants/pod-routes-resync.timer";
export const PROTO_FILE = "/etc/iproute2/rt_protos.d/pod-routes.conf";
export const HOSTS_BEGIN = "# BEGIN pod-routes managed block";
export const HOSTS_END = "# END pod-routes managed block";
/** One run at a time per host: flock on this file, or an atomic mkdir of `${LOCK_FILE}.d` without flock. */
export const LOCK_FILE = "/run/lock/pod-routes.lock";
export const DEFAULT_LOCK_WAIT_SECONDS = 60;
/**
 * The first word of the program's own last line of stdout, `<DONE_MARK><TAB><nonce>`, printed by pr_main
 * only when the run ended well and was given a nonce (the provider gives each run its own). Without that
 * line an exit status of 0 proves nothing: a forced command or a wrapper may not have run the program.
 */
export const DONE_MARK = "pod-routes-done";
/** The line a run given `nonce` prints last when it ended well (see DONE_MARK). */
export function doneLine(nonce: string): string {
  return `${DONE_MARK}\t${safe("nonce", nonce)}`;
}
/** The function each script is wrapped in; the script's last line calls it. */
export const SCRIPT_FUNCTION = {
  apply: "pod_routes_apply",
  check: "pod_routes_check",
  /** A check against the host's own state file (a refresh): the host program's `state` mode. */
  state: "pod_routes_state",
  delete: "pod_routes_delete",
} as const;

/** How a script ends (besides a shell's own 2 for a syntax error, e.g. a script cut short). */
export const EXIT_CODES = {
  ok: 0,
  /** A problem found before any change (conflict, next hop, owner, /etc/hosts, /etc not writable): nothing changed. */
  refused: 1,
  /** A route change failed; the routes were put back and no file was changed. */
  rolledBack: 3,
  /**
   * Cannot run here or cannot tell how the host stands (not root, a tool missing, an `ip` without -N, a
   * routing table or policy rules that cannot be read, a journal that cannot be finished); nothing changed.
   */
  cannotRun: 4,
  /** A route change failed and some routes could not be put back (named on stderr); no file was changed. */
  notRestored: 5,
  /** Another run held the host's lock for longer than the wait (EX_TEMPFAIL); nothing changed. */
  lockTimeout: 75,
} as const;

/** A route as the renderer takes it (see route-text.ts). */
export type HostRouteLine = HostRoute;

export interface HostScriptInput {
  /** RFC 1123 host name (lowercase), for messages. */
  readonly host: string;
  /** Owner identity, e.g. `pulumi:acme/pod-routes/prod:pod-routes-node-0` (stack part before the last `:`). */
  readonly owner: string;
  readonly routes: readonly HostRouteLine[];
  /** The managed /etc/hosts block's lines (`IP [FQDN] NAME`); undefined: this host has no block. */
  readonly hostsLines?: readonly string[];
  /** Take over hand-made routes identical to desired ones. */
  readonly adopt?: boolean;
  /** Periodic resync (`pod-routes-resync.timer`) every so often, e.g. "15min"; undefined: none. */
  readonly resyncInterval?: string;
  /** How long a run waits for another run's lock on the host (default 60 s). */
  readonly lockWaitSeconds?: number;
  /**
   * An owner identity this run may take the host over from besides its own stack's: the identity the same
   * resource recorded before (e.g. before stack identities existed). Undefined: none.
   */
  readonly previousOwner?: string;
  /** This run's nonce (hex): the program then ends a good run with `doneLine(nonce)`. Undefined: no such line. */
  readonly nonce?: string;
}

export interface DeleteScriptInput {
  readonly host: string;
  /** The identity whose delete this is; "*" retires the host by hand, whoever owns it. */
  readonly owner: string;
  readonly lockWaitSeconds?: number;
  /** Another identity whose record this delete may remove too (what an unfinished run may have left). */
  readonly previousOwner?: string;
  readonly nonce?: string;
}

// ------------------------------------------------------------------------------------------ validation

/** What pod-routes wrote as owner before identities: a bare host name. An identity must not look like one. */
const LEGACY_OWNER = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

// Addresses, blocks and names by the core's own parsers and rules, canonical text only: the very values the
// spec's validation let through, and nothing a shell would read twice.
const isIp = (value: string): boolean => {
  const parsed = parseIp(value);
  return parsed.ok && parsed.value.text === value;
};
/** A route's destination: a canonical block, never the default route. */
const isCidr = (value: string): boolean => {
  const parsed = parseCidr(value);
  return parsed.ok && parsed.value.text === value && parsed.value.prefix >= 1;
};

const SAFE = {
  cidr: isCidr,
  ip: isIp,
  name: isRfc1123Name,
  owner: (v: string) => /^[A-Za-z0-9][A-Za-z0-9._/:=@+-]{0,254}$/.test(v),
  interval: isResyncInterval,
  seconds: (v: string) => /^[1-9][0-9]{0,3}$/.test(v),
  nonce: (v: string) => /^[0-9a-f]{8,64}$/.test(v),
} as const;
export type SafeKind = keyof typeof SAFE;

/** The value, when it has the strict shape of its kind; throws otherwise. */
export function safe(kind: SafeKind, value: string): string {
  if (typeof value !== "string" || !SAFE[kind](value)) {
    throw new Error(`pod-routes refuses to put ${JSON.stringify(value)} in a script (not a ${kind})`);
  }
  return value;
}

function safeOwner(owner: string): string {
  safe("owner", owner);
  if (LEGACY_OWNER.test(owner)) {
    throw new Error(
      `pod-routes refuses the owner identity ${JSON.stringify(owner)}: it looks like a bare host name, which is what older pod-routes versions recorded; use e.g. pulumi:<org>/<project>/<stack>:<resource>`,
    );
  }
  return owner;
}

function safeSeconds(value: number | undefined): string {
  return safe("seconds", String(value ?? DEFAULT_LOCK_WAIT_SECONDS));
}

/** `IP [FQDN] NAME`, single spaces. */
function safeHostsLine(line: string): string {
  const words = line.split(" ");
  if (words.length < 2 || words.length > 3) {
    throw new Error(`pod-routes refuses the /etc/hosts line ${JSON.stringify(line)} (not "IP [FQDN] NAME")`);
  }
  safe("ip", words[0]!);
  words.slice(1).forEach((w) => safe("name", w));
  return line;
}

function routeLines(routes: readonly HostRouteLine[]): string[] {
  const seen = new Set<string>();
  return routes.map((r) => {
    safe("cidr", r.destination);
    safe("ip", r.nextHop);
    safe("name", r.node);
    if (familyOf(r.destination) !== familyOf(r.nextHop)) {
      throw new Error(
        `pod-routes refuses the route ${r.destination} via ${r.nextHop}: the next hop is of another address family`,
      );
    }
    if (/^fe[89ab][0-9a-f]:/.test(r.nextHop)) {
      throw new Error(
        `pod-routes refuses the next hop ${r.nextHop}: a link-local address needs a device, and pod-routes' routes are <dst> via <address>`,
      );
    }
    if (seen.has(r.destination)) throw new Error(`pod-routes refuses a second route to ${r.destination}`);
    seen.add(r.destination);
    return toScriptLine(r);
  });
}

// ----------------------------------------------------------------------------------------- the program

/** The host program's parts, in order (see ./sh). */
export const HOST_SCRIPT_FILES = [
  "common.sh",
  "lock.sh",
  "journal.sh",
  "reconcile.sh",
  "delete.sh",
  "main.sh",
];
export const VERDICTS_AWK = "verdicts.awk";
export const HOST_SCRIPTS_DIR = path.join(__dirname, "sh");

let sources: { awk: string; bodies: string[] } | undefined;
function readSources(): { awk: string; bodies: string[] } {
  if (!sources) {
    const read = (name: string) => {
      const text = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, name), "utf8");
      return text.endsWith("\n") ? text : `${text}\n`;
    };
    sources = { awk: read(VERDICTS_AWK), bodies: HOST_SCRIPT_FILES.map(read) };
  }
  return sources;
}

function quoted(value: string): string {
  if (value.includes("'")) throw new Error(`pod-routes: ${JSON.stringify(value)} cannot be single-quoted`);
  return `'${value}'`;
}

/** A function printing `lines` from a quoted here-document (so nothing in it is expanded). */
function heredoc(fn: string, delimiter: string, text: string): string {
  if (text.split("\n").includes(delimiter))
    throw new Error(`pod-routes: ${delimiter} inside its here-document`);
  return `${fn}() {\n  cat <<'${delimiter}'\n${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${delimiter}\n}\n`;
}

/** The first field of the check report's first line (see parseCheckReport). */
export const REPORT_MARK = "pod-routes-check";
/** The check report's grammar version (its first line's second field). */
export const CHECK_REPORT_VERSION = 1;

/**
 * Everything the host program shares with this side, handed to it as shell variables before its parts (the
 * .sh and .awk files hold no copies; a unit test runs the rendered program and compares what it sees).
 */
export const CONSTANTS: ReadonlyArray<readonly [string, string | number]> = [
  ["PROTO", ROUTE_PROTO],
  ["PROTO_NAME", ROUTE_PROTO_NAME],
  ["STATE_DIR", STATE_DIR],
  ["STATE_FILE", STATE_FILE],
  ["STATE_HEADER", STATE_HEADER],
  ["OWNER_FILE", OWNER_FILE],
  ["CREATED_DIRS_FILE", CREATED_DIRS_FILE],
  ["JOURNAL_FILE", JOURNAL_FILE],
  ["BOOT_PROGRAM", BOOT_PROGRAM],
  ["LEGACY_BOOT_SCRIPT", LEGACY_BOOT_SCRIPT],
  ["UNIT_FILE", UNIT_FILE],
  ["UNIT_LINK", UNIT_LINK],
  ["RESYNC_SERVICE_FILE", RESYNC_SERVICE_FILE],
  ["RESYNC_TIMER_FILE", RESYNC_TIMER_FILE],
  ["RESYNC_TIMER_LINK", RESYNC_TIMER_LINK],
  ["PROTO_FILE", PROTO_FILE],
  ["HOSTS_BEGIN", HOSTS_BEGIN],
  ["HOSTS_END", HOSTS_END],
  ["LOCK_FILE", LOCK_FILE],
  ["DEFAULT_LOCK_WAIT", DEFAULT_LOCK_WAIT_SECONDS],
  ["EX_REFUSED", EXIT_CODES.refused],
  ["EX_ROLLEDBACK", EXIT_CODES.rolledBack],
  ["EX_CANNOT", EXIT_CODES.cannotRun],
  ["EX_NOT_RESTORED", EXIT_CODES.notRestored],
  ["EX_LOCKED", EXIT_CODES.lockTimeout],
  ["REPORT_MARK", REPORT_MARK],
  ["REPORT_VERSION", CHECK_REPORT_VERSION],
  ["DONE_MARK", DONE_MARK],
];

/** The boot program's last line (see main.sh, pod_routes_boot). */
export const BOOT_CALL = '{ pod_routes_boot "$@" </dev/null; }';

let program: string | undefined;
/**
 * The host program: constants, verdicts.awk and the .sh files. Written by the apply, with BOOT_CALL as
 * its last line, to BOOT_PROGRAM (see renderBootProgram).
 */
export function renderHostProgram(): string {
  if (program === undefined) {
    const { awk, bodies } = readSources();
    program = [
      "#!/bin/sh",
      "# pod-routes: the host program. Generated; do not edit. `sh /etc/pod-routes/apply.sh boot` re-installs",
      "# the routes of /etc/pod-routes/routes (pod-routes.service runs it at boot), `resync` likewise (the",
      "# optional timer), `check` reports how the host stands. Its sources: ssh/host-program/sh in pod-routes.",
      ...CONSTANTS.map(([name, value]) => `${name}=${quoted(String(value))}`),
      heredoc("pr_verdicts_awk", "POD_ROUTES_AWK", awk).trimEnd(),
      ...bodies.map((b) => b.trimEnd()),
      "",
    ].join("\n");
  }
  return program;
}

/** The boot program as the apply writes it to BOOT_PROGRAM. */
export function renderBootProgram(): string {
  return `${renderHostProgram()}${BOOT_CALL}\n`;
}

type Mode = keyof typeof SCRIPT_FUNCTION;

function wrap(
  mode: Mode,
  comment: string,
  variables: ReadonlyArray<readonly [string, string]>,
  data: string[],
) {
  const fn = SCRIPT_FUNCTION[mode];
  return [
    "#!/bin/sh",
    comment,
    "# Everything happens in the function below, called on the last line: a script cut short does nothing.",
    `${fn}() (`,
    "set -eu",
    ...variables.map(([name, value]) => `${name}=${quoted(value)}`),
    ...data.map((d) => d.trimEnd()),
    heredoc("pr_program", "POD_ROUTES_PROGRAM", renderHostProgram()).trimEnd(),
    'eval "$(pr_program)"',
    "pr_main",
    ")",
    // In braces: any part of this line alone is a syntax error too (never a command named `pod_ro`).
    `{ ${fn} </dev/null; }`,
    "",
  ].join("\n");
}

/** PREVIOUS_OWNER and NONCE: empty when not given. */
function runVariables(
  input: Pick<HostScriptInput, "previousOwner" | "nonce">,
): ReadonlyArray<readonly [string, string]> {
  return [
    ["PREVIOUS_OWNER", input.previousOwner === undefined ? "" : safeOwner(input.previousOwner)],
    ["NONCE", input.nonce === undefined ? "" : safe("nonce", input.nonce)],
  ];
}

function reconcileScript(mode: "apply" | "check" | "state", input: HostScriptInput): string {
  const host = safe("name", input.host);
  const owner = safeOwner(input.owner);
  const routes = routeLines(input.routes);
  const hosts = input.hostsLines?.map(safeHostsLine);
  const resync = input.resyncInterval === undefined ? "" : safe("interval", input.resyncInterval);
  const what =
    mode === "apply"
      ? `# pod-routes: routes for host ${host} (owner ${owner}). Generated; do not edit. Safe to run again.`
      : `# pod-routes: how host ${host} stands (owner ${owner}); changes nothing. Generated; do not edit.`;
  return wrap(
    mode,
    what,
    [
      ["MODE", mode],
      ["HOST", host],
      ["OWNER", owner],
      ["ADOPT", input.adopt ? "1" : "0"],
      ["MANAGE_HOSTS", hosts ? "1" : "0"],
      ["RESYNC", resync],
      ["LOCK_WAIT", safeSeconds(input.lockWaitSeconds)],
      ...runVariables(input),
    ],
    [
      "# Desired routes: destination, next hop, node.",
      heredoc("pr_desired", "POD_ROUTES_DATA", routes.map((l) => `${l}\n`).join("")),
      "# The managed /etc/hosts block (a host that keeps one).",
      heredoc("pr_hosts_block", "POD_ROUTES_DATA", (hosts ?? []).map((l) => `${l}\n`).join("")),
    ],
  );
}

/** Makes the host match the input; safe to run any number of times. Runs as `sh -s` with this on stdin. */
export function renderApply(input: HostScriptInput): string {
  return reconcileScript("apply", input);
}

/** Reports how the host stands against the input (see parseCheckReport); changes nothing. */
export function renderCheck(input: HostScriptInput): string {
  return reconcileScript("check", input);
}

/**
 * Reports how the host stands against its own state file: what pod-routes installed there (a refresh
 * needs nothing else to find a route removed by hand, a foreign route in the way, or a missing state).
 */
export function renderStateCheck(
  input: Pick<HostScriptInput, "host" | "owner" | "lockWaitSeconds" | "nonce">,
): string {
  // The host program's `state` mode takes the desired routes from the state file it read (main.sh).
  return reconcileScript("state", { ...input, routes: [] });
}

/**
 * Removes exactly what pod-routes installed on the host, unless another identity owns it. Never reads
 * stdin: runs as `sh -s` with this on stdin, or piped into `sh` from a command line.
 */
export function renderDelete(input: DeleteScriptInput): string {
  const host = safe("name", input.host);
  const owner = input.owner === "*" ? "*" : safeOwner(input.owner);
  return wrap(
    "delete",
    `# pod-routes: remove everything pod-routes installed on host ${host} (as ${owner}), and nothing else.`,
    [
      ["MODE", "delete"],
      ["HOST", host],
      ["OWNER", owner],
      ["ADOPT", "0"],
      ["MANAGE_HOSTS", "0"],
      ["RESYNC", ""],
      ["LOCK_WAIT", safeSeconds(input.lockWaitSeconds)],
      ...runVariables(input),
    ],
    [heredoc("pr_desired", "POD_ROUTES_DATA", ""), heredoc("pr_hosts_block", "POD_ROUTES_DATA", "")],
  );
}

// ------------------------------------------------------------------------------------ the check report

export const VERDICT_KINDS = [
  "keep",
  "add",
  "change",
  "adopt",
  "remove",
  "conflict",
  "identical",
  "invalid",
] as const;
export type VerdictKind = (typeof VERDICT_KINDS)[number];

export interface CheckVerdict {
  readonly verdict: VerdictKind;
  /** The desired (or state) destination as pod-routes wrote it; for `invalid`, the line. */
  readonly destination: string;
  readonly desiredVia: string | null;
  /** The next hop of the route there now (ours, or for a conflict the foreign route's). */
  readonly liveVia: string | null;
  /** conflict / identical / adopt: the route or policy rule in the way, as `ip` printed it. */
  readonly detail: string | null;
}

export interface CheckReport {
  /** The recorded owner identity ("" when there is none). */
  readonly owner: string;
  readonly state: "present" | "missing" | "legacy";
  readonly verdicts: readonly CheckVerdict[];
  readonly hostsBlock: "present" | "missing" | "damaged";
  /** The lines inside the managed /etc/hosts block. */
  readonly hosts: readonly string[];
  /** The boot unit, installed and enabled. */
  readonly unit: "present" | "missing";
}

/**
 * Reads the check script's stdout:
 *   pod-routes-check<TAB>1
 *   owner<TAB><identity or empty>
 *   state<TAB>present|missing|legacy
 *   verdict<TAB><kind><TAB><dst><TAB><desired via or -><TAB><live via or -><TAB><detail or ->   (any number)
 *   hostsblock<TAB>present|missing|damaged
 *   hosts<TAB><line>                                                                      (any number)
 *   unit<TAB>present|missing
 *   pod-routes-done<TAB><nonce>            (the program's own last line, when the run was given a nonce)
 * Throws an Error naming the line (escaped, and cut to 200 characters) for anything else.
 */
export function parseCheckReport(stdout: string): CheckReport {
  const lines = stdout.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length > 0 && lines[lines.length - 1]!.startsWith(`${DONE_MARK}\t`)) lines.pop();
  let at = 0;
  const fail = (why: string): never => {
    const line = lines[at] ?? "";
    const shown =
      at < lines.length
        ? `${JSON.stringify(line.slice(0, 200))}${line.length > 200 ? ` and ${line.length - 200} more characters` : ""}`
        : "the end of the report";
    throw new Error(`pod-routes: malformed check report at line ${at + 1} (${shown}): ${why}`);
  };
  const fields = (key: string, count: number): string[] => {
    if (at >= lines.length) fail(`expected "${key}"`);
    const f = lines[at]!.split("\t");
    if (f[0] !== key) fail(`expected "${key}"`);
    if (f.length !== count + 1) fail(`"${key}" takes ${count} field(s), not ${f.length - 1}`);
    if (f.slice(1).some((v) => v.includes("\r"))) fail("carriage return");
    return f.slice(1);
  };
  const oneOf = <T extends string>(value: string, allowed: readonly T[], what: string): T => {
    if (!(allowed as readonly string[]).includes(value)) fail(`${what} must be one of ${allowed.join(", ")}`);
    return value as T;
  };

  const [version] = fields(REPORT_MARK, 1);
  if (version !== String(CHECK_REPORT_VERSION)) fail(`unknown report version ${JSON.stringify(version)}`);
  at++;
  const [owner] = fields("owner", 1);
  at++;
  const state = oneOf(fields("state", 1)[0]!, ["present", "missing", "legacy"] as const, "state");
  at++;
  const verdicts: CheckVerdict[] = [];
  while (at < lines.length && lines[at]!.startsWith("verdict\t")) {
    const [kind, destination, desired, live, detail] = fields("verdict", 5) as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (destination === "" || destination === "-") fail("a verdict needs a destination");
    verdicts.push({
      verdict: oneOf(kind, VERDICT_KINDS, "a verdict"),
      destination,
      desiredVia: fromReportField(desired),
      liveVia: fromReportField(live),
      detail: fromReportField(detail),
    });
    at++;
  }
  const hostsBlock = oneOf(
    fields("hostsblock", 1)[0]!,
    ["present", "missing", "damaged"] as const,
    "hostsblock",
  );
  at++;
  const hosts: string[] = [];
  while (at < lines.length && lines[at]!.startsWith("hosts\t")) {
    hosts.push(lines[at]!.slice("hosts\t".length));
    at++;
  }
  const unit = oneOf(fields("unit", 1)[0]!, ["present", "missing"] as const, "unit");
  at++;
  if (at !== lines.length) fail("nothing may follow the unit line");
  if (hosts.length > 0 && hostsBlock !== "present") fail("hosts lines without a managed block");
  return { owner: owner!, state, verdicts, hostsBlock, hosts, unit };
}

/** The report as the check script prints it (for tests and tools). */
export function formatCheckReport(report: CheckReport): string {
  return [
    `${REPORT_MARK}\t${CHECK_REPORT_VERSION}`,
    `owner\t${report.owner}`,
    `state\t${report.state}`,
    ...report.verdicts.map((v) =>
      [
        "verdict",
        v.verdict,
        ...toReportFields(v.destination, v.desiredVia, v.liveVia),
        toReportField(v.detail),
      ].join("\t"),
    ),
    `hostsblock\t${report.hostsBlock}`,
    ...report.hosts.map((h) => `hosts\t${h}`),
    `unit\t${report.unit}`,
    "",
  ].join("\n");
}
