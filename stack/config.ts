// The stack config schema (keys under the `pod-routes:` namespace), checked in one pass, and the one decoder
// of config values: under the engine they come from Pulumi's config map, offline from a Pulumi.<stack>.yaml
// turned into the same map, so a value means the same in both (`pulumi config set` stores "true", "1000").
import { z } from "zod";
import { DEFAULTS } from "../core/defaults";
import { isResyncInterval, isRfc1123Name, RESYNC_INTERVAL_RULE, RFC1123_RULE } from "../core/rules";
import { Problem, show } from "../core/problems";

export const NAMESPACE = "pod-routes";
export const CLOUDS = ["gcp", "aws", "linode", "baremetal"] as const;
export type CloudName = (typeof CLOUDS)[number];

/** Keys whose values are secrets: never parsed here, never printed. */
export const SECRET_KEYS = ["sshPrivateKey"] as const;

/** A boolean, also as `pulumi config set` stores it: the string "true" or "false". */
const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")], {
  error: "must be true or false",
});
/** An integer, also as a string of digits (how `pulumi config set` stores it). */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union(
      [
        z.number(),
        z
          .string()
          .regex(/^-?\d+$/)
          .transform(Number),
      ],
      { error: "must be a whole number" },
    )
    .pipe(z.number().int().min(min).max(max));

const nonEmpty = z.string().min(1, { error: "must not be empty" });
const name = z.string().refine(isRfc1123Name, { error: `must be an RFC 1123 name (${RFC1123_RULE})` });
// Cloud ids are passed to the cloud APIs, not to a shell; still, keep them to the characters those ids use.
const cloudId = z
  .string()
  .regex(/^[A-Za-z0-9][-A-Za-z0-9_./:]*$/, { error: "has characters no cloud id uses" });

const gcpSchema = z
  .object({
    project: cloudId.optional(),
    network: name.default(DEFAULTS.gcp.network),
    priority: integer(0, 65535).default(DEFAULTS.gcp.priority),
    description: z.string().max(2048).optional(),
    /** GCP caps static routes per project (the quota); fail at preview rather than half-way through an update. */
    routeQuota: integer(1).default(DEFAULTS.gcp.routeQuota),
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
    routeLimit: integer(1).default(DEFAULTS.aws.routeLimit),
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
    privateNetwork: z.enum(["default", "vlan", "vpc"]).default(DEFAULTS.linode.privateNetwork),
  })
  .strict();

const sshSchema = z
  .object({
    user: name.default(DEFAULTS.ssh.user),
    port: integer(1, 65535).default(DEFAULTS.ssh.port),
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
    insecureIgnoreHostKeys: flag.default(DEFAULTS.ssh.insecureIgnoreHostKeys),
    /** Override the address to connect to per host (e.g. a public IP), when it differs from the node IP. */
    connectAddresses: z
      .record(
        z.string(),
        z.string().regex(/^([0-9a-f.:]+|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/i, {
          error: "must be an IP address or a host name",
        }),
      )
      .default({}),
    /** Seconds to connect, shake hands and log in before a host counts as unreachable. */
    connectTimeoutSeconds: integer(1, 600).default(DEFAULTS.ssh.connectTimeoutSeconds),
    /** Seconds a host's script may take before the update fails. */
    commandTimeoutSeconds: integer(1, 3600).default(DEFAULTS.ssh.commandTimeoutSeconds),
    /** Re-check every host's routes on the host itself this often (a systemd timer), e.g. `15min`; off by default. */
    resyncInterval: z
      .string()
      .refine(isResyncInterval, { error: `must be ${RESYNC_INTERVAL_RULE}` })
      .optional(),
  })
  .strict();

const fields = {
  cloud: z.enum(CLOUDS, { error: `must be one of ${CLOUDS.join(", ")}` }),
  clusterCidr: z.union([z.string(), z.array(z.string())]).optional(),
  nodeCidr: z.string().optional(),
  nodes: z.array(z.unknown()).optional(),
  machinesFile: nonEmpty.optional(),
  routeNamePrefix: name.max(40).default(DEFAULTS.routeNamePrefix),
  adopt: flag.default(DEFAULTS.adopt),
  gcp: gcpSchema.optional(),
  aws: awsSchema.optional(),
  linode: linodeSchema.optional(),
  ssh: sshSchema.optional(),
};
const schema = z.object(fields).strict();
type Field = keyof typeof fields;

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
 * Example values in the shipped stack files contain this marker, so that one left in place is named at
 * preview (and by the offline CLI) instead of failing at the cloud or the SSH handshake.
 */
export const PLACEHOLDER = "EXAMPLE";
/** Provider settings pod-routes checks for placeholders too (they are the stack's, not pod-routes'). */
export const PROVIDER_KEYS_CHECKED = ["gcp:project", "aws:region", "linode:token"] as const;

/** A config value in a message: never echoed whole when it looks like a key pasted in the wrong place. */
function showValue(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  if (/PRIVATE KEY/.test(text)) return "a value that looks like a private key (not shown)";
  return text.length > 120 ? `${show(text.slice(0, 60))}… (${text.length} characters)` : show(value);
}

export interface ParsedConfig {
  /** Every key that parsed, with defaults; keys with problems are left out. */
  readonly value: Partial<StackConfig>;
  readonly problems: Problem[];
}

/** Every string in a value with its path, for the placeholder check. */
function* strings(value: unknown, path: PropertyKey[]): Generator<[PropertyKey[], string]> {
  if (typeof value === "string") yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

/**
 * Checks the stack config as a whole. `raw` maps short key names (`cloud`, `nodes`, …) to decoded values
 * (see decodeConfigMap); the secret keys are skipped. Every key is checked on its own, so one bad key never
 * hides another's problems, and what parsed is returned for the checks that follow (the spec, the target).
 */
export function parseStackConfig(raw: Record<string, unknown>): ParsedConfig {
  const secret = new Set<string>(SECRET_KEYS);
  const problems: Problem[] = [];
  const value: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (secret.has(key)) continue;
    if (key in fields) continue;
    const nested = key.split(".");
    problems.push({
      where: keyName([key]),
      code: "unknown-setting",
      setting: [key],
      message:
        nested.length > 1 && nested[0]! in fields
          ? `is a literal key with a dot: Pulumi stores nested settings only with --path. Run \`pulumi config rm ${NAMESPACE}:${key}\` then \`pulumi config set --path '${NAMESPACE}:${key}' <value>\``
          : "unknown setting; check the spelling (see the README's stack config reference)",
    });
  }
  for (const [path, text] of strings(raw, [])) {
    if (secret.has(String(path[0])) || !text.includes(PLACEHOLDER)) continue;
    problems.push({
      where: keyName(path),
      code: "example-value",
      setting: path.map(String),
      message: `still holds the example value ${showValue(text)}; replace it with your own (see the comments in the stack file)`,
    });
  }
  for (const key of Object.keys(fields) as Field[]) {
    const parsed = fields[key].safeParse(raw[key]);
    if (parsed.success) {
      if (parsed.data !== undefined) value[key] = parsed.data;
      continue;
    }
    const salvaged = salvage(key, raw[key]);
    if (salvaged !== undefined) value[key] = salvaged;
    for (const issue of parsed.error.issues) {
      const path = [key, ...issue.path];
      if (issue.code === "unrecognized_keys") {
        for (const unknown of issue.keys) {
          problems.push({
            where: keyName([...path, unknown]),
            code: "unknown-setting",
            setting: [...path, unknown].map(String),
            message: "unknown setting; check the spelling (see the README's stack config reference)",
          });
        }
      } else if (key === "cloud" && raw["cloud"] === undefined) {
        problems.push({
          where: keyName(["cloud"]),
          code: "missing-setting",
          setting: ["cloud"],
          message: `is not set; run \`pulumi config set ${NAMESPACE}:cloud <${CLOUDS.join("|")}>\` or use one of the example stacks`,
        });
      } else if (!problems.some((p) => p.code === "example-value" && p.where === keyName(path))) {
        problems.push({
          where: keyName(path),
          code: "invalid-setting",
          setting: path.map(String),
          message: `${issue.message} (got ${showValue(valueAt(raw, path))})`,
        });
      }
    }
  }
  problems.push(...crossChecks(value as Partial<StackConfig>));
  return { value: value as Partial<StackConfig>, problems };
}

/** The settings objects (gcp, aws, linode, ssh), for `salvage`. */
const OBJECTS = { gcp: gcpSchema, aws: awsSchema, linode: linodeSchema, ssh: sshSchema } as const;

/**
 * The parts of a settings object that parse, when the whole does not (their problems are reported): so
 * that a bad `ssh.port` does not hide which host keys are pinned from the checks that follow. Properties
 * that do not parse take their defaults; without defaults for them, nothing is salvaged.
 */
function salvage(key: Field, given: unknown): unknown {
  if (!(key in OBJECTS) || typeof given !== "object" || given === null || Array.isArray(given))
    return undefined;
  const schema = OBJECTS[key as keyof typeof OBJECTS];
  const shape = schema.shape as Record<string, z.ZodType>;
  const parts: Record<string, unknown> = {};
  for (const [name, part] of Object.entries(given as Record<string, unknown>)) {
    if (!(name in shape)) continue;
    const parsed = shape[name]!.safeParse(part);
    if (parsed.success) parts[name] = part;
  }
  const result = schema.safeParse(parts);
  return result.success ? result.data : undefined;
}

/** Checks between keys (one node source, the cloud's own settings), on whatever parsed. */
function crossChecks(config: Partial<StackConfig>): Problem[] {
  const problems: Problem[] = [];
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
  if (config.cloud === undefined) return problems;
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
  return problems;
}

/** A complete config, or undefined while any problem remains. */
export function completeConfig(parsed: ParsedConfig): StackConfig | undefined {
  if (parsed.problems.length > 0) return undefined;
  const checked = schema.safeParse(parsed.value);
  return checked.success ? checked.data : undefined;
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

/**
 * The one decoder: a config map as the engine gives it (`pod-routes:<key>` → text; scalars as strings,
 * structured values as JSON) → the `pod-routes:` keys with decoded values. A bare scalar keeps its text
 * (so `"1000"` and `"true"` reach the schema as strings, which it accepts where it wants a number or a flag).
 */
export function decodeConfigMap(map: Readonly<Record<string, string>>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(map)) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue;
    const decoded = decodeConfigValue(text);
    raw[key.slice(NAMESPACE.length + 1)] = typeof decoded === "object" && decoded !== null ? decoded : text;
  }
  return raw;
}

/**
 * A stack file's `config:` map as the engine would give it to the program: scalars as their text, objects
 * and lists as JSON, secure values left out (they need the stack's key, and planning never needs them).
 */
export function engineConfigMap(config: Readonly<Record<string, unknown>>): {
  map: Record<string, string>;
  secure: string[];
} {
  const map: Record<string, string> = {};
  const secure: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      secure.push(key);
      continue;
    }
    if (value === null || value === undefined) continue;
    map[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return { map, secure };
}
