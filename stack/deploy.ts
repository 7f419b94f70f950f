// The stack program's engine side: read `pod-routes:*` config, plan it (stack/stack-plan.ts, the same plan as the
// offline CLI), discover what the config leaves to the cloud, then hand the validated spec, its plan and the
// lookups to one component. Every problem of every layer is thrown together, before any resource exists.
// Each cloud's SDK (and the component and discovery built on it) is loaded only by the stack that uses it
// (`load.gcp()`…): @pulumi/aws alone takes about a second to load, and a bare-metal stack needs none.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { PodRoutesError, Problem } from "../core/problems";
import { ValidSpec } from "../core/types";
import * as ssh from "../ssh";
import {
  AwsConfig,
  defaultGcpConfig,
  defaultSshConfig,
  LinodeConfig,
  NAMESPACE,
  StackConfig,
} from "./config";
import type { LinodeInstanceFacts } from "./discovery/linode";

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, see the header */
const load = {
  gcp: () =>
    [require("../gcp"), require("./discovery/gcp")] as [
      typeof import("../gcp"),
      typeof import("./discovery/gcp"),
    ],
  aws: () =>
    [require("../aws"), require("./discovery/aws")] as [
      typeof import("../aws"),
      typeof import("./discovery/aws"),
    ],
  linode: () => require("./discovery/linode") as typeof import("./discovery/linode"),
};
/* eslint-enable @typescript-eslint/no-require-imports */
import { checkSshStack, planStack, setting, StackPlanResult } from "./stack-plan";
import { specFromNodes } from "./source";

const KEY = `${NAMESPACE}:sshPrivateKey`;
const CONTEXT = "the stack config";

export interface StackOutputs {
  readonly cloud: string;
  /** The cluster's route table, shaped like the runbooks' verification table. */
  readonly routes: pulumi.Output<unknown>;
  /** SSH stacks: how many routes each host has. */
  readonly hosts?: pulumi.Output<Record<string, number>>;
}

/**
 * Runs the stack: `baseDir` is the project directory (machinesFile lives in it). Throws a PodRoutesError
 * listing every problem, or registers one component and returns the stack outputs.
 */
export async function deployStack(options: { baseDir: string }): Promise<StackOutputs> {
  const all = pulumi.runtime.allConfig();
  // The key is decrypted in this map; the plan only needs to know it is there.
  const { [KEY]: privateKeyText, ...config } = all;
  const planned = planStack({
    config,
    secretKeys: privateKeyText !== undefined ? [KEY] : [],
    baseDir: options.baseDir,
  });
  for (const warning of [...planned.warnings, ...plainTextSecrets(options.baseDir)]) pulumi.log.warn(warning);
  const problems: Problem[] = planned.ok ? [] : [...planned.problems];
  switch (planned.config.cloud) {
    case "gcp":
      return deployGcp(planned, problems);
    case "aws":
      return deployAws(planned, problems);
    case "linode":
      return deployLinode(planned, problems);
    case "baremetal":
      return deploySsh(planned, planned.spec, problems);
    default:
      throw new PodRoutesError(problems, CONTEXT);
  }
}

/** Secrets written into the stack file in plain text (`pulumi config set` without --secret). */
function plainTextSecrets(baseDir: string): string[] {
  const file = path.join(baseDir, `Pulumi.${pulumi.getStack()}.yaml`);
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch {
    return [];
  }
  const value = (doc as { config?: Record<string, unknown> } | null)?.config?.[KEY];
  return typeof value === "string"
    ? [
        `${KEY} is stored in plain text in ${path.basename(file)}; store it encrypted: \`pulumi config set --secret ${KEY} < ~/.ssh/id_ed25519\``,
      ]
    : [];
}

function fail(problems: readonly Problem[]): never {
  throw new PodRoutesError(problems, CONTEXT);
}

async function deployGcp(planned: StackPlanResult, problems: Problem[]): Promise<StackOutputs> {
  const config = planned.config;
  const gcpConfig = config.gcp ?? defaultGcpConfig();
  const [gcp, { lookupInstance, nodesFromInstances }] = load.gcp();
  let spec = planned.spec;
  let routes = plannedRoutes(planned);
  if (gcpConfig.discovery) {
    const { zone, instances } = gcpConfig.discovery;
    const facts = await Promise.all(instances.map((name) => lookupInstance(name, zone, gcpConfig.project)));
    const found = nodesFromInstances(facts);
    const result = specFromNodes(config, found.nodes, "pod-routes:gcp.discovery.instances", found.problems);
    if (result.ok) {
      spec = result.value;
      const plan = gcp.plan(spec, {
        network: gcpConfig.network,
        routeQuota: gcpConfig.routeQuota,
        setting: setting("gcp."),
        ...(config.routeNamePrefix !== undefined ? { routeNamePrefix: config.routeNamePrefix } : {}),
      });
      if (plan.ok) routes = plan.value;
      else problems.push(...plan.problems);
    } else problems.push(...result.problems);
  }
  const project = gcpConfig.project ?? new pulumi.Config("gcp").get("project");
  if (config.adopt && project === undefined) {
    problems.push({
      where: "pod-routes:adopt",
      message: "needs the project to build import ids; set gcp:project or pod-routes:gcp.project",
    });
  }
  if (problems.length > 0 || !spec) fail(problems);
  const component = new gcp.PodRoutes("pod-routes", {
    network: gcpConfig.network,
    priority: gcpConfig.priority,
    routeQuota: gcpConfig.routeQuota,
    ...(project !== undefined ? { project } : {}),
    ...(gcpConfig.description !== undefined ? { description: gcpConfig.description } : {}),
    ...commonArgs(spec, config, routes),
  });
  return { cloud: "gcp", routes: component.routes };
}

async function deployAws(planned: StackPlanResult, problems: Problem[]): Promise<StackOutputs> {
  const config = planned.config;
  const awsConfig: AwsConfig | undefined = config.aws;
  if (!awsConfig) fail(problems);
  const [aws, { resolveAws }] = load.aws();
  const { spec, table, interfaceOf } = await resolveAws(config, awsConfig, planned.spec, problems);
  const component = new aws.PodRoutes("pod-routes", {
    routeTableId: table.id,
    routeLimit: awsConfig.routeLimit,
    existingDestinations: table.destinations,
    ...commonArgs(spec, config, spec === planned.spec ? plannedRoutes(planned) : undefined),
    networkInterfaceIds: Object.fromEntries(interfaceOf),
  });
  return { cloud: "aws", routes: component.routes };
}

async function deployLinode(planned: StackPlanResult, problems: Problem[]): Promise<StackOutputs> {
  const config = planned.config;
  const linodeConfig: LinodeConfig | undefined = config.linode;
  if (!linodeConfig) fail(problems);
  const { LINODE_PRIVATE_BLOCK, lookupLinode, nodesFromLinode } = load.linode();
  const labels = [...linodeConfig.controllers, ...linodeConfig.workers];
  const found = await Promise.all(labels.map((label) => lookupLinode(label, linodeConfig.privateNetwork)));
  const facts = found.filter((f): f is LinodeInstanceFacts => !("message" in f));
  const fromInstances = nodesFromLinode(facts, linodeConfig);
  const result = specFromNodes(config, fromInstances.nodes, "pod-routes:linode", [
    ...found.filter((f): f is Problem => "message" in f),
    ...fromInstances.problems,
  ]);
  if (!result.ok) problems.push(...result.problems);
  if (fromInstances.dropsPodTraffic) {
    pulumi.log.warn(
      `pod-routes: Linode's default private network drops packets whose source is outside ${LINODE_PRIVATE_BLOCK}, so traffic from pod addresses will be lost. Attach a VLAN or VPC interface to every node and set pod-routes:linode.privateNetwork to "vlan" or "vpc".`,
    );
  }
  const publicOf = new Map(facts.map((f) => [f.label, f.publicIp]));
  return deploySsh(planned, result.ok ? result.value : undefined, problems, (host) => publicOf.get(host));
}

function deploySsh(
  planned: StackPlanResult,
  spec: ValidSpec | undefined,
  problems: Problem[],
  addressOf?: (host: string) => string | undefined,
): StackOutputs {
  const config = planned.config;
  const sshConfig = config.ssh ?? defaultSshConfig();
  // Discovery stacks (linode) are checked and planned here, once their nodes are known; listed ones were by
  // planStack. Either way the component takes that plan and plans nothing again.
  let hostPlans = planned.ok ? planned.value.hosts : undefined;
  if (spec && !planned.spec) {
    const checked = checkSshStack(spec, sshConfig, config.routeNamePrefix);
    if (checked.ok) hostPlans = checked.value;
    else problems.push(...checked.problems);
  }
  const privateKey = new pulumi.Config(NAMESPACE).getSecret("sshPrivateKey");
  if (problems.length > 0 || !spec || privateKey === undefined) fail(problems);
  const component = new ssh.PodRoutes("pod-routes", {
    privateKey,
    user: sshConfig.user,
    port: sshConfig.port,
    insecureIgnoreHostKeys: sshConfig.insecureIgnoreHostKeys,
    connectTimeoutSeconds: sshConfig.connectTimeoutSeconds,
    commandTimeoutSeconds: sshConfig.commandTimeoutSeconds,
    ...(sshConfig.resyncInterval !== undefined ? { resyncInterval: sshConfig.resyncInterval } : {}),
    ...commonArgs(spec, config, hostPlans),
    hostKeys: sshConfig.hostKeys,
    addresses: Object.fromEntries(
      spec.nodes.flatMap((node) => {
        const address = sshConfig.connectAddresses[node.name] ?? addressOf?.(node.name);
        return address !== undefined ? [[node.name, address]] : [];
      }),
    ),
  });
  return { cloud: config.cloud as string, routes: component.routes, hosts: component.hosts };
}

/** The cloud routes the stack plan made, when it made them. */
const plannedRoutes = (planned: StackPlanResult) => (planned.ok ? planned.value.routes : undefined);

/**
 * What every component takes from the stack: the validated spec itself (not validated again), the target's
 * plan when the stack made it (not planned again), and the common settings.
 */
function commonArgs<P>(spec: ValidSpec, config: Partial<StackConfig>, plan: P | undefined) {
  return {
    spec,
    ...(plan !== undefined ? { plan } : {}),
    adopt: config.adopt ?? false,
    ...(config.routeNamePrefix !== undefined ? { routeNamePrefix: config.routeNamePrefix } : {}),
  };
}

/** Turns pod-routes' own errors into clean engine errors (no stack trace): the message is the whole story. */
export function asRunError(error: unknown): unknown {
  return error instanceof PodRoutesError ? new pulumi.RunError(error.message) : error;
}
