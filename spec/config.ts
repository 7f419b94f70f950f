// The stack config schema (keys under the `pod-routes:` namespace), checked in one pass.
// Pure: index.ts feeds it Pulumi's config, the offline CLI feeds it a Pulumi.<stack>.yaml.
import { z } from "zod";
import { DEFAULT_ROUTE_PREFIX } from "./plan";
import { Problem, show } from "./validate";

export const NAMESPACE = "pod-routes";
export const CLOUDS = ["gcp", "aws", "linode", "baremetal"] as const;
export type CloudName = (typeof CLOUDS)[number];

/** Keys whose values are secrets: never parsed here, never printed. */
export const SECRET_KEYS = ["sshPrivateKey"] as const;

const nonEmpty = z.string().min(1, { error: "must not be empty" });
const name = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
  error: "must be lowercase letters, digits, '-' and '.' (an RFC 1123 name)",
});
// Cloud ids are passed to the cloud APIs, not to a shell; still, keep them to the characters those ids use.
const cloudId = z
  .string()
  .regex(/^[A-Za-z0-9][-A-Za-z0-9_./:]*$/, { error: "has characters no cloud id uses" });

const gcpSchema = z
  .object({
    project: cloudId.optional(),
    network: name.default("kubernetes-the-hard-way"),
    priority: z.number().int().min(0).max(65535).default(1000),
    description: z.string().max(2048).optional(),
    /** GCP caps static routes per project (the quota); fail at preview rather than half-way through an update. */
    routeQuota: z.number().int().min(1).default(250),
    discovery: z
      .object({
        zone: cloudId,
        instances: z.array(name).min(1, { error: "list at least one instance name" }),
      })
      .strict()
      .optional(),
  })
  .strict();

const stackReferenceSchema = z
  .object({
    /** `organization/project/stack` of the stack that exports the route table (the CloudFormation `hard-k8s-rtb`). */
    name: nonEmpty,
    routeTableOutput: nonEmpty.default("routeTableId"),
    /** Optional: node name → output holding its instance id (the CloudFormation `hard-k8s-worker-i` exports). */
    instanceOutputs: z.record(z.string(), nonEmpty).optional(),
  })
  .strict();

const awsSchema = z
  .object({
    routeTableId: z
      .string()
      .regex(/^rtb-[0-9a-f]+$/, { error: 'must look like "rtb-0123456789abcdef0"' })
      .optional(),
    clusterName: name.optional(),
    stackReference: stackReferenceSchema.optional(),
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]+$/, { error: 'must look like "vpc-0123456789abcdef0"' })
      .optional(),
    routeLimit: z.number().int().min(1).default(50),
    /** Node name → instance id, when instances are not found by their Name tag. */
    instanceIds: z
      .record(
        z.string(),
        z.string().regex(/^i-[0-9a-f]+$/, { error: 'must look like "i-0123456789abcdef0"' }),
      )
      .optional(),
    discovery: z
      .object({ instances: z.array(name).min(1, { error: "list at least one instance Name tag" }) })
      .strict()
      .optional(),
  })
  .strict();

const linodeSchema = z
  .object({
    /** Worker instances by exact label, as the Linode runbook names them. */
    workers: z.array(name).min(1, { error: "list at least one worker label" }),
    controllers: z.array(name).default([]),
    /** Pod CIDR per worker label; the Linode runbook assigns 10.200.i.0/24 to worker-i. */
    podCidrs: z.record(z.string(), z.string()),
    /** How the nodes reach each other privately: the default private network drops pod traffic. */
    privateNetwork: z.enum(["default", "vlan", "vpc"]).default("default"),
  })
  .strict();

const sshSchema = z
  .object({
    user: name.default("root"),
    port: z.number().int().min(1).max(65535).default(22),
    /** Host name → pinned public host key (`ssh-ed25519 AAAA…`). */
    hostKeys: z
      .record(
        z.string(),
        z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+$/, {
          error: 'must be a public host key line like "ssh-ed25519 AAAAC3Nz…" (ssh-keyscan prints them)',
        }),
      )
      .default({}),
    /** Explicit, loudly named opt-out of host key pinning. */
    insecureIgnoreHostKeys: z.boolean().default(false),
    /** Override the address to connect to per host (e.g. a public IP), when it differs from the node IP. */
    connectAddresses: z
      .record(
        z.string(),
        z.string().regex(/^([0-9a-f.:]+|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/i, {
          error: "must be an IP address or a host name",
        }),
      )
      .default({}),
  })
  .strict();

const schema = z
  .object({
    cloud: z.enum(CLOUDS, { error: `must be one of ${CLOUDS.join(", ")}` }),
    clusterCidr: z.union([z.string(), z.array(z.string())]).optional(),
    nodeCidr: z.string().optional(),
    nodes: z.array(z.unknown()).optional(),
    machinesFile: nonEmpty.optional(),
    routeNamePrefix: name.max(40).default(DEFAULT_ROUTE_PREFIX),
    adopt: z.boolean().default(false),
    gcp: gcpSchema.optional(),
    aws: awsSchema.optional(),
    linode: linodeSchema.optional(),
    ssh: sshSchema.optional(),
  })
  .strict();

export type StackConfig = z.infer<typeof schema>;
export type GcpConfig = z.infer<typeof gcpSchema>;
export type AwsConfig = z.infer<typeof awsSchema>;
export type LinodeConfig = z.infer<typeof linodeSchema>;
export type SshConfig = z.infer<typeof sshSchema>;

export const defaultSshConfig = (): SshConfig => sshSchema.parse({});
export const defaultGcpConfig = (): GcpConfig => gcpSchema.parse({});

const keyName = (path: readonly PropertyKey[]) =>
  `${NAMESPACE}:` +
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");

/**
 * Checks the stack config as a whole. `raw` maps short key names (`cloud`, `nodes`, …) to their values;
 * the secret keys are skipped. Every problem names the full config key and how to fix it.
 */
export function parseStackConfig(
  raw: Record<string, unknown>,
): { ok: true; value: StackConfig } | { ok: false; problems: Problem[] } {
  const secret = new Set<string>(SECRET_KEYS);
  const visible = Object.fromEntries(Object.entries(raw).filter(([key]) => !secret.has(key)));
  const problems: Problem[] = [];
  const parsed = schema.safeParse(visible);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          problems.push({
            where: keyName([...issue.path, key]),
            message: `unknown setting; check the spelling (see the README's stack config reference)`,
          });
        }
      } else if (issue.path.length === 1 && issue.path[0] === "cloud" && raw["cloud"] === undefined) {
        problems.push({
          where: keyName(["cloud"]),
          message: `is not set; run \`pulumi config set ${NAMESPACE}:cloud <${CLOUDS.join("|")}>\` or use one of the example stacks`,
        });
      } else {
        problems.push({
          where: keyName(issue.path),
          message: `${issue.message} (got ${show(valueAt(visible, issue.path))})`,
        });
      }
    }
    return { ok: false, problems };
  }
  const config = parsed.data;
  const sources = [
    config.nodes !== undefined ? "nodes" : undefined,
    config.machinesFile !== undefined ? "machinesFile" : undefined,
    config.gcp?.discovery ? "gcp.discovery" : undefined,
    config.aws?.discovery ? "aws.discovery" : undefined,
    config.linode ? "linode" : undefined,
  ].filter((s): s is string => s !== undefined);
  if (sources.length === 0) {
    problems.push({
      where: keyName(["nodes"]),
      message: `no node source is set; give pod-routes:nodes (a list of { name, ip, podCidr }), pod-routes:machinesFile, or the cloud's discovery settings`,
    });
  } else if (sources.length > 1) {
    problems.push({
      where: keyName([sources[1] as string]),
      message: `several node sources are set (${sources.map((s) => `${NAMESPACE}:${s}`).join(", ")}); keep exactly one`,
    });
  }
  const wrongCloud = (["gcp", "aws", "linode"] as const).filter(
    (c) => config[c] !== undefined && c !== config.cloud,
  );
  for (const other of wrongCloud) {
    problems.push({
      where: keyName([other]),
      message: `is set but pod-routes:cloud is ${show(config.cloud)}; remove it or change pod-routes:cloud`,
    });
  }
  if (config.cloud === "aws") {
    const tableSources = ["routeTableId", "clusterName", "stackReference"].filter(
      (k) => config.aws?.[k as keyof AwsConfig] !== undefined,
    );
    if (tableSources.length !== 1) {
      problems.push({
        where: keyName(["aws"]),
        message:
          tableSources.length === 0
            ? "no route table is set; give exactly one of aws.routeTableId, aws.clusterName (tag kubernetes.io/cluster/<name>) or aws.stackReference"
            : `several route table sources are set (${tableSources.map((s) => `aws.${s}`).join(", ")}); keep exactly one`,
      });
    }
  }
  if (config.cloud === "linode" && config.linode === undefined) {
    problems.push({
      where: keyName(["linode"]),
      message: "is required when cloud is linode: set linode.workers and linode.podCidrs",
    });
  }
  if (config.machinesFile !== undefined && config.cloud !== "baremetal") {
    problems.push({
      where: keyName(["machinesFile"]),
      message: "is read only by the baremetal cloud; use pod-routes:nodes instead",
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: config };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Pulumi stores structured config as JSON text; plain strings stay strings. */
export function decodeConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
