// HostRoutes' provider: what the engine calls (through the small shim in host-routes.ts) to create, read,
// update and delete the pod routes of one host over SSH. State holds structured routes, never scripts:
// the scripts are rendered here, from the inputs, each time one runs.
import { createHash } from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import {
  CheckReport,
  EXIT_CODES,
  parseCheckReport,
  renderApply,
  renderDelete,
  renderStateCheck,
  STATE_FILE,
  UNIT_FILE,
} from "./scripts";
import { runScript, SshError, SshTarget, validateHostKey, validatePrivateKey } from "./session";

/** The inputs of one host's HostRoutes, as the engine stores them. */
export interface HostRoutesInputs {
  /** The host's node name. */
  readonly host: string;
  /** Who owns the host's routes: `pulumi:<org>/<project>/<stack>:<resource name>`. */
  readonly owner: string;
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
}

/** The routes (destination and next hop) and hosts block that make a host's state, as one digest. */
export function appliedDigest(
  routes: Readonly<Record<string, string>>,
  hostsLines: readonly string[] | undefined,
): string {
  const lines = Object.entries(routes)
    .map(([destination, value]) => `${destination} ${value.split(" ")[0] ?? ""}`)
    .sort();
  return createHash("sha256")
    .update(JSON.stringify([lines, hostsLines ?? null]))
    .digest("hex")
    .slice(0, 16);
}

/** Unreachable old machines to drop from the stack without cleaning them: host names or addresses, or `*`. */
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

const routeLines = (routes: Readonly<Record<string, string>>) =>
  Object.entries(routes).map(([destination, value]) => {
    const [nextHop = "", node = ""] = value.split(" ");
    return { destination, nextHop, node };
  });

const scriptInput = (i: HostRoutesInputs) => ({
  host: i.host,
  owner: i.owner,
  routes: routeLines(i.routes),
  adopt: i.adopt,
  ...(i.hostsLines !== undefined ? { hostsLines: i.hostsLines } : {}),
  ...(i.resyncInterval !== undefined ? { resyncInterval: i.resyncInterval } : {}),
});

const where = (i: Pick<HostRoutesInputs, "host" | "address" | "port">) =>
  `host ${i.host} (${i.address}:${i.port})`;

/** A script that could not run on a host (`kind` from the SSH client), or ran and refused (`script`). */
export class HostError extends Error {
  override readonly name = "HostError";
  constructor(
    readonly kind: SshError["kind"] | "script",
    message: string,
  ) {
    super(message);
  }
}

/** Runs one script on the host; a script that refuses or fails becomes an error carrying its own words. */
async function run(
  i: Omit<HostRoutesInputs, "routes" | "hostsLines">,
  what: string,
  script: string,
): Promise<string> {
  let result;
  try {
    result = await runScript(target(i), "sh -s", script);
  } catch (error) {
    if (error instanceof SshError)
      throw new HostError(error.kind, `pod-routes: ${what} ${where(i)}: ${error.message}`);
    throw error;
  }
  if (result.code === EXIT_CODES.ok) return result.stdout;
  const said = result.stderr.trim() || result.stdout.trim() || `exit status ${result.code}`;
  throw new HostError("script", `pod-routes: ${what} ${where(i)} failed (exit ${result.code}):\n${said}`);
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Whether what is on the host (or was last known to be) differs from what the inputs want there. */
function hostDiffers(olds: HostRoutesOutputs, news: HostRoutesInputs): boolean {
  return (
    olds.applied !== appliedDigest(news.routes, news.hostsLines) ||
    (olds.drift ?? []).length > 0 ||
    olds.owner !== news.owner ||
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

/** The outputs after an apply: the inputs without the routes (kept once, in the inputs), and no drift. */
function applied(news: HostRoutesInputs): HostRoutesOutputs {
  const { routes, hostsLines, ...rest } = news;
  return { ...rest, applied: appliedDigest(routes, hostsLines), drift: [] };
}

/** What a refresh found on the host (checked against its own state file) that differs from what was applied. */
export function driftOf(props: HostRoutesOutputs, report: CheckReport): string[] {
  const drift: string[] = [];
  if (report.state === "missing") {
    drift.push(`pod-routes' state file ${STATE_FILE} is missing (the host was rebuilt or cleaned by hand?)`);
  } else if (report.owner !== props.owner) {
    drift.push(
      `the host is now owned by ${report.owner === "" ? "no one" : report.owner}, not ${props.owner}`,
    );
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
  return names.includes("*") || names.includes(i.host) || names.includes(i.address);
}

export const hostRoutesProvider = {
  async check(_olds: HostRoutesInputs, news: HostRoutesInputs): Promise<pulumi.dynamic.CheckResult> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (typeof news.privateKey !== "string" || news.privateKey.length === 0) {
      failures.push({
        property: "privateKey",
        reason:
          "is not set; run `pulumi config set --secret pod-routes:sshPrivateKey < ~/.ssh/id_ed25519` (the key pod-routes logs in with)",
      });
    } else {
      const bad = validatePrivateKey(news.privateKey);
      if (bad !== undefined) failures.push({ property: "privateKey", reason: bad });
    }
    if (news.hostKey !== undefined) {
      const bad = validateHostKey(news.hostKey);
      if (bad !== undefined) failures.push({ property: "hostKey", reason: bad });
    }
    return { inputs: news, failures };
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
    await run(news, "applying the routes of", renderApply(scriptInput(news)));
    return { id: `${news.host}@${news.address}`, outs: applied(news) };
  },

  async update(
    _id: string,
    olds: HostRoutesOutputs,
    news: HostRoutesInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    // A new key, user or port changes nothing on the host: no session for it.
    if (hostDiffers(olds, news)) await run(news, "applying the routes of", renderApply(scriptInput(news)));
    return { outs: applied(news) };
  },

  async read(id: string, props: HostRoutesOutputs): Promise<pulumi.dynamic.ReadResult> {
    let stdout: string;
    try {
      stdout = await run(props, "refreshing", renderStateCheck({ host: props.host, owner: props.owner }));
    } catch (error) {
      // Never dropped from the state: the refresh fails, naming the host, and its last known state stays.
      throw new Error(
        `${(error as Error).message}\nIts last known state is kept. Fix the connection (or remove the node from the stack) and refresh again.`,
      );
    }
    return { id, props: { ...props, drift: driftOf(props, parseCheckReport(stdout)) } };
  },

  async delete(_id: string, props: HostRoutesOutputs): Promise<void> {
    try {
      await run(props, "removing the routes of", renderDelete({ host: props.host, owner: props.owner }));
    } catch (error) {
      const unreachable =
        error instanceof HostError && (error.kind === "connect" || error.kind === "timeout");
      if (unreachable && forgotten(props)) return;
      throw new Error(
        `${(error as Error).message}\n` +
          (unreachable
            ? `If this machine is gone for good, drop it from the stack without cleaning it: run the update again with ${FORGET_ENV}=${props.host} in the environment (or \`pulumi state delete\` its HostRoutes resource). Should it come back, clean it by hand: \`npx pod-routes script --delete --host ${props.host} <your machines.txt or stack file>\` prints the script.`
            : "Nothing was removed; fix what the host reports and run again."),
      );
    }
  },
};
