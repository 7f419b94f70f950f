// The stack's plan, pure and shared by `pulumi up` (stack/deploy.ts) and the offline CLI: decode the
// `pod-routes:` config, build the spec, run the target's own checks, and report every problem of every
// layer together. Discovery (cloud lookups) is the deploy's alone; it adds to this, never replaces it.
import { HostPlan } from "../core/routes";
import { Problem, Validated } from "../core/problems";
import { PlannedRoute, ValidSpec } from "../core/types";
import * as awsPlan from "../aws/plan";
import * as gcpPlan from "../gcp/plan";
import * as sshPlan from "../ssh/plan";
import {
  CloudName,
  decodeConfigMap,
  defaultGcpConfig,
  defaultSshConfig,
  NAMESPACE,
  parseStackConfig,
  PLACEHOLDER,
  PROVIDER_KEYS_CHECKED,
  SshConfig,
  StackConfig,
} from "./config";
import { specFromConfig } from "./source";

export const setting =
  (prefix: string) =>
  (name: string): string =>
    `${NAMESPACE}:${prefix}${name}`;

export interface StackInput {
  /** The config map as the engine gives it: `pod-routes:cloud` → `gcp`, structured values as JSON. */
  readonly config: Readonly<Record<string, string>>;
  /** Config keys whose values are secrets (present, but not readable here). */
  readonly secretKeys: readonly string[];
  /** The project directory (machinesFile is resolved against it). */
  readonly baseDir: string;
}

export interface StackPlan {
  readonly config: StackConfig;
  readonly cloud: CloudName;
  /** Set when the nodes are listed (pod-routes:nodes or machinesFile); discovery stacks find them at deploy. */
  readonly spec?: ValidSpec;
  /** Cloud routes (gcp, aws) or every host's routes (baremetal, linode), when the spec is known. */
  readonly routes?: PlannedRoute[];
  readonly hosts?: HostPlan[];
}

export type StackPlanResult = ({ ok: true; value: StackPlan } | { ok: false; problems: Problem[] }) & {
  /** Every key that parsed, for the deploy's discovery (which adds its own problems to these). */
  readonly config: Partial<StackConfig>;
  /** The spec, when the nodes are listed and valid. */
  readonly spec?: ValidSpec;
  readonly warnings: string[];
};

/** Every problem of the stack's config, spec and target checks, together; the plan when there are none. */
export function planStack(input: StackInput): StackPlanResult {
  const parsed = parseStackConfig(decodeConfigMap(input.config));
  const problems = [...parsed.problems];
  const warnings: string[] = [];
  const config = parsed.value;

  for (const key of PROVIDER_KEYS_CHECKED) {
    if (input.config[key]?.includes(PLACEHOLDER)) {
      problems.push({
        where: key,
        message: `still holds the example value ${JSON.stringify(input.config[key])}; set your own (pulumi config set ${key} <value>)`,
      });
    }
  }

  // The spec, from whatever node source parsed (discovery stacks have none until deploy).
  let spec: ValidSpec | undefined;
  if (config.nodes !== undefined || config.machinesFile !== undefined) {
    const result = specFromConfig(config, { baseDir: input.baseDir });
    if (result.ok) spec = result.value;
    else problems.push(...result.problems);
  }

  let routes: PlannedRoute[] | undefined;
  let hosts: HostPlan[] | undefined;
  const prefix = config.routeNamePrefix;
  switch (config.cloud) {
    case "gcp": {
      const gcp = config.gcp ?? defaultGcpConfig();
      if (spec) {
        const planned = gcpPlan.plan(spec, {
          network: gcp.network,
          routeQuota: gcp.routeQuota,
          setting: setting("gcp."),
          ...(prefix !== undefined ? { routeNamePrefix: prefix } : {}),
        });
        if (planned.ok) routes = planned.value;
        else problems.push(...planned.problems);
      }
      break;
    }
    case "aws": {
      const aws = config.aws;
      if (spec && aws) {
        const planned = awsPlan.plan(spec, {
          routeTable: awsTableLabel(aws),
          routeLimit: aws.routeLimit,
          setting: setting("aws."),
          ...(prefix !== undefined ? { routeNamePrefix: prefix } : {}),
        });
        if (planned.ok) routes = planned.value;
        else problems.push(...planned.problems);
      }
      break;
    }
    case "baremetal":
    case "linode": {
      const ssh = config.ssh ?? defaultSshConfig();
      if (
        !input.secretKeys.includes(`${NAMESPACE}:sshPrivateKey`) &&
        input.config[`${NAMESPACE}:sshPrivateKey`] === undefined
      ) {
        problems.push({
          where: `${NAMESPACE}:sshPrivateKey`,
          message:
            "is not set; run `pulumi config set --secret pod-routes:sshPrivateKey < ~/.ssh/id_ed25519` (the key pod-routes logs in with)",
        });
      }
      if (input.config[`${NAMESPACE}:sshPrivateKey`] !== undefined) {
        warnings.push(
          "pod-routes:sshPrivateKey is stored in plain text in the stack's config; store it encrypted: `pulumi config set --secret pod-routes:sshPrivateKey < ~/.ssh/id_ed25519`",
        );
      }
      // With the host keys themselves broken (their problems are reported), which hosts are pinned is not
      // known: only the checks that need no host keys run, so that no key that is there is reported missing.
      const sshBroken = parsed.problems.some(
        (p) =>
          p.setting?.[0] === "ssh" &&
          (config.ssh === undefined ||
            p.setting[1] === "hostKeys" ||
            p.setting[1] === "insecureIgnoreHostKeys"),
      );
      if (spec && sshBroken) {
        const planned = sshPlan.plan(spec, {
          setting: (name) => `${NAMESPACE}:${name}`,
          ...(prefix !== undefined ? { routeNamePrefix: prefix } : {}),
        });
        if (!planned.ok) problems.push(...planned.problems);
      } else if (spec) {
        const checked = checkSshStack(spec, ssh, prefix);
        if (checked.ok) hosts = checked.value;
        else problems.push(...checked.problems);
      } else if (Array.isArray(config.nodes) && !sshBroken) {
        // The spec has problems of its own; the host keys of the nodes that are named are checked anyway.
        const named = config.nodes.flatMap((node) => {
          const name = (node as { name?: unknown } | null)?.name;
          return typeof name === "string"
            ? [{ name, role: "worker" as const, hostKey: ssh.hostKeys[name] }]
            : [];
        });
        problems.push(
          ...sshPlan.checkHostKeys(
            named.map(({ hostKey, ...n }) => (hostKey !== undefined ? { ...n, hostKey } : n)),
            { insecureIgnoreHostKeys: ssh.insecureIgnoreHostKeys, setting: setting("ssh.") },
          ),
        );
      }
      break;
    }
    case undefined:
      break;
  }

  const common = { config, warnings, ...(spec ? { spec } : {}) };
  if (problems.length > 0 || config.cloud === undefined) return { ok: false, problems, ...common };
  return {
    ok: true,
    ...common,
    value: {
      config: config as StackConfig,
      cloud: config.cloud,
      ...(spec ? { spec } : {}),
      ...(routes ? { routes } : {}),
      ...(hosts ? { hosts } : {}),
    },
  };
}

/** The route table as the plan's `where` column shows it before deploy looks it up. */
export function awsTableLabel(aws: NonNullable<StackConfig["aws"]>): string {
  return (
    aws.routeTableId ??
    (aws.clusterName !== undefined
      ? `route table tagged kubernetes.io/cluster/${aws.clusterName}`
      : `route table from ${aws.stackReference?.name ?? "the stack reference"}`)
  );
}
/** The SSH path's checks for a stack (SSH settings naming non-nodes, size, host keys), then every host's plan. */
export function checkSshStack(
  spec: ValidSpec,
  ssh: SshConfig,
  routeNamePrefix?: string,
): Validated<HostPlan[]> {
  const problems: Problem[] = [];
  const names = new Set(spec.nodes.map((n) => n.name));
  for (const key of [...Object.keys(ssh.hostKeys), ...Object.keys(ssh.connectAddresses)]) {
    if (!names.has(key)) {
      problems.push({
        where: `${NAMESPACE}:ssh`,
        message: `names host ${JSON.stringify(key)}, which is not a node; the nodes are ${[...names].join(", ")}`,
      });
    }
  }
  const facts = spec.nodes.map((node) => {
    const hostKey = ssh.hostKeys[node.name];
    return {
      ...node,
      address: ssh.connectAddresses[node.name] ?? node.ip,
      ...(hostKey !== undefined ? { hostKey } : {}),
    };
  });
  const sshSetting = (name: string) => (name === "nodes" ? `${NAMESPACE}:nodes` : setting("ssh.")(name));
  problems.push(
    ...sshPlan.check(facts, { insecureIgnoreHostKeys: ssh.insecureIgnoreHostKeys, setting: sshSetting }),
  );
  if (problems.length > 0) return { ok: false, problems };
  return sshPlan.plan(spec, {
    setting: sshSetting,
    ...(routeNamePrefix !== undefined ? { routeNamePrefix } : {}),
  });
}
