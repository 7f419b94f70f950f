// The SSH path shared by bare metal and Linode: one remote.Command per host that runs the host's script.
import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { defaultSshConfig, SshConfig } from "../spec/config";
import { HostScripts, renderHostScripts } from "../spec/hostscript";
import { isWorker, RouteSpec } from "../spec/types";
import { Problem, SpecError, show, Validated } from "../spec/validate";
import { RouteRow, toRows } from "./types";

/**
 * The most routes one host takes over the SSH path. Host routes are a full mesh (every host gets every
 * other worker's subnet), so the program, its state and its outputs grow with the square of the node
 * count: at this limit that is about a million host routes, ~1 GB and tens of seconds to evaluate, and
 * every host's script (its stdin) is kept in the stack's state. Past it, fail at preview with a clear
 * message rather than exhaust memory mid-run. The bench evaluates the bare-metal program at this limit;
 * the lab proves a host applies, re-runs and deletes this many (tests/e2e/limits.test.ts).
 */
export const MAX_ROUTES_PER_HOST = 1024;

export interface SshTarget {
  readonly scripts: HostScripts;
  /** Where to connect: a public address, or the node IP. */
  readonly address: string;
  /** Pinned host key (`ssh-ed25519 AAAA…`); undefined only with the explicit insecure opt-out. */
  readonly hostKey?: string;
}

export interface SshPlan {
  readonly targets: SshTarget[];
  readonly rows: RouteRow[];
  /** Hosts whose key is not pinned (only with ssh.insecureIgnoreHostKeys). */
  readonly unpinned: string[];
}

/**
 * Pure: the scripts and connections for every host, or every problem (too many routes per host, SSH
 * settings naming hosts that are not nodes, unpinned hosts without the opt-out).
 */
export function planSsh(
  spec: RouteSpec,
  ssh: SshConfig,
  options: { adopt: boolean; prefix: string; addressOf?: (host: string) => string | undefined },
): { ok: true; value: SshPlan } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  // Every check runs before any script is rendered: at the limit that is a million host routes.
  // A controller gets every worker's subnet, a worker every other one's.
  const workers = spec.nodes.filter(isWorker).length;
  const largest = spec.nodes.some((n) => n.role === "controller") ? workers : workers - 1;
  if (largest > MAX_ROUTES_PER_HOST) {
    problems.push({
      where: "pod-routes:nodes",
      message: `${largest} routes per host exceed what the SSH path supports (${MAX_ROUTES_PER_HOST}); at this size use routing that scales (a BGP speaker such as Calico or kube-router, or the cloud's route tables), or split the cluster`,
    });
  }
  const names = new Set(spec.nodes.map((n) => n.name));
  for (const key of [...Object.keys(ssh.hostKeys), ...Object.keys(ssh.connectAddresses)]) {
    if (!names.has(key)) {
      problems.push({
        where: `pod-routes:ssh`,
        message: `names host ${show(key)}, which is not a node; the nodes are ${[...names].join(", ")}`,
      });
    }
  }
  const connections = spec.nodes.map((host) => ({
    host,
    address: ssh.connectAddresses[host.name] ?? options.addressOf?.(host.name) ?? host.ip,
    hostKey: ssh.hostKeys[host.name],
  }));
  for (const { host, address, hostKey } of connections) {
    if (hostKey === undefined && !ssh.insecureIgnoreHostKeys) {
      problems.push({
        where: `pod-routes:ssh.hostKeys`,
        message: `has no host key for ${show(host.name)}; pin it (ssh-keyscan -t ed25519 ${address} prints it) or, at your own risk, set pod-routes:ssh.insecureIgnoreHostKeys to true`,
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const scripts = renderHostScripts(spec, { adopt: options.adopt }, options.prefix);
  const connectionOf = new Map(connections.map((c) => [c.host.name, c]));
  const targets: SshTarget[] = scripts.map((script) => {
    const { address, hostKey } = connectionOf.get(script.host.name)!;
    return { scripts: script, address, ...(hostKey !== undefined ? { hostKey } : {}) };
  });
  const unpinned = connections.filter((c) => c.hostKey === undefined).map((c) => c.host.name);
  return { ok: true, value: { targets, rows: toRows(scripts.flatMap((s) => s.plan.routes)), unpinned } };
}

/** A command line that runs `script` under /bin/sh whatever the login shell is: base64 holds no quotes. */
export function viaPosixShell(script: string): string {
  return `printf '%s' '${Buffer.from(script, "utf8").toString("base64")}' | base64 -d | sh`;
}

export class SshPodRoutes extends pulumi.ComponentResource {
  readonly commands: remote.Command[];

  constructor(
    name: string,
    plan: SshPlan,
    args: { ssh: SshConfig; privateKey: pulumi.Output<string> },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("pod-routes:ssh:PodRoutes", name, {}, opts);
    this.commands = plan.targets.map(
      (target) =>
        new remote.Command(
          `pod-routes-${target.scripts.host.name}`,
          {
            connection: {
              host: target.address,
              port: args.ssh.port,
              user: args.ssh.user,
              privateKey: args.privateKey,
              ...(target.hostKey !== undefined ? { hostKey: target.hostKey } : {}),
              dialErrorLimit: 3,
              perDialTimeout: 10,
            },
            // The script travels on stdin: no command-line length limit, however many routes a host has.
            create: "sh -s",
            update: "sh -s",
            stdin: target.scripts.apply,
            // The delete cannot use stdin (the engine feeds it the last apply script), so it travels in
            // the command line, base64-encoded so the host's login shell (bash, zsh, fish…) only runs a pipe.
            delete: viaPosixShell(target.scripts.remove),
            // The scripts never read the previous run's output; passing it means an SSH `setenv` that
            // stock sshd refuses (AcceptEnv), and a warning on every command of every run.
            addPreviousOutputInEnv: false,
          },
          // The apply script reconciles in place, so changes are updates. When a replacement does happen
          // (the provider replaces on some input changes), the old command's delete must run before the
          // new create: delete removes every pod-routes route on the host, and running it after the
          // successor's create would undo the successor.
          { parent: this, deleteBeforeReplace: true },
        ),
    );
    this.registerOutputs({});
  }
}

/**
 * Pinned keys the provider cannot use. @pulumi/command 1.2.1 offers the server only the pinned key's own
 * type as host key algorithm; for an RSA key that is "ssh-rsa" (SHA-1 signatures), which OpenSSH 8.8 and
 * later refuse, so every connection would fail at the handshake ("no common algorithm for host key").
 */
export function unusableHostKeys(ssh: SshConfig | undefined): Problem[] {
  return Object.entries(ssh?.hostKeys ?? {})
    .filter(([, key]) => key.startsWith("ssh-rsa "))
    .map(([host, key]) => ({
      where: `pod-routes:ssh.hostKeys.${host}`,
      message: `is an RSA key (${key.slice(0, 20)}…), which @pulumi/command can only check with SHA-1 "ssh-rsa" signatures that OpenSSH 8.8 and later refuse; pin the host's ed25519 key instead (ssh-keyscan -t ed25519 <address>)`,
    }));
}

/**
 * Shared deploy tail for the SSH providers: every problem (the spec's or the SSH plan's, unusable host
 * keys, a missing private key) together, before any resource; then warnings and one command per host.
 */
export function deploySsh(
  specResult: Validated<RouteSpec>,
  config: { ssh?: SshConfig; adopt: boolean; routeNamePrefix: string },
  privateKey: pulumi.Output<string> | undefined,
  addressOf?: (host: string) => string | undefined,
): RouteRow[] {
  // These need no valid spec, so they are reported whatever else is wrong.
  const settingProblems = unusableHostKeys(config.ssh);
  if (privateKey === undefined) {
    settingProblems.push({
      where: "pod-routes:sshPrivateKey",
      message:
        "is not set; run `pulumi config set --secret pod-routes:sshPrivateKey < ~/.ssh/id_ed25519` (the key pod-routes logs in with)",
    });
  }
  if (!specResult.ok) throw new SpecError([...specResult.problems, ...settingProblems]);
  const ssh = config.ssh ?? defaultSshConfig();
  const planned = planSsh(specResult.value, ssh, {
    adopt: config.adopt,
    prefix: config.routeNamePrefix,
    ...(addressOf ? { addressOf } : {}),
  });
  if (!planned.ok || privateKey === undefined || settingProblems.length > 0) {
    throw new SpecError([...(planned.ok ? [] : planned.problems), ...settingProblems]);
  }
  if (planned.value.unpinned.length > 0) {
    pulumi.log.warn(
      `pod-routes: INSECURE: host keys are not checked for ${planned.value.unpinned.join(", ")} (pod-routes:ssh.insecureIgnoreHostKeys is true); anyone on the path can impersonate these hosts. Pin them in pod-routes:ssh.hostKeys.`,
    );
  }
  new SshPodRoutes("pod-routes", planned.value, { ssh, privateKey: pulumi.secret(privateKey) });
  return planned.value.rows;
}
