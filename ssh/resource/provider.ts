// HostRoutes' provider: what the engine calls (through the small shim in host-routes.ts) to create, read,
// update and delete the pod routes of one host over SSH. State holds structured routes, never scripts:
// the scripts are rendered here, from the inputs, each time one runs.
import { createHash, randomBytes } from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import {
  CheckReport,
  doneLine,
  EXIT_CODES,
  parseCheckReport,
  renderApply,
  renderDelete,
  renderStateCheck,
  STATE_FILE,
  UNIT_FILE,
} from "../host-program/render";
import { fromStateRoutes } from "../host-program/route-text";
import {
  runScript,
  SshError,
  SshErrorKind,
  SshReach,
  SshTarget,
  validateHostKey,
  validatePrivateKey,
} from "../transport/session";

/** The inputs of one host's HostRoutes, as the engine stores them. */
export interface HostRoutesInputs {
  /** The host's node name. */
  readonly host: string;
  /** Who owns the host's routes: `pulumi:<org>/<project>/<stack>:<resource name>`. */
  readonly owner: string;
  /**
   * The stack's own random identity (the StackIdentity resource's): the owner record on the host is the
   * owner with `@<stackId>` after its stack part (see `ownerRecord`). Absent in the state of resources
   * created before stack identities, whose hosts hold the bare owner.
   */
  readonly stackId?: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Pinned host key; absent only with the explicit insecure opt-out. */
  readonly hostKey?: string;
  readonly privateKey: string;
  /** The routes this host needs: destination → `<next hop> <node>`. */
  readonly routes: Readonly<Record<string, string>>;
  /** The managed /etc/hosts block (controllers); absent: no block. */
  readonly hostsLines?: readonly string[];
  readonly adopt: boolean;
  readonly resyncInterval?: string;
  readonly connectTimeoutSeconds: number;
  readonly commandTimeoutSeconds: number;
  /** Changes whenever what runs on hosts changes, so every host gets the new version (see host-routes.ts). */
  readonly providerVersion: string;
}

/**
 * What is known of the host. The routes themselves are in the inputs only (stored once, not twice): the
 * outputs hold a digest of what was applied, and what the last refresh found different on the host.
 */
export interface HostRoutesOutputs extends Omit<HostRoutesInputs, "routes" | "hostsLines"> {
  /** Digest of the routes and /etc/hosts block last applied (see `appliedDigest`). */
  readonly applied: string;
  /** What the last refresh found on the host that differs from what was applied; empty when nothing. */
  readonly drift: readonly string[];
  /**
   * Set when a run that was to change the owner record did not finish: the record it may have left in
   * place, which the next run (and the delete) accept as this resource's own.
   */
  readonly previousOwner?: string;
}

/**
 * The owner identity recorded on the host: `pulumi:<org>/<project>/<stack>@<stackId>:<resource>`. Every
 * self-managed backend calls its organization `organization`, so without the stack's random identity two
 * teams' stacks of the same name would be one owner.
 */
export function ownerRecord(i: Pick<HostRoutesInputs, "owner" | "stackId">): string {
  if (i.stackId === undefined || i.stackId === "") return i.owner;
  const cut = i.owner.lastIndexOf(":");
  return cut <= 0 ? `${i.owner}@${i.stackId}` : `${i.owner.slice(0, cut)}@${i.stackId}${i.owner.slice(cut)}`;
}

// ------------------------------------------------------------------------------------------ host text

// C0 and C1 controls (but tab and newline), DEL, and the invisible characters that reorder or hide text.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Text from a host, made fit for an error message or the checkpoint: no control characters (a tab and
 * newlines are kept unless `oneLine`), and at most `max` characters.
 */
export function hostText(text: string, max: number, oneLine = false): string {
  let clean = text.replace(UNPRINTABLE, "");
  if (oneLine) clean = clean.replace(/[\t\n]+/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}… (${clean.length - max} more characters)` : clean;
}
/** One drift entry: at most this many characters. */
const DRIFT_TEXT_MAX = 300;
/** At most this many drift entries (a host has at most 1,024 routes). */
const DRIFT_ENTRIES_MAX = 1_100;
/** A host's own words in an error message: at most this many characters. */
const HOST_MESSAGE_MAX = 4_000;

/** The routes (destination and next hop) and hosts block that make a host's state, as one digest. */
export function appliedDigest(
  routes: Readonly<Record<string, string>>,
  hostsLines: readonly string[] | undefined,
): string {
  const lines = fromStateRoutes(routes)
    .map((r) => `${r.destination} ${r.nextHop}`)
    .sort();
  return createHash("sha256")
    .update(JSON.stringify([lines, hostsLines ?? null]))
    .digest("hex")
    .slice(0, 16);
}

/**
 * Old machines to drop from the stack without cleaning them when their delete finds them unreachable (no TCP
 * connection at all: see SshReach `unreached`): host names or addresses, comma-separated. There is no
 * wildcard: each machine is named.
 */
export const FORGET_ENV = "POD_ROUTES_FORGET_UNREACHABLE";

const target = (i: Omit<HostRoutesInputs, "routes" | "hostsLines">): SshTarget => ({
  host: i.address,
  port: i.port,
  user: i.user,
  privateKey: i.privateKey,
  ...(i.hostKey !== undefined ? { hostKey: i.hostKey } : {}),
  connectTimeoutMs: i.connectTimeoutSeconds * 1000,
  commandTimeoutMs: i.commandTimeoutSeconds * 1000,
});

const scriptInput = (i: HostRoutesInputs) => ({
  host: i.host,
  owner: ownerRecord(i),
  routes: fromStateRoutes(i.routes),
  adopt: i.adopt,
  ...(i.hostsLines !== undefined ? { hostsLines: i.hostsLines } : {}),
  ...(i.resyncInterval !== undefined ? { resyncInterval: i.resyncInterval } : {}),
});

const where = (i: Pick<HostRoutesInputs, "host" | "address" | "port">) =>
  `host ${i.host} (${i.address}:${i.port})`;

/**
 * A script that could not run on a host (`kind` from the SSH client), or ran and failed (`script`).
 * `reach` says how far the call got (`command` for a script that ran); `mayHaveChanged` whether the host
 * may have been changed: false only when nothing reached it, or the program itself said nothing changed.
 */
export class HostError extends Error {
  override readonly name = "HostError";
  constructor(
    readonly kind: SshErrorKind | "script",
    message: string,
    readonly reach: SshReach = "command",
    readonly mayHaveChanged = true,
  ) {
    super(message);
  }
}

/** The host program's exit statuses that say nothing was changed on the host. */
const NOTHING_CHANGED: ReadonlySet<number> = new Set([
  EXIT_CODES.refused,
  EXIT_CODES.rolledBack,
  EXIT_CODES.cannotRun,
  EXIT_CODES.lockTimeout,
]);

/**
 * Runs one script on the host (rendered with this run's nonce) and returns its stdout without the
 * program's final line. A script that fails, or exits 0 without that line, becomes an error carrying the
 * host's own words (without control characters, bounded).
 */
async function run(
  i: Omit<HostRoutesInputs, "routes" | "hostsLines">,
  what: string,
  render: (nonce: string) => string,
): Promise<string> {
  const nonce = randomBytes(16).toString("hex");
  let result;
  try {
    result = await runScript(target(i), "sh -s", render(nonce));
  } catch (error) {
    if (error instanceof SshError) {
      const message = `pod-routes: ${what} ${where(i)}: ${hostText(error.message, HOST_MESSAGE_MAX)}`;
      throw new HostError(error.kind, message, error.reach, error.reach === "command");
    }
    throw error;
  }
  const said = (fallback: string) =>
    hostText(result.stderr.trim() || result.stdout.trim() || fallback, HOST_MESSAGE_MAX);
  if (result.code === EXIT_CODES.ok) {
    const last = `${doneLine(nonce)}\n`;
    if (result.stdout.endsWith(last)) return result.stdout.slice(0, -last.length);
    throw new HostError(
      "script",
      `pod-routes: ${what} ${where(i)} failed: the login exited 0 without the host program's own final line, so the program did not run to its end (a forced command or a wrapper in sshd_config or authorized_keys?); pod-routes needs its script run by \`sh -s\` as sent. The host said:\n${said("nothing")}`,
    );
  }
  throw new HostError(
    "script",
    `pod-routes: ${what} ${where(i)} failed (exit ${result.code}):\n${said(`exit status ${result.code}`)}`,
    "command",
    !NOTHING_CHANGED.has(result.code),
  );
}

/**
 * What a create or update throws when it failed but may have changed the host: the engine keeps the
 * resource with this id and these outputs (a dynamic provider's "resource initialization failed"), so that
 * the next update runs again and a destroy deletes it. The dynamic provider's shim reads `id`,
 * `properties` and `reasons`; the engine shows the reasons.
 */
export class UnfinishedRunError extends Error {
  override readonly name = "UnfinishedRunError";
  readonly reasons: string[];
  constructor(
    message: string,
    readonly id: string,
    readonly properties: HostRoutesOutputs,
  ) {
    super(message);
    this.reasons = [message];
  }
}

/** The drift entry an unfinished run leaves: the next update runs again. */
const UNFINISHED =
  "the last run of pod-routes on this host did not finish, or its end was not seen: what it changed is unknown; the next update runs it again";

/**
 * A create's or update's failure: as is when nothing on the host may have changed, else an
 * UnfinishedRunError that keeps the resource (its outputs say nothing is known to be applied).
 */
function unfinished(error: unknown, id: string, news: HostRoutesInputs, previousOwner?: string): unknown {
  if (!(error instanceof HostError) || !error.mayHaveChanged) return error;
  const outs: HostRoutesOutputs = {
    ...applied(news),
    applied: "",
    drift: [UNFINISHED],
    ...(previousOwner !== undefined && previousOwner !== ownerRecord(news) ? { previousOwner } : {}),
  };
  return new UnfinishedRunError(
    `${error.message}\nThe host may have been changed: pod-routes keeps this host in the stack, so that the next \`pulumi up\` runs it again and \`pulumi destroy\` (or removing the node) cleans it.`,
    id,
    outs,
  );
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Whether what is on the host (or was last known to be) differs from what the inputs want there. */
function hostDiffers(olds: HostRoutesOutputs, news: HostRoutesInputs): boolean {
  return (
    olds.applied !== appliedDigest(news.routes, news.hostsLines) ||
    (olds.drift ?? []).length > 0 ||
    ownerRecord(olds) !== ownerRecord(news) ||
    olds.previousOwner !== undefined ||
    olds.providerVersion !== news.providerVersion ||
    olds.resyncInterval !== news.resyncInterval
  );
}

const CONNECTION_KEYS = [
  "port",
  "user",
  "hostKey",
  "privateKey",
  "connectTimeoutSeconds",
  "commandTimeoutSeconds",
  "adopt",
] as const;

/**
 * The outputs after an apply: the inputs without the routes (kept once, in the inputs), and no drift.
 * (At run time the inputs also hold the dynamic provider's `__provider`, which the outputs must keep.)
 */
function applied(news: HostRoutesInputs): HostRoutesOutputs {
  const { routes, hostsLines, ...rest } = news;
  return { ...rest, applied: appliedDigest(routes, hostsLines), drift: [] };
}

/** What a refresh found on the host (checked against its own state file) that differs from what was applied. */
export function driftOf(props: HostRoutesOutputs, report: CheckReport): string[] {
  const found = rawDrift(props, report);
  const drift = found.slice(0, DRIFT_ENTRIES_MAX).map((entry) => hostText(entry, DRIFT_TEXT_MAX, true));
  if (found.length > DRIFT_ENTRIES_MAX) drift.push(`… and ${found.length - DRIFT_ENTRIES_MAX} more`);
  return drift;
}

/** The drift as found, with the host's text as it came. */
function rawDrift(props: HostRoutesOutputs, report: CheckReport): string[] {
  const drift: string[] = [];
  const owner = ownerRecord(props);
  if (report.state === "missing") {
    drift.push(`pod-routes' state file ${STATE_FILE} is missing (the host was rebuilt or cleaned by hand?)`);
  } else if (report.owner !== owner) {
    drift.push(`the host is now owned by ${report.owner === "" ? "no one" : report.owner}, not ${owner}`);
  }
  const recorded: Record<string, string> = {};
  for (const v of report.verdicts) {
    const route = `${v.destination} via ${v.desiredVia ?? "?"}`;
    if (v.desiredVia !== null) recorded[v.destination] = v.desiredVia;
    switch (v.verdict) {
      case "add":
        drift.push(`${route} is missing (removed by hand?)`);
        break;
      case "change":
        drift.push(`${route} now goes via ${v.liveVia ?? "?"}`);
        break;
      case "conflict":
        drift.push(`${route}: in the way: ${v.detail ?? "a route pod-routes did not create"}`);
        break;
      case "identical":
      case "adopt":
        drift.push(`${route}: replaced by a route made by hand: ${v.detail ?? ""}`.trimEnd());
        break;
      case "invalid":
        drift.push(`an unreadable line in ${STATE_FILE}: ${v.destination}`);
        break;
      default:
        break;
    }
  }
  if (report.unit === "missing" && report.state !== "missing") {
    drift.push(`the boot unit ${UNIT_FILE} is missing: the routes would not come back after a reboot`);
  }
  if (report.hostsBlock === "damaged") drift.push("the managed block in /etc/hosts is damaged");
  const hosts = report.hostsBlock === "present" ? report.hosts : undefined;
  if (report.state !== "missing" && drift.length === 0 && appliedDigest(recorded, hosts) !== props.applied) {
    drift.push("the routes or /etc/hosts block recorded on the host are not the ones this stack applied");
  }
  return drift;
}

function forgotten(i: Pick<HostRoutesInputs, "host" | "address">): boolean {
  const names = (process.env[FORGET_ENV] ?? "").split(",").map((s) => s.trim());
  return names.includes(i.host) || names.includes(i.address);
}

/** The engine's placeholder for a value not known before the update (e.g. during a preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The check failures of the inputs. None names a property: the engine prints a failure's property with its
 * value, and the value of `privateKey` (even a secret) would be printed in clear. The reason names it.
 */
function inputProblems(news: HostRoutesInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string) =>
    failures.push({ property: "", reason: `${property}: ${reason}` });
  if (typeof news.privateKey !== "string" || news.privateKey.length === 0) {
    fail(
      "privateKey",
      "is not set; run `pulumi config set --secret pod-routes:sshPrivateKey < ~/.ssh/id_ed25519` (the key pod-routes logs in with)",
    );
  } else if (news.privateKey !== UNKNOWN) {
    const bad = keyProblem(validatePrivateKey, news.privateKey, "the private key cannot be read");
    if (bad !== undefined) fail("privateKey", bad);
  }
  if (news.hostKey !== undefined && news.hostKey !== UNKNOWN) {
    const bad = keyProblem(validateHostKey, news.hostKey, "the pinned host key cannot be read");
    if (bad !== undefined) fail("hostKey", bad);
  }
  return failures;
}

/** What `validate` says is wrong with a key, or `unreadable` when it throws (never the key itself). */
function keyProblem(
  validate: (key: string) => string | undefined,
  key: string,
  unreadable: string,
): string | undefined {
  try {
    return validate(key);
  } catch {
    return unreadable;
  }
}

const hostRoutes = {
  async check(_olds: HostRoutesInputs, news: HostRoutesInputs): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news, failures: inputProblems(news) };
  },

  async diff(
    _id: string,
    olds: HostRoutesOutputs,
    news: HostRoutesInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    // Another address is another machine: clean the old one first, then set up the new one.
    const replaces = olds.address !== news.address ? ["address"] : [];
    const changes =
      replaces.length > 0 ||
      hostDiffers(olds, news) ||
      CONNECTION_KEYS.some((key) => !sameJson(olds[key], news[key]));
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(news: HostRoutesInputs): Promise<pulumi.dynamic.CreateResult> {
    const id = `${news.host}@${news.address}`;
    try {
      await run(news, "applying the routes of", (nonce) => renderApply({ ...scriptInput(news), nonce }));
    } catch (error) {
      throw unfinished(error, id, news);
    }
    return { id, outs: applied(news) };
  },

  async update(
    id: string,
    olds: HostRoutesOutputs,
    news: HostRoutesInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    // A new key, user or port changes nothing on the host: no session for it.
    if (hostDiffers(olds, news)) {
      // The record this resource left on the host may be another identity than the new one (written before
      // stack identities, or by an unfinished run): this run takes it over, and no other stack's.
      const before = olds.previousOwner ?? ownerRecord(olds);
      const previousOwner = before !== ownerRecord(news) ? before : undefined;
      try {
        await run(news, "applying the routes of", (nonce) =>
          renderApply({
            ...scriptInput(news),
            ...(previousOwner !== undefined ? { previousOwner } : {}),
            nonce,
          }),
        );
      } catch (error) {
        throw unfinished(error, id, news, previousOwner);
      }
    }
    return { outs: applied(news) };
  },

  async read(id: string, props: HostRoutesOutputs): Promise<pulumi.dynamic.ReadResult> {
    let report: CheckReport;
    try {
      const stdout = await run(props, "refreshing", (nonce) =>
        renderStateCheck({ host: props.host, owner: ownerRecord(props), nonce }),
      );
      try {
        report = parseCheckReport(stdout);
      } catch (error) {
        throw new Error(`pod-routes: refreshing ${where(props)}: ${(error as Error).message}`);
      }
    } catch (error) {
      // Never dropped from the state: the refresh fails, naming the host, and its last known state stays.
      throw new Error(
        `${hostText((error as Error).message, 2 * HOST_MESSAGE_MAX)}\nIts last known state is kept. Fix the connection (or remove the node from the stack) and refresh again.`,
      );
    }
    return { id, props: { ...props, drift: driftOf(props, report) } };
  },

  async delete(_id: string, props: HostRoutesOutputs): Promise<void> {
    try {
      await run(props, "removing the routes of", (nonce) =>
        renderDelete({
          host: props.host,
          owner: ownerRecord(props),
          ...(props.previousOwner !== undefined ? { previousOwner: props.previousOwner } : {}),
          nonce,
        }),
      );
    } catch (error) {
      // Only a machine that never answered may be forgotten: one that answered may hold the lock, or have
      // run the delete halfway.
      const unreachable = error instanceof HostError && error.reach === "unreached";
      if (unreachable && forgotten(props)) return;
      throw new Error(
        `${(error as Error).message}\n` +
          (unreachable
            ? `If this machine is gone for good, drop it from the stack without cleaning it: run the update again with ${FORGET_ENV}=${props.host} in the environment (or \`pulumi state delete\` its HostRoutes resource). Should it come back, clean it by hand: \`npx pod-routes script --delete --host ${props.host} <your machines.txt or stack file>\` prints the script.`
            : error instanceof HostError && error.mayHaveChanged
              ? "The host answered, so it is not forgotten; what the delete did there is unknown. Fix what stopped it and run again (the delete is safe to repeat)."
              : "Nothing was removed; fix what the host reports and run again."),
      );
    }
  },
};

// ------------------------------------------------------------------------------------- stack identity

/** A StackIdentity's inputs carry this key (true); HostRoutes' never do. */
export const STACK_IDENTITY_KEY = "podRoutesStackIdentity";

/** The StackIdentity resource's outputs: its random identity (also its id). */
export interface StackIdentityOutputs {
  readonly [STACK_IDENTITY_KEY]: true;
  readonly identity: string;
}

const isIdentity = (props: unknown): boolean =>
  typeof props === "object" &&
  props !== null &&
  (props as Record<string, unknown>)[STACK_IDENTITY_KEY] === true;

/**
 * StackIdentity: a random identity created once per stack and kept in its state (never changed by an
 * update, never replaced). Served by the same provider as HostRoutes (one serialized provider reference).
 */
const stackIdentity = {
  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news };
  },
  async diff(): Promise<pulumi.dynamic.DiffResult> {
    return { changes: false };
  },
  async create(news: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
    const identity = randomBytes(8).toString("hex");
    return { id: identity, outs: { ...news, identity } };
  },
  async read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    return { id, props };
  },
  async update(_id: string, olds: Record<string, unknown>): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: olds };
  },
  async delete(): Promise<void> {},
};

/** The provider of both resource kinds, HostRoutes and StackIdentity (told apart by their properties). */
/* eslint-disable @typescript-eslint/no-explicit-any -- the engine passes either kind's properties */
export const hostRoutesProvider = {
  check: (olds: any, news: any): Promise<pulumi.dynamic.CheckResult> =>
    isIdentity(news) ? stackIdentity.check(olds, news) : hostRoutes.check(olds, news),
  diff: (id: string, olds: any, news: any): Promise<pulumi.dynamic.DiffResult> =>
    isIdentity(olds) || isIdentity(news) ? stackIdentity.diff() : hostRoutes.diff(id, olds, news),
  create: (news: any): Promise<pulumi.dynamic.CreateResult> =>
    isIdentity(news) ? stackIdentity.create(news) : hostRoutes.create(news),
  read: (id: string, props: any): Promise<pulumi.dynamic.ReadResult> =>
    isIdentity(props) ? stackIdentity.read(id, props) : hostRoutes.read(id, props),
  update: (id: string, olds: any, news: any): Promise<pulumi.dynamic.UpdateResult> =>
    isIdentity(olds) || isIdentity(news) ? stackIdentity.update(id, olds) : hostRoutes.update(id, olds, news),
  delete: (id: string, props: any): Promise<void> =>
    isIdentity(props) ? stackIdentity.delete() : hostRoutes.delete(id, props),
};
/* eslint-enable @typescript-eslint/no-explicit-any */
