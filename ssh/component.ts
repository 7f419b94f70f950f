// ssh.PodRoutes: the pod routes of every host, installed over SSH (bare metal, Linode): one resource per
// host, named `<name>-<host>`, that makes the host's routes match the plan.
import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Problem } from "../core/problems";
import { RouteRow, toRows } from "../core/types";
import { knownProblems, NodeArgs, plainNodes, resolvedSpec, SpecArgs, throwProblems } from "../common/nodes";
import { renderHostScripts } from "./legacy-hostscript";
import { check } from "./plan";

export interface SshNodeArgs extends NodeArgs {
  /** Fully qualified name, for the controllers' managed /etc/hosts block. */
  readonly fqdn?: string;
  /** Where to connect, when it is not the node IP (e.g. a public address). */
  readonly address?: pulumi.Input<string>;
  /** The host's pinned public key, `ssh-ed25519 AAAA…` (`ssh-keyscan -t ed25519 <address>` prints it). */
  readonly hostKey?: pulumi.Input<string>;
}

export interface PodRoutesArgs extends SpecArgs<SshNodeArgs> {
  /** The private key pod-routes logs in with (kept secret). */
  readonly privateKey: pulumi.Input<string>;
  /** SSH user; default `root`. */
  readonly user?: pulumi.Input<string>;
  /** SSH port; default 22. */
  readonly port?: pulumi.Input<number>;
  /** Explicit, loudly warned opt-out of host key pinning for nodes without a `hostKey`. */
  readonly insecureIgnoreHostKeys?: boolean;
  /** Take over hand-made routes identical to desired ones (same destination and next hop). */
  readonly adopt?: boolean;
  readonly routeNamePrefix?: string;
}

const sshFacts = (args: PodRoutesArgs) =>
  plainNodes(args).map((node, i) => {
    const given = args.nodes[i];
    const address =
      typeof given?.address === "string"
        ? given.address
        : typeof given?.ip === "string"
          ? given.ip
          : undefined;
    return {
      ...node,
      ...(given?.hostKey !== undefined ? { hostKey: "pinned" } : {}),
      ...(address !== undefined ? { address } : {}),
    };
  });

/** Every problem with the plain args, as the constructor would throw them. */
export function checkArgs(name: string, args: PodRoutesArgs): Problem[] {
  const problems = knownProblems(args, `${name}: nodes`);
  if (problems.length > 0) return problems;
  if (args.privateKey === undefined) {
    problems.push({ where: `${name}: privateKey`, message: "is required: the key pod-routes logs in with" });
  }
  problems.push(
    ...check(sshFacts(args), {
      insecureIgnoreHostKeys: args.insecureIgnoreHostKeys ?? false,
      setting: (setting) => `${name}: ${setting}`,
    }),
  );
  return problems;
}

/** A command line that runs `script` under /bin/sh whatever the login shell is: base64 holds no quotes. */
export function viaPosixShell(script: string): string {
  return `printf '%s' '${Buffer.from(script, "utf8").toString("base64")}' | base64 -d | sh`;
}

export class PodRoutes extends pulumi.ComponentResource {
  /** Every host's routes, shaped like the runbook's verification table (`where` is the host). */
  readonly routes: pulumi.Output<RouteRow[]>;
  readonly commands: remote.Command[];

  constructor(name: string, args: PodRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad args create nothing at all.
    const context = `ssh.PodRoutes ${JSON.stringify(name)}`;
    throwProblems(checkArgs(name, args), context);
    super("pod-routes:ssh:PodRoutes", name, {}, opts);
    const unpinned = args.nodes.filter((n) => n.hostKey === undefined).map((n) => n.name);
    if (unpinned.length > 0) {
      pulumi.log.warn(
        `pod-routes: INSECURE: host keys are not checked for ${unpinned.join(", ")} (insecureIgnoreHostKeys is true); anyone on the path can impersonate these hosts. Pin them.`,
        this,
      );
    }

    const spec = resolvedSpec(args, `${name}: nodes`, context);
    const scripts = spec.apply((s) =>
      renderHostScripts(s, { adopt: args.adopt ?? false }, args.routeNamePrefix),
    );
    const privateKey = pulumi.secret(args.privateKey);
    this.commands = args.nodes.map((node) => {
      const script = scripts.apply((all) => all.find((s) => s.host.name === node.name)!);
      return new remote.Command(
        `${name}-${node.name}`,
        {
          connection: {
            host: node.address ?? spec.apply((s) => s.nodes.find((n) => n.name === node.name)!.ip),
            port: args.port ?? 22,
            user: args.user ?? "root",
            privateKey,
            ...(node.hostKey !== undefined ? { hostKey: node.hostKey } : {}),
            dialErrorLimit: 3,
            perDialTimeout: 10,
          },
          // The script travels on stdin: no command-line length limit, however many routes a host has.
          create: "sh -s",
          update: "sh -s",
          stdin: script.apply((s) => s.apply),
          // The delete cannot use stdin (the engine feeds it the last apply script), so it travels in
          // the command line, base64-encoded so the host's login shell (bash, zsh, fish…) only runs a pipe.
          delete: script.apply((s) => viaPosixShell(s.remove)),
          // The scripts never read the previous run's output; passing it means an SSH `setenv` that
          // stock sshd refuses (AcceptEnv), and a warning on every command of every run.
          addPreviousOutputInEnv: false,
        },
        // Changes are updates; should a replacement happen, the old delete must run before the new create.
        { parent: this, deleteBeforeReplace: true },
      );
    });
    this.routes = scripts.apply((all) => toRows(all.flatMap((s) => s.plan.routes)));
    this.registerOutputs({ routes: this.routes });
  }
}
